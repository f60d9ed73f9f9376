//! OTLP transports. Both take an already encoded protobuf request, so encoding happens once
//! per batch however often it is retried.

mod grpc;
mod http;
mod shared;

use std::time::Duration;

use bytes::Bytes;

use crate::config::{OtlpConfig, Protocol, Signal};
use crate::retry::{Failure, FailureKind};

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

fn read_file(what: &str, path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path)
        .map_err(|error| format!("cannot read the {what} file {}: {error}", path.display()))
}

/// A request that got no answer: a transient failure, unless it could not even be made
/// (a malformed URL), which no retry will change.
pub fn request_failure(url: &str, error: &reqwest::Error) -> Failure {
    let message = format!("POST {url} failed: {}", error_chain(error));
    if error.is_builder() {
        Failure::permanent(FailureKind::Configuration, message)
    } else if error.is_timeout() {
        Failure::transient(FailureKind::Timeout, message)
    } else {
        Failure::transient(FailureKind::Connection, message)
    }
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
