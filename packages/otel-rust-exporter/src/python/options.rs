//! `OtlpOptions`: the OTLP exporter arguments of every Python class, given once.

use std::sync::OnceLock;

use pyo3::prelude::*;

use crate::config::{duration_setting, Env, OtlpOverrides, ProcessEnv, Signal, SpoolOverrides};

/// What the application passed to a constructor; `None` leaves the setting to `OTEL_*`.
#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct OtlpOptions {
    pub given: OtlpOverrides,
}

#[pymethods]
impl OtlpOptions {
    #[new]
    #[pyo3(signature = (*, endpoint=None, headers=None, timeout=None, compression=None, protocol=None,
        certificate_file=None, client_key_file=None, client_certificate_file=None, insecure=None,
        spool_dir=None, spool_max_bytes=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        endpoint: Option<String>,
        headers: Option<Vec<(String, String)>>,
        timeout: Option<f64>,
        compression: Option<String>,
        protocol: Option<String>,
        certificate_file: Option<String>,
        client_key_file: Option<String>,
        client_certificate_file: Option<String>,
        insecure: Option<bool>,
        spool_dir: Option<String>,
        spool_max_bytes: Option<u64>,
    ) -> Self {
        let headers = headers.map(|pairs| {
            pairs
                .into_iter()
                .map(|(key, value)| (key.to_ascii_lowercase(), value))
                .collect()
        });
        // Seconds, as the stock exporters' `timeout` argument.
        let timeout = timeout.and_then(|seconds| duration_setting("timeout", seconds));
        Self {
            given: OtlpOverrides {
                protocol,
                endpoint,
                headers,
                timeout,
                compression,
                certificate_file,
                client_key_file,
                client_certificate_file,
                insecure,
                spool: SpoolOverrides {
                    dir: spool_dir,
                    max_bytes: spool_max_bytes,
                },
            },
        }
    }

    /// As given (`None`: from the environment); no secret.
    #[getter]
    fn protocol(&self) -> Option<String> {
        self.given.protocol.clone()
    }

    /// Never shows headers or the endpoint (either may hold credentials).
    fn __repr__(&self) -> String {
        "OtlpOptions(...)".to_owned()
    }
}

/// An environment for the OTLP exporters of a signal, made from the process's: a vendor's
/// preset layered beneath it, say.
pub type EnvLayer = fn(Signal, &'static ProcessEnv) -> Box<dyn Env>;

static OTLP_ENV_LAYER: OnceLock<EnvLayer> = OnceLock::new();

/// Set once, by the module, before any class is made.
pub fn set_otlp_env_layer(layer: EnvLayer) {
    let _ = OTLP_ENV_LAYER.set(layer);
}

/// The environment as the OTLP exporters of `signal` read it.
pub fn otlp_env(signal: Signal) -> Box<dyn Env> {
    match OTLP_ENV_LAYER.get() {
        Some(layer) => layer(signal, &ProcessEnv),
        None => Box::new(ProcessEnv),
    }
}
