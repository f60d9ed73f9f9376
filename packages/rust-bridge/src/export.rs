//! From finished Rust spans to the Python side's pipeline.
//!
//! The OpenTelemetry SDK (Rust) calls [`BridgeProcessor::on_end`] on the thread that ended
//! the span. With a native sink the span is encoded and queued there, without the GIL.
//! Otherwise it waits in a bounded queue until a batch is delivered under the GIL: when
//! the bridged call returns to Python ([`crate::ParentGuard`]), when a batch fills up, or
//! after the schedule delay (a background thread per process).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, Thread};
use std::time::{Duration, UNIX_EPOCH};

use crossbeam_queue::ArrayQueue;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, TraceId, TraceState};
use opentelemetry::{Array, Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::python;
use crate::target::{self, Target, TargetTag};
use otel_rust_contract::per_process::{self, PerProcess};

/// The span attribute that carries the target from `on_start` to `on_end` (the SDK passes
/// nothing else along); removed before export.
const TARGET_ATTRIBUTE: &str = "otel_rust_bridge.target";
const BATCH_SIZE: usize = 512;

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    handed_native: AtomicU64,
    dropped: AtomicU64,
    reported_drops: AtomicU64,
}

static COUNTERS: Counters = Counters {
    delivered: AtomicU64::new(0),
    handed_native: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
    reported_drops: AtomicU64::new(0),
};

/// Counters since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BridgeStats {
    /// Spans handed to Python span processors.
    pub delivered: u64,
    /// Spans queued straight into `RustSpanProcessor`.
    pub handed_native: u64,
    /// Spans lost: queue full, no target, or refused by the native sink.
    pub dropped: u64,
}

pub fn stats() -> BridgeStats {
    BridgeStats {
        delivered: COUNTERS.delivered.load(Ordering::Relaxed),
        handed_native: COUNTERS.handed_native.load(Ordering::Relaxed),
        dropped: COUNTERS.dropped.load(Ordering::Relaxed),
    }
}

fn count_drop() {
    COUNTERS.dropped.fetch_add(1, Ordering::Relaxed);
}

/// Python decides: a Rust span is recorded when its Python parent was sampled, or, with no
/// Python parent, when there is a provider to send it to. Rust spans below a Rust parent
/// follow that parent.
#[derive(Clone, Debug)]
pub(crate) struct FollowPython;

impl ShouldSample for FollowPython {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        let parent = parent_context
            .filter(|cx| cx.has_active_span())
            .map(|cx| cx.span().span_context().clone())
            .filter(|parent| parent.is_valid());
        let recorded = match &parent {
            Some(parent) => parent.is_sampled(),
            None => parent_context.is_some_and(|cx| cx.get::<TargetTag>().is_some()),
        };
        SamplingResult {
            decision: if recorded {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state: parent
                .map_or_else(TraceState::default, |parent| parent.trace_state().clone()),
        }
    }
}

#[derive(Debug)]
pub(crate) struct BridgeProcessor;

impl SpanProcessor for BridgeProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        if let Some(tag) = cx.get::<TargetTag>() {
            opentelemetry::trace::Span::set_attribute(
                span,
                KeyValue::new(TARGET_ATTRIBUTE, i64::from(tag.0)),
            );
        }
    }

    fn on_end(&self, mut span: SpanData) {
        let Some(target) = take_target(&mut span.attributes) else {
            count_drop();
            return;
        };
        match target::get(target).and_then(|found| found.native.is_some().then_some(found)) {
            Some(found) => {
                let native = found.native.as_ref().expect("checked above");
                if native.push(span) {
                    COUNTERS.handed_native.fetch_add(1, Ordering::Relaxed);
                } else {
                    count_drop();
                }
            }
            None => outbox().push(target, span),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn take_target(attributes: &mut Vec<KeyValue>) -> Option<TargetTag> {
    let position = attributes
        .iter()
        .rposition(|attribute| attribute.key.as_str() == TARGET_ATTRIBUTE)?;
    match attributes.remove(position).value {
        Value::I64(index) => u32::try_from(index).ok().map(TargetTag),
        _ => None,
    }
}

/// Spans waiting for the GIL, with the thread that delivers them when nobody else does.
struct Outbox {
    queue: ArrayQueue<(TargetTag, SpanData)>,
    worker: Thread,
}

static OUTBOX: PerProcess<Outbox> = PerProcess::new();

fn outbox() -> Arc<Outbox> {
    OUTBOX.get(|| {
        let config = crate::config();
        let delay = config.schedule_delay;
        let worker = thread::Builder::new()
            .name("otel-rust-bridge".into())
            .spawn(move || deliver_periodically(delay))
            .expect("the OS refused to start the bridge thread");
        Arc::new(Outbox {
            queue: ArrayQueue::new(config.max_queue_size.max(1)),
            worker: worker.thread().clone(),
        })
    })
}

impl Outbox {
    fn push(&self, target: TargetTag, span: SpanData) {
        if self.queue.push((target, span)).is_err() {
            count_drop();
            return;
        }
        if self.queue.len() >= BATCH_SIZE {
            self.worker.unpark();
        }
    }
}

fn deliver_periodically(delay: Duration) {
    let born_in = per_process::generation();
    loop {
        thread::park_timeout(delay);
        if python::exiting() || per_process::generation() != born_in {
            return;
        }
        let waiting = OUTBOX
            .existing()
            .is_some_and(|outbox| !outbox.queue.is_empty());
        if waiting {
            // `None` while the interpreter shuts down: nothing left to deliver to.
            Python::try_attach(deliver_pending);
        }
    }
}

/// Hands every waiting span to its Python span processor, a batch per target at a time.
/// Never raises.
pub(crate) fn deliver_pending(py: Python<'_>) {
    let Some(outbox) = OUTBOX.existing() else {
        return;
    };
    while !outbox.queue.is_empty() {
        let mut batch: Vec<(TargetTag, SpanData)> = Vec::with_capacity(BATCH_SIZE);
        while batch.len() < BATCH_SIZE {
            match outbox.queue.pop() {
                Some(item) => batch.push(item),
                None => break,
            }
        }
        while !batch.is_empty() {
            let tag = batch[0].0;
            let (same, rest): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(t, _)| *t == tag);
            batch = rest;
            let count = same.len() as u64;
            let delivered = target::get(tag)
                .map(|found| emit(py, &found, same.into_iter().map(|(_, span)| span)));
            match delivered {
                Some(Ok(())) => COUNTERS.delivered.fetch_add(count, Ordering::Relaxed),
                Some(Err(error)) => {
                    python::warn(py, &format!("could not hand Rust spans to Python: {error}"));
                    COUNTERS.dropped.fetch_add(count, Ordering::Relaxed)
                }
                None => COUNTERS.dropped.fetch_add(count, Ordering::Relaxed),
            };
        }
    }
    report_drops(py);
}

fn report_drops(py: Python<'_>) {
    let dropped = COUNTERS.dropped.load(Ordering::Relaxed);
    let reported = COUNTERS.reported_drops.swap(dropped, Ordering::Relaxed);
    if dropped > reported {
        python::warn(
            py,
            &format!("{dropped} Rust spans dropped so far (queue full or no Python provider)"),
        );
    }
}

fn emit(py: Python<'_>, target: &Target, spans: impl Iterator<Item = SpanData>) -> PyResult<()> {
    let records = PyList::empty(py);
    for span in spans {
        records.append(record(py, span)?)?;
    }
    python::api(py)?.emit.bind(py).call1((
        target.processor.bind(py),
        target.resource.bind(py),
        target.scope.bind(py),
        records,
    ))?;
    Ok(())
}

fn nanos(time: std::time::SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos().min(u64::MAX as u128) as u64)
}

