//! Fork handling: threads do not survive `fork()`, so per-process state (the export queue
//! and its worker thread) is rebuilt in a child, and the inherited copy is leaked untouched
//! because its locks may be held by threads that no longer exist. Windows has no `fork()`:
//! the generation never changes there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

static GENERATION: AtomicU64 = AtomicU64::new(0);

#[cfg(unix)]
pub(crate) fn install_handler() {
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
pub(crate) fn install_handler() {}

pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// A lazily built value that belongs to one process.
pub(crate) struct PerProcess<T> {
    slot: Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> PerProcess<T> {
    pub(crate) const fn new() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }

    /// The value of this process, built (with `build`, outside the lock) on first use and
    /// again in a forked child.
    pub(crate) fn get(&self, build: impl FnOnce() -> Arc<T>) -> Arc<T> {
        let current = generation();
        if let Some((built_in, value)) = &*self.lock() {
            if *built_in == current {
                return value.clone();
            }
        }
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

    /// The value if this process built it already.
    pub(crate) fn existing(&self) -> Option<Arc<T>> {
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
