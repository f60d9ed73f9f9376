//! Configuration: constructor arguments first, then the environment
//! (`OTEL_EXPORTER_SLS_*`, credentials from `ALIBABA_CLOUD_*`).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use otel_rust_core::config::Env;

pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_SLS_ENDPOINT";
pub const PROJECT_VAR: &str = "OTEL_EXPORTER_SLS_PROJECT";
pub const LOGSTORE_VAR: &str = "OTEL_EXPORTER_SLS_LOGSTORE";
pub const TOPIC_VAR: &str = "OTEL_EXPORTER_SLS_TOPIC";
pub const SOURCE_VAR: &str = "OTEL_EXPORTER_SLS_SOURCE";
pub const HASH_KEY_VAR: &str = "OTEL_EXPORTER_SLS_HASH_KEY";
pub const SIGNATURE_VERSION_VAR: &str = "OTEL_EXPORTER_SLS_SIGNATURE_VERSION";
pub const REGION_VAR: &str = "OTEL_EXPORTER_SLS_REGION";
pub const TIMEOUT_VAR: &str = "OTEL_EXPORTER_SLS_TIMEOUT";
pub const ACCESS_KEY_ID_VAR: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
pub const ACCESS_KEY_SECRET_VAR: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
pub const SECURITY_TOKEN_VAR: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The range a timeout is clamped to: shorter cannot send anything, longer holds an export
/// (and the application's exit) for no gain, and very large values overflow deadlines.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// A value that must never be shown: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An AccessKey pair, and the STS token that comes with temporary keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: Secret,
    pub access_key_secret: Secret,
    pub security_token: Option<Secret>,
}

impl Credentials {
    /// Every credential value, for scrubbing server replies, which may echo them.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        [
            Some(&self.access_key_id),
            Some(&self.access_key_secret),
            self.security_token.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(Secret::expose)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureVersion {
    V1,
    V4 { region: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// `[scheme://]host[:port]`, e.g. `cn-hangzhou.log.aliyuncs.com` or `http://10.0.0.5:80`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Scheme,
    pub host: String,
    pub port: Option<u16>,
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "https" => (Scheme::Https, rest),
                "http" => (Scheme::Http, rest),
                _ => return Err(format!("unsupported scheme {scheme:?} (use http or https)")),
            },
            None => (Scheme::Https, text),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        // Anywhere, not only in the authority: a password with an unencoded `/` puts its
        // `@` in what looks like the path.
        if rest.contains('@') {
            // Never echoed: it holds a password. SLS signs with AccessKeys instead.
            return Err(
                "a user:password@ part is not supported (SLS authenticates with \
                        AccessKeys)"
                    .to_owned(),
            );
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                Some(
                    // Not echoed: a mistyped `user:password` looks like `host:port`.
                    port.parse::<u16>()
                        .map_err(|_| "the port is not a number from 0 to 65535".to_owned())?,
                ),
            ),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err("no host".to_owned());
        }
        let host_name = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
        if !host.chars().all(host_name) {
            return Err(format!(
                "host {:?} may hold only letters, digits, dots and hyphens",
                shown(host)
            ));
        }
        Ok(Self {
            scheme,
            host: host.to_owned(),
            port,
        })
    }

    /// An IP endpoint (local or VPC) is connected to directly; a name gets the project
    /// prepended, as the SDKs do.
    pub fn is_ip(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }
}

/// Where a setting came from: the constructor argument or its variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Argument,
    Variable,
}

