"""A ``multiprocessing`` pool with the "fork" start method: every worker ends its own spans
while the parent's spans are still queued.

``argv[1]``: ``flush`` - each task calls force_flush; ``exit`` - tasks do not flush, and
the workers (which leave through os._exit, skipping atexit) must deliver as they exit.
Prints ``{"task_flushes": [...], "parent_flushed": bool}`` as JSON.
"""

import json
import multiprocessing
import sys

from otel_rust_exporter import RustSpanProcessor
from providers import tracer_provider_class

TASKS = 6
SPANS_PER_TASK = 5

processor = RustSpanProcessor(schedule_delay_millis=60_000)
provider = tracer_provider_class()(shutdown_on_exit=False)
provider.add_span_processor(processor)
tracer = provider.get_tracer("pool-test")


def end_spans(prefix: str, count: int) -> None:
    for i in range(count):
        with tracer.start_as_current_span(f"{prefix}-{i}"):
            pass


def task(number: int, flush: bool):
    end_spans(f"task-{number}", SPANS_PER_TASK)
    return processor.force_flush(10_000) if flush else None


if __name__ == "__main__":
    flush = sys.argv[1] == "flush"
    end_spans("parent-before-pool", 10)
    pool = multiprocessing.get_context("fork").Pool(2)
    task_flushes = pool.starmap(task, [(number, flush) for number in range(TASKS)])
    # close + join lets the workers exit normally (leaving the with-block would kill them).
    pool.close()
    pool.join()
    end_spans("parent-after-pool", 10)
    print(json.dumps({"task_flushes": task_flushes, "parent_flushed": processor.force_flush(10_000)}))
