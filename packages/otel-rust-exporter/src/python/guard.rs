use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use pyo3::PyResult;

use crate::diagnostics::{self, RateLimited};

static GUARD_WARNING: RateLimited = RateLimited::new(Duration::from_secs(10));

/// Runs `body`, turning an error or a panic into a logged message and `fallback`.
pub fn guarded<R>(operation: &str, fallback: R, body: impl FnOnce() -> PyResult<R>) -> R {
    let problem = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error.to_string(),
        Err(panic) => panic
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned()),
    };
    if GUARD_WARNING.admit().is_some() {
        let problem: String = problem.chars().take(300).collect();
        diagnostics::warn(&format!("{operation} failed: {problem}"));
    }
    fallback
}
