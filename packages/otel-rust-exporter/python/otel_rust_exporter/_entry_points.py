"""Targets of the ``rust_otlp`` exporter entry points.

If the native module cannot be loaded (an unsupported platform, a broken install), the
entry point resolves to the stock OTLP exporter of the configured protocol instead, with
one warning, so the application keeps exporting.
"""

from __future__ import annotations

import os

from otel_rust_exporter import _diagnostics


def _protocol(signal: str) -> str:
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", ""
    )
    return value.strip().lower() or "http/protobuf"


def _fallback(reason: BaseException, stock: type) -> type:
    _diagnostics.warn(
        f"otel_rust_exporter's native module could not be loaded ({reason}); rust_otlp falls "
        f"back to the stock {stock.__module__}.{stock.__name__}"
    )
    return stock


def _load_span_exporter() -> type:
    try:
        from otel_rust_exporter._trace import RustOTLPSpanExporter
    except ImportError as error:
        if _protocol("TRACES") == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )

            return _fallback(error, GrpcSpanExporter)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

        return _fallback(error, HttpSpanExporter)
    return RustOTLPSpanExporter


def _load_log_exporter() -> type:
    try:
        from otel_rust_exporter._logs import RustOTLPLogExporter
    except ImportError as error:
        if _protocol("LOGS") == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
                OTLPLogExporter as GrpcLogExporter,
            )

            return _fallback(error, GrpcLogExporter)
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

        return _fallback(error, HttpLogExporter)
    return RustOTLPLogExporter


def _load_metric_exporter() -> type:
    try:
        from otel_rust_exporter._metrics import RustOTLPMetricExporter
    except ImportError as error:
        if _protocol("METRICS") == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )

            return _fallback(error, GrpcMetricExporter)
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )

        return _fallback(error, HttpMetricExporter)
    return RustOTLPMetricExporter


def __getattr__(name: str) -> type:
    # Each signal's exporter loads only when its entry point is used, so a fallback
    # warning is about a signal that was configured.
    loaders = {
        "traces_exporter": _load_span_exporter,
        "logs_exporter": _load_log_exporter,
        "metrics_exporter": _load_metric_exporter,
    }
    if name in loaders:
        exporter = loaders[name]()
        globals()[name] = exporter
        return exporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
