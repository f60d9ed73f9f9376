//! Everything Alibaba Cloud Log Service (SLS) in Rust: the PutLogs protocol as the official
//! SDKs speak it (I/O free: OTLP log records in, ready-to-send requests out, replies
//! classified), the exporter that sends it on otel_rust_core's pipeline, and the SLS OTLP
//! preset; with the `python` feature, its Python classes ([`python`]), which the one
//! extension module registers.
//!
//! - [`exporter`]: `SlsExporter`, the pipeline's `BatchExport` for log records.
//! - [`preset`]: the `SLS_OTEL_*` OTLP preset, an environment layer under `OTEL_*`.
//! - [`proto`]: the `LogGroup` protobuf messages.
//! - [`mapping`]: an OTel log record becomes an SLS log; its resource becomes LogTags.
//! - [`split`]: log groups within SLS's per-request limits.
//! - [`compress`]: the raw LZ4 block body.
//! - [`sign`]: `Content-MD5`, signature v1 (HMAC-SHA1) and v4 (HMAC-SHA256).
//! - [`request`]: the PutLogs request line, `Host` and headers.
//! - [`response`]: SLS errors, retryable or not.
//! - [`config`]: `OTEL_EXPORTER_SLS_*` / `ALIBABA_CLOUD_*` resolution, redacted credentials.
//! - [`python`]: `SlsOptions`, the processor and exporter cores, and `check`'s SLS part.

pub mod compress;
pub mod config;
pub mod exporter;
pub mod mapping;
pub mod preset;
pub mod proto;
#[cfg(feature = "python")]
pub mod python;
pub mod request;
pub mod response;
pub mod sign;
pub mod split;
