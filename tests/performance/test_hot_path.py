"""Reading a span or log record leaves nothing behind for Python's garbage collector.

CPython 3.11+ stores instance attributes without a ``__dict__`` and builds one when asked
for it; reading the SDK's objects that way created a dict per record, which made the
cyclic GC run and scan all of them (it tripled the cost of ``on_emit``)."""

import gc
from collections import Counter

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_rust_exporter import RustLogRecordProcessor, RustSpanProcessor

COUNT = 50


def new_gc_objects(read, items) -> Counter:
    read(items[0])  # anything created once (caches) is not per-record garbage
    gc.collect()
    gc.disable()
    try:
        before = {id(obj) for obj in gc.get_objects()}
        for item in items[1:]:
            read(item)
        return Counter(type(obj).__name__ for obj in gc.get_objects() if id(obj) not in before)
    finally:
        gc.enable()


def test_on_end_creates_no_python_objects_per_span(http_receiver):
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("hot-path")
    for index in range(COUNT):
        with tracer.start_as_current_span("span", attributes={"index": index}) as span:
            span.add_event("event", {"index": index})
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint, schedule_delay_millis=60_000)

    created = new_gc_objects(processor._core.on_end, list(memory.get_finished_spans()))
    processor.shutdown()
    assert created["dict"] == 0, created


def test_on_emit_creates_no_python_objects_per_record(http_receiver):
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("hot-path")
    for index in range(COUNT):
        logger.emit(body=f"record {index}", attributes={"index": index})
    processor = RustLogRecordProcessor(
        endpoint=http_receiver.endpoint_for("logs"), schedule_delay_millis=60_000
    )

    created = new_gc_objects(processor._core.on_emit, list(memory.get_finished_logs()))
    processor.shutdown()
    assert created["dict"] == 0, created
