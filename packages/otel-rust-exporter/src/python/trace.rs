//! `SpanProcessorCore` (behind `RustSpanProcessor`) and `SpanExporterCore` (behind
//! `RustOTLPSpanExporter`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};

use super::guard::guarded;
use super::options::OtlpOptions;
use crate::config::{BatchConfig, BatchOverrides, OtlpConfig, ProcessEnv, Signal};
use crate::convert::scope::{ScopeCache, ScopeGroup};
use crate::convert::span::convert;
use crate::pipeline::Pipeline;
use crate::runtime::{self, PerProcess};
use crate::trace::TraceExporter;

const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

fn millis(value: Option<f64>) -> Option<Duration> {
    value
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| Duration::from_secs_f64(v / 1000.0))
}

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct SpanProcessorCore {
    otlp: OtlpConfig,
    batch: BatchConfig,
    scopes: ScopeCache,
    pipeline: PerProcess<Pipeline<TraceExporter>>,
}

impl SpanProcessorCore {
    fn start(otlp: &OtlpConfig, batch: &BatchConfig) -> Arc<Pipeline<TraceExporter>> {
        let handle = runtime::handle();
        let timeout = otlp.timeout.min(batch.export_timeout);
        let exporter = Arc::new(TraceExporter::new(otlp, timeout, &handle));
        Pipeline::start("span", *batch, exporter, &handle)
    }

    pub(super) fn pipeline(&self) -> Arc<Pipeline<TraceExporter>> {
        self.pipeline.get(|| Self::start(&self.otlp, &self.batch))
    }

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
    #[pyo3(signature = (options, *, max_queue_size=None, schedule_delay_millis=None,
        max_export_batch_size=None, export_timeout_millis=None))]
    fn new(
        options: &OtlpOptions,
        max_queue_size: Option<usize>,
        schedule_delay_millis: Option<f64>,
        max_export_batch_size: Option<usize>,
        export_timeout_millis: Option<f64>,
    ) -> Self {
        let otlp = OtlpConfig::resolve(Signal::Traces, options.given.clone(), &ProcessEnv);
        let batch = BatchConfig::resolve(
            "OTEL_BSP",
            BatchOverrides {
                max_queue_size,
                schedule_delay: millis(schedule_delay_millis),
                max_export_batch_size,
                export_timeout: millis(export_timeout_millis),
            },
            &ProcessEnv,
        );
        let pipeline = PerProcess::new(Self::start(&otlp, &batch));
        Self {
            otlp,
            batch,
            scopes: ScopeCache::default(),
            pipeline,
        }
    }

    /// Copies the finished span into the queue; never raises.
    fn on_end(&self, span: &Bound<'_, PyAny>) {
        guarded("on_end", (), || {
            let pipeline = self.pipeline();
            match convert(span, &self.scopes, true) {
                Ok(Some(item)) => {
                    pipeline.push(item);
                }
                Ok(None) => {}
                Err(error) => pipeline.count_drop(&format!("the span could not be read ({error})")),
            }
            Ok(())
        })
    }

    #[pyo3(signature = (timeout_millis=None))]
    fn force_flush(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        guarded("force_flush", false, || {
            let pipeline = self.pipeline();
            let timeout = millis(timeout_millis).unwrap_or(DEFAULT_FLUSH_TIMEOUT);
            Ok(py.detach(|| pipeline.force_flush(timeout)))
        })
    }

    #[pyo3(signature = (timeout_millis=None))]
    fn shutdown(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        guarded("shutdown", false, || {
            let pipeline = self.pipeline();
            let timeout = millis(timeout_millis).unwrap_or(DEFAULT_FLUSH_TIMEOUT);
            Ok(py.detach(|| pipeline.shutdown(timeout)))
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
            super::bridge::span_sink(slf, resource, scope).map(Some)
        })
    }

    /// Counters since start (or since the fork that made this process).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let pipeline = self.pipeline();
        let stats = &pipeline.stats;
        let dict = PyDict::new(py);
        dict.set_item("queued", pipeline.queued())?;
        dict.set_item("accepted", stats.accepted.load(Ordering::Relaxed))?;
        dict.set_item("dropped", stats.dropped.load(Ordering::Relaxed))?;
        dict.set_item("exported", stats.exported.load(Ordering::Relaxed))?;
        dict.set_item("failed", stats.failed.load(Ordering::Relaxed))?;
        dict.set_item(
            "rejected",
            pipeline.exporter().rejected.load(Ordering::Relaxed),
        )?;
        Ok(dict)
    }

    /// The resolved endpoint and protocol, for diagnostics (never headers).
    #[getter]
    fn endpoint(&self) -> String {
        self.otlp.display_endpoint()
    }

    #[getter]
    fn protocol(&self) -> &'static str {
        match self.otlp.protocol {
            crate::config::Protocol::Grpc => "grpc",
            crate::config::Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct SpanExporterCore {
    otlp: OtlpConfig,
    scopes: ScopeCache,
    exporter: PerProcess<TraceExporter>,
    shut_down: AtomicBool,
}

impl SpanExporterCore {
    fn start(otlp: &OtlpConfig) -> Arc<TraceExporter> {
        Arc::new(TraceExporter::new(otlp, otlp.timeout, &runtime::handle()))
    }
}

#[pymethods]
impl SpanExporterCore {
    #[new]
    fn new(options: &OtlpOptions) -> Self {
        let otlp = OtlpConfig::resolve(Signal::Traces, options.given.clone(), &ProcessEnv);
        let exporter = PerProcess::new(Self::start(&otlp));
        Self {
            otlp,
            scopes: ScopeCache::default(),
            exporter,
            shut_down: AtomicBool::new(false),
        }
    }

    /// Exports the spans and waits for the result (without the GIL). `True` on delivery.
    fn export(&self, py: Python<'_>, spans: &Bound<'_, PyAny>) -> bool {
        guarded("export", false, || {
            if self.shut_down.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let mut batch = Vec::new();
            for span in spans.try_iter()? {
                if let Some(item) = convert(&span?, &self.scopes, false)? {
                    batch.push(item);
                }
            }
            if batch.is_empty() {
                return Ok(true);
            }
            let exporter = self.exporter.get(|| Self::start(&self.otlp));
            let handle = runtime::handle();
            Ok(py.detach(|| handle.block_on(exporter.export_spans(batch))))
        })
    }

    fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Relaxed);
    }
}
