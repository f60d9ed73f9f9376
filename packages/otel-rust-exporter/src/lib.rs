//! The OTLP side of the extension module `otel_rust_exporter._native` (registered by
//! `module/`): reads Python objects (`read`) and exposes the classes (`python`) over the
//! PyO3-free core (`otel_rust_core`). A sink's own bindings (SLS's) build on `python`.
//!
//! Python hands finished telemetry to this module in one call per item; everything after
//! that (batching, OTLP encoding, compression, transport, retry) runs in the core, on the
//! shared background runtime, without the GIL.

pub mod python;
pub mod read;
pub mod spans;

pub use otel_rust_core::{
    config, diagnostics, otlp, pipeline, records, redact, request, retry, runtime, self_metrics,
    spool, transport, wire,
};

use pyo3::prelude::*;

/// Prepares the module `m` and registers the OTLP classes in it. Python-side caches are
/// filled now, while importing is single-threaded for us: filling them later can release
/// the GIL, and a fork at that moment would leave the child waiting on a half-filled cache.
pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::install_fork_handler();
    python::finalizing::init();
    read::names::init(m.py());
    python::reporting::init(m.py())?;
    python::register(m)
}
