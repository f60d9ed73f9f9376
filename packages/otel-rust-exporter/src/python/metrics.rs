//! `MetricExporterCore`, behind `RustOTLPMetricExporter`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use super::batching::call_timeout;
use super::exporting::{export_metrics, fill_spool_stats, SyncExport};
use super::finalizing;
use super::guard::guarded;
use super::options::OtlpOptions;
use crate::config::Signal;
use crate::pipeline::Outcome;
use crate::read::metrics::{export_request, MetricKinds};
use crate::request::metrics::export;
use crate::retry::deadline_in;
use crate::runtime;
use crate::spool::Replay;

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct MetricExporterCore {
    sync: SyncExport,
    kinds: MetricKinds,
    /// Data points per request; `None` sends each export as one request.
    max_export_batch_size: Option<usize>,
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
        let (sum, gauge, histogram, exponential_histogram) = data_types;
        Self {
            sync: SyncExport::new(Signal::Metrics, options),
            kinds: MetricKinds {
                sum,
                gauge,
                histogram,
                exponential_histogram,
            },
            // The stock exporters treat 0 as "no limit" too.
            max_export_batch_size: max_export_batch_size.filter(|size| *size > 0),
        }
    }

    /// Reads the `MetricsData` (with the GIL), then encodes and sends it without the GIL
    /// and waits for the result, at most `timeout_millis` (the reader's export timeout)
    /// or the exporter's timeout, whichever is sooner. `True` when every request was
    /// delivered.
    #[pyo3(signature = (metrics_data, timeout_millis=None))]
    fn export(
        &self,
        py: Python<'_>,
        metrics_data: &Bound<'_, PyAny>,
        timeout_millis: Option<f64>,
    ) -> bool {
        guarded("export", false, || {
            let Some(sender) = self.sync.sender() else {
                return Ok(false);
            };
            let request = export_request(metrics_data, &self.kinds, &self.sync.scopes)?;
            let handle = runtime::handle();
            let max_points = self.max_export_batch_size;
            let timeout = call_timeout(timeout_millis, self.sync.otlp.timeout);
            Ok(finalizing::detach(py, || {
                handle.block_on(export(&sender, request, max_points, deadline_in(timeout)))
                    == Outcome::Delivered
            }))
        })
    }

    /// Only this exporter stops: the runtime and the other signals keep running.
    fn shutdown(&self, py: Python<'_>) {
        self.sync.shutdown(py);
    }

    /// The disk spool's counters (all 0 without a spool).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        fill_spool_stats(self.sync.exporter().spool_stats(), &dict)?;
        Ok(dict)
    }

    /// Counters for the self-metrics (read at collection time).
    fn self_metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        export_metrics(&self.sync.exporter(), &dict)?;
        Ok(dict)
    }

    /// Export durations (seconds, `error.type`) since the last call.
    fn take_export_durations(&self) -> Vec<(f64, Option<String>)> {
        self.sync.exporter().self_metrics.take_durations()
    }

    #[getter]
    fn endpoint(&self) -> String {
        self.sync.otlp.display_endpoint()
    }

    #[getter]
    fn protocol(&self) -> &'static str {
        self.sync.otlp.protocol.name()
    }
}
