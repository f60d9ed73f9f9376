"""Runs under ``opentelemetry-instrument``: ends ``WORKLOAD_SPANS`` spans as fast as it can
through the global tracer provider, then prints the processor's counters (JSON)."""

import json
import os

from opentelemetry import trace

provider = trace.get_tracer_provider()
tracer = provider.get_tracer("burst")
for i in range(int(os.environ["WORKLOAD_SPANS"])):
    with tracer.start_as_current_span(f"burst-{i}"):
        pass
(processor,) = provider._active_span_processor._span_processors
print(json.dumps(processor.stats()))
