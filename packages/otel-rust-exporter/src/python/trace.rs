//! `SpanProcessorCore` (behind `RustSpanProcessor`) and `SpanExporterCore` (behind
//! `RustOTLPSpanExporter`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};

use super::batching::{BatchArguments, Batching};
use super::exporting::{export_metrics, start_pipeline, SyncExport};
use super::guard::guarded;
use super::options::{otlp_env, OtlpOptions};
use crate::config::{OtlpConfig, Signal};
use crate::otlp::BatchExporter;
use crate::read::scope::ScopeCache;
use crate::read::span::read_span;
use crate::records::{QueuedSpan, ScopeGroup};

type TraceExporter = BatchExporter<QueuedSpan>;

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct SpanProcessorCore {
    otlp: OtlpConfig,
    scopes: ScopeCache,
    /// Shared with the bridge's span sinks.
    batching: Arc<Batching<TraceExporter>>,
}

impl SpanProcessorCore {
    pub(super) fn scope_group(
        &self,
        resource: &Bound<'_, PyAny>,
        scope: &Bound<'_, PyAny>,
    ) -> PyResult<Arc<ScopeGroup>> {
        self.scopes.group(resource, scope)
    }
}

#[pymethods]
impl SpanProcessorCore {
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
        let otlp = OtlpConfig::resolve(
            Signal::Traces,
            options.given.clone(),
            &otlp_env(Signal::Traces),
        );
        let batch = BatchArguments {
            max_queue_size,
            max_queue_bytes,
            schedule_delay_millis,
            max_export_batch_size,
            export_timeout_millis,
        }
        .resolve("OTEL_BSP");
        let batching = Arc::new(start_pipeline(Signal::Traces, &otlp, batch, "span"));
        Self {
            otlp,
            scopes: ScopeCache::default(),
            batching,
        }
    }

    /// Copies the finished span into the queue; never raises.
    fn on_end(&self, span: &Bound<'_, PyAny>) {
        guarded("on_end", (), || {
            let pipeline = self.batching.pipeline();
            match read_span(span, &self.scopes, true) {
                Ok(Some(item)) => {
                    pipeline.push(item);
                }
                Ok(None) => {}
                Err(error) => {
                    pipeline.count_unreadable(&format!("the span could not be read ({error})"))
                }
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

    /// A capsule through which `otel_rust_bridge` in other extension modules queues Rust
    /// spans with this resource and scope, without the GIL (see `bridge.rs`).
    fn span_sink<'py>(
        slf: &Bound<'py, Self>,
        resource: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyAny>,
    ) -> Option<Bound<'py, PyCapsule>> {
        guarded("span_sink", None, || {
            let core = slf.get();
            let group = core.scope_group(resource, scope)?;
            super::bridge::span_sink(slf.py(), core.batching.clone(), group).map(Some)
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
pub struct SpanExporterCore(SyncExport);

#[pymethods]
impl SpanExporterCore {
    #[new]
    fn new(options: &OtlpOptions) -> Self {
        Self(SyncExport::new(Signal::Traces, options))
    }

    /// Exports the spans and waits for the result (without the GIL). `True` on delivery.
    fn export(&self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> bool {
        guarded("export", false, || {
            self.0
                .export_items(py, batch, |item, scopes| read_span(item, scopes, false))
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
