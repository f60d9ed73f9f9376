//! A finished SDK span (`ReadableSpan`) to an OTLP `Span`, field for field as
//! `opentelemetry-exporter-otlp-proto-common` encodes it.

use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::{span, Span, Status};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::attributes::key_values;
use super::scope::{optional_str, ScopeCache, ScopeGroup};

/// OTLP `SpanFlags`: the SDK always knows whether the parent was remote.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

pub struct QueuedSpan {
    pub group: Arc<ScopeGroup>,
    pub span: Span,
}

/// Reads the SDK's own fields, falling back to the public properties for other
/// `ReadableSpan` implementations.
fn field<'py>(
    span: &Bound<'py, PyAny>,
    private: &Bound<'py, PyString>,
    public: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    span.getattr(private).or_else(|_| span.getattr(public))
}

/// Converts a finished span; `None` when `sampled_only` and the span is not sampled (the
/// SDK's batch processor skips those too).
pub fn convert(
    span: &Bound<'_, PyAny>,
    scopes: &ScopeCache,
    sampled_only: bool,
) -> PyResult<Option<QueuedSpan>> {
    let py = span.py();
    let context = field(span, intern!(py, "_context"), intern!(py, "context"))?;
    if sampled_only
        && context
            .getattr(intern!(py, "trace_flags"))?
            .extract::<u8>()?
            & 1
            == 0
    {
        return Ok(None);
    }
    let parent = field(span, intern!(py, "_parent"), intern!(py, "parent"))?;
    let attributes = field(span, intern!(py, "_attributes"), intern!(py, "attributes"))?;
    let events = field(span, intern!(py, "_events"), intern!(py, "events"))?;
    let links = field(span, intern!(py, "_links"), intern!(py, "links"))?;
    let status = field(span, intern!(py, "_status"), intern!(py, "status"))?;
    let resource = field(span, intern!(py, "_resource"), intern!(py, "resource"))?;
    let scope = field(
        span,
        intern!(py, "_instrumentation_scope"),
        intern!(py, "instrumentation_scope"),
    )?;

    let (parent_span_id, flags) = if parent.is_none() {
        (Vec::new(), CONTEXT_HAS_IS_REMOTE)
    } else {
        (span_id(&parent)?, remote_flags(&parent)?)
    };

    let converted = Span {
        trace_id: trace_id(&context)?,
        span_id: span_id(&context)?,
        trace_state: trace_state(&context.getattr(intern!(py, "trace_state"))?)?,
        parent_span_id,
        flags,
        name: optional_str(&field(span, intern!(py, "_name"), intern!(py, "name"))?),
        kind: field(span, intern!(py, "_kind"), intern!(py, "kind"))?
            .getattr(intern!(py, "value"))?
            .extract::<i32>()?
            + 1,
        start_time_unix_nano: time(&field(
            span,
            intern!(py, "_start_time"),
            intern!(py, "start_time"),
        )?)?,
        end_time_unix_nano: time(&field(
            span,
            intern!(py, "_end_time"),
            intern!(py, "end_time"),
        )?)?,
        attributes: key_values(&attributes)?,
        dropped_attributes_count: dropped(&attributes)?,
        events: events_of(&events)?,
        dropped_events_count: dropped(&events)?,
        links: links_of(&links)?,
        dropped_links_count: dropped(&links)?,
        status: status_of(&status)?,
    };
    Ok(Some(QueuedSpan {
        group: scopes.group(&resource, &scope)?,
        span: converted,
    }))
}

fn trace_id(context: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let id: u128 = context
        .getattr(intern!(context.py(), "trace_id"))?
        .extract()?;
    Ok(id.to_be_bytes().to_vec())
}

fn span_id(context: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let id: u64 = context
        .getattr(intern!(context.py(), "span_id"))?
        .extract()?;
    Ok(id.to_be_bytes().to_vec())
}

fn remote_flags(context: &Bound<'_, PyAny>) -> PyResult<u32> {
    let remote = context
        .getattr(intern!(context.py(), "is_remote"))?
        .is_truthy()?;
    Ok(if remote {
        CONTEXT_HAS_IS_REMOTE | CONTEXT_IS_REMOTE
    } else {
        CONTEXT_HAS_IS_REMOTE
    })
}

/// W3C `key=value,key=value`; the SDK's empty TraceState is the common case.
fn trace_state(state: &Bound<'_, PyAny>) -> PyResult<String> {
    if state.is_none() || state.len().unwrap_or(0) == 0 {
        return Ok(String::new());
    }
    let mut encoded = String::new();
    for item in state
        .call_method0(intern!(state.py(), "items"))?
        .try_iter()?
    {
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

fn time(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if value.is_none() {
        return Ok(0);
    }
    value.extract()
}

/// `BoundedAttributes` and `BoundedList` count what their limits dropped.
fn dropped(container: &Bound<'_, PyAny>) -> PyResult<u32> {
    match container.getattr(intern!(container.py(), "dropped")) {
        Ok(count) => Ok(count.extract::<u64>().unwrap_or(0).min(u32::MAX as u64) as u32),
        Err(_) => Ok(0),
    }
}

fn events_of(events: &Bound<'_, PyAny>) -> PyResult<Vec<span::Event>> {
    if events.is_none() {
        return Ok(Vec::new());
    }
    let py = events.py();
    let mut out = Vec::new();
    for event in events.try_iter()? {
        let event = event?;
        out.push(span::Event {
            time_unix_nano: time(&event.getattr(intern!(py, "timestamp"))?)?,
            name: optional_str(&event.getattr(intern!(py, "name"))?),
            attributes: key_values(&event.getattr(intern!(py, "attributes"))?)?,
            dropped_attributes_count: event
                .getattr(intern!(py, "dropped_attributes"))?
                .extract()?,
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
    for link in links.try_iter()? {
        let link = link?;
        let context = link.getattr(intern!(py, "context"))?;
        out.push(span::Link {
            trace_id: trace_id(&context)?,
            span_id: span_id(&context)?,
            // The stock exporter leaves a link's trace_state out.
            trace_state: String::new(),
            attributes: key_values(&link.getattr(intern!(py, "attributes"))?)?,
            dropped_attributes_count: link.getattr(intern!(py, "dropped_attributes"))?.extract()?,
            flags: remote_flags(&context)?,
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
        code: status
            .getattr(intern!(py, "status_code"))?
            .getattr(intern!(py, "value"))?
            .extract()?,
        message: optional_str(&status.getattr(intern!(py, "description"))?),
    }))
}
