//! Resource and instrumentation scope, converted once and shared by every record that
//! carries them.

use std::sync::{Arc, Mutex};

use super::names::name;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use pyo3::prelude::*;

use super::attributes::{key_values, optional_str};
use crate::records::ScopeGroup;

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
        let same_objects = |entry: &Entry| {
            entry.resource.as_ptr() == resource.as_ptr() && entry.scope.as_ptr() == scope.as_ptr()
        };
        if let Some(entry) = self.lock().iter().find(|entry| same_objects(entry)) {
            return Ok(entry.group.clone());
        }
        // Built without the lock: reading Python attributes can switch threads, and a fork
        // from another thread must never find this lock taken.
        let built = build_group(resource, scope)?;
        let mut entries = self.lock();
        let group = entries
            .iter()
            .find(|entry| *entry.group == built)
            .map(|entry| entry.group.clone())
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

pub fn build_group(resource: &Bound<'_, PyAny>, scope: &Bound<'_, PyAny>) -> PyResult<ScopeGroup> {
    let py = resource.py();
    let (resource_proto, resource_schema_url) = if resource.is_none() {
        (Resource::default(), String::new())
    } else {
        (
            Resource {
                attributes: key_values(&resource.getattr(name!(py, attributes))?)?,
                ..Default::default()
            },
            optional_str(
                &resource.getattr(name!(py, schema_url))?,
                "resource schema_url",
            ),
        )
    };
    let (scope_proto, scope_schema_url) = if scope.is_none() {
        (InstrumentationScope::default(), String::new())
    } else {
        let attributes = scope
            .getattr(name!(py, attributes))
            .map(|attributes| key_values(&attributes))
            .unwrap_or_else(|_| Ok(Vec::new()))?;
        (
            InstrumentationScope {
                name: optional_str(&scope.getattr(name!(py, name))?, "scope name"),
                version: optional_str(&scope.getattr(name!(py, version))?, "scope version"),
                attributes,
                dropped_attributes_count: 0,
            },
            optional_str(&scope.getattr(name!(py, schema_url))?, "scope schema_url"),
        )
    };
    Ok(ScopeGroup {
        resource: resource_proto,
        resource_schema_url,
        scope: scope_proto,
        scope_schema_url,
    })
}
