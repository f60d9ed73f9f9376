"""Inputs found by review at the edges: endpoints a URL parser chokes on (a password with
an unencoded ``/``, a port out of range), a mistyped ``meter_provider`` or flush timeout,
counts beyond any sane queue. None may raise into the application or show a secret."""

from __future__ import annotations

import json
import logging

import pytest
from otel_rust_exporter import RustOTLPMetricExporter, RustOTLPSpanExporter, RustSpanProcessor

from tests.apps import PYTHON, clean_env, run
from tests.support.our_logging import our_messages

BROKEN_PASSWORD_ENDPOINTS = [
    "http://user:S3CRET/XYZ@127.0.0.1:1/v1/traces",
    "http://user:S3CRET?XYZ@127.0.0.1:1/v1/traces",
    "http://user:S3CRET#XYZ@127.0.0.1:1/v1/traces",
]


@pytest.mark.parametrize("endpoint", BROKEN_PASSWORD_ENDPOINTS)
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_password_that_breaks_the_url_is_never_shown(endpoint, protocol, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    processor = RustSpanProcessor(endpoint=endpoint, protocol=protocol, schedule_delay_millis=60_000)
    exporter = RustOTLPSpanExporter(endpoint=endpoint, protocol=protocol)
    shown = [repr(processor), repr(exporter), processor._core.endpoint, caplog.text, *capfd.readouterr()]
    processor.shutdown()
    exporter.shutdown()
    for text in shown:
        assert "S3CRET" not in text and "XYZ" not in text, text


def check(*arguments: str, **variables: str):
    result = run(PYTHON, "-m", "otel_rust_exporter", "check", *arguments, env=clean_env(**variables))
    return result


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:99999/v1/traces",
        "http://127.0.0.1:abc/v1/traces",
        "http://[::1/v1/traces",
        "collector:4318/v1/traces",
        *BROKEN_PASSWORD_ENDPOINTS,
    ],
)
def test_check_diagnoses_a_malformed_endpoint_in_one_line(endpoint):
    result = check("--traces", "--json", "--timeout", "2", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=endpoint)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (target,) = json.loads(result.stdout)["targets"]
    assert "endpoint" in target["diagnosis"] and "nothing can be sent" in target["diagnosis"]
    assert "S3CRET" not in result.stdout + result.stderr


@pytest.mark.parametrize("timeout", ["nan", "-1", "inf", "1e300", "0", "soon"])
def test_check_refuses_a_meaningless_timeout_as_a_usage_error(timeout):
    result = check("--traces", "--timeout", timeout)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--timeout" in result.stderr


@pytest.mark.parametrize("make", [RustSpanProcessor, RustOTLPSpanExporter, RustOTLPMetricExporter])
def test_a_mistyped_meter_provider_costs_a_warning_not_an_exception(http_receiver, monkeypatch, caplog, make):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    component = make(endpoint=http_receiver.endpoint, meter_provider="not a meter provider")
    component.shutdown()
    warnings = our_messages(caplog, logging.WARNING)
    assert any("self-metrics are off" in warning for warning in warnings), warnings


@pytest.mark.parametrize("timeout_millis", ["soon", None, object()])
def test_force_flush_takes_any_timeout_without_raising(http_receiver, timeout_millis):
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint)
    assert processor.force_flush(timeout_millis) is True
    processor.shutdown()


@pytest.mark.parametrize("argument", ["max_queue_size", "max_export_batch_size"])
def test_counts_beyond_any_sane_queue_are_clamped_with_a_warning(http_receiver, caplog, argument):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint, **{argument: 10**12})
    processor.shutdown()
    warnings = our_messages(caplog, logging.WARNING)
    assert any(argument in warning and "16777216" in warning for warning in warnings), warnings
