//! Span, event and link attributes kept as OTLP values, with the SDK's `BoundedAttributes`
//! rules: at most `max_count` (the oldest dropped and counted), strings cut to
//! `max_length` characters, an updated key moved to the end, invalid keys dropped.

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyMapping, PyString, PyTuple};

use super::api;
use crate::read::attributes::attribute_value;

/// The SDK's warning when an attribute store is full.
pub fn warn_full(py: Python<'_>, times: u32) {
    let api = api::get(py);
    for _ in 0..times {
        api.warn(
            py,
            &api.attributes_logger,
            "Attributes dict is full. Dropping the oldest key-value pair from attributes to make space for the new key-value pair.",
        );
    }
}

#[derive(Clone, Copy, Default)]
pub struct Bounds {
    pub max_count: Option<usize>,
    pub max_length: Option<usize>,
}

#[derive(Default)]
pub struct Attributes {
    pub items: Vec<KeyValue>,
    pub dropped: u32,
}

/// Attributes read from Python, before they are stored (reading may run Python code, so
/// it happens outside the span's lock).
pub struct Cleaned {
    items: Vec<KeyValue>,
    invalid: u32,
}

impl Cleaned {
    pub fn one(
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        bounds: Bounds,
    ) -> Self {
        match key.cast::<PyString>() {
            Ok(key) if key.len().is_ok_and(|length| length > 0) => Self {
                items: vec![cleaned(py, key, value, bounds.max_length)],
                invalid: 0,
            },
            _ => {
                let api = api::get(py);
                api.warn(
                    py,
                    &api.attributes_logger,
                    &format!(
                        "invalid key `{}`. must be non-empty string. Dropping key from attributes.",
                        key.str().map(|key| key.to_string()).unwrap_or_default()
                    ),
                );
                Self {
                    items: Vec::new(),
                    invalid: 1,
                }
            }
        }
    }

    /// A mapping, cleaned as `_clean_attribute_value` cleans one.
    pub fn many(py: Python<'_>, attributes: &Bound<'_, PyAny>, bounds: Bounds) -> PyResult<Self> {
        let mut items = Vec::new();
        let mut invalid = 0;
        if attributes.is_none() {
            return Ok(Self { items, invalid });
        }
        let mut add = |key: Bound<'_, PyAny>, value: Bound<'_, PyAny>| {
            let text = if let Ok(text) = key.cast::<PyString>() {
                Some(text.clone())
            } else if key.is_instance_of::<PyInt>() || key.is_instance_of::<PyFloat>() {
                key.str().ok()
            } else {
                None
            };
            match text {
                Some(text) if text.len().is_ok_and(|length| length > 0) => {
                    items.push(cleaned(py, &text, &value, bounds.max_length))
                }
                _ => invalid += 1,
            }
        };
        if let Ok(dict) = attributes.cast::<PyDict>() {
            for (key, value) in dict.iter() {
                add(key, value);
            }
        } else {
            for item in attributes.cast::<PyMapping>()?.items()?.iter() {
                let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                add(key, value);
            }
        }
        Ok(Self { items, invalid })
    }
}

fn cleaned(
    py: Python<'_>,
    key: &Bound<'_, PyString>,
    value: &Bound<'_, PyAny>,
    max_length: Option<usize>,
) -> KeyValue {
    let key = key.to_string_lossy().into_owned();
    let mut value = match unsupported(py, value) {
        None => attribute_value(&key, value),
        Some(replacement) => replacement,
    };
    if let Some(limit) = max_length {
        if truncate(&mut value, limit) {
            let api = api::get(py);
            api.warn(
                py,
                &api.attributes_logger,
                &format!("String attribute value exceeds max length of {limit}, truncating."),
            );
        }
    }
    KeyValue {
        key,
        value: Some(value),
        ..Default::default()
    }
}

