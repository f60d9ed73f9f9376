"""Self-metrics with the SDK's semantic conventions ("OpenTelemetry SDK metrics").

With ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true`` our processors and exporters report
the instruments the stock ``BatchSpanProcessor`` / ``BatchLogRecordProcessor`` and OTLP
exporters report (same names, units, descriptions and attributes), plus a few of our own
under ``otel_rust_exporter.*``. Every count is read from the native counters by observable
instruments when the metrics are collected: nothing runs per span or record. Export
durations are handed over at collection too, into the stock histogram. See
docs/OPERATIONS.md.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional
from urllib.parse import urlparse

from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter_provider

from otel_rust_exporter import _diagnostics

ENABLED_VARIABLE = "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"

# The semantic conventions' attribute keys (as in opentelemetry-semantic-conventions).
COMPONENT_TYPE = "otel.component.type"
COMPONENT_NAME = "otel.component.name"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
RPC_RESPONSE_STATUS_CODE = "rpc.response.status_code"
# gRPC codes as our error.type spells them (snake_case); stock records the upper-case name.
_GRPC_CODES = {
    "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
    "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
    "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated",
}  # fmt: skip

# The semantic conventions have no component type for an SLS exporter.
SLS_LOG_EXPORTER = "sls_log_exporter"

# Item units per signal, as the conventions (and the stock SDK) spell them.
_ITEM = {"traces": "span", "logs": "log_record", "metrics": "data_point"}
_EXPORTED_NAME = {"traces": "span", "logs": "log", "metrics": "metric_data_point"}
_ITEM_PLURAL = {"traces": "spans", "logs": "log records", "metrics": "metric data points"}


def enabled() -> bool:
    """As the stock components read the variable."""
    return os.environ.get(ENABLED_VARIABLE, "").strip().lower() == "true"


_counter_lock = threading.Lock()


def _component(component_type: str, kind: str) -> dict[str, Any]:
    """Attributes naming a new component, numbered in the SDK's count of ``kind``
    ("processor" or "exporter") components so that names never collide with stock ones."""
    # Imported only now, when self-metrics are on: `_sdk_compat` imports the SDK's slow
    # configuration module.
    from otel_rust_exporter import _sdk_compat

    counter = _sdk_compat.component_counter(kind)
    with _counter_lock:
        number = counter[component_type]
        counter[component_type] = number + 1
    return {COMPONENT_TYPE: component_type, COMPONENT_NAME: f"{component_type}/{number}"}


def otlp_exporter_type(signal: str, protocol: str) -> str:
    transport = "grpc" if protocol == "grpc" else "http"
    kind = {"traces": "span", "logs": "log", "metrics": "metric"}[signal]
    return f"otlp_{transport}_{kind}_exporter"


def server_attributes(endpoint: str, grpc: bool) -> dict[str, Any]:
    """``server.address`` and ``server.port`` as the stock exporters derive them."""
    if not endpoint.startswith("//") and "://" not in endpoint:
        endpoint = f"//{endpoint}"
    parsed = urlparse(endpoint)
    try:
        port = parsed.port
    except ValueError:
        port = None
    if port is None:
        if grpc or parsed.scheme == "https":
            port = 443
        elif parsed.scheme == "http":
            port = 80
    attributes: dict[str, Any] = {}
    if parsed.hostname:
        attributes[SERVER_ADDRESS] = parsed.hostname
    if port is not None:
        attributes[SERVER_PORT] = port
    return attributes


class _Exporter:
    """One exporter's attributes; its counters come from ``read()``."""

    def __init__(self, signal: str, component_type: str, server: dict[str, Any]) -> None:
        self.signal = signal
        self.http = component_type.startswith("otlp_http")
        self.grpc = component_type.startswith("otlp_grpc")
        self.attributes = {**_component(component_type, "exporter"), **server}


class Component:
    """A processor (with its exporter inside) or an exporter alone whose native core's
    (``owner._core``) counters are reported, while the owner lives."""

    def __init__(
        self,
        owner: Any,
        signal: str,
        exporter: _Exporter,
        processor_type: Optional[str] = None,
    ) -> None:
        self._owner: Optional[weakref.ref[Any]] = weakref.ref(owner)
        self.signal = signal
        self.exporter = exporter
        self.processor_attributes = _component(processor_type, "processor") if processor_type else None

    def close(self) -> None:
        """Stops reporting (the core was replaced by a processor's)."""
        self._owner = None

    def _live_owner(self) -> Any:
        return None if self._owner is None else self._owner()

    def read(self) -> Optional[dict[str, Any]]:
        owner = self._live_owner()
        if owner is None:
            return None
        snapshot = owner._core.self_metrics()
        if snapshot is None:
            return None
        if self.processor_attributes is None:
            return {"exporter": snapshot}
        return snapshot

    def take_durations(self) -> list[tuple[float, Optional[str]]]:
        owner = self._live_owner()
        return [] if owner is None else owner._core.take_export_durations()


