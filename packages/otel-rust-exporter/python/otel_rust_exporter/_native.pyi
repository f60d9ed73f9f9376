from collections.abc import Callable, Iterable
from typing import Any, Optional, final

from typing_extensions import Self

__all__ = [
    "BatchOptions",
    "LogExporterCore",
    "LogRecordProcessorCore",
    "MetricExporterCore",
    "OtlpOptions",
    "SlsLogExporterCore",
    "SlsLogRecordProcessorCore",
    "SlsOptions",
    "SpanExporterCore",
    "SpanProcessorCore",
    "mark_python_exiting",
    "probe_otlp",
    "probe_sls",
    "resolve_batch",
    "resolve_otlp",
    "resolve_sls",
    "set_reporter",
]

@final
class OtlpOptions:
    protocol: Optional[str]
    def __new__(
        cls,
        *,
        endpoint: Optional[str] = None,
        headers: Optional[list[tuple[str, str]]] = None,
        timeout: Optional[float] = None,
        compression: Optional[str] = None,
        protocol: Optional[str] = None,
        certificate_file: Optional[str] = None,
        client_key_file: Optional[str] = None,
        client_certificate_file: Optional[str] = None,
        insecure: Optional[bool] = None,
        spool_dir: Optional[str] = None,
        spool_max_bytes: Optional[int] = None,
    ) -> OtlpOptions: ...

@final
class BatchOptions:
    def __new__(
        cls,
        *,
        max_queue_size: Optional[int] = None,
        max_queue_bytes: Optional[int] = None,
        schedule_delay_millis: Optional[float] = None,
        max_export_batch_size: Optional[int] = None,
        export_timeout_millis: Optional[float] = None,
    ) -> BatchOptions: ...

# Private bases (absent at runtime) hold what the native classes share.
class _Reporting:
    def take_export_durations(self) -> list[tuple[float, Optional[str]]]: ...

class _Batching:
    def force_flush(self, timeout_millis: Optional[float] = None) -> bool: ...
    def shutdown(self, timeout_millis: Optional[float] = None) -> bool: ...
    def stats(self) -> dict[str, int]: ...

class _OtlpCore(_Reporting):
    endpoint: str
    protocol: str
    def self_metrics(self) -> dict[str, Any]: ...

class _OtlpProcessorCore(_OtlpCore, _Batching):
    def __new__(cls, options: OtlpOptions, batching: Optional[BatchOptions] = None) -> Self: ...

class _OtlpExporterCore(_OtlpCore):
    def __new__(cls, options: OtlpOptions) -> Self: ...
    def export(self, batch: Iterable[Any]) -> bool: ...
    def shutdown(self) -> None: ...
    def stats(self) -> dict[str, int]: ...

@final
class SpanProcessorCore(_OtlpProcessorCore):
    def on_end(self, span: Any) -> None: ...
    def span_sink(self, resource: Any, scope: Any) -> Optional[Any]: ...

@final
class SpanExporterCore(_OtlpExporterCore): ...

@final
class LogRecordProcessorCore(_OtlpProcessorCore):
    def on_emit(self, log_record: Any) -> None: ...

@final
class LogExporterCore(_OtlpExporterCore): ...

@final
class MetricExporterCore(_OtlpCore):
    def __new__(
        cls,
        options: OtlpOptions,
        *,
        data_types: tuple[type, type, type, type],
        max_export_batch_size: Optional[int] = None,
    ) -> MetricExporterCore: ...
    def export(self, metrics_data: Any, timeout_millis: Optional[float] = None) -> bool: ...
    def shutdown(self) -> None: ...
    def stats(self) -> dict[str, int]: ...

@final
class SlsOptions:
    def __new__(
        cls,
        *,
        endpoint: Optional[str] = None,
        project: Optional[str] = None,
        logstore: Optional[str] = None,
        topic: Optional[str] = None,
        source: Optional[str] = None,
        hash_key: Optional[str] = None,
        signature_version: Optional[str] = None,
        region: Optional[str] = None,
        access_key_id: Optional[str] = None,
        access_key_secret: Optional[str] = None,
        security_token: Optional[str] = None,
        timeout: Optional[float] = None,
        spool_dir: Optional[str] = None,
        spool_max_bytes: Optional[int] = None,
    ) -> SlsOptions: ...

class _SlsCore(_Reporting):
    description: Optional[str]
    server: Optional[tuple[str, int]]
    def self_metrics(self) -> Optional[dict[str, Any]]: ...

@final
class SlsLogRecordProcessorCore(_SlsCore, _Batching):
    def __new__(
        cls, options: SlsOptions, batching: Optional[BatchOptions] = None
    ) -> SlsLogRecordProcessorCore: ...
    def on_emit(self, log_record: Any) -> None: ...

@final
class SlsLogExporterCore(_SlsCore):
    def __new__(cls, options: SlsOptions) -> SlsLogExporterCore: ...
    def export(self, batch: Iterable[Any]) -> bool: ...
    def shutdown(self) -> None: ...
    def stats(self) -> dict[str, int]: ...

def mark_python_exiting() -> None: ...
def set_reporter(reporter: Callable[[int, str], None]) -> None: ...

# For `python -m otel_rust_exporter check`.
def resolve_otlp(signal_name: str, options: OtlpOptions) -> dict[str, Any]: ...
def resolve_batch(signal_name: str) -> dict[str, Any]: ...
def probe_otlp(signal_name: str, options: OtlpOptions, timeout: float) -> dict[str, Any]: ...
def resolve_sls(options: SlsOptions) -> dict[str, Any]: ...
def probe_sls(options: SlsOptions, timeout: float) -> Optional[dict[str, Any]]: ...
