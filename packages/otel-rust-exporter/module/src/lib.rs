//! The extension module `otel_rust_exporter._native`: the OTLP classes (`otel_rust_exporter`)
//! and each sink's own (`sls_exporter::python`) registered in one module, so that every
//! signal and sink shares one shared object and one background runtime.

use pyo3::prelude::*;

// Relies on the GIL: the Python-side caches and the classes' Python objects are shared
// without locks of their own (docs/PACKAGING.md, "Free-threaded CPython").
#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    otel_rust_exporter::init(m)?;
    // The SLS OTLP preset (`SLS_OTEL_*`) sits beneath the process environment for the
    // OTLP exporters of every signal.
    otel_rust_exporter::python::options::set_otlp_env_layer(sls_exporter::preset::layered_process);
    sls_exporter::python::register(m)
}
