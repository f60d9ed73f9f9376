//! What `otel_rust_exporter`'s extension module and `otel-rust-bridge` (linked into other
//! extensions) agree on. Two shared objects share no Rust types or statics, so this crate
//! is compiled into both and is the only definition of each side of the contract.

pub mod per_process;
pub mod span_sink;
