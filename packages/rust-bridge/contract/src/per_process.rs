//! Fork handling: threads do not survive `fork()`, so per-process state (a runtime, a
//! queue and its worker thread) is rebuilt in a child, and the inherited copy is leaked
//! untouched because its locks may be held by threads that no longer exist. Windows has
//! no `fork()` (`multiprocessing` spawns there): the generation never changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Counts forks in this shared object's statics from now on (once per process).
#[cfg(unix)]
pub fn install_fork_handler() {
    extern "C" fn after_fork_in_child() {
        // Only an atomic add: this runs in the child of a possibly multi-threaded process.
        GENERATION.fetch_add(1, Ordering::SeqCst);
    }
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // SAFETY: registers a handler that only touches an atomic.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
}

/// Without `fork()` there is nothing to watch for.
#[cfg(not(unix))]
pub fn install_fork_handler() {}

/// Changes in a child process after every fork.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// A value that belongs to one process: after a fork, the child's first access replaces
/// the inherited copy with a fresh one.
pub struct PerProcess<T> {
    slot: Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> PerProcess<T> {
    /// Empty until first use.
    pub const fn new() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }

    /// Holding a value built in this process.
    pub fn with(value: Arc<T>) -> Self {
        Self {
            slot: Mutex::new(Some((generation(), value))),
        }
    }

    /// The value of this process, built with `build` on first use and again in a forked
    /// child. Built without the lock: building may call into Python, which can switch
    /// threads, and a fork from another thread must never find this lock taken.
    pub fn get(&self, build: impl FnOnce() -> Arc<T>) -> Arc<T> {
        if let Some(value) = self.existing() {
            return value;
        }
        let current = generation();
        let fresh = build();
        let mut slot = self.lock();
        match &*slot {
            Some((built_in, value)) if *built_in == current => value.clone(),
            _ => {
                if let Some((_, inherited)) = slot.replace((current, fresh.clone())) {
                    std::mem::forget(inherited);
                }
                fresh
            }
        }
    }

    /// The value if this process has one already.
    pub fn existing(&self) -> Option<Arc<T>> {
        let current = generation();
        match &*self.lock() {
            Some((built_in, value)) if *built_in == current => Some(value.clone()),
            _ => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<(u64, Arc<T>)>> {
        self.slot
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl<T> Default for PerProcess<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_forked_child_builds_its_own_value_and_leaves_the_inherited_one_alone() {
        install_fork_handler();
        let value = PerProcess::with(Arc::new(String::from("parent")));
        // SAFETY: the child only reads atomics, takes an uncontended lock and exits.
        match unsafe { libc::fork() } {
            0 => {
                let child = value.get(|| Arc::new(String::from("child")));
                let ok = *child == "child"
                    && value.existing().as_deref().map(String::as_str) == Some("child");
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            pid => {
                let mut status = 0;
                // SAFETY: waits for the child just forked.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
                assert_eq!(*value.get(|| unreachable!()), "parent");
            }
        }
    }
}
