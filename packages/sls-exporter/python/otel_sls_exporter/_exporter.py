"""The SLS log record processor and exporter: thin wrappers over the native core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from otel_rust_exporter.plugin import (
    BatchArguments,
    Component,
    NativeExporter,
    NativeProcessor,
    SinkArguments,
    batch_options,
    check_names,
    number_option,
    report_sls,
    spool_options,
    text_option,
)
from otel_rust_exporter.plugin import native as _native
from typing_extensions import Unpack


class SlsArguments(SinkArguments, total=False):
    """The keyword arguments after ``endpoint``, ``project`` and ``logstore``."""

    topic: Optional[str]
    source: Optional[str]
    hash_key: Optional[str]
    signature_version: Optional[str]
    region: Optional[str]
    access_key_id: Optional[str]
    access_key_secret: Optional[str]
    security_token: Optional[str]
    timeout: Optional[float]


class SlsProcessorArguments(SlsArguments, BatchArguments, total=False):
    pass


def _options(
    owner: str,
    endpoint: Any,
    project: Any,
    logstore: Any,
    given: Mapping[str, Any],
    accepted: type = SlsArguments,
) -> _native.SlsOptions:
    check_names(owner, given, accepted)
    texts = {"endpoint": endpoint, "project": project, "logstore": logstore}
    texts.update((name, given.get(name)) for name in SlsArguments.__annotations__)
    del texts["meter_provider"], texts["timeout"], texts["spool_dir"], texts["spool_max_bytes"]
    # The options object is opaque: credentials stay out of `vars()`. The timeout is in
    # seconds; its range is checked natively, for the argument and the variable alike.
    return _native.SlsOptions(
        **{name: text_option(name, value) for name, value in texts.items()},
        timeout=number_option("timeout", given.get("timeout")),
        **spool_options(given),
    )


class SLSLogRecordProcessor(NativeProcessor, LogRecordProcessor):
    """Batches log records in Rust and sends them to an SLS logstore.

    ``on_emit`` copies the record into a bounded native queue in one call; a background
    thread maps, packs (at most 4096 logs / 3 MiB per request), compresses (lz4), signs
    (v1 or v4) and sends without the GIL, retrying by SLS error code. Arguments override
    the ``OTEL_EXPORTER_SLS_*`` / ``ALIBABA_CLOUD_*`` and ``OTEL_BLRP_*`` variables;
    ``timeout`` is in seconds. A partial batch waits at most 2 s unless
    ``OTEL_BLRP_SCHEDULE_DELAY`` or ``schedule_delay_millis`` says otherwise. Records of
    the ``otel_rust_exporter`` logger (our own warnings) are never sent.
    """

    _hot_path = "on_emit"

    def __init__(
        self,
        endpoint: Optional[str] = None,
        project: Optional[str] = None,
        logstore: Optional[str] = None,
        **options: Unpack[SlsProcessorArguments],
    ):
        self._start(
            _options(type(self).__name__, endpoint, project, logstore, options, SlsProcessorArguments),
            options.get("meter_provider"),
            batching=batch_options(options),
        )

    def _new_core(self, options: _native.SlsOptions, batching: Optional[_native.BatchOptions]) -> Any:
        return _native.SlsLogRecordProcessorCore(options, batching)

    def _report(
        self, meter_provider: Optional[MeterProvider], adopted: Optional[Component]
    ) -> Optional[Component]:
        return report_sls(self, meter_provider, "batching_log_processor", adopted=adopted)

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self._core.on_emit(log_record)

    def __repr__(self) -> str:
        return f"SLSLogRecordProcessor({self._core.description or 'disabled'})"


class SLSLogExporter(NativeExporter[LogRecordExportResult], LogRecordExporter):
    """Sends log records to an SLS logstore; encoding, signing and sending run in Rust.

    With ``OTEL_LOGS_EXPORTER=sls`` and the ``rust_otlp`` configurator, batching runs
    natively too (``SLSLogRecordProcessor``); behind another processor, ``export`` sends
    the batch it is given and waits for the result without the GIL.
    """

    _results = (LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE)

    def __init__(
        self,
        endpoint: Optional[str] = None,
        project: Optional[str] = None,
        logstore: Optional[str] = None,
        **options: Unpack[SlsArguments],
    ):
        self._options = _options(type(self).__name__, endpoint, project, logstore, options)
        self._core = _native.SlsLogExporterCore(self._options)
        self._meter_provider = options.get("meter_provider")
        self._self_metrics = report_sls(self, self._meter_provider)

    def _native_log_record_processor(self) -> SLSLogRecordProcessor:
        """Used by the ``rust_otlp`` configurator in place of BatchLogRecordProcessor."""
        return SLSLogRecordProcessor.from_exporter(self)

    def __repr__(self) -> str:
        return f"SLSLogExporter({self._core.description or 'disabled'})"
