"""What our exporter logged: from pytest's ``caplog``, or kept by a child process; and the
SDK's handler on the root logger, which would feed our own records back to our processor."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler

OUR_LOGGER = "otel_rust_exporter"


def our_records(caplog, level: Optional[int] = None) -> list[logging.LogRecord]:
    """The records our logger wrote into ``caplog``; only those at ``level`` when given."""
    return [
        record
        for record in caplog.records
        if record.name == OUR_LOGGER and (level is None or record.levelno == level)
    ]


def our_messages(caplog, level: int) -> list[str]:
    return [record.getMessage() for record in our_records(caplog, level)]


def keep_our_records() -> list[logging.LogRecord]:
    """Every record our logger writes from now on, for a child process (which has no
    ``caplog``) to report."""
    kept: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    logging.getLogger(OUR_LOGGER).addHandler(Keep())
    return kept


@contextmanager
def root_logs_exported_through(processor) -> Iterator[LoggerProvider]:
    """Every stdlib record goes to ``processor`` through the SDK's ``LoggingHandler`` on the
    root logger, as logging auto-instrumentation sets it up; on leaving, the handler is
    removed and the provider shut down."""
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    handler = LoggingHandler(logger_provider=provider)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield provider
    finally:
        root.removeHandler(handler)
        provider.shutdown()
