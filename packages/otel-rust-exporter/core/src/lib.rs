//! The core of otel-rust-exporter, free of PyO3: the bounded pipeline, the OTLP client
//! and the delivery policy every sink uses, the transports, configuration, the per-process
//! runtime and request building. The extension (`otel_rust_exporter._native`) reads
//! Python objects into [`records`] and installs the [`diagnostics`] sink.

pub mod config;
pub mod diagnostics;
pub mod otlp;
pub mod pipeline;
pub mod records;
pub mod redact;
pub mod request;
pub mod retry;
pub mod runtime;
pub mod self_metrics;
pub mod spool;
pub mod transport;
pub mod wire;
