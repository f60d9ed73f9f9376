"""The span processor and exporter: thin wrappers over the native core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_rust_exporter import _diagnostics, _native
from otel_rust_exporter._lifecycle import NativeBatching, track
from otel_rust_exporter._options import Headers, batch_kwargs, otlp_kwargs
from otel_rust_exporter._self_metrics import Component, report_otlp


class RustSpanProcessor(NativeBatching, SpanProcessor):
    """Batches finished spans in Rust and exports them over OTLP (HTTP/protobuf or gRPC).

    A drop-in replacement for ``BatchSpanProcessor(OTLPSpanExporter(...))``: ``on_end``
    copies the span into a bounded native queue in one call; a background thread encodes,
    compresses and sends without the GIL. Arguments override the ``OTEL_EXPORTER_OTLP_*``
    and ``OTEL_BSP_*`` variables; ``timeout`` is in seconds, as for the stock exporters.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        headers: Headers = None,
        timeout: Optional[float] = None,
        compression: Any = None,
        *,
        protocol: Optional[str] = None,
        certificate_file: Optional[str] = None,
        client_key_file: Optional[str] = None,
        client_certificate_file: Optional[str] = None,
        insecure: Optional[bool] = None,
        max_queue_size: Optional[int] = None,
        max_queue_bytes: Optional[int] = None,
        schedule_delay_millis: Optional[float] = None,
        max_export_batch_size: Optional[int] = None,
        export_timeout_millis: Optional[float] = None,
        meter_provider: Optional[MeterProvider] = None,
    ):
        self._start(
            _native.OtlpOptions(
                **otlp_kwargs(
                    endpoint=endpoint,
                    headers=headers,
                    timeout=timeout,
                    compression=compression,
                    protocol=protocol,
                    certificate_file=certificate_file,
                    client_key_file=client_key_file,
                    client_certificate_file=client_certificate_file,
                    insecure=insecure,
                )
            ),
            **batch_kwargs(
                max_queue_size=max_queue_size,
                max_queue_bytes=max_queue_bytes,
                schedule_delay_millis=schedule_delay_millis,
                max_export_batch_size=max_export_batch_size,
                export_timeout_millis=export_timeout_millis,
            ),
            meter_provider=meter_provider,
        )

    def _start(
        self,
        options: _native.OtlpOptions,
        meter_provider: Optional[MeterProvider] = None,
        adopted: Optional[Component] = None,
        **batching: Any,
    ) -> None:
        self._core = _native.SpanProcessorCore(options, **batching)
        self._self_metrics = report_otlp(
            self, "traces", meter_provider, "batching_span_processor", adopted=adopted
        )
        # The SDK calls `processor.on_end(span)`: bind the native method directly, so a
        # finished span costs one call and no Python frame.
        self.on_end = self._core.on_end  # type: ignore[method-assign]
        track(self)

    @classmethod
    def from_exporter(cls, exporter: RustOTLPSpanExporter) -> RustSpanProcessor:
        """The processor for an exporter the SDK's auto-configuration created."""
        exporter.shutdown()
        processor = cls.__new__(cls)
        processor._start(exporter._options, exporter._meter_provider, exporter._self_metrics)
        return processor

    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        self._core.on_end(span)

    def span_sink(self, resource: Resource, scope: InstrumentationScope) -> Optional[Any]:
        """A capsule through which otel-rust-bridge hands Rust spans of ``resource`` and
        ``scope`` straight to this processor's queue (ABI ``otel_rust_exporter.span_sink.v1``);
        ``None``, with a warning, when the resource or scope cannot be read."""
        return self._core.span_sink(resource, scope)

    def __repr__(self) -> str:
        return f"RustSpanProcessor(endpoint={self._core.endpoint!r}, protocol={self._core.protocol!r})"


class RustOTLPSpanExporter(SpanExporter):
    """An OTLP span exporter whose encoding and sending run in Rust, without the GIL.

    For processors you compose yourself (e.g. ``SimpleSpanProcessor``); for batching use
    ``RustSpanProcessor``, which also keeps spans out of Python while they wait.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        headers: Headers = None,
        timeout: Optional[float] = None,
        compression: Any = None,
        *,
        protocol: Optional[str] = None,
        certificate_file: Optional[str] = None,
        client_key_file: Optional[str] = None,
        client_certificate_file: Optional[str] = None,
        insecure: Optional[bool] = None,
        meter_provider: Optional[MeterProvider] = None,
    ):
        # The options object is opaque: headers and credentials stay out of `vars()`.
        self._options = _native.OtlpOptions(
            **otlp_kwargs(
                endpoint=endpoint,
                headers=headers,
                timeout=timeout,
                compression=compression,
                protocol=protocol,
                certificate_file=certificate_file,
                client_key_file=client_key_file,
                client_certificate_file=client_certificate_file,
                insecure=insecure,
            )
        )
        self._core = _native.SpanExporterCore(self._options)
        self._meter_provider = meter_provider
        self._self_metrics = report_otlp(self, "traces", meter_provider)
        # Imported here, not with the module: it imports the SDK's slow configuration module.
        from otel_rust_exporter import _sdk_compat

        if _sdk_compat.created_by_sdk_tracing_setup():
            _warn_if_wrapped_by_stock_batching()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        delivered = self._core.export(spans)
        return SpanExportResult.SUCCESS if delivered else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._core.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def __repr__(self) -> str:
        return f"RustOTLPSpanExporter(protocol={self._options.protocol!r})"


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
