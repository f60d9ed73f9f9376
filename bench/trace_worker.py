"""One measured pass of one trace pipeline, in a fresh interpreter; run by ``bench_traces.py``.

Prints one JSON object on stdout. Nothing from OpenTelemetry is imported at module level:
the child times those imports itself, so this module must stay stdlib-only at the top.

Passes:
  timing  loop wall time, main-thread CPU, process CPU up to the end of the final flush,
          max RSS and import time;
  probe   the ops/ms of a pure-Python counting thread ("Rustifying Python" talk) while the
          pipeline exports: the workload is queued whole first (queue and batch as large as
          the workload, no timer), then the probe counts while ``force_flush`` exports it
          and the main thread waits, as an application thread would go on working. Compared
          with the probe alone while the main thread sleeps for ``--idle-seconds``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import threading
import time
from typing import Any, Callable

FLUSH_TIMEOUT_MILLIS = 120_000

# The two span shapes. Attribute values mix the OTLP value types; events carry two attributes.
LIGHT_ATTRIBUTES = {
    "http.request.method": "GET",
    "url.path": "/api/v1/orders",
    "http.response.status_code": 200,
    "server.duration_ratio": 0.25,
    "cache.enabled": True,
}
HEAVY_ATTRIBUTES = {
    f"app.attribute_{index:02d}": (f"value-{index:02d}", index, index * 0.5, index % 2 == 0)[index % 4]
    for index in range(50)
}
EVENT_ATTRIBUTES = {"event.sequence": 1, "event.detail": "cache lookup"}
# A web request: a server span with the children a handler makes (queries, a cache, an
# outgoing call), each small: many cheap spans per unit of application work.
WEB_REQUEST_ATTRIBUTES = {
    "http.request.method": "GET",
    "url.path": "/api/v1/orders/42",
    "http.route": "/api/v1/orders/{id}",
    "http.response.status_code": 200,
    "user_agent.original": "bench/1.0",
}
WEB_CHILDREN = [
    (
        "db.query",
        {"db.system.name": "postgresql", "db.operation.name": "SELECT", "db.collection.name": "orders"},
    ),
    (
        "db.query",
        {"db.system.name": "postgresql", "db.operation.name": "SELECT", "db.collection.name": "items"},
    ),
    ("cache.get", {"cache.key": "customer:42", "cache.hit": True}),
    (
        "http.client",
        {"http.request.method": "POST", "server.address": "payments", "http.response.status_code": 201},
    ),
    ("render", {"template": "order.html"}),
]
SHAPES: dict[str, dict[str, Any]] = {
    "light": {"attributes": LIGHT_ATTRIBUTES, "events": ["cache.lookup"], "children": []},
    "heavy": {
        "attributes": HEAVY_ATTRIBUTES,
        "events": [f"step.{index}" for index in range(10)],
        "children": [],
    },
    "web": {"attributes": WEB_REQUEST_ATTRIBUTES, "events": [], "children": WEB_CHILDREN},
}

# What each pipeline imports on top of its base, as (module, name used): both are timed.
# Reading the name matters: otel_rust_exporter loads its native module on first attribute use.
SDK_BASE = [("opentelemetry.sdk.trace", "TracerProvider")]
BASE_IMPORTS = {"pytracingx": []}
PIPELINE_IMPORTS = {
    "floor": [],
    "stock-http": [
        ("opentelemetry.sdk.trace.export", "BatchSpanProcessor"),
        ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter"),
    ],
    "stock-grpc": [
        ("opentelemetry.sdk.trace.export", "BatchSpanProcessor"),
        ("opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "OTLPSpanExporter"),
    ],
    "pytracingx": [("pytracingx", "start_span")],
    "ours-http": [("otel_rust_exporter", "RustSpanProcessor")],
    "ours-grpc": [("otel_rust_exporter", "RustSpanProcessor")],
    # RustTracerProvider (native spans) with our HTTP processor.
    "ours-native-http": [
        ("otel_rust_exporter", "RustTracerProvider"),
        ("otel_rust_exporter", "RustSpanProcessor"),
    ],
}
MODES = list(PIPELINE_IMPORTS)
# Our HTTP pipeline with its self-metrics on, collected every second (bench_traces.py
# --self-metrics compares it with "ours-http").
SELF_METRICS_MODE = "ours-http-self-metrics"
PIPELINE_IMPORTS[SELF_METRICS_MODE] = PIPELINE_IMPORTS["ours-http"]
SELF_METRICS_INTERVAL_MILLIS = 1000


def import_seconds(imports: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for module, name in imports:
        getattr(importlib.import_module(module), name)
    return time.perf_counter() - start


def peak_rss_kib() -> int:
    """VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across a
    vfork+exec, so a child started by a 70 MiB parent would never report less than 70 MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


