//! Resource and instrumentation scope, converted once and shared by every record that
//! carries them.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::attributes::{key_values, string_value};

/// The resource and scope a record was emitted under; equal pairs share one `Arc`, so the
/// batcher can group records by pointer.
#[derive(Debug, PartialEq)]
pub struct ScopeGroup {
    pub resource: Resource,
    pub resource_schema_url: String,
    pub scope: InstrumentationScope,
    pub scope_schema_url: String,
}

/// Python objects seen before, kept alive so their addresses stay theirs.
struct Entry {
    resource: Py<PyAny>,
    scope: Py<PyAny>,
    group: Arc<ScopeGroup>,
}

/// Enough for every tracer of a process; apps that make a tracer per request cycle through.
const CACHE_CAPACITY: usize = 64;

#[derive(Default)]
pub struct ScopeCache {
    entries: Mutex<Vec<Entry>>,
}

impl ScopeCache {
    pub fn group(
        &self,
        resource: &Bound<'_, PyAny>,
        scope: &Bound<'_, PyAny>,
    ) -> PyResult<Arc<ScopeGroup>> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(entry) = entries.iter().find(|e| {
            e.resource.as_ptr() == resource.as_ptr() && e.scope.as_ptr() == scope.as_ptr()
        }) {
            return Ok(entry.group.clone());
        }
        let built = build_group(resource, scope)?;
        let group = entries
            .iter()
            .find(|e| *e.group == built)
            .map(|e| e.group.clone())
            .unwrap_or_else(|| Arc::new(built));
        if entries.len() >= CACHE_CAPACITY {
            entries.remove(0);
        }
        entries.push(Entry {
            resource: resource.clone().unbind(),
            scope: scope.clone().unbind(),
            group: group.clone(),
        });
        Ok(group)
    }
}

fn build_group(resource: &Bound<'_, PyAny>, scope: &Bound<'_, PyAny>) -> PyResult<ScopeGroup> {
    let py = resource.py();
    let (resource_proto, resource_schema_url) = if resource.is_none() {
        (Resource::default(), String::new())
    } else {
        (
            Resource {
                attributes: key_values(&resource.getattr(intern!(py, "attributes"))?)?,
                ..Default::default()
            },
            optional_str(&resource.getattr(intern!(py, "schema_url"))?),
        )
    };
    let (scope_proto, scope_schema_url) = if scope.is_none() {
        (InstrumentationScope::default(), String::new())
    } else {
        let attributes = scope
            .getattr(intern!(py, "attributes"))
            .map(|attributes| key_values(&attributes))
            .unwrap_or_else(|_| Ok(Vec::new()))?;
        (
            InstrumentationScope {
                name: optional_str(&scope.getattr(intern!(py, "name"))?),
                version: optional_str(&scope.getattr(intern!(py, "version"))?),
                attributes,
                dropped_attributes_count: 0,
            },
            optional_str(&scope.getattr(intern!(py, "schema_url"))?),
        )
    };
    Ok(ScopeGroup {
        resource: resource_proto,
        resource_schema_url,
        scope: scope_proto,
        scope_schema_url,
    })
}

/// `None` and non-strings become "", as protobuf's Python stubs treat an unset field.
pub fn optional_str(value: &Bound<'_, PyAny>) -> String {
    value
        .cast::<PyString>()
        .map(|text| string_value("", text))
        .unwrap_or_default()
}