/// What the application passed to a constructor; `None` leaves it to the environment.
#[derive(Clone, Debug, Default)]
pub struct SlsOverrides {
    pub endpoint: Option<String>,
    pub project: Option<String>,
    pub logstore: Option<String>,
    pub topic: Option<String>,
    pub source: Option<String>,
    pub hash_key: Option<String>,
    pub signature_version: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<String>,
    pub security_token: Option<String>,
    /// Seconds, as the constructors take it.
    pub timeout: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlsConfig {
    pub endpoint: Endpoint,
    pub project: String,
    pub logstore: String,
    pub topic: Option<String>,
    /// `None`: the host's IP address, found when the first batch is sent.
    pub source: Option<String>,
    pub hash_key: Option<String>,
    pub signature: SignatureVersion,
    pub credentials: Credentials,
    /// Bounds one export, retries included.
    pub timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The variables (each settable by its constructor argument) that have no value.
    Missing(Vec<&'static str>),
    Invalid {
        variable: &'static str,
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing(variables) => write!(
                f,
                "SLS log export is disabled: set {} (or pass the matching constructor argument)",
                variables.join(", ")
            ),
            ConfigError::Invalid { variable, reason } => {
                write!(
                    f,
                    "SLS log export is disabled: invalid {variable}: {reason}"
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl SlsConfig {
    /// `env` returns a variable's value (empty counts as unset); `warn` receives one line
    /// per ignored invalid optional value.
    pub fn resolve(
        given: SlsOverrides,
        env: &dyn Env,
        warn: &mut dyn FnMut(String),
    ) -> Result<Self, ConfigError> {
        Self::resolve_explained(given, env, warn).0
    }

    /// Also says where each setting came from, by its variable (for `check`); settings
    /// left to their default are not listed.
    pub fn resolve_explained(
        given: SlsOverrides,
        env: &dyn Env,
        warn: &mut dyn FnMut(String),
    ) -> (Result<Self, ConfigError>, Vec<(&'static str, Source)>) {
        let sources = std::cell::RefCell::new(Vec::new());
        let resolved = Self::resolve_recording(given, env, warn, &sources);
        (resolved, sources.into_inner())
    }

    fn resolve_recording(
        given: SlsOverrides,
        env: &dyn Env,
        warn: &mut dyn FnMut(String),
        sources: &std::cell::RefCell<Vec<(&'static str, Source)>>,
    ) -> Result<Self, ConfigError> {
        let value = |given: Option<String>, variable: &'static str| {
            let source = if given.is_some() {
                Source::Argument
            } else {
                Source::Variable
            };
            let found = given
                .or_else(|| env.get(variable))
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty());
            if found.is_some() {
                sources.borrow_mut().push((variable, source));
            }
            found
        };
        let mut missing = Vec::new();
        let mut required = |given: Option<String>, variable: &'static str| {
            let found = value(given, variable);
            if found.is_none() {
                missing.push(variable);
            }
            found.unwrap_or_default()
        };
        let endpoint = required(given.endpoint, ENDPOINT_VAR);
        let project = required(given.project, PROJECT_VAR);
        let logstore = required(given.logstore, LOGSTORE_VAR);
        let access_key_id = required(given.access_key_id, ACCESS_KEY_ID_VAR);
        let access_key_secret = required(given.access_key_secret, ACCESS_KEY_SECRET_VAR);

        let endpoint = if endpoint.is_empty() {
            None
        } else {
            Some(
                Endpoint::parse(&endpoint).map_err(|reason| ConfigError::Invalid {
                    variable: ENDPOINT_VAR,
                    reason,
                })?,
            )
        };

        let version = value(given.signature_version, SIGNATURE_VERSION_VAR)
            .map(|version| version.to_ascii_lowercase())
            .unwrap_or_else(|| "v1".to_owned());
        let signature = match version.as_str() {
            "v1" => SignatureVersion::V1,
            "v4" => match value(given.region, REGION_VAR).or_else(|| {
                endpoint
                    .as_ref()
                    .and_then(|endpoint| region_of(&endpoint.host))
            }) {
                Some(region) => SignatureVersion::V4 { region },
                None => {
                    missing.push(REGION_VAR);
                    SignatureVersion::V1
                }
            },
            other => {
                return Err(ConfigError::Invalid {
                    variable: SIGNATURE_VERSION_VAR,
                    reason: format!("{other:?} is neither v1 nor v4"),
                })
            }
        };
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }
        check_name(PROJECT_VAR, &project, false)?;
        check_name(LOGSTORE_VAR, &logstore, true)?;

        let timeout = match given.timeout {
            Some(seconds) => {
                sources.borrow_mut().push((TIMEOUT_VAR, Source::Argument));
                timeout_within_range("timeout", seconds * 1000.0, warn)
            }
            None => env
                .get(TIMEOUT_VAR)
                .and_then(|text| match text.trim().parse::<f64>() {
                    Ok(millis) => {
                        let timeout = timeout_within_range(TIMEOUT_VAR, millis, warn);
                        if timeout.is_some() {
                            sources.borrow_mut().push((TIMEOUT_VAR, Source::Variable));
                        }
                        timeout
                    }
                    Err(_) => {
                        warn(format!(
                            "ignoring invalid {TIMEOUT_VAR}={:?}: expected a positive number of \
                         milliseconds; using {} ms",
                            shown(&text),
                            DEFAULT_TIMEOUT.as_millis()
                        ));
                        None
                    }
                }),
        }
        .unwrap_or(DEFAULT_TIMEOUT);

        Ok(SlsConfig {
            endpoint: endpoint.expect("checked above"),
            project,
            logstore,
            topic: value(given.topic, TOPIC_VAR),
            source: value(given.source, SOURCE_VAR),
            hash_key: value(given.hash_key, HASH_KEY_VAR),
            signature,
            credentials: Credentials {
                access_key_id: Secret::new(access_key_id),
                access_key_secret: Secret::new(access_key_secret),
                security_token: value(given.security_token, SECURITY_TOKEN_VAR).map(Secret::new),
            },
            timeout,
        })
    }
}

/// SLS's naming rules, checked when the configuration is read: names go into the request's
/// Host and path, where `127.0.0.1:PORT/#` or `x/../../admin?q=1` would send it elsewhere.
fn check_name(variable: &'static str, name: &str, underscore: bool) -> Result<(), ConfigError> {
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (underscore && c == '_')
    };
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&name.len())
        && name.chars().all(allowed)
        && edge(name.chars().next())
        && edge(name.chars().last());
    if valid {
        return Ok(());
    }
    let characters = if underscore {
        "lowercase letters, digits, hyphens and underscores"
    } else {
        "lowercase letters, digits and hyphens"
    };
    Err(ConfigError::Invalid {
        variable,
        reason: format!(
            "{:?} is not a valid name: 3 to 63 {characters}, starting and ending with a \
             letter or digit",
            shown(name)
        ),
    })
}

/// A timeout in milliseconds within [`MIN_TIMEOUT`, `MAX_TIMEOUT`]; `None` (the default)
/// for a value that is not a positive number. One warning naming `setting` either way.
fn timeout_within_range(
    setting: &str,
    millis: f64,
    warn: &mut dyn FnMut(String),
) -> Option<Duration> {
    if !(millis.is_finite() && millis > 0.0) {
        warn(format!(
            "ignoring invalid {setting}: expected a positive duration; using {} ms",
            DEFAULT_TIMEOUT.as_millis()
        ));
        return None;
    }
    let (low, high) = (
        MIN_TIMEOUT.as_millis() as f64,
        MAX_TIMEOUT.as_millis() as f64,
    );
    if millis < low || millis > high {
        let clamped = millis.clamp(low, high);
        warn(format!(
            "{setting} is out of range ({} ms to {} ms); using {clamped} ms",
            MIN_TIMEOUT.as_millis(),
            MAX_TIMEOUT.as_millis()
        ));
        return Some(Duration::from_secs_f64(clamped / 1000.0));
    }
    Some(Duration::from_secs_f64(millis / 1000.0))
}

/// At most 64 characters of a configured value, for messages.
fn shown(value: &str) -> String {
    value.chars().take(64).collect()
}

/// `cn-hangzhou` from `cn-hangzhou.log.aliyuncs.com` or `cn-hangzhou-intranet.log...`.
fn region_of(host: &str) -> Option<String> {
    let region = host.strip_suffix(".log.aliyuncs.com")?;
    let region = region
        .strip_suffix("-intranet")
        .or_else(|| region.strip_suffix("-share"))
        .unwrap_or(region);
    (!region.is_empty() && !region.contains('.')).then(|| region.to_owned())
}

/// The source IP the SDKs report: the local address of a route towards `host`.
/// Blocking (it may resolve `host`); `127.0.0.1` when there is no route.
pub fn host_ip_towards(host: &str) -> String {
    std::net::UdpSocket::bind(("0.0.0.0", 0))
        .and_then(|socket| {
            socket.connect((host, 80))?;
            socket.local_addr()
        })
        .map(|address| address.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(
        given: SlsOverrides,
        vars: &[(&str, &str)],
    ) -> (Result<SlsConfig, ConfigError>, Vec<String>) {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| map.get(name).cloned().filter(|v| !v.is_empty());
        let mut warnings = Vec::new();
        let result = SlsConfig::resolve(given, &env, &mut |line| warnings.push(line));
        (result, warnings)
    }

    const FULL: &[(&str, &str)] = &[
        (ENDPOINT_VAR, "cn-hangzhou.log.aliyuncs.com"),
        (PROJECT_VAR, "proj"),
        (LOGSTORE_VAR, "store"),
        (ACCESS_KEY_ID_VAR, "LTAIid"),
        (ACCESS_KEY_SECRET_VAR, "s3cret"),
    ];

    /// `FULL` and then `extra` in the environment, no constructor argument.
    fn resolve_full_and(extra: &[(&str, &str)]) -> (Result<SlsConfig, ConfigError>, Vec<String>) {
        resolve(SlsOverrides::default(), &[FULL, extra].concat())
    }

    #[test]
    fn reads_the_environment_with_defaults() {
        let (config, warnings) = resolve(SlsOverrides::default(), FULL);
        let config = config.unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            config.endpoint,
            Endpoint {
                scheme: Scheme::Https,
                host: "cn-hangzhou.log.aliyuncs.com".into(),
                port: None
            }
        );
        assert_eq!(config.project, "proj");
        assert_eq!(config.signature, SignatureVersion::V1);
        assert_eq!(config.timeout, DEFAULT_TIMEOUT);
        assert_eq!(config.source, None);
        assert_eq!(config.credentials.security_token, None);
    }

    #[test]
    fn provenance_names_arguments_and_variables_but_not_defaults() {
        let given = SlsOverrides {
            project: Some("other".into()),
            ..Default::default()
        };
        let map: HashMap<&str, &str> = FULL.iter().copied().collect();
        let env = move |name: &str| map.get(name).map(|v| v.to_string());
        let (config, sources) = SlsConfig::resolve_explained(given, &env, &mut |_| {});
        assert_eq!(config.unwrap().project, "other");
        assert!(sources.contains(&(PROJECT_VAR, Source::Argument)));
        assert!(sources.contains(&(ENDPOINT_VAR, Source::Variable)));
        assert!(sources.contains(&(ACCESS_KEY_SECRET_VAR, Source::Variable)));
        assert!(!sources.iter().any(|(variable, _)| *variable == TIMEOUT_VAR));
    }

    #[test]
    fn arguments_override_the_environment() {
        let given = SlsOverrides {
            project: Some("other".into()),
            signature_version: Some("V4".into()),
            region: Some("eu-central-1".into()),
            timeout: Some(3.0),
            security_token: Some("sts".into()),
            ..Default::default()
        };
        let config = resolve(given, &[FULL, &[(TIMEOUT_VAR, "1000")]].concat())
            .0
            .unwrap();
        assert_eq!(config.project, "other");
        assert_eq!(
            config.signature,
            SignatureVersion::V4 {
                region: "eu-central-1".into()
            }
        );
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(config.credentials.security_token, Some(Secret::new("sts")));
    }

    #[test]
    fn v4_takes_the_region_from_an_aliyun_endpoint() {
        let mut vars = [FULL, &[(SIGNATURE_VERSION_VAR, "v4")]].concat();
        let config = resolve(SlsOverrides::default(), &vars).0.unwrap();
        assert_eq!(
            config.signature,
            SignatureVersion::V4 {
                region: "cn-hangzhou".into()
            }
        );
        vars[0] = (ENDPOINT_VAR, "http://127.0.0.1:8080");
        let error = resolve(SlsOverrides::default(), &vars).0.unwrap_err();
        assert_eq!(error, ConfigError::Missing(vec![REGION_VAR]));
    }

    #[test]
    fn missing_settings_are_named_in_one_message() {
        let error = resolve(SlsOverrides::default(), &FULL[..2]).0.unwrap_err();
        assert_eq!(
            error.to_string(),
            "SLS log export is disabled: set OTEL_EXPORTER_SLS_LOGSTORE, \
             ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET (or pass the \
             matching constructor argument)"
        );
    }

    #[test]
    fn invalid_values_are_reported() {
        let (config, warnings) = resolve_full_and(&[(TIMEOUT_VAR, "soon")]);
        assert_eq!(config.unwrap().timeout, DEFAULT_TIMEOUT);
        assert_eq!(warnings.len(), 1);
        let error = resolve_full_and(&[(TIMEOUT_VAR, "soon"), (SIGNATURE_VERSION_VAR, "v2")])
            .0
            .unwrap_err();
        assert!(
            matches!(error, ConfigError::Invalid { variable, .. } if variable == SIGNATURE_VERSION_VAR)
        );
    }

    #[test]
    fn endpoints_parse_with_optional_scheme_and_port() {
        let ip = Endpoint::parse("http://10.0.0.5:8080/").unwrap();
        assert_eq!(
            (ip.scheme, ip.host.as_str(), ip.port, ip.is_ip()),
            (Scheme::Http, "10.0.0.5", Some(8080), true)
        );
        let name = Endpoint::parse("cn-beijing.log.aliyuncs.com").unwrap();
        assert_eq!(
            (name.scheme, name.port, name.is_ip()),
            (Scheme::Https, None, false)
        );
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("host:99999").is_err());
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_listed_for_scrubbing() {
        let config = resolve(
            SlsOverrides {
                access_key_id: Some("LTAI5tAbCdEf".into()),
                access_key_secret: Some("s3cretS3cret".into()),
                security_token: Some("tok3ntok3n".into()),
                ..Default::default()
            },
            FULL,
        )
        .0
        .unwrap();
        let shown = format!("{config:?}");
        for secret in ["LTAI5tAbCdEf", "s3cretS3cret", "tok3ntok3n"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(
            config.credentials.values().collect::<Vec<_>>(),
            ["LTAI5tAbCdEf", "s3cretS3cret", "tok3ntok3n"]
        );
    }

    #[test]
    fn names_follow_the_sls_rules() {
        let with = |project: &str, logstore: &str| {
            let mut vars = FULL.to_vec();
            vars[1] = (PROJECT_VAR, project);
            vars[2] = (LOGSTORE_VAR, logstore);
            resolve(SlsOverrides::default(), &vars).0
        };
        assert!(with("my-project-1", "my_store-2").is_ok());
        assert!(with(&"a".repeat(63), &"b".repeat(63)).is_ok());
        for project in [
            "127.0.0.1:8080/#",
            "ab",
            &"a".repeat(64),
            "My-Project",
            "-proj",
            "proj-",
            "pro_j",
        ] {
            let error = with(project, "store").unwrap_err();
            assert!(
                matches!(&error, ConfigError::Invalid { variable, .. } if *variable == PROJECT_VAR),
                "{project}: {error}"
            );
        }
        for logstore in ["x/../../admin?q=1#", "st", "_store", "store_", "Store"] {
            let error = with("proj", logstore).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Invalid { variable, .. } if *variable == LOGSTORE_VAR),
                "{logstore}: {error}"
            );
        }
    }

    #[test]
    fn endpoints_with_userinfo_or_odd_hosts_are_refused_without_echoing_secrets() {
        let error = Endpoint::parse("http://user:pa55word@127.0.0.1:80").unwrap_err();
        assert!(!error.contains("pa55word"), "{error}");
        assert!(Endpoint::parse("http://host?x=1").is_err());
        assert!(Endpoint::parse("http://ho st").is_err());
    }

    #[test]
    fn timeouts_are_clamped_with_one_warning() {
        let (config, warnings) = resolve_full_and(&[(TIMEOUT_VAR, "1e30")]);
        assert_eq!(config.unwrap().timeout, MAX_TIMEOUT);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains(TIMEOUT_VAR), "{warnings:?}");
        for (seconds, expected) in [
            (1e30, Some(MAX_TIMEOUT)),
            (1e-9, Some(MIN_TIMEOUT)),
            (f64::INFINITY, None),
            (-1.0, None),
        ] {
            let given = SlsOverrides {
                timeout: Some(seconds),
                ..Default::default()
            };
            let (config, warnings) = resolve(given, FULL);
            assert_eq!(
                config.unwrap().timeout,
                expected.unwrap_or(DEFAULT_TIMEOUT),
                "{seconds}"
            );
            assert_eq!(warnings.len(), 1);
            assert!(warnings[0].contains("timeout"), "{warnings:?}");
        }
    }
}
