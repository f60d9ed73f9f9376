//! `check`'s SLS part: the configuration as the exporter resolves it, and one probe.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{server, SlsOptions};
use crate::config::{self as sls_config, SlsConfig};
use crate::exporter::{describe, SlsExporter};
use crate::request::Target;
use otel_rust_exporter::config::ProcessEnv;
use otel_rust_exporter::python::finalizing::detach;
use otel_rust_exporter::python::operations::{outcome, probe_timeout};
use otel_rust_exporter::runtime;

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(resolve_sls, module)?)?;
    module.add_function(wrap_pyfunction!(probe_sls, module)?)
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
    let mut warnings = Vec::new();
    let (config, sources) =
        SlsConfig::resolve_explained(options.given.clone(), &ProcessEnv, &mut |line| {
            warnings.push(line)
        });
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
