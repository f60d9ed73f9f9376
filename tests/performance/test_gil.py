"""The GIL is released while we wait for, encode and send an export: a pure-Python thread
keeps running meanwhile. (If we held it, the counting thread could not advance at all.)"""

from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustOTLPSpanExporter, RustSpanProcessor

from tests.support.gil import SLOW_REPLY, Counter


def finished_spans(count: int) -> list:
    provider = TracerProvider()
    tracer = provider.get_tracer("gil-test")
    spans = []
    for index in range(count):
        span = tracer.start_span(f"span-{index}")
        span.end()
        spans.append(span)
    return spans


def test_force_flush_waits_without_the_gil(receiver):
    receiver.reply_with(SLOW_REPLY)
    processor = RustSpanProcessor(endpoint=receiver.endpoint, protocol=receiver.protocol)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with provider.get_tracer("gil-test").start_as_current_span("slow to deliver"):
        pass
    with Counter() as counter:
        before = counter.count
        assert processor.force_flush(10_000)
        during_flush = counter.count - before
    # A second of counting in Python is millions of steps; a held GIL would allow none.
    assert during_flush > 100_000
    provider.shutdown()


def test_a_synchronous_export_runs_without_the_gil(receiver):
    receiver.reply_with(SLOW_REPLY)
    exporter = RustOTLPSpanExporter(endpoint=receiver.endpoint, protocol=receiver.protocol)
    spans = finished_spans(2000)
    with Counter() as counter:
        before = counter.count
        exporter.export(spans)
        during_export = counter.count - before
    assert during_export > 100_000
    assert len(receiver.received.spans()) == 2000
