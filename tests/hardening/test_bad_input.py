"""Odd input never reaches the application as an exception: attribute values the SDK lets
through are encoded as the stock exporter encodes them, or, where protobuf cannot carry
them, sanitized with one warning; invalid settings warn and fall back; an unreachable
collector never blocks; secrets never show up in logs or reprs."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Optional, cast

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Link, SpanContext, TraceFlags
from otel_rust_exporter import RustOTLPSpanExporter, RustSpanProcessor

from tests.apps import PYTHON, clean_env, run
from tests.support.delivery import end_spans_without_waiting
from tests.support.otlp_receivers import Reply
from tests.support.our_logging import our_records
from tests.support.tcp import closed_port

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("without_otlp_variables")]

MIB = 1 << 20


def nested(core: Any, levels: int) -> Any:
    for _ in range(levels):
        core = (core,)
    return core


def plain(any_value) -> Any:
    """An OTLP ``AnyValue`` as the Python value it carries (``None`` when empty)."""
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return tuple(plain(value) for value in any_value.array_value.values)
    if kind == "kvlist_value":
        return {pair.key: plain(pair.value) for pair in any_value.kvlist_value.values}
    return None if kind is None else getattr(any_value, kind)


def attributes_of(message) -> dict:
    return {pair.key: plain(pair.value) for pair in message.attributes}


# --- values the stock encoder handles: sent exactly as it encodes them -------------------

ODD_BUT_ENCODABLE = {
    "none": None,
    "seq.none_only": (None,),
    "seq.none_inside": ("a", None, "c"),
    "nan": float("nan"),
    "seq.nan": (float("nan"), 1.0),
    "negative_zero": -0.0,
    "bytes.empty": b"",
    "bytes.every_byte": bytes(range(256)),
    "str.controls": "\x00\x01\x7f\r\n\t",
    "map.empty": {},
    "map.non_str_keys": {1: "one", 2.5: (True, None)},
    "seq.heterogeneous": (1, "two", 3.0, None, b"\x04", ("five",), {"six": 6}),
    "nesting.fifteen_levels": nested("core", 15),
    "key = with , odd ; chars\t": "v",
    "k" * 10_000: "long key",
}


@pytest.mark.parametrize("sender", ["exporter", "processor"])
def test_odd_values_the_stock_encoder_handles_are_sent_byte_for_byte_as_it_encodes_them(
    http_receiver, sender
):
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint) if sender == "processor" else None
    provider = TracerProvider(shutdown_on_exit=False)
    if processor:
        provider.add_span_processor(processor)
    span = provider.get_tracer("odd").start_span("odd values", attributes=ODD_BUT_ENCODABLE)
    span.add_event("odd event", {"nan": float("nan"), "seq": (None,)})
    span.end()
    if processor:
        assert processor.force_flush(10_000)
    else:
        assert (
            RustOTLPSpanExporter(endpoint=http_receiver.endpoint).export([span]) is SpanExportResult.SUCCESS
        )
    # Bytes, not messages: NaN != NaN would make equal messages compare unequal.
    assert http_receiver.received.bodies == [encode_spans([span]).SerializeToString()]


# --- values protobuf cannot carry: sanitized, with one warning ---------------------------


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


@dataclass(frozen=True)
class Sanitized:
    """``value`` placed at ``where`` on a span (``attribute`` through the SDK, ``injected``
    straight into the span's attributes, bypassing the SDK's cleaning, ``event``, ``link``,
    ``resource``, ``scope`` or the span ``name``); ``sent`` is what must arrive there."""

    where: str
    key: str
    value: Any
    sent: Any
    # Text the single warning must contain, so the user can find the culprit.
    named: Optional[str] = None


SANITIZED = {
    "lone surrogates in a value": Sanitized(
        "attribute", "surrogates", "a\ud800b\udfffc", {"surrogates": "a\ufffdb\ufffdc"}, "surrogates"
    ),
    "lone surrogate in a key": Sanitized("attribute", "key.\udcff", "v", {"key.\ufffd": "v"}, "key."),
    "int above int64": Sanitized("attribute", "big", 2**64, {"big": "18446744073709551616"}, "big"),
    "int below int64": Sanitized("attribute", "small", -(2**63) - 1, {"small": str(-(2**63) - 1)}, "small"),
    "int above int64 in a sequence": Sanitized(
        "attribute", "seq", (1, 2**70), {"seq": (1, str(2**70))}, "seq"
    ),
    # "✓" is 3 bytes: 1 MiB falls inside a character, which must not be split.
    "string over 1 MiB": Sanitized("attribute", "huge", "✓" * 400_000, {"huge": "✓" * (MIB // 3)}, "huge"),
    "bytes over 1 MiB": Sanitized(
        "attribute", "blob", bytes(range(256)) * 4100, {"blob": (bytes(range(256)) * 4096)}, "blob"
    ),
    "nesting deeper than 16": Sanitized(
        "attribute", "deep", nested("core", 20), {"deep": nested(None, 16)}, "deep"
    ),
    "unsupported type": Sanitized("injected", "decimal", Decimal("1.50"), {"decimal": "1.50"}, "decimal"),
    "object whose str() raises": Sanitized("injected", "unprintable", Unprintable(), None, "unprintable"),
    "lone surrogate in an event attribute": Sanitized(
        "event", "event.key", "e\udc80", {"event.key": "e\ufffd"}
    ),
    "int above int64 in a link attribute": Sanitized("link", "link.big", 2**65, {"link.big": str(2**65)}),
    "lone surrogate in a resource attribute": Sanitized("resource", "res", "r\ud801", {"res": "r\ufffd"}),
    "lone surrogate in a scope attribute": Sanitized(
        "scope", "scope.key", "s\ud802", {"scope.key": "s\ufffd"}
    ),
    "lone surrogate in the span name": Sanitized("name", "", "name \ud803", "name \ufffd"),
}


def odd_span(case: str, *processors) -> ReadableSpan:
    """One span holding ``SANITIZED[case]`` and one ordinary attribute, ``ok=1``."""
    odd = SANITIZED[case]
    placed = {odd.key: odd.value}
    resource = Resource({"service.name": "odd", **(placed if odd.where == "resource" else {})})
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    for processor in processors:
        provider.add_span_processor(processor)
    tracer = provider.get_tracer("odd", attributes=placed if odd.where == "scope" else None)
    linked = SpanContext(0xABC, 0xDEF, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    span = cast(
        Span,
        tracer.start_span(
            odd.value if odd.where == "name" else "odd",
            attributes={"ok": 1, **(placed if odd.where == "attribute" else {})},
            links=[Link(linked, placed)] if odd.where == "link" else None,
        ),
    )
    if odd.where == "injected":
        span._attributes._dict[odd.key] = odd.value  # type: ignore[union-attr]  # BoundedAttributes
    if odd.where == "event":
        span.add_event("odd event", placed)
    span.end()
    return span


def sent_at(where: str, request) -> Any:
    (resource_spans,) = request.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    (span,) = scope_spans.spans
    assert attributes_of(span)["ok"] == 1
    if where == "name":
        return span.name
    message = {
        "attribute": span,
        "injected": span,
        "event": span.events[0] if span.events else None,
        "link": span.links[0] if span.links else None,
        "resource": resource_spans.resource,
        "scope": scope_spans.scope,
    }[where]
    sent = attributes_of(message)
    return {key: value for key, value in sent.items() if key not in ("ok", "service.name")}


# Warnings about sanitized values are rate limited per process, so each case runs in a
# fresh interpreter to see its own warning. It exports to this process's receiver.
CHILD = """
import json, sys
from otel_rust_exporter import RustSpanProcessor
from tests.hardening.test_bad_input import odd_span
from tests.support.our_logging import keep_our_records

