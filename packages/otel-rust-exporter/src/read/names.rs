//! Attribute names, interned once when the module is imported.
//!
//! pyo3's `intern!` fills its cache on first use and may release the GIL while doing so;
//! a fork from another thread at that moment leaves the child waiting on a cache nobody
//! will fill. Filling them all during import (single-threaded for this module) avoids it.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

macro_rules! names {
    ($($field:ident,)*) => {
        #[allow(non_snake_case)]
        pub struct Names {
            $(pub $field: Py<PyString>,)*
        }

        impl Names {
            fn new(py: Python<'_>) -> Self {
                Self { $($field: PyString::intern(py, stringify!($field)).unbind(),)* }
            }
        }
    };
}

names! {
    _attributes,
    _context,
    _description,
    _dict,
    _dq,
    _end_time,
    _events,
    _instrumentation_scope,
    _kind,
    _links,
    _name,
    _parent,
    _resource,
    _start_time,
    _status,
    _status_code,
    _timestamp,
    _value_,
    attributes,
    body,
    context,
    description,
    dropped,
    encode,
    end_time,
    event_name,
    events,
    instrumentation_scope,
    is_remote,
    items,
    kind,
    links,
    log_record,
    name,
    observed_timestamp,
    parent,
    resource,
    schema_url,
    severity_number,
    severity_text,
    span_id,
    start_time,
    status,
    status_code,
    timestamp,
    trace_flags,
    trace_id,
    trace_state,
    value,
    version,
    // Metrics.
    aggregation_temporality,
    bucket_counts,
    count,
    data,
    data_points,
    exemplars,
    explicit_bounds,
    filtered_attributes,
    flags,
    is_monotonic,
    max,
    metrics,
    min,
    negative,
    offset,
    positive,
    resource_metrics,
    scale,
    scope,
    scope_metrics,
    start_time_unix_nano,
    sum,
    time_unix_nano,
    unit,
    zero_count,
}

static NAMES: PyOnceLock<Names> = PyOnceLock::new();

/// Called from the module's init function.
pub fn init(py: Python<'_>) {
    NAMES.get_or_init(py, || Names::new(py));
}

pub fn get(py: Python<'_>) -> &Names {
    NAMES.get_or_init(py, || Names::new(py))
}

/// `name!(py, _context)` is the interned Python string `"_context"`.
macro_rules! name {
    ($py:expr, $field:ident) => {
        $crate::read::names::get($py).$field.bind($py)
    };
}
pub(crate) use name;
