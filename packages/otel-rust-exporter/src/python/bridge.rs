//! The span sink that `otel_rust_bridge` (a Rust library linked into *other* extension
//! modules) uses to queue Rust spans into a `RustSpanProcessor` without the GIL.
//!
//! Two shared objects share no Rust types or statics, so the contract is a versioned C
//! ABI in a `PyCapsule`, defined once in `otel_rust_contract::span_sink` for both sides.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::Span;
use otel_rust_contract::span_sink::{Pushed, SpanSinkV1, CAPSULE_NAME};
use prost::Message;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use super::batching::Batching;
use crate::diagnostics;
use crate::otlp::BatchExporter;
use crate::records::{EncodedSpan, ScopeGroup};

/// What `sink` points to: the processor's batching and the resource and scope of the
/// bridged spans.
struct Sink {
    batching: Arc<Batching<BatchExporter<EncodedSpan>>>,
    group: Arc<ScopeGroup>,
}

/// The capsule's contents; the table comes first, so the capsule pointer is a table pointer.
#[repr(C)]
struct Capsule {
    table: SpanSinkV1,
    sink: Box<Sink>,
}

// SAFETY: the table points into `sink`, which the capsule owns; `push_span` is safe to
// call from any thread (it reads the per-process pipeline and a lock-free queue).
unsafe impl Send for Capsule {}

/// A capsule queueing spans of `group` (their resource and scope) into `batching`'s
/// pipeline.
pub(super) fn span_sink(
    py: Python<'_>,
    batching: Arc<Batching<BatchExporter<EncodedSpan>>>,
    group: Arc<ScopeGroup>,
) -> PyResult<Bound<'_, PyCapsule>> {
    let sink = Box::new(Sink { batching, group });
    let capsule = Capsule {
        table: SpanSinkV1::new(&*sink as *const Sink as *const c_void, push_span),
        sink,
    };
    PyCapsule::new(py, capsule, Some(CAPSULE_NAME.to_owned()))
}

