//! Native spans: a `TracerProvider`'s spans kept in Rust from `start_span` to export
//! (`RustTracerProvider` in Python), with the SDK's semantics.

mod api;
mod attributes;
mod sampler;
mod span;
mod tracer;

use pyo3::prelude::*;

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<span::NativeSpan>()?;
    module.add_class::<tracer::ProviderCore>()?;
    module.add_class::<tracer::TracerCore>()?;
    module.add_class::<tracer::CurrentSpan>()?;
    Ok(())
}
