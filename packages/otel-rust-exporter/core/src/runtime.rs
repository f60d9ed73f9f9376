//! The one background runtime shared by every signal and sink, and its fork handling.
//!
//! Threads do not survive `fork()`. The child's copy of the runtime, of every queue and of
//! every lock the workers held is unusable, so a fork bumps a generation counter and each
//! component rebuilds itself (and leaks the dead copy) the next time Python calls it.
//! Windows has no `fork()` (`multiprocessing` spawns a fresh interpreter there), so the
//! generation never changes and nothing is rebuilt.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::runtime::{Handle, Runtime};

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static RUNTIME: Mutex<Option<(u64, &'static Runtime)>> = Mutex::new(None);

#[cfg(unix)]
pub fn install_fork_handler() {
    extern "C" fn after_fork_in_child() {
        // Only an atomic add: this runs in the child of a possibly multi-threaded process.
        FORK_GENERATION.fetch_add(1, Ordering::SeqCst);
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
    FORK_GENERATION.load(Ordering::SeqCst)
}

/// The runtime of this process; a forked child gets a fresh one.
pub fn handle() -> Handle {
    let generation = generation();
    let mut slot = RUNTIME.lock().unwrap_or_else(|poison| poison.into_inner());
    match *slot {
        Some((built_in, runtime)) if built_in == generation => runtime.handle().clone(),
        _ => {
            // Leaked on purpose: dropping a runtime whose threads died in the fork would
            // wait for them forever, and the parent's runtime lives as long as the process.
            let runtime: &'static Runtime = Box::leak(Box::new(build()));
            *slot = Some((generation, runtime));
            runtime.handle().clone()
        }
    }
}

fn build() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otel-rust-exporter")
        .enable_all()
        .build()
        .expect("the OS refused to start the exporter thread")
}

/// A value that belongs to one process: after a fork, the child's first access replaces
/// the inherited copy, whose threads and locks died in the fork, with a fresh one.
pub struct PerProcess<T> {
    slot: Mutex<(u64, std::sync::Arc<T>)>,
}

impl<T> PerProcess<T> {
    pub fn new(value: std::sync::Arc<T>) -> Self {
        Self {
            slot: Mutex::new((generation(), value)),
        }
    }

    pub fn get(&self, rebuild: impl FnOnce() -> std::sync::Arc<T>) -> std::sync::Arc<T> {
        let current = generation();
        {
            let slot = self.lock();
            if slot.0 == current {
                return slot.1.clone();
            }
        }
        // Built without the lock: building may call into Python (warnings), which can switch
        // threads, and a fork from another thread must never find this lock taken.
        let fresh = rebuild();
        let mut slot = self.lock();
        if slot.0 != current {
            let inherited = std::mem::replace(&mut slot.1, fresh);
            // Its locks may be held by threads that no longer exist: never touch it again.
            std::mem::forget(inherited);
            slot.0 = current;
        }
        slot.1.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, std::sync::Arc<T>)> {
        self.slot
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