/// Checks that one encoded `Span` decodes and queues its bytes. Never unwinds into the caller, and never takes the
/// GIL: callers may hold locks that a thread holding the GIL waits for.
unsafe extern "C" fn push_span(sink: *const c_void, span: *const u8, len: usize) -> u32 {
    let push = || {
        if sink.is_null() || span.is_null() {
            return Pushed::InternalError;
        }
        // SAFETY: `sink` is the table's own pointer, alive while the caller holds the
        // capsule; `span` points to `len` bytes for the duration of the call.
        let (sink, bytes) = unsafe {
            (
                &*(sink as *const Sink),
                std::slice::from_raw_parts(span, len),
            )
        };
        // The pipeline is per process: a forked child's first push makes its own.
        let pipeline = sink.batching.pipeline();
        match Span::decode(bytes) {
            // Decoded only to refuse garbage: the bytes queue as they came.
            Ok(_) => {
                let queued = pipeline.push(EncodedSpan::new(sink.group.clone(), bytes.to_vec()));
                if queued {
                    Pushed::Queued
                } else {
                    Pushed::Dropped
                }
            }
            Err(error) => {
                pipeline.count_unreadable(&format!(
                    "a bridged Rust span could not be decoded ({error})"
                ));
                Pushed::Undecodable
            }
        }
    };
    diagnostics::deferring(|| catch_unwind(AssertUnwindSafe(push)).unwrap_or(Pushed::InternalError))
        as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::batching::BatchOptions;
    use crate::python::options::OtlpOptions;
    use crate::python::trace::SpanProcessorCore;

    /// A span processor core made with `batching` arguments, and the sink's capsule from its
    /// public `span_sink` method.
    fn processor_and_sink<'py>(
        py: Python<'py>,
        batching: Option<&Bound<'py, pyo3::types::PyDict>>,
    ) -> (Bound<'py, SpanProcessorCore>, Bound<'py, PyCapsule>) {
        let batching = py.get_type::<BatchOptions>().call((), batching).unwrap();
        let options = Py::new(
            py,
            OtlpOptions {
                given: Default::default(),
            },
        )
        .unwrap();
        let core = py
            .get_type::<SpanProcessorCore>()
            .call1((options, batching))
            .unwrap()
            .cast_into::<SpanProcessorCore>()
            .unwrap();
        let none = py.None().into_bound(py);
        let capsule = core
            .call_method1("span_sink", (&none, &none))
            .unwrap()
            .cast_into::<PyCapsule>()
            .unwrap();
        (core, capsule)
    }

    /// The table, read as the bridge reads it.
    fn table_of(capsule: &Bound<'_, PyCapsule>) -> *const SpanSinkV1 {
        let pointer = capsule
            .pointer_checked(Some(CAPSULE_NAME))
            .unwrap()
            .as_ptr();
        // SAFETY: the capsule has the contract's name and is alive.
        unsafe { SpanSinkV1::from_capsule_pointer(pointer) }.unwrap()
    }

    #[test]
    fn the_sink_queues_decoded_spans_and_refuses_garbage() {
        Python::initialize();
        Python::attach(|py| {
            let (core, capsule) = processor_and_sink(py, None);
            let table = table_of(&capsule);
            let encoded = Span {
                name: "bridged".into(),
                ..Default::default()
            }
            .encode_to_vec();
            // SAFETY: the table lives as long as `capsule`.
            let (queued, garbage) =
                unsafe { ((*table).push(&encoded), (*table).push(&[0xff, 0xff])) };
            assert_eq!(queued, Pushed::Queued);
            assert_eq!(garbage, Pushed::Undecodable);
            let stats = core.call_method0("stats").unwrap();
            // Accepted, not necessarily still queued: the drop wakes the batching task.
            assert_eq!(
                stats
                    .get_item("accepted")
                    .unwrap()
                    .extract::<u64>()
                    .unwrap(),
                1
            );
            assert_eq!(
                stats.get_item("dropped").unwrap().extract::<u64>().unwrap(),
                1
            );
        });
    }

    /// An extension's worker ends spans while holding its own lock, while its
    /// Python-facing method holds the GIL waiting for that lock: a drop warning that
    /// took the GIL would hang both threads forever.
    #[test]
    fn the_sink_never_takes_the_gil_even_when_it_drops() {
        // No backlog: a full queue overflows instead of being cut into it. (The other
        // tests here make pipelines that never fill their queue.)
        std::env::set_var(otel_rust_core::config::MAX_BACKLOG_BYTES_VAR, "1");
        Python::initialize();
        Python::attach(|py| {
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("max_queue_size", 1).unwrap();
            kwargs.set_item("schedule_delay_millis", 600_000.0).unwrap();
            kwargs.set_item("max_export_batch_size", 1).unwrap();
            let (core, capsule) = processor_and_sink(py, Some(&kwargs));
            let table = table_of(&capsule) as usize;
            let (done, finished) = std::sync::mpsc::channel();
            // This thread keeps the GIL while the "worker" pushes (and overflows).
            std::thread::spawn(move || {
                let encoded = Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "overflowing".into(),
                    ..Default::default()
                }
                .encode_to_vec();
                // SAFETY: the capsule outlives the thread's use (the test waits for it).
                let codes: Vec<Pushed> = unsafe {
                    let table = &*(table as *const SpanSinkV1);
                    (0..200).map(|_| table.push(&encoded)).collect()
                };
                done.send(codes).unwrap();
            });
            let codes = finished
                .recv_timeout(std::time::Duration::from_secs(20))
                .expect("push_span blocked waiting for the GIL");
            assert!(codes.contains(&Pushed::Dropped));
            let stats = core.call_method0("stats").unwrap();
            assert!(stats.get_item("dropped").unwrap().extract::<u64>().unwrap() > 0);
        });
    }
}
