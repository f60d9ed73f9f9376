//! Threads must not take the GIL while the interpreter finalizes.
//!
//! Before Python 3.14, a thread that takes the GIL during finalization is ended with
//! `pthread_exit`, whose forced unwind through Rust frames (pyo3's and tokio's panic guards)
//! aborts the process ("FATAL: exception not rethrown"). This happens to a thread that was
//! flushing in Rust when the interpreter began to finalize, e.g. the thread `logging`'s exit
//! handler starts to flush the SDK's `LoggingHandler`. Such a thread is parked instead, as
//! Python 3.14 itself does; the process is exiting, so it never needs to run again.
//!
//! Only Linux parks: `on_main_thread` answers there alone, and only glibc's `pthread_exit`
//! unwinds. On Windows (where `_endthreadex` ends such a thread without unwinding) the
//! interpreter's check is not even looked up, and threads behave as Python makes them.

use std::ffi::{c_int, CStr};
use std::sync::OnceLock;

use pyo3::Python;

type IsFinalizing = unsafe extern "C" fn() -> c_int;

static IS_FINALIZING: OnceLock<Option<IsFinalizing>> = OnceLock::new();

/// Resolves the interpreter's check once (at import): `Py_IsFinalizing` from 3.13 on,
/// `_Py_IsFinalizing` before. The abi3 build cannot name either at link time.
pub fn init() {
    IS_FINALIZING.get_or_init(|| {
        [c"Py_IsFinalizing", c"_Py_IsFinalizing"]
            .into_iter()
            .find_map(lookup)
    });
}

#[cfg(unix)]
fn lookup(symbol: &CStr) -> Option<IsFinalizing> {
    // SAFETY: dlsym with RTLD_DEFAULT searches the loaded interpreter; both symbols are
    // `int (void)` functions.
    unsafe {
        let address = libc::dlsym(libc::RTLD_DEFAULT, symbol.as_ptr());
        (!address.is_null())
            .then(|| std::mem::transmute::<*mut libc::c_void, IsFinalizing>(address))
    }
}

#[cfg(not(unix))]
fn lookup(_symbol: &CStr) -> Option<IsFinalizing> {
    None
}

pub fn interpreter_finalizing() -> bool {
    match IS_FINALIZING.get() {
        // SAFETY: a function of the running interpreter, callable without the GIL.
        Some(Some(check)) => unsafe { check() != 0 },
        _ => false,
    }
}

/// `py.detach(work)`, except that a thread other than the main one that finishes `work`
/// once the interpreter is exiting (our exit handler has run) parks rather than take the
/// GIL back: waiting for the GIL then can outlast the start of finalization.
pub fn detach<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> T {
    py.detach(|| {
        let result = work();
        let exiting = super::reporting::python_exiting() || interpreter_finalizing();
        if exiting && !on_main_thread() {
            loop {
                std::thread::park();
            }
        }
        result
    })
}

#[cfg(target_os = "linux")]
fn on_main_thread() -> bool {
    // SAFETY: plain system calls. `gettid` is a raw syscall: glibc's wrapper needs 2.30,
    // newer than the manylinux2014 baseline (2.17).
    unsafe { libc::syscall(libc::SYS_gettid) == libc::c_long::from(libc::getpid()) }
}

#[cfg(not(target_os = "linux"))]
fn on_main_thread() -> bool {
    true
}
