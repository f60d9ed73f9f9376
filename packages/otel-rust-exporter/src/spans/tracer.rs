//! `ProviderCore` (the processors every tracer's spans go to) and `TracerCore`
//! (`start_span` as the SDK's `Tracer` does it, with native ids and samplers), and
//! `CurrentSpan`, what `start_as_current_span` returns.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};
use rand::{Rng, SeedableRng};

use super::api;
use super::attributes::{warn_full, Attributes, Bounds, Cleaned};
use super::sampler::{Parent, Sampler, DROP, RECORD_AND_SAMPLE};
use super::span::{now_nanos, optional_time, read_link, ContextData, NativeSpan, State};
use crate::otlp::BatchExporter;
use crate::python::batching::Batching;
use crate::read::fields::enum_value;
use crate::read::scope::build_group;
use crate::records::{EncodedSpan, ScopeGroup};
use crate::runtime::generation;

/// The `TraceFlags` bit the SDK sets when the trace id is random (W3C level 2).
const RANDOM_TRACE_ID: u8 = 0x02;

/// Where ended spans go: Python processors (called as the SDK calls them) and our own
/// processors' queues (pushed to directly).
#[derive(Default)]
pub struct Processors {
    pub python: Vec<Py<PyAny>>,
    pub native: Vec<Arc<Batching<BatchExporter<EncodedSpan>>>>,
}

/// The SDK's `SpanLimits`, read once per tracer.
#[derive(Clone, Copy)]
pub struct Limits {
    pub span: Bounds,
    pub event: Bounds,
    pub link: Bounds,
    pub max_events: Option<usize>,
    pub max_links: Option<usize>,
}

impl Limits {
    fn read(limits: &Bound<'_, PyAny>) -> PyResult<Self> {
        let get = |name: &str| -> PyResult<Option<usize>> { limits.getattr(name)?.extract() };
        let value_length = get("max_attribute_length")?;
        Ok(Self {
            span: Bounds {
                max_count: get("max_span_attributes")?,
                max_length: get("max_span_attribute_length")?,
            },
            event: Bounds {
                max_count: get("max_event_attributes")?,
                max_length: value_length,
            },
            link: Bounds {
                max_count: get("max_link_attributes")?,
                max_length: value_length,
            },
            max_events: get("max_events")?,
            max_links: get("max_links")?,
        })
    }
}

/// What every span of a tracer shares; replaced when the resource changes (after a fork).
pub struct TracerState {
    pub group: Arc<ScopeGroup>,
    pub resource: Py<PyAny>,
    pub scope: Py<PyAny>,
    /// The deprecated `InstrumentationInfo` the SDK's spans still carry.
    pub instrumentation_info: Option<Py<PyAny>>,
    pub limits: Limits,
}

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct ProviderCore {
    processors: Mutex<Arc<Processors>>,
    /// The provider's `_active_span_processor`, which the SDK's spans hold.
    pub active: Py<PyAny>,
}

#[pymethods]
impl ProviderCore {
    #[new]
    fn new(active: &Bound<'_, PyAny>) -> PyResult<Self> {
        api::load(active.py())?;
        Ok(Self {
            processors: Mutex::default(),
            active: active.clone().unbind(),
        })
    }

    /// The provider's processors in order, ours given as their native core (queued to
    /// directly); the others are called.
    fn set_processors(&self, processors: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut set = Processors::default();
        for processor in processors.try_iter()? {
            let processor = processor?;
            match processor.cast::<crate::python::trace::SpanProcessorCore>() {
                Ok(core) => set.native.push(core.get().batching()),
                Err(_) => set.python.push(processor.unbind()),
            }
        }
        *self.processors.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        Ok(())
    }
}

