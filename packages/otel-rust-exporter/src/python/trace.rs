//! `SpanProcessorCore` (behind `RustSpanProcessor`) and `SpanExporterCore` (behind
//! `RustOTLPSpanExporter`).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use super::batching::Batching;
use super::classes::{otlp_exporter_class, otlp_processor_class};
use super::guard::guarded;
use crate::config::Signal;
use crate::otlp::BatchExporter;
use crate::read::span::read_span;
use crate::records::EncodedSpan;

otlp_processor_class! {
    SpanProcessorCore(EncodedSpan): Signal::Traces, "OTEL_BSP", "span",
    fn on_end(span) = |span, scopes| read_span(span, scopes, true);

    /// A capsule through which `otel_rust_bridge` in other extension modules queues Rust
    /// spans with this resource and scope, without the GIL (see `bridge.rs`).
    fn span_sink<'py>(
        slf: &Bound<'py, Self>,
        resource: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyAny>,
    ) -> Option<Bound<'py, PyCapsule>> {
        guarded("span_sink", None, || {
            let processor = &slf.get().0;
            let group = processor.scopes.group(resource, scope)?;
            super::bridge::span_sink(slf.py(), processor.batching.clone(), group).map(Some)
        })
    }
}

impl SpanProcessorCore {
    /// The queue native spans are pushed to (`spans`).
    pub(crate) fn batching(&self) -> Arc<Batching<BatchExporter<EncodedSpan>>> {
        self.0.batching.clone()
    }
}

otlp_exporter_class! {
    SpanExporterCore: Signal::Traces,
    fn export(batch) = |span, scopes| read_span(span, scopes, false);
}
