"""The span processor and exporter: thin wrappers over the native core."""

from __future__ import annotations

from typing import Any, Optional

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_rust_exporter import _diagnostics, _native
from otel_rust_exporter._bases import OtlpExporter, OtlpProcessor


class RustSpanProcessor(OtlpProcessor, SpanProcessor):
    """Batches finished spans in Rust and exports them over OTLP (HTTP/protobuf or gRPC).

    A drop-in replacement for ``BatchSpanProcessor(OTLPSpanExporter(...))``: ``on_end``
    copies the span into a bounded native queue in one call; a background thread encodes,
    compresses and sends without the GIL. Arguments override the ``OTEL_EXPORTER_OTLP_*``
    and ``OTEL_BSP_*`` variables; ``timeout`` is in seconds, as for the stock exporters.
    """

    _core_class = _native.SpanProcessorCore
    _signal = "traces"
    _processor_type = "batching_span_processor"
    _hot_path = "on_end"

    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        self._core.on_end(span)

    def span_sink(self, resource: Resource, scope: InstrumentationScope) -> Optional[Any]:
        """A capsule through which otel-rust-bridge hands Rust spans of ``resource`` and
        ``scope`` straight to this processor's queue (ABI ``otel_rust_exporter.span_sink.v1``);
        ``None``, with a warning, when the resource or scope cannot be read."""
        return self._core.span_sink(resource, scope)


class RustOTLPSpanExporter(OtlpExporter[SpanExportResult], SpanExporter):
    """An OTLP span exporter whose encoding and sending run in Rust, without the GIL.

    For processors you compose yourself (e.g. ``SimpleSpanProcessor``); for batching use
    ``RustSpanProcessor``, which also keeps spans out of Python while they wait.
    """

    _core_class = _native.SpanExporterCore
    _signal = "traces"
    _results = (SpanExportResult.SUCCESS, SpanExportResult.FAILURE)

    def _created(self) -> None:
        # Imported here, not with the module: it imports the SDK's slow configuration module.
        from otel_rust_exporter import _sdk_compat

        if _sdk_compat.created_by_sdk_tracing_setup():
            _warn_if_wrapped_by_stock_batching()


def _warn_if_wrapped_by_stock_batching() -> None:
    """SDK auto-configuration wraps exporters in BatchSpanProcessor unless our configurator
    runs; say so once, since the spans then wait in Python."""
    from otel_rust_exporter import _configurator

    if not _configurator.active():
        _diagnostics.warn(
            "rust_otlp is running behind the stock BatchSpanProcessor because another "
            "OpenTelemetry configurator was loaded; set OTEL_PYTHON_CONFIGURATOR=rust_otlp "
            "to batch in Rust"
        )
