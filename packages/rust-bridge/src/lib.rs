//! Rust `tracing` spans in PyO3 extensions as children of the current Python OpenTelemetry
//! span, exported through the pipeline the Python side configured.
//!
//! - **Parenting.** [`ParentGuard`], [`with_python_parent`] and the [`instrument`] attribute
//!   read the current Python span (cached imports, a few hundred nanoseconds) and attach it
//!   as the OpenTelemetry parent *before* the Rust span is created. (Calling
//!   `span.set_parent(...)` inside an `#[instrument]`ed body is too late: with
//!   tracing-opentelemetry >= 0.32 it is ignored once the span was entered.)
//! - **Threads and futures.** [`CarriedContext`], [`spawn`], [`in_python_context`].
//! - **Export.** Finished spans go to the span processor of the Python `TracerProvider`
//!   that made the parent span, as SDK `ReadableSpan`s built in batches under the GIL, so
//!   Python's processors and exporters apply. When that provider's only processor is
//!   `otel_rust_exporter.RustSpanProcessor`, spans are encoded and queued straight into its
//!   native pipeline instead, without the GIL.
//! - **Sampling** follows Python: under an unsampled Python span nothing is recorded.
//!
//! Each extension module links its own copy of `tracing`, so each initializes the bridge
//! once, in its `#[pymodule]`:
//!
//! ```
//! use pyo3::prelude::*;
//!
//! #[pyfunction]
//! // tracing-opentelemetry records unsigned integers as strings: cast counts to i64.
//! #[otel_rust_bridge::instrument(skip(values), fields(count = values.len() as i64))]
//! fn total(py: Python<'_>, values: Vec<f64>) -> f64 {
//!     py.detach(|| values.iter().sum())
//! }
//!
//! #[pymodule]
//! fn my_extension(m: &Bound<'_, PyModule>) -> PyResult<()> {
//!     otel_rust_bridge::init(m.py(), otel_rust_bridge::BridgeConfig::new("my_extension"))?;
//!     m.add_function(wrap_pyfunction!(total, m)?)
//! }
//! # Python::initialize();
//! # Python::attach(|py| assert_eq!(total(py, vec![1.0, 2.0]), 3.0));
//! ```

mod export;
mod native;
mod parent;
mod propagate;
mod python;
mod target;

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use pyo3::prelude::*;
use pyo3::types::PyCFunction;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

pub use export::{stats, BridgeStats};
/// `#[tracing::instrument]` whose span has the current Python span as parent.
///
/// Takes the arguments of `tracing::instrument` (the span is named after the function
/// unless `name = ...` is given). The function must be a free (non-async) function with a
/// `Python<'_>` argument, named `_py` when the body does not use it; the extension must
/// depend on `tracing`. The guard is attached before the span exists and delivers the
/// finished spans when the function returns.
///
/// ```
/// use pyo3::prelude::*;
///
/// #[pyfunction]
/// #[otel_rust_bridge::instrument]
/// fn ping(_py: Python<'_>) -> &'static str {
///     "pong"
/// }
/// # Python::initialize();
/// # Python::attach(|py| assert_eq!(ping(py), "pong"));
/// ```
pub use otel_rust_bridge_macros::instrument;
pub use parent::{python_context, with_python_parent, ParentGuard};
pub use propagate::{in_current_context, in_python_context, spawn, CarriedContext};

/// How an extension's Rust spans are labelled and queued.
#[derive(Clone, Debug)]
pub struct BridgeConfig {
    /// The instrumentation scope of the Rust spans, usually the extension's module name.
    pub scope_name: String,
    pub scope_version: Option<String>,
    /// Spans waiting for the GIL on the Python export path; beyond it they are dropped
    /// and counted.
    pub max_queue_size: usize,
    /// How long finished spans may wait when no bridged call returns to Python meanwhile.
    pub schedule_delay: Duration,
}

impl BridgeConfig {
    pub fn new(scope_name: impl Into<String>) -> Self {
        Self {
            scope_name: scope_name.into(),
            scope_version: None,
            max_queue_size: 2048,
            schedule_delay: Duration::from_secs(1),
        }
    }

    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.scope_version = Some(version.into());
        self
    }
}

static CONFIG: OnceLock<BridgeConfig> = OnceLock::new();
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

pub(crate) fn config() -> &'static BridgeConfig {
    CONFIG.get_or_init(|| BridgeConfig::new("otel_rust_bridge"))
}

/// Sets the bridge up for this extension module: call it once from the `#[pymodule]`.
///
/// Fills the Python lookups now (module import is the fork-safe moment), installs a global
/// `tracing` subscriber with the OpenTelemetry layer (for this extension's copy of
/// `tracing`) and an exit hook. If the extension already installs its own subscriber, add
/// [`layer`] to it and call this anyway: it then only warns that the subscriber is taken.
/// The first call's configuration wins.
pub fn init(py: Python<'_>, config: BridgeConfig) -> PyResult<()> {
    otel_rust_contract::per_process::install_fork_handler();
    // The first configuration wins; later calls keep it.
    let _ = CONFIG.set(config);
    python::api(py)?;
    let subscriber = tracing_subscriber::registry().with(layer());
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        python::warn(
            py,
            "a tracing subscriber is already installed; add otel_rust_bridge::layer() to it",
        );
    }
    let at_exit = PyCFunction::new_closure(py, None, None, |args, _| {
        export::deliver_pending(args.py());
        python::mark_exiting();
    })?;
    py.import("atexit")?.call_method1("register", (at_exit,))?;
    Ok(())
}

/// The `tracing-subscriber` layer that records spans for the bridge, for extensions that
/// build their own subscriber (e.g. with a `fmt` layer beside it).
pub fn layer<S>() -> OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer())
        .with_tracked_inactivity(false)
}

fn tracer() -> SdkTracer {
    let provider = PROVIDER.get_or_init(|| {
        SdkTracerProvider::builder()
            .with_sampler(export::FollowPython)
            .with_span_processor(export::BridgeProcessor)
            .build()
    });
    let config = config();
    let mut scope = InstrumentationScope::builder(config.scope_name.clone());
    if let Some(version) = &config.scope_version {
        scope = scope.with_version(version.clone());
    }
    provider.tracer_with_scope(scope.build())
}
