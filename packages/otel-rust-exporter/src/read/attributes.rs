//! Attribute values to OTLP `AnyValue`, encoded as the stock Python exporter encodes them.
//!
//! Values the SDK lets through but protobuf cannot carry are sanitized with a warning:
//! lone surrogates become U+FFFD, integers beyond 64 bits become their decimal string,
//! values over [`MAX_VALUE_BYTES`] are truncated, and unknown types become `str(value)`.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, KeyValue, KeyValueList,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::names::name;
use super::text;
use crate::diagnostics::{self, RateLimited};

/// One value larger than this cannot be delivered by a default collector (4 MiB gRPC
/// messages), and would pin that much memory per queued record.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
const NESTING_LIMIT: usize = 16;

/// What was changed to make a value sendable; each kind is warned about on its own
/// schedule, so the first kind of bad value cannot hide every other for a minute.
#[derive(Clone, Copy)]
enum Sanitization {
    LoneSurrogates,
    OverOneMebibyte,
    BeyondSixtyFourBits,
    TooDeep,
    UnsupportedType,
}

static SANITIZED: [RateLimited; 5] = [const { RateLimited::new(Duration::from_secs(60)) }; 5];

/// Where a sanitized value was, for the warning.
#[derive(Clone, Copy)]
enum Place<'a> {
    Attribute(&'a str),
    Field(&'static str),
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Attribute(key) => {
                let key: String = key.chars().take(64).collect();
                write!(f, "attribute {key:?}")
            }
            Place::Field(name) => f.write_str(name),
        }
    }
}

fn sanitized(place: Place<'_>, kind: Sanitization, what: &str) {
    if let Some(held_back) = SANITIZED[kind as usize].admit() {
        diagnostics::warn(&format!(
            "{place}: {what} ({held_back} similar warnings suppressed)"
        ));
    }
}

/// Converts an attributes mapping (`dict`, `BoundedAttributes` or any mapping).
pub fn key_values(attributes: &Bound<'_, PyAny>) -> PyResult<Vec<KeyValue>> {
    if attributes.is_none() {
        return Ok(Vec::new());
    }
    if let Ok(dict) = attributes.cast::<PyDict>() {
        return Ok(dict_key_values(dict));
    }
    // BoundedAttributes keeps its data in a plain dict: iterate that directly.
    if let Ok(inner) = attributes.getattr(name!(attributes.py(), _dict)) {
        if let Ok(dict) = inner.cast::<PyDict>() {
            return Ok(dict_key_values(dict));
        }
    }
    let items = attributes.call_method0(name!(attributes.py(), items))?;
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        out.push(key_value(&key, &value));
    }
    Ok(out)
}

fn dict_key_values(dict: &Bound<'_, PyDict>) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        out.push(key_value(&key, &value));
    }
    out
}

fn key_value(key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> KeyValue {
    let key = match key.cast::<PyString>() {
        Ok(key) => {
            let (text, replaced) = text::utf8_lossy(key);
            if replaced {
                sanitized(
                    Place::Attribute(&text),
                    Sanitization::LoneSurrogates,
                    "key had lone surrogates, replaced with U+FFFD",
                );
            }
            text.into_owned()
        }
        Err(_) => key
            .str()
            .map(|k| k.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let value = any_value(Place::Attribute(&key), value, 0);
    KeyValue {
        key,
        value: Some(value),
        ..Default::default()
    }
}

/// An attribute's value, sanitized as `key_values` sanitizes it.
pub fn attribute_value(key: &str, value: &Bound<'_, PyAny>) -> AnyValue {
    any_value(Place::Attribute(key), value, 0)
}

/// A value outside any attribute, such as a log body; `field` names it in warnings.
pub fn field_value(field: &'static str, value: &Bound<'_, PyAny>) -> AnyValue {
    any_value(Place::Field(field), value, 0)
}

fn any_value(place: Place<'_>, value: &Bound<'_, PyAny>, depth: usize) -> AnyValue {
    AnyValue {
        value: value_of(place, value, depth),
    }
}

fn value_of(place: Place<'_>, value: &Bound<'_, PyAny>, depth: usize) -> Option<Value> {
    if value.is_none() {
        return None;
    }
    // bool before int: bool is an int subclass.
    if let Ok(flag) = value.cast::<PyBool>() {
        return Some(Value::BoolValue(flag.is_true()));
    }
    if let Ok(string) = value.cast::<PyString>() {
        return Some(Value::StringValue(string_value(place, string)));
    }
    if let Ok(int) = value.cast::<PyInt>() {
        return Some(match int.extract::<i64>() {
            Ok(number) => Value::IntValue(number),
            Err(_) => {
                sanitized(
                    place,
                    Sanitization::BeyondSixtyFourBits,
                    "integer beyond 64 bits, sent as its decimal string",
                );
                Value::StringValue(int.to_string())
            }
        });
    }
    if let Ok(float) = value.cast::<PyFloat>() {
        return Some(Value::DoubleValue(float.value()));
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        let mut data = bytes.as_bytes();
        if data.len() > MAX_VALUE_BYTES {
            sanitized(
                place,
                Sanitization::OverOneMebibyte,
                "bytes value over 1 MiB, truncated",
            );
            data = &data[..MAX_VALUE_BYTES];
        }
        return Some(Value::BytesValue(data.to_vec()));
    }
    if depth >= NESTING_LIMIT {
        sanitized(
            place,
            Sanitization::TooDeep,
            "nested deeper than 16 levels, cut off",
        );
        return None;
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        return Some(array(place, tuple.iter(), depth));
    }
    if let Ok(list) = value.cast::<PyList>() {
        return Some(array(place, list.iter(), depth));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let values = dict
            .iter()
            .map(|(inner_key, inner_value)| {
                let inner_key = inner_key
                    .str()
                    .map(|k| k.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let value = any_value(place, &inner_value, depth + 1);
                KeyValue {
                    key: inner_key,
                    value: Some(value),
                    ..Default::default()
                }
            })
            .collect();
        return Some(Value::KvlistValue(KeyValueList { values }));
    }
    let shown = value
        .str()
        .map(|text| string_value(place, &text))
        .unwrap_or_else(|_| "<unprintable>".to_owned());
    let type_name = value
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_default();
    sanitized(
        place,
        Sanitization::UnsupportedType,
        &format!("unsupported type {type_name}, sent as str(value)"),
    );
    Some(Value::StringValue(shown))
}

fn array<'py>(
    place: Place<'_>,
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
) -> Value {
    let values = items
        .map(|item| any_value(place, &item, depth + 1))
        .collect();
    Value::ArrayValue(ArrayValue { values })
}

fn string_value(place: Place<'_>, string: &Bound<'_, PyString>) -> String {
    let (text, replaced) = text::utf8_lossy(string);
    if replaced {
        sanitized(
            place,
            Sanitization::LoneSurrogates,
            "string had lone surrogates, replaced with U+FFFD",
        );
    }
    if text.len() > MAX_VALUE_BYTES {
        sanitized(
            place,
            Sanitization::OverOneMebibyte,
            "string value over 1 MiB, truncated",
        );
        let mut end = MAX_VALUE_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        return text[..end].to_owned();
    }
    text.into_owned()
}

/// `None` and non-strings become "", as protobuf's Python stubs treat an unset field.
/// `field` names it in a sanitization warning.
pub fn optional_str(value: &Bound<'_, PyAny>, field: &'static str) -> String {
    value
        .cast::<PyString>()
        .map(|text| string_value(Place::Field(field), text))
        .unwrap_or_default()
}
