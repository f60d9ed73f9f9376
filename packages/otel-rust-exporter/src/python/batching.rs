//! What every batching processor core shares: its pipeline (rebuilt after a fork), flush,
//! shutdown and counters.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::finalizing;
use crate::config::{BatchConfig, BatchOverrides, ProcessEnv};
use crate::pipeline::{BatchExport, Pipeline};
use crate::runtime::{self, PerProcess};

const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

pub fn millis(value: Option<f64>) -> Option<Duration> {
    value
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| Duration::from_secs_f64(v / 1000.0))
}

/// The processor's constructor arguments over the `{prefix}_*` variables (`OTEL_BSP`,
/// `OTEL_BLRP`).
pub fn batch_config(
    prefix: &'static str,
    max_queue_size: Option<usize>,
    schedule_delay_millis: Option<f64>,
    max_export_batch_size: Option<usize>,
    export_timeout_millis: Option<f64>,
) -> BatchConfig {
    BatchConfig::resolve(
        prefix,
        BatchOverrides {
            max_queue_size,
            schedule_delay: millis(schedule_delay_millis),
            max_export_batch_size,
            export_timeout: millis(export_timeout_millis),
        },
        &ProcessEnv,
    )
}

type Start<E> = Box<dyn Fn() -> Arc<Pipeline<E>> + Send + Sync>;

pub struct Batching<E: BatchExport> {
    pipeline: PerProcess<Pipeline<E>>,
    start: Start<E>,
    capacity: usize,
}

impl<E: BatchExport> Batching<E> {
    /// `make_exporter` runs now and again in a forked child.
    pub fn start(
        item_name: &'static str,
        config: BatchConfig,
        make_exporter: impl Fn() -> E + Send + Sync + 'static,
    ) -> Self {
        let capacity = config.max_queue_size;
        let start: Start<E> = Box::new(move || {
            Pipeline::start(
                item_name,
                config,
                Arc::new(make_exporter()),
                &runtime::handle(),
            )
        });
        Self {
            pipeline: PerProcess::new(start()),
            start,
            capacity,
        }
    }

    pub fn pipeline(&self) -> Arc<Pipeline<E>> {
        self.pipeline.get(&self.start)
    }

    /// After shutdown nothing new can arrive, so the answer is known without waiting (or
    /// releasing the GIL, which a flush from a thread at interpreter exit must not do).
    pub fn force_flush(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        let pipeline = self.pipeline();
        if pipeline.is_shut_down() {
            return pipeline.force_flush(Duration::ZERO);
        }
        let timeout = millis(timeout_millis).unwrap_or(DEFAULT_FLUSH_TIMEOUT);
        finalizing::detach(py, || pipeline.force_flush(timeout))
    }

    pub fn shutdown(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        let pipeline = self.pipeline();
        if pipeline.is_shut_down() {
            return true;
        }
        let timeout = millis(timeout_millis).unwrap_or(DEFAULT_FLUSH_TIMEOUT);
        finalizing::detach(py, || pipeline.shutdown(timeout))
    }

    /// Counters since start (or since the fork that made this process); `rejected` reads
    /// what the receiver refused from the exporter.
    pub fn stats<'py>(
        &self,
        py: Python<'py>,
        rejected: impl Fn(&E) -> u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let pipeline = self.pipeline();
        let stats = &pipeline.stats;
        let dict = PyDict::new(py);
        dict.set_item("queued", pipeline.queued())?;
        dict.set_item("accepted", stats.accepted.load(Ordering::Relaxed))?;
        dict.set_item("dropped", stats.dropped.load(Ordering::Relaxed))?;
        dict.set_item("exported", stats.exported.load(Ordering::Relaxed))?;
        dict.set_item("failed", stats.failed.load(Ordering::Relaxed))?;
        dict.set_item("rejected", rejected(pipeline.exporter()))?;
        Ok(dict)
    }

    /// The self-metrics counters: the processor's, with its exporter's under `exporter`
    /// (filled in by `exporter_metrics`).
    pub fn self_metrics<'py>(
        &self,
        py: Python<'py>,
        exporter_metrics: impl Fn(&E, &Bound<'py, PyDict>) -> PyResult<()>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let pipeline = self.pipeline();
        let stats = &pipeline.stats;
        let dict = PyDict::new(py);
        dict.set_item("queue_size", pipeline.queued())?;
        dict.set_item("queue_capacity", self.capacity)?;
        let finished =
            stats.exported.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed);
        dict.set_item("processed", finished)?;
        dict.set_item("dropped", stats.drop_reasons.snapshot(py)?)?;
        let exporter = PyDict::new(py);
        exporter_metrics(pipeline.exporter(), &exporter)?;
        dict.set_item("exporter", exporter)?;
        Ok(dict)
    }
}
