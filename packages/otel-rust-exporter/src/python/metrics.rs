//! `MetricExporterCore`, behind `RustOTLPMetricExporter`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyType;

use super::guard::guarded;
use super::options::OtlpOptions;
use crate::config::{OtlpConfig, ProcessEnv, Signal};
use crate::convert::metrics::{export_request, MetricKinds};
use crate::convert::scope::ScopeCache;
use crate::metrics::export;
use crate::otlp::OtlpExporter;
use crate::runtime::{self, PerProcess};

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct MetricExporterCore {
    otlp: OtlpConfig,
    kinds: MetricKinds,
    /// Data points per request; `None` sends each export as one request.
    max_export_batch_size: Option<usize>,
    scopes: ScopeCache,
    sender: PerProcess<OtlpExporter>,
    shut_down: AtomicBool,
}

impl MetricExporterCore {
    fn start(otlp: &OtlpConfig) -> Arc<OtlpExporter> {
        Arc::new(OtlpExporter::new(
            otlp,
            Signal::Metrics,
            otlp.timeout,
            &runtime::handle(),
        ))
    }
}

#[pymethods]
impl MetricExporterCore {
    /// `data_types`: the SDK's `Sum`, `Gauge`, `Histogram` and `ExponentialHistogram`.
    #[new]
    #[pyo3(signature = (options, *, data_types, max_export_batch_size=None))]
    fn new(
        options: &OtlpOptions,
        data_types: (Py<PyType>, Py<PyType>, Py<PyType>, Py<PyType>),
        max_export_batch_size: Option<usize>,
    ) -> Self {
        let otlp = OtlpConfig::resolve(Signal::Metrics, options.given.clone(), &ProcessEnv);
        let sender = PerProcess::new(Self::start(&otlp));
        let (sum, gauge, histogram, exponential_histogram) = data_types;
        Self {
            otlp,
            kinds: MetricKinds {
                sum,
                gauge,
                histogram,
                exponential_histogram,
            },
            // The stock exporters treat 0 as "no limit" too.
            max_export_batch_size: max_export_batch_size.filter(|size| *size > 0),
            scopes: ScopeCache::default(),
            sender,
            shut_down: AtomicBool::new(false),
        }
    }

    /// Reads the `MetricsData` (with the GIL), then encodes and sends it without the GIL
    /// and waits for the result. `True` when every request was delivered.
    fn export(&self, py: Python<'_>, metrics_data: &Bound<'_, PyAny>) -> bool {
        guarded("export", false, || {
            if self.shut_down.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let request = export_request(metrics_data, &self.kinds, &self.scopes)?;
            let sender = self.sender.get(|| Self::start(&self.otlp));
            let handle = runtime::handle();
            let max_points = self.max_export_batch_size;
            Ok(py.detach(|| handle.block_on(export(&sender, request, max_points))))
        })
    }

    /// Only this exporter stops: the runtime and the other signals keep running.
    fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Relaxed);
    }

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
