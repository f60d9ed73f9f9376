"""Spans through our processor to a receiver, and the replies that fail an export."""

from __future__ import annotations

import grpc
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustSpanProcessor

from tests.support.otlp_receivers import Reply

# Long enough that nothing is exported on schedule while a test runs: only full batches,
# force_flush or shutdown send.
NEVER_ON_SCHEDULE_MS = 60_000


def start(receiver, **options) -> tuple:
    options.setdefault("schedule_delay_millis", NEVER_ON_SCHEDULE_MS)
    processor = RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol, **options)
    # No SDK at-exit shutdown: a processor left behind by one test must not flush at exit.
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    return processor, provider.get_tracer("delivery-test")


def end_spans(tracer, count: int, prefix: str = "span") -> None:
    for i in range(count):
        with tracer.start_as_current_span(f"{prefix}-{i}"):
            pass


def transient_failure(protocol: str) -> Reply:
    if protocol == "grpc":
        return Reply(grpc_code=grpc.StatusCode.UNAVAILABLE)
    return Reply(http_status=503)


def permanent_failure(protocol: str) -> Reply:
    if protocol == "grpc":
        return Reply(grpc_code=grpc.StatusCode.INVALID_ARGUMENT)
    return Reply(http_status=400)
