"""A pure-Python thread that keeps counting only while nobody holds the GIL, and a reply
slow enough for it to count during an export."""

from __future__ import annotations

import threading

from tests.support.otlp_receivers import Reply

SLOW_REPLY = Reply(delay=1.0)


class Counter:
    """Counts in Python until stopped, as the probe thread of the benchmark does."""

    def __init__(self) -> None:
        self.count = 0
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while self._running:
            self.count += 1

    def __enter__(self) -> Counter:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._running = False
        self._thread.join()
