//! What the processor and exporter cores of every signal share: resolving the OTLP
//! configuration, starting a batching pipeline, and the synchronous export path.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use crate::self_metrics::ExportMetrics;
use pyo3::types::PyDict;

use crate::diagnostics::{self, RateLimited};

use super::batching::Batching;
use super::finalizing;
use super::options::{otlp_env, OtlpOptions};
use crate::config::{BatchConfig, OtlpConfig, Signal};
use crate::otlp::{BatchExporter, OtlpBatch, OtlpClient};
use crate::pipeline::Outcome;
use crate::read::scope::ScopeCache;
use crate::runtime::{self, PerProcess};
use crate::spool::{Replay, SpoolStats};

/// A pipeline exporting `T` over OTLP; one export, retries included, gets
/// `min(OTLP timeout, batch export timeout)`.
pub fn start_pipeline<T: OtlpBatch>(
    signal: Signal,
    otlp: &OtlpConfig,
    batch: BatchConfig,
    item_name: &'static str,
) -> Batching<BatchExporter<T>> {
    let timeout = otlp.timeout.min(batch.export_timeout);
    let config = otlp.clone();
    Batching::start(item_name, batch, move || {
        Arc::new(BatchExporter::new(OtlpClient::start(
            &config,
            signal,
            timeout,
            &runtime::handle(),
        )))
    })
}

/// How often each exporter warns about items it could not read.
pub const UNREADABLE_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// The synchronous side (`*Exporter.export`): a sender rebuilt after fork, and the
/// shutdown flag that stops only this exporter.
pub struct SyncExport {
    pub otlp: OtlpConfig,
    signal: Signal,
    pub scopes: ScopeCache,
    sender: PerProcess<OtlpClient>,
    shut_down: AtomicBool,
    unreadable_warning: RateLimited,
}

impl SyncExport {
    pub fn new(signal: Signal, options: &OtlpOptions) -> Self {
        let otlp = OtlpConfig::resolve(signal, options.given.clone(), &*otlp_env(signal));
        let sender = PerProcess::with(Self::start(&otlp, signal));
        Self {
            otlp,
            signal,
            scopes: ScopeCache::default(),
            sender,
            shut_down: AtomicBool::new(false),
            unreadable_warning: RateLimited::new(UNREADABLE_WARNING_INTERVAL),
        }
    }

    fn start(otlp: &OtlpConfig, signal: Signal) -> Arc<OtlpClient> {
        OtlpClient::start(otlp, signal, otlp.timeout, &runtime::handle())
    }

    /// `None` once shut down.
    pub fn sender(&self) -> Option<Arc<OtlpClient>> {
        if self.shut_down.load(Ordering::Relaxed) {
            return None;
        }
        Some(self.sender.get(|| Self::start(&self.otlp, self.signal)))
    }

    /// Stops this exporter; with a spool, first lets its replay finish (while the
    /// endpoint answers, at most the export timeout) without the GIL.
    pub fn shutdown(&self, py: Python<'_>) {
        if self.shut_down.swap(true, Ordering::Relaxed) {
            return;
        }
        let sender = self.exporter();
        if sender.spool_stats().is_none() {
            return;
        }
        sender.begin_shutdown();
        let handle = runtime::handle();
        let timeout = self.otlp.timeout;
        finalizing::detach(py, || {
            handle.block_on(async {
                let _ = tokio::time::timeout(timeout, sender.replay_finished()).await;
            })
        });
    }

    /// This process's sender, also after shutdown (for its counters).
    pub fn exporter(&self) -> Arc<OtlpClient> {
        self.sender.get(|| Self::start(&self.otlp, self.signal))
    }

