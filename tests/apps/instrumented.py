"""Runs under ``opentelemetry-instrument``: ends the workload's spans through the global
tracer provider and prints (as JSON) which span processors and threads the SDK set up."""

import json
import threading
from typing import cast

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from workload import emit_spans

provider = cast(TracerProvider, trace.get_tracer_provider())  # as opentelemetry-instrument set it
emit_spans(provider.get_tracer("autoinstrument-test", "1.2.3"))
report = {
    "provider": type(provider).__name__,
    "processors": [
        type(processor).__name__ for processor in provider._active_span_processor._span_processors
    ],
    "threads": sorted(thread.name for thread in threading.enumerate()),
    "flushed": provider.force_flush(10_000),
}
print(json.dumps(report))
