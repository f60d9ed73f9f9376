"""OpenTelemetry SDK plugins whose batching, OTLP encoding and transport run in Rust.

``RustSpanProcessor`` replaces ``BatchSpanProcessor`` + ``OTLPSpanExporter`` and
``RustLogRecordProcessor`` replaces ``BatchLogRecordProcessor`` + ``OTLPLogExporter``;
``RustOTLPSpanExporter`` and ``RustOTLPLogExporter`` are the exporters alone, for
processors you compose yourself. With ``opentelemetry-instrument``, set
``OTEL_TRACES_EXPORTER=rust_otlp`` and ``OTEL_LOGS_EXPORTER=rust_otlp``.
``RustOTLPMetricExporter`` is the metric exporter (``OTEL_METRICS_EXPORTER=rust_otlp``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otel_rust_exporter._logs import RustLogRecordProcessor, RustOTLPLogExporter
    from otel_rust_exporter._metrics import RustOTLPMetricExporter
    from otel_rust_exporter._trace import RustOTLPSpanExporter, RustSpanProcessor

_MODULES = {
    "RustOTLPSpanExporter": "_trace",
    "RustSpanProcessor": "_trace",
    "RustOTLPLogExporter": "_logs",
    "RustLogRecordProcessor": "_logs",
    "RustOTLPMetricExporter": "_metrics",
}
__all__ = [
    "RustLogRecordProcessor",
    "RustOTLPLogExporter",
    "RustOTLPMetricExporter",
    "RustOTLPSpanExporter",
    "RustSpanProcessor",
]
# Read on first use: importing importlib.metadata costs ~10 ms.
__version__: str


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that the entry points can still fall back to the stock
    # exporters when the native module is missing.
    if name in _MODULES:
        module = importlib.import_module(f"otel_rust_exporter.{_MODULES[name]}")
        return getattr(module, name)
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _installed_version() -> str:
    """The installed distribution's, so that it cannot disagree with the package metadata."""
    from importlib import metadata

    try:
        return metadata.version("otel-rust-exporter")
    except metadata.PackageNotFoundError:  # bundled without its metadata (e.g. PyInstaller)
        return "0+unknown"
