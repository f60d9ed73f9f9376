//! Batches of converted records to OTLP export requests.

pub mod encoded;
pub mod group;
pub mod logs;
pub mod metrics;
pub mod trace;
