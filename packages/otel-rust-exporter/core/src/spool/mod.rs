//! The opt-in disk spool (`OTEL_RUST_EXPORTER_SPOOL_DIR`): requests that could not be
//! delivered wait on disk, already encoded and compressed, and are sent again when the
//! endpoint answers, by this process or the next one using the directory.
//!
//! Every sink (OTLP per signal, SLS) owns one [`Spool`] and sends through
//! [`send_or_spool`]: while the endpoint is healthy each request gets one attempt and a
//! transient failure puts it on disk; while it is failing (from the first failed attempt
//! until one succeeds) requests go to disk without an attempt. The sink's replay task
//! ([`start_replay`]) sends the oldest file of its kind, one at a time beside live traffic,
//! and deletes it only once the server accepted it (at-least-once). See docs/DESIGN.md.

mod directory;
mod format;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_core::future::BoxFuture;
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::config::SpoolConfig;
use crate::diagnostics::{self, RateLimited};
use crate::retry::{Backoff, Delivery, Failure, Retry};

use directory::{Directory, WriteError};
pub use format::Request;

/// What a spooled request is for; each sink replays only its own kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Traces,
    Logs,
    Metrics,
    SlsLogs,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Traces, Kind::Logs, Kind::Metrics, Kind::SlsLogs];

    fn code(self) -> u8 {
        match self {
            Kind::Traces => 1,
            Kind::Logs => 2,
            Kind::Metrics => 3,
            Kind::SlsLogs => 4,
        }
    }

    /// The file name prefix.
    fn name(self) -> &'static str {
        match self {
            Kind::Traces => "traces",
            Kind::Logs => "logs",
            Kind::Metrics => "metrics",
            Kind::SlsLogs => "sls",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// The spool's counters, as `stats()` shows them.
#[derive(Debug, Default)]
pub struct SpoolStats {
    /// Items written to disk.
    pub spooled: AtomicU64,
    /// Items delivered from disk.
    pub replayed: AtomicU64,
    /// Items lost from the spool: evicted for the cap, or refused for good at replay. (A
    /// request that finds no room is not lost: it is sent from memory.)
    pub dropped: AtomicU64,
    /// Files that failed their checks, moved aside.
    pub corrupt: AtomicU64,
    /// The directory's total size when last seen.
    pub bytes: AtomicU64,
}

/// After a write error the spool rests this long before trying the disk again.
const REST_AFTER_ERROR: Duration = Duration::from_secs(10);
/// How often an idle replay task looks for files (other processes may leave some).
const IDLE_SCAN: Duration = Duration::from_secs(2);
/// Replay retries a failing endpoint at this pace: fast to notice recovery, cheap while down.
const REPLAY_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(200),
    max: Duration::from_secs(2),
};
/// The longest a server's `Retry-After` holds replay back.
const MAX_REPLAY_DELAY: Duration = Duration::from_secs(60);

pub struct Spool {
    kind: Kind,
    directory: Arc<Directory>,
    pub stats: SpoolStats,
    /// Wakes the replay task when a request was written.
    written: Notify,
    /// Set by shutdown: replay ends once the spool is empty or the endpoint fails, and
    /// sends to a failing endpoint give up at once.
    stopping: watch::Sender<bool>,
    /// Set when the replay task has started, and when it has ended.
    replay_started: AtomicBool,
    replay_done: watch::Sender<bool>,
    /// The directory could not be created or read: memory-only.
    unusable: AtomicBool,
    /// Until when writes are skipped after an error.
    resting_until: Mutex<Option<Instant>>,
    disk_warning: RateLimited,
    spooling_warning: RateLimited,
    drop_warning: RateLimited,
}

impl Spool {
    /// Touches nothing on disk: the replay task prepares the directory on the runtime,
    /// and a directory that cannot be used leaves the sink memory-only, with one warning.
    pub fn new(config: &SpoolConfig, kind: Kind) -> Arc<Self> {
        Arc::new(Self {
            kind,
            stats: SpoolStats::default(),
            written: Notify::new(),
            stopping: watch::Sender::new(false),
            replay_started: AtomicBool::new(false),
            replay_done: watch::Sender::new(false),
            unusable: AtomicBool::new(false),
            resting_until: Mutex::new(None),
            disk_warning: RateLimited::new(Duration::from_secs(60)),
            spooling_warning: RateLimited::new(Duration::from_secs(60)),
            drop_warning: RateLimited::new(Duration::from_secs(10)),
            directory: Arc::new(Directory::new(&config.dir, config.max_bytes)),
        })
    }