class Pipeline:
    """What a pass needs from a pipeline: a span factory, flush, shutdown, and its counters."""

    def __init__(
        self,
        start_span: Callable[..., Any],
        flush: Callable[[], Any],
        shutdown: Callable[[], Any],
        stats: Callable[[], dict[str, int] | None] = lambda: None,
    ):
        self.start_span = start_span
        self.flush = flush
        self.shutdown = shutdown
        self.stats = stats


def build_pipeline(mode: str, http_endpoint: str, grpc_endpoint: str, backlog: int = 0) -> Pipeline:
    """Default settings, or with ``backlog``: hold that many spans and export only on flush."""
    batching: dict[str, Any] = {}
    if backlog:
        # One more than the backlog: a full batch would start the export before the flush.
        batching = {
            "max_queue_size": backlog + 1,
            "max_export_batch_size": backlog + 1,
            "schedule_delay_millis": 3_600_000,
        }
    if mode == "pytracingx":
        import pytracingx

        # It replaces the SDK: its own Rust tracer, batcher and OTLP exporter, at defaults.
        sink = pytracingx.TraceSink(
            endpoint=http_endpoint,
            protocol="http/protobuf",
            batch_max_queue=batching.get("max_queue_size"),
            batch_max_export=batching.get("max_export_batch_size"),
            batch_schedule_delay_ms=batching.get("schedule_delay_millis"),
        )
        pytracingx.init(pytracingx.Config(service_name="bench", console_output=False, sinks=[sink]))
        return Pipeline(pytracingx.start_span, pytracingx.force_flush, pytracingx.shutdown)

    from opentelemetry.sdk.trace import TracerProvider

    if mode == "ours-native-http":
        from otel_rust_exporter import RustTracerProvider

        provider = RustTracerProvider()
    else:
        provider = TracerProvider()
    processor = None
    meter_provider = None
    if mode == "stock-http":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=http_endpoint), **batching)
    elif mode == "stock-grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=grpc_endpoint, insecure=True), **batching)
    elif mode in ("ours-http", "ours-native-http"):
        from otel_rust_exporter import RustSpanProcessor

        processor = RustSpanProcessor(endpoint=http_endpoint, **batching)
    elif mode == "ours-grpc":
        from otel_rust_exporter import RustSpanProcessor

        processor = RustSpanProcessor(endpoint=grpc_endpoint, protocol="grpc", **batching)
    elif mode == SELF_METRICS_MODE:
        from otel_rust_exporter import RustSpanProcessor

        # Set only while our processor is made: the SDK's tracers read the same variable and
        # would add their own (per-span, Python) metrics, which are not what is measured.
        os.environ["OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"] = "true"
        meter_provider = collecting_meter_provider()
        processor = RustSpanProcessor(endpoint=http_endpoint, meter_provider=meter_provider, **batching)
        del os.environ["OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"]
    if processor is not None:
        provider.add_span_processor(processor)
    return Pipeline(
        provider.get_tracer("bench").start_as_current_span,
        lambda: provider.force_flush(FLUSH_TIMEOUT_MILLIS),
        lambda: (provider.shutdown(), meter_provider and meter_provider.shutdown()),
        getattr(processor, "stats", lambda: None),
    )


