//! What `python -m otel_rust_exporter check` asks the native side: each signal's resolved
//! configuration with where each value came from (secrets masked), and one real export of
//! an empty request. A sink's own part (`sls_exporter::python::check`) reports through
//! `outcome` and bounds its probe with `probe_timeout`.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::finalizing::detach;
use super::options::{otlp_env, OtlpOptions};
use crate::config::{
    BatchConfig, BatchOverrides, Compression, OtlpConfig, ProcessEnv, Protocol, Signal, Source,
};
use crate::otlp::OtlpClient;
use crate::pipeline::Outcome;
use crate::runtime;
use crate::self_metrics::ExportMetrics;

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(resolve_otlp, module)?)?;
    module.add_function(wrap_pyfunction!(resolve_batch, module)?)?;
    module.add_function(wrap_pyfunction!(probe_otlp, module)?)
}

fn signal(name: &str) -> PyResult<Signal> {
    match name {
        "traces" => Ok(Signal::Traces),
        "logs" => Ok(Signal::Logs),
        "metrics" => Ok(Signal::Metrics),
        _ => Err(PyValueError::new_err(format!("unknown signal {name:?}"))),
    }
}

fn source_name(source: &Source) -> String {
    match source {
        Source::Argument => "argument".to_owned(),
        Source::Variable(name) => name.clone(),
        Source::Default => "default".to_owned(),
    }
}

/// The signal's OTLP configuration as the exporters resolve it: values (header values
/// masked), `tls`, and `sources` naming where each came from (`argument`, a variable, or
/// `default`).
#[pyfunction]
fn resolve_otlp<'py>(
    py: Python<'py>,
    signal_name: &str,
    options: &OtlpOptions,
) -> PyResult<Bound<'py, PyDict>> {
    let signal = signal(signal_name)?;
    let (config, sources) =
        OtlpConfig::resolve_explained(signal, options.given.clone(), &*otlp_env(signal));
    let dict = PyDict::new(py);
    dict.set_item("protocol", config.protocol.name())?;
    dict.set_item("endpoint", config.display_endpoint())?;
    dict.set_item(
        "endpoint_problem",
        crate::transport::endpoint_problem(&config),
    )?;
    let masked: Vec<(String, &str)> = config
        .headers
        .iter()
        .map(|(name, _)| (name.clone(), "***"))
        .collect();
    dict.set_item("headers", masked)?;
    dict.set_item("timeout", config.timeout.as_secs_f64())?;
    let compression = match config.compression {
        Compression::Gzip => "gzip",
        Compression::None => "none",
    };
    dict.set_item("compression", compression)?;
    let path = |path: &Option<std::path::PathBuf>| path.as_ref().map(|p| p.display().to_string());
    dict.set_item("certificate_file", path(&config.certificate_file))?;
    dict.set_item("client_key_file", path(&config.client_key_file))?;
    dict.set_item(
        "client_certificate_file",
        path(&config.client_certificate_file),
    )?;
    dict.set_item("insecure", config.insecure)?;
    let tls = match config.protocol {
        Protocol::Grpc => config.grpc_uses_tls(),
        Protocol::HttpProtobuf => config.endpoint.starts_with("https://"),
    };
    dict.set_item("tls", tls)?;
    let spool = config.spool.as_ref();
    dict.set_item(
        "spool_dir",
        spool.map(|spool| spool.dir.display().to_string()),
    )?;
    dict.set_item("spool_max_bytes", spool.map(|spool| spool.max_bytes))?;
    let named = PyDict::new(py);
    for (field, source) in &sources {
        named.set_item(field, source_name(source))?;
    }
    dict.set_item("sources", named)?;
    Ok(dict)
}

/// The batching settings of the signal's processor (`OTEL_BSP_*` for traces,
/// `OTEL_BLRP_*` for logs) as it resolves them, durations in seconds, with `sources`.
#[pyfunction]
fn resolve_batch<'py>(py: Python<'py>, signal_name: &str) -> PyResult<Bound<'py, PyDict>> {
    let prefix = match signal(signal_name)? {
        Signal::Traces => "OTEL_BSP",
        Signal::Logs => "OTEL_BLRP",
        Signal::Metrics => return Err(PyValueError::new_err("metrics are not batched")),
    };
    let (config, sources) =
        BatchConfig::resolve_explained(prefix, BatchOverrides::default(), &ProcessEnv);
    let dict = PyDict::new(py);
    dict.set_item("max_queue_size", config.max_queue_size)?;
    dict.set_item("max_queue_bytes", config.max_queue_bytes)?;
    dict.set_item("max_backlog_bytes", config.max_backlog_bytes)?;
    dict.set_item("schedule_delay", config.schedule_delay.as_secs_f64())?;
    dict.set_item("max_export_batch_size", config.max_export_batch_size)?;
    dict.set_item("export_timeout", config.export_timeout.as_secs_f64())?;
    dict.set_item("max_concurrent_exports", config.max_concurrent_exports)?;
    let named = PyDict::new(py);
    for (field, source) in &sources {
        named.set_item(field, source_name(source))?;
    }
    dict.set_item("sources", named)?;
    Ok(dict)
}

/// `{"delivered", "error_type", "message"}` of one export.
pub fn outcome<'py>(
    py: Python<'py>,
    delivered: bool,
    metrics: &ExportMetrics,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("delivered", delivered)?;
    let failure = (!delivered).then(|| metrics.last_failure()).flatten();
    let (error_type, message) = failure.unzip();
    dict.set_item("error_type", error_type)?;
    dict.set_item("message", message)?;
    Ok(dict)
}

/// Exports one empty request of the signal (OTLP receivers accept it), retrying within
/// `timeout` seconds as an export would; waits without the GIL.
#[pyfunction]
fn probe_otlp<'py>(
    py: Python<'py>,
    signal_name: &str,
    options: &OtlpOptions,
    timeout: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let signal = signal(signal_name)?;
    let mut config = OtlpConfig::resolve(signal, options.given.clone(), &*otlp_env(signal));
    // A probe is not telemetry: it never goes to (or replays) the spool.
    config.spool = None;
    let handle = runtime::handle();
    let timeout = probe_timeout(timeout);
    let exporter = OtlpClient::start(&config, signal, timeout, &handle);
    let sender = exporter.clone();
    let delivered = detach(py, move || {
        handle.block_on(async move {
            match signal {
                Signal::Traces => {
                    sender
                        .send::<ExportTraceServiceResponse>(Vec::new(), 0)
                        .await
                }
                Signal::Logs => {
                    sender
                        .send::<ExportLogsServiceResponse>(Vec::new(), 0)
                        .await
                }
                Signal::Metrics => {
                    sender
                        .send::<ExportMetricsServiceResponse>(Vec::new(), 0)
                        .await
                }
            }
        }) == Outcome::Delivered
    });
    outcome(py, delivered, &exporter.self_metrics)
}

/// A probe's timeout in seconds, within 0.1 s to 5 min; 10 s when it is not a number.
pub fn probe_timeout(seconds: f64) -> Duration {
    if seconds.is_nan() {
        return Duration::from_secs(10);
    }
    Duration::from_secs_f64(seconds.clamp(0.1, 300.0))
}
