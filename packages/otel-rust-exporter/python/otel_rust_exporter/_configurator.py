"""The ``rust_otlp`` configurator for ``opentelemetry-instrument``.

It is the SDK's own configurator with one change: exporters that batch natively get their
native processor (``RustSpanProcessor``, ``RustLogRecordProcessor``, the SLS processor)
instead of being wrapped in ``BatchSpanProcessor`` / ``BatchLogRecordProcessor``.
Every other part of SDK auto-configuration (sampler, resource, limits, other exporters)
is untouched.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from opentelemetry.sdk._configuration import _initialize_components, _OTelSDKConfigurator
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

_active = False


def active() -> bool:
    """Whether this configurator is configuring the SDK right now."""
    return _active


def export_span_processor(exporter: SpanExporter) -> SpanProcessor:
    # Our exporter exists only if its module loaded; importing it here would fail exactly
    # when the entry point fell back to a stock exporter.
    ours = sys.modules.get("otel_rust_exporter._trace")
    if ours is not None and isinstance(exporter, ours.RustOTLPSpanExporter):
        return ours.RustSpanProcessor.from_exporter(exporter)
    return BatchSpanProcessor(exporter)


def export_log_record_processor(exporter: LogRecordExporter) -> LogRecordProcessor:
    native_processor = getattr(exporter, "_native_log_record_processor", None)
    if native_processor is not None:
        return native_processor()
    return BatchLogRecordProcessor(exporter)


class RustConfigurator(_OTelSDKConfigurator):
    def _configure(self, **kwargs: Any) -> None:
        global _active
        parameters = inspect.signature(_initialize_components).parameters
        if "export_span_processor" in parameters:
            kwargs.setdefault("export_span_processor", export_span_processor)
        if "export_log_record_processor" in parameters:
            kwargs.setdefault("export_log_record_processor", export_log_record_processor)
        _active = True
        try:
            super()._configure(**kwargs)
        finally:
            _active = False