_Callback = Callable[[CallbackOptions], Iterable[Observation]]
# Observations of one processor (its attributes, its counters) or exporter component.
_ProcessorObserver = Callable[[dict[str, Any], dict[str, Any]], Iterable[Observation]]
_ExporterObserver = Callable[["Component", dict[str, Any]], Iterable[Observation]]


class _Instruments:
    """The instruments of one meter provider, created once (a second instrument of the
    same name would be refused by the SDK) and reading every registered component."""

    def __init__(self, meter_provider: MeterProvider) -> None:
        from otel_rust_exporter import __version__

        self._components: weakref.WeakSet[Component] = weakref.WeakSet()
        self._lock = threading.Lock()
        sdk = meter_provider.get_meter("opentelemetry-sdk")
        ours = meter_provider.get_meter("otel_rust_exporter", __version__)
        for signal, item in (("traces", "span"), ("logs", "log")):
            unit = "{" + _ITEM[signal] + "}"
            sdk.create_observable_counter(
                f"otel.sdk.processor.{item}.processed",
                callbacks=[self._processor_callback(signal, self._processed)],
                unit=unit,
                description=f"The number of {_ITEM_PLURAL[signal]} for which the processing has finished, "
                "either successful or failed.",
            )
            # The stock processors spell these two as below (not as the conventions do).
            sdk.create_observable_up_down_counter(
                f"otel.sdk.processor.{item}.queue.size",
                callbacks=[self._processor_callback(signal, self._queue_size)],
                unit="{" + item + "}",
                description=f"The number of {item}s in the queue of a given instance of an SDK "
                f"{item} processor.",
            )
            sdk.create_observable_up_down_counter(
                f"otel.sdk.processor.{item}.queue.capacity",
                callbacks=[self._processor_callback(signal, self._queue_capacity)],
                unit=unit,
                description=self._capacity_description(signal),
            )
            ours.create_observable_counter(
                f"otel_rust_exporter.processor.{item}.dropped",
                callbacks=[self._processor_callback(signal, self._dropped)],
                unit=unit,
                description=f"The number of {_ITEM_PLURAL[signal]} the processor dropped, by error.type "
                "(queue_full, queue_bytes, already_shutdown, unreadable).",
            )
        for signal in ("traces", "logs", "metrics"):
            name = _EXPORTED_NAME[signal]
            unit = "{" + _ITEM[signal] + "}"
            plural = _ITEM_PLURAL[signal]
            sdk.create_observable_counter(
                f"otel.sdk.exporter.{name}.exported",
                callbacks=[self._exporter_callback(signal, self._exported)],
                unit=unit,
                description=f"The number of {plural} for which the export has finished, either successful "
                "or failed.",
            )
            sdk.create_observable_up_down_counter(
                f"otel.sdk.exporter.{name}.inflight",
                callbacks=[self._exporter_callback(signal, self._counter("inflight"))],
                unit=unit,
                description=f"The number of {plural} which were passed to the exporter, but that have not "
                "been exported yet (neither successful, nor failed).",
            )
            ours.create_observable_counter(
                f"otel_rust_exporter.exporter.{name}.rejected",
                callbacks=[self._exporter_callback(signal, self._counter("rejected"))],
                unit=unit,
                description=f"The number of {plural} the receiver reported as rejected in a partial success.",
            )
        ours.create_observable_counter(
            "otel_rust_exporter.exporter.retries",
            callbacks=[self._exporter_callback(None, self._counter("retries"))],
            unit="{request}",
            description="The number of export requests sent again after a failed attempt.",
        )
        ours.create_observable_counter(
            "otel_rust_exporter.exporter.uncompressed_size",
            callbacks=[self._exporter_callback(None, self._counter("uncompressed_bytes"))],
            unit="By",
            description="The size of the export request bodies as encoded, before compression.",
        )
        ours.create_observable_counter(
            "otel_rust_exporter.exporter.sent_size",
            callbacks=[self._exporter_callback(None, self._counter("sent_bytes"))],
            unit="By",
            description="The size of the export request bodies after our compression (gzip for "
            "OTLP/HTTP, lz4 for SLS); for OTLP/gRPC, before the transport's own compression.",
        )
        # The disk spool's counters, for exporters that have one.
        for key, name, unit, description in _SPOOL_INSTRUMENTS:
            create = (
                ours.create_observable_up_down_counter
                if key == "spool_bytes"
                else ours.create_observable_counter
            )
            create(
                name,
                callbacks=[self._exporter_callback(None, self._spool_observer(key))],
                unit=unit,
                description=description,
            )
        self._duration = sdk.create_histogram(
            "otel.sdk.exporter.operation.duration",
            unit="s",
            description="The duration of exporting a batch of telemetry records.",
        )

    @staticmethod
    def _capacity_description(signal: str) -> str:
        if signal == "traces":
            return (
                "The maximum number of spans the queue of a given instance of an SDK span processor can hold."
            )
        return (
            "The maximum number of log records the queue of a given instance of an SDK Log Record "
            "processor can hold."
        )

    def add(self, component: Component) -> None:
        with self._lock:
            self._components.add(component)

    def _snapshots(self, signal: Optional[str]) -> Iterator[tuple[Component, dict[str, Any]]]:
        with self._lock:
            components = list(self._components)
        for component in components:
            if signal is not None and component.signal != signal:
                continue
            try:
                snapshot = component.read()
            except Exception:  # a collection never fails because of us
                continue
            if snapshot is not None:
                yield component, snapshot

    def _processor_callback(self, signal: str, observe: _ProcessorObserver) -> _Callback:
        def callback(_options: CallbackOptions) -> Iterable[Observation]:
            return [
                observation
                for component, snapshot in self._snapshots(signal)
                if component.processor_attributes is not None
                for observation in observe(component.processor_attributes, snapshot)
            ]

        return callback

    def _exporter_callback(self, signal: Optional[str], observe: _ExporterObserver) -> _Callback:
        def callback(_options: CallbackOptions) -> Iterable[Observation]:
            return [
                observation
                for component, snapshot in self._snapshots(signal)
                for observation in observe(component, snapshot["exporter"])
            ]

        return callback

    @staticmethod
    def _processed(attributes: dict, snapshot: dict) -> Iterator[Observation]:
        yield Observation(snapshot["processed"], attributes)
        # As the stock processors report what they drop: `processed` with `error.type`.
        for reason, count in snapshot["dropped"].items():
            if count:
                yield Observation(count, {**attributes, ERROR_TYPE: reason})

    @staticmethod
    def _queue_size(attributes: dict, snapshot: dict) -> Iterator[Observation]:
        yield Observation(snapshot["queue_size"], attributes)

    @staticmethod
    def _queue_capacity(attributes: dict, snapshot: dict) -> Iterator[Observation]:
        yield Observation(snapshot["queue_capacity"], attributes)

    @staticmethod
    def _dropped(attributes: dict, snapshot: dict) -> Iterator[Observation]:
        for reason, count in snapshot["dropped"].items():
            if count:
                yield Observation(count, {**attributes, ERROR_TYPE: reason})

    def _exported(self, component: Component, exporter: dict) -> Iterator[Observation]:
        # Durations are handed over here, once per collection, into the stock histogram.
        self._record_durations(component)
        attributes = component.exporter.attributes
        yield Observation(exporter["delivered"], attributes)
        for error_type, count in exporter["failed"].items():
            yield Observation(count, {**attributes, ERROR_TYPE: error_type})

    def _record_durations(self, component: Component) -> None:
        attributes = component.exporter.attributes
        for seconds, error_type in component.take_durations():
            if error_type is None:
                self._duration.record(seconds, attributes)
                continue
            failed = {**attributes, ERROR_TYPE: error_type}
            if component.exporter.http and error_type.isdigit():
                failed[HTTP_RESPONSE_STATUS_CODE] = int(error_type)
            elif component.exporter.grpc and error_type in _GRPC_CODES:
                failed[RPC_RESPONSE_STATUS_CODE] = error_type.upper()
            self._duration.record(seconds, failed)

    @staticmethod
    def _counter(key: str) -> _ExporterObserver:
        def observe(component: Component, exporter: dict) -> Iterator[Observation]:
            yield Observation(exporter[key], component.exporter.attributes)

        return observe

    @staticmethod
    def _spool_observer(key: str) -> _ExporterObserver:
        def observe(component: Component, exporter: dict) -> Iterator[Observation]:
            if key in exporter:
                yield Observation(exporter[key], component.exporter.attributes)

        return observe


