//! Where a Rust span goes: the span processor of the Python `TracerProvider` that made its
//! Python parent (or of the global provider, for a root), with that provider's resource.
//!
//! Targets are registered once (under the GIL) and referred to by index, which travels in
//! the OpenTelemetry `Context` from the Python parent to every Rust descendant; the export
//! side reads the registry without a lock.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

use crate::native::NativeSink;
use crate::python;

/// Enough for every provider a process makes, tests included; beyond it spans of new
/// providers are not recorded (and a warning says so).
const CAPACITY: usize = 1024;

/// Carried in the OpenTelemetry `Context`: the index of the span's target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TargetTag(pub u32);

pub(crate) struct Target {
    /// The provider's active (multi) span processor, for the Python path.
    pub processor: Py<PyAny>,
    pub resource: Py<PyAny>,
    /// An SDK `InstrumentationScope` for the bridge's scope.
    pub scope: Py<PyAny>,
    /// Set when the provider's only processor is our `RustSpanProcessor`.
    pub native: Option<NativeSink>,
    /// Identity of (processor, its processor tuple, resource); the objects stay alive here,
    /// so their addresses are not reused.
    identity: [usize; 3],
    _processors: Option<Py<PyAny>>,
}

static TARGETS: ArcSwapOption<Vec<Arc<Target>>> = ArcSwapOption::const_empty();

pub(crate) fn get(tag: TargetTag) -> Option<Arc<Target>> {
    TARGETS
        .load()
        .as_ref()
        .and_then(|targets| targets.get(tag.0 as usize).cloned())
}

/// The target for spans under `span` (an SDK span), or under the global provider's spans
/// when `span` is not one.
pub(crate) fn for_span(py: Python<'_>, span: &Bound<'_, PyAny>) -> PyResult<Option<TargetTag>> {
    match (span.getattr("_span_processor"), span.getattr("_resource")) {
        (Ok(processor), Ok(resource)) => register(py, &processor, &resource),
        _ => for_global_provider(py),
    }
}

pub(crate) fn for_global_provider(py: Python<'_>) -> PyResult<Option<TargetTag>> {
    let provider = python::api(py)?.get_tracer_provider.bind(py).call0()?;
    // The API's proxy and no-op providers record nothing.
    match (
        provider.getattr("_active_span_processor"),
        provider.getattr("resource"),
    ) {
        (Ok(processor), Ok(resource)) => register(py, &processor, &resource),
        _ => Ok(None),
    }
}

fn register(
    py: Python<'_>,
    processor: &Bound<'_, PyAny>,
    resource: &Bound<'_, PyAny>,
) -> PyResult<Option<TargetTag>> {
    let processors = processor.getattr("_span_processors").ok();
    let identity = [
        processor.as_ptr() as usize,
        processors
            .as_ref()
            .map_or(0, |tuple| tuple.as_ptr() as usize),
        resource.as_ptr() as usize,
    ];
    let current = TARGETS.load_full();
    let known = current.as_deref().map(Vec::as_slice).unwrap_or_default();
    // Newest first: a process usually uses the provider it made last.
    if let Some(index) = known.iter().rposition(|target| target.identity == identity) {
        return Ok(Some(TargetTag(index as u32)));
    }
    if known.len() >= CAPACITY {
        python::warn(
            py,
            "more than 1024 tracer providers seen; Rust spans under newer ones are not recorded",
        );
        return Ok(None);
    }
    let config = crate::config();
    let scope = python::api(py)?
        .instrumentation_scope
        .bind(py)
        .call1((config.scope_name.as_str(), config.scope_version.as_deref()))?;
    let native = processors
        .as_ref()
        .and_then(|tuple| native_sink(py, tuple, resource, &scope));
    let target = Arc::new(Target {
        processor: processor.clone().unbind(),
        resource: resource.clone().unbind(),
        scope: scope.unbind(),
        native,
        identity,
        _processors: processors.map(Bound::unbind),
    });
    let mut updated = known.to_vec();
    updated.push(target);
    let index = updated.len() - 1;
    // Registration runs under the GIL, so nobody else stores in between.
    TARGETS.store(Some(Arc::new(updated)));
    Ok(Some(TargetTag(index as u32)))
}

/// The fast path: the provider's only processor is a `RustSpanProcessor`, whose public
/// `span_sink(resource, scope)` hands out a span sink capsule.
fn native_sink(
    py: Python<'_>,
    processors: &Bound<'_, PyAny>,
    resource: &Bound<'_, PyAny>,
    scope: &Bound<'_, PyAny>,
) -> Option<NativeSink> {
    let processors = processors.cast::<PyTuple>().ok()?;
    if processors.len() != 1 {
        return None;
    }
    let make_sink = processors.get_item(0).ok()?.getattr("span_sink").ok()?;
    let capsule = match make_sink.call1((resource, scope)) {
        Ok(capsule) => capsule,
        Err(error) => {
            python::warn(
                py,
                &format!("RustSpanProcessor gave no span sink ({error}); using the Python path"),
            );
            return None;
        }
    };
    let capsule = capsule.cast_into::<PyCapsule>().ok()?;
    let sink = NativeSink::from_capsule(capsule);
    if sink.is_none() {
        python::warn(
            py,
            "RustSpanProcessor's span sink has an unknown ABI version; using the Python path",
        );
    }
    sink
}