    /// Creates the directory and reads its size; `false`, with one warning, when it
    /// cannot be used (the sink is memory-only from then on).
    async fn prepare(&self) -> bool {
        let directory = self.directory.clone();
        match tokio::task::spawn_blocking(move || directory.prepare()).await {
            Ok(Ok(total)) => {
                self.stats.bytes.store(total, Ordering::Relaxed);
                true
            }
            Ok(Err(error)) => {
                self.unusable.store(true, Ordering::Relaxed);
                diagnostics::warn(&format!(
                    "the spool directory {} cannot be used ({error}); {} are kept in memory only",
                    self.directory.path().display(),
                    self.kind.name()
                ));
                false
            }
            Err(_) => false,
        }
    }

    /// Writes `request` to disk (off the async workers); `false` when it could not be
    /// written, which the caller handles as if there were no spool.
    pub async fn store(&self, request: Request) -> bool {
        if self.unusable.load(Ordering::Relaxed) || self.resting() {
            return false;
        }
        let items = u64::from(request.items);
        let directory = self.directory.clone();
        let written = tokio::task::spawn_blocking(move || directory.write(&request)).await;
        match written {
            Ok(Ok(written)) => {
                self.stats.spooled.fetch_add(items, Ordering::Relaxed);
                self.stats
                    .bytes
                    .store(written.total_bytes, Ordering::Relaxed);
                if written.evicted_items > 0 {
                    self.count_dropped(written.evicted_items, "evicted for the spool's size cap");
                }
                self.written.notify_one();
                true
            }
            Ok(Err(WriteError::NoRoom)) => {
                // Kept in memory rather than lost: the caller still sends it.
                self.warn_disk("the spool is full of requests being sent or too small");
                false
            }
            Ok(Err(WriteError::Io(error))) => {
                *self
                    .resting_until
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner()) =
                    Some(Instant::now() + REST_AFTER_ERROR);
                self.warn_disk(&error.to_string());
                false
            }
            Err(_) => false,
        }
    }

    fn resting(&self) -> bool {
        let mut until = self
            .resting_until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        match *until {
            Some(moment) if Instant::now() < moment => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    fn warn_disk(&self, why: &str) {
        if let Some(held_back) = self.disk_warning.admit() {
            diagnostics::warn(&format!(
                "cannot write to the spool directory {} ({why}); {} stay in memory \
                 ({held_back} such warnings suppressed)",
                self.directory.path().display(),
                self.kind.name()
            ));
        }
    }

    /// Says (at most once a minute) that requests wait on disk, and why.
    fn report_spooling(&self, why: &str) {
        if let Some(held_back) = self.spooling_warning.admit() {
            diagnostics::warn(&format!(
                "{} could not be sent ({why}); they wait in the spool {} and are sent again \
                 when the endpoint answers ({held_back} such warnings suppressed)",
                self.kind.name(),
                self.directory.path().display()
            ));
        }
    }

    fn count_dropped(&self, items: u64, why: &str) {
        let total = self.stats.dropped.fetch_add(items, Ordering::Relaxed) + items;
        if let Some(held_back) = self.drop_warning.admit() {
            diagnostics::warn(&format!(
                "{items} items {why}; {total} dropped from the spool {} so far \
                 ({held_back} such warnings suppressed)",
                self.directory.path().display()
            ));
        }
    }

    /// Shutdown began: see `stopping`.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once [`Spool::stop`] was called.
    async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    /// Resolves when the replay task has ended (at once if it never started).
    pub async fn replay_finished(&self) {
        if !self.replay_started.load(Ordering::SeqCst) {
            return;
        }
        let mut done = self.replay_done.subscribe();
        let _ = done.wait_for(|done| *done).await;
    }

    /// `work`'s result, or `None` when shutdown came while `delivery` was failing (or
    /// began failing): shutdown never waits for an endpoint that is not answering.
    async fn unless_stopped_while_failing<T>(
        &self,
        delivery: &Delivery,
        work: impl Future<Output = T>,
    ) -> Option<T> {
        tokio::pin!(work);
        tokio::select! {
            outcome = &mut work => return Some(outcome),
            () = self.stopped() => {}
        }
        if delivery.is_failing() {
            None
        } else {
            Some(work.await)
        }
    }
}

/// How a send through the spool ended.
#[derive(Debug)]
pub enum Sent<T> {
    Delivered(T),
    /// On disk, to be sent again.
    Spooled,
    Failed(Failure),
}

/// Sends one request through `attempt`, with `spool` when there is one (see the module
/// documentation); without one, or when the disk fails, `delivery` retries it in memory
/// as always. `request` makes the spooled form only when needed. `to_disk`: straight to
/// the spool, without an attempt (the queue is overflowing).
pub async fn send_or_spool<T, F, Fut>(
    spool: Option<&Spool>,
    to_disk: bool,
    delivery: &Delivery,
    deadline: Instant,
    request: impl FnOnce() -> Request,
    mut attempt: F,
) -> Sent<T>
where
    T: Send,
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, Failure>> + Send,
{
    let Some(spool) = spool else {
        return finished(delivery.send(deadline, attempt).await);
    };
    let mut why = None;
    if !delivery.is_failing() && !to_disk {
        let once = delivery.send_once(deadline, &mut attempt);
        // Interrupted by shutdown, it goes to disk now instead of holding up the exit.
        match spool.unless_stopped_while_failing(delivery, once).await {
            Some(Ok(value)) => return Sent::Delivered(value),
            Some(Err(failure)) if !failure.is_transient() => return Sent::Failed(failure),
            Some(Err(failure)) => why = Some(failure.message),
            None => {}
        }
    }
    if spool.store(request()).await {
        if let Some(why) = why {
            spool.report_spooling(&why);
        }
        return Sent::Spooled;
    }
    finished(delivery.send(deadline, attempt).await)
}

fn finished<T>(outcome: Result<T, Failure>) -> Sent<T> {
    match outcome {
        Ok(value) => Sent::Delivered(value),
        Err(failure) => Sent::Failed(failure),
    }
}

/// How a sink sends: its delivery policy, which knows whether the endpoint is failing,
/// and its spool (`None` unless a spool directory is configured and usable).
#[derive(Default)]
pub struct Sending {
    pub delivery: Delivery,
    pub spool: Option<Arc<Spool>>,
}

/// A sink that can send a spooled request again (one attempt, signed and framed now).
pub trait Replay: Send + Sync + 'static {
    fn sending(&self) -> &Sending;

    fn resend(self: Arc<Self>, request: Request) -> BoxFuture<'static, Result<(), Failure>>;

    /// Shutdown began: sends to a failing endpoint give up (to the spool) at once.
    fn begin_shutdown(&self) {
        if let Some(spool) = &self.sending().spool {
            spool.stop();
        }
    }

    /// Resolves when the spool's replay has ended (after `begin_shutdown`: once the spool
    /// is empty or the endpoint fails).
    fn replay_finished(&self) -> BoxFuture<'static, ()> {
        let spool = self.sending().spool.clone();
        Box::pin(async move {
            if let Some(spool) = spool {
                spool.replay_finished().await;
            }
        })
    }

    fn spool_stats(&self) -> Option<&SpoolStats> {
        self.sending().spool.as_deref().map(|spool| &spool.stats)
    }
}