# (key in the exporter's counters, instrument name, unit, description) of the disk spool.
_SPOOL_INSTRUMENTS = [
    ("spooled", "otel_rust_exporter.exporter.spool.written", "{item}", "Items written to the disk spool."),
    (
        "replayed",
        "otel_rust_exporter.exporter.spool.replayed",
        "{item}",
        "Items delivered from the disk spool.",
    ),
    (
        "spool_dropped",
        "otel_rust_exporter.exporter.spool.dropped",
        "{item}",
        "Items lost from the disk spool: evicted for its size cap, or refused for good at replay.",
    ),
    (
        "spool_corrupt",
        "otel_rust_exporter.exporter.spool.corrupt",
        "{file}",
        "Spool files set aside as corrupt.",
    ),
    ("spool_bytes", "otel_rust_exporter.exporter.spool.size", "By", "The spool directory's total size."),
]


# By meter provider; `None` is the global one, whoever asks first creating the instruments
# (through the proxy, before the SDK sets the real provider): one set per provider, since
# the SDK refuses a second observable instrument of the same name.
_instruments: dict[Optional[int], tuple[MeterProvider, _Instruments]] = {}
_instruments_lock = threading.Lock()


def _instruments_for(meter_provider: Optional[MeterProvider]) -> _Instruments:
    global_provider = get_meter_provider()
    if meter_provider is global_provider:
        meter_provider = None
    key = None if meter_provider is None else id(meter_provider)
    with _instruments_lock:
        entry = _instruments.get(key)
        if entry is None or (meter_provider is not None and entry[0] is not meter_provider):
            provider = meter_provider or global_provider
            entry = (provider, _Instruments(provider))
            _instruments[key] = entry
        return entry[1]


