//! Exporter configuration: constructor arguments first, then `OTEL_*` variables, then the
//! specification's defaults. An invalid value gets a one-line warning and the default.

use std::path::PathBuf;
use std::time::Duration;

use crate::diagnostics;
use crate::redact::Redactor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    fn env_infix(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Logs => "LOGS",
            Signal::Metrics => "METRICS",
        }
    }

    /// What one exported item is called, for messages.
    pub fn item_name(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Logs => "log records",
            Signal::Metrics => "data points",
        }
    }

    fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Logs => "v1/logs",
            Signal::Metrics => "v1/metrics",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    Grpc,
}

impl Protocol {
    /// As `OTEL_EXPORTER_OTLP_PROTOCOL` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

/// Values given to a Python constructor; `None` means "not given".
#[derive(Clone, Debug, Default)]
pub struct OtlpOverrides {
    pub protocol: Option<String>,
    pub endpoint: Option<String>,
    pub headers: Option<Vec<(String, String)>>,
    pub timeout: Option<Duration>,
    pub compression: Option<String>,
    pub certificate_file: Option<String>,
    pub client_key_file: Option<String>,
    pub client_certificate_file: Option<String>,
    pub insecure: Option<bool>,
    pub spool: SpoolOverrides,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OtlpConfig {
    pub protocol: Protocol,
    /// The full URL: for HTTP it includes the signal path.
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub compression: Compression,
    pub certificate_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    pub client_certificate_file: Option<PathBuf>,
    /// gRPC without TLS; only decided by this when the endpoint has no scheme.
    pub insecure: bool,
    /// `None`: no spool (the default).
    pub spool: Option<SpoolConfig>,
}

/// The spool arguments of a constructor; `None` leaves them to the environment.
#[derive(Clone, Debug, Default)]
pub struct SpoolOverrides {
    pub dir: Option<String>,
    pub max_bytes: Option<u64>,
}

pub const SPOOL_DIR_VAR: &str = "OTEL_RUST_EXPORTER_SPOOL_DIR";
pub const SPOOL_MAX_BYTES_VAR: &str = "OTEL_RUST_EXPORTER_SPOOL_MAX_BYTES";
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 256 << 20;

/// Where the disk spool lives and how big it may grow (see `spool`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpoolConfig {
    pub dir: PathBuf,
    /// The cap on every file in `dir` together.
    pub max_bytes: u64,
}

impl SpoolConfig {
    /// `None` (no spool) unless a directory is given or `OTEL_RUST_EXPORTER_SPOOL_DIR` set.
    pub fn resolve(given: SpoolOverrides, env: &dyn Env) -> Option<Self> {
        let dir = given
            .dir
            .filter(|dir| !dir.trim().is_empty())
            .or_else(|| env.get(SPOOL_DIR_VAR))?;
        let (max_bytes, _) = resolved(
            given.max_bytes.filter(|bytes| *bytes > 0).map(Some),
            parsed(
                env.get(SPOOL_MAX_BYTES_VAR)
                    .map(|value| (SPOOL_MAX_BYTES_VAR.to_owned(), value)),
                parse_count,
            )
            .map(|(name, count)| (name, count.map(|count| count as u64))),
            DEFAULT_SPOOL_MAX_BYTES,
        );
        Some(Self {
            dir: PathBuf::from(dir.trim()),
            max_bytes,
        })
    }
}

/// The specification's defaults: 5 s for spans (`OTEL_BSP`), 1 s for log records (`OTEL_BLRP`).
fn default_schedule_delay(prefix: &str) -> Duration {
    if prefix == "OTEL_BLRP" {
        Duration::from_millis(1000)
    } else {
        Duration::from_millis(5000)
    }
}

#[derive(Clone, Debug, Default)]
pub struct BatchOverrides {
    pub max_queue_size: Option<usize>,
    pub max_queue_bytes: Option<usize>,
    pub schedule_delay: Option<Duration>,
    pub max_export_batch_size: Option<usize>,
    pub export_timeout: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    pub max_queue_size: usize,
    /// What queued, batched and in-flight records may hold, by their encoded size.
    pub max_queue_bytes: usize,
    /// What batches waiting for an export slot may hold before no more are cut from the
    /// queue (then the queue fills, and overflows against `max_queue_size`).
    pub max_backlog_bytes: usize,
    pub schedule_delay: Duration,
    pub max_export_batch_size: usize,
    pub export_timeout: Duration,
    /// Batches in flight at once, so one slow request does not stop the queue draining.
    pub max_concurrent_exports: usize,
}

/// Reads the environment; an empty value counts as unset, as the specification says.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// A lookup function is an environment (tests, snapshots).
impl<F: Fn(&str) -> Option<String>> Env for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    }
}

