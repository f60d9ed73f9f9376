//! Carrying the parent across threads and into futures.
//!
//! `tracing`'s current span and OpenTelemetry's current context are thread-local: a Rust
//! span created on a worker thread has no parent unless the context is handed over. `py.detach`
//! runs on the same thread and needs nothing.

use std::future::Future;

use opentelemetry::context::{FutureExt, WithContext};
use opentelemetry::Context;
use pyo3::Python;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The OpenTelemetry context of the current Rust span (or of the attached Python parent),
/// to make the parent of spans on other threads.
///
/// ```
/// use otel_rust_bridge::CarriedContext;
/// use rayon::prelude::*;
///
/// #[tracing::instrument(skip_all)]
/// fn sum_chunk(chunk: &[u64]) -> u64 {
///     chunk.iter().sum()
/// }
///
/// let numbers: Vec<u64> = (1..=1000).collect();
/// let parent = CarriedContext::current();
/// let total: u64 = numbers
///     .par_chunks(100)
///     .map(|chunk| parent.in_scope(|| sum_chunk(chunk)))
///     .sum();
/// assert_eq!(total, 500_500);
/// ```
#[derive(Clone, Debug)]
pub struct CarriedContext(Context);

impl CarriedContext {
    pub fn current() -> Self {
        let span = tracing::Span::current();
        if span.is_none() {
            Self(Context::current())
        } else {
            Self(span.context())
        }
    }

    /// Runs `f` with this context as the parent of the spans it creates.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _attached = self.0.clone().attach();
        f()
    }

    /// The OpenTelemetry context itself.
    pub fn context(&self) -> &Context {
        &self.0
    }
}

/// `std::thread::spawn`, with the current context as the parent of the new thread's spans.
///
/// ```
/// let handle = otel_rust_bridge::spawn(|| {
///     let _span = tracing::info_span!("background").entered();
///     21 * 2
/// });
/// assert_eq!(handle.join().unwrap(), 42);
/// ```
pub fn spawn<F, T>(f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let parent = CarriedContext::current();
    std::thread::spawn(move || parent.in_scope(f))
}

/// Wraps a future so that every poll runs with the current Python span as the parent: the
/// Rust spans it creates (at any await point, on any executor thread) are its children.
///
/// ```
/// use pyo3::prelude::*;
///
/// async fn fetch() -> u32 {
///     let _span = tracing::info_span!("fetch").entered();
///     7
/// }
///
/// # Python::initialize();
/// let future = Python::attach(|py| otel_rust_bridge::in_python_context(py, fetch()));
/// assert_eq!(futures_executor::block_on(future), 7);
/// ```
pub fn in_python_context<F: Future>(py: Python<'_>, future: F) -> WithContext<F> {
    future.with_context(crate::python_context(py))
}

/// Wraps a future so that every poll runs under the current context (see
/// [`CarriedContext::current`]).
pub fn in_current_context<F: Future>(future: F) -> WithContext<F> {
    future.with_context(CarriedContext::current().0)
}
