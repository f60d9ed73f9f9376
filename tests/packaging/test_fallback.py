"""When the native module cannot be imported, ``rust_otlp`` must still export: the entry
point resolves to the stock OTLP exporter of the configured protocol, with one warning; and
native spans, however they were asked for, resolve to the SDK's provider with one warning."""

import json

import pytest

from tests.apps import PYTHON, app, exporter_env, run

STOCK_EXPORTERS = {
    "http/protobuf": "opentelemetry.exporter.otlp.proto.http.trace_exporter.OTLPSpanExporter",
    "grpc": "opentelemetry.exporter.otlp.proto.grpc.trace_exporter.OTLPSpanExporter",
}
# The workload ends two traces of two spans; with the default sampler all are kept.
WORKLOAD_SPANS = 4


def run_blocked(mode: str, receiver, **variables: str):
    env = exporter_env(receiver.endpoint, receiver.protocol, **variables)
    result = run(PYTHON, app("native_blocked.py"), mode, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr.splitlines()


def our_warnings(stderr_lines: list) -> list:
    return [line for line in stderr_lines if line.startswith("LOG WARNING otel_rust_exporter:")]


def test_entry_point_resolves_to_the_stock_exporter_of_the_configured_protocol(receiver):
    report, stderr = run_blocked("entry-point", receiver)

    assert report["exporter"] == STOCK_EXPORTERS[receiver.protocol]
    assert report["flushed"] is True
    assert len(receiver.received.wait_for_spans(WORKLOAD_SPANS)) == WORKLOAD_SPANS
    assert len(our_warnings(stderr)) == 1, stderr
    assert "native" in our_warnings(stderr)[0]


@pytest.mark.parametrize("configurator", [None, "rust_otlp"])
def test_auto_instrumentation_keeps_exporting_through_the_stock_exporter(receiver, configurator):
    variables = {
        "OTEL_TRACES_EXPORTER": "rust_otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    if configurator:
        variables["OTEL_PYTHON_CONFIGURATOR"] = configurator
    report, stderr = run_blocked("instrument", receiver, **variables)

    # Configuration must not have failed: a failure leaves the API's proxy provider.
    assert report["provider"] == "TracerProvider", stderr
    assert report["flushed"] is True
    assert len(receiver.received.wait_for_spans(WORKLOAD_SPANS)) == WORKLOAD_SPANS
    assert len(our_warnings(stderr)) == 1, stderr
    assert not [line for line in stderr if line.startswith("LOG ERROR")], stderr


def test_native_spans_under_auto_instrumentation_fall_back_to_the_sdks_provider(receiver):
    variables = {
        "OTEL_PYTHON_CONFIGURATOR": "rust_otlp",
        "OTEL_RUST_EXPORTER_NATIVE_SPANS": "true",
        "OTEL_TRACES_EXPORTER": "rust_otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    report, stderr = run_blocked("instrument", receiver, **variables)

    assert report["provider"] == "TracerProvider", stderr
    assert report["flushed"] is True
    assert len(receiver.received.wait_for_spans(WORKLOAD_SPANS)) == WORKLOAD_SPANS
    # One for the exporter, one for the spans: each names what fell back.
    warnings = our_warnings(stderr)
    assert len(warnings) == 2, stderr
    assert sum("native spans fall back to the SDK's TracerProvider" in line for line in warnings) == 1
    assert not [line for line in stderr if line.startswith("LOG ERROR")], stderr


def test_the_rust_tracer_provider_entry_point_falls_back_to_the_sdks_provider(http_receiver):
    report, stderr = run_blocked("tracer-provider", http_receiver, OTEL_PYTHON_TRACER_PROVIDER="rust")

    assert report["provider"] == "TracerProvider", stderr
    assert report["flushed"] is True
    assert len(http_receiver.received.wait_for_spans(WORKLOAD_SPANS)) == WORKLOAD_SPANS
    assert len(our_warnings(stderr)) == 1, stderr
    assert "native spans fall back to the SDK's TracerProvider" in our_warnings(stderr)[0]


STOCK_LOG_EXPORTERS = {
    "http/protobuf": "opentelemetry.exporter.otlp.proto.http._log_exporter.OTLPLogExporter",
    "grpc": "opentelemetry.exporter.otlp.proto.grpc._log_exporter.OTLPLogExporter",
}


def test_logs_entry_point_resolves_to_the_stock_log_exporter_of_the_configured_protocol(receiver):
    report, stderr = run_blocked(
        "logs-entry-point", receiver, OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=receiver.protocol
    )

    assert report["exporter"] == STOCK_LOG_EXPORTERS[receiver.protocol]
    assert report["flushed"] is True
    assert len(receiver.logs.wait_for_log_records(3)) == 3
    assert len(our_warnings(stderr)) == 1, stderr
