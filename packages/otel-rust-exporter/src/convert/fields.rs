//! Reading the fields of SDK objects: shared by every converter.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::names::name;

/// Reads the SDK's own (private) field, falling back to the public property for other
/// implementations of the readable interface.
pub fn field<'py>(
    object: &Bound<'py, PyAny>,
    private: &Bound<'py, PyString>,
    public: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    object.getattr(private).or_else(|_| object.getattr(public))
}

/// An object's fields: a dict lookup each when it has an instance `__dict__` (the SDK's
/// spans and log records do), which is cheaper than attribute lookup through the type.
pub struct Fields<'a, 'py> {
    object: &'a Bound<'py, PyAny>,
    dict: Option<Bound<'py, PyDict>>,
}

impl<'a, 'py> Fields<'a, 'py> {
    pub fn of(object: &'a Bound<'py, PyAny>) -> Self {
        let dict = object
            .getattr(name!(object.py(), __dict__))
            .ok()
            .and_then(|dict| dict.cast_into::<PyDict>().ok());
        Self { object, dict }
    }

    pub fn get(
        &self,
        private: &Bound<'py, PyString>,
        public: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(dict) = &self.dict {
            if let Some(value) = dict.get_item(private)? {
                return Ok(value);
            }
        }
        field(self.object, private, public)
    }

    /// A field of a dataclass, whose stored and public names are the same.
    pub fn attr(&self, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        self.get(name, name)
    }
}

/// An `enum.Enum` member's value; `_value_` is a plain attribute, `value` a slow descriptor.
pub fn enum_value(member: &Bound<'_, PyAny>) -> PyResult<i32> {
    let py = member.py();
    member
        .getattr(name!(py, _value_))
        .or_else(|_| member.getattr(name!(py, value)))?
        .extract()
}

/// A timestamp in nanoseconds; `None` (unset) is 0, as protobuf encodes it.
pub fn time(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if value.is_none() {
        return Ok(0);
    }
    value.extract()
}

/// `BoundedAttributes` and `BoundedList` count what their limits dropped.
pub fn dropped(container: &Bound<'_, PyAny>) -> u32 {
    container
        .getattr(name!(container.py(), dropped))
        .and_then(|count| count.extract::<u64>())
        .map(|count| count.min(u32::MAX as u64) as u32)
        .unwrap_or(0)
}
