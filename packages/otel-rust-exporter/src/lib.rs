//! The extension module `otel_rust_exporter._native`: reads Python objects (`read`)
//! and exposes the classes (`python`) over the PyO3-free core (`otel_rust_core`).
//!
//! Python hands finished telemetry to this module in one call per item; everything after
//! that (batching, OTLP encoding, compression, transport, retry) runs in the core, on the
//! shared background runtime, without the GIL.

pub mod python;
pub mod read;

pub use otel_rust_core::{
    config, diagnostics, otlp, pipeline, records, redact, request, retry, runtime, self_metrics,
    transport, wire,
};

use pyo3::prelude::*;

// Relies on the GIL: the Python-side caches below and the classes' Python objects are
// shared without locks of their own (docs/PACKAGING.md, "Free-threaded CPython").
#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::install_fork_handler();
    python::finalizing::init();
    // Python-side caches are filled now, while importing is single-threaded for us:
    // filling them later can release the GIL, and a fork at that moment would leave the
    // child waiting on a half-filled cache.
    read::names::init(m.py());
    python::reporting::init(m.py())?;
    python::register(m)
}
