//! The fast path into `otel_rust_exporter`'s `RustSpanProcessor`, which lives in another
//! shared object: Rust types and statics are not shared between the two, so they talk
//! through a versioned C ABI in a `PyCapsule` and OTLP protobuf bytes, defined once for
//! both sides in `otel_rust_contract::span_sink`.

use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_sdk::trace::SpanData;
use otel_rust_contract::span_sink::{Pushed, SpanSinkV1, CAPSULE_NAME};
use prost::Message;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

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
        // SAFETY: a capsule of this name holds a `SpanSinkV1`, alive while we keep it.
        let abi = unsafe { SpanSinkV1::from_capsule_pointer(pointer.as_ptr()) }?;
        Some(Self {
            abi,
            _capsule: capsule.unbind(),
        })
    }

    /// Encodes and queues the span; `false` when the sink did not take it.
    pub(crate) fn push(&self, span: SpanData) -> bool {
        let encoded = Span::from(span).encode_to_vec();
        // SAFETY: `abi` stays valid while `_capsule` lives; the callee catches its panics.
        unsafe { (*self.abi).push(&encoded) == Pushed::Queued }
    }
}
