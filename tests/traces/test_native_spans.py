"""RustTracerProvider behaves as the SDK's TracerProvider.

Each scenario runs twice, once with each provider, with the same deterministic ids; what
a Python span processor receives (``ReadableSpan.to_json()``, times aside) must be equal,
and so must what our processor puts on the wire. Behaviour the SDK's own test suite checks
is covered by tests/traces/test_sdk_suite.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from typing import Any, Callable, Optional

import pytest
from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from otel_rust_exporter import RustSpanProcessor, RustTracerProvider
from otel_rust_exporter._native import NativeSpan
from otel_rust_exporter._tracer_provider import RustTracer

from tests.support.otlp_receivers import items_of
from tests.support.span_parity import SequentialIds, wire_without_times, without_times
from tests.support.spans_catalog import build_rich_spans

PROVIDERS = (TracerProvider, RustTracerProvider)


def run_with(
    provider_class: type[TracerProvider], scenario: Callable[[trace.Tracer], None], **provider_options: Any
) -> list[dict[str, Any]]:
    memory = InMemorySpanExporter()
    provider = provider_class(id_generator=SequentialIds(), shutdown_on_exit=False, **provider_options)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("scenario", "1.0")
    # Guards every comparison: a tracer falling back to the SDK's would make them vacuous.
    assert type(tracer) is (RustTracer if provider_class is RustTracerProvider else Tracer)
    scenario(tracer)
    return [without_times(json.loads(span.to_json())) for span in memory.get_finished_spans()]


def assert_same_as_sdk(scenario: Callable[[trace.Tracer], None], **provider_options: Any) -> list:
    sdk = run_with(TracerProvider, scenario, **provider_options)
    native = run_with(RustTracerProvider, scenario, **provider_options)
    assert native == sdk
    assert sdk, "the scenario must end at least one span"
    return native


def nested(tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("outer", kind=SpanKind.SERVER, attributes={"a": 1}) as outer:
        outer.add_event("started", {"step": 1})
        with tracer.start_as_current_span("inner") as inner:
            inner.set_attribute("db.rows", 3)
            inner.set_status(StatusCode.ERROR, "deadlock")
            inner.update_name("inner renamed")
        detached = tracer.start_span("not current", kind=SpanKind.CLIENT)
        assert trace.get_current_span() is outer
        detached.end()


def limits_and_truncation(tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span(
        "limited", attributes={f"k{index}": "v" * 20 for index in range(6)}
    ) as span:
        span.set_attribute("k1", "moved to the end")
        span.set_attributes({"seq": ["abcdefghij", "x"], "map": {"deep": "0123456789abc"}})
        for index in range(5):
            span.add_event(f"event {index}", {"e1": 1, "e2": 2, "e3": "long string value"})
        span.add_link(SpanContext(7, 8, is_remote=True), {"l1": 1, "l2": 2, "l3": 3})
        span.add_link(SpanContext(0, 0, is_remote=False))  # invalid, no attributes: ignored
        span.add_link(SpanContext(9, 10, is_remote=False, trace_state=TraceState([("k", "v")])))
        span.add_link(SpanContext(11, 12, is_remote=False))


def status_rules(tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("ok wins") as span:
        span.set_status(Status(StatusCode.OK))
        span.set_status(StatusCode.ERROR, "ignored after OK")
    with tracer.start_as_current_span("unset ignored") as span:
        span.set_status(StatusCode.ERROR, "kept")
        span.set_status(StatusCode.UNSET)
    with tracer.start_as_current_span("description only for error") as span:
        span.set_status(StatusCode.OK, "dropped with a warning")
    with tracer.start_as_current_span("status object with description") as span:
        span.set_status(Status(StatusCode.ERROR, "from the object"), "ignored")


def exceptions(tracer: trace.Tracer) -> None:
    with pytest.raises(KeyError):
        with tracer.start_as_current_span("as current"):
            raise KeyError("missing")
    with pytest.raises(ValueError):
        with tracer.start_span("as span"):
            raise ValueError("bad value")
    with pytest.raises(ValueError):
        with tracer.start_as_current_span(
            "not recorded", record_exception=False, set_status_on_exception=False
        ):
            raise ValueError("neither")
    span = tracer.start_span("explicit")
    span.record_exception(RuntimeError("explicit"), {"extra": True}, timestamp=1_700_000_000_000_000_000)
    span.end()


def links_and_remote_parent(tracer: trace.Tracer) -> None:
    remote = SpanContext(
        0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("vendor", "x")])
    )
    context = trace.set_span_in_context(NonRecordingSpan(remote))
    links = [Link(SpanContext(index + 1, index + 2, is_remote=True), {"i": index}) for index in range(4)]
    with tracer.start_as_current_span("remote child", context=context, links=links):
        with tracer.start_as_current_span("grandchild"):
            pass
    span = tracer.start_span("explicit start and end", start_time=1_000, context=context_api.Context())
    span.end(end_time=2_000)


def after_end(tracer: trace.Tracer) -> None:
    span = tracer.start_span("ended")
    span.end()
    span.set_attribute("late", 1)
    span.add_event("late")
    span.update_name("late name")
    span.set_status(StatusCode.ERROR)
    span.end()


SCENARIOS = [nested, limits_and_truncation, status_rules, exceptions, links_and_remote_parent, after_end]
LIMITS = SpanLimits(
    max_span_attributes=5,
    max_events=3,
    max_links=2,
    max_event_attributes=2,
    max_link_attributes=2,
    max_attribute_length=6,
    max_span_attribute_length=8,
)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
@pytest.mark.parametrize("limits", [None, LIMITS], ids=["default limits", "small limits"])
def test_spans_are_what_the_sdk_makes(scenario, limits):
    assert_same_as_sdk(scenario, span_limits=limits)


def test_the_scenarios_exercise_the_limits():
    # Guards the parity test: it proves the limits only if something was dropped or cut.
    spans = {
        span["name"]: span for span in run_with(RustTracerProvider, limits_and_truncation, span_limits=LIMITS)
    }
    assert "moved to" == spans["limited"]["attributes"]["k1"][:8]
    assert list(spans["limited"]["attributes"])[-1] == "map"
    assert len(spans["limited"]["events"]) == 3
    assert len(spans["limited"]["links"]) == 2


def test_warnings_are_the_sdks(caplog):
    caplog.set_level(logging.WARNING)
    run_with(TracerProvider, after_end)
    run_with(TracerProvider, limits_and_truncation, span_limits=LIMITS)
    sdk = [(record.name, record.getMessage()) for record in caplog.records]
    caplog.clear()
    run_with(RustTracerProvider, after_end)
    run_with(RustTracerProvider, limits_and_truncation, span_limits=LIMITS)
    native = [(record.name, record.getMessage()) for record in caplog.records]
    assert native == sdk
    assert ("opentelemetry.sdk.trace", "Calling end() on an ended span.") in native


@pytest.mark.parametrize(
    "sampler",
    [
        ALWAYS_ON,
        ALWAYS_OFF,
        TraceIdRatioBased(0.5),
        TraceIdRatioBased(1.0),
        TraceIdRatioBased(0.0),
        ParentBased(TraceIdRatioBased(0.3)),
        ParentBased(ALWAYS_OFF),
    ],
    ids=[
        "always_on",
        "always_off",
        "ratio",
        "ratio_one",
        "ratio_zero",
        "parent_based_ratio",
        "parent_based_off",
    ],
)
def test_builtin_samplers_decide_as_the_sdks(sampler):
    def sampled_tree(tracer: trace.Tracer) -> None:
        sampled_remote = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1))
        unsampled_remote = SpanContext(0x1234, 0x5679, is_remote=True, trace_flags=TraceFlags(0))
        for index in range(40):
            with tracer.start_as_current_span(f"root {index}") as root:
                assert root.is_recording() == root.get_span_context().trace_flags.sampled
                with tracer.start_as_current_span("child"):
                    pass
        for parent in (sampled_remote, unsampled_remote):
            with tracer.start_as_current_span(
                "remote", context=trace.set_span_in_context(NonRecordingSpan(parent))
            ):
                pass
        with tracer.start_as_current_span(
            "always recorded", context=trace.set_span_in_context(NonRecordingSpan(sampled_remote))
        ):
            pass

    sdk = run_with(TracerProvider, sampled_tree, sampler=sampler)
    native = run_with(RustTracerProvider, sampled_tree, sampler=sampler)
    assert native == sdk
    samples_nothing = sampler is ALWAYS_OFF or getattr(sampler, "rate", None) == 0
    assert bool(sdk) is not samples_nothing


class RecordingSampler(Sampler):
    """A Python sampler: records how it was called, adds an attribute and a trace state,
    records only spans whose name says so."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def should_sample(
        self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
    ):
        self.calls.append((parent_context, trace_id, name, kind, dict(attributes or {}), tuple(links or ())))
        decision = Decision.RECORD_AND_SAMPLE if "sampled" in name else Decision.RECORD_ONLY
        if "dropped" in name:
            decision = Decision.DROP
        return SamplingResult(
            decision, {"sampler.added": name, **(attributes or {})}, TraceState([("s", "1")])
        )

    def get_description(self) -> str:
        return "RecordingSampler"


