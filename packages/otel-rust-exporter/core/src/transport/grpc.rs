//! OTLP/gRPC: the signal's `Export` RPC, sending a request that is already encoded.

use std::error::Error;
use std::marker::PhantomData;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::shared::{ConnectionKey, SharedConnections};
use super::{read_file, BODY_LIMIT, EXCERPT_CHARS};
use crate::config::{self, Compression, OtlpConfig, Signal};
use crate::diagnostics;
use crate::redact::Redactor;
use crate::retry::{Failure, FailureKind};

static CHANNELS: SharedConnections<Channel> = SharedConnections::new();

pub struct GrpcTransport {
    channel: Channel,
    path: PathAndQuery,
    metadata: Vec<(
        MetadataKey<tonic::metadata::Ascii>,
        MetadataValue<tonic::metadata::Ascii>,
    )>,
    compression: Compression,
    target: String,
    pub(super) redactor: Redactor,
}

impl GrpcTransport {
    pub fn new(config: &OtlpConfig, signal: Signal) -> Result<Self, String> {
        if let Some(problem) = endpoint_problem(config) {
            return Err(problem);
        }
        let tls = config.grpc_uses_tls();
        let uri = target_uri(config);
        let key = ConnectionKey {
            target: uri.clone(),
            certificate_file: config.certificate_file.clone(),
            client_key_file: config.client_key_file.clone(),
            client_certificate_file: config.client_certificate_file.clone(),
            connect_timeout_millis: config.timeout.as_millis(),
        };
        let channel = CHANNELS.get_or_make(key, || connect(config, &uri, tls))?;
        let mut metadata = Vec::new();
        for (key, value) in &config.headers {
            match (
                MetadataKey::from_bytes(key.as_bytes()),
                value.parse::<MetadataValue<_>>(),
            ) {
                (Ok(key), Ok(value)) => metadata.push((key, value)),
                _ => {
                    diagnostics::warn(&format!("ignoring header {key:?}: not valid gRPC metadata"))
                }
            }
        }
        let path = match signal {
            Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        };
        Ok(Self {
            channel,
            path: PathAndQuery::from_static(path),
            metadata,
            compression: config.compression,
            target: uri,
            redactor: config.redactor(),
        })
    }

    pub async fn send<R>(&self, payload: Bytes, timeout: Duration) -> Result<R, Failure>
    where
        R: prost::Message + Default + Send + 'static,
    {
        // No export response comes near this; bounds what a server can make us buffer.
        let mut client =
            tonic::client::Grpc::new(self.channel.clone()).max_decoding_message_size(BODY_LIMIT);
        if self.compression == Compression::Gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        let mut request = tonic::Request::new(payload);
        request.set_timeout(timeout);
        for (key, value) in &self.metadata {
            request.metadata_mut().insert(key.clone(), value.clone());
        }
        let call = async {
            client
                .ready()
                .await
                .map_err(|error| Status::unavailable(format!("connection failed: {error}")))?;
            client
                .unary(request, self.path.clone(), PreEncoded::<R>(PhantomData))
                .await
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(classify(&status, &self.target, &self.redactor)),
            Err(_) => Err(Failure::transient(
                FailureKind::Timeout,
                format!("export to {} timed out", self.target),
            )),
        }
    }
}

/// The endpoint with a scheme (`https` unless TLS is off).
fn target_uri(config: &OtlpConfig) -> String {
    match config.endpoint.split_once("://") {
        Some(_) => config.endpoint.clone(),
        None => format!(
            "{}://{}",
            if config.grpc_uses_tls() {
                "https"
            } else {
                "http"
            },
            config.endpoint
        ),
    }
}

/// Why the endpoint cannot be used at all (refused once, when the transport is built).
pub fn endpoint_problem(config: &OtlpConfig) -> Option<String> {
    // gRPC would send it as `:authority`, in clear text to every hop; the specification
    // has no meaning for it, so credentials belong in headers.
    if config::userinfo(&config.endpoint).is_some() {
        return Some(format!(
            "the gRPC endpoint {} has a user:password@ part, which would be sent in clear \
             text as :authority; pass credentials as a header (e.g. authorization) instead",
            config.display_endpoint()
        ));
    }
    match target_uri(config).parse::<http::Uri>() {
        Ok(uri) if uri.host().is_some() => None,
        _ => Some(format!(
            "invalid gRPC endpoint {:?}: not a URI with a host",
            config.display_endpoint()
        )),
    }
}

