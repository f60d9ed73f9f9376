//! The SLS OTLP preset: with `SLS_OTEL_INSTANCE_ID` set, every OTLP signal goes to the SLS
//! OTLP endpoint (`https://{project}.{region endpoint}:10010`, gRPC with TLS, gzip) with
//! the `x-sls-otel-*` headers SLS authenticates with.
//!
//! Variables (Alibaba's `SLS_OTEL_*` names, as in its OpenTelemetry providers):
//! - `SLS_OTEL_INSTANCE_ID` (turns the preset on) and `SLS_OTEL_PROJECT`
//!   (else `OTEL_EXPORTER_SLS_PROJECT`);
//! - `OTEL_EXPORTER_SLS_ENDPOINT`, the region endpoint, e.g. `cn-hangzhou.log.aliyuncs.com`;
//!   or per signal `SLS_OTEL_TRACE_ENDPOINT` / `SLS_OTEL_METRIC_ENDPOINT` /
//!   `SLS_OTEL_LOG_ENDPOINT` (`host:port`, TLS unless `SLS_OTEL_{..}_INSECURE=true`);
//! - `SLS_OTEL_ACCESS_KEY_ID` / `SLS_OTEL_ACCESS_KEY_SECRET` (else `ALIBABA_CLOUD_*`), and
//!   `ALIBABA_CLOUD_SECURITY_TOKEN` for STS (sent as `x-sls-otel-token`).
//!
//! The preset is a layer under the environment: any `OTEL_EXPORTER_OTLP_*` variable that is
//! set wins, and constructor arguments win over both. Its headers are added to the
//! `OTEL_EXPORTER_OTLP_[SIGNAL_]HEADERS` that are set, not replaced by them.

use std::sync::atomic::{AtomicBool, Ordering};

use otel_rust_core::config::{Env, ProcessEnv, Signal};
use otel_rust_core::diagnostics;

pub const INSTANCE_ID_VAR: &str = "SLS_OTEL_INSTANCE_ID";
pub const SLS_OTLP_PORT: u16 = 10010;

static MISSING_REPORTED: AtomicBool = AtomicBool::new(false);

/// The environment with the preset's values beneath it.
pub struct PresetEnv<'a> {
    env: &'a dyn Env,
    /// `OTEL_EXPORTER_OTLP_*` values the preset supplies when the environment does not.
    defaults: Vec<(String, String)>,
    /// `key=value,...`, already percent-encoded as the headers variables expect.
    headers: Option<String>,
}

impl Env for PresetEnv<'_> {
    fn get(&self, name: &str) -> Option<String> {
        let is_headers = name.starts_with("OTEL_EXPORTER_OTLP_") && name.ends_with("HEADERS");
        match (self.env.get(name), &self.headers) {
            (Some(value), Some(preset)) if is_headers => Some(format!("{preset},{value}")),
            (Some(value), _) => Some(value),
            (None, _) => self
                .defaults
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone()),
        }
    }
}

/// The process environment with the preset beneath it, for every OTLP exporter the
/// extension module makes.
pub fn layered_process(signal: Signal, env: &'static ProcessEnv) -> Box<dyn Env> {
    Box::new(layered(signal, env))
}

/// `env`, with the preset beneath it when `SLS_OTEL_INSTANCE_ID` is set.
pub fn layered(signal: Signal, env: &dyn Env) -> PresetEnv<'_> {
    let mut layer = PresetEnv {
        env,
        defaults: Vec::new(),
        headers: None,
    };
    let Some(instance_id) = env.get(INSTANCE_ID_VAR) else {
        return layer;
    };
    let first = |names: &[&'static str]| -> Result<String, &'static str> {
        names
            .iter()
            .find_map(|name| env.get(name))
            .map(|value| value.trim().to_owned())
            .ok_or(names[0])
    };
    let project = first(&["SLS_OTEL_PROJECT", "OTEL_EXPORTER_SLS_PROJECT"]);
    let key_id = first(&["SLS_OTEL_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_ID"]);
    let secret = first(&[
        "SLS_OTEL_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    ]);
    let (project, key_id, secret) = match (project, key_id, secret) {
        (Ok(project), Ok(key_id), Ok(secret)) => (project, key_id, secret),
        (project, key_id, secret) => {
            let missing: Vec<&str> = [project.err(), key_id.err(), secret.err()]
                .into_iter()
                .flatten()
                .collect();
            report_missing(&missing);
            return layer;
        }
    };
    let endpoint = match signal_endpoint(signal, env) {
        Some(endpoint) => endpoint,
        None => match env.get("OTEL_EXPORTER_SLS_ENDPOINT") {
            Some(region) => format!(
                "https://{project}.{}:{SLS_OTLP_PORT}",
                strip_scheme(region.trim())
            ),
            None => {
                report_missing(&["OTEL_EXPORTER_SLS_ENDPOINT"]);
                return layer;
            }
        },
    };
    let mut headers = vec![
        ("x-sls-otel-project", project),
        ("x-sls-otel-instance-id", instance_id.trim().to_owned()),
        ("x-sls-otel-ak-id", key_id),
        ("x-sls-otel-ak-secret", secret),
    ];
    if let Some(token) = env.get("ALIBABA_CLOUD_SECURITY_TOKEN") {
        headers.push(("x-sls-otel-token", token.trim().to_owned()));
    }
    let encoded: Vec<String> = headers
        .iter()
        .map(|(key, value)| format!("{key}={}", header_escape(value)))
        .collect();
    layer.headers = Some(encoded.join(","));
    layer.defaults = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "grpc".into()),
        ("OTEL_EXPORTER_OTLP_COMPRESSION".into(), "gzip".into()),
        ("OTEL_EXPORTER_OTLP_HEADERS".into(), encoded.join(",")),
    ];
    layer
}

