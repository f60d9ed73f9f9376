//! The one background runtime shared by every signal and sink, and its fork handling.
//!
//! Threads do not survive `fork()`. The child's copy of the runtime, of every queue and of
//! every lock the workers held is unusable, so a fork bumps a generation counter and each
//! component rebuilds itself (and leaks the dead copy) the next time Python calls it.
//! Windows has no `fork()` (`multiprocessing` spawns a fresh interpreter there), so the
//! generation never changes and nothing is rebuilt.

use std::sync::Mutex;

pub use otel_rust_contract::per_process::{generation, install_fork_handler, PerProcess};
use tokio::runtime::{Handle, Runtime};

static RUNTIME: Mutex<Option<(u64, &'static Runtime)>> = Mutex::new(None);

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
