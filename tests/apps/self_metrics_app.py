"""Runs under ``opentelemetry-instrument`` with the SDK's internal metrics on: ends spans,
logs records inside them and records one metric, then flushes traces, logs and metrics in
that order (so the first request is the traces one)."""

import json
import logging
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider

SPANS = int(sys.argv[1])

log = logging.getLogger("shop")
tracer = trace.get_tracer("self-metrics-test")
for number in range(SPANS):
    with tracer.start_as_current_span(f"work-{number}"):
        log.warning("step %d", number)
metrics.get_meter("self-metrics-test").create_counter("app.requests").add(SPANS)

flushed = [
    trace.get_tracer_provider().force_flush(),
    get_logger_provider().force_flush(),
    metrics.get_meter_provider().force_flush(),
]
print(json.dumps({"flushed": flushed}))
