//! The current Python span as the OpenTelemetry parent of Rust spans.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, ContextGuard};
use pyo3::prelude::*;

use crate::python::{self, PythonSpanContext};
use crate::target;

/// The OpenTelemetry context of the current Python span, ready to be the parent of Rust
/// spans: its trace id, span id, flags and trace state, plus where the Rust spans go.
///
/// With no current Python span, the context has no span: Rust spans under it become roots
/// of new traces, sent to the global `TracerProvider` (or not recorded when there is no SDK
/// provider). With an unsampled Python span, Rust spans under it are not recorded.
/// Never raises: a problem reading Python gives an empty context (nothing recorded) and one
/// logged warning.
pub fn python_context(py: Python<'_>) -> Context {
    match read(py) {
        Ok(context) => context,
        Err(error) => {
            python::warn(
                py,
                &format!("could not read the current Python span: {error}"),
            );
            Context::new()
        }
    }
}

fn read(py: Python<'_>) -> PyResult<Context> {
    let api = python::api(py)?;
    let span = api.get_current_span.bind(py).call0()?;
    let parent = PythonSpanContext::read(&span.call_method0("get_span_context")?)?;
    if !parent.is_valid() {
        return Ok(match target::for_global_provider(py)? {
            Some(tag) => Context::new().with_value(tag),
            None => Context::new(),
        });
    }
    // Unsampled: the sampler drops every Rust span below, so no target is needed.
    let tag = if parent.is_sampled() {
        target::for_span(py, &span)?
    } else {
        None
    };
    let trace_state = if parent.trace_state.is_empty() {
        TraceState::default()
    } else {
        TraceState::from_key_value(parent.trace_state).unwrap_or_default()
    };
    let context = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(parent.trace_id),
        SpanId::from(parent.span_id),
        TraceFlags::new(parent.trace_flags),
        // Same process: the Python span is a local parent.
        false,
        trace_state,
    ));
    Ok(match tag {
        Some(tag) => context.with_value(tag),
        None => context,
    })
}

/// Makes the current Python span the parent of the Rust spans created while it lives, and
/// on drop hands the finished ones to Python's span processors (the Python export path
/// delivers under the GIL, and this guard holds it).
///
/// Create it *before* the span: `#[otel_rust_bridge::instrument]` does that for you.
/// Inside a Rust span it changes nothing: the innermost Rust span stays the parent.
///
/// ```
/// use pyo3::prelude::*;
///
/// #[tracing::instrument(skip_all)]
/// fn checksum(data: &[u8]) -> u64 {
///     data.iter().map(|byte| u64::from(*byte)).sum()
/// }
///
/// #[pyfunction]
/// fn checksum_py(py: Python<'_>, data: Vec<u8>) -> u64 {
///     let _parent = otel_rust_bridge::ParentGuard::attach(py); // before the span starts
///     py.detach(|| checksum(&data))
/// }
/// # Python::initialize();
/// # Python::attach(|py| assert_eq!(checksum_py(py, vec![1, 2]), 3));
/// ```
#[must_use = "the Python span is the parent only while the guard lives"]
pub struct ParentGuard<'py> {
    py: Python<'py>,
    _attached: Option<ContextGuard>,
}

impl<'py> ParentGuard<'py> {
    pub fn attach(py: Python<'py>) -> Self {
        let inside_rust_span = !tracing::Span::current().is_none();
        Self {
            py,
            _attached: (!inside_rust_span).then(|| python_context(py).attach()),
        }
    }
}

impl Drop for ParentGuard<'_> {
    fn drop(&mut self) {
        crate::export::deliver_pending(self.py);
    }
}

/// Runs `f` with the current Python span as the parent of the Rust spans it creates, then
/// delivers them (see [`ParentGuard`]). For methods and closures, where the attribute macro
/// does not apply.
///
/// ```
/// use pyo3::prelude::*;
///
/// #[pyclass]
/// struct Index;
///
/// #[pymethods]
/// impl Index {
///     fn build(&self, py: Python<'_>, size: usize) -> usize {
///         otel_rust_bridge::with_python_parent(py, || {
///             let _span = tracing::info_span!("Index.build", size).entered();
///             py.detach(|| (0..size).count())
///         })
///     }
/// }
/// # Python::initialize();
/// # Python::attach(|py| assert_eq!(Index.build(py, 4), 4));
/// ```
pub fn with_python_parent<R>(py: Python<'_>, f: impl FnOnce() -> R) -> R {
    let _parent = ParentGuard::attach(py);
    f()
}
