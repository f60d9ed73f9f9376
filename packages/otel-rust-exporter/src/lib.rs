//! Native core of `otel_rust_exporter`.
//!
//! Python hands finished telemetry to this module in one call per item; everything after
//! that (batching, OTLP encoding, compression, transport, retry) runs on the shared
//! background runtime without the GIL.

pub mod config;
pub mod convert;
pub mod diagnostics;
pub mod metrics;
pub mod otlp;
pub mod pipeline;
pub mod python;
pub mod redact;
pub mod retry;
pub mod runtime;
pub mod self_metrics;
pub mod sls;
pub mod sls_preset;
pub mod transform;
pub mod transport;

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
    convert::names::init(m.py());
    diagnostics::init(m.py())?;
    python::register(m)
}
