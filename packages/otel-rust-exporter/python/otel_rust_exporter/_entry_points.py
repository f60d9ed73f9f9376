"""Targets of the ``rust_otlp`` exporter entry points.

If the native module cannot be loaded (an unsupported platform, a broken install), the
entry point resolves to the stock OTLP exporter of the configured protocol instead, with
one warning, so the application keeps exporting.
"""

from __future__ import annotations

import logging
import os

_logger = logging.getLogger("otel_rust_exporter")


def _protocol(signal: str) -> str:
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", ""
    )
    return value.strip().lower() or "http/protobuf"


def _stock_span_exporter(reason: BaseException) -> type:
    if _protocol("TRACES") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    _logger.warning(
        "otel_rust_exporter's native module could not be loaded (%s); rust_otlp falls back to "
        "the stock %s.%s",
        reason,
        OTLPSpanExporter.__module__,
        OTLPSpanExporter.__name__,
    )
    return OTLPSpanExporter


def _load_span_exporter() -> type:
    try:
        from otel_rust_exporter._trace import RustOTLPSpanExporter
    except ImportError as error:
        return _stock_span_exporter(error)
    return RustOTLPSpanExporter


def _stock_metric_exporter(reason: BaseException) -> type:
    if _protocol("METRICS") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    _logger.warning(
        "otel_rust_exporter's native module could not be loaded (%s); rust_otlp falls back to "
        "the stock %s.%s",
        reason,
        OTLPMetricExporter.__module__,
        OTLPMetricExporter.__name__,
    )
    return OTLPMetricExporter


def _load_metric_exporter() -> type:
    try:
        from otel_rust_exporter._metrics import RustOTLPMetricExporter
    except ImportError as error:
        return _stock_metric_exporter(error)
    return RustOTLPMetricExporter


_LOADERS = {"traces_exporter": _load_span_exporter, "metrics_exporter": _load_metric_exporter}


def __getattr__(name: str) -> type:
    # Resolved on first use, so a fallback warning names only the signals actually selected.
    if name in _LOADERS:
        exporter = _LOADERS[name]()
        globals()[name] = exporter
        return exporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
