"""The SLS OTLP preset: ``SLS_OTEL_*`` variables send every OTLP signal to SLS's OTLP
endpoint (gRPC, gzip) with the ``x-sls-otel-*`` headers, under explicit OTLP settings."""

from __future__ import annotations

import logging

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustSpanProcessor
from otel_rust_exporter._logs import RustLogRecordProcessor

SECRET = "preset-secret-Zq81,x%y"
KEY_ID = "LTAI5tPresetKeyId"


def preset_env(monkeypatch, receiver) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    address = receiver.endpoint.removeprefix("http://")
    monkeypatch.setenv("SLS_OTEL_INSTANCE_ID", "shop-instance")
    monkeypatch.setenv("SLS_OTEL_PROJECT", "shop-project")
    monkeypatch.setenv("SLS_OTEL_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("SLS_OTEL_ACCESS_KEY_SECRET", SECRET)
    monkeypatch.setenv("OTEL_EXPORTER_SLS_ENDPOINT", "cn-hangzhou.log.aliyuncs.com")
    for signal in ("TRACE", "LOG"):
        monkeypatch.setenv(f"SLS_OTEL_{signal}_ENDPOINT", address)
        monkeypatch.setenv(f"SLS_OTEL_{signal}_INSECURE", "true")


def assert_sls_headers(headers: dict) -> None:
    assert headers["x-sls-otel-project"] == "shop-project"
    assert headers["x-sls-otel-instance-id"] == "shop-instance"
    assert headers["x-sls-otel-ak-id"] == KEY_ID
    assert headers["x-sls-otel-ak-secret"] == SECRET


def test_traces_and_logs_go_over_grpc_with_the_sls_headers(monkeypatch, grpc_receiver, caplog):
    preset_env(monkeypatch, grpc_receiver)
    with caplog.at_level(logging.DEBUG):
        spans = RustSpanProcessor()
        provider = TracerProvider()
        provider.add_span_processor(spans)
        provider.get_tracer("preset").start_span("checkout").end()
        assert spans.force_flush()

        logs = RustLogRecordProcessor()
        logger_provider = LoggerProvider(shutdown_on_exit=False)
        logger_provider.add_log_record_processor(logs)
        from opentelemetry._logs import LogRecord

        logger_provider.get_logger("preset").emit(LogRecord(body="hello"))
        assert logs.force_flush()

    assert repr(spans) == f"RustSpanProcessor(endpoint={grpc_receiver.endpoint!r}, protocol='grpc')"
    [span_headers] = grpc_receiver.received.headers
    assert_sls_headers(span_headers)
    [log_headers] = grpc_receiver.logs.headers
    assert_sls_headers(log_headers)
    shown = caplog.text + repr(spans) + repr(logs)
    assert SECRET not in shown and KEY_ID not in shown
    spans.shutdown()
    logger_provider.shutdown()


def test_explicit_otlp_settings_win_over_the_preset(monkeypatch, grpc_receiver, http_receiver):
    preset_env(monkeypatch, grpc_receiver)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.endpoint_for("traces"))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-team=payments")
    spans = RustSpanProcessor()
    provider = TracerProvider()
    provider.add_span_processor(spans)
    provider.get_tracer("preset").start_span("checkout").end()
    assert spans.force_flush()
    assert grpc_receiver.received.headers == []
    [headers] = http_receiver.received.headers
    assert headers["x-team"] == "payments"
    assert headers["x-sls-otel-instance-id"] == "shop-instance"
    spans.shutdown()


def test_an_incomplete_preset_names_what_is_missing(monkeypatch, caplog):
    monkeypatch.setenv("SLS_OTEL_INSTANCE_ID", "shop-instance")
    monkeypatch.setenv("SLS_OTEL_PROJECT", "shop-project")
    for name in (
        "SLS_OTEL_ACCESS_KEY_ID",
        "SLS_OTEL_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING, logger="otel_rust_exporter"):
        spans = RustSpanProcessor()
    assert (
        repr(spans)
        == "RustSpanProcessor(endpoint='http://localhost:4318/v1/traces', protocol='http/protobuf')"
    )
    # Once per process, so this is the only test that leaves the preset incomplete.
    assert caplog.messages == [
        "the SLS OTLP preset (SLS_OTEL_INSTANCE_ID is set) is not applied: set "
        "SLS_OTEL_ACCESS_KEY_ID, SLS_OTEL_ACCESS_KEY_SECRET"
    ]
    spans.shutdown()
