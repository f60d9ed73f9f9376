"""Reading a span or log record leaves nothing behind for Python's garbage collector.

CPython 3.11+ stores instance attributes without a ``__dict__`` and builds one when asked
for it; reading the SDK's objects that way created a dict per record, which made the
cyclic GC run and scan all of them (it tripled the cost of ``on_emit``)."""

import gc
from collections import Counter

import pytest
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


def finished_items() -> dict[str, list]:
    """``COUNT`` spans, each with an attribute and an event, and ``COUNT`` log records with an
    attribute (outside any span), as the SDK hands them to processors."""
    spans, records = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(records))
    tracer, logger = tracer_provider.get_tracer("hot-path"), logger_provider.get_logger("hot-path")
    for index in range(COUNT):
        with tracer.start_as_current_span("span", attributes={"index": index}) as span:
            span.add_event("event", {"index": index})
        logger.emit(body=f"record {index}", attributes={"index": index})
    return {"traces": list(spans.get_finished_spans()), "logs": list(records.get_finished_logs())}


@pytest.mark.parametrize(
    ("processor_type", "read", "signal"),
    [(RustSpanProcessor, "on_end", "traces"), (RustLogRecordProcessor, "on_emit", "logs")],
    ids=["on_end per span", "on_emit per record"],
)
def test_reading_an_item_creates_no_python_objects_per_item(http_receiver, processor_type, read, signal):
    items = finished_items()[signal]
    processor = processor_type(endpoint=http_receiver.endpoint_for(signal), schedule_delay_millis=60_000)

    created = new_gc_objects(getattr(processor._core, read), items)
    processor.shutdown()
    assert created["dict"] == 0, created