impl OtlpConfig {
    pub fn resolve(signal: Signal, given: OtlpOverrides, env: &dyn Env) -> Self {
        Self::resolve_explained(signal, given, env).0
    }

    /// Also says where each setting came from, by field name (for `check`).
    pub fn resolve_explained(
        signal: Signal,
        given: OtlpOverrides,
        env: &dyn Env,
    ) -> (Self, Vec<(&'static str, Source)>) {
        let infix = signal.env_infix();
        let signal_var = |name: &str| format!("OTEL_EXPORTER_OTLP_{infix}_{name}");
        let generic_var = |name: &str| format!("OTEL_EXPORTER_OTLP_{name}");
        let lookup = |name: &str| -> Option<(String, String)> {
            let signal_name = signal_var(name);
            if let Some(value) = env.get(&signal_name) {
                return Some((signal_name, value));
            }
            let generic_name = generic_var(name);
            env.get(&generic_name).map(|value| (generic_name, value))
        };

        let (protocol, protocol_source) = resolved(
            given
                .protocol
                .map(|value| parse_protocol("protocol", &value)),
            parsed(lookup("PROTOCOL"), parse_protocol),
            Protocol::HttpProtobuf,
        );

        let (endpoint, endpoint_source) = match given.endpoint {
            Some(endpoint) => (
                endpoint_as_given(protocol, signal, &endpoint, false),
                Source::Argument,
            ),
            None => match env.get(&signal_var("ENDPOINT")) {
                Some(endpoint) => (
                    endpoint_as_given(protocol, signal, &endpoint, false),
                    Source::Variable(signal_var("ENDPOINT")),
                ),
                None => match env.get(&generic_var("ENDPOINT")) {
                    Some(endpoint) => (
                        endpoint_as_given(protocol, signal, &endpoint, true),
                        Source::Variable(generic_var("ENDPOINT")),
                    ),
                    None => (default_endpoint(protocol, signal), Source::Default),
                },
            },
        };

        let (headers, headers_source) = resolved(
            given.headers.map(Some),
            lookup("HEADERS").map(|(name, value)| {
                let headers = parse_headers(&name, &value);
                (name, Some(headers))
            }),
            Vec::new(),
        );
        let headers = without_framing_headers(headers);

        let (timeout, timeout_source) = resolved(
            given.timeout.map(Some),
            parsed(lookup("TIMEOUT"), parse_millis),
            Duration::from_secs(10),
        );

        let (compression, compression_source) = resolved(
            given
                .compression
                .map(|value| parse_compression("compression", &value)),
            parsed(lookup("COMPRESSION"), parse_compression),
            Compression::None,
        );

        let path = |given: Option<String>, name: &str| {
            resolved(
                given.map(|value| Some(Some(PathBuf::from(value)))),
                lookup(name).map(|(variable, value)| (variable, Some(Some(PathBuf::from(value))))),
                None,
            )
        };
        let (certificate_file, certificate_source) = path(given.certificate_file, "CERTIFICATE");
        let (client_key_file, client_key_source) = path(given.client_key_file, "CLIENT_KEY");
        let (client_certificate_file, client_certificate_source) =
            path(given.client_certificate_file, "CLIENT_CERTIFICATE");

        let (insecure, insecure_source) = resolved(
            given.insecure.map(Some),
            parsed(lookup("INSECURE"), parse_bool),
            false,
        );

        let config = OtlpConfig {
            protocol,
            endpoint,
            headers,
            timeout,
            compression,
            certificate_file,
            client_key_file,
            client_certificate_file,
            insecure,
            spool: SpoolConfig::resolve(given.spool, env),
        };
        let sources = vec![
            ("protocol", protocol_source),
            ("endpoint", endpoint_source),
            ("headers", headers_source),
            ("timeout", timeout_source),
            ("compression", compression_source),
            ("certificate_file", certificate_source),
            ("client_key_file", client_key_source),
            ("client_certificate_file", client_certificate_source),
            ("insecure", insecure_source),
        ];
        (config, sources)
    }

    /// The endpoint for messages and reprs: without `user:password@`.
    pub fn display_endpoint(&self) -> String {
        redact_userinfo(&self.endpoint)
    }

    /// Scrubs what a server may echo of ours: every header value and the endpoint's userinfo.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(
            self.headers
                .iter()
                .map(|(_, value)| value.clone())
                .chain(Redactor::userinfo_secrets(&self.endpoint)),
        )
    }

    /// Whether the gRPC channel uses TLS: the scheme decides, else the insecure flag.
    pub fn grpc_uses_tls(&self) -> bool {
        if self.endpoint.starts_with("https://") {
            true
        } else if self.endpoint.starts_with("http://") {
            false
        } else {
            !self.insecure
        }
    }
}

