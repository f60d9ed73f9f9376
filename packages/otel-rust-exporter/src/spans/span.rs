//! `NativeSpan`: a recording span whose data lives in Rust from `start_span` to export.
//! Its methods follow the SDK's `Span` (opentelemetry.sdk.trace) rule for rule; Python is
//! only called for what Python asks to see (views) and for Python span processors.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::trace::v1::span;
use prost::Message;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString};

use super::api;
use super::attributes::{key_values_to_dict, warn_full, Attributes, Bounds, Cleaned};
use super::tracer::{ProviderCore, TracerState};
use crate::read::fields::enum_value;
use crate::read::span::{CONTEXT_HAS_IS_REMOTE, CONTEXT_IS_REMOTE};
use crate::records::EncodedSpan;
use crate::wire;

const STATUS_UNSET: i32 = 0;
const STATUS_OK: i32 = 1;
const STATUS_ERROR: i32 = 2;

pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64)
        .unwrap_or(0)
}

/// A span's parent (or a link's target) as the span keeps it.
pub struct ContextData {
    pub trace_id: u128,
    pub span_id: u64,
    pub is_remote: bool,
    pub trace_flags: u8,
    pub trace_state: Option<Py<PyAny>>,
    /// Where it came from, so that Python sees the same object: the parent `NativeSpan`
    /// (whose context is built when first asked for) or the `SpanContext` read.
    pub object: Option<Py<PyAny>>,
}

impl ContextData {
    fn otlp_flags(&self) -> u32 {
        if self.is_remote {
            CONTEXT_HAS_IS_REMOTE | CONTEXT_IS_REMOTE
        } else {
            CONTEXT_HAS_IS_REMOTE
        }
    }

    pub fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(object) = &self.object {
            let object = object.bind(py);
            return match object.cast::<NativeSpan>() {
                Ok(span) => span.get().span_context(py),
                Err(_) => Ok(object.clone()),
            };
        }
        api::get(py).span_context(
            py,
            self.trace_id,
            self.span_id,
            self.is_remote,
            self.trace_flags,
            self.trace_state.as_ref(),
        )
    }
}

pub struct Link {
    pub otlp: span::Link,
    pub context: Py<PyAny>,
}

/// What changes while the span records; only ever locked around plain Rust work.
pub struct State {
    pub name: String,
    pub kind: i32,
    pub start_time: u64,
    pub end_time: Option<u64>,
    pub attributes: Attributes,
    pub events: Vec<span::Event>,
    pub dropped_events: u32,
    pub links: Vec<Link>,
    pub dropped_links: u32,
    pub status: (i32, Option<String>),
}

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct NativeSpan {
    pub tracer: Arc<TracerState>,
    /// Read at `end()`: a processor added after the span started still sees it end.
    pub provider: Py<ProviderCore>,
    /// The SDK's tracer metrics, when enabled: called as the span ends.
    pub record_end_metrics: Option<Py<PyAny>>,
    pub context: ContextData,
    pub trace_state_text: String,
    pub parent: Option<ContextData>,
    pub record_exception: bool,
    pub set_status_on_exception: bool,
    pub context_object: PyOnceLock<Py<PyAny>>,
    pub state: Mutex<State>,
}

impl NativeSpan {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// `None` (after a warning, as the SDK's `_check_span_ended`) once the span ended.
    fn recording(&self, py: Python<'_>, method: &str) -> Option<MutexGuard<'_, State>> {
        let state = self.lock();
        if state.end_time.is_none() {
            return Some(state);
        }
        drop(state);
        let api = api::get(py);
        api.warn(
            py,
            &api.sdk_logger,
            &format!("Tried calling {method} on an ended span."),
        );
        None
    }

    pub fn is_recording_now(&self) -> bool {
        self.lock().end_time.is_none()
    }

    pub fn is_sampled(&self) -> bool {
        self.context.trace_flags & 1 == 1
    }

    pub fn span_context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(object) = self.context_object.get(py) {
            return Ok(object.bind(py).clone());
        }
        let object = self.context.to_python(py)?;
        let _ = self.context_object.set(py, object.clone().unbind());
        Ok(object)
    }

