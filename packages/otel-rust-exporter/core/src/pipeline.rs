//! The bounded queue between Python threads and the background runtime, and the batching
//! task that drains it. Shared by every signal: each plugs in its own [`BatchExport`].
//!
//! Pushing never blocks and never takes the GIL (the bridge pushes from threads that must
//! not): a drop is only counted and flagged, and the runtime thread reports it. A push
//! that finds the queue full may cut a batch from it (see `cut_for_a_full_queue`).

use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_queue::SegQueue;
use futures_core::future::BoxFuture;
use tokio::runtime::Handle;
use tokio::sync::{Notify, Semaphore};

use crate::config::BatchConfig;
use crate::diagnostics::{self, RateLimited};

/// How exporting one batch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Delivered,
    /// Written to the disk spool, to be sent again.
    Spooled,
    Failed,
}

impl Outcome {
    /// The outcome of a batch sent in parts: its worst part's.
    pub fn and(self, other: Outcome) -> Outcome {
        self.max(other)
    }
}

/// Exports one batch.
pub trait BatchExport: Send + Sync + 'static {
    type Item: Send + 'static;

    /// What one queued item holds, for `max_queue_bytes`.
    fn item_bytes(item: &Self::Item) -> usize;

    fn export(self: Arc<Self>, batch: Vec<Self::Item>) -> BoxFuture<'static, Outcome>;

    /// Writes `batch` to the disk spool without trying to send it first (the queue is about
    /// to overflow and every export slot is taken). Only called when `spool_stats` is some.
    fn overflow(self: Arc<Self>, batch: Vec<Self::Item>) -> BoxFuture<'static, Outcome> {
        self.export(batch)
    }

    /// Shutdown began: what waits on a failing endpoint should give up now.
    fn begin_shutdown(&self) {}

    /// The exporter's disk spool counters, when it has a spool.
    fn spool_stats(&self) -> Option<&crate::spool::SpoolStats> {
        None
    }

    /// Resolves when the exporter's own background work (spool replay) has ended.
    fn finished(self: Arc<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// Where a cut batch goes.
enum Slot {
    /// To the export slot already taken for it.
    Taken(tokio::sync::OwnedSemaphorePermit),
    /// To the disk spool, every slot being taken.
    Disk,
}

/// Why a record was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    QueueFull,
    QueueBytes,
    ShutDown,
    Unreadable,
}

impl DropReason {
    pub const ALL: [DropReason; 4] = [
        DropReason::QueueFull,
        DropReason::QueueBytes,
        DropReason::ShutDown,
        DropReason::Unreadable,
    ];

    /// As `stats()` and our metrics name it.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::QueueBytes => "queue_bytes",
            DropReason::ShutDown => "already_shutdown",
            DropReason::Unreadable => "unreadable",
        }
    }
}

#[derive(Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    pub dropped: AtomicU64,
    /// `dropped`, by `DropReason` (in `DropReason::ALL` order).
    dropped_by: [AtomicU64; 4],
    pub exported: AtomicU64,
    pub failed: AtomicU64,
    /// Items whose batch went to the disk spool.
    pub spooled: AtomicU64,
}

impl Stats {
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped_by[reason as usize].load(Ordering::Relaxed)
    }
}

#[derive(Default)]
struct Progress {
    processed: u64,
    stopped: bool,
}

pub struct Pipeline<E: BatchExport> {
    /// What the queue holds, for messages: "span", "log record".
    item_name: &'static str,
    config: BatchConfig,
    /// Items waiting to be cut into a batch, with their `item_bytes`; the bounds are kept by
    /// the counters below. `max_queue_size` bounds these alone: as the SDK's processor pops
    /// a batch before exporting it, a cut batch no longer counts against it.
    queue: SegQueue<(E::Item, usize)>,
    queued: AtomicUsize,
    /// Items in batches cut but not yet exported (waiting for an export slot or in flight).
    cut: AtomicUsize,
    /// Cut batches waiting for an export slot, oldest first, with their bytes (no lock: a
    /// pushing thread may cut one while the runtime's thread, preempted, is cutting too).
    backlog: SegQueue<(Vec<E::Item>, usize)>,
    /// Bytes of the backlog's batches (`max_backlog_bytes`).
    backlog_bytes: AtomicUsize,
    /// A batch left the backlog for an export slot.
    backlog_shrunk: Notify,
    /// Runs the export tasks, also of batches cut on a pushing thread.
    runtime: Handle,
    /// The last cut batch has finished.
    cut_finished: Notify,
    /// Bytes of queued, cut and in-flight items: `max_queue_bytes` bounds them all.
    bytes: AtomicUsize,
    exporter: Arc<E>,
    wake: Notify,
    wake_pending: AtomicBool,
    /// With a spool, the queue this full (in items) overflows to disk rather than drop.
    overflow_at: Option<usize>,
    nearly_full: Notify,
    /// One permit per batch in flight.
    in_flight: Arc<Semaphore>,
    flush_requested: AtomicBool,
    shutting_down: AtomicBool,
    pub stats: Stats,
    progress: Mutex<Progress>,
    progress_changed: Condvar,
    /// Set by a drop, cleared when the runtime thread has reported it.
    drop_unreported: AtomicBool,
    last_unreadable: Mutex<String>,
    drop_warning: RateLimited,
}