/// Where a resolved setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Argument,
    /// The environment variable that set it.
    Variable(String),
    /// Nothing set it, or what was set was invalid (and warned about).
    Default,
}

/// A variable's name and its parsed value (`None` when invalid).
fn parsed<T>(
    found: Option<(String, String)>,
    parse: fn(&str, &str) -> Option<T>,
) -> Option<(String, Option<T>)> {
    found.map(|(variable, value)| {
        let value = parse(&variable, &value);
        (variable, value)
    })
}

/// The argument if given, else the variable if set, else `default`. `None` inside means
/// "given but invalid": that falls to the default, not to the next level.
fn resolved<T>(
    given: Option<Option<T>>,
    variable: Option<(String, Option<T>)>,
    default: T,
) -> (T, Source) {
    match (given, variable) {
        (Some(Some(value)), _) => (value, Source::Argument),
        (None, Some((name, Some(value)))) => (value, Source::Variable(name)),
        _ => (default, Source::Default),
    }
}

impl BatchConfig {
    /// `prefix` is `OTEL_BSP` for spans and `OTEL_BLRP` for log records.
    pub fn resolve(prefix: &str, given: BatchOverrides, env: &dyn Env) -> Self {
        Self::resolve_explained(prefix, given, env).0
    }

    /// Also says where each setting came from, by field name (for `check`).
    pub fn resolve_explained(
        prefix: &str,
        given: BatchOverrides,
        env: &dyn Env,
    ) -> (Self, Vec<(&'static str, Source)>) {
        let var = |name: &str| {
            let full = format!("{prefix}_{name}");
            env.get(&full).map(|value| (full, value))
        };
        let count = |name: &str| parsed(var(name), parse_count);
        let millis = |name: &str| parsed(var(name), parse_millis);

        let (max_queue_size, max_queue_size_source) = resolved(
            given.max_queue_size.filter(|size| *size > 0).map(Some),
            count("MAX_QUEUE_SIZE"),
            2048,
        );
        let (max_queue_bytes, max_queue_bytes_source) = resolved(
            given.max_queue_bytes.filter(|size| *size > 0).map(Some),
            parsed(
                env.get(MAX_QUEUE_BYTES_VAR)
                    .map(|value| (MAX_QUEUE_BYTES_VAR.to_owned(), value)),
                parse_count,
            ),
            DEFAULT_MAX_QUEUE_BYTES,
        );
        let (max_backlog_bytes, max_backlog_bytes_source) = resolved(
            None,
            parsed(
                env.get(MAX_BACKLOG_BYTES_VAR)
                    .map(|value| (MAX_BACKLOG_BYTES_VAR.to_owned(), value)),
                parse_count,
            ),
            DEFAULT_MAX_BACKLOG_BYTES,
        );
        let (schedule_delay, schedule_delay_source) = resolved(
            given.schedule_delay.map(Some),
            millis("SCHEDULE_DELAY"),
            default_schedule_delay(prefix),
        );
        let (mut max_export_batch_size, max_export_batch_size_source) = resolved(
            given
                .max_export_batch_size
                .filter(|size| *size > 0)
                .map(Some),
            count("MAX_EXPORT_BATCH_SIZE"),
            512,
        );
        // Past this, a count is a typo: memory is bounded by max_queue_bytes anyway.
        let max_queue_size = clamp_count(
            &format!("max_queue_size ({prefix}_MAX_QUEUE_SIZE)"),
            max_queue_size,
            MAX_QUEUE_ITEMS,
        );
        max_export_batch_size = clamp_count(
            &format!("max_export_batch_size ({prefix}_MAX_EXPORT_BATCH_SIZE)"),
            max_export_batch_size,
            MAX_QUEUE_ITEMS,
        );
        if max_export_batch_size > max_queue_size {
            diagnostics::warn(&format!(
                "max_export_batch_size ({max_export_batch_size}) exceeds max_queue_size \
                 ({max_queue_size}); using {max_queue_size}"
            ));
            max_export_batch_size = max_queue_size;
        }
        let (export_timeout, export_timeout_source) = resolved(
            given.export_timeout.map(Some),
            millis("EXPORT_TIMEOUT"),
            Duration::from_millis(30000),
        );

        // opentelemetry-rust's name for it; not (yet) in the specification.
        let (max_concurrent_exports, max_concurrent_exports_source) = resolved(
            None,
            count("MAX_CONCURRENT_EXPORTS").map(|(name, count)| {
                let clamped = count.map(|count| clamp_count(&name, count, MAX_CONCURRENT_EXPORTS));
                (name, clamped)
            }),
            DEFAULT_CONCURRENT_EXPORTS,
        );

        let config = BatchConfig {
            max_queue_size,
            max_queue_bytes,
            max_backlog_bytes,
            schedule_delay,
            max_export_batch_size,
            export_timeout,
            max_concurrent_exports,
        };
        let sources = vec![
            ("max_queue_size", max_queue_size_source),
            ("max_queue_bytes", max_queue_bytes_source),
            ("max_backlog_bytes", max_backlog_bytes_source),
            ("schedule_delay", schedule_delay_source),
            ("max_export_batch_size", max_export_batch_size_source),
            ("export_timeout", export_timeout_source),
            ("max_concurrent_exports", max_concurrent_exports_source),
        ];
        (config, sources)
    }
}

/// Drops the `user:password@` part of a URL's authority.
pub fn redact_userinfo(url: &str) -> String {
    let (after_scheme, authority_end) = authority_range(url);
    match url[after_scheme..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..after_scheme], &url[after_scheme + at + 1..]),
        None => url.to_owned(),
    }
}

