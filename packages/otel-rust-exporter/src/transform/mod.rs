//! Batches of converted records to OTLP export requests.

pub mod trace;
