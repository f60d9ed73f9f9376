"""Where our warnings go: the logger ``otel_rust_exporter``, and stderr when nothing would
show that logger's records to a person.

Under ``opentelemetry-instrument`` with logging auto-instrumentation, the only handler on
the root logger is the SDK's ``LoggingHandler``, which exports records but never shows
them (and leaves ours out, so export problems cannot feed on themselves). A drop or an
export failure would then be invisible; in that case we also write it to stderr,
rate-limited. Add any handler of your own to ``otel_rust_exporter`` (or the root logger),
or set that logger's level, and we stay out of stderr.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

LOGGER_NAME = "otel_rust_exporter"
_logger = logging.getLogger(LOGGER_NAME)

# At most this many lines per minute on stderr; the rest are counted.
_STDERR_LINES_PER_MINUTE = 10


class _StderrBudget:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window_start = 0.0
        self._used = 0
        self._held_back = 0

    def admit(self) -> tuple[bool, int]:
        """Whether a line may be written now, and how many were held back before it."""
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= 60:
                self._window_start, self._used = now, 0
            if self._used >= _STDERR_LINES_PER_MINUTE:
                self._held_back += 1
                return False, 0
            self._used += 1
            held_back, self._held_back = self._held_back, 0
            return True, held_back


_budget = _StderrBudget()


def _is_opentelemetry_handler(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("opentelemetry")


def shown_to_a_person(level: int) -> bool:
    """Whether a record of ours at ``level`` reaches a handler that is not OpenTelemetry's
    (or ``logging.lastResort``, which prints to stderr when there are no handlers)."""
    if not _logger.isEnabledFor(level):
        return True  # silenced on purpose
    logger: logging.Logger | None = _logger
    any_handler = False
    while logger is not None:
        for handler in logger.handlers:
            any_handler = True
            if level >= handler.level and not _is_opentelemetry_handler(handler):
                return True
        if not logger.propagate:
            break
        logger = logger.parent
    if any_handler:
        return False
    return logging.lastResort is not None and level >= logging.lastResort.level


def report(level: int, message: str) -> None:
    """Logs one of our messages, and writes it to stderr when no one would see it."""
    try:
        _logger.log(level, message)
        if shown_to_a_person(level):
            return
        admitted, held_back = _budget.admit()
        if admitted:
            suffix = f" ({held_back} more lines held back)" if held_back else ""
            sys.stderr.write(f"{LOGGER_NAME}: {logging.getLevelName(level)}: {message}{suffix}\n")
    except Exception:
        pass


def warn(message: str) -> None:
    report(logging.WARNING, message)