/// The `user:password` of `scheme://user:password@host/...` (the scheme is optional).
pub fn userinfo(url: &str) -> Option<&str> {
    let (after_scheme, authority_end) = authority_range(url);
    let authority = &url[after_scheme..authority_end];
    authority
        .rfind('@')
        .map(|at| &authority[..at])
        .filter(|userinfo| !userinfo.is_empty())
}

/// Where a URL's authority starts and ends. A password with an unencoded `/`, `?` or `#`
/// breaks the URL and puts its `@` past the usual end: then, when the URL does not parse,
/// the authority runs to the last `@`'s host, so that the whole password counts as
/// userinfo and is never shown.
fn authority_range(url: &str) -> (usize, usize) {
    let scheme_end = url.find("://");
    let after_scheme = scheme_end.map_or(0, |index| index + 3);
    let end_from = |start: usize| {
        url[start..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |index| start + index)
    };
    let usual_end = end_from(after_scheme);
    let broken = scheme_end.is_some() && reqwest::Url::parse(url).is_err();
    match url[after_scheme..].rfind('@') {
        Some(at) if broken && after_scheme + at >= usual_end => {
            (after_scheme, end_from(after_scheme + at))
        }
        _ => (after_scheme, usual_end),
    }
}

const DEFAULT_CONCURRENT_EXPORTS: usize = 4;
const MAX_CONCURRENT_EXPORTS: usize = 64;
/// The largest queue or batch, in records (16 Mi).
pub const MAX_QUEUE_ITEMS: usize = 1 << 24;

pub const MAX_QUEUE_BYTES_VAR: &str = "OTEL_RUST_EXPORTER_MAX_QUEUE_BYTES";
/// Never binds for normal records (2048 spans of 32 KiB each), bounds a flood of huge ones.
pub const DEFAULT_MAX_QUEUE_BYTES: usize = 64 << 20;