kept = keep_our_records()
processor = RustSpanProcessor(endpoint=sys.argv[1])
odd_span(sys.argv[2], processor)
flushed = processor.force_flush(10_000)
processor.shutdown()
records = [{"level": record.levelname, "message": record.getMessage()} for record in kept]
print(json.dumps({"flushed": flushed, "records": records}))
"""


@pytest.mark.parametrize("case", SANITIZED)
def test_values_protobuf_cannot_carry_are_sanitized_with_one_warning(http_receiver, case):
    child = run(PYTHON, "-c", CHILD, http_receiver.endpoint, case, env=clean_env(), timeout=30)
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["flushed"], child.stderr
    (request,) = http_receiver.received.requests
    odd = SANITIZED[case]
    sent = sent_at(odd.where, request)
    if odd.sent is not None:
        assert sent == odd.sent
    (warning,) = report["records"]
    assert warning["level"] == "WARNING"
    assert "\n" not in warning["message"]
    if odd.named:
        assert odd.named in warning["message"]


def test_the_sdk_lets_the_sanitized_values_through_unchanged():
    # Guards the cases above: each must reach the processor as written, not pre-cleaned.
    for case, odd in SANITIZED.items():
        if odd.where == "attribute":
            assert odd_span(case).attributes[odd.key] == odd.value, case


# --- whatever on_end gets, the application sees no exception -----------------------------


class ExplodingAttributes(Mapping):
    """An attributes mapping that fails whenever it is read."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("attributes unavailable")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("attributes unavailable")

    def __len__(self) -> int:
        raise RuntimeError("attributes unavailable")


