"""A rich set of finished spans made by the real SDK, for comparing encoders field by field.

Covers every attribute type the SDK accepts, events and links with attributes, remote
parents and links, trace state, every status code and span kind, dropped counts from
small limits, unicode, two resources and several instrumentation scopes interleaved.
"""

from __future__ import annotations

from typing import Optional

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import AttributeValue

LIMITS = SpanLimits(
    max_span_attributes=40,
    max_events=3,
    max_links=2,
    max_event_attributes=2,
    max_link_attributes=2,
    max_attribute_length=48,
)

EVERY_ATTRIBUTE_TYPE: dict[str, AttributeValue] = {
    "str": "plain",
    "str.empty": "",
    "str.unicode": "naïve café ✓ 𝄞 数据 e\u0301 👩\u200d💻",
    "str.nul": "before\x00after",
    "str.truncated_by_sdk": "x" * 100,
    "bool.true": True,
    "bool.false": False,
    "int.zero": 0,
    "int.negative": -1,
    "int.max": 2**63 - 1,
    "int.min": -(2**63),
    "float": 3.25,
    "float.negative_zero": -0.0,
    "float.tiny": 5e-324,
    "float.huge": 1.7976931348623157e308,
    "float.inf": float("inf"),
    "float.negative_inf": float("-inf"),
    "seq.str": ("a", "", "ü"),
    "seq.bool": (True, False, True),
    "seq.int": (1, -2, 2**63 - 1),
    "seq.float": (0.5, -1.5, float("inf")),
    "seq.empty": (),
    "seq.str_with_none": ("a", None, "c"),
    "seq.int_with_none": (None, 2),
    "seq.from_list": [1, 2, 3],
    "bytes": b"\x00\xffbinary",
    "map": {"nested.str": "v", "nested.seq": (1, 2), "nested.map": {"deep": True}},
    "seq.mixed": ("a", 1, 2.5, False, None, b"\x01", ("inner",), {"k": "v"}),
    "none": None,
    "ключ.ünïcode.🔑": "value",
}

SCHEMA_URL = "https://opentelemetry.io/schemas/1.24.0"
SCOPE_SCHEMA_URL = "https://opentelemetry.io/schemas/1.21.0"

REMOTE_PARENT = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "opaque-value"), ("other", "v1.2")]),
)
LOCAL_NON_RECORDING_PARENT = SpanContext(
    trace_id=0x1234567890ABCDEF1234567890ABCDEF,
    span_id=0x1122334455667788,
    is_remote=False,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)
REMOTE_LINK = SpanContext(
    trace_id=0xFEDCBA9876543210FEDCBA9876543210,
    span_id=0x0102030405060708,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("linked", "state")]),
)


def build_rich_spans(
    *processors: SpanProcessor,
    provider_class: type[TracerProvider] = TracerProvider,
    id_generator: Optional[IdGenerator] = None,
) -> list[ReadableSpan]:
    """Makes the spans with providers of ``provider_class`` (the SDK's unless told),
    feeding them to ``processors`` too; returns them in end order."""
    memory = InMemorySpanExporter()
    primary, twin = (
        provider_class(
            resource=Resource(
                {"service.name": "parity", "service.instance.id": "ü-1", "host.cores": 2, "tags": ("a", "b")},
                schema_url=SCHEMA_URL,
            ),
            span_limits=LIMITS,
            shutdown_on_exit=False,
            id_generator=id_generator,
        )
        for _ in range(2)
    )
    secondary = provider_class(
        resource=Resource({"service.name": "parity-secondary"}),
        span_limits=LIMITS,
        shutdown_on_exit=False,
        id_generator=id_generator,
    )
    for provider in (primary, twin, secondary):
        provider.add_span_processor(SimpleSpanProcessor(memory))
        for processor in processors:
            provider.add_span_processor(processor)

    http = primary.get_tracer(
        "parity.http", "1.2.3", schema_url=SCOPE_SCHEMA_URL, attributes={"scope.str": "x", "scope.int": 3}
    )
    # Equal resource and scope, but distinct objects: the stock encoder groups them as one.
    http_again = twin.get_tracer(
        "parity.http", "1.2.3", schema_url=SCOPE_SCHEMA_URL, attributes={"scope.str": "x", "scope.int": 3}
    )
    http_v2 = primary.get_tracer("parity.http", "2.0.0")
    database = primary.get_tracer("parity.db")
    other = secondary.get_tracer("parity.other", "0.1")

    with http.start_as_current_span("root ✓", kind=SpanKind.SERVER, attributes=EVERY_ATTRIBUTE_TYPE) as root:
        root.add_event("event.plain")
        root.add_event(
            "event.attributes", {"e.str": "v", "e.seq": (1, 2)}, timestamp=1_700_000_000_000_000_001
        )
        root.add_event("event.too_many_attributes", {"a": 1, "b": 2, "c": 3, "d": 4})
        root.add_event("event.over_the_limit")
        root.set_status(Status(StatusCode.OK))
        with database.start_as_current_span("SELECT 数据库", kind=SpanKind.CLIENT) as query:
            query.set_attribute("db.statement", "SELECT * FROM t WHERE x = 'ü'")
            query.set_status(StatusCode.ERROR, "deadlock détecté")
        with other.start_as_current_span("other resource", kind=SpanKind.PRODUCER):
            pass
        with http_v2.start_as_current_span("second version", kind=SpanKind.CONSUMER) as consumer:
            consumer.set_status(StatusCode.ERROR)
        with http_again.start_as_current_span("same scope again", kind=SpanKind.INTERNAL):
            pass
        try:
            with database.start_as_current_span("raises"):
                raise ValueError("boom ✗")
        except ValueError:
            pass

    remote = trace.set_span_in_context(NonRecordingSpan(REMOTE_PARENT))
    # Two links fit: the SDK keeps the last two and counts the first as dropped.
    links = [
        Link(REMOTE_PARENT),
        Link(LOCAL_NON_RECORDING_PARENT, {"link.seq": ("x",)}),
        Link(REMOTE_LINK, {"link.str": "remote", "link.int": 7, "link.dropped": True}),
    ]
    with http.start_as_current_span(
        "remote child", context=remote, links=links, kind=SpanKind.SERVER
    ) as span:
        span.set_attributes({f"overflow.{index}": index for index in range(45)})
        with other.start_as_current_span("local grandchild"):
            pass

    local = trace.set_span_in_context(NonRecordingSpan(LOCAL_NON_RECORDING_PARENT))
    with database.start_as_current_span("non-remote parent", context=local):
        pass
    with database.start_as_current_span("", kind=SpanKind.CLIENT):
        pass

    return list(memory.get_finished_spans())
