"""Target of the ``sls`` logs exporter entry point.

There is no stock SLS exporter to fall back to: if the native module cannot be loaded,
the entry point resolves to an exporter that drops everything, after one warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

_logger = logging.getLogger("otel_rust_exporter")


class _DisabledSLSLogExporter(LogRecordExporter):
    """Stands in for SLSLogExporter when the native module is missing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _load_log_exporter() -> type:
    try:
        from otel_sls_exporter._exporter import SLSLogExporter
    except ImportError as error:
        _logger.warning(
            "otel_rust_exporter's native module could not be loaded (%s); the sls log "
            "exporter is disabled and log records are not sent to SLS",
            error,
        )
        return _DisabledSLSLogExporter
    return SLSLogExporter


def __getattr__(name: str) -> type:
    if name == "logs_exporter":
        return _load_log_exporter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