    /// The span as the bytes of an OTLP `Span` (called at `end()`): written from the
    /// stored values with the hand-off's wire writer, so nothing is copied or converted
    /// first and the export thread only concatenates.
    fn encoded(&self) -> Vec<u8> {
        let state = self.lock();
        let written: Result<Vec<u8>, Infallible> = wire::encode(|out| {
            out.bytes(1, &self.context.trace_id.to_be_bytes());
            out.bytes(2, &self.context.span_id.to_be_bytes());
            out.string(3, &self.trace_state_text);
            let flags = match &self.parent {
                Some(parent) => {
                    out.bytes(4, &parent.span_id.to_be_bytes());
                    parent.otlp_flags()
                }
                None => CONTEXT_HAS_IS_REMOTE,
            };
            out.string(5, &state.name);
            out.int32(6, state.kind + 1);
            out.fixed64(7, state.start_time);
            out.fixed64(8, state.end_time.unwrap_or(0));
            for attribute in &state.attributes.items {
                out.message(9, |body| attribute.encode_raw(body.raw()));
            }
            out.uint32(10, state.attributes.dropped);
            for event in &state.events {
                out.message(11, |body| event.encode_raw(body.raw()));
            }
            out.uint32(12, state.dropped_events);
            for link in &state.links {
                out.message(13, |body| link.otlp.encode_raw(body.raw()));
            }
            out.uint32(14, state.dropped_links);
            out.message(15, |status| {
                status.string(2, state.status.1.as_deref().unwrap_or_default());
                status.int32(3, state.status.0);
            });
            out.fixed32(16, flags);
            Ok(())
        });
        match written {
            Ok(bytes) => bytes,
        }
    }

    fn add_event_cleaned(
        &self,
        py: Python<'_>,
        name: String,
        cleaned: Cleaned,
        timestamp: Option<u64>,
    ) {
        let bounds = self.tracer.limits.event;
        let (attributes, full) = Attributes::from_cleaned(cleaned, bounds);
        warn_full(py, full);
        let Some(mut guard) = self.recording(py, "_add_event") else {
            return;
        };
        let state = &mut *guard;
        let event = span::Event {
            time_unix_nano: timestamp.unwrap_or_else(now_nanos),
            name,
            attributes: attributes.items,
            dropped_attributes_count: attributes.dropped,
        };
        push_bounded(
            &mut state.events,
            &mut state.dropped_events,
            self.tracer.limits.max_events,
            event,
        );
    }

    fn set_status_code(&self, py: Python<'_>, code: i32, description: Option<String>) {
        let Some(mut state) = self.recording(py, "set_status") else {
            return;
        };
        if state.status.0 == STATUS_OK || code == STATUS_UNSET {
            return;
        }
        state.status = (code, description);
    }

    /// The SDK's `record_exception`: an "exception" event with type, message, stacktrace.
    fn record(
        &self,
        py: Python<'_>,
        exception: &Bound<'_, PyAny>,
        attributes: Option<&Bound<'_, PyAny>>,
        timestamp: Option<u64>,
        escaped: bool,
    ) -> PyResult<()> {
        let api = api::get(py);
        let lines = api.format_exception.bind(py).call1((exception,))?;
        let stacktrace = PyString::new(py, "").call_method1("join", (lines,))?;
        let kind = exception.get_type();
        let module = kind.module();
        let qualname = kind.qualname()?.to_string();
        let exception_type = match module.map(|module| module.to_string()) {
            Ok(module) if !module.is_empty() && module != "builtins" => {
                format!("{module}.{qualname}")
            }
            _ => qualname,
        };
        let event_attributes = pyo3::types::PyDict::new(py);
        event_attributes.set_item("exception.type", exception_type)?;
        event_attributes.set_item("exception.message", exception.str()?)?;
        event_attributes.set_item("exception.stacktrace", stacktrace)?;
        event_attributes.set_item("exception.escaped", if escaped { "True" } else { "False" })?;
        if let Some(extra) = attributes {
            if extra.is_truthy()? {
                event_attributes.call_method1("update", (extra,))?;
            }
        }
        let cleaned = Cleaned::many(py, event_attributes.as_any(), self.tracer.limits.event)?;
        self.add_event_cleaned(py, "exception".to_owned(), cleaned, timestamp);
        Ok(())
    }

