"""Runs under ``opentelemetry-instrument``: ends ``WORKLOAD_SPANS`` spans as fast as it can
through the global tracer provider, then prints the processor's counters (JSON)."""

import json
import os
from typing import cast

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustSpanProcessor

provider = cast(TracerProvider, trace.get_tracer_provider())  # as opentelemetry-instrument set it
tracer = provider.get_tracer("burst")
for i in range(int(os.environ["WORKLOAD_SPANS"])):
    with tracer.start_as_current_span(f"burst-{i}"):
        pass
(processor,) = provider._active_span_processor._span_processors
print(json.dumps(cast(RustSpanProcessor, processor).stats()))