def _register(
    owner: Any,
    signal: str,
    meter_provider: Optional[MeterProvider],
    exporter: _Exporter,
    processor_type: Optional[str],
) -> Component:
    component = Component(owner, signal, exporter, processor_type)
    _instruments_for(meter_provider).add(component)
    # From now on the core keeps export durations for the histogram.
    component.take_durations()
    return component


def _never_raises(register: Callable[..., Optional[Component]]) -> Callable[..., Optional[Component]]:
    """Self-metrics are telemetry too: a broken ``meter_provider`` costs a warning, never an
    exception in the application."""

    def guarded(*args: Any, **kwargs: Any) -> Optional[Component]:
        try:
            return register(*args, **kwargs)
        except Exception as error:
            _diagnostics.warn(f"self-metrics are off for this component: {type(error).__name__}: {error}")
            return None

    return guarded


@_never_raises
def report_otlp(
    owner: Any,
    signal: str,
    meter_provider: Optional[MeterProvider],
    processor_type: Optional[str] = None,
    adopted: Optional[Component] = None,
) -> Optional[Component]:
    """Reports the counters of `owner`'s OTLP core through `meter_provider` (or the global one) when
    the self-metrics are enabled. A processor made from an exporter ``adopted`` takes over
    that exporter's component name. The caller keeps the returned component alive."""
    if not enabled():
        return None
    if adopted is not None:
        adopted.close()
        exporter = adopted.exporter
    else:
        core = owner._core
        grpc = core.protocol == "grpc"
        exporter = _Exporter(
            signal, otlp_exporter_type(signal, core.protocol), server_attributes(core.endpoint, grpc)
        )
    return _register(owner, signal, meter_provider, exporter, processor_type)


@_never_raises
def report_sls(
    owner: Any,
    meter_provider: Optional[MeterProvider],
    processor_type: Optional[str] = None,
    adopted: Optional[Component] = None,
) -> Optional[Component]:
    """As ``report_otlp``, for the SLS cores (not reported while disabled)."""
    if not enabled() or owner._core.server is None:
        return None
    if adopted is not None:
        adopted.close()
        exporter = adopted.exporter
    else:
        host, port = owner._core.server
        exporter = _Exporter("logs", SLS_LOG_EXPORTER, {SERVER_ADDRESS: host, SERVER_PORT: port})
    return _register(owner, "logs", meter_provider, exporter, processor_type)
