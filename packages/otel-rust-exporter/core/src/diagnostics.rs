//! Our own warnings. The core only formats and routes them: the extension installs the
//! sink that reports them (to Python's `logging`, see `python::diagnostics`); without one,
//! or when the sink cannot report, they go to stderr.
//!
//! Messages never carry header values or credentials; callers pass only kinds, counts,
//! endpoints and scrubbed server replies. Code on a thread that must not call the sink
//! (the bridge's span sink, whose callers may hold locks a GIL holder waits for) runs
//! inside [`deferring`]: its messages wait for [`flush_deferred`] on another thread.

/// The logger our messages go to (also how the log conversion recognises our records).
pub const LOGGER_NAME: &str = "otel_rust_exporter";

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// `logging`'s level numbers, which the sink passes on.
pub const WARNING: u8 = 30;
pub const ERROR: u8 = 40;
/// Messages waiting for a thread that may call the sink; more are counted, not kept.
const MAX_DEFERRED: usize = 32;

/// Reports one message; `false` when it could not (the message then goes to stderr).
pub type Sink = Box<dyn Fn(u8, &str) -> bool + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();
static DEFERRED: Mutex<VecDeque<(u8, String)>> = Mutex::new(VecDeque::new());
static DEFERRED_OVERFLOW: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static SINK_FORBIDDEN: Cell<bool> = const { Cell::new(false) };
}

/// Where messages go from now on (once per process).
pub fn install_sink(sink: Sink) {
    let _ = SINK.set(sink);
}

pub fn warn(message: &str) {
    emit(WARNING, message);
}

pub fn error(message: &str) {
    emit(ERROR, message);
}

/// Runs `body` on a thread that must not call the sink: messages it emits are kept for
/// [`flush_deferred`] on another thread.
pub fn deferring<R>(body: impl FnOnce() -> R) -> R {
    let outer = SINK_FORBIDDEN.with(|forbidden| forbidden.replace(true));
    let result = body();
    SINK_FORBIDDEN.with(|forbidden| forbidden.set(outer));
    result
}

/// Reports the messages emitted inside [`deferring`] (called from the runtime's blocking pool).
pub fn flush_deferred() {
    if SINK_FORBIDDEN.with(Cell::get) {
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
            &format!("{overflow} more messages were lost while they could not be reported"),
        );
    }
}

/// Whether deferred messages wait for `flush_deferred`.
pub fn deferred_waiting() -> bool {
    DEFERRED_OVERFLOW.load(Ordering::Relaxed) > 0
        || DEFERRED
            .try_lock()
            .is_ok_and(|deferred| !deferred.is_empty())
}

fn emit(level: u8, message: &str) {
    if SINK_FORBIDDEN.with(Cell::get) {
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
    let reported = SINK.get().is_some_and(|sink| sink(level, message));
    if !reported {
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
    use std::sync::Arc;

    #[test]
    fn messages_from_a_deferring_thread_wait_for_another_thread_and_the_sink() {
        const MESSAGE: &str = "from the bridge";
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink_seen = seen.clone();
        // Other tests of this process warn through the same sink meanwhile (and so may
        // report the deferred message first, from their thread): only this message counts,
        // and where it was reported.
        install_sink(Box::new(move |level, message| {
            if message == MESSAGE {
                let thread = std::thread::current().id();
                sink_seen.lock().unwrap().push((level, thread));
            }
            true
        }));
        let deferring_thread = std::thread::spawn(|| {
            deferring(|| warn(MESSAGE));
            std::thread::current().id()
        })
        .join()
        .unwrap();
        flush_deferred();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "reported once");
        assert_eq!(seen[0].0, WARNING);
        assert_ne!(
            seen[0].1, deferring_thread,
            "the sink ran on a deferring thread"
        );
    }

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
