//! The span sink that `otel_rust_bridge` (a Rust library linked into *other* extension
//! modules) uses to queue Rust spans into a `RustSpanProcessor` without the GIL.
//!
//! Two shared objects share no Rust types or statics, so the contract is a versioned C
//! ABI in a `PyCapsule` named `otel_rust_exporter.span_sink.v1`: a `#[repr(C)]` table of
//! `extern "C"` functions taking OTLP-encoded `Span` messages. The bridge's copy of
//! `SpanSinkV1` (packages/rust-bridge/src/native.rs) must stay identical.

use std::ffi::{c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use super::trace::SpanProcessorCore;
use crate::diagnostics;
use crate::records::{QueuedSpan, ScopeGroup};

const CAPSULE_NAME: &str = "otel_rust_exporter.span_sink.v1";
const ABI_VERSION: u32 = 1;

const QUEUED: u32 = 0;
const DROPPED: u32 = 1;
const UNDECODABLE: u32 = 2;
const INTERNAL_ERROR: u32 = 3;

#[repr(C)]
struct SpanSinkV1 {
    version: u32,
    sink: *const c_void,
    push_span: unsafe extern "C" fn(sink: *const c_void, span: *const u8, len: usize) -> u32,
}

/// What `sink` points to: the processor and the resource and scope of the bridged spans.
struct Sink {
    core: Py<SpanProcessorCore>,
    group: Arc<ScopeGroup>,
}

/// The capsule's contents; the table comes first, so the capsule pointer is a table pointer.
#[repr(C)]
struct Capsule {
    table: SpanSinkV1,
    sink: Box<Sink>,
}

// SAFETY: the table points into `sink`, which the capsule owns; `push_span` is safe to
// call from any thread (it reads a frozen pyclass and a lock-free queue).
unsafe impl Send for Capsule {}

/// A capsule queueing spans with this `resource` and `scope` (SDK objects) into `core`.
pub(super) fn span_sink<'py>(
    core: &Bound<'py, SpanProcessorCore>,
    resource: &Bound<'py, PyAny>,
    scope: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyCapsule>> {
    let group = core.get().scope_group(resource, scope)?;
    let sink = Box::new(Sink {
        core: core.clone().unbind(),
        group,
    });
    let capsule = Capsule {
        table: SpanSinkV1 {
            version: ABI_VERSION,
            sink: &*sink as *const Sink as *const c_void,
            push_span,
        },
        sink,
    };
    PyCapsule::new(core.py(), capsule, Some(CString::new(CAPSULE_NAME)?))
}

/// Decodes one `Span` and queues it. Never unwinds into the caller, and never takes the
/// GIL: callers may hold locks that a thread holding the GIL waits for.
unsafe extern "C" fn push_span(sink: *const c_void, span: *const u8, len: usize) -> u32 {
    let push = || {
        if sink.is_null() || span.is_null() {
            return INTERNAL_ERROR;
        }
        // SAFETY: `sink` is the table's own pointer, alive while the caller holds the
        // capsule; `span` points to `len` bytes for the duration of the call.
        let (sink, bytes) = unsafe {
            (
                &*(sink as *const Sink),
                std::slice::from_raw_parts(span, len),
            )
        };
        // A frozen pyclass is readable without the GIL; the pipeline is per process.
        let pipeline = sink.core.get().pipeline();
        match Span::decode(bytes) {
            Ok(span) => {
                let queued = pipeline.push(QueuedSpan {
                    group: sink.group.clone(),
                    span,
                });
                if queued {
                    QUEUED
                } else {
                    DROPPED
                }
            }
            Err(error) => {
                pipeline.count_unreadable(&format!(
                    "a bridged Rust span could not be decoded ({error})"
                ));
                UNDECODABLE
            }
        }
    };
    diagnostics::deferring(|| catch_unwind(AssertUnwindSafe(push)).unwrap_or(INTERNAL_ERROR))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::options::OtlpOptions;

    #[test]
    fn the_sink_queues_decoded_spans_and_refuses_garbage() {
        Python::initialize();
        Python::attach(|py| {
            let options = Py::new(
                py,
                OtlpOptions {
                    given: Default::default(),
                },
            )
            .unwrap();
            let core = py
                .get_type::<SpanProcessorCore>()
                .call1((options,))
                .unwrap()
                .cast_into::<SpanProcessorCore>()
                .unwrap();
            let none = py.None().into_bound(py);
            let capsule = span_sink(&core, &none, &none).unwrap();
            let table = capsule
                .pointer_checked(Some(&CString::new(CAPSULE_NAME).unwrap()))
                .unwrap()
                .as_ptr() as *const SpanSinkV1;
            let encoded = Span {
                name: "bridged".into(),
                ..Default::default()
            }
            .encode_to_vec();
            // SAFETY: the table lives as long as `capsule`.
            let (queued, garbage) = unsafe {
                let table = &*table;
                assert_eq!(table.version, ABI_VERSION);
                (
                    (table.push_span)(table.sink, encoded.as_ptr(), encoded.len()),
                    (table.push_span)(table.sink, [0xff_u8, 0xff].as_ptr(), 2),
                )
            };
            assert_eq!(queued, QUEUED);
            assert_eq!(garbage, UNDECODABLE);
            let pipeline = core.get().pipeline();
            assert_eq!(pipeline.queued(), 1);
            assert_eq!(
                pipeline
                    .stats
                    .dropped
                    .load(std::sync::atomic::Ordering::SeqCst),
                1
            );
        });
    }

    /// An extension's worker ends spans while holding its own lock, while its
    /// Python-facing method holds the GIL waiting for that lock: a drop warning that
    /// took the GIL would hang both threads forever.
    #[test]
    fn the_sink_never_takes_the_gil_even_when_it_drops() {
        Python::initialize();
        Python::attach(|py| {
            let options = Py::new(
                py,
                OtlpOptions {
                    given: Default::default(),
                },
            )
            .unwrap();
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("max_queue_size", 1).unwrap();
            kwargs.set_item("schedule_delay_millis", 600_000.0).unwrap();
            kwargs.set_item("max_export_batch_size", 1).unwrap();
            let core = py
                .get_type::<SpanProcessorCore>()
                .call((options,), Some(&kwargs))
                .unwrap()
                .cast_into::<SpanProcessorCore>()
                .unwrap();
            let none = py.None().into_bound(py);
            let capsule = span_sink(&core, &none, &none).unwrap();
            let table = capsule
                .pointer_checked(Some(&CString::new(CAPSULE_NAME).unwrap()))
                .unwrap()
                .as_ptr() as usize;
            let (done, finished) = std::sync::mpsc::channel();
            // This thread keeps the GIL while the "worker" pushes (and overflows).
            std::thread::spawn(move || {
                let encoded = Span::default().encode_to_vec();
                // SAFETY: the capsule outlives the thread's use (the test waits for it).
                let codes: Vec<u32> = unsafe {
                    let table = &*(table as *const SpanSinkV1);
                    (0..200)
                        .map(|_| (table.push_span)(table.sink, encoded.as_ptr(), encoded.len()))
                        .collect()
                };
                done.send(codes).unwrap();
            });
            let codes = finished
                .recv_timeout(std::time::Duration::from_secs(20))
                .expect("push_span blocked waiting for the GIL");
            assert!(codes.contains(&DROPPED));
            assert!(
                core.get()
                    .pipeline()
                    .stats
                    .dropped
                    .load(std::sync::atomic::Ordering::SeqCst)
                    > 0
            );
        });
    }
}
