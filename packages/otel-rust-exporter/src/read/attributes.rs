//! Attribute values to OTLP `AnyValue`, encoded as the stock Python exporter encodes them.
//!
//! Values the SDK lets through but protobuf cannot carry are sanitized with a warning:
//! lone surrogates become U+FFFD, integers beyond 64 bits become their decimal string,
//! values over [`MAX_VALUE_BYTES`] are truncated, and unknown types become `str(value)`.

use std::borrow::Cow;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, KeyValue, KeyValueList,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::names::name;
use super::text;
use crate::diagnostics::{self, RateLimited};
use crate::wire::Writer;

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
    let mut out = Vec::new();
    for_each_attribute(attributes, |key, value| {
        let key = key_text(key);
        let value = any_value(Place::Attribute(&key), value, 0);
        out.push(KeyValue {
            key: key.into_owned(),
            value: Some(value),
            ..Default::default()
        });
    })?;
    Ok(out)
}

/// Writes an attributes mapping as repeated `KeyValue` field `tag`, straight from the
/// Python objects: strings are copied once, into the record's bytes.
pub fn write_key_values(
    tag: u32,
    attributes: &Bound<'_, PyAny>,
    writer: &mut Writer,
) -> PyResult<()> {
    for_each_attribute(attributes, |key, value| {
        let key = key_text(key);
        let read = read_value(Place::Attribute(&key), value, 0);
        writer.message(tag, |key_value| {
            key_value.string(1, &key);
            key_value.message(2, |any| write_value(read, any));
        });
    })
}

/// Writes a value outside any attribute (a log body) as `AnyValue` field `tag`.
pub fn write_field_value(
    tag: u32,
    field: &'static str,
    value: &Bound<'_, PyAny>,
    writer: &mut Writer,
) {
    let read = read_value(Place::Field(field), value, 0);
    writer.message(tag, |any| write_value(read, any));
}

/// The `AnyValue` fields (`oneof value`) for a value read.
fn write_value(read: Option<Read<'_>>, any: &mut Writer) {
    match read {
        None => {}
        Some(Read::Text(text)) => any.oneof_bytes(1, text.as_bytes()),
        Some(Read::Bool(flag)) => any.oneof_bool(2, flag),
        Some(Read::Int(number)) => any.oneof_int64(3, number),
        Some(Read::Double(number)) => any.oneof_double(4, number),
        Some(Read::Bytes(data)) => any.oneof_bytes(7, data),
        Some(Read::Nested(value)) => value.encode(any.raw()),
    }
}

/// Calls `each` with every key and value of a mapping.
fn for_each_attribute<'py>(
    attributes: &Bound<'py, PyAny>,
    mut each: impl FnMut(&Bound<'py, PyAny>, &Bound<'py, PyAny>),
) -> PyResult<()> {
    if attributes.is_none() {
        return Ok(());
    }
    if let Ok(dict) = attributes.cast::<PyDict>() {
        dict.iter().for_each(|(key, value)| each(&key, &value));
        return Ok(());
    }
    // BoundedAttributes keeps its data in a plain dict: iterate that directly.
    if let Ok(inner) = attributes.getattr(name!(attributes.py(), _dict)) {
        if let Ok(dict) = inner.cast::<PyDict>() {
            dict.iter().for_each(|(key, value)| each(&key, &value));
            return Ok(());
        }
    }
    let items = attributes.call_method0(name!(attributes.py(), items))?;
    for item in items.try_iter()? {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        each(&key, &value);
    }
    Ok(())
}

fn key_text<'a>(key: &'a Bound<'_, PyAny>) -> Cow<'a, str> {
    match key.cast::<PyString>() {
        Ok(key) => {
            let (text, replaced) = text::utf8_lossy(key);
            if replaced {
                sanitized(
                    Place::Attribute(&text),
                    Sanitization::LoneSurrogates,
                    "key had lone surrogates, replaced with U+FFFD",
                );
            }
            text
        }
        Err(_) => Cow::Owned(
            key.str()
                .map(|k| k.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
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
        value: read_value(place, value, depth).map(Read::into_value),
    }
}

/// A value as read, borrowing the Python object's text and bytes where it can.
enum Read<'a> {
    Text(Cow<'a, str>),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'a [u8]),
    /// Arrays and mappings, converted whole.
    Nested(Value),
}

impl Read<'_> {
    fn into_value(self) -> Value {
        match self {
            Read::Text(text) => Value::StringValue(text.into_owned()),
            Read::Bool(flag) => Value::BoolValue(flag),
            Read::Int(number) => Value::IntValue(number),
            Read::Double(number) => Value::DoubleValue(number),
            Read::Bytes(data) => Value::BytesValue(data.to_vec()),
            Read::Nested(value) => value,
        }
    }
}

fn read_value<'a>(place: Place<'_>, value: &'a Bound<'_, PyAny>, depth: usize) -> Option<Read<'a>> {
    if value.is_none() {
        return None;
    }
    // bool before int: bool is an int subclass.
    if let Ok(flag) = value.cast::<PyBool>() {
        return Some(Read::Bool(flag.is_true()));
    }
    if let Ok(string) = value.cast::<PyString>() {
        return Some(Read::Text(string_value(place, string)));
    }
    if let Ok(int) = value.cast::<PyInt>() {
        return Some(match int.extract::<i64>() {
            Ok(number) => Read::Int(number),
            Err(_) => {
                sanitized(
                    place,
                    Sanitization::BeyondSixtyFourBits,
                    "integer beyond 64 bits, sent as its decimal string",
                );
                Read::Text(Cow::Owned(int.to_string()))
            }
        });
    }
    if let Ok(float) = value.cast::<PyFloat>() {
        return Some(Read::Double(float.value()));
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
        return Some(Read::Bytes(data));
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
        return Some(Read::Nested(array(place, tuple.iter(), depth)));
    }
    if let Ok(list) = value.cast::<PyList>() {
        return Some(Read::Nested(array(place, list.iter(), depth)));
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
        return Some(Read::Nested(Value::KvlistValue(KeyValueList { values })));
    }
    let shown = value
        .str()
        .map(|text| string_value(place, &text).into_owned())
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
    Some(Read::Text(Cow::Owned(shown)))
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

fn string_value<'a>(place: Place<'_>, string: &'a Bound<'_, PyString>) -> Cow<'a, str> {
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
        return match text {
            Cow::Borrowed(text) => Cow::Borrowed(&text[..end]),
            Cow::Owned(text) => Cow::Owned(text[..end].to_owned()),
        };
    }
    text
}

/// `None` and non-strings become "", as protobuf's Python stubs treat an unset field.
/// `field` names it in a sanitization warning.
pub fn optional_str(value: &Bound<'_, PyAny>, field: &'static str) -> String {
    optional_text(value, field).into_owned()
}

/// As `optional_str`, borrowing the string's UTF-8.
pub fn optional_text<'a>(value: &'a Bound<'_, PyAny>, field: &'static str) -> Cow<'a, str> {
    value
        .cast::<PyString>()
        .map(|text| string_value(Place::Field(field), text))
        .unwrap_or_default()
}
