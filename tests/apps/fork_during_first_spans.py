"""Forks repeatedly while another thread ends this process's first spans, i.e. while the
native module may be lazily initialising its cached Python objects. No child may inherit
a half-finished initialisation and deadlock on it: each ends a span, flushes and exits.

Prints the children's exit codes as JSON, ``"hang"`` for a child that had not exited
within 5 s of the last fork (it is then killed, so a hang never outlives this process).
"""

import json
import os
import signal
import threading
import time

from otel_rust_exporter import RustSpanProcessor
from providers import tracer_provider_class

FORKS = 20

processor = RustSpanProcessor(schedule_delay_millis=60_000)
provider = tracer_provider_class()(shutdown_on_exit=False)
provider.add_span_processor(processor)
tracer = provider.get_tracer("fork-race-test")
stop = threading.Event()


def end_spans_until_stopped() -> None:
    while not stop.is_set():
        with tracer.start_as_current_span("background"):
            pass


def exit_code(child: int, deadline: float) -> object:
    while True:
        reaped, status = os.waitpid(child, os.WNOHANG)
        if reaped:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return "hang"
        time.sleep(0.01)


threading.Thread(target=end_spans_until_stopped, daemon=True).start()
children = []
for _ in range(FORKS):
    child = os.fork()
    if child == 0:
        with tracer.start_as_current_span("child"):
            pass
        os._exit(0 if processor.force_flush(4_000) else 3)
    children.append(child)
deadline = time.monotonic() + 5
print(json.dumps([exit_code(child, deadline) for child in children]))
stop.set()
