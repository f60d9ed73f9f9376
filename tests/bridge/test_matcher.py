"""The matcher example through otel-rust-bridge: Rust spans under the calling Python span,
exported by the stock SDK pipeline (Python path) or by RustSpanProcessor (native sink)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import matcher
import pytest
from matcher import _native, best_fit, best_fit_parallel, best_fit_python, generate
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import StatusCode
from otel_rust_exporter import RustSpanProcessor

RESOURCE = Resource.create({"service.name": "matcher-test"})


@pytest.mark.parametrize(("tasks", "offers", "seed"), [(0, 5, 0), (5, 0, 0), (300, 200, 1), (800, 1500, 2)])
def test_rust_results_equal_the_python_oracle(tasks, offers, seed):
    task_list, offer_list = generate(tasks, offers, seed)
    expected = best_fit_python(task_list, offer_list)
    assert best_fit(task_list, offer_list) == expected
    for threads in (None, 1, 3):
        assert best_fit_parallel(task_list, offer_list, threads) == expected
    assert matcher.best_fit_parallel(task_list, offer_list) == expected


def test_the_oracle_takes_the_tightest_fit_once():
    tasks = [matcher.Task("small", 1, 1), matcher.Task("same", 1, 1), matcher.Task("huge", 99, 99)]
    offers = [matcher.Offer("roomy", 8, 8), matcher.Offer("tight", 1, 2), matcher.Offer("exact", 1, 1)]
    assert best_fit_python(tasks, offers) == {"exact": "small", "tight": "same"}
    assert best_fit(tasks, offers) == best_fit_parallel(tasks, offers) == best_fit_python(tasks, offers)


def _in_memory_provider(processor_type=BatchSpanProcessor, **provider_args):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE, **provider_args)
    provider.add_span_processor(processor_type(exporter))
    return provider, exporter


def _run_parallel_match(provider, threads=2):
    tasks, offers = generate(2_000, 1_000, seed=3)
    with provider.get_tracer("tests").start_as_current_span("python caller") as caller:
        result = best_fit_parallel(tasks, offers, threads)
    assert result == best_fit_python(tasks, offers)
    provider.force_flush()
    return caller


def _check_tree(spans, trace_id, caller_id, threads=2):
    """Python caller -> best_fit_parallel -> match_parallel -> one match_worker per worker."""
    by_name: dict[str, list] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    assert {span["trace_id"] for span in spans} == {trace_id}
    (entry,) = by_name["best_fit_parallel"]
    (matching,) = by_name["match_parallel"]
    workers = by_name["match_worker"]
    assert entry["parent_id"] == caller_id
    assert matching["parent_id"] == entry["span_id"]
    assert len(workers) == threads
    assert {worker["parent_id"] for worker in workers} == {matching["span_id"]}
    assert {worker["attributes"]["worker"] for worker in workers} == set(range(threads))
    # Between them the workers shortlisted every chunk of offers for every round of tasks.
    rounds, chunks = matching["attributes"]["rounds"], matching["attributes"]["chunks"]
    assert rounds > 1 and chunks >= threads
    assert sum(worker["attributes"]["shortlisted"] for worker in workers) == rounds * chunks
    # The workers ran on rayon threads, not on the calling thread.
    assert {worker["attributes"]["thread.id"] for worker in workers}.isdisjoint(
        {entry["attributes"]["thread.id"]}
    )
    assert entry["attributes"]["tasks"] == 2_000 and entry["attributes"]["offers"] == 1_000
    assert matching["attributes"]["workers"] == threads
    for child, parent in [(entry, None), (matching, entry)] + [(worker, matching) for worker in workers]:
        parent = parent or by_name["python caller"][0]
        assert parent["start"] <= child["start"] <= child["end"] <= parent["end"]
    (event_name, event_attributes) = matching["events"][0]
    assert event_name == "matched" and event_attributes["matched"] == 1_000
    # Every worker resolves every round, so all count the same rescans.
    assert len({worker["attributes"]["rescans"] for worker in workers}) == 1


def _sdk_view(span) -> dict:
    return {
        "name": span.name,
        "trace_id": span.context.trace_id,
        "span_id": span.context.span_id,
        "parent_id": span.parent.span_id if span.parent else None,
        "start": span.start_time,
        "end": span.end_time,
        "attributes": dict(span.attributes),
        "events": [(event.name, dict(event.attributes)) for event in span.events],
    }


def _otlp_view(span) -> dict:
    def values(attributes):
        return {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in attributes}

    return {
        "name": span.name,
        "trace_id": int.from_bytes(span.trace_id, "big"),
        "span_id": int.from_bytes(span.span_id, "big"),
        "parent_id": int.from_bytes(span.parent_span_id, "big") if span.parent_span_id else None,
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
        "attributes": values(span.attributes),
        "events": [(event.name, values(event.attributes)) for event in span.events],
    }


@pytest.mark.parametrize("processor_type", [BatchSpanProcessor, SimpleSpanProcessor])
def test_one_trace_through_the_stock_sdk_pipeline(processor_type):
    provider, exporter = _in_memory_provider(processor_type)
    before = _native.bridge_stats()
    caller = _run_parallel_match(provider)
    spans = exporter.get_finished_spans()
    _check_tree([_sdk_view(span) for span in spans], caller.context.trace_id, caller.context.span_id)
    rust_spans = [span for span in spans if span.name != "python caller"]
    assert {span.resource for span in rust_spans} == {provider.resource}
    assert {span.instrumentation_scope.name for span in rust_spans} == {"matcher"}
    after = _native.bridge_stats()
    assert after["delivered"] - before["delivered"] == len(rust_spans)
    assert after["handed_native"] == before["handed_native"]
    assert after["dropped"] == before["dropped"]
    provider.shutdown()


def test_one_trace_through_rust_span_processor_without_python_spans(receiver):
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol))
    before = _native.bridge_stats()
    caller = _run_parallel_match(provider)
    spans = receiver.received.wait_for_spans(7)
    _check_tree([_otlp_view(span) for span in spans], caller.context.trace_id, caller.context.span_id)
    after = _native.bridge_stats()
    # Every Rust span took the native sink; none became a Python object.
    assert after["handed_native"] - before["handed_native"] == len(spans) - 1
    assert after["delivered"] == before["delivered"]
    (resource_spans,) = [
        resource_spans
        for request in receiver.received.requests
        for resource_spans in request.resource_spans
        if any(scope.scope.name == "matcher" for scope in resource_spans.scope_spans)
    ]
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    assert service == "matcher-test"
    provider.shutdown()


@pytest.mark.parametrize("native", [False, True], ids=["stock", "rust-processor"])
def test_an_unsampled_python_parent_yields_no_rust_spans(native, http_receiver):
    provider = TracerProvider(resource=RESOURCE, sampler=ALWAYS_OFF)
    exporter = InMemorySpanExporter()
    if native:
        processor = RustSpanProcessor(endpoint=http_receiver.endpoint)
    else:
        processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    before = _native.bridge_stats()
    tasks, offers = generate(300, 200)
    with provider.get_tracer("tests").start_as_current_span("unsampled"):
        best_fit_parallel(tasks, offers)
        best_fit(tasks, offers)
    assert provider.force_flush()
    assert _native.bridge_stats() == before
    assert exporter.get_finished_spans() == ()
    if native:
        assert processor.stats()["accepted"] == 0
    provider.shutdown()


def test_errors_mark_the_rust_span_and_raise_value_error():
    provider, exporter = _in_memory_provider(SimpleSpanProcessor)
    with provider.get_tracer("tests").start_as_current_span("python caller"):
        with pytest.raises(ValueError, match="task-bad has negative resources"):
            best_fit([matcher.Task("task-bad", -1, 1)], [matcher.Offer("offer", 1, 1)])
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["validate"].status.status_code is StatusCode.ERROR
    assert "negative resources" in spans["validate"].status.description
    assert spans["validate"].parent.span_id == spans["best_fit"].context.span_id
    assert spans["best_fit"].parent.span_id == spans["python caller"].context.span_id


@pytest.mark.parametrize("implementation", [best_fit, best_fit_parallel])
def test_a_python_thread_keeps_running_while_rust_matches(implementation):
    provider, _ = _in_memory_provider()
    tasks, offers = generate(8_000, 4_000, seed=4)
    ops = 0
    stop = threading.Event()

    def background():
        nonlocal ops
        while not stop.is_set():
            ops += 1

    worker = threading.Thread(target=background)
    worker.start()
    try:
        with provider.get_tracer("tests").start_as_current_span("python caller"):
            started = ops
            implementation(tasks, offers)
            during = ops - started
    finally:
        stop.set()
        worker.join()
    # Holding the GIL for the whole call would leave the thread a switch interval or two.
    assert during > 10_000
    provider.shutdown()


def _run_child(code: str) -> str:
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, child.stderr
    return child.stdout.strip()


def test_without_a_python_span_rust_spans_are_roots_of_the_global_provider():
    out = _run_child(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import matcher
        from matcher import _native
        tasks, offers = matcher.generate(50, 40)
        matcher.best_fit(tasks, offers)  # no SDK provider yet: nothing recorded
        print(sorted(_native.bridge_stats().items()))
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        matcher.best_fit(tasks, offers)
        spans = {span.name: span for span in exporter.get_finished_spans()}
        entry, inner = spans["best_fit"], spans["match_single"]
        print(entry.parent, inner.parent.span_id == entry.context.span_id)
        """
    )
    assert out.splitlines() == [
        "[('delivered', 0), ('dropped', 0), ('handed_native', 0)]",
        "None True",
    ]


def test_a_forked_child_exports_its_own_rust_spans():
    out = _run_child(
        """
        import os
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import matcher
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("fork")
        tasks, offers = matcher.generate(200, 100)
        # Each call builds its own rayon pool: the default works in a forked child too.
        with tracer.start_as_current_span("parent process"):
            matcher.best_fit_parallel(tasks, offers)
        pid = os.fork()
        if pid == 0:
            exporter.clear()
            with tracer.start_as_current_span("child process"):
                matcher.best_fit_parallel(tasks, offers)
            names = sorted({span.name for span in exporter.get_finished_spans()})
            os.write(1, (" ".join(names) + "\\n").encode())
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0
        """
    )
    assert out == "best_fit_parallel child process match_parallel match_worker validate"
