//! Counters behind the exporters' self-metrics (`otel.sdk.exporter.*` and
//! `otel_rust_exporter.exporter.*`): plain atomics bumped once per request, read by
//! Python's observable instruments at collection time. Nothing here runs per item.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tonic::Code;

use crate::pipeline::Outcome;
use crate::retry::{Failure, FailureKind};
use crate::spool::Sent;

/// Export durations kept between two collections; beyond that they are counted, not kept.
const MAX_PENDING_DURATIONS: usize = 4096;

/// What one exporter has done, per request.
#[derive(Default)]
pub struct ExportMetrics {
    /// Items handed to the exporter whose export has not finished.
    inflight: AtomicU64,
    delivered: AtomicU64,
    /// Items whose export failed, by `error.type`.
    failed: Mutex<BTreeMap<String, u64>>,
    retries: AtomicU64,
    /// Request bodies as encoded, and as put on the wire after our own compression.
    uncompressed_bytes: AtomicU64,
    sent_bytes: AtomicU64,
    /// Set once something reads the durations (Python's histogram), so that none pile up
    /// in a process that never collects them.
    keep_durations: AtomicBool,
    durations: Mutex<Vec<(f64, Option<String>)>>,
    durations_lost: AtomicU64,
    /// The last failure, `(error.type, message)`, for `check`.
    last_failure: Mutex<Option<(String, String)>>,
}

/// One export operation (a request with its retries). Dropped without [`Operation::end`]
/// (a panic, a cancelled task) it counts as failed with `error.type` `aborted`.
/// The counters at one moment: what the observable instruments report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub inflight: u64,
    pub delivered: u64,
    /// Items whose export failed, by `error.type`.
    pub failed: BTreeMap<String, u64>,
    pub retries: u64,
    pub uncompressed_bytes: u64,
    pub sent_bytes: u64,
    pub durations_lost: u64,
}

pub struct Operation<'a> {
    metrics: &'a ExportMetrics,
    items: u64,
    started: Instant,
    attempts: AtomicU32,
    failure: Option<(String, String)>,
    ended: bool,
    /// Went to the disk spool: neither delivered nor failed yet (its replay counts then).
    spooled: bool,
}

