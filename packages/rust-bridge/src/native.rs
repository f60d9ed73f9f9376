//! The fast path into `otel_rust_exporter`'s `RustSpanProcessor`, which lives in another
//! shared object: Rust types and statics are not shared between the two, so they talk
//! through a versioned C ABI in a `PyCapsule` and OTLP protobuf bytes.
//!
//! The other side is `packages/otel-rust-exporter/src/python/bridge.rs`; the struct below
//! must stay identical to its `SpanSinkV1`.

use std::ffi::{c_void, CStr};

use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_sdk::trace::SpanData;
use prost::Message;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

pub(crate) const CAPSULE_NAME: &CStr = c"otel_rust_exporter.span_sink.v1";
const ABI_VERSION: u32 = 1;

/// Result codes of `push_span`.
pub(crate) const QUEUED: u32 = 0;

#[repr(C)]
pub(crate) struct SpanSinkV1 {
    pub version: u32,
    pub sink: *const c_void,
    /// Queues one encoded `opentelemetry.proto.trace.v1.Span`; any thread, no GIL. Returns
    /// 0 when queued, 1 when dropped (queue full, shut down), 2 for undecodable bytes, 3 for
    /// an internal error. The sink counts every drop itself.
    pub push_span: unsafe extern "C" fn(sink: *const c_void, span: *const u8, len: usize) -> u32,
}

pub(crate) struct NativeSink {
    abi: *const SpanSinkV1,
    /// Owns what `abi` points to.
    _capsule: Py<PyCapsule>,
}

// SAFETY: the sink is documented as callable from any thread without the GIL, and the
// capsule keeping it alive is only dropped through pyo3's reference handling.
unsafe impl Send for NativeSink {}
unsafe impl Sync for NativeSink {}

impl NativeSink {
    pub(crate) fn from_capsule(capsule: Bound<'_, PyCapsule>) -> Option<Self> {
        let pointer = capsule.pointer_checked(Some(CAPSULE_NAME)).ok()?;
        let abi = pointer.as_ptr() as *const SpanSinkV1;
        // SAFETY: a capsule of this name holds a `SpanSinkV1`; the version is its first field.
        if unsafe { (*abi).version } != ABI_VERSION {
            return None;
        }
        Some(Self {
            abi,
            _capsule: capsule.unbind(),
        })
    }

    /// Encodes and queues the span; `false` when the sink did not take it.
    pub(crate) fn push(&self, span: SpanData) -> bool {
        let encoded = Span::from(span).encode_to_vec();
        // SAFETY: `abi` stays valid while `_capsule` lives; the callee catches its panics.
        unsafe {
            ((*self.abi).push_span)((*self.abi).sink, encoded.as_ptr(), encoded.len()) == QUEUED
        }
    }
}
