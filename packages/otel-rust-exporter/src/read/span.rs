//! A finished SDK span (`ReadableSpan`) to an OTLP `Span`, field for field as
//! `opentelemetry-exporter-otlp-proto-common` encodes it.

use super::names::name;
use opentelemetry_proto::tonic::trace::v1::{span, Span, Status};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::attributes::{key_values, optional_str};
use super::fields::{dropped, enum_value, field, time};
use super::scope::ScopeCache;
use crate::records::EncodedSpan;

/// OTLP `SpanFlags`: the SDK always knows whether the parent was remote.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

/// Converts a finished span and encodes it (the runtime thread only concatenates); `None` when `sampled_only` and the span is not sampled (the
/// SDK's batch processor skips those too).
pub fn read_span(
    span: &Bound<'_, PyAny>,
    scopes: &ScopeCache,
    sampled_only: bool,
) -> PyResult<Option<EncodedSpan>> {
    let py = span.py();
    let context = SpanContext::read(&field(span, name!(py, _context), name!(py, context))?)?;
    if sampled_only && context.trace_flags & 1 == 0 {
        return Ok(None);
    }
    let parent = field(span, name!(py, _parent), name!(py, parent))?;
    let attributes = field(span, name!(py, _attributes), name!(py, attributes))?;
    let events = field(span, name!(py, _events), name!(py, events))?;
    let links = field(span, name!(py, _links), name!(py, links))?;
    let status = field(span, name!(py, _status), name!(py, status))?;
    let resource = field(span, name!(py, _resource), name!(py, resource))?;
    let scope = field(
        span,
        name!(py, _instrumentation_scope),
        name!(py, instrumentation_scope),
    )?;

    let (parent_span_id, flags) = if parent.is_none() {
        (Vec::new(), CONTEXT_HAS_IS_REMOTE)
    } else {
        let parent = SpanContext::read(&parent)?;
        (parent.span_id.to_vec(), parent.flags())
    };

    let converted = Span {
        trace_id: context.trace_id.to_vec(),
        span_id: context.span_id.to_vec(),
        trace_state: trace_state(&context.trace_state)?,
        parent_span_id,
        flags,
        name: optional_str(
            &field(span, name!(py, _name), name!(py, name))?,
            "span name",
        ),
        kind: enum_value(&field(span, name!(py, _kind), name!(py, kind))?)? + 1,
        start_time_unix_nano: time(&field(span, name!(py, _start_time), name!(py, start_time))?)?,
        end_time_unix_nano: time(&field(span, name!(py, _end_time), name!(py, end_time))?)?,
        attributes: key_values(&attributes)?,
        dropped_attributes_count: dropped(&attributes),
        events: events_of(&events)?,
        dropped_events_count: dropped(&events),
        links: links_of(&links)?,
        dropped_links_count: dropped(&links),
        status: status_of(&status)?,
    };
    Ok(Some(EncodedSpan::from_message(
        scopes.group(&resource, &scope)?,
        &converted,
    )))
}

/// The fields of an API `SpanContext`.
struct SpanContext<'py> {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    is_remote: bool,
    trace_flags: u8,
    trace_state: Bound<'py, PyAny>,
}

impl<'py> SpanContext<'py> {
    fn read(context: &Bound<'py, PyAny>) -> PyResult<Self> {
        // The API's SpanContext is a tuple (trace_id, span_id, is_remote, trace_flags,
        // trace_state, ...): indexing it skips five Python-level property calls.
        if let Ok(tuple) = context.cast::<PyTuple>() {
            if tuple.len() >= 5 {
                return Ok(Self {
                    trace_id: tuple.get_item(0)?.extract::<u128>()?.to_be_bytes(),
                    span_id: tuple.get_item(1)?.extract::<u64>()?.to_be_bytes(),
                    is_remote: tuple.get_item(2)?.is_truthy()?,
                    trace_flags: tuple.get_item(3)?.extract()?,
                    trace_state: tuple.get_item(4)?,
                });
            }
        }
        let py = context.py();
        Ok(Self {
            trace_id: context
                .getattr(name!(py, trace_id))?
                .extract::<u128>()?
                .to_be_bytes(),
            span_id: context
                .getattr(name!(py, span_id))?
                .extract::<u64>()?
                .to_be_bytes(),
            is_remote: context.getattr(name!(py, is_remote))?.is_truthy()?,
            trace_flags: context.getattr(name!(py, trace_flags))?.extract()?,
            trace_state: context.getattr(name!(py, trace_state))?,
        })
    }

