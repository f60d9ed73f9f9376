//! The Python-facing classes. Every entry point catches errors and panics: telemetry
//! problems are logged and counted, never raised into the application.
//!
//! `batching`, `exporting`, `finalizing`, `guard`, `operations` and `options` are public
//! for a sink's bindings (`sls_exporter::python`), which build on them.

pub mod batching;
mod bridge;
mod classes;
pub mod exporting;
pub mod finalizing;
pub mod guard;
mod logs;
mod metrics;
pub mod operations;
pub mod options;
pub mod reporting;
mod trace;

use pyo3::prelude::*;

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<options::OtlpOptions>()?;
    module.add_class::<batching::BatchOptions>()?;
    module.add_class::<trace::SpanProcessorCore>()?;
    module.add_class::<trace::SpanExporterCore>()?;
    module.add_class::<metrics::MetricExporterCore>()?;
    module.add_class::<logs::LogRecordProcessorCore>()?;
    module.add_class::<logs::LogExporterCore>()?;
    operations::register(module)?;
    module.add_function(wrap_pyfunction!(mark_python_exiting, module)?)?;
    module.add_function(wrap_pyfunction!(set_reporter, module)?)?;
    Ok(())
}

/// Called from `atexit`: later messages go to stderr, as `logging` may be gone.
#[pyfunction]
fn mark_python_exiting() {
    reporting::mark_python_exiting();
}

/// Our messages go to `reporter(level, message)` from now on.
#[pyfunction]
fn set_reporter(py: Python<'_>, reporter: Py<PyAny>) {
    reporting::set_reporter(py, reporter);
}
