//! The diagnostics sink of the extension: our messages to Python's reporter
//! (`otel_rust_exporter._diagnostics.report`, or the logger `otel_rust_exporter` until the
//! package sets it), never from a thread that could be ended for taking the GIL.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::finalizing;
use crate::diagnostics::{self, LOGGER_NAME};

static LOGGER_LOG: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static REPORTER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// Set at interpreter exit: from then on, messages go to stderr instead of `logging`.
static PYTHON_EXITING: AtomicBool = AtomicBool::new(false);

/// Looks the logger up at module import, while importing is single-threaded for us, and
/// installs the sink.
pub fn init(py: Python<'_>) -> PyResult<()> {
    LOGGER_LOG.get_or_try_init(py, || logger_log(py))?;
    diagnostics::install_sink(Box::new(report));
    Ok(())
}

fn logger_log(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(py
        .import("logging")?
        .call_method1("getLogger", (LOGGER_NAME,))?
        .getattr("log")?
        .unbind())
}

/// The callable `(level, message)` that reports our messages from now on.
pub fn set_reporter(py: Python<'_>, reporter: Py<PyAny>) {
    let _ = REPORTER.set(py, reporter);
}

pub fn mark_python_exiting() {
    PYTHON_EXITING.store(true, Ordering::Relaxed);
}

pub fn python_exiting() -> bool {
    PYTHON_EXITING.load(Ordering::Relaxed)
}

/// `false` (the core then writes to stderr) at exit or when Python could not take it.
fn report(level: u8, message: &str) -> bool {
    // A thread waiting for the GIL while the interpreter finalizes would be ended by
    // Python (see `finalizing`).
    if python_exiting() || finalizing::interpreter_finalizing() {
        return false;
    }
    let logged = Python::try_attach(|py| -> PyResult<()> {
        let reporter = match REPORTER.get(py) {
            Some(reporter) => reporter,
            None => LOGGER_LOG.get_or_try_init(py, || logger_log(py))?,
        };
        reporter.call1(py, (level, message))?;
        Ok(())
    });
    matches!(logged, Some(Ok(())))
}