impl ExportMetrics {
    /// Starts an operation of `items` items whose encoded request has `encoded_bytes`.
    pub fn begin(&self, items: usize, encoded_bytes: usize) -> Operation<'_> {
        self.inflight.fetch_add(items as u64, Ordering::Relaxed);
        self.uncompressed_bytes
            .fetch_add(encoded_bytes as u64, Ordering::Relaxed);
        Operation {
            metrics: self,
            items: items as u64,
            started: Instant::now(),
            attempts: AtomicU32::new(0),
            failure: None,
            ended: false,
            spooled: false,
        }
    }

    /// The counters now (see `docs/OPERATIONS.md`).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            inflight: self.inflight.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: lock(&self.failed).clone(),
            retries: self.retries.load(Ordering::Relaxed),
            uncompressed_bytes: self.uncompressed_bytes.load(Ordering::Relaxed),
            sent_bytes: self.sent_bytes.load(Ordering::Relaxed),
            durations_lost: self.durations_lost.load(Ordering::Relaxed),
        }
    }

    /// The durations (seconds) and `error.type` of the operations finished since the last
    /// call; from the first call on, they are kept.
    pub fn take_durations(&self) -> Vec<(f64, Option<String>)> {
        self.keep_durations.store(true, Ordering::Relaxed);
        std::mem::take(&mut *lock(&self.durations))
    }

    pub fn last_failure(&self) -> Option<(String, String)> {
        lock(&self.last_failure).clone()
    }

    fn finish(&self, items: u64, seconds: f64, failure: Option<(String, String)>) {
        self.inflight.fetch_sub(items, Ordering::Relaxed);
        let error_type = failure.as_ref().map(|(error_type, _)| error_type.clone());
        match &error_type {
            None => {
                self.delivered.fetch_add(items, Ordering::Relaxed);
            }
            Some(error_type) => {
                *lock(&self.failed).entry(error_type.clone()).or_default() += items;
                *lock(&self.last_failure) = failure;
            }
        }
        if self.keep_durations.load(Ordering::Relaxed) {
            let mut durations = lock(&self.durations);
            if durations.len() < MAX_PENDING_DURATIONS {
                durations.push((seconds, error_type));
            } else {
                self.durations_lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Operation<'_> {
    /// Call once per attempt: attempts after the first count as retries.
    pub fn attempt(&self) {
        if self.attempts.fetch_add(1, Ordering::Relaxed) > 0 {
            self.metrics.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The body as sent (after our compression, if any).
    pub fn sent(&self, bytes: usize) {
        self.metrics
            .sent_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Ends the operation with its outcome.
    pub fn end<T>(mut self, outcome: &Result<T, Failure>) {
        self.failure = outcome
            .as_ref()
            .err()
            .map(|failure| (error_type(failure.kind), failure.message.clone()));
        self.ended = true;
    }

    /// Ends the operation with its request on disk, to be sent again.
    pub fn spooled(mut self) {
        self.spooled = true;
        self.ended = true;
    }

    /// Ends the operation as `send_or_spool`'s `sent` ended: the pipeline's outcome.
    pub fn end_as<T>(self, sent: &Sent<T>) -> Outcome {
        match sent {
            Sent::Delivered(_) => {
                self.end::<()>(&Ok(()));
                Outcome::Delivered
            }
            Sent::Spooled => {
                self.spooled();
                Outcome::Spooled
            }
            Sent::Failed(failure) => {
                self.end::<()>(&Err(failure.clone()));
                Outcome::Failed
            }
        }
    }

    /// Ends the operation as failed before any attempt, e.g. without a usable transport.
    pub fn fail(mut self, error_type: &str, message: &str) {
        self.failure = Some((error_type.to_owned(), message.to_owned()));
        self.ended = true;
    }
}

impl Drop for Operation<'_> {
    fn drop(&mut self) {
        if self.spooled {
            self.metrics
                .inflight
                .fetch_sub(self.items, Ordering::Relaxed);
            return;
        }
        let failure = if self.ended {
            self.failure.take()
        } else {
            Some(("aborted".to_owned(), "the export did not finish".to_owned()))
        };
        let seconds = self.started.elapsed().as_secs_f64();
        self.metrics.finish(self.items, seconds, failure);
    }
}

/// The semantic conventions' `error.type` for our failure classification: an HTTP status
/// as its code (`"503"`), a gRPC status as its snake_case name (`"unavailable"`),
/// `timeout` for any timeout (`DeadlineExceeded` included), `connection` when no answer
/// came, a service's error family in snake_case (for SLS: `authentication`, `quota`,
/// `project_or_logstore_not_found`...), else the kind's name.
pub fn error_type(kind: FailureKind) -> String {
    match kind {
        FailureKind::Timeout | FailureKind::Grpc(Code::DeadlineExceeded) => "timeout".to_owned(),
        FailureKind::Connection => "connection".to_owned(),
        FailureKind::Redirect => "redirect".to_owned(),
        FailureKind::Configuration => "invalid_configuration".to_owned(),
        FailureKind::Encoding => "encoding".to_owned(),
        FailureKind::Http(status) => status.to_string(),
        FailureKind::Grpc(code) => snake_case(&format!("{code:?}")),
        FailureKind::Service { family, .. } => family.replace(' ', "_"),
    }
}

fn snake_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut previous = ' ';
    for character in text.chars() {
        if character.is_ascii_uppercase() && previous.is_ascii_lowercase() {
            out.push('_');
        }
        out.push(character.to_ascii_lowercase());
        previous = character;
    }
    out
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_kinds_map_to_semantic_convention_error_types() {
        for (kind, expected) in [
            (FailureKind::Http(503), "503"),
            (FailureKind::Http(401), "401"),
            (FailureKind::Timeout, "timeout"),
            (FailureKind::Connection, "connection"),
            (FailureKind::Grpc(Code::Unavailable), "unavailable"),
            (
                FailureKind::Grpc(Code::ResourceExhausted),
                "resource_exhausted",
            ),
            (FailureKind::Grpc(Code::DeadlineExceeded), "timeout"),
            (
                FailureKind::Service {
                    service: "SLS",
                    family: "project or logstore not found",
                },
                "project_or_logstore_not_found",
            ),
            (FailureKind::Configuration, "invalid_configuration"),
            (FailureKind::Encoding, "encoding"),
            (FailureKind::Redirect, "redirect"),
        ] {
            assert_eq!(error_type(kind), expected, "{kind}");
        }
    }

    #[test]
    fn operations_count_items_retries_bytes_and_failures() {
        let metrics = ExportMetrics::default();
        let operation = metrics.begin(5, 100);
        assert_eq!(metrics.inflight.load(Ordering::Relaxed), 5);
        operation.attempt();
        operation.attempt();
        operation.sent(40);
        operation.end::<()>(&Err(Failure::transient(FailureKind::Http(503), "busy")));
        metrics.begin(3, 10).end(&Ok(()));
        drop(metrics.begin(2, 0));
        assert_eq!(metrics.inflight.load(Ordering::Relaxed), 0);
        assert_eq!(metrics.delivered.load(Ordering::Relaxed), 3);
        assert_eq!(metrics.retries.load(Ordering::Relaxed), 1);
        assert_eq!(metrics.sent_bytes.load(Ordering::Relaxed), 40);
        assert_eq!(metrics.uncompressed_bytes.load(Ordering::Relaxed), 110);
        let failed = lock(&metrics.failed).clone();
        assert_eq!(failed.get("503"), Some(&5));
        assert_eq!(failed.get("aborted"), Some(&2));
    }

    #[test]
    fn durations_are_kept_only_once_someone_reads_them() {
        let metrics = ExportMetrics::default();
        metrics.begin(1, 0).end(&Ok(()));
        assert!(metrics.take_durations().is_empty());
        metrics.begin(1, 0).end::<()>(&Err(Failure::transient(
            FailureKind::Grpc(Code::Unavailable),
            "down",
        )));
        let durations = metrics.take_durations();
        assert_eq!(durations.len(), 1);
        assert_eq!(durations[0].1.as_deref(), Some("unavailable"));
        assert!(metrics.take_durations().is_empty());
    }
}
