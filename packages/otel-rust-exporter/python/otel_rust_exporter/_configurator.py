"""The ``rust_otlp`` configurator for ``opentelemetry-instrument``.

It is the SDK's own configurator with one change: an exporter named ``rust_otlp`` gets
``RustSpanProcessor`` (batching in Rust) instead of being wrapped in ``BatchSpanProcessor``.
Every other part of SDK auto-configuration (sampler, resource, limits, other exporters)
is untouched.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from opentelemetry.sdk._configuration import _initialize_components, _OTelSDKConfigurator
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


class RustConfigurator(_OTelSDKConfigurator):
    def _configure(self, **kwargs: Any) -> None:
        global _active
        if "export_span_processor" in inspect.signature(_initialize_components).parameters:
            kwargs.setdefault("export_span_processor", export_span_processor)
        _active = True
        try:
            super()._configure(**kwargs)
        finally:
            _active = False
