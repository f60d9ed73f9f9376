"""The ``rust_otlp`` configurator for ``opentelemetry-instrument``.

It is the SDK's own configurator with one change: exporters that batch natively get their
native processor (``RustSpanProcessor``, ``RustLogRecordProcessor``, the SLS processor)
instead of being wrapped in ``BatchSpanProcessor`` / ``BatchLogRecordProcessor``.
Every other part of SDK auto-configuration (sampler, resource, limits, other exporters)
is untouched. With ``OTEL_RUST_EXPORTER_NATIVE_SPANS=true`` the tracer provider it sets up
is ``RustTracerProvider`` (spans kept in Rust; off by default).

The hooks it passes first appear in opentelemetry-sdk 1.40. An older SDK (installed past the
resolver, which refuses it) gets one warning that the stock batch processors are in use.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import metadata
from typing import Any

from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_rust_exporter._entry_points import native_tracer_provider_class
from otel_rust_exporter._sdk_compat import (
    SdkConfigurator,
    initialize_components_parameters,
    tracer_provider_class_while_configuring,
)

_logger = logging.getLogger("otel_rust_exporter")
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


NATIVE_SPANS = "OTEL_RUST_EXPORTER_NATIVE_SPANS"


def native_spans_requested() -> bool:
    return os.environ.get(NATIVE_SPANS, "").strip().lower() == "true"


class RustConfigurator(SdkConfigurator):
    def initialize(self, kwargs: dict[str, Any]) -> None:
        global _active
        hooks = {
            "export_span_processor": export_span_processor,
            "export_log_record_processor": export_log_record_processor,
        }
        parameters = initialize_components_parameters()
        missing = [name for name in hooks if name not in parameters]
        if missing:
            _logger.warning(
                "opentelemetry-sdk %s has no %s hook (added in 1.40): rust_otlp and sls exporters "
                "run behind the stock BatchSpanProcessor / BatchLogRecordProcessor; upgrade to "
                "opentelemetry-sdk>=1.40 to batch in Rust",
                metadata.version("opentelemetry-sdk"),
                " or ".join(missing),
            )
        for name, hook in hooks.items():
            if name in parameters:
                kwargs.setdefault(name, hook)
        _active = True
        try:
            provider_class = native_spans_requested() and native_tracer_provider_class()
            if provider_class:
                with tracer_provider_class_while_configuring(provider_class):
                    super().initialize(kwargs)
            else:
                super().initialize(kwargs)
        finally:
            _active = False