impl<E: BatchExport> Pipeline<E> {
    pub fn start(
        item_name: &'static str,
        config: BatchConfig,
        exporter: Arc<E>,
        runtime: &Handle,
    ) -> Arc<Self> {
        let overflow_at = exporter.spool_stats().map(|_| {
            config
                .max_queue_size
                .saturating_sub(config.max_export_batch_size)
                .max(config.max_export_batch_size)
        });
        let pipeline = Arc::new(Self {
            overflow_at,
            nearly_full: Notify::new(),
            item_name,
            config,
            queue: SegQueue::new(),
            queued: AtomicUsize::new(0),
            cut: AtomicUsize::new(0),
            backlog: SegQueue::new(),
            backlog_bytes: AtomicUsize::new(0),
            backlog_shrunk: Notify::new(),
            runtime: runtime.clone(),
            cut_finished: Notify::new(),
            bytes: AtomicUsize::new(0),
            exporter,
            wake: Notify::new(),
            wake_pending: AtomicBool::new(false),
            in_flight: Arc::new(Semaphore::new(config.max_concurrent_exports.max(1))),
            flush_requested: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            stats: Stats::default(),
            progress: Mutex::new(Progress::default()),
            progress_changed: Condvar::new(),
            drop_unreported: AtomicBool::new(false),
            last_unreadable: Mutex::new(String::new()),
            drop_warning: RateLimited::new(Duration::from_secs(10)),
        });
        runtime.spawn(pipeline.clone().run());
        pipeline
    }

    /// Queues one record; never blocks. Returns `false` when it was dropped.
    pub fn push(self: &Arc<Self>, item: E::Item) -> bool {
        if self.shutting_down.load(Ordering::Relaxed) {
            self.count_drop(DropReason::ShutDown);
            return false;
        }
        if !self.take_queue_place() {
            self.count_drop(DropReason::QueueFull);
            return false;
        }
        let size = E::item_bytes(&item);
        let held = self.bytes.fetch_add(size, Ordering::AcqRel);
        if held.saturating_add(size) > self.config.max_queue_bytes {
            self.bytes.fetch_sub(size, Ordering::AcqRel);
            self.queued.fetch_sub(1, Ordering::AcqRel);
            self.count_drop(DropReason::QueueBytes);
            return false;
        }
        self.queue.push((item, size));
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        let queued = self.queued.load(Ordering::Relaxed);
        if queued >= self.config.max_export_batch_size
            && !self.wake_pending.swap(true, Ordering::AcqRel)
        {
            self.wake.notify_one();
        }
        if self.overflow_at.is_some_and(|at| queued >= at) {
            self.nearly_full.notify_one();
        }
        true
    }

    /// Counts one more record against `max_queue_size`; `false` when the queue is full and
    /// no batch could be cut from it.
    fn take_queue_place(self: &Arc<Self>) -> bool {
        let mut cut_here = false;
        loop {
            if self.queued.fetch_add(1, Ordering::AcqRel) < self.config.max_queue_size {
                return true;
            }
            self.queued.fetch_sub(1, Ordering::AcqRel);
            if cut_here || !self.cut_for_a_full_queue() {
                return false;
            }
            cut_here = true;
        }
    }