impl ProviderCore {
    pub fn current(&self) -> Arc<Processors> {
        self.processors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Ids from the SDK's `RandomIdGenerator`, drawn natively, or from any other generator.
enum Ids {
    Random,
    Python(Py<PyAny>),
}

thread_local! {
    /// Reseeded in a forked child, so parent and child never draw the same ids.
    static RANDOM: RefCell<Option<(u64, rand::rngs::StdRng)>> = const { RefCell::new(None) };
}

fn random<T>(draw: impl Fn(&mut rand::rngs::StdRng) -> T) -> T {
    RANDOM.with(|cell| {
        let mut cell = cell.borrow_mut();
        let current = generation();
        match &mut *cell {
            Some((seeded_in, rng)) if *seeded_in == current => draw(rng),
            _ => {
                let mut rng = rand::rngs::StdRng::from_os_rng();
                let value = draw(&mut rng);
                *cell = Some((current, rng));
                value
            }
        }
    })
}

impl Ids {
    fn trace_id(&self, py: Python<'_>) -> PyResult<u128> {
        self.generate(py, "generate_trace_id")
    }

    fn span_id(&self, py: Python<'_>) -> PyResult<u64> {
        self.generate(py, "generate_span_id")
    }

    /// A random non-zero id, or what the Python generator's `method` returns.
    fn generate<T>(&self, py: Python<'_>, method: &str) -> PyResult<T>
    where
        T: Default + PartialEq + for<'a, 'py> FromPyObject<'a, 'py, Error = PyErr>,
        rand::distr::StandardUniform: rand::distr::Distribution<T>,
    {
        match self {
            Self::Random => Ok(random(|rng| loop {
                let id: T = rng.random();
                if id != T::default() {
                    break id;
                }
            })),
            Self::Python(generator) => generator.bind(py).call_method0(method)?.extract(),
        }
    }

    fn trace_id_is_random(&self, py: Python<'_>) -> PyResult<bool> {
        match self {
            Self::Random => Ok(true),
            Self::Python(generator) => match generator.bind(py).getattr("is_trace_id_random") {
                Ok(method) => method.call0()?.is_truthy(),
                Err(_) => Ok(false),
            },
        }
    }
}

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct TracerCore {
    provider: Py<ProviderCore>,
    state: Mutex<Arc<TracerState>>,
    sampler: Sampler,
    ids: Ids,
    enabled: AtomicBool,
    /// The SDK's tracer metrics, only when they are enabled.
    metrics: Option<Py<PyAny>>,
}

/// `start_span`'s arguments, kept by `CurrentSpan` until it is entered.
struct StartArguments {
    name: Py<PyAny>,
    context: Option<Py<PyAny>>,
    kind: Option<Py<PyAny>>,
    attributes: Option<Py<PyAny>>,
    links: Option<Py<PyAny>>,
    start_time: Option<u64>,
    record_exception: bool,
    set_status_on_exception: bool,
}

impl StartArguments {
    fn clone_ref(&self, py: Python<'_>) -> Self {
        let copy = |value: &Option<Py<PyAny>>| value.as_ref().map(|value| value.clone_ref(py));
        Self {
            name: self.name.clone_ref(py),
            context: copy(&self.context),
            kind: copy(&self.kind),
            attributes: copy(&self.attributes),
            links: copy(&self.links),
            start_time: self.start_time,
            record_exception: self.record_exception,
            set_status_on_exception: self.set_status_on_exception,
        }
    }
}

fn some_object(value: Option<&Bound<'_, PyAny>>) -> Option<Py<PyAny>> {
    value
        .filter(|value| !value.is_none())
        .map(|value| value.clone().unbind())
}

impl TracerCore {
    /// `TracerMetrics.start_span(parent, decision)`: the callable to run at `end()`.
    fn start_metrics(
        &self,
        py: Python<'_>,
        metrics: &Py<PyAny>,
        parent: Option<&ContextData>,
        decision: i32,
    ) -> PyResult<Py<PyAny>> {
        let parent = match parent {
            Some(parent) => parent.to_python(py)?,
            None => py.None().into_bound(py),
        };
        let decision = py
            .import("opentelemetry.sdk.trace.sampling")?
            .getattr("Decision")?
            .call1((decision,))?;
        Ok(metrics
            .bind(py)
            .call_method1("start_span", (parent, decision))?
            .unbind())
    }

    fn tracer_state(&self) -> Arc<TracerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The SDK's `Tracer.start_span`, step for step.
    fn start<'py>(
        &self,
        py: Python<'py>,
        arguments: &StartArguments,
    ) -> PyResult<Bound<'py, PyAny>> {
        let api = api::get(py);
        let none = py.None().into_bound(py);
        let context = arguments.context.as_ref().map(|c| c.bind(py).clone());
        let parent_span = match &context {
            Some(context) => context.cast::<PyDict>()?.get_item(api.span_key.bind(py))?,
            None => api
                .current_context(py)?
                .cast::<PyDict>()?
                .get_item(api.span_key.bind(py))?,
        };
        let parent = match parent_span {
            Some(span) => parent_of(py, &span)?,
            None => None,
        };
        if !self.enabled.load(Ordering::Relaxed) {
            let views = api.views.bind(py);
            return views.call_method1("disabled_span", (context.as_ref().unwrap_or(&none),));
        }
        let (trace_id, random_trace_id) = match &parent {
            Some(parent) => (parent.trace_id, parent.trace_flags & RANDOM_TRACE_ID != 0),
            None => (self.ids.trace_id(py)?, false),
        };
        let random_trace_id = if parent.is_none() {
            self.ids.trace_id_is_random(py)?
        } else {
            random_trace_id
        };
        let name = arguments.name.bind(py);
        let attributes = arguments.attributes.as_ref().map(|a| a.bind(py).clone());
        let links = arguments.links.as_ref().map(|l| l.bind(py).clone());
        let outcome = {
            let sampler_parent = Parent {
                valid: parent.is_some(),
                is_remote: parent.as_ref().is_some_and(|p| p.is_remote),
                sampled: parent.as_ref().is_some_and(|p| p.trace_flags & 1 == 1),
            };
            let kind = match &arguments.kind {
                Some(kind) => kind.bind(py).clone(),
                None => api.span_kind.bind(py).getattr("INTERNAL")?,
            };
            let empty_links = PyTuple::empty(py).into_any();
            self.sampler.decide(
                py,
                &sampler_parent,
                context.as_ref().unwrap_or(&none),
                trace_id,
                name,
                &kind,
                attributes.as_ref().unwrap_or(&none),
                links.as_ref().unwrap_or(&empty_links),
            )?
        };
        let sampled = outcome.decision == RECORD_AND_SAMPLE;
        let mut trace_flags = u8::from(sampled);
        if random_trace_id {
            trace_flags |= RANDOM_TRACE_ID;
        }
        let trace_state = match outcome.trace_state {
            Some(state) => Some(state),
            None if matches!(self.sampler, Sampler::Python(_)) => None,
            None => parent
                .as_ref()
                .and_then(|p| p.trace_state.as_ref().map(|s| s.clone_ref(py))),
        };
        let span_id = self.ids.span_id(py)?;
        let record_end_metrics = match &self.metrics {
            Some(metrics) => {
                Some(self.start_metrics(py, metrics, parent.as_ref(), outcome.decision)?)
            }
            None => None,
        };
        if outcome.decision == DROP {
            let context = api.span_context(
                py,
                trace_id,
                span_id,
                false,
                trace_flags,
                trace_state.as_ref(),
            )?;
            return api.non_recording_span.bind(py).call1((context,));
        }
        let tracer = self.tracer_state();
        let limits = tracer.limits;
        let span_attributes = match &outcome.attributes {
            Some(attributes) => attributes.bind(py).clone(),
            None => attributes.unwrap_or_else(|| none.clone()),
        };
        let cleaned = Cleaned::many(py, &span_attributes, limits.span)?;
        let (attributes, full) = Attributes::from_cleaned(cleaned, limits.span);
        warn_full(py, full);
        let mut kept_links = Vec::new();
        let mut dropped_links = 0;
        if let Some(links) = links.filter(|links| links.is_truthy().unwrap_or(false)) {
            for link in links.try_iter()? {
                let link = link?;
                if !link.is_truthy()? {
                    continue;
                }
                let read = read_link(
                    py,
                    &link.getattr("context")?,
                    &link.getattr("attributes")?,
                    limits.link,
                )?;
                if let Some(read) = read {
                    kept_links.push(read);
                }
            }
            if let Some(max) = limits.max_links {
                if kept_links.len() > max {
                    let excess = kept_links.len() - max;
                    kept_links.drain(..excess);
                    dropped_links = excess as u32;
                }
            }
        }
        let kind = match &arguments.kind {
            Some(kind) => enum_value(kind.bind(py))?,
            None => 0,
        };
        let trace_state_text = match &trace_state {
            Some(state) => crate::read::span::trace_state(state.bind(py))?,
            None => String::new(),
        };
        let processors = self.provider.get().current();
        let span = NativeSpan {
            tracer,
            provider: self.provider.clone_ref(py),
            record_end_metrics,
            context: ContextData {
                trace_id,
                span_id,
                is_remote: false,
                trace_flags,
                trace_state,
                object: None,
            },
            trace_state_text,
            parent,
            record_exception: arguments.record_exception,
            set_status_on_exception: arguments.set_status_on_exception,
            context_object: PyOnceLock::new(),
            state: Mutex::new(State {
                name: crate::read::attributes::optional_str(name, "span name"),
                kind,
                start_time: arguments.start_time.unwrap_or_else(now_nanos),
                end_time: None,
                attributes,
                events: Vec::new(),
                dropped_events: 0,
                links: kept_links,
                dropped_links,
                status: (0, None),
            }),
        };
        let span = Bound::new(py, span)?.into_any();
        for processor in &processors.python {
            let keywords = PyDict::new(py);
            keywords.set_item("parent_context", context.as_ref().unwrap_or(&none))?;
            processor
                .bind(py)
                .call_method("on_start", (&span,), Some(&keywords))?;
        }
        Ok(span)
    }
}

/// The parent span's context, `None` for an invalid one (a root span follows).
fn parent_of(py: Python<'_>, span: &Bound<'_, PyAny>) -> PyResult<Option<ContextData>> {
    if let Ok(native) = span.cast::<NativeSpan>() {
        let context = &native.get().context;
        return Ok(Some(ContextData {
            trace_id: context.trace_id,
            span_id: context.span_id,
            is_remote: false,
            trace_flags: context.trace_flags,
            trace_state: context.trace_state.as_ref().map(|s| s.clone_ref(py)),
            object: Some(span.clone().unbind()),
        }));
    }
    let api = api::get(py);
    if !span.is_instance(api.span_abc.bind(py))? {
        return Ok(None);
    }
    let context = span.call_method0("get_span_context")?;
    if context.is_none() {
        return Ok(None);
    }
    if !context.is_instance(api.span_context_class.bind(py))? {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "parent_span_context must be a SpanContext or None.",
        ));
    }
    if !context.getattr("is_valid")?.is_truthy()? {
        return Ok(None);
    }
    let read = crate::read::span::SpanContext::read(&context)?;
    let state = read.trace_state;
    let object = Some(context.clone().unbind());
    Ok(Some(ContextData {
        object,
        trace_id: u128::from_be_bytes(read.trace_id),
        span_id: u64::from_be_bytes(read.span_id),
        is_remote: read.is_remote,
        trace_flags: read.trace_flags,
        trace_state: (!state.is_none()).then(|| state.unbind()),
    }))
}

