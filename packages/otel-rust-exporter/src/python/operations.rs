//! What `python -m otel_rust_exporter check` asks the native side: each signal's resolved
//! configuration with where each value came from (secrets masked), and one real export of
//! an empty request.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sls_exporter::config::{self as sls_config, SlsConfig};
use sls_exporter::request::Target;

use super::finalizing::detach;
use super::options::{otlp_env, OtlpOptions};
use super::sls::{server, SlsOptions};
use crate::config::{
    BatchConfig, BatchOverrides, Compression, Env, OtlpConfig, ProcessEnv, Protocol, Signal, Source,
};
use crate::otlp::OtlpClient;
use crate::runtime;
use crate::self_metrics::ExportMetrics;
use sls_exporter::exporter::{describe, SlsExporter};

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(resolve_otlp, module)?)?;
    module.add_function(wrap_pyfunction!(resolve_batch, module)?)?;
    module.add_function(wrap_pyfunction!(probe_otlp, module)?)?;
    module.add_function(wrap_pyfunction!(resolve_sls, module)?)?;
    module.add_function(wrap_pyfunction!(probe_sls, module)?)
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
        OtlpConfig::resolve_explained(signal, options.given.clone(), &otlp_env(signal));
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
fn outcome<'py>(
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
    let config = OtlpConfig::resolve(signal, options.given.clone(), &otlp_env(signal));
    let handle = runtime::handle();
    let timeout = probe_timeout(timeout);
    let exporter = Arc::new(OtlpClient::new(&config, signal, timeout, &handle));
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
        })
    });
    outcome(py, delivered, &exporter.self_metrics)
}

/// The SLS configuration, where its values came from, and the warnings resolving it gave.
struct ResolvedSls {
    config: Result<SlsConfig, sls_config::ConfigError>,
    sources: Vec<(&'static str, sls_config::Source)>,
    warnings: Vec<String>,
}

/// The settings `resolve_sls` shows, with the variable each is read from.
const SLS_SETTINGS: [(&str, &str); 12] = [
    ("url", sls_config::ENDPOINT_VAR),
    ("project", sls_config::PROJECT_VAR),
    ("logstore", sls_config::LOGSTORE_VAR),
    ("topic", sls_config::TOPIC_VAR),
    ("source", sls_config::SOURCE_VAR),
    ("hash_key", sls_config::HASH_KEY_VAR),
    ("signature", sls_config::SIGNATURE_VERSION_VAR),
    ("region", sls_config::REGION_VAR),
    ("timeout", sls_config::TIMEOUT_VAR),
    ("access_key_id", sls_config::ACCESS_KEY_ID_VAR),
    ("access_key_secret", sls_config::ACCESS_KEY_SECRET_VAR),
    ("security_token", sls_config::SECURITY_TOKEN_VAR),
];

fn resolve_sls_config(options: &SlsOptions) -> ResolvedSls {
    let env = |name: &str| ProcessEnv.get(name);
    let mut warnings = Vec::new();
    let (config, sources) =
        SlsConfig::resolve_explained(options.given.clone(), &env, &mut |line| warnings.push(line));
    ResolvedSls {
        config,
        sources,
        warnings,
    }
}

/// The SLS configuration as the exporter resolves it, credentials masked: `error` when it
/// is incomplete or invalid, `sources` naming where each set value came from, by variable.
#[pyfunction]
fn resolve_sls<'py>(py: Python<'py>, options: &SlsOptions) -> PyResult<Bound<'py, PyDict>> {
    let ResolvedSls {
        config,
        sources,
        warnings,
    } = resolve_sls_config(options);
    let dict = PyDict::new(py);
    // By setting, as `check` shows them: the argument, the variable that set it, or the
    // default.
    let named = PyDict::new(py);
    for (setting, variable) in SLS_SETTINGS {
        let source = match sources.iter().find(|(set_by, _)| *set_by == variable) {
            Some((_, sls_config::Source::Argument)) => "argument",
            Some((_, sls_config::Source::Variable)) => variable,
            None => "default",
        };
        named.set_item(setting, source)?;
    }
    dict.set_item("sources", named)?;
    dict.set_item("warnings", warnings)?;
    match config {
        Err(error) => dict.set_item("error", error.to_string())?,
        Ok(config) => {
            dict.set_item("error", None::<String>)?;
            dict.set_item("description", describe(&config))?;
            dict.set_item("url", Target::new(&config).url)?;
            dict.set_item("server", server(&config))?;
            dict.set_item("project", &config.project)?;
            dict.set_item("logstore", &config.logstore)?;
            let signature = match &config.signature {
                sls_config::SignatureVersion::V1 => "v1".to_owned(),
                sls_config::SignatureVersion::V4 { region } => format!("v4 ({region})"),
            };
            dict.set_item("signature", signature)?;
            dict.set_item("timeout", config.timeout.as_secs_f64())?;
            dict.set_item(
                "security_token",
                config.credentials.security_token.is_some(),
            )?;
        }
    }
    Ok(dict)
}

/// One signed PutLogs request without logs (see `SlsExporter::probe`), within `timeout`
/// seconds; `None` when the configuration is incomplete.
#[pyfunction]
fn probe_sls<'py>(
    py: Python<'py>,
    options: &SlsOptions,
    timeout: f64,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Ok(mut config) = resolve_sls_config(options).config else {
        return Ok(None);
    };
    config.timeout = probe_timeout(timeout);
    let exporter = Arc::new(SlsExporter::new(config));
    let sender = exporter.clone();
    let handle = runtime::handle();
    let delivered = detach(py, move || {
        handle.block_on(async move { sender.probe().await })
    });
    outcome(py, delivered, &exporter.self_metrics).map(Some)
}

/// A probe's timeout in seconds, within 0.1 s to 5 min; 10 s when it is not a number.
fn probe_timeout(seconds: f64) -> Duration {
    if seconds.is_nan() {
        return Duration::from_secs(10);
    }
    Duration::from_secs_f64(seconds.clamp(0.1, 300.0))
}
