//! An SDK log record (`ReadWriteLogRecord` / `ReadableLogRecord`) to an OTLP `LogRecord`,
//! field for field as `opentelemetry-exporter-otlp-proto-common` encodes it.

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use pyo3::prelude::*;

use super::attributes::{field_value, key_values, optional_str};
use super::fields::{dropped, enum_value, time};
use super::names::name;
use super::scope::ScopeCache;
use crate::diagnostics::LOGGER_NAME;
use crate::records::{EncodedLogRecord, QueuedLogRecord};

/// Converts an emitted record; `None` for records of our own logger or its children, which
/// would otherwise feed export problems back into the export (the SDK names a record's
/// scope after its Python logger).
pub fn read_log_record(
    readable: &Bound<'_, PyAny>,
    scopes: &ScopeCache,
) -> PyResult<Option<QueuedLogRecord>> {
    let py = readable.py();
    // Plain attribute lookups: reading `__dict__` would make CPython build a dict for each
    // record (3.11+ keeps instance attributes without one), garbage the GC must then scan.
    let scope = readable.getattr(name!(py, instrumentation_scope))?;
    let group = scopes.group(&readable.getattr(name!(py, resource))?, &scope)?;
    if is_ours(&group.scope.name) {
        return Ok(None);
    }
    let log_record = readable.getattr(name!(py, log_record))?;
    let read = |field| log_record.getattr(field);

    let attributes = read(name!(py, attributes))?;
    let severity = read(name!(py, severity_number))?;
    let record = LogRecord {
        time_unix_nano: time(&read(name!(py, timestamp))?)?,
        observed_time_unix_nano: time(&read(name!(py, observed_timestamp))?)?,
        severity_number: if severity.is_none() {
            0
        } else {
            enum_value(&severity)?
        },
        severity_text: optional_str(&read(name!(py, severity_text))?, "log severity_text"),
        body: Some(field_value("log body", &read(name!(py, body))?)),
        attributes: key_values(&attributes)?,
        dropped_attributes_count: dropped(&attributes),
        flags: optional_int(&read(name!(py, trace_flags))?)?,
        trace_id: id_bytes::<16>(&read(name!(py, trace_id))?)?,
        span_id: id_bytes::<8>(&read(name!(py, span_id))?)?,
        event_name: optional_str(&read(name!(py, event_name))?, "log event_name"),
    };
    Ok(Some(QueuedLogRecord { group, record }))
}

/// As `read_log_record`, encoded for OTLP (the runtime thread only concatenates).
pub fn read_encoded_log_record(
    readable: &Bound<'_, PyAny>,
    scopes: &ScopeCache,
) -> PyResult<Option<EncodedLogRecord>> {
    Ok(read_log_record(readable, scopes)?
        .map(|queued| EncodedLogRecord::from_message(queued.group, &queued.record)))
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

/// A trace or span id; 0 (no active span) is left out, as the stock exporter does.
fn id_bytes<const N: usize>(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if value.is_none() {
        return Ok(Vec::new());
    }
    let id: u128 = value.extract()?;
    if id == 0 {
        return Ok(Vec::new());
    }
    Ok(id.to_be_bytes()[16 - N..].to_vec())
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
