//! Our own warnings, handed to the Python reporter (`otel_rust_exporter._diagnostics`),
//! which logs them to the logger `otel_rust_exporter` and makes sure a person can see them.
//!
//! Messages never carry header values or credentials; callers pass only kinds, counts,
//! endpoints and scrubbed server replies. Code that must not take the GIL (the bridge's
//! span sink) runs inside [`without_python`]: its messages wait for a thread that may.

/// The Python logger our messages go to.
pub const LOGGER_NAME: &str = "otel_rust_exporter";

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

const WARNING: u8 = 30;
const ERROR: u8 = 40;
/// Messages waiting for a thread that may take the GIL; more are counted, not kept.
const MAX_DEFERRED: usize = 32;

static LOGGER_LOG: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static REPORTER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// Set at interpreter exit: from then on, messages go to stderr instead of `logging`.
static PYTHON_EXITING: AtomicBool = AtomicBool::new(false);
static DEFERRED: Mutex<VecDeque<(u8, String)>> = Mutex::new(VecDeque::new());
static DEFERRED_OVERFLOW: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static PYTHON_FORBIDDEN: Cell<bool> = const { Cell::new(false) };
}

/// Looks the logger up at module import, while importing is single-threaded for us.
pub fn init(py: Python<'_>) -> PyResult<()> {
    LOGGER_LOG.get_or_try_init(py, || logger_log(py))?;
    Ok(())
}

fn logger_log(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(py
        .import("logging")?
        .call_method1("getLogger", (LOGGER_NAME,))?
        .getattr("log")?
        .unbind())
}

/// The callable `(level, message)` that reports our messages from now on; until Python
/// sets one, `logging.getLogger("otel_rust_exporter").log`.
pub fn set_reporter(py: Python<'_>, reporter: Py<PyAny>) {
    let _ = REPORTER.set(py, reporter);
}

fn reporter(py: Python<'_>) -> PyResult<&Py<PyAny>> {
    match REPORTER.get(py) {
        Some(reporter) => Ok(reporter),
        None => LOGGER_LOG.get_or_try_init(py, || logger_log(py)),
    }
}

pub fn mark_python_exiting() {
    PYTHON_EXITING.store(true, Ordering::Relaxed);
}

pub fn python_exiting() -> bool {
    PYTHON_EXITING.load(Ordering::Relaxed)
}

pub fn warn(message: &str) {
    emit(WARNING, message);
}

pub fn error(message: &str) {
    emit(ERROR, message);
}

/// Runs `body` on a thread that must not take the GIL: messages it emits are kept for
/// [`flush_deferred`] on another thread.
pub fn without_python<R>(body: impl FnOnce() -> R) -> R {
    let outer = PYTHON_FORBIDDEN.with(|forbidden| forbidden.replace(true));
    let result = body();
    PYTHON_FORBIDDEN.with(|forbidden| forbidden.set(outer));
    result
}

/// Reports the messages emitted where Python was off limits (called by the runtime).
pub fn flush_deferred() {
    if PYTHON_FORBIDDEN.with(Cell::get) {
        return;
    }
    let waiting: Vec<(u8, String)> = match DEFERRED.try_lock() {
        Ok(mut deferred) if !deferred.is_empty() => deferred.drain(..).collect(),
        _ => return,
    };
    for (level, message) in waiting {
        report(level, &message);
    }
    let overflow = DEFERRED_OVERFLOW.swap(0, Ordering::Relaxed);
    if overflow > 0 {
        report(
            WARNING,
            &format!("{overflow} more messages were lost while Python was unavailable"),
        );
    }
}

fn emit(level: u8, message: &str) {
    if PYTHON_FORBIDDEN.with(Cell::get) {
        // `try_lock`: in a forked child the lock may belong to a thread that is gone.
        match DEFERRED.try_lock() {
            Ok(mut deferred) if deferred.len() < MAX_DEFERRED => {
                deferred.push_back((level, message.to_owned()));
            }
            _ => {
                DEFERRED_OVERFLOW.fetch_add(1, Ordering::Relaxed);
            }
        }
        return;
    }
    flush_deferred();
    report(level, message);
}

fn report(level: u8, message: &str) {
    // A thread waiting for the GIL while the interpreter finalizes would be ended by
    // Python (see `python::finalizing`).
    if PYTHON_EXITING.load(Ordering::Relaxed) || crate::python::finalizing::interpreter_finalizing()
    {
        eprintln!("{LOGGER_NAME}: {message}");
        return;
    }
    let logged = Python::try_attach(|py| -> PyResult<()> {
        reporter(py)?.call1(py, (level, message))?;
        Ok(())
    });
    if !matches!(logged, Some(Ok(()))) {
        eprintln!("{LOGGER_NAME}: {message}");
    }
}

/// Lets one message through per interval and counts what it held back.
pub struct RateLimited {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimited {
    pub const fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Returns how many earlier calls were held back, or `None` when this one is too.
    pub fn admit(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        match *last {
            Some(at) if now.duration_since(at) < self.interval => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_admits_once_per_interval_and_counts_the_rest() {
        let limiter = RateLimited::new(Duration::from_secs(60));
        assert_eq!(limiter.admit(), Some(0));
        assert_eq!(limiter.admit(), None);
        assert_eq!(limiter.admit(), None);
        *limiter.last.lock().unwrap() = Some(Instant::now() - Duration::from_secs(61));
        assert_eq!(limiter.admit(), Some(2));
    }
}
