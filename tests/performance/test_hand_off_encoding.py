"""Spans and log records are written as their OTLP bytes in the hand-off (``read/span.rs``,
``read/log_record.rs`` through the core's ``wire.rs``), and the runtime thread only frames
them. Lengths of one, two and three varint bytes at every nesting level, and a record read
while another is being written, must still give exactly the stock encoder's bytes."""

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from otel_rust_exporter import RustLogRecordProcessor, RustSpanProcessor

# Lengths that take one varint byte (< 128), two (< 16 384) and three; a sub-message's
# length is written after its body, which moves when the length needs more than one byte.
SIZES = [5, 127, 128, 300, 16_383, 16_384, 70_000]


def test_spans_with_values_of_every_length_are_the_stock_bytes(http_receiver):
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint, schedule_delay_millis=60_000)
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("lengths")
    for size in SIZES:
        attributes = {"k" * size: "v" * size, "list": ("w" * size, "x"), "negative": -size}
        with tracer.start_as_current_span("s" * size, attributes=attributes) as span:
            span.add_event("e" * size, {"event.key": "z" * size, "n": -size})
            span.set_status(StatusCode.ERROR, "d" * size)
    assert processor.force_flush(10_000)
    processor.shutdown()
    assert http_receiver.received.bodies == [encode_spans(memory.get_finished_spans()).SerializeToString()]


def test_log_records_with_values_of_every_length_are_the_stock_bytes(http_receiver):
    processor = RustLogRecordProcessor(
        endpoint=http_receiver.endpoint_for("logs"), schedule_delay_millis=60_000
    )
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    provider.add_log_record_processor(processor)
    logger = provider.get_logger("lengths")
    for size in SIZES:
        logger.emit(
            body={"text": "b" * size, "items": ["i" * size, size]},
            severity_text="t" * size,
            event_name="n" * size,
            attributes={"a" * size: "v" * size, "negative": -size},
        )
        logger.emit(body="plain " * size)
    assert processor.force_flush(10_000)
    processor.shutdown()
    assert http_receiver.logs.bodies == [encode_logs(memory.get_finished_logs()).SerializeToString()]


class EndsASpanWhenShown:
    """A log body of a type OTLP cannot carry: we send ``str(body)``, and this one ends a
    span while our log record is half written."""

    def __init__(self, tracer) -> None:
        self.tracer = tracer

    def __str__(self) -> str:
        with self.tracer.start_as_current_span(
            "ended while a log record is written", attributes={"inner": 1}
        ):
            pass
        return "shown"


def test_a_record_read_while_another_is_written_is_written_apart(http_receiver):
    spans = RustSpanProcessor(endpoint=http_receiver.endpoint, schedule_delay_millis=60_000)
    logs = RustLogRecordProcessor(endpoint=http_receiver.endpoint_for("logs"), schedule_delay_millis=60_000)
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(spans)
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(logs)
    body = EndsASpanWhenShown(tracer_provider.get_tracer("inner"))
    logger_provider.get_logger("outer").emit(body=body, attributes={"after": "the body"})
    assert spans.force_flush(10_000) and logs.force_flush(10_000)
    spans.shutdown()
    logs.shutdown()
    assert spans.stats()["dropped"] == 0 and logs.stats()["dropped"] == 0
    (span,) = http_receiver.received.spans()
    assert span.name == "ended while a log record is written"
    assert [(kv.key, kv.value.int_value) for kv in span.attributes] == [("inner", 1)]
    (record,) = http_receiver.logs.log_records()
    assert record.body.string_value == "shown"
    assert [(kv.key, kv.value.string_value) for kv in record.attributes] == [("after", "the body")]
