//! OTLP/HTTP with binary protobuf: `POST {endpoint}` (which ends in `/v1/{signal}`).

use std::io::Write;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use flate2::write::GzEncoder;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER,
};
use reqwest::StatusCode;

use super::shared::{ConnectionKey, SharedConnections};
use super::{
    read_capped, read_file, redirect_failure, request_failure, unusable_success, EXCERPT_CHARS,
};
use crate::config::{Compression, OtlpConfig};
use crate::diagnostics;
use crate::redact::Redactor;
use crate::retry::{Failure, FailureKind};

static CLIENTS: SharedConnections<reqwest::Client> = SharedConnections::new();

pub struct HttpTransport {
    client: reqwest::Client,
    /// This exporter's headers (content type, encoding, configured ones), sent per request
    /// since the client is shared.
    headers: HeaderMap,
    url: String,
    /// `url` without credentials, for messages.
    shown_url: String,
    compression: Compression,
    pub(super) redactor: Redactor,
}

impl HttpTransport {
    pub fn new(config: &OtlpConfig) -> Result<Self, String> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        if config.compression == Compression::Gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        for (key, value) in &config.headers {
            match (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(name), Ok(mut value)) => {
                    value.set_sensitive(true);
                    headers.insert(name, value);
                }
                _ => {
                    diagnostics::warn(&format!("ignoring header {key:?}: not a valid HTTP header"))
                }
            }
        }
        let key = ConnectionKey {
            target: String::new(),
            certificate_file: config.certificate_file.clone(),
            client_key_file: config.client_key_file.clone(),
            client_certificate_file: config.client_certificate_file.clone(),
            connect_timeout_millis: 0,
        };
        if let Some(problem) = endpoint_problem(config) {
            return Err(problem);
        }
        let client = CLIENTS.get_or_make(key, || build_client(config))?;
        Ok(Self {
            client,
            headers,
            url: config.endpoint.clone(),
            shown_url: config.display_endpoint(),
            compression: config.compression,
            redactor: config.redactor(),
        })
    }
}

/// A URL that cannot be sent to fails every request the same way: it is refused once.
pub fn endpoint_problem(config: &OtlpConfig) -> Option<String> {
    let invalid = |why: &dyn std::fmt::Display| {
        format!("invalid endpoint {:?}: {why}", config.display_endpoint())
    };
    match reqwest::Url::parse(&config.endpoint) {
        Err(error) => Some(invalid(&error)),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            Some(invalid(&"the scheme must be http or https"))
        }
        Ok(_) => None,
    }
}

fn build_client(config: &OtlpConfig) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .user_agent(super::USER_AGENT)
        // A redirect would carry our headers to wherever it points.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = &config.certificate_file {
        let pem = read_file("certificate", path)?;
        let certificate = reqwest::Certificate::from_pem(&pem)
            .map_err(|error| format!("invalid certificate file {}: {error}", path.display()))?;
        builder = builder.add_root_certificate(certificate);
    }
    if let (Some(key_path), Some(cert_path)) =
        (&config.client_key_file, &config.client_certificate_file)
    {
        let mut pem = read_file("client certificate", cert_path)?;
        pem.push(b'\n');
        pem.extend(read_file("client key", key_path)?);
        let identity = reqwest::Identity::from_pem(&pem)
            .map_err(|error| format!("invalid client certificate or key: {error}"))?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|error| format!("cannot build the HTTP client: {error}"))
}

impl HttpTransport {
    /// Whether `prepare` gzips the body.
    pub fn gzips(&self) -> bool {
        self.compression == Compression::Gzip
    }

    pub fn prepare(&self, encoded: Vec<u8>) -> Result<Bytes, Failure> {
        match self.compression {
            Compression::None => Ok(Bytes::from(encoded)),
            Compression::Gzip => {
                let mut encoder = GzEncoder::new(
                    Vec::with_capacity(encoded.len() / 4),
                    flate2::Compression::default(),
                );
                encoder
                    .write_all(&encoded)
                    .and_then(|()| encoder.finish())
                    .map(Bytes::from)
                    .map_err(|error| {
                        Failure::permanent(FailureKind::Encoding, format!("gzip failed: {error}"))
                    })
            }
        }
    }

    pub async fn send<R: prost::Message + Default>(
        &self,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<R, Failure> {
        let response = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .timeout(timeout)
            .body(payload)
            .send()
            .await
            .map_err(|error| request_failure(&self.shown_url, error, &self.redactor))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(redirect_failure(&self.shown_url, &response));
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(parse_retry_after);
        let (body, end) = read_capped(response).await;
        if status.is_success() {
            if let Some(failure) = unusable_success(&self.shown_url, status, end, &self.redactor) {
                return Err(failure);
            }
            // A body that is not an export response (some proxies answer in JSON) carries
            // no partial success to report.
            return Ok(R::decode(body.as_slice()).unwrap_or_default());
        }
        let text = self
            .redactor
            .excerpt(&String::from_utf8_lossy(&body), EXCERPT_CHARS);
        let message = format!("POST {} answered {status}: {text}", self.shown_url);
        let kind = FailureKind::Http(status.as_u16());
        if is_retryable(status) {
            Err(Failure::throttled(kind, retry_after, message))
        } else {
            Err(Failure::permanent(kind, message))
        }
    }
}

/// The specification's retryable HTTP responses.
fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` is either delay-seconds or an HTTP date.
fn parse_retry_after(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static("3")),
            Some(Duration::from_secs(3))
        );
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let parsed = parse_retry_after(&HeaderValue::from_str(&soon).unwrap()).unwrap();
        assert!(parsed > Duration::from_secs(25) && parsed <= Duration::from_secs(30));
        assert_eq!(parse_retry_after(&HeaderValue::from_static("soon")), None);
    }

    #[test]
    fn only_the_specified_statuses_are_retried() {
        for code in [429, 502, 503, 504] {
            assert!(is_retryable(StatusCode::from_u16(code).unwrap()));
        }
        for code in [400, 401, 403, 404, 413, 500] {
            assert!(!is_retryable(StatusCode::from_u16(code).unwrap()));
        }
    }
}
