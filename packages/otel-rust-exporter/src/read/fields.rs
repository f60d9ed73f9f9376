//! Reading the fields of SDK objects: shared by every converter.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::names::name;

/// Reads the SDK's own (private) field, falling back to the public property for other
/// implementations of the readable interface.
///
/// Always by attribute lookup, never through `__dict__`: CPython 3.11+ keeps instance
/// attributes without a dict and would build one per object read that way, garbage the
/// cyclic GC must then scan (it tripled the cost of reading a fresh span).
pub fn field<'py>(
    object: &Bound<'py, PyAny>,
    private: &Bound<'py, PyString>,
    public: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    object.getattr(private).or_else(|_| object.getattr(public))
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
