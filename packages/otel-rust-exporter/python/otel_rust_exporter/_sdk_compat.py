"""Every use we make of opentelemetry-sdk internals, in one place.

The facades (this package and ``otel_sls_exporter``, which needs none today) reach SDK
internals only through the names below; the logs SDK's ``opentelemetry.sdk._logs`` is its
documented import path, not an internal. Each name says what it relies on and the SDK
versions it was read against; the supported range is opentelemetry-sdk 1.40 to 1.45.2, and
tests/packaging/test_sdk_compat.py runs every check against the lowest (1.40.0) and the newest
(1.45.2) of it. Native spans (``RustTracerProvider``) need 1.45.0 or newer
(``NATIVE_SPANS_LOWEST_SDK``), also checked; its module subclasses the SDK's provider and
tracer and uses the private members ``SUBCLASS_MEMBERS`` lists, which the test matches to
the source and finds in the SDKs. When the range moves, re-read the sources named here and
update the "Checked" lines.

The native code reads some private fields too (the hot path cannot afford a Python call per
field); ``NATIVE_READS`` lists them, and the same test checks that the list matches what the
Rust sources read and that every field is there, with the expected contents, in both SDKs.

Importing this module imports the SDK's configuration module (slow: it loads the metrics SDK
and more), so modules on the import path of the processors import it where it is used.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import import_module, metadata
from types import FrameType
from typing import Any, Optional

from opentelemetry.sdk._configuration import _initialize_components, _OTelSDKConfigurator


class SdkConfigurator(_OTelSDKConfigurator):
    """The SDK's own configurator, whose keyword arguments for ``_initialize_components``
    subclasses may add to by overriding ``initialize``.

    Relies on: ``_BaseConfigurator.configure(**kwargs)`` calling ``self._configure(**kwargs)``,
    and ``_OTelSDKConfigurator._configure`` passing them to ``_initialize_components``
    (both in ``opentelemetry.sdk._configuration``). Checked: 1.40.0, 1.45.2.
    """

    def _configure(self, **kwargs: Any) -> None:
        self.initialize(kwargs)

    def initialize(self, kwargs: dict[str, Any]) -> None:
        """Configures the SDK with ``kwargs`` (what ``configure`` was given, plus additions)."""
        super()._configure(**kwargs)


def initialize_components_parameters() -> frozenset[str]:
    """The keyword arguments ``_initialize_components`` accepts, by signature inspection.

    Relies on: ``opentelemetry.sdk._configuration._initialize_components`` taking the
    processor hooks ``export_span_processor`` and ``export_log_record_processor`` as keyword
    arguments (first in 1.40). Checked: 1.40.0, 1.45.2.
    """
    return frozenset(inspect.signature(_initialize_components).parameters)


def created_by_sdk_tracing_setup() -> bool:
    """Whether the code calling into this package (a span exporter's constructor) was
    called by the SDK's auto-configuration of tracing, which creates each span exporter
    and wraps it in the span processor.

    Relies on: the exporter being constructed directly in
    ``opentelemetry.sdk._configuration._init_tracing`` (frame inspection, by function name).
    Checked: 1.40.0, 1.45.2.
    """
    frame: Optional[FrameType] = sys._getframe(1)
    # Past this package's frames and the constructors (a subclass's, the bases').
    while frame is not None and (
        frame.f_code.co_name == "__init__"
        or frame.f_globals.get("__name__", "").startswith("otel_rust_exporter.")
    ):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_name == "_init_tracing"


_COMPONENT_COUNTER_MODULES = {
    "processor": "opentelemetry.sdk._shared_internal._processor_metrics",
    "exporter": "opentelemetry.exporter.otlp.common._exporter_metrics",
}


@functools.cache
def component_counter(kind: str) -> Counter:
    """The SDK's count of ``kind`` ("processor" or "exporter") components by component
    type, so that our ``otel.component.name`` values (``{type}/{n}``) never collide with
    the stock components' in the same process; a counter of our own (the same one on every
    call) when the SDK has none.

    Relies on: ``_component_counter``, a ``collections.Counter`` keyed by the component
    type's value, in ``opentelemetry.sdk._shared_internal._processor_metrics`` (span and log
    processors) and ``opentelemetry.exporter.otlp.common._exporter_metrics`` (OTLP exporters;
    distribution opentelemetry-exporter-otlp-common, which pins the SDK it ships with).
    Checked: SDK 1.45.2 with exporter-otlp-common 0.66b2; both absent in 1.40.0, whose stock
    components report no self-metrics.
    """
    try:
        return import_module(_COMPONENT_COUNTER_MODULES[kind])._component_counter
    except (ImportError, AttributeError):
        return Counter()


@contextmanager
def tracer_provider_class_while_configuring(provider_class: type) -> Iterator[None]:
    """``opentelemetry.sdk._configuration`` makes ``TracerProvider(...)`` by its module's
    global name and has no hook for the class: ``provider_class`` takes the name while the
    SDK configures (at start-up, before the application's threads), then the SDK's again.

    Relies on: ``_init_tracing`` calling the module global ``TracerProvider``.
    Checked: 1.45.2.
    """
    from opentelemetry.sdk import _configuration

    sdk_class = _configuration.TracerProvider
    _configuration.TracerProvider = provider_class  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        _configuration.TracerProvider = sdk_class  # type: ignore[misc]


def current_context_var() -> Optional[ContextVar[Any]]:
    """The ContextVar holding the current ``opentelemetry.context.Context`` when the runtime
    context is the default ``ContextVarsRuntimeContext`` (native spans then get, set and
    reset it themselves); ``None`` for any other (the API's functions are called).

    Relies on: ``opentelemetry.context._RUNTIME_CONTEXT`` and its ``_current_context``.
    Checked: opentelemetry-api 1.45.2.
    """
    from opentelemetry import context
    from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext

    runtime = getattr(context, "_RUNTIME_CONTEXT", None)
    if type(runtime) is ContextVarsRuntimeContext:
        variable = getattr(runtime, "_current_context", None)
        if isinstance(variable, ContextVar):
            return variable
    return None


NATIVE_SPANS_LOWEST_SDK = "1.45.0"


def native_spans_unsupported() -> Optional[str]:
    """Why the installed SDK cannot host ``RustTracerProvider``; ``None`` when it can.

    Native spans clean attributes by the rules of opentelemetry-api 1.45 (values of any
    ``AnyValue`` type, maps included; older APIs refuse maps), so an older API would see
    other attributes from them than from its own spans.

    Relies on: ``opentelemetry.attributes._clean_attribute_value`` (the 1.45 rules; absent
    before), and ``TracerProvider`` keeping one tracer per scope (``_tracers``,
    ``_tracers_lock``) made with ``_apply_tracer_configurator(scope)`` (1.41+).
    Checked: 1.40.0, 1.44.0, 1.45.0, 1.45.2.
    """
    from opentelemetry import attributes
    from opentelemetry.sdk.trace import TracerProvider

    if not (
        hasattr(attributes, "_clean_attribute_value")
        and hasattr(TracerProvider, "_apply_tracer_configurator")
    ):
        installed = metadata.version("opentelemetry-sdk")
        return (
            f"opentelemetry-sdk {installed} is older than {NATIVE_SPANS_LOWEST_SDK}, "
            "whose attribute rules native spans implement"
        )
    return None


# The private members of the SDK's classes that ``RustTracerProvider`` and ``RustTracer``
# (``_tracer_provider.py``, subclasses of the SDK's) use, by class: ``get_tracer`` is the
# SDK's, step for step, making our tracer. (``_native_spans.py`` fills the bounded
# containers' ``_dict`` and ``_dq``, listed in ``NATIVE_READS``.) Checked: 1.45.0, 1.45.2.
SUBCLASS_MEMBERS: dict[str, tuple[str, ...]] = {
    "opentelemetry.sdk.trace.TracerProvider": (
        "_active_span_processor",
        "_apply_tracer_configurator",
        "_disabled",
        "_meter_provider",
        "_span_limits",
        "_tracers",
        "_tracers_lock",
    ),
    "opentelemetry.sdk.trace.Tracer": (
        "_instrumentation_scope",
        "_set_resource",
        "_set_tracer_config",
        "_span_limits",
        "_tracer_config",
    ),
    "opentelemetry.sdk.trace.SynchronousMultiSpanProcessor": ("_span_processors",),
}


def recording_tracer_metrics(tracer: Any) -> Optional[Any]:
    """The tracer's span metrics (``start_span(parent, decision)`` returns what ``end()``
    calls), ``None`` when they record nothing.

    Relies on: ``Tracer._tracer_metrics``, ``NoOpTracerMetrics`` when the SDK's own metrics
    are off. Checked: 1.45.0, 1.45.2.
    """
    metrics = tracer._tracer_metrics
    return None if type(metrics).__name__ == "NoOpTracerMetrics" else metrics


def builtin_sampler_parts(sampler: Any) -> Optional[tuple[Any, ...]]:
    """The SDK's built-in samplers (exact types: a subclass may override ``should_sample``)
    as native spans decide them: ``("static", decision)``, ``("ratio", bound)`` or
    ``("parent_based", root, remote sampled, remote not sampled, local sampled, local not
    sampled)``; ``None`` for any other sampler, which is called.

    Relies on: ``StaticSampler._decision``; ``ParentBased._root``,
    ``_remote_parent_sampled``, ``_remote_parent_not_sampled``, ``_local_parent_sampled``,
    ``_local_parent_not_sampled`` (``opentelemetry.sdk.trace.sampling``). Checked: 1.45.2.
    """
    from opentelemetry.sdk.trace import sampling

    kind = type(sampler)
    try:
        if kind in (sampling.StaticSampler, sampling._AlwaysOn, sampling._AlwaysOff):
            return ("static", sampler._decision.value)
        if kind is sampling.TraceIdRatioBased:
            return ("ratio", sampler.bound)
        if kind in (
            sampling.ParentBased,
            sampling.ParentBasedTraceIdRatio,
            sampling._ParentBasedAlwaysOn,
            sampling._ParentBasedAlwaysOff,
        ):
            return (
                "parent_based",
                sampler._root,
                sampler._remote_parent_sampled,
                sampler._remote_parent_not_sampled,
                sampler._local_parent_sampled,
                sampler._local_parent_not_sampled,
            )
    except AttributeError:  # renamed in another SDK: called as any sampler is
        return None
    return None


@dataclass(frozen=True)
class NativeRead:
    """A private field the native code reads directly.

    ``public`` is what it reads instead when the object lacks the field (another
    implementation of the interface, or an SDK that renamed it), ``None`` when it then
    skips the fast path. ``owner`` names the SDK class.
    """

    owner: str
    private: str
    public: Optional[str]
    reader: str


_CONVERT = "packages/otel-rust-exporter/src/read"
_SPAN = f"{_CONVERT}/span.rs"
_BRIDGE = "packages/rust-bridge/src/target.rs"

# Checked: 1.40.0, 1.45.2 (opentelemetry-sdk and opentelemetry-api).
NATIVE_READS: tuple[NativeRead, ...] = (
    # `ReadableSpan`'s properties copy or wrap; the fields are read as they are.
    *(
        NativeRead("opentelemetry.sdk.trace.ReadableSpan", f"_{name}", name, _SPAN)
        for name in (
            "context",
            "parent",
            "attributes",
            "events",
            "links",
            "status",
            "resource",
            "instrumentation_scope",
            "name",
            "kind",
            "start_time",
            "end_time",
        )
    ),
    *(
        NativeRead("opentelemetry.sdk.trace.Event", f"_{name}", name, _SPAN)
        for name in ("attributes", "timestamp", "name")
    ),
    *(NativeRead("opentelemetry.trace.Link", f"_{name}", name, _SPAN) for name in ("context", "attributes")),
    *(
        NativeRead("opentelemetry.trace.status.Status", f"_{name}", name, _SPAN)
        for name in ("status_code", "description")
    ),
    # Containers whose Python iteration takes a lock or builds copies: their plain dict/deque.
    NativeRead("opentelemetry.attributes.BoundedAttributes", "_dict", "items", f"{_CONVERT}/attributes.rs"),
    NativeRead("opentelemetry.trace.span.TraceState", "_dict", "items", _SPAN),
    NativeRead("opentelemetry.sdk.util.BoundedList", "_dq", "__iter__", _SPAN),
    # `Enum.value` is a descriptor; `_value_` the plain attribute behind it (stdlib enum).
    NativeRead("enum.Enum", "_value_", "value", f"{_CONVERT}/fields.rs"),
    # The bridge finds the provider (and its processors) that Rust spans are exported to.
    NativeRead("opentelemetry.sdk.trace.Span", "_span_processor", None, _BRIDGE),
    NativeRead("opentelemetry.sdk.trace.Span", "_resource", None, _BRIDGE),
    NativeRead("opentelemetry.sdk.trace.TracerProvider", "_active_span_processor", None, _BRIDGE),
    NativeRead("opentelemetry.sdk.trace.SynchronousMultiSpanProcessor", "_span_processors", None, _BRIDGE),
)