    /// `set_status` with a `Status` or a `StatusCode` (and description), as the SDK reads them.
    fn set_status_from(
        &self,
        py: Python<'_>,
        status: &Bound<'_, PyAny>,
        description: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let api = api::get(py);
        if status.is_instance(api.status.bind(py))? {
            if let Some(description) = description.filter(|d| !d.is_none()) {
                api.warn(
                    py,
                    &api.sdk_logger,
                    &format!(
                        "Description {} ignored. Use either `Status` or `(StatusCode, Description)`",
                        description.str()?
                    ),
                );
            }
            let code = enum_value(&status.getattr("status_code")?)?;
            let text = status.getattr("description")?;
            self.set_status_code(py, code, text.extract().ok());
            return Ok(());
        }
        if status.is_instance(api.status_code.bind(py))? {
            // Status(...) applies the API's rules to the description (ERROR only, str only).
            let made = api.status.bind(py).call1((status, description))?;
            let code = enum_value(status)?;
            self.set_status_code(py, code, made.getattr("description")?.extract().ok());
        }
        Ok(())
    }
}

fn push_bounded<T>(items: &mut Vec<T>, dropped: &mut u32, max: Option<usize>, item: T) {
    match max {
        Some(0) => *dropped += 1,
        Some(max) if items.len() >= max => {
            items.remove(0);
            items.push(item);
            *dropped += 1;
        }
        _ => items.push(item),
    }
}

/// A timestamp argument in nanoseconds; `None` (the caller's time is then used) for
/// None and for what is not a number of nanoseconds: the SDK stores anything it is given,
/// which then fails only at export, and a span must not raise for it here.
pub fn optional_time(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    let Some(value) = value.filter(|value| !value.is_none()) else {
        return Ok(None);
    };
    if let Ok(nanos) = value.extract::<u64>() {
        return Ok(Some(nanos));
    }
    Ok(value
        .extract::<f64>()
        .ok()
        .filter(|nanos| nanos.is_finite() && *nanos >= 0.0)
        .map(|nanos| nanos as u64))
}