def ended_span(name: str, **replaced: Any) -> ReadableSpan:
    """A finished SDK span, or a copy of one with some fields ``replaced``."""
    span = cast(Span, TracerProvider(shutdown_on_exit=False).get_tracer("odd").start_span(name))
    span.end()
    if not replaced:
        return span
    fields = {
        "name": span.name,
        "context": span.context,
        "resource": span.resource,
        "attributes": span.attributes,
        "instrumentation_scope": span.instrumentation_scope,
        "start_time": span.start_time,
        "end_time": span.end_time,
    }
    return ReadableSpan(**{**fields, **replaced})


UNREADABLE_SPANS = {
    "None": None,
    "object": object(),
    "str": "not a span",
    "span without a context": ReadableSpan(name="no context"),
    "span whose attributes raise": ended_span("broken", attributes=ExplodingAttributes()),
    "span whose trace id is not an int": ended_span(
        "bad id",
        context=SimpleNamespace(trace_id="x", span_id=1, is_remote=False, trace_flags=1, trace_state=None),
    ),
}


def test_on_end_with_unreadable_spans_drops_them_without_raising(http_receiver):
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint)
    for unreadable in UNREADABLE_SPANS.values():
        processor.on_end(unreadable)
    processor.on_end(ended_span("good"))
    assert processor.force_flush(10_000)
    assert [span.name for span in http_receiver.received.spans()] == ["good"]
    stats = processor.stats()
    assert stats["dropped"] == len(UNREADABLE_SPANS)
    assert stats["exported"] == 1
    processor.shutdown()


def test_exporter_reports_failure_for_unreadable_spans_without_raising(http_receiver):
    exporter = RustOTLPSpanExporter(endpoint=http_receiver.endpoint)
    for unreadable in UNREADABLE_SPANS.values():
        assert exporter.export([unreadable]) is SpanExportResult.FAILURE
    assert exporter.export(None) is SpanExportResult.FAILURE
    assert exporter.export([]) is SpanExportResult.SUCCESS
    assert exporter.export([ended_span("good")]) is SpanExportResult.SUCCESS
    assert [span.name for span in http_receiver.received.spans()] == ["good"]


@pytest.mark.parametrize("timeout_millis", [0, -1, float("nan"), float("inf"), 1e300, None])
def test_force_flush_accepts_odd_timeouts_without_raising(http_receiver, timeout_millis):
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint)
    processor.on_end(ended_span("pending"))
    assert isinstance(processor.force_flush(timeout_millis), bool)
    assert processor.force_flush(10_000)
    assert [span.name for span in http_receiver.received.spans()] == ["pending"]
    processor.shutdown()


def test_calls_after_shutdown_neither_raise_nor_export(http_receiver):
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint)
    processor.shutdown()
    processor.shutdown()
    processor.on_end(ended_span("too late"))
    assert isinstance(processor.force_flush(1_000), bool)
    assert processor.stats()["dropped"] == 1
    assert http_receiver.received.spans() == []


# --- invalid settings: one warning line each, then the default ----------------------------

INVALID_SETTINGS = {
    "OTEL_BSP_MAX_QUEUE_SIZE": "abc",
    "OTEL_EXPORTER_OTLP_TIMEOUT": "soon",
    "OTEL_EXPORTER_OTLP_COMPRESSION": "brotli",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
}


def test_invalid_settings_give_one_warning_line_each_and_the_defaults(http_receiver, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    for name, value in INVALID_SETTINGS.items():
        monkeypatch.setenv(name, value)
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint)
    warnings = our_records(caplog)
    assert sorted(
        name for name in INVALID_SETTINGS for record in warnings if name in record.getMessage()
    ) == sorted(INVALID_SETTINGS)
    assert len(warnings) == len(INVALID_SETTINGS)
    assert all(record.levelno == logging.WARNING and "\n" not in record.getMessage() for record in warnings)
    # The defaults: HTTP/protobuf, uncompressed, and spans still go out.
    assert processor._core.protocol == "http/protobuf"
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    provider.get_tracer("settings").start_span("default settings").end()
    assert processor.force_flush(10_000)
    assert "content-encoding" not in http_receiver.received.headers[0]
    provider.shutdown()
    assert len(our_records(caplog)) == len(INVALID_SETTINGS)


