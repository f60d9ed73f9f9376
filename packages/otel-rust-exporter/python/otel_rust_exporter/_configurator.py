"""The ``rust_otlp`` configurator for ``opentelemetry-instrument``.

It is the SDK's own configurator with one change: an exporter named ``rust_otlp`` gets
``RustSpanProcessor`` (batching in Rust) instead of being wrapped in ``BatchSpanProcessor``.
Every other part of SDK auto-configuration (sampler, resource, limits, other exporters)
is untouched.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from opentelemetry.sdk._configuration import _initialize_components, _OTelSDKConfigurator
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

_logger = logging.getLogger("otel_rust_exporter")
_active = False


def active() -> bool:
    """Whether this configurator is configuring the SDK right now."""
    return _active


def export_span_processor(exporter: SpanExporter) -> SpanProcessor:
    from otel_rust_exporter._trace import RustOTLPSpanExporter, RustSpanProcessor

    if isinstance(exporter, RustOTLPSpanExporter):
        return RustSpanProcessor.from_exporter(exporter)
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
