"""Logs through the standard ``logging`` module under ``opentelemetry-instrument``, one line
inside a span, then exits without flushing: delivery at exit is the exporter's job.
Prints the log record processors that auto-configuration installed, as JSON."""

import json
import logging
from typing import cast

from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk._logs import LoggerProvider

logger = logging.getLogger("shop.app")
logger.setLevel(logging.INFO)
tracer = trace.get_tracer("shop")

with tracer.start_as_current_span("order") as span:
    logger.info("order placed ✓", extra={"order.id": 7})
    context = span.get_span_context()
logger.warning("after the span")

provider = cast(LoggerProvider, get_logger_provider())  # as opentelemetry-instrument set it
processors = provider._multi_log_record_processor._log_record_processors
print(
    json.dumps(
        {
            "processors": [type(processor).__name__ for processor in processors],
            "trace_id": trace.format_trace_id(context.trace_id),
        }
    )
)