def collecting_meter_provider() -> Any:
    """A meter provider whose reader collects every second and discards the data: the
    collection work without an exporter's."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )

    class Discard(MetricExporter):
        def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
            pass

    reader = PeriodicExportingMetricReader(Discard(), export_interval_millis=SELF_METRICS_INTERVAL_MILLIS)
    return MeterProvider(metric_readers=[reader])


def run_workload(pipeline: Pipeline, shape: str, count: int) -> None:
    """``count`` spans: each top-level span with its events and children (``count`` is
    rounded down to whole top-level spans)."""
    attributes = SHAPES[shape]["attributes"]
    events = SHAPES[shape]["events"]
    children = SHAPES[shape]["children"]
    start_span = pipeline.start_span
    for _ in range(count // (1 + len(children))):
        with start_span("bench.operation", attributes=attributes) as span:
            for event in events:
                span.add_event(event, EVENT_ATTRIBUTES)
            for child, child_attributes in children:
                with start_span(child, attributes=child_attributes):
                    pass


def cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def measure_pass(
    loop: Callable[[], None],
    flush: Callable[[], Any],
    stats: Callable[[], Any],
    shutdown: Callable[[], Any],
) -> dict[str, Any]:
    """A timing pass's measures around ``loop`` (shared with ``log_worker.py``): its wall
    time and main-thread CPU, the process CPU up to the end of ``flush`` and ``shutdown``,
    peak RSS, and the processor's counters read between flush and shutdown."""
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_before = time.perf_counter()
    thread_before = time.thread_time()
    loop()
    thread_after = time.thread_time()
    wall_after_loop = time.perf_counter()
    usage_after_loop = resource.getrusage(resource.RUSAGE_SELF)
    flush()
    # Read between flush and shutdown: everything accepted has been exported or dropped.
    processor_stats = stats()
    shutdown()
    wall_after_flush = time.perf_counter()
    usage_after_flush = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "loop_seconds": wall_after_loop - wall_before,
        "loop_thread_cpu_seconds": thread_after - thread_before,
        "loop_process_cpu_seconds": cpu_seconds(usage_after_loop) - cpu_seconds(usage_before),
        "process_cpu_seconds": cpu_seconds(usage_after_flush) - cpu_seconds(usage_before),
        "flush_seconds": wall_after_flush - wall_after_loop,
        "max_rss_kib": peak_rss_kib(),
        "processor_stats": processor_stats,
    }


def timing_pass(mode: str, shape: str, count: int, http_endpoint: str, grpc_endpoint: str) -> dict:
    base_import = import_seconds(BASE_IMPORTS.get(mode, SDK_BASE))
    pipeline_import = import_seconds(PIPELINE_IMPORTS[mode])
    pipeline = build_pipeline(mode, http_endpoint, grpc_endpoint)
    measures = measure_pass(
        lambda: run_workload(pipeline, shape, count), pipeline.flush, pipeline.stats, pipeline.shutdown
    )
    return {"base_import_seconds": base_import, "pipeline_import_seconds": pipeline_import, **measures}


class Probe:
    """The counting thread from the "Rustifying Python" talk: its rate is the GIL share left."""

    WARM_UP_SECONDS = 0.05

    def __init__(self) -> None:
        self.running = True
        self.count = 0
        self._thread = threading.Thread(target=self._count, daemon=True)

    def _count(self) -> None:
        while self.running:
            self.count += 1

    def measure(self, activity: Callable[[], None]) -> tuple[float, float]:
        """Runs ``activity`` with the probe counting; returns (ops per ms, seconds).

        Counted only over ``activity``, after a warm-up, so that thread start-up does not
        weigh on short activities (a fast export takes tens of milliseconds)."""
        self._thread.start()
        time.sleep(self.WARM_UP_SECONDS)
        count_before, start = self.count, time.perf_counter()
        activity()
        count_after, elapsed = self.count, time.perf_counter() - start
        self.running = False
        self._thread.join()
        return (count_after - count_before) / (elapsed * 1000), elapsed


def probe_pass(
    mode: str, shape: str, count: int, http_endpoint: str, grpc_endpoint: str, idle_seconds: float
) -> dict:
    import_seconds(BASE_IMPORTS.get(mode, SDK_BASE) + PIPELINE_IMPORTS[mode])
    pipeline = build_pipeline(mode, http_endpoint, grpc_endpoint, backlog=count)
    # Idle first, with the pipeline built but empty, so no export is running.
    idle_rate, idle_elapsed = Probe().measure(lambda: time.sleep(idle_seconds))
    run_workload(pipeline, shape, count)
    # The floor exports nothing: there is no export phase to probe.
    busy_rate, busy_elapsed = (None, None) if mode == "floor" else Probe().measure(pipeline.flush)
    pipeline.shutdown()
    return {
        "probe_idle_ops_per_ms": idle_rate,
        "probe_idle_seconds": idle_elapsed,
        "probe_busy_ops_per_ms": busy_rate,
        "probe_busy_seconds": busy_elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=list(PIPELINE_IMPORTS), required=True)
    parser.add_argument("--pass", dest="pass_name", choices=["timing", "probe"], required=True)
    parser.add_argument("--shape", choices=list(SHAPES), required=True)
    parser.add_argument("--spans", type=int, required=True)
    parser.add_argument("--http-endpoint", required=True)
    parser.add_argument("--grpc-endpoint", required=True)
    parser.add_argument("--idle-seconds", type=float, default=1.0)
    args = parser.parse_args()
    endpoints = (args.http_endpoint, args.grpc_endpoint)
    if args.pass_name == "timing":
        result = timing_pass(args.mode, args.shape, args.spans, *endpoints)
    else:
        result = probe_pass(args.mode, args.shape, args.spans, *endpoints, args.idle_seconds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
