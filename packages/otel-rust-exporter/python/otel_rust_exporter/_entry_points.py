"""Targets of the ``rust_otlp`` exporter entry points and of the ``rust`` tracer provider.

If the native module cannot be loaded (an unsupported platform, a broken install), the
entry point resolves to the stock OTLP exporter of the configured protocol instead, with
one warning, so the application keeps exporting; and native spans resolve to the SDK's
``TracerProvider``, with one warning, as they do on an SDK too old for them.
"""

from __future__ import annotations

import importlib
import os
from typing import Optional

from opentelemetry.sdk.trace import TracerProvider

from otel_rust_exporter import _diagnostics


def _protocol(signal: str) -> str:
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", ""
    )
    return value.strip().lower() or "http/protobuf"


# Per entry point: the signal's variable infix, our exporter, and the stock exporter of
# either transport ("grpc" or "http" fills the braces).
_EXPORTERS = {
    "traces_exporter": (
        "TRACES",
        "otel_rust_exporter._trace:RustOTLPSpanExporter",
        "opentelemetry.exporter.otlp.proto.{}.trace_exporter:OTLPSpanExporter",
    ),
    "logs_exporter": (
        "LOGS",
        "otel_rust_exporter._logs:RustOTLPLogExporter",
        "opentelemetry.exporter.otlp.proto.{}._log_exporter:OTLPLogExporter",
    ),
    "metrics_exporter": (
        "METRICS",
        "otel_rust_exporter._metrics:RustOTLPMetricExporter",
        "opentelemetry.exporter.otlp.proto.{}.metric_exporter:OTLPMetricExporter",
    ),
}


def _load(target: str) -> type:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _load_exporter(signal: str, ours: str, stock: str) -> type:
    try:
        return _load(ours)
    except ImportError as error:
        fallback = _load(stock.format("grpc" if _protocol(signal) == "grpc" else "http"))
        _diagnostics.warn(
            f"otel_rust_exporter's native module could not be loaded ({error}); rust_otlp falls "
            f"back to the stock {fallback.__module__}.{fallback.__name__}"
        )
        return fallback


def native_tracer_provider_class() -> Optional[type[TracerProvider]]:
    """``RustTracerProvider``, or ``None`` with one warning when native spans cannot run
    here (the native module cannot load, or the SDK predates them)."""
    try:
        from otel_rust_exporter._sdk_compat import native_spans_unsupported
        from otel_rust_exporter._tracer_provider import RustTracerProvider
    except ImportError as error:
        reason = f"otel_rust_exporter's native module could not be loaded ({error})"
    else:
        unsupported = native_spans_unsupported()
        if unsupported is None:
            return RustTracerProvider
        reason = unsupported
    _diagnostics.warn(f"{reason}; native spans fall back to the SDK's TracerProvider")
    return None


def tracer_provider() -> TracerProvider:
    """``OTEL_PYTHON_TRACER_PROVIDER=rust``: the API calls this for its global provider."""
    return (native_tracer_provider_class() or TracerProvider)()


def __getattr__(name: str) -> type:
    # Each signal's exporter loads only when its entry point is used, so a fallback
    # warning is about a signal that was configured.
    if name in _EXPORTERS:
        exporter = _load_exporter(*_EXPORTERS[name])
        globals()[name] = exporter
        return exporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
