//! A finished SDK span (`ReadableSpan`) to the bytes of an OTLP `Span`, field for field as
//! `opentelemetry-exporter-otlp-proto-common` encodes it.

use super::names::name;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::attributes::{optional_text, write_key_values};
use super::fields::{dropped, enum_value, field, time};
use super::scope::ScopeCache;
use crate::records::EncodedSpan;
use crate::wire::{self, Writer};

/// OTLP `SpanFlags`: the SDK always knows whether the parent was remote.
pub const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
pub const CONTEXT_IS_REMOTE: u32 = 0x200;

/// Reads a finished span and encodes it as an OTLP `Span` (the runtime thread only
/// concatenates); `None` when `sampled_only` and the span is not sampled (the SDK's batch
/// processor skips those too).
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
    let group = scopes.group(
        &field(span, name!(py, _resource), name!(py, resource))?,
        &field(
            span,
            name!(py, _instrumentation_scope),
            name!(py, instrumentation_scope),
        )?,
    )?;
    let encoded = wire::encode(|out| write_span(span, &context, out))?;
    Ok(Some(EncodedSpan::new(group, encoded)))
}

/// The `Span` message's fields, in field-number order.
fn write_span(
    span: &Bound<'_, PyAny>,
    context: &SpanContext<'_>,
    out: &mut Writer,
) -> PyResult<()> {
    let py = span.py();
    let parent = field(span, name!(py, _parent), name!(py, parent))?;
    let (parent_span_id, flags) = if parent.is_none() {
        (None, CONTEXT_HAS_IS_REMOTE)
    } else {
        let parent = SpanContext::read(&parent)?;
        (Some(parent.span_id), parent.flags())
    };
    out.bytes(1, &context.trace_id);
    out.bytes(2, &context.span_id);
    out.string(3, &trace_state(&context.trace_state)?);
    if let Some(parent_span_id) = parent_span_id {
        out.bytes(4, &parent_span_id);
    }
    let name = field(span, name!(py, _name), name!(py, name))?;
    out.string(5, &optional_text(&name, "span name"));
    out.int32(
        6,
        enum_value(&field(span, name!(py, _kind), name!(py, kind))?)? + 1,
    );
    out.fixed64(
        7,
        time(&field(span, name!(py, _start_time), name!(py, start_time))?)?,
    );
    out.fixed64(
        8,
        time(&field(span, name!(py, _end_time), name!(py, end_time))?)?,
    );
    let attributes = field(span, name!(py, _attributes), name!(py, attributes))?;
    write_key_values(9, &attributes, out)?;
    out.uint32(10, dropped(&attributes));
    let events = field(span, name!(py, _events), name!(py, events))?;
    write_events(11, &events, out)?;
    out.uint32(12, dropped(&events));
    let links = field(span, name!(py, _links), name!(py, links))?;
    write_links(13, &links, out)?;
    out.uint32(14, dropped(&links));
    write_status(
        15,
        &field(span, name!(py, _status), name!(py, status))?,
        out,
    )?;
    out.fixed32(16, flags);
    Ok(())
}

/// The fields of an API `SpanContext`.
pub struct SpanContext<'py> {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub is_remote: bool,
    pub trace_flags: u8,
    pub trace_state: Bound<'py, PyAny>,
}

impl<'py> SpanContext<'py> {
    pub fn read(context: &Bound<'py, PyAny>) -> PyResult<Self> {
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

    /// OTLP's `flags` of a span or link whose parent (or target) this is.
    pub fn flags(&self) -> u32 {
        if self.is_remote {
            CONTEXT_HAS_IS_REMOTE | CONTEXT_IS_REMOTE
        } else {
            CONTEXT_HAS_IS_REMOTE
        }
    }
}

/// W3C `key=value,key=value`; the SDK's empty TraceState is the common case.
pub fn trace_state(state: &Bound<'_, PyAny>) -> PyResult<String> {
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

fn write_events(tag: u32, events: &Bound<'_, PyAny>, out: &mut Writer) -> PyResult<()> {
    if events.is_none() {
        return Ok(());
    }
    let py = events.py();
    for event in contents(events).try_iter()? {
        let event = event?;
        out.message(tag, |out| {
            out.fixed64(
                1,
                time(&field(&event, name!(py, _timestamp), name!(py, timestamp))?)?,
            );
            let name = field(&event, name!(py, _name), name!(py, name))?;
            out.string(2, &optional_text(&name, "event name"));
            let attributes = field(&event, name!(py, _attributes), name!(py, attributes))?;
            write_key_values(3, &attributes, out)?;
            out.uint32(4, dropped(&attributes));
            Ok::<_, PyErr>(())
        })?;
    }
    Ok(())
}

fn write_links(tag: u32, links: &Bound<'_, PyAny>, out: &mut Writer) -> PyResult<()> {
    if links.is_none() {
        return Ok(());
    }
    let py = links.py();
    for link in contents(links).try_iter()? {
        let link = link?;
        let context = SpanContext::read(&field(&link, name!(py, _context), name!(py, context))?)?;
        out.message(tag, |out| {
            out.bytes(1, &context.trace_id);
            out.bytes(2, &context.span_id);
            // The stock exporter leaves a link's trace_state (3) out.
            let attributes = field(&link, name!(py, _attributes), name!(py, attributes))?;
            write_key_values(4, &attributes, out)?;
            out.uint32(5, dropped(&attributes));
            out.fixed32(6, context.flags());
            Ok::<_, PyErr>(())
        })?;
    }
    Ok(())
}

fn write_status(tag: u32, status: &Bound<'_, PyAny>, out: &mut Writer) -> PyResult<()> {
    if status.is_none() {
        return Ok(());
    }
    let py = status.py();
    let code = enum_value(&field(
        status,
        name!(py, _status_code),
        name!(py, status_code),
    )?)?;
    let description = field(status, name!(py, _description), name!(py, description))?;
    out.message(tag, |out| {
        out.string(2, &optional_text(&description, "status description"));
        out.int32(3, code);
    });
    Ok(())
}
