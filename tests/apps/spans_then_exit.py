"""Ends ``argv[1]`` spans and exits without flushing or shutting down: the processor's
at-exit hook must deliver them (the schedule delay is far longer than the run)."""

import sys

from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustSpanProcessor

# Without the SDK's own at-exit shutdown, only the processor's at-exit hook can deliver.
provider = TracerProvider(shutdown_on_exit=False)
provider.add_span_processor(RustSpanProcessor(schedule_delay_millis=60_000))
tracer = provider.get_tracer("at-exit-test")
for i in range(int(sys.argv[1])):
    with tracer.start_as_current_span(f"span-{i}"):
        pass
