//! Copies Python SDK objects into OTLP protobuf structs while the caller holds the GIL.
//!
//! This is the only code that reads Python objects; everything downstream is plain Rust.

pub mod attributes;
pub mod fields;
pub mod log_record;
pub mod metrics;
pub mod names;
pub mod scope;
pub mod span;
mod text;