/// The tuple `emit` unpacks (see `python::EMIT_SOURCE`).
fn record<'py>(py: Python<'py>, span: SpanData) -> PyResult<Bound<'py, PyTuple>> {
    let context = &span.span_context;
    let kind = match span.span_kind {
        SpanKind::Internal => 0,
        SpanKind::Server => 1,
        SpanKind::Client => 2,
        SpanKind::Producer => 3,
        SpanKind::Consumer => 4,
    };
    let (code, description) = match &span.status {
        Status::Unset => (0, String::new()),
        Status::Ok => (1, String::new()),
        Status::Error { description } => (2, description.to_string()),
    };
    let state = context.trace_state().header();
    let parent = u64::from_be_bytes(span.parent_span_id.to_bytes());
    let events = PyList::empty(py);
    for event in span.events.iter() {
        events.append((
            event.name.as_ref(),
            nanos(event.timestamp),
            attributes(py, &event.attributes)?,
        ))?;
    }
    let links = PyList::empty(py);
    for link in span.links.iter() {
        let linked = &link.span_context;
        links.append((
            u128::from_be_bytes(linked.trace_id().to_bytes()),
            u64::from_be_bytes(linked.span_id().to_bytes()),
            linked.trace_flags().to_u8(),
            linked.is_remote(),
            attributes(py, &link.attributes)?,
        ))?;
    }
    let ids = (
        u128::from_be_bytes(context.trace_id().to_bytes()),
        u64::from_be_bytes(context.span_id().to_bytes()),
        context.trace_flags().to_u8(),
        (!state.is_empty()).then_some(state),
        parent,
        span.parent_span_is_remote,
    );
    (
        span.name.as_ref(),
        ids,
        kind,
        nanos(span.start_time),
        nanos(span.end_time),
        attributes(py, &span.attributes)?,
        events,
        links,
        (code, description),
    )
        .into_pyobject(py)
}

fn attributes<'py>(py: Python<'py>, attributes: &[KeyValue]) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for attribute in attributes {
        dict.set_item(attribute.key.as_str(), value(py, &attribute.value)?)?;
    }
    Ok(dict)
}

fn value<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Bool(flag) => flag.into_pyobject(py)?.to_owned().into_any(),
        Value::I64(number) => number.into_pyobject(py)?.into_any(),
        Value::F64(number) => number.into_pyobject(py)?.into_any(),
        Value::String(text) => text.as_str().into_pyobject(py)?.into_any(),
        Value::Array(Array::Bool(items)) => PyTuple::new(py, items)?.into_any(),
        Value::Array(Array::I64(items)) => PyTuple::new(py, items)?.into_any(),
        Value::Array(Array::F64(items)) => PyTuple::new(py, items)?.into_any(),
        Value::Array(Array::String(items)) => {
            PyTuple::new(py, items.iter().map(|item| item.as_str()))?.into_any()
        }
        // `Value` is non-exhaustive; anything newer goes over as its display form.
        other => other.to_string().into_pyobject(py)?.into_any(),
    })
}
