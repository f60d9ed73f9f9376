//! Parenting against the real Python SDK (from the project's `.venv`): the bridge's ordering
//! makes the Python span the parent, the naive `set_parent` inside the span does not, and
//! the context crosses threads, rayon and futures.

use std::sync::Once;

use opentelemetry::trace::TraceContextExt;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The embedded interpreter gets the project's `.venv` packages (the SDK) and the bridge is
/// initialized once for the whole test binary.
fn setup() {
    static SETUP: Once = Once::new();
    SETUP.call_once(|| {
        Python::initialize();
        Python::attach(|py| {
            let venv_lib = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/lib");
            py.run(
                &std::ffi::CString::new(format!(
                    "import glob, sys\nsys.path[:0] = glob.glob('{venv_lib}/python3*/site-packages')"
                ))
                .unwrap(),
                None,
                None,
            )
            .unwrap();
            otel_rust_bridge::init(py, otel_rust_bridge::BridgeConfig::new("parenting-test"))
                .expect("the SDK from .venv (run scripts/setup.sh first)");
        });
    });
}

/// Runs `body` inside a current Python span of a fresh provider with an in-memory exporter;
/// returns (python span id, [(name, span id, parent span id)] of the Rust spans).
fn under_python_span(
    sampled: bool,
    body: impl FnOnce(Python<'_>),
) -> (u64, Vec<(String, u64, Option<u64>)>) {
    setup();
    Python::attach(|py| {
        let scope = PyDict::new(py);
        py.run(
            &std::ffi::CString::new(format!(
                r#"
from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
exporter = InMemorySpanExporter()
provider = TracerProvider(sampler={})
provider.add_span_processor(SimpleSpanProcessor(exporter))
span = provider.get_tracer("test").start_span("python")
token = context.attach(trace.set_span_in_context(span))
"#,
                if sampled { "ALWAYS_ON" } else { "ALWAYS_OFF" }
            ))
            .unwrap(),
            Some(&scope),
            Some(&scope),
        )
        .unwrap();
        body(py);
        py.run(
            c"context.detach(token)\nspan.end()\nprovider.force_flush()",
            Some(&scope),
            Some(&scope),
        )
        .unwrap();
        let python_id: u64 = scope
            .get_item("span")
            .unwrap()
            .unwrap()
            .call_method0("get_span_context")
            .unwrap()
            .getattr("span_id")
            .unwrap()
            .extract()
            .unwrap();
        let finished = scope
            .get_item("exporter")
            .unwrap()
            .unwrap()
            .call_method0("get_finished_spans")
            .unwrap();
        let mut rust_spans = Vec::new();
        for span in finished.try_iter().unwrap() {
            let span = span.unwrap();
            let name: String = span.getattr("name").unwrap().extract().unwrap();
            if name == "python" {
                continue;
            }
            let id: u64 = span
                .getattr("context")
                .unwrap()
                .getattr("span_id")
                .unwrap()
                .extract()
                .unwrap();
            let parent = span.getattr("parent").unwrap();
            let parent =
                (!parent.is_none()).then(|| parent.getattr("span_id").unwrap().extract().unwrap());
            rust_spans.push((name, id, parent));
        }
        (python_id, rust_spans)
    })
}

#[otel_rust_bridge::instrument]
fn bridged(py: Python<'_>) {
    let _ = py;
}

/// The pattern the talk showed: instrument the function, set the parent in the body.
#[tracing::instrument(skip_all)]
fn naive(py: Python<'_>) {
    let _ = tracing::Span::current().set_parent(otel_rust_bridge::python_context(py));
}

#[test]
fn the_attribute_attaches_the_python_parent_before_the_span_starts() {
    let (python_id, spans) = under_python_span(true, bridged);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].0, "bridged");
    assert_eq!(spans[0].2, Some(python_id));
}

#[test]
fn set_parent_after_the_span_is_entered_does_not_parent_it() {
    let (python_id, spans) = under_python_span(true, |py| {
        naive(py);
        let _parent = otel_rust_bridge::ParentGuard::attach(py);
    });
    // The span started without the Python parent (so it is not even routed to Python):
    // nothing arrives under the Python span.
    assert!(spans
        .iter()
        .all(|(name, _, parent)| name != "naive" || *parent != Some(python_id)));
    assert!(spans.iter().all(|(name, _, _)| name != "naive"));
}

#[test]
fn an_unsampled_python_parent_records_nothing() {
    let (_, spans) = under_python_span(false, bridged);
    assert!(spans.is_empty());
}

#[tracing::instrument]
fn leaf(label: &'static str) {}

#[test]
fn the_parent_crosses_threads_rayon_and_futures() {
    let (python_id, spans) = under_python_span(true, |py| {
        otel_rust_bridge::with_python_parent(py, || {
            let outer = tracing::info_span!("outer").entered();
            let outer_context = outer.context();
            assert!(outer_context.span().span_context().is_sampled());
            py.detach(|| {
                otel_rust_bridge::spawn(|| leaf("thread")).join().unwrap();
                let parent = otel_rust_bridge::CarriedContext::current();
                (0..4)
                    .into_par_iter()
                    .for_each(|_| parent.in_scope(|| leaf("rayon")));
                futures_executor::block_on(otel_rust_bridge::in_current_context(async {
                    leaf("future")
                }));
            });
            drop(outer);
        });
    });
    let outer_id = spans
        .iter()
        .find(|(name, _, _)| name == "outer")
        .map(|(_, id, parent)| {
            assert_eq!(*parent, Some(python_id));
            *id
        })
        .expect("the outer span arrived");
    let leaves: Vec<_> = spans.iter().filter(|(name, _, _)| name == "leaf").collect();
    assert_eq!(leaves.len(), 6);
    assert!(leaves
        .iter()
        .all(|(_, _, parent)| *parent == Some(outer_id)));
}
