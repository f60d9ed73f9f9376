//! The Alibaba Cloud Log Service (SLS) PutLogs protocol, as the official SDKs speak it.
//!
//! Pure Rust and I/O free: the caller brings OTLP log records, gets back ready-to-send
//! requests (path, headers, body), and classifies the replies. The transport, batching
//! queue and retry loop live with the caller.
//!
//! - [`proto`]: the `LogGroup` protobuf messages.
//! - [`mapping`]: an OTel log record becomes an SLS log; its resource becomes LogTags.
//! - [`split`]: log groups within SLS's per-request limits.
//! - [`compress`]: the raw LZ4 block body.
//! - [`sign`]: `Content-MD5`, signature v1 (HMAC-SHA1) and v4 (HMAC-SHA256).
//! - [`request`]: the PutLogs request line, `Host` and headers.
//! - [`response`]: SLS errors, retryable or not.
//! - [`config`]: `OTEL_EXPORTER_SLS_*` / `ALIBABA_CLOUD_*` resolution, redacted credentials.

pub mod compress;
pub mod config;
pub mod mapping;
pub mod proto;
pub mod request;
pub mod response;
pub mod sign;
pub mod split;
