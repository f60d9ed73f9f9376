"""Configuration at the edges of every type: no value, from a constructor or from the
environment, raises into the application, panics or aborts the process. An unusable value
gets one warning naming the setting; a too-large duration is clamped (1 h)."""

import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import (
    RustLogRecordProcessor,
    RustOTLPLogExporter,
    RustOTLPMetricExporter,
    RustOTLPSpanExporter,
    RustSpanProcessor,
)

from tests.apps import PYTHON, clean_env, run
from tests.support.delivery import end_spans
from tests.support.our_logging import our_messages

pytestmark = pytest.mark.timeout(120)

# (argument, value, whether a warning must name the argument)
HOSTILE_ARGUMENTS = [
    ("timeout", 1e30, True),
    ("timeout", float("inf"), True),
    ("timeout", 10**400, True),
    ("timeout", float("nan"), True),
    ("timeout", -1, True),
    ("timeout", "10", True),
    ("timeout", True, True),
    ("schedule_delay_millis", 1e300, True),
    ("export_timeout_millis", 1e300, True),
    ("export_timeout_millis", float("-inf"), True),
    ("max_queue_size", 10**12, True),
    ("max_queue_size", 10**30, True),
    ("max_queue_size", -1, True),
    ("max_queue_size", 0, True),
    ("max_queue_size", 1.5, True),
    ("max_queue_size", "100", True),
    ("max_queue_bytes", 10**30, False),
    ("max_queue_bytes", -5, True),
    ("max_export_batch_size", 10**30, True),
    ("max_export_batch_size", object(), True),
    ("headers", 5, True),
    ("headers", "api-key=secret", True),
    ("headers", [("only-a-name",)], False),
    ("insecure", "yes", True),
    ("compression", 5, True),
    ("compression", "brotli", True),
    ("protocol", "http/json", True),
    ("certificate_file", b"/etc/ca.pem", True),
]


@pytest.mark.parametrize(("argument", "value", "warns"), HOSTILE_ARGUMENTS)
def test_hostile_processor_arguments_never_raise_and_spans_still_flow(
    http_receiver, caplog, argument, value, warns
):
    caplog.set_level(logging.WARNING, logger="otel_rust_exporter")
    processor = RustSpanProcessor(endpoint=http_receiver.endpoint, **{argument: value})
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    end_spans(provider.get_tracer("edges"), 3)
    assert processor.force_flush(10_000) is True
    assert len(http_receiver.received.spans()) == 3
    processor.shutdown()
    if warns:
        warnings = our_messages(caplog, logging.WARNING)
        assert any(argument in warning for warning in warnings), warnings
        assert not any(repr(value) in warning for warning in warnings if argument == "headers")


# Deliberately mistyped: what an application may pass whatever the annotations say.
@pytest.mark.parametrize(
    "make",
    [
        lambda endpoint: RustOTLPSpanExporter(endpoint=endpoint, timeout=1e30, headers=7),  # type: ignore[arg-type]
        lambda endpoint: RustOTLPLogExporter(endpoint=endpoint, timeout=float("inf"), insecure=3),  # type: ignore[arg-type]
        lambda endpoint: RustOTLPMetricExporter(endpoint=endpoint, timeout=1e300, max_export_batch_size=-3),
        lambda endpoint: RustLogRecordProcessor(endpoint=endpoint, max_queue_size=10**40, timeout="x"),  # type: ignore[arg-type]
    ],
    ids=["span exporter", "log exporter", "metric exporter", "log processor"],
)
def test_every_class_accepts_hostile_arguments(http_receiver, make):
    component = make(http_receiver.endpoint)
    component.shutdown()


# Each of these, before, raised PanicException into the application or aborted it.
HOSTILE_ENVIRONMENTS = [
    {"OTEL_EXPORTER_OTLP_TIMEOUT": "1e30"},
    {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "inf"},
    {"OTEL_BSP_SCHEDULE_DELAY": "1e300"},
    {"OTEL_BSP_EXPORT_TIMEOUT": "1e300"},
    {"OTEL_BSP_MAX_QUEUE_SIZE": "1000000000000"},
    {"OTEL_BSP_MAX_QUEUE_SIZE": "99999999999999999999999"},
    {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1000000000000"},
    {"OTEL_BSP_MAX_CONCURRENT_EXPORTS": "10000000000000"},
    {"OTEL_RUST_EXPORTER_MAX_QUEUE_BYTES": "-1"},
    {"OTEL_RUST_EXPORTER_MAX_QUEUE_BYTES": "99999999999999999999999"},
]

ENVIRONMENT_APP = """
import json, sys
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustSpanProcessor
from tests.support.our_logging import keep_our_records

kept = keep_our_records()
processor = RustSpanProcessor()
provider = TracerProvider(shutdown_on_exit=False)
provider.add_span_processor(processor)
for i in range(3):
    with provider.get_tracer("env").start_as_current_span(f"span-{i}"):
        pass
flushed = processor.force_flush(10_000)
processor.shutdown()
print(json.dumps({"flushed": flushed, "warnings": [record.getMessage() for record in kept]}))
"""


@pytest.mark.parametrize(
    "variables", HOSTILE_ENVIRONMENTS, ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items())
)
def test_hostile_environment_values_never_panic_or_abort(http_receiver, variables):
    env = clean_env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http_receiver.endpoint, **variables)
    result = run(PYTHON, "-c", ENVIRONMENT_APP, env=env)
    assert result.returncode == 0, result.stderr
    assert "panic" not in result.stderr.lower()
    report = json.loads(result.stdout)
    assert report["flushed"] is True, report
    assert len(http_receiver.received.spans()) == 3
    (name,) = variables
    assert any(name in warning for warning in report["warnings"]), report["warnings"]
