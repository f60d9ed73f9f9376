"""A job exporting spans, log records and metric points through the disk spool; endpoint,
protocol and spool directory come from the ``OTEL_*`` variables.

``spool_job.py LABEL SPANS LOGS POINTS [--rate N] [--linger S] [--forever] [--fork N]``:
ends SPANS spans named ``LABEL-span-i`` (at N per second with ``--rate``), emits LOGS log
records ``LABEL-log-i`` and records POINTS counter points (attribute ``n``: ``LABEL-i``),
sleeps S seconds, shuts everything down and prints ``{"traces": stats, "logs": stats,
"metrics": stats, "seconds": shutdown seconds}`` as JSON. ``--forever`` ends spans until
killed, printing ``ended N`` every 500. ``--fork N`` forks N children first; every process
(each replaying what it claims) then runs the job with ``LABEL-<pid>``.
"""

import json
import os
import sys
import time

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustLogRecordProcessor, RustOTLPMetricExporter, RustSpanProcessor


def option(name: str, default: float) -> float:
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


label = sys.argv[1]
spans, logs, points = (int(count) for count in sys.argv[2:5])
rate = option("--rate", 0)
linger = option("--linger", 0)

span_processor = RustSpanProcessor()
tracer_provider = TracerProvider(shutdown_on_exit=False)
tracer_provider.add_span_processor(span_processor)
log_processor = RustLogRecordProcessor()
logger_provider = LoggerProvider(shutdown_on_exit=False)
logger_provider.add_log_record_processor(log_processor)
metric_exporter = RustOTLPMetricExporter()
meter_provider = MeterProvider(
    [PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)],
    shutdown_on_exit=False,
)

children: list[int] = []
for _ in range(int(option("--fork", 0))):
    child = os.fork()
    if child == 0:
        children = []
        label = f"{label}-{os.getpid()}"
        break
    children.append(child)

# A forked child's first call replaces its inherited pipelines, starting its own replay.
span_processor.stats(), log_processor.stats(), metric_exporter._core.stats()

tracer = tracer_provider.get_tracer("spool-job")
logger = logger_provider.get_logger("spool-job")
counter = meter_provider.get_meter("spool-job").create_counter("spool.job.points")

if "--forever" in sys.argv:
    ended = 0
    while True:
        with tracer.start_as_current_span(f"{label}-span-{ended}"):
            pass
        ended += 1
        if ended % 500 == 0:
            print(f"ended {ended}", flush=True)
        time.sleep(1 / rate if rate else 0)

start = time.monotonic()
for i in range(spans):
    with tracer.start_as_current_span(f"{label}-span-{i}"):
        pass
    if rate:
        # Paced against the clock, so a slow moment does not lower the rate overall.
        ahead = start + (i + 1) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
for i in range(logs):
    logger.emit(body=f"{label}-log-{i}")
for i in range(points):
    counter.add(1, {"n": f"{label}-{i}"})
time.sleep(linger)

stopping = time.monotonic()
tracer_provider.shutdown()
logger_provider.shutdown()
meter_provider.shutdown()
report = {
    "traces": span_processor.stats(),
    "logs": log_processor.stats(),
    "metrics": metric_exporter._core.stats(),
    "seconds": time.monotonic() - stopping,
}
for child in children:
    os.waitpid(child, 0)
# One write: forked processes share the pipe, and a pipe write this short is atomic.
os.write(1, (json.dumps(report) + "\n").encode())
