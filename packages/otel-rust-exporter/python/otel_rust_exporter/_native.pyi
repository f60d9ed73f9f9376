from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Optional, Union, final

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import Attributes, AttributeValue
from typing_extensions import Self

__all__ = [
    "BatchOptions",
    "CurrentSpan",
    "LogExporterCore",
    "LogRecordProcessorCore",
    "MetricExporterCore",
    "NativeSpan",
    "OtlpOptions",
    "ProviderCore",
    "SlsLogExporterCore",
    "SlsLogRecordProcessorCore",
    "SlsOptions",
    "SpanExporterCore",
    "SpanProcessorCore",
    "TracerCore",
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

# Native spans (RustTracerProvider).
@final
class NativeSpan:
    def get_span_context(self) -> SpanContext: ...
    def is_recording(self) -> bool: ...
    def set_attribute(self, key: str, value: AttributeValue) -> None: ...
    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None: ...
    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: Optional[int] = None
    ) -> None: ...
    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None: ...
    def update_name(self, name: str) -> None: ...
    def set_status(self, status: Union[Status, StatusCode], description: Optional[str] = None) -> None: ...
    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: Optional[int] = None,
        escaped: bool = False,
    ) -> None: ...
    def end(self, end_time: Optional[int] = None) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def context(self) -> SpanContext: ...
    @property
    def parent(self) -> Optional[SpanContext]: ...
    @property
    def kind(self) -> SpanKind: ...
    @property
    def start_time(self) -> int: ...
    @property
    def end_time(self) -> Optional[int]: ...
    @property
    def attributes(self) -> Mapping[str, AttributeValue]: ...
    @property
    def events(self) -> tuple[Event, ...]: ...
    @property
    def links(self) -> tuple[Link, ...]: ...
    @property
    def dropped_attributes(self) -> int: ...
    @property
    def dropped_events(self) -> int: ...
    @property
    def dropped_links(self) -> int: ...
    @property
    def status(self) -> Status: ...
    @property
    def resource(self) -> Resource: ...
    @property
    def instrumentation_scope(self) -> InstrumentationScope: ...
    @property
    def instrumentation_info(self) -> Optional[Any]: ...
    @property
    def _span_processor(self) -> Any: ...
    @property
    def _resource(self) -> Resource: ...
    def to_json(self, indent: Optional[int] = 4) -> str: ...
    def _attributes_parts(self) -> tuple[dict[str, AttributeValue], int]: ...
    def _events_parts(
        self,
    ) -> tuple[list[tuple[str, dict[str, AttributeValue], int, int]], int]: ...
    def _links_parts(
        self,
    ) -> tuple[list[tuple[SpanContext, dict[str, AttributeValue], int]], int]: ...
    def _limits(self) -> list[Optional[int]]: ...

@final
class ProviderCore:
    def __new__(cls, active: Any) -> ProviderCore: ...
    def set_processors(self, processors: Iterable[Any]) -> None: ...

@final
class CurrentSpan:
    def __enter__(self) -> Any: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool: ...
    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]: ...
    def _recreate(self) -> CurrentSpan: ...

@final
class TracerCore:
    def __new__(
        cls,
        provider: ProviderCore,
        resource: Resource,
        scope: InstrumentationScope,
        limits: Any,
        sampler: Any,
        id_generator: Any,
        metrics: Optional[Any] = None,
        instrumentation_info: Optional[Any] = None,
    ) -> TracerCore: ...
    def set_resource(self, resource: Resource) -> None: ...
    def set_enabled(self, enabled: bool) -> None: ...
    def start_span(
        self,
        name: str,
        context: Optional[Context] = None,
        kind: Optional[SpanKind] = None,
        attributes: Attributes = None,
        links: Optional[Sequence[Link]] = None,
        start_time: Optional[int] = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Any: ...
    def start_as_current_span(
        self,
        name: str,
        context: Optional[Context] = None,
        kind: Optional[SpanKind] = None,
        attributes: Attributes = None,
        links: Optional[Sequence[Link]] = None,
        start_time: Optional[int] = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> CurrentSpan: ...
