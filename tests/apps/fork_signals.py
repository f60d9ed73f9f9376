"""Ends spans (with ``logs``, emitting a log record inside each), forks while they are still
queued, then each process ends its own. The child must never export its inherited copy of
the parent's queues, and each process's own spans and records are delivered exactly once.

``argv[1]``: ``spans`` or ``logs``. ``argv[2]`` and ``argv[3]``: how the child and the parent
deliver: ``flush`` - force_flush before exiting; ``exit`` - only the at-exit shutdown (the
child's inherited from the parent).

Prints one JSON line per process: ``{"process": "child"|"parent", "flushed": ..., "stats":
{"spans": ..., "logs": ...}, ...}``.
"""

import json
import os
import sys

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustLogRecordProcessor, RustSpanProcessor

PER_PHASE = 20
with_logs = sys.argv[1] == "logs"
child_delivers_by, parent_delivers_by = sys.argv[2], sys.argv[3]

processors: dict = {"spans": RustSpanProcessor(schedule_delay_millis=60_000)}
tracer_provider = TracerProvider(shutdown_on_exit=False)
tracer_provider.add_span_processor(processors["spans"])
tracer = tracer_provider.get_tracer("fork-test")
if with_logs:
    processors["logs"] = RustLogRecordProcessor(schedule_delay_millis=60_000)
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(processors["logs"])
    logger = logger_provider.get_logger("fork-test")


def emit(prefix: str) -> None:
    for i in range(PER_PHASE):
        with tracer.start_as_current_span(f"{prefix}-{i}"):
            if with_logs:
                logger.emit(body=f"{prefix}-{i}")


def deliver(delivers_by: str):
    if delivers_by == "exit":
        return None
    return all([processor.force_flush(10_000) for processor in processors.values()])


def report(process: str, **fields) -> None:
    stats = {signal: processor.stats() for signal, processor in processors.items()}
    print(json.dumps({"process": process, "stats": stats, **fields}), flush=True)


emit("parent-before-fork")
child = os.fork()
if child == 0:
    emit("child")
    report("child", flushed=deliver(child_delivers_by))
    # A normal exit, so the at-exit shutdown inherited from the parent runs here too.
    sys.exit(0)

emit("parent-after-fork")
flushed = deliver(parent_delivers_by)
_, status = os.waitpid(child, 0)
report("parent", flushed=flushed, child_exit_code=os.waitstatus_to_exitcode(status))
