"""Configuration from the environment: constructor arguments beat OTEL_EXPORTER_OTLP_TRACES_*,
which beat OTEL_EXPORTER_OTLP_*, which beat the defaults; OTEL_BSP_* sizes the batching.
Checked on the resolved config and by sending to real receivers."""

import logging
import time

import pytest
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustSpanProcessor

from tests.support.environment import unset_variables
from tests.support.otlp_receivers import Reply

pytestmark = pytest.mark.timeout(60)

# Nothing listens on the discard port of loopback: spans sent here never arrive.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def no_otel_variables(monkeypatch):
    unset_variables(monkeypatch, "OTEL_")


def send_spans(processor: RustSpanProcessor, count: int = 2) -> bool:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("config-test")
    for i in range(count):
        with tracer.start_as_current_span(f"span-{i}"):
            pass
    return processor.force_flush(10_000)


def spans_per_request(received) -> list:
    return [
        sum(
            len(scope_spans.spans)
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
        )
        for request in received.requests
    ]


def warnings_naming(caplog, variable: str) -> list:
    return [
        record
        for record in caplog.records
        if record.name == "otel_rust_exporter"
        and record.levelno == logging.WARNING
        and variable in record.getMessage()
    ]


def test_defaults_follow_the_specification():
    assert RustSpanProcessor()._core.protocol == "http/protobuf"
    assert RustSpanProcessor()._core.endpoint == "http://localhost:4318/v1/traces"
    assert RustSpanProcessor(protocol="grpc")._core.endpoint == "http://localhost:4317"


def test_signal_endpoint_beats_generic_endpoint(receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", receiver.protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", NOWHERE)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint)
    processor = RustSpanProcessor()

    assert processor._core.endpoint == receiver.endpoint
    assert send_spans(processor) is True
    assert len(receiver.received.spans()) == 2


@pytest.mark.parametrize(
    ("variable", "path", "expected_path"),
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "", "/v1/traces"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/custom/ingest", "/custom/ingest"),
    ],
    ids=["generic endpoint gets the traces path appended", "signal endpoint is used as is"],
)
def test_http_endpoint_from_the_environment(http_receiver, monkeypatch, variable, path, expected_path):
    base = http_receiver.endpoint.removesuffix("/v1/traces")
    monkeypatch.setenv(variable, f"{base}{path}")
    processor = RustSpanProcessor()

    assert processor._core.endpoint == f"{base}{expected_path}"
    assert send_spans(processor) is True
    assert http_receiver.received.headers[0][":path"] == expected_path


