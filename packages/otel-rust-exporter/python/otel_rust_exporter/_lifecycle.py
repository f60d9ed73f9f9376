"""The native module's process-wide hooks: flush and shut down every live processor at
exit (also in forked children), and report native messages through `_diagnostics`."""

from __future__ import annotations

import atexit
import os
import sys
import weakref
from typing import Protocol

from otel_rust_exporter import _diagnostics, _native

_native.set_reporter(_diagnostics.report)


class _Processor(Protocol):
    def force_flush(self, timeout_millis: int = 30000) -> bool: ...
    def shutdown(self) -> None: ...


_live_processors: weakref.WeakSet[_Processor] = weakref.WeakSet()


def track(processor: _Processor) -> None:
    """Deliver what `processor` holds when the process ends, even if nobody shuts it down."""
    _live_processors.add(processor)


def _flush_live_processors() -> None:
    for processor in list(_live_processors):
        processor.force_flush()


def _shutdown_live_processors() -> None:
    for processor in list(_live_processors):
        processor.shutdown()


# atexit runs last-registered first: shut down, then send later messages to stderr.
atexit.register(_native.mark_python_exiting)
atexit.register(_shutdown_live_processors)


class _ForkHook:
    """A weak-referenceable key for multiprocessing's after-fork registry."""


_FORK_HOOK = _ForkHook()


def _flush_when_forked_child_exits() -> None:
    # multiprocessing children leave through os._exit(), which skips atexit: they run
    # multiprocessing's exit finalizers instead. Process start-up clears those, then runs
    # the after-fork hooks, so register from there too.
    process_utilities = sys.modules.get("multiprocessing.util")
    if process_utilities is None:
        return

    def register(_: object) -> None:
        process_utilities.Finalize(None, _flush_live_processors, exitpriority=100)

    process_utilities.register_after_fork(_FORK_HOOK, register)
    register(_FORK_HOOK)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_flush_when_forked_child_exits)
