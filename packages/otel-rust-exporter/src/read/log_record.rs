//! An SDK log record (`ReadWriteLogRecord` / `ReadableLogRecord`) to an OTLP `LogRecord`
//! (converted for SLS, encoded for OTLP),
//! field for field as `opentelemetry-exporter-otlp-proto-common` encodes it.

use std::sync::Arc;

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use pyo3::prelude::*;

use super::attributes::{
    field_value, key_values, optional_str, optional_text, write_field_value, write_key_values,
};
use super::fields::{dropped, enum_value, time};
use super::names::name;
use super::scope::ScopeCache;
use crate::diagnostics::LOGGER_NAME;
use crate::records::{EncodedLogRecord, QueuedLogRecord, ScopeGroup};
use crate::wire;

/// The fields of an emitted record, as Python objects.
struct LogFields<'py> {
    group: Arc<ScopeGroup>,
    timestamp: Bound<'py, PyAny>,
    observed_timestamp: Bound<'py, PyAny>,
    severity_number: Bound<'py, PyAny>,
    severity_text: Bound<'py, PyAny>,
    body: Bound<'py, PyAny>,
    attributes: Bound<'py, PyAny>,
    trace_flags: Bound<'py, PyAny>,
    trace_id: Bound<'py, PyAny>,
    span_id: Bound<'py, PyAny>,
    event_name: Bound<'py, PyAny>,
}

impl<'py> LogFields<'py> {
    /// `None` for records of our own logger or its children, which would otherwise feed
    /// export problems back into the export (the SDK names a record's scope after its
    /// Python logger).
    fn read(readable: &Bound<'py, PyAny>, scopes: &ScopeCache) -> PyResult<Option<Self>> {
        let py = readable.py();
        // Plain attribute lookups: reading `__dict__` would make CPython build a dict for
        // each record (3.11+ keeps instance attributes without one), garbage the GC must
        // then scan.
        let scope = readable.getattr(name!(py, instrumentation_scope))?;
        let group = scopes.group(&readable.getattr(name!(py, resource))?, &scope)?;
        if is_ours(&group.scope.name) {
            return Ok(None);
        }
        let log_record = readable.getattr(name!(py, log_record))?;
        let read = |field| log_record.getattr(field);
        Ok(Some(Self {
            group,
            timestamp: read(name!(py, timestamp))?,
            observed_timestamp: read(name!(py, observed_timestamp))?,
            severity_number: read(name!(py, severity_number))?,
            severity_text: read(name!(py, severity_text))?,
            body: read(name!(py, body))?,
            attributes: read(name!(py, attributes))?,
            trace_flags: read(name!(py, trace_flags))?,
            trace_id: read(name!(py, trace_id))?,
            span_id: read(name!(py, span_id))?,
            event_name: read(name!(py, event_name))?,
        }))
    }

    fn severity_number(&self) -> PyResult<i32> {
        if self.severity_number.is_none() {
            return Ok(0);
        }
        enum_value(&self.severity_number)
    }
}

/// Converts an emitted record, for a pipeline that maps its fields (SLS); `None` for our
/// own logger's records.
pub fn read_log_record(
    readable: &Bound<'_, PyAny>,
    scopes: &ScopeCache,
) -> PyResult<Option<QueuedLogRecord>> {
    let Some(fields) = LogFields::read(readable, scopes)? else {
        return Ok(None);
    };
    let record = LogRecord {
        time_unix_nano: time(&fields.timestamp)?,
        observed_time_unix_nano: time(&fields.observed_timestamp)?,
        severity_number: fields.severity_number()?,
        severity_text: optional_str(&fields.severity_text, "log severity_text"),
        body: Some(field_value("log body", &fields.body)),
        attributes: key_values(&fields.attributes)?,
        dropped_attributes_count: dropped(&fields.attributes),
        flags: optional_int(&fields.trace_flags)?,
        trace_id: id_bytes::<16>(&fields.trace_id)?.map_or_else(Vec::new, Vec::from),
        span_id: id_bytes::<8>(&fields.span_id)?.map_or_else(Vec::new, Vec::from),
        event_name: optional_str(&fields.event_name, "log event_name"),
    };
    Ok(Some(QueuedLogRecord {
        group: fields.group,
        record,
    }))
}

/// Reads an emitted record and encodes it as an OTLP `LogRecord` (the runtime thread only
/// concatenates); `None` for our own logger's records.
pub fn read_encoded_log_record(
    readable: &Bound<'_, PyAny>,
    scopes: &ScopeCache,
) -> PyResult<Option<EncodedLogRecord>> {
    let Some(fields) = LogFields::read(readable, scopes)? else {
        return Ok(None);
    };
    // In field-number order.
    let encoded = wire::encode(|out| {
        out.fixed64(1, time(&fields.timestamp)?);
        out.int32(2, fields.severity_number()?);
        out.string(
            3,
            &optional_text(&fields.severity_text, "log severity_text"),
        );
        write_field_value(5, "log body", &fields.body, out);
        write_key_values(6, &fields.attributes, out)?;
        out.uint32(7, dropped(&fields.attributes));
        out.fixed32(8, optional_int(&fields.trace_flags)?);
        if let Some(trace_id) = id_bytes::<16>(&fields.trace_id)? {
            out.bytes(9, &trace_id);
        }
        if let Some(span_id) = id_bytes::<8>(&fields.span_id)? {
            out.bytes(10, &span_id);
        }
        out.fixed64(11, time(&fields.observed_timestamp)?);
        out.string(12, &optional_text(&fields.event_name, "log event_name"));
        Ok::<_, PyErr>(())
    })?;
    Ok(Some(EncodedLogRecord::new(fields.group, encoded)))
}

fn is_ours(logger: &str) -> bool {
    logger
        .strip_prefix(LOGGER_NAME)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

fn optional_int(value: &Bound<'_, PyAny>) -> PyResult<u32> {
    if value.is_none() {
        return Ok(0);
    }
    value.extract()
}

/// A trace or span id; `None` for 0 (no active span), which the stock exporter leaves out.
fn id_bytes<const N: usize>(value: &Bound<'_, PyAny>) -> PyResult<Option<[u8; N]>> {
    if value.is_none() {
        return Ok(None);
    }
    let id: u128 = value.extract()?;
    if id == 0 {
        return Ok(None);
    }
    let mut bytes = [0; N];
    bytes.copy_from_slice(&id.to_be_bytes()[16 - N..]);
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::is_ours;

    #[test]
    fn our_logger_and_its_children_are_ours_and_nothing_else() {
        assert!(is_ours("otel_rust_exporter"));
        assert!(is_ours("otel_rust_exporter.sls"));
        assert!(!is_ours("otel_rust_exporter_app"));
        assert!(!is_ours("app.otel_rust_exporter"));
        assert!(!is_ours(""));
    }
}
