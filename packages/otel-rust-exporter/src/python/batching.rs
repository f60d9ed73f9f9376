//! What every batching processor core shares: its pipeline (rebuilt after a fork), flush,
//! shutdown and counters.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::finalizing;
use crate::config::{duration_setting, BatchConfig, BatchOverrides, ProcessEnv, MAX_DURATION};
use crate::pipeline::{BatchExport, DropReason, Pipeline};
use crate::runtime::{self, PerProcess};

const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// A constructor argument in milliseconds, clamped (with a warning naming it).
pub fn millis_argument(name: &str, value: Option<f64>) -> Option<Duration> {
    value.and_then(|millis| duration_setting(name, millis / 1000.0))
}

/// A call's timeout in milliseconds (`force_flush`, `shutdown`, `export`), or `default`:
/// a caller asking for "forever" gets the longest we wait, without a warning.
pub fn call_timeout(value: Option<f64>, default: Duration) -> Duration {
    match value {
        Some(millis) if millis >= 0.0 => Duration::try_from_secs_f64(millis / 1000.0)
            .unwrap_or(MAX_DURATION)
            .min(MAX_DURATION),
        _ => default,
    }
}

/// A batching processor's arguments, given once (milliseconds, as Python passes them);
/// `None` leaves the setting to the `{prefix}_*` variables (`OTEL_BSP`, `OTEL_BLRP`).
#[pyclass(frozen, module = "otel_rust_exporter._native")]
#[derive(Clone, Default)]
pub struct BatchOptions {
    pub given: BatchOverrides,
}

#[pymethods]
impl BatchOptions {
    #[new]
    #[pyo3(signature = (*, max_queue_size=None, max_queue_bytes=None, schedule_delay_millis=None,
        max_export_batch_size=None, export_timeout_millis=None))]
    fn new(
        max_queue_size: Option<usize>,
        max_queue_bytes: Option<usize>,
        schedule_delay_millis: Option<f64>,
        max_export_batch_size: Option<usize>,
        export_timeout_millis: Option<f64>,
    ) -> Self {
        Self {
            given: BatchOverrides {
                max_queue_size,
                max_queue_bytes,
                schedule_delay: millis_argument("schedule_delay_millis", schedule_delay_millis),
                max_export_batch_size,
                export_timeout: millis_argument("export_timeout_millis", export_timeout_millis),
            },
        }
    }

    fn __repr__(&self) -> String {
        format!("BatchOptions({:?})", self.given)
    }
}

impl BatchOptions {
    /// The batching of a processor made with `options` (or none: from an exporter).
    pub fn resolve(options: Option<&Self>, prefix: &'static str) -> BatchConfig {
        let given = options
            .map(|options| options.given.clone())
            .unwrap_or_default();
        BatchConfig::resolve(prefix, given, &ProcessEnv)
    }
}

type Start<E> = Box<dyn Fn() -> Arc<Pipeline<E>> + Send + Sync>;

use super::exporting::fill_spool_stats;

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
        make_exporter: impl Fn() -> Arc<E> + Send + Sync + 'static,
    ) -> Self {
        let capacity = config.max_queue_size;
        let start: Start<E> = Box::new(move || {
            Pipeline::start(item_name, config, make_exporter(), &runtime::handle())
        });
        Self {
            pipeline: PerProcess::with(start()),
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
        let timeout = call_timeout(timeout_millis, DEFAULT_FLUSH_TIMEOUT);
        finalizing::detach(py, || pipeline.force_flush(timeout))
    }

    pub fn shutdown(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        let pipeline = self.pipeline();
        if pipeline.is_shut_down() {
            return true;
        }
        let timeout = call_timeout(timeout_millis, DEFAULT_FLUSH_TIMEOUT);
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
        fill_spool_stats(pipeline.exporter().spool_stats(), &dict)?;
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
        let dropped = PyDict::new(py);
        for reason in DropReason::ALL {
            dropped.set_item(reason.name(), stats.dropped_for(reason))?;
        }
        dict.set_item("dropped", dropped)?;
        let exporter = PyDict::new(py);
        exporter_metrics(pipeline.exporter(), &exporter)?;
        dict.set_item("exporter", exporter)?;
        Ok(dict)
    }
}