    /// Counts a record that was not queued; the runtime thread reports it.
    pub fn count_drop(&self, reason: DropReason) {
        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        self.stats.dropped_by[reason as usize].fetch_add(1, Ordering::Relaxed);
        if !self.drop_unreported.swap(true, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    /// Counts a record the caller could not read, keeping why for the report.
    pub fn count_unreadable(&self, why: &str) {
        if let Ok(mut last) = self.last_unreadable.try_lock() {
            last.clear();
            last.extend(why.chars().take(200));
        }
        self.count_drop(DropReason::Unreadable);
    }

    /// Called on the runtime thread: one rate-limited warning for the drops since the last,
    /// and the messages other threads deferred. Reported from the blocking pool: Python's
    /// logging needs the GIL, which a busy application thread holds for up to its switch
    /// interval (5 ms), and the thread that drains the queue must not wait that long while
    /// the queue is full.
    fn report_in_background(&self) {
        let drops = self.drop_report();
        if drops.is_none() && !diagnostics::deferred_waiting() {
            return;
        }
        tokio::task::spawn_blocking(move || {
            diagnostics::flush_deferred();
            if let Some(message) = drops {
                diagnostics::warn(&message);
            }
        });
    }

    /// The warning for the drops since the last one, unless one was given too recently.
    fn drop_report(&self) -> Option<String> {
        if !self.drop_unreported.load(Ordering::Acquire) {
            return None;
        }
        self.drop_warning.admit()?;
        self.drop_unreported.store(false, Ordering::Release);
        Some(format!(
            "{} {}s dropped so far: {}",
            self.stats.dropped.load(Ordering::Relaxed),
            self.item_name,
            self.drop_reasons()
        ))
    }

    /// The drop counts by reason, with the setting that bounds each.
    fn drop_reasons(&self) -> String {
        let mut parts = Vec::new();
        for reason in DropReason::ALL {
            let count = self.stats.dropped_for(reason);
            if count == 0 {
                continue;
            }
            parts.push(match reason {
                DropReason::QueueFull => format!(
                    "{count} for a full queue (max_queue_size={})",
                    self.config.max_queue_size
                ),
                DropReason::QueueBytes => format!(
                    "{count} over the queue's byte limit (max_queue_bytes={})",
                    self.config.max_queue_bytes
                ),
                DropReason::ShutDown => format!("{count} after shutdown"),
                DropReason::Unreadable => {
                    let why = self
                        .last_unreadable
                        .lock()
                        .unwrap_or_else(|poison| poison.into_inner())
                        .clone();
                    format!("{count} unreadable (last: {why})")
                }
            });
        }
        parts.join(", ")
    }

    pub fn exporter(&self) -> &E {
        &self.exporter
    }

    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Bytes held by queued, cut and in-flight items.
    pub fn queued_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Waits (the caller must not hold the GIL) until everything accepted before the call
    /// has been exported. `false` on timeout or when part of it could not be delivered.
    pub fn force_flush(&self, timeout: Duration) -> bool {
        let target = self.stats.accepted.load(Ordering::SeqCst);
        let undelivered =
            || self.stats.failed.load(Ordering::SeqCst) + self.stats.spooled.load(Ordering::SeqCst);
        let undelivered_before = undelivered();
        self.flush_requested.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        let reached = self.wait_for(timeout, |progress| {
            progress.processed >= target || progress.stopped
        });
        reached && undelivered() == undelivered_before && self.processed() >= target
    }

    pub fn is_shut_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Exports what is queued, then stops the task and reports what was lost. Idempotent.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return true;
        }
        self.exporter.begin_shutdown();
        self.wake.notify_one();
        let stopped = self.wait_for(timeout, |progress| progress.stopped);
        let dropped = self.stats.dropped.load(Ordering::Relaxed);
        let failed = self.stats.failed.load(Ordering::Relaxed);
        let unsent = self.queued() + self.cut.load(Ordering::SeqCst);
        let spooled = self.stats.spooled.load(Ordering::Relaxed);
        if dropped + failed + spooled > 0 || unsent > 0 {
            let mut summary = format!(
                "{} {}s accepted, {} exported",
                self.stats.accepted.load(Ordering::Relaxed),
                self.item_name,
                self.stats.exported.load(Ordering::Relaxed),
            );
            if failed > 0 {
                summary.push_str(&format!(", {failed} failed to export"));
            }
            if spooled > 0 {
                summary.push_str(&format!(", {spooled} spooled to disk"));
            }
            if unsent > 0 {
                summary.push_str(&format!(
                    ", {unsent} still queued or being exported at the shutdown timeout"
                ));
            }
            if dropped > 0 {
                summary.push_str(&format!(", {dropped} dropped ({})", self.drop_reasons()));
            }
            diagnostics::warn(&format!("at shutdown: {summary}"));
        }
        stopped
    }

    fn processed(&self) -> u64 {
        self.progress
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .processed
    }