pub const MAX_BACKLOG_BYTES_VAR: &str = "OTEL_RUST_EXPORTER_MAX_BACKLOG_BYTES";
/// Room for a burst of ~100k small spans while every export slot is busy; bounds what a
/// slow or unreachable collector costs in memory beyond the queue.
pub const DEFAULT_MAX_BACKLOG_BYTES: usize = 16 << 20;

/// The longest any timeout or delay may be. Longer is a typo (seconds given as
/// milliseconds) or an attack, and a deadline that far out could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// A duration setting named `name`, `seconds` long: `None` (the default applies) when
/// negative or not a number, at most [`MAX_DURATION`]; each with one warning.
pub fn duration_setting(name: &str, seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        invalid(name, &seconds.to_string(), "a non-negative duration");
        return None;
    }
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if duration <= MAX_DURATION => Some(duration),
        _ => {
            diagnostics::warn(&format!(
                "{name} is longer than the {} s allowed; using {} s",
                MAX_DURATION.as_secs(),
                MAX_DURATION.as_secs()
            ));
            Some(MAX_DURATION)
        }
    }
}

fn clamp_count(name: &str, count: usize, max: usize) -> usize {
    if count > max {
        diagnostics::warn(&format!(
            "{name}={count} is more than {max} allowed; using {max}"
        ));
        return max;
    }
    count
}

fn invalid(name: &str, value: &str, expected: &str) {
    let shown: String = value.chars().take(64).collect();
    diagnostics::warn(&format!(
        "ignoring invalid {name}={shown:?}: expected {expected}; using the default"
    ));
}

fn parse_protocol(name: &str, value: &str) -> Option<Protocol> {
    match value.trim().to_ascii_lowercase().as_str() {
        "http/protobuf" => Some(Protocol::HttpProtobuf),
        "grpc" => Some(Protocol::Grpc),
        _ => {
            invalid(name, value, "grpc or http/protobuf");
            None
        }
    }
}

fn parse_compression(name: &str, value: &str) -> Option<Compression> {
    match value.trim().to_ascii_lowercase().as_str() {
        "gzip" => Some(Compression::Gzip),
        "none" => Some(Compression::None),
        _ => {
            invalid(name, value, "gzip or none");
            None
        }
    }
}

fn parse_count(name: &str, value: &str) -> Option<usize> {
    match value.trim().parse::<usize>() {
        Ok(count) if count > 0 => Some(count),
        _ => {
            invalid(name, value, "a positive integer");
            None
        }
    }
}

fn parse_bool(name: &str, value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            invalid(name, value, "true or false");
            None
        }
    }
}

/// Durations in the environment are milliseconds (the specification's unit).
fn parse_millis(name: &str, value: &str) -> Option<Duration> {
    match value.trim().parse::<f64>() {
        Ok(millis) if millis >= 0.0 => duration_setting(name, millis / 1000.0),
        _ => {
            invalid(name, value, "a non-negative number of milliseconds");
            None
        }
    }
}

/// `key1=value1,key2=value2`, values percent-decoded (W3C baggage format).
fn parse_headers(name: &str, value: &str) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for pair in value.split(',').filter(|pair| !pair.trim().is_empty()) {
        match pair.split_once('=') {
            Some((key, raw)) if !key.trim().is_empty() => {
                headers.push((key.trim().to_ascii_lowercase(), percent_decode(raw.trim())));
            }
            // Never echo the pair itself: it may be a secret.
            _ => diagnostics::warn(&format!("ignoring a malformed header entry in {name}")),
        }
    }
    headers
}

/// Headers that decide how a request is framed or routed (and HTTP/2 pseudo-headers):
/// a configured value would corrupt the request (a short `content-length` truncates the
/// body on the wire) or send it elsewhere. Each is dropped with one warning, naming it.
fn without_framing_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    const FRAMING: &[&str] = &[
        "content-length",
        "host",
        "transfer-encoding",
        "connection",
        "te",
        "upgrade",
        "keep-alive",
        "proxy-connection",
    ];
    headers
        .into_iter()
        .filter(|(key, _)| {
            let name = key.trim().to_ascii_lowercase();
            let framing = FRAMING.contains(&name.as_str()) || name.starts_with(':');
            if framing {
                let shown: String = name.chars().take(64).collect();
                diagnostics::warn(&format!(
                    "ignoring header {shown:?}: it decides how requests are framed or routed, \
                     which the exporter sets itself"
                ));
            }
            !framing
        })
        .collect()
}

