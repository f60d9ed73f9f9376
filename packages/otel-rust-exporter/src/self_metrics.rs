//! Counters behind the self-metrics (`otel.sdk.*` and `otel_rust_exporter.*`): plain atomics
//! that exporters and pipelines bump per request or per drop, read by Python's observable
//! instruments at collection time. Nothing here runs per span.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::retry::Failure;

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
pub struct Operation<'a> {
    metrics: &'a ExportMetrics,
    items: u64,
    started: Instant,
    attempts: AtomicU32,
    failure: Option<(String, String)>,
    ended: bool,
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
        }
    }

    /// Fills `dict` with the counters (see `docs/OPERATIONS.md`).
    pub fn snapshot(&self, dict: &Bound<'_, PyDict>) -> PyResult<()> {
        dict.set_item("inflight", self.inflight.load(Ordering::Relaxed))?;
        dict.set_item("delivered", self.delivered.load(Ordering::Relaxed))?;
        dict.set_item("failed", lock(&self.failed).clone())?;
        dict.set_item("retries", self.retries.load(Ordering::Relaxed))?;
        dict.set_item(
            "uncompressed_bytes",
            self.uncompressed_bytes.load(Ordering::Relaxed),
        )?;
        dict.set_item("sent_bytes", self.sent_bytes.load(Ordering::Relaxed))?;
        dict.set_item(
            "durations_lost",
            self.durations_lost.load(Ordering::Relaxed),
        )?;
        Ok(())
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
            .map(|failure| (error_type(&failure.kind), failure.message.clone()));
        self.ended = true;
    }

    /// Ends the operation as failed before any attempt, e.g. without a usable transport.
    pub fn fail(mut self, error_type: &str, message: &str) {
        self.failure = Some((error_type.to_owned(), message.to_owned()));
        self.ended = true;
    }
}

impl Drop for Operation<'_> {
    fn drop(&mut self) {
        let failure = if self.ended {
            self.failure.take()
        } else {
            Some(("aborted".to_owned(), "the export did not finish".to_owned()))
        };
        let seconds = self.started.elapsed().as_secs_f64();
        self.metrics.finish(self.items, seconds, failure);
    }
}

/// The semantic conventions' `error.type` for a failure kind (`retry::Failure::kind`):
/// an HTTP status as its code (`"503"`), a gRPC status as its snake_case name
/// (`"unavailable"`), `timeout` for any timeout, `connection` when no answer came, an
/// SLS error code as SLS spells it (`"Unauthorized"`), anything else in snake_case.
pub fn error_type(kind: &str) -> String {
    let (service, detail) = kind.split_once(' ').unwrap_or(("", kind));
    match (service, detail) {
        (_, "timeout") | ("gRPC", "DeadlineExceeded") => "timeout".to_owned(),
        (_, "connection") => "connection".to_owned(),
        ("HTTP", status) | ("SLS", status) if status.starts_with("HTTP ") || is_status(status) => {
            status.trim_start_matches("HTTP ").to_owned()
        }
        ("gRPC", code) => snake_case(code),
        ("SLS", code) if !code.contains(' ') => code.to_owned(),
        _ => snake_case(kind),
    }
}

fn is_status(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn snake_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut previous = ' ';
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            let word_starts = character.is_ascii_uppercase()
                && (previous.is_ascii_lowercase() || previous.is_ascii_digit());
            if word_starts {
                out.push('_');
            }
            out.push(character.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        previous = character;
    }
    out
}

/// Records a pipeline dropped, by `error.type`: `queue_full`, `already_shutdown`, or
/// `invalid_input` for what could not be read.
#[derive(Default)]
pub struct DropReasons {
    queue_full: AtomicU64,
    already_shutdown: AtomicU64,
    invalid_input: AtomicU64,
}

impl DropReasons {
    /// `reason` is the pipeline's message for the drop.
    pub fn count(&self, reason: &str) {
        let counter = if reason.contains("queue is full") {
            &self.queue_full
        } else if reason.contains("shut down") {
            &self.already_shutdown
        } else {
            &self.invalid_input
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, counter) in [
            ("queue_full", &self.queue_full),
            ("already_shutdown", &self.already_shutdown),
            ("invalid_input", &self.invalid_input),
        ] {
            dict.set_item(name, counter.load(Ordering::Relaxed))?;
        }
        Ok(dict)
    }
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
            ("HTTP 503", "503"),
            ("HTTP 401", "401"),
            ("HTTP timeout", "timeout"),
            ("HTTP connection", "connection"),
            ("gRPC Unavailable", "unavailable"),
            ("gRPC ResourceExhausted", "resource_exhausted"),
            ("gRPC DeadlineExceeded", "timeout"),
            ("timeout", "timeout"),
            ("SLS timeout", "timeout"),
            ("SLS connection", "connection"),
            ("SLS Unauthorized", "Unauthorized"),
            ("SLS LogStoreNotExist", "LogStoreNotExist"),
            ("SLS HTTP 502", "502"),
            ("SLS invalid header", "sls_invalid_header"),
            ("gzip", "gzip"),
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
        operation.end::<()>(&Err(Failure::transient("HTTP 503", "busy")));
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
        metrics
            .begin(1, 0)
            .end::<()>(&Err(Failure::transient("gRPC Unavailable", "down")));
        let durations = metrics.take_durations();
        assert_eq!(durations.len(), 1);
        assert_eq!(durations[0].1.as_deref(), Some("unavailable"));
        assert!(metrics.take_durations().is_empty());
    }

    #[test]
    fn drops_are_counted_by_reason() {
        let drops = DropReasons::default();
        drops.count("the queue is full");
        drops.count("the processor is shut down");
        drops.count("the span could not be read (TypeError)");
        drops.count("the queue is full");
        assert_eq!(drops.queue_full.load(Ordering::Relaxed), 2);
        assert_eq!(drops.already_shutdown.load(Ordering::Relaxed), 1);
        assert_eq!(drops.invalid_input.load(Ordering::Relaxed), 1);
    }
}