#[pymethods]
impl TracerCore {
    // The tracer's settings, as the SDK's Tracer receives them.
    #[allow(clippy::too_many_arguments)]
    #[new]
    #[pyo3(signature = (provider, resource, scope, limits, sampler, id_generator, metrics=None,
        instrumentation_info=None))]
    fn new(
        provider: Py<ProviderCore>,
        resource: &Bound<'_, PyAny>,
        scope: &Bound<'_, PyAny>,
        limits: &Bound<'_, PyAny>,
        sampler: &Bound<'_, PyAny>,
        id_generator: &Bound<'_, PyAny>,
        metrics: Option<&Bound<'_, PyAny>>,
        instrumentation_info: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = resource.py();
        let random = py
            .import("opentelemetry.sdk.trace.id_generator")?
            .getattr("RandomIdGenerator")?;
        let ids = if id_generator.get_type().is(&random) {
            Ids::Random
        } else {
            Ids::Python(id_generator.clone().unbind())
        };
        Ok(Self {
            provider,
            state: Mutex::new(Arc::new(TracerState {
                group: Arc::new(build_group(resource, scope)?),
                resource: resource.clone().unbind(),
                scope: scope.clone().unbind(),
                instrumentation_info: some_object(instrumentation_info),
                limits: Limits::read(limits)?,
            })),
            sampler: Sampler::read(sampler)?,
            ids,
            enabled: AtomicBool::new(true),
            metrics: metrics.map(|metrics| metrics.clone().unbind()),
        })
    }

    /// Spans started from now on carry `resource` (the SDK updates it after a fork).
    fn set_resource(&self, resource: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = resource.py();
        let old = self.tracer_state();
        let scope = old.scope.bind(py);
        let fresh = Arc::new(TracerState {
            group: Arc::new(build_group(resource, scope)?),
            resource: resource.clone().unbind(),
            scope: scope.clone().unbind(),
            instrumentation_info: old
                .instrumentation_info
                .as_ref()
                .map(|info| info.clone_ref(py)),
            limits: old.limits,
        });
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (name, context=None, kind=None, attributes=None, links=None,
        start_time=None, record_exception=true, set_status_on_exception=true))]
    fn start_span<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
        kind: Option<&Bound<'py, PyAny>>,
        attributes: Option<&Bound<'py, PyAny>>,
        links: Option<&Bound<'py, PyAny>>,
        start_time: Option<&Bound<'py, PyAny>>,
        record_exception: bool,
        set_status_on_exception: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let arguments = StartArguments {
            name: name.clone().unbind(),
            context: some_object(context),
            kind: some_object(kind),
            attributes: some_object(attributes),
            links: some_object(links),
            start_time: optional_time(start_time)?,
            record_exception,
            set_status_on_exception,
        };
        self.start(py, &arguments)
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (name, context=None, kind=None, attributes=None, links=None,
        start_time=None, record_exception=true, set_status_on_exception=true, end_on_exit=true))]
    fn start_as_current_span(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        kind: Option<&Bound<'_, PyAny>>,
        attributes: Option<&Bound<'_, PyAny>>,
        links: Option<&Bound<'_, PyAny>>,
        start_time: Option<&Bound<'_, PyAny>>,
        record_exception: bool,
        set_status_on_exception: bool,
        end_on_exit: bool,
    ) -> PyResult<CurrentSpan> {
        Ok(CurrentSpan {
            tracer: slf.clone().unbind(),
            arguments: StartArguments {
                name: name.clone().unbind(),
                context: some_object(context),
                kind: some_object(kind),
                attributes: some_object(attributes),
                links: some_object(links),
                start_time: optional_time(start_time)?,
                record_exception,
                set_status_on_exception,
            },
            end_on_exit,
            entered: Mutex::new(None),
        })
    }
}

