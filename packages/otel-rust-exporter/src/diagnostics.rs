//! Our own warnings, routed to the Python logger `otel_rust_exporter`.
//!
//! Messages never carry header values or credentials; callers pass only kinds, counts,
//! endpoints and server replies.

/// The Python logger our messages go to.
pub const LOGGER_NAME: &str = "otel_rust_exporter";

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

const WARNING: u8 = 30;
const ERROR: u8 = 40;

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// Set at interpreter exit: from then on, messages go to stderr instead of `logging`.
static PYTHON_EXITING: AtomicBool = AtomicBool::new(false);

/// Looks the logger up once, at module import.
pub fn init(py: Python<'_>) -> PyResult<()> {
    LOGGER.get_or_try_init(py, || logger(py))?;
    Ok(())
}

fn logger(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(py
        .import("logging")?
        .call_method1("getLogger", (LOGGER_NAME,))?
        .unbind())
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

fn emit(level: u8, message: &str) {
    // A thread waiting for the GIL while the interpreter finalizes would be ended by
    // Python (see `python::finalizing`).
    if PYTHON_EXITING.load(Ordering::Relaxed) || crate::python::finalizing::interpreter_finalizing()
    {
        eprintln!("{LOGGER_NAME}: {message}");
        return;
    }
    let logged = Python::try_attach(|py| -> PyResult<()> {
        let logger = LOGGER.get_or_try_init(py, || logger(py))?;
        logger.bind(py).call_method1("log", (level, message))?;
        Ok(())
    });
    if !matches!(logged, Some(Ok(()))) {
        eprintln!("{LOGGER_NAME}: {message}");
    }
}

/// Logs each distinct kind of failure once; repeats are only counted by the caller.
#[derive(Default)]
pub struct OncePerKind {
    seen: Mutex<HashSet<String>>,
}

impl OncePerKind {
    pub fn first_time(&self, kind: &str) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        seen.insert(kind.to_owned())
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

    #[test]
    fn once_per_kind_reports_each_kind_once() {
        let once = OncePerKind::default();
        assert!(once.first_time("http 401"));
        assert!(!once.first_time("http 401"));
        assert!(once.first_time("http 403"));
    }
}