/// A value of a type attributes cannot hold, replaced as the SDK replaces it (with its
/// warning): by `str(value)` when its type defines `__str__` or `__repr__`, else by None.
fn unsupported(py: Python<'_>, value: &Bound<'_, PyAny>) -> Option<AnyValue> {
    if value.is_none()
        || value.is_instance_of::<PyBool>()
        || value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyFloat>()
        || value.is_instance_of::<PyBytes>()
        || value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyTuple>()
        || value.is_instance_of::<pyo3::types::PyList>()
        || value.is_instance_of::<PyDict>()
    {
        return None;
    }
    let api = api::get(py);
    let kind = value.get_type();
    api.warn(
        py,
        &api.attributes_logger,
        &format!(
            "Invalid type `{}` for attribute value. Expected one of bool, str, None, bytes, int, float or a Mapping or Sequence of those types. Value's __str__ method will be called if it exists, otherwise the value will be replaced with None.",
            kind.str().map(|name| name.to_string()).unwrap_or_default()
        ),
    );
    let object = py.get_type::<PyAny>();
    let custom = |method: &str| -> bool {
        match (kind.getattr(method), object.getattr(method)) {
            (Ok(own), Ok(base)) => !own.is(&base),
            _ => false,
        }
    };
    let text = if custom("__str__") || custom("__repr__") {
        value
            .str()
            .ok()
            .map(|text| Value::StringValue(text.to_string_lossy().into_owned()))
    } else {
        None
    };
    Some(AnyValue { value: text })
}

/// Cuts strings (also inside arrays and maps) to `limit` characters, as Python slices.
fn truncate(value: &mut AnyValue, limit: usize) -> bool {
    match &mut value.value {
        Some(Value::StringValue(text)) => match text.char_indices().nth(limit) {
            Some((end, _)) => {
                text.truncate(end);
                true
            }
            None => false,
        },
        Some(Value::ArrayValue(array)) => array
            .values
            .iter_mut()
            .fold(false, |any, item| truncate(item, limit) | any),
        Some(Value::KvlistValue(list)) => list.values.iter_mut().fold(false, |any, item| {
            item.value
                .as_mut()
                .is_some_and(|value| truncate(value, limit))
                | any
        }),
        _ => false,
    }
}

impl Attributes {
    pub fn from_cleaned(cleaned: Cleaned, bounds: Bounds) -> (Self, u32) {
        let mut attributes = Self::default();
        let full = attributes.extend(cleaned, bounds);
        (attributes, full)
    }

    /// Stores cleaned attributes; returns how many times the store was full (the SDK
    /// warns each time).
    pub fn extend(&mut self, cleaned: Cleaned, bounds: Bounds) -> u32 {
        self.dropped += cleaned.invalid;
        if bounds.max_count == Some(0) {
            self.dropped += cleaned.items.len() as u32;
            return 0;
        }
        let mut full = 0;
        for item in cleaned.items {
            if let Some(position) = self.items.iter().position(|old| old.key == item.key) {
                self.items.remove(position);
            }
            if bounds.max_count.is_some_and(|max| self.items.len() >= max) {
                self.items.remove(0);
                self.dropped += 1;
                full += 1;
            }
            self.items.push(item);
        }
        full
    }

    /// The attributes as a Python dict (for views).
    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        key_values_to_dict(py, &self.items)
    }
}

pub fn key_values_to_dict<'py>(
    py: Python<'py>,
    items: &[KeyValue],
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for item in items {
        dict.set_item(&item.key, to_python(py, item.value.as_ref())?)?;
    }
    Ok(dict)
}

/// An OTLP value back as the Python value the SDK would have stored.
fn to_python<'py>(py: Python<'py>, value: Option<&AnyValue>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value.and_then(|value| value.value.as_ref()) {
        None => py.None().into_bound(py),
        Some(Value::StringValue(text)) => PyString::new(py, text).into_any(),
        Some(Value::BoolValue(flag)) => PyBool::new(py, *flag).to_owned().into_any(),
        Some(Value::IntValue(number)) => number.into_pyobject(py)?.into_any(),
        Some(Value::DoubleValue(number)) => PyFloat::new(py, *number).into_any(),
        Some(Value::BytesValue(bytes)) => PyBytes::new(py, bytes).into_any(),
        Some(Value::ArrayValue(array)) => {
            let items = array
                .values
                .iter()
                .map(|item| to_python(py, Some(item)))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)?.into_any()
        }
        Some(Value::KvlistValue(list)) => key_values_to_dict(py, &list.values)?.into_any(),
        // Never made by this crate: strings are sent inline.
        Some(Value::StringValueStrindex(_)) => py.None().into_bound(py),
    })
}
