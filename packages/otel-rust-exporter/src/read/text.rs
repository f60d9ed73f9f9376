//! Reading Python `str` as UTF-8 without an intermediate bytes object.

use std::borrow::Cow;

use super::names::name;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

// Part of the stable ABI from 3.10 and exported by CPython 3.9 too; pyo3 hides it for
// abi3-py39 builds and would encode through a temporary `bytes` object instead.
extern "C" {
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::os::raw::c_char;
}

/// The string's UTF-8, or `None` when it holds lone surrogates (not valid UTF-8).
pub fn utf8<'a>(value: &'a Bound<'_, PyString>) -> Option<&'a str> {
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `value` is a live str; CPython caches the UTF-8 buffer on the object, so the
    // slice lives as long as the borrow of `value`.
    let data = unsafe { PyUnicode_AsUTF8AndSize(value.as_ptr(), &mut size) };
    if data.is_null() {
        // Clear the UnicodeEncodeError the call raised.
        drop(PyErr::take(value.py()));
        return None;
    }
    // SAFETY: CPython returned `size` bytes of valid UTF-8 at `data`.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size as usize) };
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// The string's UTF-8 with each lone surrogate replaced by one U+FFFD; `true` when it
/// replaced any.
pub fn utf8_lossy<'a>(value: &'a Bound<'_, PyString>) -> (Cow<'a, str>, bool) {
    match utf8(value) {
        Some(text) => (Cow::Borrowed(text), false),
        None => (Cow::Owned(replace_surrogates(value)), true),
    }
}

/// Through UTF-16, where a lone surrogate is one code unit (UTF-8 lossy decoding would
/// see three invalid bytes and write three replacement characters).
fn replace_surrogates(value: &Bound<'_, PyString>) -> String {
    let encoded = value.call_method1(name!(value.py(), encode), ("utf-16-le", "surrogatepass"));
    match encoded.as_ref().map(|bytes| bytes.cast::<PyBytes>()) {
        Ok(Ok(bytes)) => {
            let units = bytes
                .as_bytes()
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        _ => value.to_string_lossy().into_owned(),
    }
}