/// Starts `sink`'s replay task on `runtime` (when it has a spool). The task holds the sink
/// weakly and ends with it, or at shutdown once the spool is empty or the endpoint fails.
pub fn start_replay<R: Replay>(sink: &Arc<R>, runtime: &Handle) {
    let Some(spool) = sink.sending().spool.clone() else {
        return;
    };
    spool.replay_started.store(true, Ordering::SeqCst);
    runtime.spawn(replay(Arc::downgrade(sink), spool));
}

async fn replay<R: Replay>(sink: Weak<R>, spool: Arc<Spool>) {
    if spool.prepare().await {
        replay_files(sink, &spool).await;
    }
    spool.replay_done.send_replace(true);
}

/// Sends the spool's files of its kind until the sink is gone or shutdown stops it.
async fn replay_files<R: Replay>(sink: Weak<R>, spool: &Spool) {
    let mut failures = 0u32;
    loop {
        let directory = spool.directory.clone();
        let kind = spool.kind;
        let claimed = tokio::task::spawn_blocking(move || {
            let claimed = directory.claim_oldest(kind);
            (claimed, directory.total_bytes())
        })
        .await;
        let Ok((claimed, total_bytes)) = claimed else {
            break;
        };
        spool.stats.bytes.store(total_bytes, Ordering::Relaxed);
        let claimed = claimed.unwrap_or_default();
        for (path, why) in &claimed.corrupt {
            spool.stats.corrupt.fetch_add(1, Ordering::Relaxed);
            diagnostics::warn(&format!(
                "skipped the corrupt spool file {} ({why}); it was moved aside and is never sent",
                path.display()
            ));
        }
        let Some((claim, request)) = claimed.request else {
            if !claimed.corrupt.is_empty() {
                continue;
            }
            if spool.is_stopping() {
                break;
            }
            tokio::select! {
                () = spool.written.notified() => {}
                () = tokio::time::sleep(IDLE_SCAN) => {}
                () = spool.stopped() => {}
            }
            continue;
        };
        let directory = spool.directory.clone();
        let Some(owner) = sink.upgrade() else {
            let _ = tokio::task::spawn_blocking(move || directory.release(claim)).await;
            break;
        };
        let items = u64::from(request.items);
        let outcome = spool
            .unless_stopped_while_failing(&owner.sending().delivery, owner.clone().resend(request))
            .await;
        drop(owner);
        match outcome {
            Some(Ok(())) => {
                let _ = tokio::task::spawn_blocking(move || directory.finish(claim)).await;
                spool.stats.replayed.fetch_add(items, Ordering::Relaxed);
                failures = 0;
            }
            Some(Err(failure)) if !failure.is_transient() => {
                let _ = tokio::task::spawn_blocking(move || directory.finish(claim)).await;
                spool.count_dropped(items, "refused for good by the endpoint at replay");
            }
            Some(Err(failure)) => {
                let _ = tokio::task::spawn_blocking(move || directory.release(claim)).await;
                if spool.is_stopping() {
                    break;
                }
                failures += 1;
                let delay = match failure.retry {
                    Retry::After(delay) => delay.min(MAX_REPLAY_DELAY),
                    _ => REPLAY_BACKOFF.delay(failures - 1),
                };
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = spool.stopped() => {}
                }
            }
            None => {
                let _ = tokio::task::spawn_blocking(move || directory.release(claim)).await;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::FailureKind;
    use std::sync::atomic::AtomicU32;

    fn scratch(name: &str) -> SpoolConfig {
        let dir = std::env::temp_dir().join(format!(
            "otel-spool-send-{name}-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        SpoolConfig {
            dir,
            max_bytes: 1 << 20,
        }
    }

    fn request(items: u32) -> Request {
        Request {
            kind: Kind::Traces,
            gzipped: false,
            items,
            raw_len: 3,
            body: b"abc".to_vec(),
        }
    }

    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    fn down() -> Result<(), Failure> {
        Err(Failure::transient(FailureKind::Connection, "refused"))
    }

    /// Sends a request of `items` through `spool` (no overflow), within `deadline()`.
    async fn send<T, F, Fut>(spool: &Spool, delivery: &Delivery, items: u32, attempt: F) -> Sent<T>
    where
        T: Send,
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, Failure>> + Send,
    {
        send_or_spool(
            Some(spool),
            false,
            delivery,
            deadline(),
            || request(items),
            attempt,
        )
        .await
    }

    #[tokio::test]
    async fn failing_endpoints_spool_from_the_first_failed_attempt_and_refusals_never() {
        let config = scratch("policy");
        let spool = Spool::new(&config, Kind::Traces);
        let delivery = Delivery::default();
        let attempts = AtomicU32::new(0);
        let counted = |outcome: Result<(), Failure>| {
            let attempts = &attempts;
            move |_| {
                attempts.fetch_add(1, Ordering::SeqCst);
                let outcome = outcome.clone();
                async move { outcome }
            }
        };

        let sent = send(&spool, &delivery, 1, counted(Ok(()))).await;
        assert!(matches!(sent, Sent::Delivered(())));
        assert_eq!(spool.stats.spooled.load(Ordering::SeqCst), 0);

        let sent = send(&spool, &delivery, 2, counted(down())).await;
        assert!(matches!(sent, Sent::Spooled));
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            2,
            "one attempt, no retry in memory"
        );
        assert!(delivery.is_failing());

        let sent = send(&spool, &delivery, 3, counted(Ok(()))).await;
        assert!(matches!(sent, Sent::Spooled));
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            2,
            "no attempt while the endpoint fails"
        );
        assert_eq!(spool.stats.spooled.load(Ordering::SeqCst), 5);

        let refused = Err(Failure::permanent(FailureKind::Http(400), "bad"));
        let fresh = Delivery::default();
        let sent = send(&spool, &fresh, 4, counted(refused)).await;
        assert!(matches!(sent, Sent::Failed(_)));
        assert_eq!(
            spool.stats.spooled.load(Ordering::SeqCst),
            5,
            "a refusal is never spooled"
        );
        let _ = std::fs::remove_dir_all(config.dir);
    }

    #[tokio::test]
    async fn a_disk_that_refuses_writes_leaves_requests_their_retries_in_memory() {
        let config = scratch("refused");
        // A file where the directory should be: every write fails.
        std::fs::write(&config.dir, b"in the way").unwrap();
        let spool = Spool::new(&config, Kind::Traces);
        let delivery = Delivery::new(Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
        });
        let attempts = AtomicU32::new(0);
        let sent = send(&spool, &delivery, 1, |_| {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt < 3 {
                    down()
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert!(matches!(sent, Sent::Delivered(())), "{sent:?}");
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            4,
            "retried as without a spool"
        );
        assert_eq!(spool.stats.spooled.load(Ordering::SeqCst), 0);
        let _ = std::fs::remove_file(config.dir);
    }

    #[tokio::test]
    async fn shutdown_interrupts_only_sends_to_a_failing_endpoint_and_spools_them() {
        let config = scratch("shutdown");
        let slow_success = |_| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        };
        let hanging = |_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        };

        // Healthy: a send in flight at shutdown finishes.
        let spool = Spool::new(&config, Kind::Traces);
        let delivery = Delivery::default();
        let stop = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            spool.stop();
        };
        let (sent, ()) = tokio::join!(send(&spool, &delivery, 1, slow_success), stop);
        assert!(matches!(sent, Sent::Delivered(())));

        // Failing (another request just failed): the send in flight goes to disk at once.
        let spool = Spool::new(&config, Kind::Traces);
        let delivery = Delivery::default();
        let fail_then_stop = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = delivery.send_once(deadline(), |_| async { down() }).await;
            spool.stop();
        };
        let (sent, ()) = tokio::join!(send(&spool, &delivery, 2, hanging), fail_then_stop);
        // The attempt would have succeeded after a minute: spooled means it was cut short.
        assert!(matches!(sent, Sent::Spooled));
        assert_eq!(spool.stats.spooled.load(Ordering::SeqCst), 2);
        let _ = std::fs::remove_dir_all(config.dir);
    }

    struct Flaky {
        sending: Sending,
        /// Answers, in order; then success.
        answers: Mutex<Vec<Result<(), Failure>>>,
        sent: Mutex<Vec<u32>>,
    }

    impl Replay for Flaky {
        fn sending(&self) -> &Sending {
            &self.sending
        }

        fn resend(self: Arc<Self>, request: Request) -> BoxFuture<'static, Result<(), Failure>> {
            Box::pin(async move {
                let answer = {
                    let mut answers = self.answers.lock().unwrap();
                    if answers.is_empty() {
                        Ok(())
                    } else {
                        answers.remove(0)
                    }
                };
                let answer = self
                    .sending
                    .delivery
                    .send_once(deadline(), |_| {
                        let answer = answer.clone();
                        async move { answer }
                    })
                    .await;
                if answer.is_ok() {
                    self.sent.lock().unwrap().push(request.items);
                }
                answer
            })
        }
    }

    #[tokio::test]
    async fn replay_sends_oldest_first_deletes_after_success_and_drops_refusals() {
        let config = scratch("replay");
        let spool = Spool::new(&config, Kind::Traces);
        for items in [1, 2, 3] {
            assert!(spool.store(request(items)).await);
        }
        let sink = Arc::new(Flaky {
            sending: Sending {
                delivery: Delivery::default(),
                spool: Some(spool.clone()),
            },
            answers: Mutex::new(vec![
                down(),
                Err(Failure::permanent(FailureKind::Http(400), "bad")),
            ]),
            sent: Mutex::new(Vec::new()),
        });
        start_replay(&sink, &Handle::current());
        let started = Instant::now();
        while spool.stats.replayed.load(Ordering::SeqCst) < 5
            && started.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // 1 failed (kept), then was refused for good (dropped); 2 and 3 arrived in order.
        assert_eq!(*sink.sent.lock().unwrap(), vec![2, 3]);
        assert_eq!(spool.stats.replayed.load(Ordering::SeqCst), 5);
        assert_eq!(spool.stats.dropped.load(Ordering::SeqCst), 1);
        spool.stop();
        spool.replay_finished().await;
        let left: Vec<_> = std::fs::read_dir(&config.dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "spool.lock")
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let _ = std::fs::remove_dir_all(config.dir);
    }
}
