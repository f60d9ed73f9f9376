//! Everything the bridge reads from or calls in Python, looked up once per interpreter.
//!
//! [`crate::init`] fills the cache while the extension module is imported: filling it later
//! can release the GIL, and a `fork()` at that moment would leave the child waiting for a
//! cache that the parent's other thread was filling.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyTuple};

/// Turns batches of finished Rust spans into SDK `ReadableSpan`s and hands them to a
/// provider's span processor, in one call per batch.
const EMIT_SOURCE: &str = r#"
import logging

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

_KINDS = (SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER)
_CODES = (StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR)
_logger = logging.getLogger("otel_rust_bridge")


def emit(processor, resource, scope, records):
    for name, ids, kind, start, end, attributes, events, links, (code, description) in records:
        trace_id, span_id, flags, state, parent_id, parent_remote = ids
        trace_state = TraceState.from_header([state]) if state else None
        trace_flags = TraceFlags(flags)
        span = ReadableSpan(
            name=name,
            context=SpanContext(trace_id, span_id, False, trace_flags, trace_state),
            parent=SpanContext(trace_id, parent_id, parent_remote, trace_flags, trace_state)
            if parent_id
            else None,
            resource=resource,
            attributes=attributes,
            events=[Event(event_name, event_attributes, timestamp)
                    for event_name, timestamp, event_attributes in events],
            links=[Link(SpanContext(link_trace, link_span, link_remote, TraceFlags(link_flags)),
                        link_attributes)
                   for link_trace, link_span, link_flags, link_remote, link_attributes in links],
            kind=_KINDS[kind],
            status=Status(_CODES[code], description or None),
            start_time=start,
            end_time=end,
            instrumentation_scope=scope,
        )
        try:
            processor.on_end(span)
        except Exception:
            _logger.exception("a span processor failed on a Rust span")
"#;

pub(crate) struct PythonApi {
    pub get_current_span: Py<PyAny>,
    pub get_tracer_provider: Py<PyAny>,
    pub instrumentation_scope: Py<PyAny>,
    pub emit: Py<PyAny>,
    pub logger: Py<PyAny>,
}

static API: PyOnceLock<PythonApi> = PyOnceLock::new();

pub(crate) fn api(py: Python<'_>) -> PyResult<&PythonApi> {
    API.get_or_try_init(py, || {
        let trace = py.import("opentelemetry.trace")?;
        let emit = PyModule::from_code(
            py,
            &CString::new(EMIT_SOURCE)?,
            c"otel_rust_bridge_emit.py",
            c"otel_rust_bridge_emit",
        )?;
        Ok(PythonApi {
            get_current_span: trace.getattr("get_current_span")?.unbind(),
            get_tracer_provider: trace.getattr("get_tracer_provider")?.unbind(),
            instrumentation_scope: py
                .import("opentelemetry.sdk.util.instrumentation")?
                .getattr("InstrumentationScope")?
                .unbind(),
            emit: emit.getattr("emit")?.unbind(),
            logger: py
                .import("logging")?
                .call_method1("getLogger", ("otel_rust_bridge",))?
                .unbind(),
        })
    })
}

/// The fields of an API `SpanContext` (a tuple: trace_id, span_id, is_remote, trace_flags,
/// trace_state).
pub(crate) struct PythonSpanContext {
    pub trace_id: u128,
    pub span_id: u64,
    pub trace_flags: u8,
    pub trace_state: Vec<(String, String)>,
}

impl PythonSpanContext {
    pub(crate) fn read(context: &Bound<'_, PyAny>) -> PyResult<Self> {
        let fields = context.cast::<PyTuple>()?;
        let state = fields.get_item(4)?;
        let trace_state = if state.is_none() || state.len()? == 0 {
            Vec::new()
        } else {
            state
                .call_method0("items")?
                .try_iter()?
                .map(|item| item?.extract())
                .collect::<PyResult<_>>()?
        };
        Ok(Self {
            trace_id: fields.get_item(0)?.extract()?,
            span_id: fields.get_item(1)?.extract()?,
            trace_flags: fields.get_item(3)?.extract()?,
            trace_state,
        })
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.trace_id != 0 && self.span_id != 0
    }

    pub(crate) fn is_sampled(&self) -> bool {
        self.trace_flags & 1 == 1
    }
}

static WARNED_AT: Mutex<Option<Instant>> = Mutex::new(None);
static EXITING: AtomicBool = AtomicBool::new(false);

/// At interpreter exit: no more calls into Python from our threads.
pub(crate) fn mark_exiting() {
    EXITING.store(true, Ordering::SeqCst);
}

pub(crate) fn exiting() -> bool {
    EXITING.load(Ordering::SeqCst)
}

/// One warning on the `otel_rust_bridge` logger, at most every 10 s; never raises.
pub(crate) fn warn(py: Python<'_>, message: &str) {
    {
        let mut last = WARNED_AT
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < Duration::from_secs(10)) {
            return;
        }
        *last = Some(now);
    }
    let logged = api(py).and_then(|api| api.logger.bind(py).call_method1("warning", (message,)));
    if logged.is_err() {
        eprintln!("otel_rust_bridge: {message}");
    }
}
