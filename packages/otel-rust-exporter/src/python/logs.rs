//! `LogRecordProcessorCore` (behind `RustLogRecordProcessor`) and `LogExporterCore` (behind
//! `RustOTLPLogExporter`).

use std::sync::atomic::Ordering;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::batching::{BatchArguments, Batching};
use super::exporting::{export_metrics, start_pipeline, SyncExport};
use super::guard::guarded;
use super::options::{otlp_env, OtlpOptions};
use crate::config::{OtlpConfig, Signal};
use crate::otlp::BatchExporter;
use crate::read::log_record::read_log_record;
use crate::read::scope::ScopeCache;
use crate::records::QueuedLogRecord;

type LogExporter = BatchExporter<QueuedLogRecord>;

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct LogRecordProcessorCore {
    otlp: OtlpConfig,
    scopes: ScopeCache,
    batching: Batching<LogExporter>,
}

#[pymethods]
impl LogRecordProcessorCore {
    #[new]
    #[pyo3(signature = (options, *, max_queue_size=None, max_queue_bytes=None,
        schedule_delay_millis=None, max_export_batch_size=None, export_timeout_millis=None))]
    fn new(
        options: &OtlpOptions,
        max_queue_size: Option<usize>,
        max_queue_bytes: Option<usize>,
        schedule_delay_millis: Option<f64>,
        max_export_batch_size: Option<usize>,
        export_timeout_millis: Option<f64>,
    ) -> Self {
        let otlp =
            OtlpConfig::resolve(Signal::Logs, options.given.clone(), &otlp_env(Signal::Logs));
        let batch = BatchArguments {
            max_queue_size,
            max_queue_bytes,
            schedule_delay_millis,
            max_export_batch_size,
            export_timeout_millis,
        }
        .resolve("OTEL_BLRP");
        let batching = start_pipeline(Signal::Logs, &otlp, batch, "log record");
        Self {
            otlp,
            scopes: ScopeCache::default(),
            batching,
        }
    }

    /// Copies the emitted record into the queue; never raises.
    fn on_emit(&self, log_record: &Bound<'_, PyAny>) {
        guarded("on_emit", (), || {
            let pipeline = self.batching.pipeline();
            match read_log_record(log_record, &self.scopes) {
                Ok(Some(item)) => {
                    pipeline.push(item);
                }
                Ok(None) => {}
                Err(error) => pipeline
                    .count_unreadable(&format!("the log record could not be read ({error})")),
            }
            Ok(())
        })
    }

    #[pyo3(signature = (timeout_millis=None))]
    fn force_flush(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        guarded("force_flush", false, || {
            Ok(self.batching.force_flush(py, timeout_millis))
        })
    }

    #[pyo3(signature = (timeout_millis=None))]
    fn shutdown(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        guarded("shutdown", false, || {
            Ok(self.batching.shutdown(py, timeout_millis))
        })
    }

    /// Counters since start (or since the fork that made this process).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.batching.stats(py, |exporter| {
            exporter.otlp.rejected.load(Ordering::Relaxed)
        })
    }

    /// Counters for the self-metrics (read at collection time).
    fn self_metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.batching
            .self_metrics(py, |exporter, dict| export_metrics(&exporter.otlp, dict))
    }

    /// Export durations (seconds, `error.type`) since the last call.
    fn take_export_durations(&self) -> Vec<(f64, Option<String>)> {
        self.batching
            .pipeline()
            .exporter()
            .otlp
            .self_metrics
            .take_durations()
    }

    /// The resolved endpoint and protocol, for diagnostics (never headers).
    #[getter]
    fn endpoint(&self) -> String {
        self.otlp.display_endpoint()
    }

    #[getter]
    fn protocol(&self) -> &'static str {
        self.otlp.protocol.name()
    }
}

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct LogExporterCore(SyncExport);

#[pymethods]
impl LogExporterCore {
    #[new]
    fn new(options: &OtlpOptions) -> Self {
        Self(SyncExport::new(Signal::Logs, options))
    }

    /// Exports the records and waits for the result (without the GIL). `True` on delivery.
    fn export(&self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> bool {
        guarded("export", false, || {
            self.0.export_items(py, batch, read_log_record)
        })
    }

    /// Only this exporter stops: the runtime and the other signals keep running.
    fn shutdown(&self) {
        self.0.shutdown();
    }

    /// Counters for the self-metrics (read at collection time).
    fn self_metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        export_metrics(&self.0.exporter(), &dict)?;
        Ok(dict)
    }

    /// Export durations (seconds, `error.type`) since the last call.
    fn take_export_durations(&self) -> Vec<(f64, Option<String>)> {
        self.0.exporter().self_metrics.take_durations()
    }

    /// The resolved endpoint and protocol, for diagnostics (never headers).
    #[getter]
    fn endpoint(&self) -> String {
        self.0.otlp.display_endpoint()
    }

    #[getter]
    fn protocol(&self) -> &'static str {
        self.0.otlp.protocol.name()
    }
}
