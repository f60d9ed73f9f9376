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


traces_exporter = _load_span_exporter()