    fn flags(&self) -> u32 {
        if self.is_remote {
            CONTEXT_HAS_IS_REMOTE | CONTEXT_IS_REMOTE
        } else {
            CONTEXT_HAS_IS_REMOTE
        }
    }
}

/// W3C `key=value,key=value`; the SDK's empty TraceState is the common case.
fn trace_state(state: &Bound<'_, PyAny>) -> PyResult<String> {
    if state.is_none() {
        return Ok(String::new());
    }
    let py = state.py();
    // TraceState keeps its entries in a dict.
    let entries = match state.getattr(name!(py, _dict)) {
        Ok(dict) => dict,
        Err(_) => state.clone(),
    };
    if entries.len().unwrap_or(0) == 0 {
        return Ok(String::new());
    }
    let mut encoded = String::new();
    for item in entries.call_method0(name!(py, items))?.try_iter()? {
        let (key, value): (String, String) = item?.extract()?;
        if !encoded.is_empty() {
            encoded.push(',');
        }
        encoded.push_str(&key);
        encoded.push('=');
        encoded.push_str(&value);
    }
    Ok(encoded)
}

/// `BoundedList` iterates in Python under a lock; its deque iterates in C.
fn contents<'py>(sequence: &Bound<'py, PyAny>) -> Bound<'py, PyAny> {
    sequence
        .getattr(name!(sequence.py(), _dq))
        .unwrap_or_else(|_| sequence.clone())
}

fn events_of(events: &Bound<'_, PyAny>) -> PyResult<Vec<span::Event>> {
    if events.is_none() {
        return Ok(Vec::new());
    }
    let py = events.py();
    let mut out = Vec::new();
    for event in contents(events).try_iter()? {
        let event = event?;
        let attributes = field(&event, name!(py, _attributes), name!(py, attributes))?;
        out.push(span::Event {
            time_unix_nano: time(&field(&event, name!(py, _timestamp), name!(py, timestamp))?)?,
            name: optional_str(
                &field(&event, name!(py, _name), name!(py, name))?,
                "event name",
            ),
            attributes: key_values(&attributes)?,
            dropped_attributes_count: dropped(&attributes),
        });
    }
    Ok(out)
}

fn links_of(links: &Bound<'_, PyAny>) -> PyResult<Vec<span::Link>> {
    if links.is_none() {
        return Ok(Vec::new());
    }
    let py = links.py();
    let mut out = Vec::new();
    for link in contents(links).try_iter()? {
        let link = link?;
        let context = SpanContext::read(&field(&link, name!(py, _context), name!(py, context))?)?;
        let attributes = field(&link, name!(py, _attributes), name!(py, attributes))?;
        out.push(span::Link {
            trace_id: context.trace_id.to_vec(),
            span_id: context.span_id.to_vec(),
            // The stock exporter leaves a link's trace_state out.
            trace_state: String::new(),
            attributes: key_values(&attributes)?,
            dropped_attributes_count: dropped(&attributes),
            flags: context.flags(),
        });
    }
    Ok(out)
}

fn status_of(status: &Bound<'_, PyAny>) -> PyResult<Option<Status>> {
    if status.is_none() {
        return Ok(None);
    }
    let py = status.py();
    Ok(Some(Status {
        code: enum_value(&field(
            status,
            name!(py, _status_code),
            name!(py, status_code),
        )?)?,
        message: optional_str(
            &field(status, name!(py, _description), name!(py, description))?,
            "status description",
        ),
    }))
}