def test_generic_grpc_endpoint_is_used_as_is(grpc_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", grpc_receiver.endpoint)
    processor = RustSpanProcessor()

    assert processor._core.endpoint == grpc_receiver.endpoint
    assert send_spans(processor) is True
    assert len(grpc_receiver.received.spans()) == 2


def test_constructor_arguments_beat_the_environment(receiver, monkeypatch):
    other_protocol = "grpc" if receiver.protocol == "http/protobuf" else "http/protobuf"
    for prefix in ("OTEL_EXPORTER_OTLP_", "OTEL_EXPORTER_OTLP_TRACES_"):
        monkeypatch.setenv(f"{prefix}PROTOCOL", other_protocol)
        monkeypatch.setenv(f"{prefix}ENDPOINT", NOWHERE)
        monkeypatch.setenv(f"{prefix}HEADERS", "x-source=environment")
    processor = RustSpanProcessor(
        endpoint=receiver.endpoint, protocol=receiver.protocol, headers={"x-source": "argument"}
    )

    assert (processor._core.endpoint, processor._core.protocol) == (receiver.endpoint, receiver.protocol)
    assert send_spans(processor) is True
    assert receiver.received.headers[0]["x-source"] == "argument"


def test_signal_protocol_and_headers_beat_generic_ones(grpc_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-source=generic")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-source=signal")
    assert RustSpanProcessor()._core.endpoint == "http://localhost:4317"

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", grpc_receiver.endpoint)
    processor = RustSpanProcessor()
    assert processor._core.protocol == "grpc"
    assert send_spans(processor) is True
    assert grpc_receiver.received.headers[0]["x-source"] == "signal"


def test_bsp_max_queue_size_bounds_the_queue(http_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
    # A slow receiver, so the producer outpaces the exporter.
    http_receiver.reply_with(*[Reply(delay=0.3)] * 3)

    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "5")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "5")
    # And no room for batches waiting for an export slot: the queue fills behind them.
    monkeypatch.setenv("OTEL_RUST_EXPORTER_MAX_BACKLOG_BYTES", "1")
    small = RustSpanProcessor()
    assert send_spans(small, 300) is True
    assert small.stats()["dropped"] > 0
    assert small.stats()["accepted"] + small.stats()["dropped"] == 300
    assert max(spans_per_request(http_receiver.received)) <= 5

    # The same load fits in the default queue (2048).
    monkeypatch.delenv("OTEL_BSP_MAX_QUEUE_SIZE")
    monkeypatch.delenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
    monkeypatch.delenv("OTEL_RUST_EXPORTER_MAX_BACKLOG_BYTES")
    http_receiver.reply_with(*[Reply(delay=0.3)] * 3)
    default = RustSpanProcessor()
    assert send_spans(default, 300) is True
    assert default.stats()["dropped"] == 0


def test_bsp_schedule_delay_exports_without_a_flush(http_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    processor = RustSpanProcessor()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    with provider.get_tracer("config-test").start_as_current_span("scheduled"):
        pass

    # Well within the default delay (5 s): only the variable can have sent it this soon.
    assert len(http_receiver.received.wait_for_spans(1, timeout=2.5)) == 1


def test_traces_timeout_in_milliseconds_bounds_a_hanging_export(http_receiver, monkeypatch):
    # The receiver answers after 3 s: only a timeout shorter than that fails the export.
    http_receiver.reply_with(Reply(delay=3.0))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "60000")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300")
    processor = RustSpanProcessor()

    started = time.monotonic()
    assert send_spans(processor, 1) is False
    assert time.monotonic() - started < 2.5
    assert processor.stats()["failed"] == 1


def test_timeout_argument_is_in_seconds_and_beats_the_environment(http_receiver, monkeypatch):
    http_receiver.reply_with(Reply(delay=1.0))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300")

    processor = RustSpanProcessor(endpoint=http_receiver.endpoint, timeout=5)
    assert send_spans(processor, 1) is True


def test_bsp_export_timeout_also_bounds_the_export(http_receiver, monkeypatch):
    http_receiver.reply_with(Reply(delay=3.0))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.endpoint)
    monkeypatch.setenv("OTEL_BSP_EXPORT_TIMEOUT", "300")

    assert send_spans(RustSpanProcessor(), 1) is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
        ("OTEL_BSP_SCHEDULE_DELAY", "-5"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
    ],
)
def test_an_invalid_value_warns_once_naming_the_variable_and_falls_back(
    http_receiver, monkeypatch, caplog, variable, value
):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.endpoint)
    monkeypatch.setenv(variable, value)
    processor = RustSpanProcessor()

    assert len(warnings_naming(caplog, variable)) == 1
    assert send_spans(processor) is True
    assert len(http_receiver.received.spans()) == 2


def test_an_invalid_signal_protocol_falls_back_to_the_default_not_the_generic_value(monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
    processor = RustSpanProcessor()

    assert processor._core.protocol == "http/protobuf"
    assert processor._core.endpoint == "http://localhost:4318/v1/traces"
    assert len(warnings_naming(caplog, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")) == 1


def test_the_environment_is_read_when_the_processor_is_constructed(http_receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.endpoint)
    processor = RustSpanProcessor()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", NOWHERE)

    assert send_spans(processor) is True
    assert len(http_receiver.received.spans()) == 2
