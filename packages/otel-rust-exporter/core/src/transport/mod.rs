//! OTLP transports. Both take an already encoded protobuf request, so encoding happens once
//! per batch however often it is retried.

mod grpc;
mod http;
mod shared;

use std::time::Duration;

use bytes::Bytes;

use crate::config::{OtlpConfig, Protocol, Signal};
use crate::redact::Redactor;
use crate::retry::{Failure, FailureKind};

/// The most of a response body we read: plenty for an error excerpt or a partial-success
/// message, and a bound on what a hostile or broken server can make us hold.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Characters of a server's text (error body, status message) shown in our messages.
pub const EXCERPT_CHARS: usize = 200;

/// Named like the stock Python exporters' agent, so collectors can tell us apart.
const USER_AGENT: &str = concat!("OTel-OTLP-Exporter-Python-Rust/", env!("CARGO_PKG_VERSION"));

pub enum Transport {
    Http(http::HttpTransport),
    Grpc(grpc::GrpcTransport),
}

impl Transport {
    /// Must run inside the runtime: the gRPC channel starts its connection task there.
    pub fn new(config: &OtlpConfig, signal: Signal) -> Result<Self, String> {
        Ok(match config.protocol {
            Protocol::HttpProtobuf => Transport::Http(http::HttpTransport::new(config)?),
            Protocol::Grpc => Transport::Grpc(grpc::GrpcTransport::new(config, signal)?),
        })
    }

    /// Turns an encoded request into what goes on the wire (HTTP compresses here; gRPC
    /// compresses per message inside tonic).
    pub fn prepare(&self, encoded: Vec<u8>) -> Result<Bytes, Failure> {
        match self {
            Transport::Http(http) => http.prepare(encoded),
            Transport::Grpc(_) => Ok(Bytes::from(encoded)),
        }
    }

    /// Whether `prepare` compresses the body (as a spooled body records it).
    pub fn gzips(&self) -> bool {
        matches!(self, Transport::Http(http) if http.gzips())
    }

    /// A spooled body (gzipped or not, as `gzipped` says) as this transport sends it now:
    /// the configuration may have changed since it was written.
    pub fn prepare_spooled(&self, body: Vec<u8>, gzipped: bool) -> Result<Bytes, Failure> {
        if gzipped == self.gzips() {
            return Ok(Bytes::from(body));
        }
        if !gzipped {
            return self.prepare(body);
        }
        let mut encoded = Vec::with_capacity(body.len() * 4);
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut encoded)
            .map_err(|error| {
                Failure::permanent(FailureKind::Encoding, format!("gunzip failed: {error}"))
            })?;
        self.prepare(encoded)
    }

    /// Scrubs this exporter's secrets (header values, userinfo) from a server's text.
    pub fn redactor(&self) -> &Redactor {
        match self {
            Transport::Http(http) => &http.redactor,
            Transport::Grpc(grpc) => &grpc.redactor,
        }
    }

    /// One attempt; the response is decoded as the signal's `Export*ServiceResponse`.
    pub async fn send<R>(&self, payload: Bytes, timeout: Duration) -> Result<R, Failure>
    where
        R: prost::Message + Default + Send + 'static,
    {
        match self {
            Transport::Http(http) => http.send(payload, timeout).await,
            Transport::Grpc(grpc) => grpc.send(payload, timeout).await,
        }
    }
}

/// Why `config`'s endpoint cannot be sent to at all; the transport refuses it when built,
/// and `check` says so before probing the network.
pub fn endpoint_problem(config: &OtlpConfig) -> Option<String> {
    match config.protocol {
        Protocol::HttpProtobuf => http::endpoint_problem(config),
        Protocol::Grpc => grpc::endpoint_problem(config),
    }
}

fn read_file(what: &str, path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path)
        .map_err(|error| format!("cannot read the {what} file {}: {error}", path.display()))
}

/// A request that got no answer: a transient failure, unless it could not even be made
/// (a malformed URL), which no retry will change. reqwest's error would show the URL with
/// its userinfo: `url` is shown instead, and the causes are scrubbed.
pub fn request_failure(url: &str, error: reqwest::Error, redactor: &Redactor) -> Failure {
    let (builder, timeout) = (error.is_builder(), error.is_timeout());
    let error = error.without_url();
    let message = format!(
        "POST {url} failed: {}",
        redactor.scrub(&error_chain(&error))
    );
    if builder {
        Failure::permanent(FailureKind::Configuration, message)
    } else if timeout {
        Failure::transient(FailureKind::Timeout, message)
    } else {
        Failure::transient(FailureKind::Connection, message)
    }
}

/// How reading a response body ended.
pub enum BodyEnd {
    Complete,
    /// Longer than [`BODY_LIMIT`]: the rest was not read and the connection is dropped.
    Truncated,
    /// The connection failed or timed out mid-body.
    Broken(String),
}

/// At most [`BODY_LIMIT`] bytes of `response`'s body, read chunk by chunk so that an
/// endless or huge body costs no more; the response (and its connection) is dropped after.
pub async fn read_capped(mut response: reqwest::Response) -> (Vec<u8>, BodyEnd) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = BODY_LIMIT - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    return (body, BodyEnd::Truncated);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return (body, BodyEnd::Complete),
            Err(error) => return (body, BodyEnd::Broken(error_chain(&error.without_url()))),
        }
    }
}

/// Why a 2xx whose body was cut at [`BODY_LIMIT`] or broke mid-read is no success: no
/// export reply is that long, and a broken one may not come from a server that took the
/// request. Both are transient. `None` for a complete body.
pub fn unusable_success(
    url: &str,
    status: reqwest::StatusCode,
    end: BodyEnd,
    redactor: &Redactor,
) -> Option<Failure> {
    match end {
        BodyEnd::Complete => None,
        BodyEnd::Truncated => Some(Failure::transient(
            FailureKind::Http(status.as_u16()),
            format!(
                "POST {url} answered {status} with a body over {} KiB, which no export reply \
                 needs; the export is not counted as delivered",
                BODY_LIMIT / 1024
            ),
        )),
        BodyEnd::Broken(error) => Some(Failure::transient(
            FailureKind::Connection,
            format!(
                "POST {url} answered {status} but its body failed: {}",
                redactor.excerpt(&error, EXCERPT_CHARS)
            ),
        )),
    }
}

/// A 3xx: redirects are never followed (they could carry our headers to another host), so
/// this is one permanent failure naming the status and where it pointed (its host only:
/// the rest of a Location may hold credentials or tokens).
pub fn redirect_failure(url: &str, response: &reqwest::Response) -> Failure {
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|location| response.url().join(location).ok());
    let towards = match location.as_ref().and_then(|url| url.host_str()) {
        Some(host) => format!("towards host {host}"),
        None => "without a usable Location".to_owned(),
    };
    Failure::permanent(
        FailureKind::Redirect,
        format!("POST {url} answered {status} {towards}; redirects are not followed"),
    )
}

/// The error with its causes, which hold what went wrong (refused, DNS, TLS).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
