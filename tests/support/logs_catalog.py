"""A rich set of log records emitted through the real SDK, for comparing encoders field by
field.

Covers a body of every AnyValue type, every severity, attributes of every type the SDK
accepts, event names, explicit and missing timestamps, records inside sampled and unsampled
spans, stdlib ``logging`` records with exception info, dropped attributes from small limits,
unicode, two resources and several scopes interleaved.
"""

from __future__ import annotations

import logging

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, LogRecordLimits, LogRecordProcessor
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from opentelemetry.trace import set_span_in_context
from opentelemetry.util.types import AnyValue

from tests.support.spans_catalog import EVERY_ATTRIBUTE_TYPE, SCHEMA_URL

BODIES: list[AnyValue] = [
    "plain text",
    "naïve café ✓ 𝄞 数据",
    "",
    42,
    -(2**63),
    2.5,
    True,
    b"\x00\xffbytes",
    ["a", 1, 2.5, None, {"k": "v"}],
    {"message": "structured", "user": {"id": 7, "roles": ["admin", "dev"]}, "ok": False},
    None,
]


def build_rich_log_records(processor: LogRecordProcessor | None = None) -> list:
    """Emits the catalog through ``processor`` (if given) and returns the SDK's readable
    records in emit order, as the stock exporter would receive them."""
    memory = InMemoryLogRecordExporter()
    providers = []
    for resource in (
        Resource({"service.name": "logs-catalog", "host.name": "a"}, schema_url=SCHEMA_URL),
        Resource({"service.name": "second-service"}),
    ):
        provider = LoggerProvider(
            resource=resource,
            shutdown_on_exit=False,
            log_record_limits=LogRecordLimits(max_attributes=40, max_attribute_length=48),
        )
        provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
        if processor is not None:
            provider.add_log_record_processor(processor)
        providers.append(provider)
    first, second = providers
    plain = first.get_logger("catalog.plain")
    versioned = first.get_logger(
        "catalog.versioned", "2.1.0", schema_url=SCHEMA_URL, attributes={"scope.attr": "x"}
    )
    other = second.get_logger("catalog.other")
    tracers = {
        "sampled": TracerProvider(sampler=ALWAYS_ON, shutdown_on_exit=False).get_tracer("t"),
        "unsampled": TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False).get_tracer("t"),
    }

    for index, body in enumerate(BODIES):
        logger = (plain, versioned, other)[index % 3]
        logger.emit(body=body, severity_number=_severity(index), severity_text=_severity(index).name)
    plain.emit(body="every attribute type", attributes=EVERY_ATTRIBUTE_TYPE)
    plain.emit(body="too many attributes", attributes={f"key.{i}": i for i in range(60)})
    versioned.emit(event_name="checkout.completed", body={"order": 17}, attributes={"amount": 9.5})
    other.emit(
        body="explicit times",
        timestamp=1_700_000_000_123_456_789,
        observed_timestamp=1_700_000_001_000_000_000,
    )
    plain.emit()
    for sampling, tracer in tracers.items():
        with tracer.start_as_current_span(f"{sampling} span") as span:
            plain.emit(body=f"inside a {sampling} span")
            other.emit(body=f"explicit context, {sampling}", context=set_span_in_context(span))

    handler = LoggingHandler(logger_provider=first)
    stdlib = logging.getLogger("catalog.stdlib")
    stdlib.propagate = False
    stdlib.addHandler(handler)
    stdlib.setLevel(logging.DEBUG)
    try:
        with tracers["sampled"].start_as_current_span("stdlib span"):
            stdlib.warning("stdlib %s with %d args", "message", 2, extra={"request.id": "r-1"})
            try:
                raise ValueError("boom ✗")
            except ValueError:
                stdlib.exception("handled failure")
        stdlib.debug("outside any span")
    finally:
        stdlib.removeHandler(handler)
    return list(memory.get_finished_logs())


def _severity(index: int) -> SeverityNumber:
    members = list(SeverityNumber)
    return members[(index * 5) % len(members)]