def test_a_python_sampler_is_called_as_the_sdk_calls_it():
    def scenario(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span("sampled root", kind=SpanKind.SERVER, attributes={"a": 1}):
            tracer.start_span("record only", links=[Link(SpanContext(1, 2, False))]).end()
            tracer.start_span("dropped").end()

    samplers = RecordingSampler(), RecordingSampler()
    sdk = run_with(TracerProvider, scenario, sampler=samplers[0])
    native = run_with(RustTracerProvider, scenario, sampler=samplers[1])
    assert native == sdk
    # The record-only span is not sampled: SimpleSpanProcessor skips it, in both.
    assert [span["name"] for span in native] == ["sampled root"]
    assert "value=1" in native[0]["context"]["trace_state"] and native[0]["attributes"]["sampler.added"]

    def comparable(call: tuple) -> tuple:
        parent_context, _, name, kind, attributes, links = call
        return (parent_context is None, name, kind, attributes, [link.context for link in links])

    assert [comparable(call) for call in samplers[1].calls] == [
        comparable(call) for call in samplers[0].calls
    ]


def test_wire_output_equals_the_sdk_providers_through_our_processor(http_receiver):
    requests = []
    for provider_class in PROVIDERS:
        processor = RustSpanProcessor(endpoint=http_receiver.endpoint_for("traces"))
        build_rich_spans(processor, provider_class=provider_class, id_generator=SequentialIds())
        assert processor.force_flush(10_000)
        processor.shutdown()
        requests.append(list(http_receiver.received.requests))
        http_receiver.received.requests.clear()
    sdk, native = ([span for request in run for span in items_of(request, "traces")] for run in requests)
    assert len(sdk) == len(native) == 10
    assert wire_without_times(native) == wire_without_times(sdk)
    # And each request groups by resource and scope as the stock encoder would.
    assert_grouped_as_stock(requests[1])


def assert_grouped_as_stock(requests: list) -> None:
    for request in requests:
        shape = [
            (
                resource.resource.attributes[0].value.string_value,
                [scope.scope.name for scope in resource.scope_spans],
            )
            for resource in request.resource_spans
        ]
        assert len({name for name, _ in shape}) == len(shape), shape


def test_spans_are_the_apis():
    provider = RustTracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("api")
    with tracer.start_as_current_span("current") as span:
        assert isinstance(span, NativeSpan) and isinstance(span, trace.Span)
        assert trace.get_current_span() is span
        with trace.use_span(tracer.start_span("used"), end_on_exit=True) as used:
            assert trace.get_current_span() is used
            assert used.parent.span_id == span.get_span_context().span_id
        assert not used.is_recording()
        assert trace.get_current_span() is span
    assert trace.get_current_span() is trace.INVALID_SPAN
    with tracer.start_as_current_span("root", context=trace.set_span_in_context(trace.INVALID_SPAN)) as root:
        assert root.parent is None


def test_start_as_current_span_is_a_decorator_for_functions_and_coroutines():
    memory = InMemorySpanExporter()
    provider = RustTracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("decorators")

    @tracer.start_as_current_span("sync")
    def work(value: int) -> int:
        return value * trace.get_current_span().get_span_context().trace_flags.sampled

    @tracer.start_as_current_span("async")
    async def async_work() -> str:
        span = trace.get_current_span()
        assert isinstance(span, NativeSpan)
        return span.name

    assert work(2) == work(2) == 2
    assert asyncio.run(async_work()) == "async"
    assert [span.name for span in memory.get_finished_spans()] == ["sync", "sync", "async"]


def test_disabled_sdk_and_disabled_tracers_make_no_spans(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert isinstance(RustTracerProvider(shutdown_on_exit=False).get_tracer("x"), trace.NoOpTracer)
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    from opentelemetry.sdk.trace import _TracerConfig

    provider = RustTracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("disabled")
    provider._set_tracer_configurator(tracer_configurator=lambda scope: _TracerConfig(is_enabled=False))
    with tracer.start_as_current_span("nothing") as span:
        assert not span.is_recording() and not isinstance(span, NativeSpan)


def test_resource_and_service_name_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test,a=b")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "native-service")
    span = RustTracerProvider(shutdown_on_exit=False).get_tracer("x").start_span("s")
    attributes = span.resource.attributes
    assert attributes["service.name"] == "native-service" and attributes["a"] == "b"
    assert span.instrumentation_scope.name == "x"


def test_span_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2")
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3")
    span = (
        RustTracerProvider(shutdown_on_exit=False)
        .get_tracer("x")
        .start_span("s", attributes={"a": "long", "b": 1})
    )
    span.set_attribute("c", 2)
    assert dict(span.attributes) == {"b": 1, "c": 2}
    assert span.dropped_attributes == 1
    span.set_attribute("d", "abcdef")
    assert span.attributes["d"] == "abc"


def test_python_processors_see_the_live_span_on_start_and_a_readable_span_on_end():
    seen: list[tuple[str, Any]] = []

    class Watching(SpanProcessor):
        def on_start(self, span, parent_context: Optional[context_api.Context] = None) -> None:
            seen.append(("start", span))
            span.set_attribute("added.on_start", True)

        def _on_ending(self, span) -> None:
            seen.append(("ending", span.is_recording()))

        def on_end(self, span: ReadableSpan) -> None:
            seen.append(("end", span))

    provider = RustTracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(Watching())
    provider.get_tracer("x").start_span("watched").end()
    assert [kind for kind, _ in seen] == ["start", "ending", "end"]
    assert isinstance(seen[0][1], NativeSpan)
    readable = seen[2][1]
    assert type(readable) is ReadableSpan and readable.attributes["added.on_start"] is True


def test_ended_spans_reach_our_processor_only_when_sampled(http_receiver):
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint_for("traces"))
    provider = RustTracerProvider(sampler=RecordingSampler(), shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("x")
    for name in ("sampled one", "record only", "dropped", "sampled two"):
        tracer.start_span(name).end()
    assert provider.force_flush(10_000)
    names = [span.name for span in http_receiver.received.spans()]
    assert names == ["sampled one", "sampled two"]
    provider.shutdown()
    tracer.start_span("sampled after shutdown").end()
    assert processor.stats()["dropped"] == 1


def test_resource_objects_are_the_providers():
    resource = Resource({"service.name": "mine"})
    provider = RustTracerProvider(resource=resource, shutdown_on_exit=False)
    assert provider.get_tracer("x").start_span("s").resource is resource


def test_the_apis_tracer_provider_variable_selects_ours():
    # OTEL_PYTHON_TRACER_PROVIDER names an entry point of group opentelemetry_tracer_provider.
    script = (
        "from opentelemetry import trace\n"
        "provider = trace.get_tracer_provider()\n"
        "span = trace.get_tracer('x').start_span('s')\n"
        "print(type(provider).__name__, type(span).__name__)\n"
    )
    environment = {**os.environ, "OTEL_PYTHON_TRACER_PROVIDER": "rust"}
    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True)
    assert result.stdout.split() == ["RustTracerProvider", "NativeSpan"], result.stderr


class UnprintableValue:
    def __str__(self) -> str:
        raise RuntimeError("no str")


def nested_lists(depth: int) -> list:
    outer: list = []
    current = outer
    for _ in range(depth):
        inner: list = []
        current.append(inner)
        current = inner
    return outer


ODD_CALLS = [
    ("set_attribute", ("k", 2**80)),
    ("set_attribute", ("k", float("nan"))),
    ("set_attribute", ("k", UnprintableValue())),
    ("set_attribute", ("k", nested_lists(40))),
    ("set_attribute", (None, 1)),
    ("set_attribute", (1, 1)),
    ("set_attribute", ("k", "\ud800")),
    ("set_attributes", (None,)),
    ("set_attributes", ({"a": UnprintableValue()},)),
    ("add_event", (None,)),
    ("add_event", ("e", {"x": object()})),
    ("add_event", ("e", None, "not a time")),
    ("update_name", (None,)),
    ("update_name", (5,)),
    ("set_status", (None,)),
    ("set_status", ("ERROR",)),
    ("end", ("not a time",)),
    ("end", (1.5e18,)),
]


@pytest.mark.parametrize(("method", "arguments"), ODD_CALLS, ids=lambda value: repr(value)[:30])
def test_odd_arguments_raise_nothing_where_the_sdk_raises_nothing(method, arguments, caplog):
    caplog.set_level(logging.CRITICAL)
    outcomes = []
    for provider_class in PROVIDERS:
        span = provider_class(shutdown_on_exit=False).get_tracer("odd").start_span("s")
        try:
            getattr(span, method)(*arguments)
            outcomes.append(None)
        except Exception as error:
            outcomes.append(type(error).__name__)
    sdk, native = outcomes
    if sdk is None:
        assert native is None


def test_a_tracer_whose_settings_cannot_be_read_natively_is_the_sdks(caplog):
    class UnreadableResource(Resource):
        @property
        def attributes(self):
            raise RuntimeError("unreadable")

    provider = RustTracerProvider(resource=UnreadableResource({}), shutdown_on_exit=False)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        tracer = provider.get_tracer("fallback")
    assert type(tracer) is Tracer
    assert "makes the SDK's spans" in caplog.text
    with tracer.start_as_current_span("still traced") as span:
        assert span.is_recording()
