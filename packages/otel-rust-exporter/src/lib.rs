//! Native core of `otel_rust_exporter`.
//!
//! Python hands finished telemetry to this module in one call per item; everything after
//! that (batching, OTLP encoding, compression, transport, retry) runs on the shared
//! background runtime without the GIL.

pub mod config;
pub mod convert;
pub mod diagnostics;
pub mod pipeline;
pub mod python;
pub mod retry;
pub mod runtime;
pub mod trace;
pub mod transform;
pub mod transport;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::install_fork_handler();
    python::register(m)
}