    fn wait_for(&self, timeout: Duration, done: impl Fn(&Progress) -> bool) -> bool {
        let progress = self
            .progress
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let (progress, _) = self
            .progress_changed
            .wait_timeout_while(progress, timeout, |progress| !done(progress))
            .unwrap_or_else(|poison| poison.into_inner());
        done(&progress)
    }

    async fn run(self: Arc<Self>) {
        loop {
            let stopping = self.shutting_down.load(Ordering::SeqCst);
            let mut drain_all = stopping;
            if !stopping && self.queued() < self.config.max_export_batch_size {
                let woken =
                    tokio::time::timeout(self.config.schedule_delay, self.wake.notified()).await;
                drain_all = woken.is_err();
            }
            self.wake_pending.store(false, Ordering::Release);
            self.report_in_background();
            drain_all |= self.flush_requested.swap(false, Ordering::SeqCst);
            self.drain(drain_all).await;
            if stopping {
                break;
            }
        }
        self.all_cut_finished().await;
        self.exporter.clone().finished().await;
        self.update_progress(|progress| progress.stopped = true);
    }

    /// Resolves once no cut batch waits for an export slot or is being exported.
    async fn all_cut_finished(&self) {
        loop {
            let finished = self.cut_finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            if self.cut.load(Ordering::SeqCst) == 0 {
                return;
            }
            finished.await;
        }
    }

    /// Waits until the batches waiting for an export slot hold less than `max_backlog_bytes`.
    async fn backlog_room(&self) {
        loop {
            let shrunk = self.backlog_shrunk.notified();
            tokio::pin!(shrunk);
            shrunk.as_mut().enable();
            if self.backlog_bytes.load(Ordering::SeqCst) < self.config.max_backlog_bytes {
                return;
            }
            shrunk.await;
        }
    }

    /// Cuts batches while full ones wait (or everything, when asked). Each is exported
    /// when one of the `max_concurrent_exports` slots is free; until then it waits in the
    /// backlog (up to `max_backlog_bytes`), out of the queue, so a burst or a slow answer
    /// does not fill the queue while the exporter keeps up on average.
    /// With a spool, batches wait for a slot in the queue instead, and a queue about to
    /// overflow while every slot is taken goes to disk.
    async fn drain(self: &Arc<Self>, all: bool) {
        while all || self.queued() >= self.config.max_export_batch_size {
            if self.queued() == 0 {
                return;
            }
            if self.overflow_at.is_none() {
                self.backlog_room().await;
                if !self.cut_to_backlog() {
                    return;
                }
                continue;
            }
            let slot = tokio::select! {
                biased;
                permit = self.in_flight.clone().acquire_owned() => match permit {
                    Ok(permit) => Slot::Taken(permit),
                    Err(_) => return,
                },
                () = self.nearly_full.notified() => Slot::Disk,
            };
            if matches!(slot, Slot::Disk) && self.overflow_at.is_some_and(|at| self.queued() < at) {
                continue;
            }
            let Some((batch, bytes)) = self.take_batch() else {
                return;
            };
            self.start_export(batch, bytes, slot);
        }
    }

    /// On a thread that would drop for a full queue: when the runtime's thread has not cut
    /// a batch for a while (a busy machine leaves it waiting for a CPU) and the backlog has
    /// room, cuts one here instead. Never waits; `false` when no room was made.
    fn cut_for_a_full_queue(self: &Arc<Self>) -> bool {
        self.overflow_at.is_none()
            && self.backlog_bytes.load(Ordering::SeqCst) < self.config.max_backlog_bytes
            && self.cut_to_backlog()
    }

    /// Cuts a batch into the backlog and starts what a free export slot can take;
    /// `false` when the queue was empty.
    fn cut_to_backlog(self: &Arc<Self>) -> bool {
        let Some((batch, bytes)) = self.take_batch() else {
            return false;
        };
        self.backlog_bytes.fetch_add(bytes, Ordering::SeqCst);
        self.backlog.push((batch, bytes));
        // With the fence after an export frees its slot: either that export sees this
        // batch, or this thread sees the free slot.
        fence(Ordering::SeqCst);
        self.start_from_backlog();
        true
    }

    /// Starts the export of backlog batches, oldest first, while export slots are free.
    /// Called after each cut and each export: a batch cut while every slot was taken is
    /// started by the export that frees one.
    fn start_from_backlog(self: &Arc<Self>) {
        while let Ok(permit) = self.in_flight.clone().try_acquire_owned() {
            let Some((batch, bytes)) = self.backlog.pop() else {
                return;
            };
            self.backlog_bytes.fetch_sub(bytes, Ordering::SeqCst);
            self.backlog_shrunk.notify_waiters();
            self.start_export(batch, bytes, Slot::Taken(permit));
        }
    }

