"""The SLS log record processor and exporter: thin wrappers over the native core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from otel_rust_exporter.plugin import (
    Component,
    NativeBatching,
    batch_kwargs,
    number_option,
    report_sls,
    text_option,
    track,
)
from otel_rust_exporter.plugin import native as _native


def _options(**given: Any) -> _native.SlsOptions:
    # Seconds; its range is checked natively, for the argument and the variable alike.
    timeout = number_option("timeout", given.pop("timeout"))
    texts = {name: text_option(name, value) for name, value in given.items()}
    return _native.SlsOptions(**texts, timeout=timeout)


class SLSLogRecordProcessor(NativeBatching, LogRecordProcessor):
    """Batches log records in Rust and sends them to an SLS logstore.

    ``on_emit`` copies the record into a bounded native queue in one call; a background
    thread maps, packs (at most 4096 logs / 3 MiB per request), compresses (lz4), signs
    (v1 or v4) and sends without the GIL, retrying by SLS error code. Arguments override
    the ``OTEL_EXPORTER_SLS_*`` / ``ALIBABA_CLOUD_*`` and ``OTEL_BLRP_*`` variables;
    ``timeout`` is in seconds. A partial batch waits at most 2 s unless
    ``OTEL_BLRP_SCHEDULE_DELAY`` or ``schedule_delay_millis`` says otherwise. Records of
    the ``otel_rust_exporter`` logger (our own warnings) are never sent.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        project: Optional[str] = None,
        logstore: Optional[str] = None,
        *,
        topic: Optional[str] = None,
        source: Optional[str] = None,
        hash_key: Optional[str] = None,
        signature_version: Optional[str] = None,
        region: Optional[str] = None,
        access_key_id: Optional[str] = None,
        access_key_secret: Optional[str] = None,
        security_token: Optional[str] = None,
        timeout: Optional[float] = None,
        max_queue_size: Optional[int] = None,
        max_queue_bytes: Optional[int] = None,
        schedule_delay_millis: Optional[float] = None,
        max_export_batch_size: Optional[int] = None,
        export_timeout_millis: Optional[float] = None,
        meter_provider: Optional[MeterProvider] = None,
    ):
        self._start(
            _options(
                endpoint=endpoint,
                project=project,
                logstore=logstore,
                topic=topic,
                source=source,
                hash_key=hash_key,
                signature_version=signature_version,
                region=region,
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                security_token=security_token,
                timeout=timeout,
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
        options: _native.SlsOptions,
        meter_provider: Optional[MeterProvider] = None,
        adopted: Optional[Component] = None,
        **batching: Any,
    ) -> None:
        self._core = _native.SlsLogRecordProcessorCore(options, **batching)
        self._self_metrics = report_sls(self, meter_provider, "batching_log_processor", adopted=adopted)
        # One native call per record, no Python frame.
        self.on_emit = self._core.on_emit  # type: ignore[method-assign]
        track(self)

    @classmethod
    def from_exporter(cls, exporter: SLSLogExporter) -> SLSLogRecordProcessor:
        """The processor for an exporter the SDK's auto-configuration created."""
        exporter.shutdown()
        processor = cls.__new__(cls)
        processor._start(exporter._options, exporter._meter_provider, exporter._self_metrics)
        return processor

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self._core.on_emit(log_record)

    def __repr__(self) -> str:
        return f"SLSLogRecordProcessor({self._core.description or 'disabled'})"


class SLSLogExporter(LogRecordExporter):
    """Sends log records to an SLS logstore; encoding, signing and sending run in Rust.

    With ``OTEL_LOGS_EXPORTER=sls`` and the ``rust_otlp`` configurator, batching runs
    natively too (``SLSLogRecordProcessor``); behind another processor, ``export`` sends
    the batch it is given and waits for the result without the GIL.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        project: Optional[str] = None,
        logstore: Optional[str] = None,
        *,
        topic: Optional[str] = None,
        source: Optional[str] = None,
        hash_key: Optional[str] = None,
        signature_version: Optional[str] = None,
        region: Optional[str] = None,
        access_key_id: Optional[str] = None,
        access_key_secret: Optional[str] = None,
        security_token: Optional[str] = None,
        timeout: Optional[float] = None,
        meter_provider: Optional[MeterProvider] = None,
    ):
        # The options object is opaque: credentials stay out of `vars()`.
        self._options = _options(
            endpoint=endpoint,
            project=project,
            logstore=logstore,
            topic=topic,
            source=source,
            hash_key=hash_key,
            signature_version=signature_version,
            region=region,
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            security_token=security_token,
            timeout=timeout,
        )
        self._core = _native.SlsLogExporterCore(self._options)
        self._meter_provider = meter_provider
        self._self_metrics = report_sls(self, meter_provider)

    def _native_log_record_processor(self) -> SLSLogRecordProcessor:
        """Used by the ``rust_otlp`` configurator in place of BatchLogRecordProcessor."""
        return SLSLogRecordProcessor.from_exporter(self)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        delivered = self._core.export(batch)
        return LogRecordExportResult.SUCCESS if delivered else LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        self._core.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def __repr__(self) -> str:
        return f"SLSLogExporter({self._core.description or 'disabled'})"
