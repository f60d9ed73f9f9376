"""Every use we make of opentelemetry-sdk internals, in one place.

The facades (this package and ``otel_sls_exporter``, which needs none today) reach SDK
internals only through the names below; the logs SDK's ``opentelemetry.sdk._logs`` is its
documented import path, not an internal. Each name says what it relies on and the SDK
versions it was read against; the supported range is opentelemetry-sdk 1.40 to 1.45.2, and
tests/packaging/test_sdk_compat.py runs every check against the lowest (1.40.0) and the newest
(1.45.2) of it. When the range moves, re-read the sources named here and update the
"Checked" lines.

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
from dataclasses import dataclass
from importlib import import_module
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