    /// Converts each item (with the GIL), then encodes and sends them as one request
    /// without it. `true` when delivered (or nothing was left to send). An item that
    /// cannot be read is left out, counted as rejected and warned about; the rest go.
    pub fn export_items<T: OtlpBatch>(
        &self,
        py: Python<'_>,
        items: &Bound<'_, PyAny>,
        read: impl Fn(&Bound<'_, PyAny>, &ScopeCache) -> PyResult<Option<T>>,
    ) -> PyResult<bool> {
        let Some(sender) = self.sender() else {
            return Ok(false);
        };
        let (batch, unreadable) = read_items(
            items,
            self.signal.item_name(),
            &self.unreadable_warning,
            |item| read(item, &self.scopes),
        )?;
        sender.rejected.fetch_add(unreadable, Ordering::Relaxed);
        if batch.is_empty() {
            // Nothing readable was given: nothing was delivered either.
            return Ok(unreadable == 0);
        }
        let handle = runtime::handle();
        Ok(finalizing::detach(py, || {
            handle.block_on(crate::otlp::export_batch(&sender, batch)) == Outcome::Delivered
        }))
    }
}

/// Converts each of `items` (named `item_name` in messages); one that cannot be read is
/// left out and warned about (through the exporter's `warning` limit). Returns the
/// readable ones and how many were not.
pub fn read_items<T>(
    items: &Bound<'_, PyAny>,
    item_name: &str,
    warning: &RateLimited,
    mut read: impl FnMut(&Bound<'_, PyAny>) -> PyResult<Option<T>>,
) -> PyResult<(Vec<T>, u64)> {
    let mut readable = Vec::new();
    let mut unreadable = 0u64;
    let mut reason = String::new();
    for item in items.try_iter()? {
        match read(&item?) {
            Ok(Some(converted)) => readable.push(converted),
            Ok(None) => {}
            Err(error) => {
                unreadable += 1;
                reason = error.to_string();
            }
        }
    }
    if unreadable > 0 && warning.admit().is_some() {
        let reason: String = reason.chars().take(200).collect();
        diagnostics::warn(&format!(
            "left {unreadable} unreadable {item_name} out of an export: {reason}"
        ));
    }
    Ok((readable, unreadable))
}

/// An OTLP exporter's self-metrics counters, partial-success rejections included.
pub fn export_metrics(exporter: &OtlpClient, dict: &Bound<'_, PyDict>) -> PyResult<()> {
    fill_snapshot(&exporter.self_metrics, dict)?;
    if let Some(spool) = exporter.spool_stats() {
        fill_spool_stats(Some(spool), dict)?;
    }
    dict.set_item("rejected", exporter.rejected.load(Ordering::Relaxed))
}

/// `stats()`'s spool counters (all 0 without a spool): items spooled, replayed and
/// dropped from the spool, corrupt files, and the directory's size.
pub fn fill_spool_stats(stats: Option<&SpoolStats>, dict: &Bound<'_, PyDict>) -> PyResult<()> {
    let read = |counter: fn(&SpoolStats) -> &AtomicU64| {
        stats.map_or(0, |stats| counter(stats).load(Ordering::Relaxed))
    };
    dict.set_item("spooled", read(|stats| &stats.spooled))?;
    dict.set_item("replayed", read(|stats| &stats.replayed))?;
    dict.set_item("spool_dropped", read(|stats| &stats.dropped))?;
    dict.set_item("spool_corrupt", read(|stats| &stats.corrupt))?;
    dict.set_item("spool_bytes", read(|stats| &stats.bytes))
}

/// Fills `dict` with an exporter's self-metrics counters (see `docs/OPERATIONS.md`).
pub fn fill_snapshot(metrics: &ExportMetrics, dict: &Bound<'_, PyDict>) -> PyResult<()> {
    let snapshot = metrics.snapshot();
    dict.set_item("inflight", snapshot.inflight)?;
    dict.set_item("delivered", snapshot.delivered)?;
    dict.set_item("failed", snapshot.failed)?;
    dict.set_item("retries", snapshot.retries)?;
    dict.set_item("uncompressed_bytes", snapshot.uncompressed_bytes)?;
    dict.set_item("sent_bytes", snapshot.sent_bytes)?;
    dict.set_item("durations_lost", snapshot.durations_lost)
}