    /// Up to a batch from the queue, with its bytes; `None` when the queue is empty.
    fn take_batch(&self) -> Option<(Vec<E::Item>, usize)> {
        let mut batch = Vec::with_capacity(self.queued().min(self.config.max_export_batch_size));
        let mut batch_bytes = 0;
        while batch.len() < self.config.max_export_batch_size {
            match self.queue.pop() {
                Some((item, size)) => {
                    self.queued.fetch_sub(1, Ordering::AcqRel);
                    batch_bytes += size;
                    batch.push(item);
                }
                None => break,
            }
        }
        if batch.is_empty() {
            return None;
        }
        self.cut.fetch_add(batch.len(), Ordering::SeqCst);
        Some((batch, batch_bytes))
    }

    /// Starts a task exporting `batch` through `slot`.
    fn start_export(self: &Arc<Self>, batch: Vec<E::Item>, batch_bytes: usize, slot: Slot) {
        let pipeline = self.clone();
        self.runtime.spawn(async move {
            let (permit, to_disk) = match slot {
                Slot::Taken(permit) => (Some(permit), false),
                Slot::Disk => (None, true),
            };
            pipeline.export(batch, batch_bytes, to_disk).await;
            drop(permit);
            if pipeline.overflow_at.is_none() {
                fence(Ordering::SeqCst);
                pipeline.start_from_backlog();
            }
        });
    }

    /// Exports `batch` (`to_disk`: straight to the spool), which holds `bytes` of the
    /// queue's bound until it is done.
    async fn export(&self, batch: Vec<E::Item>, bytes: usize, to_disk: bool) {
        let count = batch.len() as u64;
        let exporter = self.exporter.clone();
        let export = if to_disk {
            exporter.overflow(batch)
        } else {
            exporter.export(batch)
        };
        // A task of its own, so that a panic fails this batch instead of the pipeline.
        let outcome = match tokio::spawn(export).await {
            Ok(outcome) => outcome,
            Err(panic) => {
                diagnostics::error(&format!(
                    "exporting a batch of {}s panicked: {panic}",
                    self.item_name
                ));
                Outcome::Failed
            }
        };
        let counter = match outcome {
            Outcome::Delivered => &self.stats.exported,
            Outcome::Spooled => &self.stats.spooled,
            Outcome::Failed => &self.stats.failed,
        };
        counter.fetch_add(count, Ordering::SeqCst);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        if self.cut.fetch_sub(count as usize, Ordering::SeqCst) == count as usize {
            self.cut_finished.notify_waiters();
        }
        self.update_progress(|progress| progress.processed += count);
    }

