//! The OpenTelemetry API and SDK objects native spans hand out or call, looked up once
//! when the first `TracerCore` is made (the API is imported by then).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};

pub struct Api {
    /// `opentelemetry.trace.propagation._SPAN_KEY`: where the current span sits in a Context.
    pub span_key: Py<PyString>,
    /// The runtime context's ContextVar, when it is the default `ContextVarsRuntimeContext`;
    /// otherwise `attach`/`detach`/`get_current` go through the API's functions.
    pub context_var: Option<Py<PyAny>>,
    pub get_current: Py<PyAny>,
    pub attach: Py<PyAny>,
    pub detach: Py<PyAny>,
    pub context_class: Py<PyAny>,
    pub span_abc: Py<PyAny>,
    pub span_context_class: Py<PyAny>,
    pub non_recording_span: Py<PyAny>,
    pub trace_flags: Py<PyAny>,
    pub default_trace_state: Py<PyAny>,
    pub span_kind: Py<PyAny>,
    pub status: Py<PyAny>,
    pub status_code: Py<PyAny>,
    pub sdk_logger: Py<PyAny>,
    pub attributes_logger: Py<PyAny>,
    pub context_logger: Py<PyAny>,
    pub format_exception: Py<PyAny>,
    /// `otel_rust_exporter._native_spans`: the Python views (ReadableSpan, events, links)
    /// and the decorator form of `start_as_current_span`.
    pub views: Py<PyAny>,
}

static API: PyOnceLock<Api> = PyOnceLock::new();

pub fn load(py: Python<'_>) -> PyResult<&'static Api> {
    API.get_or_try_init(py, || {
        let trace = py.import("opentelemetry.trace")?;
        let context = py.import("opentelemetry.context")?;
        let views = py.import("otel_rust_exporter._native_spans")?;
        let context_var = views.getattr("CONTEXT_VAR")?;
        let logging = py.import("logging")?;
        let logger = |name: &str| -> PyResult<Py<PyAny>> {
            Ok(logging.call_method1("getLogger", (name,))?.unbind())
        };
        Ok(Api {
            span_key: views.getattr("SPAN_KEY")?.cast_into::<PyString>()?.unbind(),
            context_var: (!context_var.is_none()).then(|| context_var.unbind()),
            get_current: context.getattr("get_current")?.unbind(),
            attach: context.getattr("attach")?.unbind(),
            detach: context.getattr("detach")?.unbind(),
            context_class: context.getattr("Context")?.unbind(),
            span_abc: trace.getattr("Span")?.unbind(),
            span_context_class: trace.getattr("SpanContext")?.unbind(),
            non_recording_span: trace.getattr("NonRecordingSpan")?.unbind(),
            trace_flags: trace.getattr("TraceFlags")?.unbind(),
            default_trace_state: trace.getattr("DEFAULT_TRACE_STATE")?.unbind(),
            span_kind: trace.getattr("SpanKind")?.unbind(),
            status: trace.getattr("Status")?.unbind(),
            status_code: trace.getattr("StatusCode")?.unbind(),
            sdk_logger: logger("opentelemetry.sdk.trace")?,
            attributes_logger: logger("opentelemetry.attributes")?,
            context_logger: logger("opentelemetry.context")?,
            format_exception: py
                .import("traceback")?
                .getattr("format_exception")?
                .unbind(),
            views: views.unbind().into_any(),
        })
    })
}

/// The loaded API; only called on objects made after `load` succeeded.
pub fn get(py: Python<'_>) -> &'static Api {
    API.get(py)
        .expect("the API is loaded before any tracer exists")
}

impl Api {
    pub fn current_context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.context_var {
            Some(var) => var.bind(py).call_method0("get"),
            None => self.get_current.bind(py).call0(),
        }
    }

    /// `attach(set_value(_SPAN_KEY, span))`: the token to detach with.
    pub fn attach_span<'py>(
        &self,
        py: Python<'py>,
        span: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let current = self.current_context(py)?;
        let values = PyDict::new(py);
        values.update(current.cast::<pyo3::types::PyMapping>()?)?;
        values.set_item(self.span_key.bind(py), span)?;
        let context = self.context_class.bind(py).call1((values,))?;
        match &self.context_var {
            Some(var) => var.bind(py).call_method1("set", (context,)),
            None => self.attach.bind(py).call1((context,)),
        }
    }

    /// As the API's `detach`: a failure is logged, not raised.
    pub fn detach(&self, py: Python<'_>, token: &Bound<'_, PyAny>) {
        let result = match &self.context_var {
            Some(var) => var.bind(py).call_method1("reset", (token,)).map(drop),
            None => self.detach.bind(py).call1((token,)).map(drop),
        };
        if result.is_err() {
            let _ = self
                .context_logger
                .bind(py)
                .call_method1("exception", ("Failed to detach context",));
        }
    }

    pub fn warn(&self, py: Python<'_>, logger: &Py<PyAny>, message: &str) {
        let _ = logger.bind(py).call_method1("warning", (message,));
    }

    /// `SpanContext(...)` built as its `__new__` builds it, without the Python frame.
    pub fn span_context<'py>(
        &self,
        py: Python<'py>,
        trace_id: u128,
        span_id: u64,
        is_remote: bool,
        trace_flags: u8,
        trace_state: Option<&Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let flags = self.trace_flags.bind(py).call1((trace_flags,))?;
        let state = trace_state
            .map(|state| state.bind(py).clone())
            .unwrap_or_else(|| self.default_trace_state.bind(py).clone());
        let valid = trace_id != 0 && span_id != 0;
        let fields = PyTuple::new(
            py,
            [
                trace_id.into_pyobject(py)?.into_any(),
                span_id.into_pyobject(py)?.into_any(),
                pyo3::types::PyBool::new(py, is_remote)
                    .to_owned()
                    .into_any(),
                flags,
                state,
                pyo3::types::PyBool::new(py, valid).to_owned().into_any(),
            ],
        )?;
        py.get_type::<PyTuple>()
            .call_method1("__new__", (self.span_context_class.bind(py), fields))
    }
}
