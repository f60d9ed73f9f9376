//! `SpanProcessorCore` (behind `RustSpanProcessor`) and `SpanExporterCore` (behind
//! `RustOTLPSpanExporter`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::batching::{batch_config, Batching};
use super::guard::{detach, guarded};
use super::options::OtlpOptions;
use crate::config::{OtlpConfig, ProcessEnv, Signal};
use crate::convert::scope::ScopeCache;
use crate::convert::span::{convert, QueuedSpan};
use crate::otlp::{BatchExporter, OtlpExporter};
use crate::runtime::{self, PerProcess};

type TraceExporter = BatchExporter<QueuedSpan>;

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct SpanProcessorCore {
    otlp: OtlpConfig,
    scopes: ScopeCache,
    batching: Batching<TraceExporter>,
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
        let batch = batch_config(
            "OTEL_BSP",
            max_queue_size,
            schedule_delay_millis,
            max_export_batch_size,
            export_timeout_millis,
        );
        let timeout = otlp.timeout.min(batch.export_timeout);
        let config = otlp.clone();
        let batching = Batching::start("span", batch, move || {
            BatchExporter::new(OtlpExporter::new(
                &config,
                Signal::Traces,
                timeout,
                &runtime::handle(),
            ))
        });
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
pub struct SpanExporterCore {
    otlp: OtlpConfig,
    scopes: ScopeCache,
    exporter: PerProcess<TraceExporter>,
    shut_down: AtomicBool,
}

impl SpanExporterCore {
    fn start(otlp: &OtlpConfig) -> Arc<TraceExporter> {
        Arc::new(BatchExporter::new(OtlpExporter::new(
            otlp,
            Signal::Traces,
            otlp.timeout,
            &runtime::handle(),
        )))
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
            Ok(detach(py, || handle.block_on(exporter.export_batch(batch))))
        })
    }

    fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Relaxed);
    }
}
