"""The log record processor and exporter: thin wrappers over the native core."""

from __future__ import annotations

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from otel_rust_exporter import _native
from otel_rust_exporter._bases import OtlpExporter, OtlpProcessor


class RustLogRecordProcessor(OtlpProcessor, LogRecordProcessor):
    """Batches emitted log records in Rust and exports them over OTLP (HTTP/protobuf or gRPC).

    A drop-in replacement for ``BatchLogRecordProcessor(OTLPLogExporter(...))``:
    ``on_emit`` copies the record into a bounded native queue in one call; a background
    thread encodes, compresses and sends without the GIL. Arguments override the
    ``OTEL_EXPORTER_OTLP_*`` and ``OTEL_BLRP_*`` variables; ``timeout`` is in seconds, as
    for the stock exporters. Records of the ``otel_rust_exporter`` logger (our own
    warnings) are not exported, so export problems cannot feed on themselves.
    """

    _core_class = _native.LogRecordProcessorCore
    _signal = "logs"
    _processor_type = "batching_log_processor"
    _hot_path = "on_emit"

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self._core.on_emit(log_record)


class RustOTLPLogExporter(OtlpExporter[LogRecordExportResult], LogRecordExporter):
    """An OTLP log record exporter whose encoding and sending run in Rust, without the GIL.

    For processors you compose yourself; for batching use ``RustLogRecordProcessor``,
    which also keeps records out of Python while they wait.
    """

    _core_class = _native.LogExporterCore
    _signal = "logs"
    _results = (LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE)

    def _native_log_record_processor(self) -> RustLogRecordProcessor:
        """Used by the ``rust_otlp`` configurator in place of BatchLogRecordProcessor."""
        return RustLogRecordProcessor.from_exporter(self)
