"""Emits log records and spans, forks while both are queued, then each process emits its
own and exits without flushing: the at-exit shutdown must deliver each process's records
and spans exactly once, and the child must never export its inherited copy of the queues.

Prints one JSON line per process: ``{"process": "child"|"parent", ...}``.
"""

import json
import os
import sys

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustLogRecordProcessor, RustSpanProcessor

PER_PHASE = 20

log_processor = RustLogRecordProcessor(schedule_delay_millis=60_000)
logger_provider = LoggerProvider(shutdown_on_exit=False)
logger_provider.add_log_record_processor(log_processor)
logger = logger_provider.get_logger("fork-logs-test")
span_processor = RustSpanProcessor(schedule_delay_millis=60_000)
tracer_provider = TracerProvider(shutdown_on_exit=False)
tracer_provider.add_span_processor(span_processor)
tracer = tracer_provider.get_tracer("fork-logs-test")


def emit(prefix: str) -> None:
    for i in range(PER_PHASE):
        with tracer.start_as_current_span(f"{prefix}-{i}"):
            logger.emit(body=f"{prefix}-{i}")


emit("parent-before-fork")
child = os.fork()
if child == 0:
    emit("child")
    print(json.dumps({"process": "child", "stats": log_processor.stats()}), flush=True)
    sys.exit(0)

emit("parent-after-fork")
_, status = os.waitpid(child, 0)
print(json.dumps({"process": "parent", "child_exit_code": os.waitstatus_to_exitcode(status)}), flush=True)
