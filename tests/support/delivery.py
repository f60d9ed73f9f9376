"""Spans through our processor to a receiver, the replies that fail an export, and a queue
overflowed against a slow receiver."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Callable

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


def end_spans_without_waiting(processor, count: int, prefix: str) -> TracerProvider:
    """Ends ``count`` spans through a provider using ``processor`` whose exports fail or hang,
    failing the test if ending them waited for that; returns the provider."""
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer(prefix)
    started = time.monotonic()
    for index in range(count):
        tracer.start_span(f"{prefix} {index}").end()
    # Generous bound: a "does not hang" check, not a benchmark.
    assert time.monotonic() - started < 5
    return provider


def transient_failure(protocol: str) -> Reply:
    if protocol == "grpc":
        return Reply(grpc_code=grpc.StatusCode.UNAVAILABLE)
    return Reply(http_status=503)


def permanent_failure(protocol: str) -> Reply:
    if protocol == "grpc":
        return Reply(grpc_code=grpc.StatusCode.INVALID_ARGUMENT)
    return Reply(http_status=400)


# Far more than the overflow's queue holds while the slow receiver keeps its exports waiting.
OVERFLOWING = 500


@contextlib.contextmanager
def small_backlog() -> Iterator[None]:
    """Processors made inside cut no more batches once one waits for an export slot: the
    queue then fills while a slow receiver holds every slot, as a queue overflows when
    the collector cannot keep up."""
    os.environ["OTEL_RUST_EXPORTER_MAX_BACKLOG_BYTES"] = "1"
    try:
        yield
    finally:
        del os.environ["OTEL_RUST_EXPORTER_MAX_BACKLOG_BYTES"]


def overflow(receiver, start: Callable[..., tuple], produce: Callable[[object, int], None]) -> dict:
    """Produces ``OVERFLOWING`` items into a 10-item queue while a slow receiver holds each
    export, so the producer outpaces the exporter; checks that the drops are counted and that
    everything accepted was exported. ``start`` and ``produce`` are a signal's (e.g. ``start``
    and ``end_spans`` here). Returns the processor's stats."""
    receiver.reply_with(*[Reply(delay=0.3)] * 3)
    with small_backlog():
        processor, producer = start(receiver, max_queue_size=10, max_export_batch_size=10)
    produce(producer, OVERFLOWING)

    assert processor.force_flush(20_000) is True
    stats = processor.stats()
    assert stats["dropped"] > 0
    assert stats["accepted"] + stats["dropped"] == OVERFLOWING
    assert stats["exported"] == stats["accepted"]
    return stats