    fn update_progress(&self, change: impl FnOnce(&mut Progress)) {
        change(
            &mut self
                .progress
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        self.progress_changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    struct Recorder {
        batches: Mutex<Vec<Vec<u32>>>,
        fail: AtomicBool,
        delay: Duration,
        in_flight: AtomicUsize,
        peak_in_flight: AtomicUsize,
    }

    impl BatchExport for Recorder {
        type Item = u32;
        fn item_bytes(item: &u32) -> usize {
            *item as usize
        }
        fn export(self: Arc<Self>, batch: Vec<u32>) -> BoxFuture<'static, Outcome> {
            Box::pin(async move {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                self.batches.lock().unwrap().push(batch);
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                if self.fail.load(Ordering::SeqCst) {
                    Outcome::Failed
                } else {
                    Outcome::Delivered
                }
            })
        }
    }

    fn recorder(delay: Duration) -> Arc<Recorder> {
        Arc::new(Recorder {
            batches: Mutex::new(Vec::new()),
            fail: AtomicBool::new(false),
            delay,
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
        })
    }

    fn config(queue: usize, batch: usize, delay_ms: u64) -> BatchConfig {
        BatchConfig {
            max_queue_size: queue,
            max_queue_bytes: usize::MAX,
            max_backlog_bytes: usize::MAX,
            schedule_delay: Duration::from_millis(delay_ms),
            max_export_batch_size: batch,
            export_timeout: Duration::from_secs(30),
            max_concurrent_exports: 1,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    /// A pipeline of "item"s on `rt` exporting to `exporter`.
    fn start<E: BatchExport>(
        rt: &tokio::runtime::Runtime,
        settings: BatchConfig,
        exporter: &Arc<E>,
    ) -> Arc<Pipeline<E>> {
        Pipeline::start("item", settings, exporter.clone(), rt.handle())
    }

    #[test]
    fn force_flush_delivers_everything_accepted_in_batches() {
        let rt = runtime();
        let exporter = recorder(Duration::ZERO);
        let pipeline = start(&rt, config(100, 10, 60_000), &exporter);
        for i in 0..25 {
            assert!(pipeline.push(i));
        }
        assert!(pipeline.force_flush(Duration::from_secs(5)));
        let batches = exporter.batches.lock().unwrap().clone();
        assert!(batches.iter().all(|batch| batch.len() <= 10));
        let delivered: Vec<u32> = batches.into_iter().flatten().collect();
        assert_eq!(delivered, (0..25).collect::<Vec<_>>());
        assert_eq!(pipeline.stats.exported.load(Ordering::SeqCst), 25);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let rt = runtime();
        let exporter = recorder(Duration::from_millis(200));
        let settings = BatchConfig {
            max_backlog_bytes: 1,
            ..config(4, 4, 60_000)
        };
        let pipeline = start(&rt, settings, &exporter);
        let accepted = (0..20).filter(|i| pipeline.push(*i)).count() as u64;
        assert!(accepted < 20);
        assert_eq!(pipeline.stats.dropped.load(Ordering::SeqCst), 20 - accepted);
        assert!(pipeline.force_flush(Duration::from_secs(5)));
        let delivered = exporter.batches.lock().unwrap().iter().flatten().count() as u64;
        assert_eq!(delivered, accepted);
    }

    #[test]
    fn the_schedule_delay_exports_a_partial_batch() {
        let rt = runtime();
        let exporter = recorder(Duration::ZERO);
        let pipeline = start(&rt, config(100, 50, 50), &exporter);
        pipeline.push(7);
        let start = Instant::now();
        while exporter.batches.lock().unwrap().is_empty()
            && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*exporter.batches.lock().unwrap(), vec![vec![7]]);
    }

    #[test]
    fn force_flush_reports_failed_delivery_and_times_out() {
        let rt = runtime();
        let exporter = recorder(Duration::ZERO);
        exporter.fail.store(true, Ordering::SeqCst);
        let pipeline = start(&rt, config(100, 10, 60_000), &exporter);
        pipeline.push(1);
        assert!(!pipeline.force_flush(Duration::from_secs(5)));
        assert_eq!(pipeline.stats.failed.load(Ordering::SeqCst), 1);

        let slow = recorder(Duration::from_secs(2));
        let pipeline = start(&rt, config(100, 10, 60_000), &slow);
        pipeline.push(1);
        let start = Instant::now();
        assert!(!pipeline.force_flush(Duration::from_millis(100)));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn shutdown_exports_the_rest_is_idempotent_and_refuses_later_records() {
        let rt = runtime();
        let exporter = recorder(Duration::ZERO);
        let pipeline = start(&rt, config(100, 10, 60_000), &exporter);
        for i in 0..3 {
            pipeline.push(i);
        }
        assert!(pipeline.shutdown(Duration::from_secs(5)));
        assert!(pipeline.shutdown(Duration::from_secs(5)));
        assert!(!pipeline.push(99));
        assert_eq!(exporter.batches.lock().unwrap().concat(), vec![0, 1, 2]);
        assert_eq!(pipeline.stats.dropped.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn batches_are_exported_concurrently_up_to_the_limit() {
        let rt = runtime();
        let exporter = recorder(Duration::from_millis(100));
        let settings = BatchConfig {
            max_concurrent_exports: 2,
            ..config(100, 5, 60_000)
        };
        let pipeline = start(&rt, settings, &exporter);
        for i in 0..30 {
            assert!(pipeline.push(i));
        }
        assert!(pipeline.force_flush(Duration::from_secs(10)));
        assert_eq!(exporter.peak_in_flight.load(Ordering::SeqCst), 2);
        let mut delivered: Vec<u32> = exporter.batches.lock().unwrap().concat();
        delivered.sort();
        assert_eq!(delivered, (0..30).collect::<Vec<_>>());
        assert!(pipeline.shutdown(Duration::from_secs(5)));
        assert_eq!(exporter.in_flight.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn queued_and_in_flight_bytes_are_bounded_and_drops_counted_by_reason() {
        let rt = runtime();
        let exporter = recorder(Duration::from_millis(300));
        let settings = BatchConfig {
            max_queue_bytes: 100,
            ..config(100, 2, 60_000)
        };
        let pipeline = start(&rt, settings, &exporter);
        assert!(pipeline.push(40));
        assert!(pipeline.push(40));
        assert!(
            !pipeline.push(40),
            "120 bytes would pass the 100-byte bound"
        );
        assert!(pipeline.push(20));
        assert!(!pipeline.push(101), "bigger than the whole bound");
        // The first batch (80 bytes) is in flight for 300 ms: it still counts.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(pipeline.queued(), 1);
        assert_eq!(pipeline.queued_bytes(), 100);
        assert!(!pipeline.push(1));
        assert!(pipeline.force_flush(Duration::from_secs(5)));
        assert_eq!(pipeline.queued_bytes(), 0);
        assert!(pipeline.push(90));
        assert_eq!(pipeline.stats.dropped_for(DropReason::QueueBytes), 3);
        assert_eq!(pipeline.stats.dropped.load(Ordering::SeqCst), 3);
        assert!(pipeline.shutdown(Duration::from_secs(5)));
        assert!(!pipeline.push(1));
        assert_eq!(pipeline.stats.dropped_for(DropReason::ShutDown), 1);
        assert_eq!(
            exporter.batches.lock().unwrap().concat(),
            vec![40, 40, 20, 90]
        );
    }

    /// Holds every export until the test opens its gate.
    struct Gated {
        open: tokio::sync::Semaphore,
        in_flight: AtomicUsize,
        peak_in_flight: AtomicUsize,
        delivered: Mutex<Vec<u32>>,
    }

    impl BatchExport for Gated {
        type Item = u32;
        fn item_bytes(_: &u32) -> usize {
            10
        }
        fn export(self: Arc<Self>, batch: Vec<u32>) -> BoxFuture<'static, Outcome> {
            Box::pin(async move {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
                drop(self.open.acquire().await);
                self.delivered.lock().unwrap().extend(batch);
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                Outcome::Delivered
            })
        }
    }

    fn gated() -> Arc<Gated> {
        Arc::new(Gated {
            open: tokio::sync::Semaphore::new(0),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            delivered: Mutex::new(Vec::new()),
        })
    }

    /// Pushes `items` (one batch's worth) and waits until they are cut from the queue.
    fn push_batch_and_wait_for_its_cut<E: BatchExport<Item = u32>>(
        pipeline: &Arc<Pipeline<E>>,
        items: std::ops::Range<u32>,
    ) {
        for item in items.clone() {
            assert!(pipeline.push(item), "item {item} was dropped");
        }
        let start = Instant::now();
        while pipeline.queued() > 0 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(pipeline.queued(), 0, "items {items:?} were not cut");
    }

    #[test]
    fn batches_waiting_for_an_export_slot_leave_the_queue_and_go_out_in_order() {
        let rt = runtime();
        let exporter = gated();
        let pipeline = start(&rt, config(20, 10, 60_000), &exporter);
        // Ten times the queue's size while the only export slot is taken.
        for first in (0..200).step_by(10) {
            push_batch_and_wait_for_its_cut(&pipeline, first..first + 10);
        }
        assert_eq!(
            pipeline.queued_bytes(),
            2000,
            "cut batches still count in bytes"
        );
        exporter.open.add_permits(1 << 20);
        assert!(pipeline.force_flush(Duration::from_secs(10)));
        assert_eq!(pipeline.stats.dropped.load(Ordering::SeqCst), 0);
        assert_eq!(
            *exporter.delivered.lock().unwrap(),
            (0..200).collect::<Vec<_>>()
        );
        assert_eq!(exporter.peak_in_flight.load(Ordering::SeqCst), 1);
        assert_eq!(pipeline.queued_bytes(), 0);
        assert!(pipeline.shutdown(Duration::from_secs(5)));
    }

    #[test]
    fn batches_waiting_for_a_slot_are_bounded_by_max_queue_bytes_and_counted() {
        let rt = runtime();
        let exporter = gated();
        let settings = BatchConfig {
            max_queue_bytes: 100,
            ..config(4, 2, 60_000)
        };
        let pipeline = start(&rt, settings, &exporter);
        // 10 items of 10 bytes: one batch in flight, four waiting for the slot.
        for first in (0..10).step_by(2) {
            push_batch_and_wait_for_its_cut(&pipeline, first..first + 2);
        }
        assert_eq!(pipeline.queued_bytes(), 100);
        assert!(!pipeline.push(10));
        assert_eq!(pipeline.stats.dropped_for(DropReason::QueueBytes), 1);
        assert!(!pipeline.shutdown(Duration::from_millis(200)));
        exporter.open.add_permits(1 << 20);
        let start = Instant::now();
        while exporter.delivered.lock().unwrap().len() < 10
            && start.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            *exporter.delivered.lock().unwrap(),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(pipeline.stats.dropped.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_full_queue_is_cut_on_the_pushing_thread_while_the_runtime_cannot_run() {
        let rt = runtime();
        let exporter = recorder(Duration::ZERO);
        let pipeline = start(&rt, config(20, 10, 60_000), &exporter);
        // The runtime's only worker blocks, as a thread waiting for a CPU would.
        let (blocking, blocked) = std::sync::mpsc::channel();
        let release = Arc::new(std::sync::Barrier::new(2));
        let worker_release = release.clone();
        rt.spawn(async move {
            blocking.send(()).unwrap();
            worker_release.wait();
        });
        blocked.recv().unwrap();
        let dropped = (0..200).filter(|item| !pipeline.push(*item)).count();
        let queued = pipeline.queued();
        release.wait();
        assert_eq!(dropped, 0);
        assert!(queued <= 20);
        assert!(pipeline.force_flush(Duration::from_secs(10)));
        assert_eq!(
            exporter.batches.lock().unwrap().concat(),
            (0..200).collect::<Vec<_>>()
        );
        assert_eq!(pipeline.stats.dropped.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_full_backlog_leaves_batches_in_the_queue_which_then_overflows() {
        let rt = runtime();
        let exporter = gated();
        let settings = BatchConfig {
            max_backlog_bytes: 20,
            ..config(4, 2, 60_000)
        };
        let pipeline = start(&rt, settings, &exporter);
        // One batch in flight, one (20 bytes) waiting for the slot: the backlog is full.
        push_batch_and_wait_for_its_cut(&pipeline, 0..2);
        push_batch_and_wait_for_its_cut(&pipeline, 2..4);
        for item in 4..8 {
            assert!(pipeline.push(item), "item {item} was dropped");
        }
        assert!(!pipeline.push(8));
        assert_eq!(pipeline.stats.dropped_for(DropReason::QueueFull), 1);
        assert_eq!(pipeline.queued(), 4);
        exporter.open.add_permits(1 << 20);
        assert!(pipeline.force_flush(Duration::from_secs(10)));
        assert_eq!(
            *exporter.delivered.lock().unwrap(),
            (0..8).collect::<Vec<_>>()
        );
    }

    /// A slow exporter with a spool: overflowing batches are recorded at once.
    struct Spooling {
        spool: crate::spool::SpoolStats,
        sent: Mutex<Vec<u32>>,
        to_disk: Mutex<Vec<u32>>,
    }

    impl BatchExport for Spooling {
        type Item = u32;
        fn item_bytes(_: &u32) -> usize {
            1
        }
        fn export(self: Arc<Self>, batch: Vec<u32>) -> BoxFuture<'static, Outcome> {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.sent.lock().unwrap().extend(batch);
                Outcome::Delivered
            })
        }
        fn overflow(self: Arc<Self>, batch: Vec<u32>) -> BoxFuture<'static, Outcome> {
            self.to_disk.lock().unwrap().extend(batch);
            Box::pin(async { Outcome::Spooled })
        }
        fn spool_stats(&self) -> Option<&crate::spool::SpoolStats> {
            Some(&self.spool)
        }
    }

    #[test]
    fn with_a_spool_a_queue_about_to_overflow_goes_to_disk_instead_of_dropping() {
        let rt = runtime();
        let exporter = Arc::new(Spooling {
            spool: Default::default(),
            sent: Mutex::new(Vec::new()),
            to_disk: Mutex::new(Vec::new()),
        });
        let pipeline = start(&rt, config(40, 10, 60_000), &exporter);
        for i in 0..400 {
            assert!(pipeline.push(i), "item {i} was dropped");
            if i % 10 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        pipeline.force_flush(Duration::from_secs(10));
        let to_disk = exporter.to_disk.lock().unwrap().clone();
        assert!(!to_disk.is_empty());
        let mut everything = to_disk;
        everything.extend(exporter.sent.lock().unwrap().iter());
        everything.sort();
        assert_eq!(everything, (0..400).collect::<Vec<_>>());
        assert_eq!(pipeline.stats.dropped.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_huge_max_queue_size_allocates_nothing_up_front() {
        let rt = runtime();
        let pipeline = start(
            &rt,
            config(usize::MAX, 512, 60_000),
            &recorder(Duration::ZERO),
        );
        assert!(pipeline.push(1));
        assert!(pipeline.force_flush(Duration::from_secs(5)));
    }
}