#[pymethods]
impl NativeSpan {
    fn get_span_context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.span_context(py)
    }

    fn is_recording(&self) -> bool {
        self.lock().end_time.is_none()
    }

    fn set_attribute(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) {
        let bounds = self.tracer.limits.span;
        let cleaned = Cleaned::one(py, key, value, bounds);
        self.store_attributes(py, cleaned, bounds);
    }

    fn set_attributes(&self, py: Python<'_>, attributes: &Bound<'_, PyAny>) -> PyResult<()> {
        let bounds = self.tracer.limits.span;
        let cleaned = Cleaned::many(py, attributes, bounds)?;
        self.store_attributes(py, cleaned, bounds);
        Ok(())
    }

    #[pyo3(signature = (name, attributes=None, timestamp=None))]
    fn add_event(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        attributes: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let cleaned = match attributes {
            Some(attributes) => Cleaned::many(py, attributes, self.tracer.limits.event)?,
            None => Cleaned::many(py, &py.None().into_bound(py), self.tracer.limits.event)?,
        };
        let name = crate::read::attributes::optional_str(name, "event name");
        self.add_event_cleaned(py, name, cleaned, optional_time(timestamp)?);
        Ok(())
    }

    #[pyo3(signature = (context, attributes=None))]
    fn add_link(
        &self,
        py: Python<'_>,
        context: &Bound<'_, PyAny>,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let none = py.None().into_bound(py);
        let attributes = attributes.unwrap_or(&none);
        let Some(link) = read_link(py, context, attributes, self.tracer.limits.link)? else {
            return Ok(());
        };
        let Some(mut state) = self.recording(py, "_add_link") else {
            return Ok(());
        };
        let state = &mut *state;
        push_bounded(
            &mut state.links,
            &mut state.dropped_links,
            self.tracer.limits.max_links,
            link,
        );
        Ok(())
    }

    fn update_name(&self, py: Python<'_>, name: &Bound<'_, PyAny>) {
        let name = crate::read::attributes::optional_str(name, "span name");
        if let Some(mut state) = self.recording(py, "update_name") {
            state.name = name;
        }
    }

    #[pyo3(signature = (status, description=None))]
    fn set_status(
        &self,
        py: Python<'_>,
        status: &Bound<'_, PyAny>,
        description: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.set_status_from(py, status, description)
    }

    #[pyo3(signature = (exception, attributes=None, timestamp=None, escaped=false))]
    fn record_exception(
        &self,
        py: Python<'_>,
        exception: &Bound<'_, PyAny>,
        attributes: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        escaped: bool,
    ) -> PyResult<()> {
        self.record(
            py,
            exception,
            attributes,
            optional_time(timestamp)?,
            escaped,
        )
    }

    #[pyo3(signature = (end_time=None))]
    fn end(slf: &Bound<'_, Self>, end_time: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let span = slf.get();
        let end_time = optional_time(end_time)?.unwrap_or_else(now_nanos);
        {
            let mut state = span.lock();
            if state.end_time.is_some() {
                drop(state);
                let api = api::get(py);
                api.warn(py, &api.sdk_logger, "Calling end() on an ended span.");
                return Ok(());
            }
            state.end_time = Some(end_time);
        }
        if let Some(record) = &span.record_end_metrics {
            record.bind(py).call0()?;
        }
        let processors = span.provider.get().current();
        if !processors.python.is_empty() {
            for processor in &processors.python {
                processor.bind(py).call_method1("_on_ending", (slf,))?;
            }
            let readable = api::get(py)
                .views
                .bind(py)
                .call_method1("readable_span", (slf,))?;
            for processor in &processors.python {
                processor.bind(py).call_method1("on_end", (&readable,))?;
            }
        }
        if span.is_sampled() && !processors.native.is_empty() {
            let encoded = span.encoded();
            for batching in &processors.native {
                let group = span.tracer.group.clone();
                batching
                    .pipeline()
                    .push(EncodedSpan::new(group, encoded.clone()));
            }
        }
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// As the SDK's `Span.__exit__`: an exception is recorded (escaped) and sets ERROR.
    fn __exit__(
        slf: &Bound<'_, Self>,
        _exc_type: &Bound<'_, PyAny>,
        exc_value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let span = slf.get();
        if !exc_value.is_none() && span.is_recording() {
            span.exception_exit(py, exc_value, true)?;
        }
        Self::end(slf, None)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let context = self.span_context(py)?;
        Ok(format!(
            "NativeSpan(name=\"{}\", context={})",
            self.lock().name,
            context.repr()?
        ))
    }

    // The ReadableSpan interface (for processors' on_start and for views).

    #[getter]
    fn name(&self) -> String {
        self.lock().name.clone()
    }

    #[getter]
    fn context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.span_context(py)
    }

    #[getter]
    fn parent<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.parent
            .as_ref()
            .map(|parent| parent.to_python(py))
            .transpose()
    }

    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let kind = self.lock().kind;
        api::get(py).span_kind.bind(py).call1((kind,))
    }

    #[getter]
    fn start_time(&self) -> u64 {
        self.lock().start_time
    }

    #[getter]
    fn end_time(&self) -> Option<u64> {
        self.lock().end_time
    }

    /// `(items, dropped)`: the attributes as a dict and how many the limits dropped.
    fn _attributes_parts<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, u32)> {
        let (items, dropped) = {
            let state = self.lock();
            (state.attributes.items.clone(), state.attributes.dropped)
        };
        Ok((key_values_to_dict(py, &items)?.into_any(), dropped))
    }

    /// `[(name, attributes, dropped, timestamp)]`, and how many events were dropped.
    fn _events_parts<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyList>, u32)> {
        let (events, dropped) = {
            let state = self.lock();
            (state.events.clone(), state.dropped_events)
        };
        let list = PyList::empty(py);
        for event in events {
            list.append((
                event.name,
                key_values_to_dict(py, &event.attributes)?,
                event.dropped_attributes_count,
                event.time_unix_nano,
            ))?;
        }
        Ok((list, dropped))
    }

    /// `[(context, attributes, dropped)]`, and how many links were dropped.
    fn _links_parts<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyList>, u32)> {
        let list = PyList::empty(py);
        let (links, dropped) = {
            let state = self.lock();
            let links: Vec<_> = state
                .links
                .iter()
                .map(|link| {
                    (
                        link.context.clone_ref(py),
                        link.otlp.attributes.clone(),
                        link.otlp.dropped_attributes_count,
                    )
                })
                .collect();
            (links, state.dropped_links)
        };
        for (context, attributes, dropped) in links {
            list.append((context, key_values_to_dict(py, &attributes)?, dropped))?;
        }
        Ok((list, dropped))
    }

    /// The limits as the SDK's containers carry them: (span attributes, event attributes,
    /// link attributes, events, links).
    fn _limits(&self) -> [Option<usize>; 5] {
        let limits = &self.tracer.limits;
        [
            limits.span.max_count,
            limits.event.max_count,
            limits.link.max_count,
            limits.max_events,
            limits.max_links,
        ]
    }

    #[getter]
    fn attributes<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        api::get(slf.py())
            .views
            .bind(slf.py())
            .call_method1("attributes", (slf,))
    }

    #[getter]
    fn events<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        api::get(slf.py())
            .views
            .bind(slf.py())
            .call_method1("events", (slf,))
    }

    #[getter]
    fn links<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        api::get(slf.py())
            .views
            .bind(slf.py())
            .call_method1("links", (slf,))
    }

    #[getter]
    fn dropped_attributes(&self) -> u32 {
        self.lock().attributes.dropped
    }

    #[getter]
    fn dropped_events(&self) -> u32 {
        self.lock().dropped_events
    }

    #[getter]
    fn dropped_links(&self) -> u32 {
        self.lock().dropped_links
    }

    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (code, description) = self.lock().status.clone();
        let api = api::get(py);
        let code = api.status_code.bind(py).call1((code,))?;
        api.status.bind(py).call1((code, description))
    }

    #[getter]
    fn resource<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.tracer.resource.bind(py).clone()
    }

    /// The resource, under the SDK span's private name (otel-rust-bridge reads it).
    #[getter]
    fn _resource<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.tracer.resource.bind(py).clone()
    }

    /// The provider's active span processor, as the SDK's spans hold it (otel-rust-bridge
    /// reads it to send Rust spans under this one to the same processors).
    #[getter]
    fn _span_processor<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.provider.get().active.bind(py).clone()
    }

    /// Deprecated, as on the SDK's spans.
    #[getter]
    fn instrumentation_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        PyErr::warn(
            py,
            &py.get_type::<pyo3::exceptions::PyDeprecationWarning>(),
            c"You should use InstrumentationScope. Deprecated since version 1.11.1.",
            1,
        )?;
        Ok(self
            .tracer
            .instrumentation_info
            .as_ref()
            .map(|info| info.bind(py).clone()))
    }

    #[getter]
    fn instrumentation_scope<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.tracer.scope.bind(py).clone()
    }

    #[pyo3(signature = (indent=4))]
    fn to_json<'py>(slf: &Bound<'py, Self>, indent: Option<usize>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let readable = api::get(py)
            .views
            .bind(py)
            .call_method1("readable_span", (slf,))?;
        readable.call_method1("to_json", (indent,))
    }
}