def test_malformed_header_entries_are_skipped_with_a_warning(receiver, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-good=1,no-equals-sign,=no-key,x-also-good=2")
    processor = RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol)
    assert len(our_records(caplog)) == 2
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    provider.get_tracer("headers").start_span("span").end()
    assert processor.force_flush(10_000)
    (headers,) = receiver.received.headers
    assert (headers["x-good"], headers["x-also-good"]) == ("1", "2")
    provider.shutdown()


# --- an unreachable collector never blocks the application -------------------------------


@pytest.fixture(params=["closed port", "black hole"])
def unreachable_port(request):
    """A port nobody answers on: closed (refused), or listening but never accepting."""
    if request.param == "closed port":
        yield closed_port()
        return
    with socket.create_server(("127.0.0.1", 0), backlog=64) as black_hole:
        yield black_hole.getsockname()[1]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_an_unreachable_collector_never_blocks_the_application(unreachable_port, protocol):
    endpoint = f"http://127.0.0.1:{unreachable_port}"
    if protocol == "http/protobuf":
        endpoint += "/v1/traces"
    processor = RustSpanProcessor(endpoint=endpoint, protocol=protocol, timeout=0.5)
    provider = end_spans_without_waiting(processor, 1000, "unreachable")
    # Generous bounds: these are "does not hang" checks, not benchmarks.
    started = time.monotonic()
    assert processor.force_flush(200) is False
    assert time.monotonic() - started < 5
    started = time.monotonic()
    provider.shutdown()
    assert time.monotonic() - started < 15
    stats = processor.stats()
    assert stats["exported"] == 0
    assert stats["failed"] + stats["dropped"] == 1000


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_the_exporter_gives_up_on_an_unreachable_collector_within_its_timeout(unreachable_port, protocol):
    endpoint = f"http://127.0.0.1:{unreachable_port}"
    exporter = RustOTLPSpanExporter(endpoint=endpoint, protocol=protocol, timeout=0.5)
    started = time.monotonic()
    assert exporter.export([ended_span("lost")]) is SpanExportResult.FAILURE
    assert time.monotonic() - started < 10


# --- secrets stay secret ------------------------------------------------------------------

SECRET = "s3cr3t-T0KEN-4711"


def refusal(protocol: str) -> Reply:
    return Reply(grpc_code=grpc.StatusCode.UNAUTHENTICATED) if protocol == "grpc" else Reply(http_status=401)


def assert_secret_not_shown(caplog, capfd, *objects) -> None:
    captured = capfd.readouterr()
    assert SECRET not in caplog.text
    assert SECRET not in captured.out + captured.err
    for shown in objects:
        assert SECRET not in repr(shown)


def test_header_secrets_never_appear_in_logs_or_reprs(receiver, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    receiver.reply_with(*[refusal(receiver.protocol)] * 3)
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        f"x-env-key={SECRET},malformed-{SECRET},x-newline=bad%0A{SECRET}",
    )
    from_env = RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol)
    from_argument = RustSpanProcessor(
        endpoint=receiver.endpoint,
        protocol=receiver.protocol,
        headers={"authorization": f"Bearer {SECRET}", "x-newline": f"bad\n{SECRET}"},
    )
    exporter = RustOTLPSpanExporter(
        endpoint=receiver.endpoint, protocol=receiver.protocol, headers={"authorization": SECRET}
    )
    for processor in (from_env, from_argument):
        processor.on_end(ended_span("refused"))
        assert processor.force_flush(10_000) is False
        processor.shutdown()
    assert exporter.export([ended_span("refused")]) is SpanExportResult.FAILURE
    # The secrets did reach the server, and the failures were logged: only not the secrets.
    assert receiver.received.attempts == 3
    assert any(record.levelno >= logging.ERROR for record in our_records(caplog))
    assert_secret_not_shown(caplog, capfd, from_env, from_argument, exporter)


def test_credentials_in_the_endpoint_url_never_appear_in_logs_or_reprs(caplog, capfd):
    caplog.set_level(logging.DEBUG)
    endpoint = f"http://user:{SECRET}@127.0.0.1:{closed_port()}/v1/traces"
    processor = RustSpanProcessor(endpoint=endpoint, timeout=0.5)
    exporter = RustOTLPSpanExporter(endpoint=endpoint, timeout=0.5)
    processor.on_end(ended_span("unreachable"))
    assert processor.force_flush(10_000) is False
    processor.shutdown()
    assert exporter.export([ended_span("unreachable")]) is SpanExportResult.FAILURE
    assert any(record.levelno >= logging.ERROR for record in our_records(caplog))
    assert_secret_not_shown(caplog, capfd, processor, exporter)
