"""Ends spans, forks while they are still queued, then both processes end and flush their
own spans. The child must not export its inherited copy of the parent's queue.
``argv[1]``: ``flush`` - the child calls force_flush before exiting; ``exit`` - it relies
on the at-exit shutdown it inherited from the parent.

Prints one JSON line per process: ``{"process": "child"|"parent", ...}``.
"""

import json
import os
import sys

from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustSpanProcessor

SPANS_PER_PHASE = 20

processor = RustSpanProcessor(schedule_delay_millis=60_000)
provider = TracerProvider(shutdown_on_exit=False)
provider.add_span_processor(processor)
tracer = provider.get_tracer("fork-test")


def end_spans(prefix: str) -> None:
    for i in range(SPANS_PER_PHASE):
        with tracer.start_as_current_span(f"{prefix}-{i}"):
            pass


def report(process: str, **fields) -> None:
    print(json.dumps({"process": process, "stats": processor.stats(), **fields}), flush=True)


end_spans("parent-before-fork")
child = os.fork()
if child == 0:
    end_spans("child")
    report("child", flushed=processor.force_flush(10_000) if sys.argv[1] == "flush" else None)
    # A normal exit, so the at-exit shutdown inherited from the parent runs here too.
    sys.exit(0)

end_spans("parent-after-fork")
flushed = processor.force_flush(10_000)
_, status = os.waitpid(child, 0)
report("parent", flushed=flushed, child_exit_code=os.waitstatus_to_exitcode(status))
