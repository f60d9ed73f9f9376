"""The log record processor and exporter: thin wrappers over the native core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from otel_rust_exporter import _native
from otel_rust_exporter._lifecycle import NativeBatching, track
from otel_rust_exporter._options import Headers, batch_kwargs, otlp_kwargs
from otel_rust_exporter._self_metrics import Component, report_otlp


class RustLogRecordProcessor(NativeBatching, LogRecordProcessor):
    """Batches emitted log records in Rust and exports them over OTLP (HTTP/protobuf or gRPC).

    A drop-in replacement for ``BatchLogRecordProcessor(OTLPLogExporter(...))``:
    ``on_emit`` copies the record into a bounded native queue in one call; a background
    thread encodes, compresses and sends without the GIL. Arguments override the
    ``OTEL_EXPORTER_OTLP_*`` and ``OTEL_BLRP_*`` variables; ``timeout`` is in seconds, as
    for the stock exporters. Records of the ``otel_rust_exporter`` logger (our own
    warnings) are not exported, so export problems cannot feed on themselves.
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
        self._core = _native.LogRecordProcessorCore(options, **batching)
        self._self_metrics = report_otlp(
            self, "logs", meter_provider, "batching_log_processor", adopted=adopted
        )
        # One native call per record, no Python frame.
        self.on_emit = self._core.on_emit  # type: ignore[method-assign]
        track(self)

    @classmethod
    def from_exporter(cls, exporter: RustOTLPLogExporter) -> RustLogRecordProcessor:
        """The processor for an exporter the SDK's auto-configuration created."""
        exporter.shutdown()
        processor = cls.__new__(cls)
        processor._start(exporter._options, exporter._meter_provider, exporter._self_metrics)
        return processor

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self._core.on_emit(log_record)

    def __repr__(self) -> str:
        return f"RustLogRecordProcessor(endpoint={self._core.endpoint!r}, protocol={self._core.protocol!r})"


class RustOTLPLogExporter(LogRecordExporter):
    """An OTLP log record exporter whose encoding and sending run in Rust, without the GIL.

    For processors you compose yourself; for batching use ``RustLogRecordProcessor``,
    which also keeps records out of Python while they wait.
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
        self._core = _native.LogExporterCore(self._options)
        self._meter_provider = meter_provider
        self._self_metrics = report_otlp(self, "logs", meter_provider)

    def _native_log_record_processor(self) -> RustLogRecordProcessor:
        """Used by the ``rust_otlp`` configurator in place of BatchLogRecordProcessor."""
        return RustLogRecordProcessor.from_exporter(self)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        delivered = self._core.export(batch)
        return LogRecordExportResult.SUCCESS if delivered else LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        self._core.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def __repr__(self) -> str:
        return f"RustOTLPLogExporter(protocol={self._options.protocol!r})"
