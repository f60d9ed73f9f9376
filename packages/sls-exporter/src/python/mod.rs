//! The SLS classes of `otel_rust_exporter._native` (behind `otel_sls_exporter`'s
//! `SLSLogRecordProcessor` and `SLSLogExporter`), built on the OTLP extension's bindings.
//!
//! Missing or invalid configuration is reported once, naming the variable; the core is
//! then disabled and every call is a cheap no-op, so the application runs on.

mod check;
mod classes;

use pyo3::prelude::*;

use crate::config::{Scheme, SlsConfig, SlsOverrides};
use crate::request::Target;
use otel_rust_exporter::config::{ProcessEnv, SpoolConfig, SpoolOverrides};
use otel_rust_exporter::diagnostics;

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<SlsOptions>()?;
    module.add_class::<classes::SlsLogRecordProcessorCore>()?;
    module.add_class::<classes::SlsLogExporterCore>()?;
    check::register(module)
}

/// The SLS arguments of a Python constructor, given once.
#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct SlsOptions {
    pub given: SlsOverrides,
    spool: SpoolOverrides,
}

#[pymethods]
impl SlsOptions {
    #[new]
    #[pyo3(signature = (*, endpoint=None, project=None, logstore=None, topic=None, source=None,
        hash_key=None, signature_version=None, region=None, access_key_id=None,
        access_key_secret=None, security_token=None, timeout=None, spool_dir=None,
        spool_max_bytes=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        endpoint: Option<String>,
        project: Option<String>,
        logstore: Option<String>,
        topic: Option<String>,
        source: Option<String>,
        hash_key: Option<String>,
        signature_version: Option<String>,
        region: Option<String>,
        access_key_id: Option<String>,
        access_key_secret: Option<String>,
        security_token: Option<String>,
        timeout: Option<f64>,
        spool_dir: Option<String>,
        spool_max_bytes: Option<u64>,
    ) -> Self {
        Self {
            spool: SpoolOverrides {
                dir: spool_dir,
                max_bytes: spool_max_bytes,
            },
            given: SlsOverrides {
                endpoint,
                project,
                logstore,
                topic,
                source,
                hash_key,
                signature_version,
                region,
                access_key_id,
                access_key_secret,
                security_token,
                // Seconds, as the stock exporters' `timeout` argument; checked and clamped
                // when the configuration is resolved.
                timeout,
            },
        }
    }

    /// Never shows credentials.
    fn __repr__(&self) -> String {
        "SlsOptions(...)".to_owned()
    }
}

/// The configuration, or `None` after reporting why export is disabled.
pub(crate) fn resolve(options: &SlsOptions) -> Option<SlsConfig> {
    let mut warn = |line: String| diagnostics::warn(&line);
    match SlsConfig::resolve(options.given.clone(), &ProcessEnv, &mut warn) {
        Ok(config) => Some(config),
        Err(error) => {
            diagnostics::error(&error.to_string());
            None
        }
    }
}

/// The disk spool, if the arguments or `OTEL_RUST_EXPORTER_SPOOL_*` ask for one.
pub(crate) fn spool(options: &SlsOptions) -> Option<SpoolConfig> {
    SpoolConfig::resolve(options.spool.clone(), &ProcessEnv)
}

/// `(host, port)` the requests go to: the project's host name (or the IP as given), and
/// the endpoint's port, else the scheme's.
pub fn server(config: &SlsConfig) -> (String, u16) {
    let endpoint = &config.endpoint;
    let host = if endpoint.is_ip() {
        endpoint.host.clone()
    } else {
        Target::new(config).host
    };
    let port = endpoint.port.unwrap_or(match endpoint.scheme {
        Scheme::Https => 443,
        Scheme::Http => 80,
    });
    (host, port)
}