/// `start_as_current_span`'s context manager: starts the span on entry and makes it
/// current, as the SDK's does with `use_span`; usable as a decorator too.
#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct CurrentSpan {
    tracer: Py<TracerCore>,
    arguments: StartArguments,
    end_on_exit: bool,
    /// (span, context token) while entered.
    entered: Mutex<Option<(Py<PyAny>, Py<PyAny>)>>,
}

#[pymethods]
impl CurrentSpan {
    fn __enter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let span = self.tracer.get().start(py, &self.arguments)?;
        let token = api::get(py).attach_span(py, &span)?;
        *self.entered.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((span.clone().unbind(), token.unbind()));
        Ok(span)
    }

    /// As the API's `use_span(end_on_exit=...)`: detach, then an `Exception` (not other
    /// `BaseException`s) is recorded and sets ERROR, then the span ends.
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        exc_value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let Some((span, token)) = self
            .entered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return Ok(false);
        };
        let span = span.bind(py);
        api::get(py).detach(py, token.bind(py));
        let exception =
            !exc_value.is_none() && exc_value.is_instance_of::<pyo3::exceptions::PyException>();
        if let Ok(native) = span.cast::<NativeSpan>() {
            let native_span = native.get();
            if exception && native_span.is_recording_now() {
                native_span.exception_exit(py, exc_value, false)?;
            }
            if self.end_on_exit {
                native.call_method0("end")?;
            }
        } else if self.end_on_exit {
            // A non-recording span: nothing to record.
            span.call_method0("end")?;
        }
        Ok(false)
    }

    /// The decorator form: each call runs in a fresh span with these arguments.
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        function: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        api::get(py)
            .views
            .bind(py)
            .call_method1("decorate", (slf, function))
    }

    fn _recreate(&self, py: Python<'_>) -> Self {
        Self {
            tracer: self.tracer.clone_ref(py),
            arguments: self.arguments.clone_ref(py),
            end_on_exit: self.end_on_exit,
            entered: Mutex::new(None),
        }
    }
}