impl NativeSpan {
    fn store_attributes(&self, py: Python<'_>, cleaned: Cleaned, bounds: Bounds) {
        let full = {
            let mut state = self.lock();
            if state.end_time.is_some() {
                None
            } else {
                Some(state.attributes.extend(cleaned, bounds))
            }
        };
        match full {
            None => {
                let api = api::get(py);
                api.warn(py, &api.sdk_logger, "Setting attribute on ended span.");
            }
            Some(times) => warn_full(py, times),
        }
    }

    /// An exception leaving a `with` block: recorded as an event, then status ERROR, each
    /// as the span was asked to.
    pub fn exception_exit(
        &self,
        py: Python<'_>,
        exception: &Bound<'_, PyAny>,
        escaped: bool,
    ) -> PyResult<()> {
        if self.record_exception {
            self.record(py, exception, None, None, escaped)?;
        }
        if self.set_status_on_exception {
            let description = format!("{}: {}", exception.get_type().name()?, exception.str()?);
            self.set_status_code(py, STATUS_ERROR, Some(description));
        }
        Ok(())
    }
}

/// A link as the SDK accepts one (`_is_valid_link`), its attributes bounded; `None` when invalid.
pub fn read_link(
    py: Python<'_>,
    context: &Bound<'_, PyAny>,
    attributes: &Bound<'_, PyAny>,
    bounds: Bounds,
) -> PyResult<Option<Link>> {
    if !context.is_truthy()? {
        return Ok(None);
    }
    let read = crate::read::span::SpanContext::read(context)?;
    let valid = read.trace_id != [0; 16] && read.span_id != [0; 8];
    let has_state = !read.trace_state.is_none() && read.trace_state.is_truthy()?;
    if !(valid || attributes.is_truthy()? || has_state) {
        return Ok(None);
    }
    let cleaned = Cleaned::many(py, attributes, bounds)?;
    let (attributes, full) = Attributes::from_cleaned(cleaned, bounds);
    warn_full(py, full);
    Ok(Some(Link {
        otlp: span::Link {
            trace_id: read.trace_id.to_vec(),
            span_id: read.span_id.to_vec(),
            // The stock exporter leaves a link's trace_state out.
            trace_state: String::new(),
            attributes: attributes.items,
            dropped_attributes_count: attributes.dropped,
            flags: read.flags(),
        },
        context: context.clone().unbind(),
    }))
}