pub fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let hex = |byte: u8| (byte as char).to_digit(16).map(|digit| digit as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(high << 4 | low);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn endpoint_as_given(protocol: Protocol, signal: Signal, endpoint: &str, generic: bool) -> String {
    let endpoint = endpoint.trim();
    match protocol {
        // The generic endpoint is a base URL: the signal path is appended to it.
        Protocol::HttpProtobuf if generic => {
            format!("{}/{}", endpoint.trim_end_matches('/'), signal.http_path())
        }
        _ => endpoint.to_owned(),
    }
}

fn default_endpoint(protocol: Protocol, signal: Signal) -> String {
    match protocol {
        Protocol::HttpProtobuf => format!("http://localhost:4318/{}", signal.http_path()),
        Protocol::Grpc => "http://localhost:4317".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, &'static str>);

    impl Env for MapEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0
                .get(name)
                .map(|value| value.to_string())
                .filter(|v| !v.is_empty())
        }
    }

    fn env(pairs: &[(&'static str, &'static str)]) -> MapEnv {
        MapEnv(pairs.iter().copied().collect())
    }

    #[test]
    fn the_spool_is_off_unless_a_directory_is_given_and_bad_caps_fall_back() {
        assert_eq!(
            SpoolConfig::resolve(SpoolOverrides::default(), &env(&[])),
            None
        );
        assert_eq!(
            SpoolConfig::resolve(
                SpoolOverrides::default(),
                &env(&[(SPOOL_MAX_BYTES_VAR, "1000")])
            ),
            None,
            "a cap alone turns nothing on"
        );
        let from_env = SpoolConfig::resolve(
            SpoolOverrides::default(),
            &env(&[(SPOOL_DIR_VAR, " /var/spool/otel ")]),
        )
        .unwrap();
        assert_eq!(from_env.dir, PathBuf::from("/var/spool/otel"));
        assert_eq!(from_env.max_bytes, DEFAULT_SPOOL_MAX_BYTES);
        for bad in ["0", "-5", "lots", "1e9"] {
            let config = SpoolConfig::resolve(
                SpoolOverrides::default(),
                &env(&[(SPOOL_DIR_VAR, "/s"), (SPOOL_MAX_BYTES_VAR, bad)]),
            )
            .unwrap();
            assert_eq!(config.max_bytes, DEFAULT_SPOOL_MAX_BYTES, "{bad}");
        }
        let given = SpoolConfig::resolve(
            SpoolOverrides {
                dir: Some("/arg".into()),
                max_bytes: Some(4096),
            },
            &env(&[(SPOOL_DIR_VAR, "/env"), (SPOOL_MAX_BYTES_VAR, "8192")]),
        )
        .unwrap();
        assert_eq!((given.dir, given.max_bytes), (PathBuf::from("/arg"), 4096));
        let zero_argument = SpoolConfig::resolve(
            SpoolOverrides {
                dir: Some(String::new()),
                max_bytes: Some(0),
            },
            &env(&[(SPOOL_DIR_VAR, "/env"), (SPOOL_MAX_BYTES_VAR, "8192")]),
        )
        .unwrap();
        assert_eq!(
            (zero_argument.dir, zero_argument.max_bytes),
            (PathBuf::from("/env"), 8192),
            "empty arguments leave it to the environment"
        );
        let otlp = OtlpConfig::resolve(
            Signal::Logs,
            OtlpOverrides::default(),
            &env(&[(SPOOL_DIR_VAR, "/s")]),
        );
        assert_eq!(otlp.spool.unwrap().dir, PathBuf::from("/s"));
    }

    #[test]
    fn defaults_follow_the_specification() {
        let config = OtlpConfig::resolve(Signal::Traces, OtlpOverrides::default(), &env(&[]));
        assert_eq!(config.protocol, Protocol::HttpProtobuf);
        assert_eq!(config.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.compression, Compression::None);
        let batch = BatchConfig::resolve("OTEL_BSP", BatchOverrides::default(), &env(&[]));
        assert_eq!(batch.max_queue_size, 2048);
        assert_eq!(batch.max_export_batch_size, 512);
        assert_eq!(batch.schedule_delay, Duration::from_millis(5000));
        assert_eq!(batch.export_timeout, Duration::from_millis(30000));
        assert_eq!(batch.max_concurrent_exports, 4);
    }

    #[test]
    fn log_records_default_to_a_one_second_schedule_and_read_their_own_variables() {
        let vars = env(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "64"),
        ]);
        let batch = BatchConfig::resolve("OTEL_BLRP", BatchOverrides::default(), &vars);
        assert_eq!(batch.schedule_delay, Duration::from_millis(1000));
        assert_eq!(batch.max_queue_size, 2048);
        assert_eq!(batch.max_export_batch_size, 64);
        let logs = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces-only:4318/x",
            ),
        ]);
        let config = OtlpConfig::resolve(Signal::Logs, OtlpOverrides::default(), &logs);
        assert_eq!(config.endpoint, "http://collector:4318/v1/logs");
    }

    #[test]
    fn generic_http_endpoint_gets_the_signal_path_but_the_signal_endpoint_is_used_as_is() {
        let generic = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]);
        let config = OtlpConfig::resolve(Signal::Traces, OtlpOverrides::default(), &generic);
        assert_eq!(config.endpoint, "http://collector:4318/v1/traces");

        let specific = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://other:9999/custom",
            ),
        ]);
        let config = OtlpConfig::resolve(Signal::Traces, OtlpOverrides::default(), &specific);
        assert_eq!(config.endpoint, "http://other:9999/custom");
    }

    #[test]
    fn signal_variables_win_over_generic_ones_and_arguments_win_over_both() {
        let vars = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Api-Key=s%3Dcret,x=y"),
        ]);
        let config = OtlpConfig::resolve(Signal::Traces, OtlpOverrides::default(), &vars);
        assert_eq!(config.protocol, Protocol::Grpc);
        assert_eq!(config.endpoint, "http://localhost:4317");
        assert_eq!(config.timeout, Duration::from_millis(2500));
        assert_eq!(config.compression, Compression::Gzip);
        assert_eq!(
            config.headers,
            vec![
                ("api-key".into(), "s=cret".into()),
                ("x".into(), "y".into())
            ]
        );

        let given = OtlpOverrides {
            protocol: Some("http/protobuf".into()),
            endpoint: Some("http://given:1/v1/traces".into()),
            timeout: Some(Duration::from_secs(1)),
            compression: Some("none".into()),
            ..Default::default()
        };
        let config = OtlpConfig::resolve(Signal::Traces, given, &vars);
        assert_eq!(config.protocol, Protocol::HttpProtobuf);
        assert_eq!(config.endpoint, "http://given:1/v1/traces");
        assert_eq!(config.timeout, Duration::from_secs(1));
        assert_eq!(config.compression, Compression::None);
    }

    #[test]
    fn invalid_values_fall_back_to_defaults() {
        let vars = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
            ("OTEL_EXPORTER_OTLP_INSECURE", "maybe"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "-5"),
            ("OTEL_BSP_SCHEDULE_DELAY", "NaN"),
        ]);
        let config = OtlpConfig::resolve(Signal::Traces, OtlpOverrides::default(), &vars);
        assert_eq!(config.protocol, Protocol::HttpProtobuf);
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.compression, Compression::None);
        assert!(!config.insecure);
        let batch = BatchConfig::resolve("OTEL_BSP", BatchOverrides::default(), &vars);
        assert_eq!(batch.max_queue_size, 2048);
        assert_eq!(batch.schedule_delay, Duration::from_millis(5000));
    }

    #[test]
    fn batch_size_is_capped_by_queue_size() {
        let vars = env(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500"),
        ]);
        let batch = BatchConfig::resolve("OTEL_BSP", BatchOverrides::default(), &vars);
        assert_eq!(batch.max_queue_size, 100);
        assert_eq!(batch.max_export_batch_size, 100);
    }

    #[test]
    fn grpc_tls_follows_the_scheme_then_the_insecure_flag() {
        let mut config = OtlpConfig::resolve(Signal::Traces, OtlpOverrides::default(), &env(&[]));
        config.endpoint = "collector:4317".into();
        assert!(config.grpc_uses_tls());
        config.insecure = true;
        assert!(!config.grpc_uses_tls());
        config.endpoint = "https://collector:4317".into();
        assert!(config.grpc_uses_tls());
    }

    #[test]
    fn credentials_are_removed_from_displayed_endpoints() {
        assert_eq!(
            redact_userinfo("http://user:pw@host:4318/v1/traces"),
            "http://host:4318/v1/traces"
        );
        assert_eq!(redact_userinfo("user:pw@host:4317"), "host:4317");
        assert_eq!(redact_userinfo("https://host/a@b"), "https://host/a@b");
        assert_eq!(redact_userinfo("http://host:4318"), "http://host:4318");
    }

    #[test]
    fn framing_headers_are_dropped_and_the_rest_kept() {
        let vars = env(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Content-Length=5,host=evil,x-api-key=k,:authority=x,Transfer-Encoding=chunked,te=trailers",
        )]);
        let config = OtlpConfig::resolve(Signal::Traces, OtlpOverrides::default(), &vars);
        assert_eq!(config.headers, vec![("x-api-key".into(), "k".into())]);
        let given = OtlpOverrides {
            headers: Some(vec![
                ("Connection".into(), "close".into()),
                ("authorization".into(), "Bearer t".into()),
            ]),
            ..Default::default()
        };
        let config = OtlpConfig::resolve(Signal::Traces, given, &env(&[]));
        assert_eq!(
            config.headers,
            vec![("authorization".into(), "Bearer t".into())]
        );
    }

    #[test]
    fn userinfo_is_found_only_in_the_authority() {
        assert_eq!(userinfo("http://u:p@host:1/x"), Some("u:p"));
        assert_eq!(userinfo("u:p@host:4317"), Some("u:p"));
        assert_eq!(userinfo("https://host/a@b"), None);
        // A password with an unencoded `/`, `?` or `#`: the URL is broken, the password
        // still counts as userinfo.
        for broken in [
            "http://user:S3CRET/XYZ@127.0.0.1:1/v1/traces",
            "http://user:S3CRET?XYZ@127.0.0.1:1",
            "http://user:S3CRET#XYZ@127.0.0.1:1",
        ] {
            assert!(userinfo(broken).unwrap().contains("S3CRET"), "{broken}");
            assert!(!redact_userinfo(broken).contains("S3CRET"), "{broken}");
            assert!(redact_userinfo(broken).starts_with("http://127.0.0.1:1"));
        }
    }

    #[test]
    fn percent_decoding_keeps_malformed_escapes() {
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(percent_decode("%E2%9C%93"), "✓");
    }

    #[test]
    fn batch_provenance_names_the_variable_or_default_that_won() {
        let vars = env(&[
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "soon"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "10"),
        ]);
        let given = BatchOverrides {
            max_export_batch_size: Some(50),
            ..Default::default()
        };
        let (config, sources) = BatchConfig::resolve_explained("OTEL_BLRP", given, &vars);
        assert_eq!(config.max_queue_size, 100);
        assert_eq!(config.max_export_batch_size, 50);
        assert_eq!(
            sources,
            vec![
                (
                    "max_queue_size",
                    Source::Variable("OTEL_BLRP_MAX_QUEUE_SIZE".into())
                ),
                ("max_queue_bytes", Source::Default),
                ("max_backlog_bytes", Source::Default),
                ("schedule_delay", Source::Default),
                ("max_export_batch_size", Source::Argument),
                ("export_timeout", Source::Default),
                ("max_concurrent_exports", Source::Default),
            ]
        );
    }

    #[test]
    fn provenance_names_the_argument_variable_or_default_that_won() {
        let vars = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
        ]);
        let given = OtlpOverrides {
            protocol: Some("http/protobuf".into()),
            ..Default::default()
        };
        let (config, sources) = OtlpConfig::resolve_explained(Signal::Traces, given, &vars);
        assert_eq!(config.endpoint, "http://collector:4318/v1/traces");
        let source = |field: &str| {
            sources
                .iter()
                .find(|(name, _)| *name == field)
                .map(|(_, source)| source.clone())
                .unwrap()
        };
        assert_eq!(source("protocol"), Source::Argument);
        assert_eq!(
            source("endpoint"),
            Source::Variable("OTEL_EXPORTER_OTLP_ENDPOINT".into())
        );
        assert_eq!(
            source("timeout"),
            Source::Variable("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT".into())
        );
        // Invalid: warned about, and the default applies.
        assert_eq!(source("compression"), Source::Default);
        assert_eq!(source("headers"), Source::Default);
    }
}
