"""Runs under ``opentelemetry-instrument`` with logging auto-instrumentation: logs through
stdlib ``logging`` inside and outside spans, with bodies of every type, and prints (as JSON)
the log processors and threads the SDK set up."""

import json
import logging
import threading
from typing import cast

from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider

BODIES = {
    "str": "order %s paid",
    "int": 42,
    "float": 2.5,
    "bool": True,
    "bytes": b"\x00\xff",
    "list": ["a", 1, 2.5],
    "dict": {"event": "paid", "order": {"id": 17, "items": ["x", "y"]}},
}

log = logging.getLogger("shop.checkout")
log.setLevel(logging.DEBUG)
tracer = trace.get_tracer("autoinstrument-logs-test")

log.info("before any span")
with tracer.start_as_current_span("checkout") as outer:
    log.warning("order %s paid", "o-17", extra={"order.id": "o-17", "amount": 9.5})
    with tracer.start_as_current_span("charge"):
        for kind, body in BODIES.items():
            if kind != "str":
                log.error(body, extra={"body.kind": kind})
    try:
        raise RuntimeError("card declined")
    except RuntimeError:
        log.exception("charge failed")
log.debug("after the spans")

# The providers opentelemetry-instrument set.
logger_provider = cast(LoggerProvider, get_logger_provider())
report = {
    "log_processors": [
        type(processor).__name__
        for processor in logger_provider._multi_log_record_processor._log_record_processors
    ],
    "threads": sorted(thread.name for thread in threading.enumerate()),
    "tracer_provider": type(trace.get_tracer_provider()).__name__,
    "logs_flushed": logger_provider.force_flush(10_000),
    "traces_flushed": cast(TracerProvider, trace.get_tracer_provider()).force_flush(10_000),
}
print(json.dumps(report))
