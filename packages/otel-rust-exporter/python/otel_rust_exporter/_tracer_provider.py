"""``RustTracerProvider``: the SDK's TracerProvider whose spans live in Rust."""

from __future__ import annotations

import logging
import warnings
from typing import Any, Optional, Union

from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import (
    ConcurrentMultiSpanProcessor,
    SpanLimits,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    Tracer,
    TracerProvider,
    _TracerConfig,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationInfo, InstrumentationScope
from opentelemetry.trace import NoOpTracer
from opentelemetry.util import types

from otel_rust_exporter import _diagnostics, _native
from otel_rust_exporter._trace import RustSpanProcessor

_logger = logging.getLogger("opentelemetry.sdk.trace")


class RustTracer(Tracer):
    """The SDK's Tracer, with ``start_span`` and ``start_as_current_span`` native: the
    span they make (``NativeSpan``) keeps its data in Rust, and its ``end()`` queues it
    straight into every ``RustSpanProcessor`` of the provider."""

    def __init__(self, native_provider: _native.ProviderCore, *args: Any, **kwargs: Any) -> None:
        # Here, not at the top: _sdk_compat imports the SDK's slow configuration module.
        from otel_rust_exporter._sdk_compat import recording_tracer_metrics

        super().__init__(*args, **kwargs)
        self._core = _native.TracerCore(
            native_provider,
            self.resource,
            self._instrumentation_scope,
            self._span_limits,
            self.sampler,
            self.id_generator,
            recording_tracer_metrics(self),
            self.instrumentation_info,
        )
        self._core.set_enabled(self._tracer_config.is_enabled)
        # The native methods themselves, bound on the instance: no Python frame per span.
        self.start_span = self._core.start_span  # type: ignore[method-assign]
        self.start_as_current_span = self._core.start_as_current_span  # type: ignore[method-assign,assignment]

    def _set_tracer_config(self, tracer_config: _TracerConfig) -> None:
        super()._set_tracer_config(tracer_config)
        self._core.set_enabled(tracer_config.is_enabled)

    def _set_resource(self, resource: Resource) -> None:
        super()._set_resource(resource)
        self._core.set_resource(resource)


class RustTracerProvider(TracerProvider):
    """A drop-in ``TracerProvider`` whose spans are native (``NativeSpan``) from
    ``start_span`` to export, with the SDK's semantics: resource, samplers, id generators,
    span limits, tracer configuration, Python span processors (they get a ``ReadableSpan``,
    built only for them), shutdown and ``force_flush``. Pair it with ``RustSpanProcessor``:
    an ended span goes to its queue with no conversion step."""

    def __init__(
        self,
        sampler: Optional[Sampler] = None,
        resource: Optional[Resource] = None,
        shutdown_on_exit: bool = True,
        active_span_processor: Union[
            SynchronousMultiSpanProcessor, ConcurrentMultiSpanProcessor, None
        ] = None,
        id_generator: Optional[IdGenerator] = None,
        span_limits: Optional[SpanLimits] = None,
        **keywords: Any,
    ) -> None:
        from otel_rust_exporter._sdk_compat import native_spans_unsupported

        unsupported = native_spans_unsupported()
        if unsupported:
            raise RuntimeError(f"RustTracerProvider cannot run here: {unsupported}")
        super().__init__(
            sampler=sampler,
            resource=resource,
            shutdown_on_exit=shutdown_on_exit,
            active_span_processor=active_span_processor,
            id_generator=id_generator,
            span_limits=span_limits,
            **keywords,
        )
        self._native = _native.ProviderCore(self._active_span_processor)
        self._native.set_processors(self._processors())

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self._native.set_processors(self._processors())

    def _processors(self) -> list[Any]:
        """The SDK's synchronous multi-processor is unpacked, ours given as their native
        core (queued to directly); any other (the concurrent one, a custom one) is called
        as it is."""
        active = self._active_span_processor
        if type(active) is not SynchronousMultiSpanProcessor:
            return [active]
        return [
            processor._core if isinstance(processor, RustSpanProcessor) else processor
            for processor in active._span_processors
        ]

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: Optional[str] = None,
        schema_url: Optional[str] = None,
        attributes: types.Attributes = None,
    ) -> trace_api.Tracer:
        # The SDK's get_tracer, making a RustTracer.
        if self._disabled:
            return NoOpTracer()
        if not instrumenting_module_name:
            instrumenting_module_name = ""
            _logger.error("get_tracer called with missing module name.")
        if instrumenting_library_version is None:
            instrumenting_library_version = ""
        # As the SDK's: InstrumentationInfo is still made, for Tracer.instrumentation_info.
        warnings.filterwarnings(
            "ignore",
            message=r"You should use InstrumentationScope. Deprecated since version 1.11.1.",
            category=DeprecationWarning,
            module=__name__,
        )
        instrumentation_info = InstrumentationInfo(
            instrumenting_module_name, instrumenting_library_version, schema_url
        )
        scope = InstrumentationScope(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )
        with self._tracers_lock:
            if scope in self._tracers:
                return self._tracers[scope]
            arguments = (
                self.sampler,
                self.resource,
                self._active_span_processor,
                self.id_generator,
                instrumentation_info,
                self._span_limits,
                scope,
            )
            keywords = {
                "meter_provider": self._meter_provider,
                "_tracer_config": self._apply_tracer_configurator(scope),
            }
            tracer: Tracer
            try:
                tracer = RustTracer(self._native, *arguments, **keywords)
            except Exception as error:
                _diagnostics.warn(
                    f"tracer {instrumenting_module_name!r} makes the SDK's spans: "
                    f"its settings cannot be read natively ({error})"
                )
                tracer = Tracer(*arguments, **keywords)
            self._tracers[scope] = tracer
        return tracer