/// Alibaba's per-signal `SLS_OTEL_{TRACE,METRIC,LOG}_ENDPOINT` (`host:port`), as a URL.
fn signal_endpoint(signal: Signal, env: &dyn Env) -> Option<String> {
    let (endpoint_var, insecure_var) = match signal {
        Signal::Traces => ("SLS_OTEL_TRACE_ENDPOINT", "SLS_OTEL_TRACE_INSECURE"),
        Signal::Metrics => ("SLS_OTEL_METRIC_ENDPOINT", "SLS_OTEL_METRIC_INSECURE"),
        Signal::Logs => ("SLS_OTEL_LOG_ENDPOINT", "SLS_OTEL_LOG_INSECURE"),
    };
    let endpoint = env.get(endpoint_var)?;
    let endpoint = endpoint.trim();
    if endpoint.contains("://") {
        return Some(endpoint.to_owned());
    }
    let insecure = env
        .get(insecure_var)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let scheme = if insecure { "http" } else { "https" };
    Some(format!("{scheme}://{endpoint}"))
}

fn strip_scheme(endpoint: &str) -> &str {
    endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .trim_end_matches('/')
}

/// The headers variables percent-decode values and split pairs at commas.
fn header_escape(value: &str) -> String {
    value.replace('%', "%25").replace(',', "%2C")
}

fn report_missing(missing: &[&str]) {
    if !MISSING_REPORTED.swap(true, Ordering::Relaxed) {
        diagnostics::warn(&format!(
            "the SLS OTLP preset ({INSTANCE_ID_VAR} is set) is not applied: set {}",
            missing.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otel_rust_core::config::{Compression, OtlpConfig, OtlpOverrides, Protocol};
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, &'static str>);

    impl Env for MapEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|value| value.to_string())
        }
    }

    const PRESET: &[(&str, &str)] = &[
        ("SLS_OTEL_INSTANCE_ID", "inst"),
        ("SLS_OTEL_PROJECT", "proj"),
        ("OTEL_EXPORTER_SLS_ENDPOINT", "cn-hangzhou.log.aliyuncs.com"),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIkey"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "se,cr%et"),
    ];

    fn resolve(signal: Signal, pairs: &[(&'static str, &'static str)]) -> OtlpConfig {
        let env = MapEnv(pairs.iter().copied().collect());
        OtlpConfig::resolve(signal, OtlpOverrides::default(), &layered(signal, &env))
    }

    #[test]
    fn every_signal_goes_to_the_sls_otlp_endpoint_with_the_sls_headers() {
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            let config = resolve(signal, PRESET);
            assert_eq!(config.protocol, Protocol::Grpc);
            assert_eq!(
                config.endpoint,
                "https://proj.cn-hangzhou.log.aliyuncs.com:10010"
            );
            assert_eq!(config.compression, Compression::Gzip);
            assert_eq!(
                config.headers,
                vec![
                    ("x-sls-otel-project".to_owned(), "proj".to_owned()),
                    ("x-sls-otel-instance-id".to_owned(), "inst".to_owned()),
                    ("x-sls-otel-ak-id".to_owned(), "LTAIkey".to_owned()),
                    ("x-sls-otel-ak-secret".to_owned(), "se,cr%et".to_owned()),
                ]
            );
        }
    }

    #[test]
    fn explicit_otlp_variables_win_and_headers_are_added_to() {
        let mut pairs = PRESET.to_vec();
        pairs.extend([
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://collector:4318/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-extra=1"),
        ]);
        let config = resolve(Signal::Traces, &pairs);
        assert_eq!(config.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(config.protocol, Protocol::HttpProtobuf);
        assert_eq!(config.headers.len(), 5);
        assert_eq!(config.headers[4], ("x-extra".to_owned(), "1".to_owned()));
    }

    #[test]
    fn alibaba_per_signal_endpoints_and_insecure_flags() {
        let mut pairs = PRESET.to_vec();
        pairs.extend([
            ("SLS_OTEL_METRIC_ENDPOINT", "127.0.0.1:4317"),
            ("SLS_OTEL_METRIC_INSECURE", "true"),
        ]);
        assert_eq!(
            resolve(Signal::Metrics, &pairs).endpoint,
            "http://127.0.0.1:4317"
        );
        assert_eq!(
            resolve(Signal::Traces, &pairs).endpoint,
            "https://proj.cn-hangzhou.log.aliyuncs.com:10010"
        );
    }

    #[test]
    fn without_an_instance_id_or_with_missing_settings_nothing_changes() {
        let plain = resolve(Signal::Traces, &PRESET[1..]);
        assert_eq!(plain.endpoint, "http://localhost:4318/v1/traces");
        let incomplete = resolve(Signal::Traces, &PRESET[..3]);
        assert_eq!(incomplete.endpoint, "http://localhost:4318/v1/traces");
        assert!(incomplete.headers.is_empty());
    }
}
