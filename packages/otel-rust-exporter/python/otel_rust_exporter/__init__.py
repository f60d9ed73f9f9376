"""OpenTelemetry SDK plugins whose batching, OTLP encoding and transport run in Rust.

``RustSpanProcessor`` replaces ``BatchSpanProcessor`` + ``OTLPSpanExporter``;
``RustOTLPSpanExporter`` is the exporter alone, for processors you compose yourself.
With ``opentelemetry-instrument``, set ``OTEL_TRACES_EXPORTER=rust_otlp``.
``RustOTLPMetricExporter`` is the metric exporter (``OTEL_METRICS_EXPORTER=rust_otlp``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otel_rust_exporter._metrics import RustOTLPMetricExporter
    from otel_rust_exporter._trace import RustOTLPSpanExporter, RustSpanProcessor

__all__ = ["RustOTLPMetricExporter", "RustOTLPSpanExporter", "RustSpanProcessor"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that the entry points can still fall back to the stock
    # exporters when the native module is missing.
    if name == "RustOTLPMetricExporter":
        from otel_rust_exporter import _metrics

        return _metrics.RustOTLPMetricExporter
    if name in __all__:
        from otel_rust_exporter import _trace

        return getattr(_trace, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
