"""What every class over a native core shares, written once for every signal and sink."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Optional, TypeVar

from opentelemetry.metrics import MeterProvider
from typing_extensions import Self, Unpack

from otel_rust_exporter import _native
from otel_rust_exporter._lifecycle import track
from otel_rust_exporter._options import (
    Headers,
    OtlpArguments,
    OtlpProcessorArguments,
    batch_options,
    number_option,
    otlp_options,
)
from otel_rust_exporter._self_metrics import Component, report_otlp

Result = TypeVar("Result")


class NativeBatching:
    """What every processor whose queue and batching live in Rust (``self._core``) shares."""

    _core: Any

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._core.force_flush(number_option("timeout_millis", timeout_millis))

    def shutdown(self) -> None:
        self._core.shutdown()

    def stats(self) -> dict[str, int]:
        """Counters: queued, accepted, dropped, exported, failed, rejected, and the disk
        spool's spooled, replayed, spool_dropped, spool_corrupt and spool_bytes."""
        return self._core.stats()


class NativeExporter(Generic[Result]):
    """An exporter that sends each batch natively and waits without the GIL. The processor
    the ``rust_otlp`` configurator puts in place of the SDK's batching one adopts its
    options (``_options``), meter provider and self-metrics."""

    _results: ClassVar[tuple[Any, Any]]  # (delivered, not delivered)
    _options: Any
    _core: Any
    _meter_provider: Optional[MeterProvider]
    _self_metrics: Optional[Component]

    def export(self, batch: Sequence[Any]) -> Result:
        delivered, failed = self._results
        return delivered if self._core.export(batch) else failed

    def shutdown(self) -> None:
        self._core.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered: each export is sent before it returns."""
        return True

    def stats(self) -> dict[str, int]:
        """The disk spool's counters: spooled, replayed, spool_dropped, spool_corrupt,
        spool_bytes (all 0 without a spool)."""
        return self._core.stats()


class NativeProcessor(NativeBatching):
    """A processor built from its options, or from the exporter the SDK's auto-configuration
    created. ``_hot_path`` (the SDK's per-record method) is bound straight to the core, so
    a record costs one native call and no Python frame."""

    _hot_path: ClassVar[str]

    def _new_core(self, options: Any, batching: Optional[_native.BatchOptions]) -> Any:
        raise NotImplementedError

    def _report(
        self, meter_provider: Optional[MeterProvider], adopted: Optional[Component]
    ) -> Optional[Component]:
        raise NotImplementedError

    def _start(
        self,
        options: Any,
        meter_provider: Optional[MeterProvider] = None,
        adopted: Optional[Component] = None,
        batching: Optional[_native.BatchOptions] = None,
    ) -> None:
        self._core = self._new_core(options, batching)
        self._self_metrics = self._report(meter_provider, adopted)
        setattr(self, self._hot_path, getattr(self._core, self._hot_path))
        track(self)

    @classmethod
    def from_exporter(cls, exporter: NativeExporter[Any]) -> Self:
        """The processor for an exporter the SDK's auto-configuration created (the
        ``rust_otlp`` configurator's): it takes over the exporter's options, meter provider
        and self-metrics."""
        exporter.shutdown()
        processor = cls.__new__(cls)
        processor._start(exporter._options, exporter._meter_provider, exporter._self_metrics)
        return processor


class OtlpProcessor(NativeProcessor):
    """A span or log record processor over OTLP; arguments as the stock exporter's plus the
    batching processor's, overriding the ``OTEL_EXPORTER_OTLP_*`` and batching variables."""

    _core_class: ClassVar[Any]
    _signal: ClassVar[str]
    _processor_type: ClassVar[str]

    def __init__(
        self,
        endpoint: Optional[str] = None,
        headers: Headers = None,
        timeout: Optional[float] = None,
        compression: Any = None,
        **options: Unpack[OtlpProcessorArguments],
    ):
        self._start(
            otlp_options(
                type(self).__name__, endpoint, headers, timeout, compression, options, OtlpProcessorArguments
            ),
            options.get("meter_provider"),
            batching=batch_options(options),
        )

    def _new_core(self, options: _native.OtlpOptions, batching: Optional[_native.BatchOptions]) -> Any:
        return self._core_class(options, batching)

    def _report(
        self, meter_provider: Optional[MeterProvider], adopted: Optional[Component]
    ) -> Optional[Component]:
        return report_otlp(self, self._signal, meter_provider, self._processor_type, adopted=adopted)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self._core.endpoint!r}, protocol={self._core.protocol!r})"


class OtlpExporter(NativeExporter[Result]):
    """A span or log record exporter over OTLP, for processors composed by hand."""

    _core_class: ClassVar[Any]
    _signal: ClassVar[str]

    def __init__(
        self,
        endpoint: Optional[str] = None,
        headers: Headers = None,
        timeout: Optional[float] = None,
        compression: Any = None,
        **options: Unpack[OtlpArguments],
    ):
        self._options = otlp_options(type(self).__name__, endpoint, headers, timeout, compression, options)
        self._core = self._core_class(self._options)
        self._meter_provider = options.get("meter_provider")
        self._self_metrics = report_otlp(self, self._signal, self._meter_provider)
        self._created()

    def _created(self) -> None:
        """Called at the end of ``__init__``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(protocol={self._options.protocol!r})"
