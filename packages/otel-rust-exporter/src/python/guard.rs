use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use pyo3::{PyResult, Python};

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

/// `py.detach(work)` for calls that may wait: a daemon thread still waiting when the
/// interpreter finalizes (`logging.shutdown` flushes the SDK handler from such a thread)
/// would be ended by CPython with a forced unwind on taking the GIL back, and `guarded`'s
/// catch would turn that into an abort of the process. Such a thread parks instead; the
/// process is exiting and never needs it again.
pub fn detach<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> T {
    py.detach(|| {
        let result = work();
        if diagnostics::python_exiting() && !is_main_thread() {
            loop {
                std::thread::park();
            }
        }
        result
    })
}

/// The process's main thread (whose id is the process id), which runs finalization itself.
fn is_main_thread() -> bool {
    // SAFETY: both calls only read ids of the calling process and thread.
    unsafe { libc::getpid() == libc::syscall(libc::SYS_gettid) as libc::pid_t }
}
