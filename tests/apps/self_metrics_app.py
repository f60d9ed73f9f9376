"""Runs under ``opentelemetry-instrument`` with the SDK's internal metrics on: ends spans,
logs records inside them and records one metric, then flushes traces, logs and metrics in
that order (so the first request is the traces one)."""

import json
import logging
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

SPANS = int(sys.argv[1])

log = logging.getLogger("shop")
tracer = trace.get_tracer("self-metrics-test")
for number in range(SPANS):
    with tracer.start_as_current_span(f"work-{number}"):
        log.warning("step %d", number)
metrics.get_meter("self-metrics-test").create_counter("app.requests").add(SPANS)

# opentelemetry-instrument made the SDK's providers.
tracer_provider, logger_provider, meter_provider = (
    trace.get_tracer_provider(),
    get_logger_provider(),
    metrics.get_meter_provider(),
)
assert isinstance(tracer_provider, TracerProvider)
assert isinstance(logger_provider, LoggerProvider)
assert isinstance(meter_provider, MeterProvider)
flushed = [tracer_provider.force_flush(), logger_provider.force_flush(), meter_provider.force_flush()]
print(json.dumps({"flushed": flushed}))
