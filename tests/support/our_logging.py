"""What our exporter logged: from pytest's ``caplog``, or kept by a child process."""

from __future__ import annotations

import logging
from typing import Optional

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