/// A lazily connecting channel to `uri`, shared by every signal with the same settings.
fn connect(config: &OtlpConfig, uri: &str, tls: bool) -> Result<Channel, String> {
    let mut endpoint = Endpoint::from_shared(uri.to_owned())
        .map_err(|error| {
            format!(
                "invalid gRPC endpoint {:?}: {error}",
                config.display_endpoint()
            )
        })?
        .connect_timeout(config.timeout)
        .tcp_nodelay(true)
        .user_agent(super::USER_AGENT)
        .map_err(|error| format!("invalid user agent: {error}"))?;
    if tls {
        let mut tls_config = ClientTlsConfig::new().with_native_roots();
        if let Some(path) = &config.certificate_file {
            tls_config =
                tls_config.ca_certificate(Certificate::from_pem(read_file("certificate", path)?));
        }
        if let (Some(key), Some(cert)) = (&config.client_key_file, &config.client_certificate_file)
        {
            tls_config = tls_config.identity(Identity::from_pem(
                read_file("client certificate", cert)?,
                read_file("client key", key)?,
            ));
        }
        endpoint = endpoint.tls_config(tls_config).map_err(|error| {
            format!(
                "invalid TLS settings for {}: {error}",
                config.display_endpoint()
            )
        })?;
    }
    Ok(endpoint.connect_lazy())
}

/// The specification's retryable codes; RESOURCE_EXHAUSTED only when the server says when
/// to come back (RetryInfo). A status that tonic made from a broken connection (reset,
/// closed, GOAWAY) carries its cause and is retried like UNAVAILABLE, as stock gRPC does.
/// The server's message is scrubbed of our secrets (it may echo the request's metadata).
/// A 3xx reaches us as UNKNOWN ("mapped from HTTP status code 307"), permanent: gRPC
/// never follows redirects, and neither do we.
fn classify(status: &Status, target: &str, redactor: &Redactor) -> Failure {
    let broken_connection =
        matches!(status.code(), Code::Unknown | Code::Internal) && status.source().is_some();
    let code = if broken_connection {
        Code::Unavailable
    } else {
        status.code()
    };
    let message = format!(
        "export to {target} failed: {:?}: {}",
        status.code(),
        redactor.excerpt(status.message(), EXCERPT_CHARS)
    );
    let retry_after = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay);
    let kind = FailureKind::Grpc(code);
    match code {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => Failure::throttled(kind, retry_after, message),
        Code::ResourceExhausted if retry_after.is_some() => {
            Failure::throttled(kind, retry_after, message)
        }
        _ => Failure::permanent(kind, message),
    }
}

/// Sends `Bytes` as the message body and decodes the reply as `R`.
struct PreEncoded<R>(PhantomData<R>);

impl<R: prost::Message + Default + Send + 'static> Codec for PreEncoded<R> {
    type Encode = Bytes;
    type Decode = R;
    type Encoder = BytesEncoder;
    type Decoder = MessageDecoder<R>;

    fn encoder(&mut self) -> Self::Encoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        MessageDecoder(PhantomData)
    }
}

struct BytesEncoder;

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

struct MessageDecoder<R>(PhantomData<R>);

impl<R: prost::Message + Default> Decoder for MessageDecoder<R> {
    type Item = R;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, Status> {
        let message = R::decode(src.copy_to_bytes(src.remaining()))
            .map_err(|error| Status::internal(format!("undecodable export response: {error}")))?;
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Retry;
    use tonic_types::{ErrorDetails, StatusExt};

    #[test]
    fn resource_exhausted_is_retried_only_with_retry_info() {
        let bare = Status::resource_exhausted("slow down");
        assert_eq!(
            classify(&bare, "t", &Redactor::default()).retry,
            Retry::Never
        );

        let delay = Duration::from_millis(1500);
        let with_info = Status::with_error_details(
            Code::ResourceExhausted,
            "slow down",
            ErrorDetails::with_retry_info(Some(delay)),
        );
        assert_eq!(
            classify(&with_info, "t", &Redactor::default()).retry,
            Retry::After(delay)
        );
    }

    #[test]
    fn only_the_specified_codes_are_retried() {
        for code in [
            Code::Cancelled,
            Code::DeadlineExceeded,
            Code::Aborted,
            Code::OutOfRange,
            Code::Unavailable,
            Code::DataLoss,
        ] {
            assert!(
                classify(&Status::new(code, ""), "t", &Redactor::default()).is_transient(),
                "{code:?}"
            );
        }
        for code in [
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::Internal,
            Code::Unimplemented,
        ] {
            assert!(
                !classify(&Status::new(code, ""), "t", &Redactor::default()).is_transient(),
                "{code:?}"
            );
        }
    }

    #[test]
    fn a_broken_connection_is_retried_but_a_server_sent_unknown_is_not() {
        let reset = Status::from_error(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(reset.code(), Code::Unknown);
        let failure = classify(&reset, "t", &Redactor::default());
        assert!(failure.is_transient());
        assert_eq!(failure.kind, FailureKind::Grpc(Code::Unavailable));
        assert!(!classify(
            &Status::unknown("server says so"),
            "t",
            &Redactor::default()
        )
        .is_transient());
    }
}
