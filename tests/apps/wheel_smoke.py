"""Runs under ``opentelemetry-instrument`` in a virtualenv that has only the built wheels and
the SDK: spans, a log record and a metric through the global providers, then a fork whose
child does the same and exits (not on Windows, which cannot fork), then the parent again.
Neither process shuts anything down: what they recorded must reach the receiver through the
exporters' own exit handling.

Prints one JSON report per process on stdout.
"""

import json
import logging
import os
import sys
import threading
from importlib import metadata
from typing import cast

import otel_rust_exporter
import otel_sls_exporter
from opentelemetry import metrics, trace
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import _native


def work(process: str) -> None:
    tracer = trace.get_tracer("wheel-smoke")
    with tracer.start_as_current_span(f"{process}-outer"), tracer.start_as_current_span(f"{process}-inner"):
        logging.getLogger("wheel-smoke").warning("%s-log", process)
    metrics.get_meter("wheel-smoke").create_counter("wheel.smoke.runs").add(1, {"process": process})


def report(process: str, **extra: object) -> None:
    provider = cast(TracerProvider, trace.get_tracer_provider())  # as opentelemetry-instrument set it
    print(
        json.dumps(
            {
                "process": process,
                "native": _native.__file__,
                "version": otel_rust_exporter.__version__,
                "sls_version": otel_sls_exporter.__version__,
                "sdk_version": metadata.version("opentelemetry-sdk"),
                "span_processors": [
                    type(processor).__name__ for processor in provider._active_span_processor._span_processors
                ],
                "threads": sorted(thread.name for thread in threading.enumerate()),
                **extra,
            }
        ),
        flush=True,
    )


work("parent-before-fork")
child_exit_code = None
if hasattr(os, "fork"):
    child = os.fork()
    if child == 0:
        work("child")
        report("child")
        sys.exit(0)
    _, status = os.waitpid(child, 0)
    child_exit_code = os.waitstatus_to_exitcode(status)
work("parent-after-fork")
report("parent", child_exit_code=child_exit_code)
