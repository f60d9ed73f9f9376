"""Metric workloads the tests run in subprocesses; settings come from ``OTEL_*`` variables.

``fork``: our exporter behind a ``PeriodicExportingMetricReader``; the process forks, parent
and child each record their own series and flush.
``instrument``: run under ``opentelemetry-instrument``; records through the global provider.
``blocked``: ``otel_rust_exporter._native`` unimportable; uses the ``rust_otlp`` entry point.
Warnings go to stderr as ``LOG <level> <logger>: <message>``; JSON reports to stdout.
"""

import json
import logging
import os
import sys
from importlib.metadata import entry_points
from typing import cast


class NativeBlocker:
    def find_spec(self, name, path=None, target=None):
        if name == "otel_rust_exporter._native":
            raise ImportError("otel_rust_exporter._native is blocked by the test")
        return None


mode = sys.argv[1]
if mode == "blocked":
    sys.meta_path.insert(0, NativeBlocker())
logging.basicConfig(level=logging.WARNING, format="LOG %(levelname)s %(name)s: %(message)s")

from opentelemetry import metrics  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: E402


def record(provider, process: str) -> None:
    meter = provider.get_meter("metrics-app", "1.0")
    meter.create_counter("work.done").add(3, {"process": process})
    meter.create_histogram("work.seconds").record(0.25, {"process": process})


def own_provider(exporter_class) -> MeterProvider:
    reader = PeriodicExportingMetricReader(exporter_class(), export_interval_millis=60_000)
    return MeterProvider(metric_readers=[reader], shutdown_on_exit=False)


if mode == "fork":
    from otel_rust_exporter import RustOTLPMetricExporter

    provider = own_provider(RustOTLPMetricExporter)
    record(provider, "parent-before-fork")
    assert provider.force_flush(10_000)
    pid = os.fork()
    if pid == 0:
        record(provider, "child")
        print(json.dumps({"process": "child", "flushed": provider.force_flush(10_000)}), flush=True)
        os._exit(0)
    record(provider, "parent-after-fork")
    _, status = os.waitpid(pid, 0)
    report = {"process": "parent", "flushed": provider.force_flush(10_000), "child_exit": status}
elif mode == "instrument":
    provider = cast(MeterProvider, metrics.get_meter_provider())  # as opentelemetry-instrument set it
    record(provider, "instrumented")
    report = {
        "exporters": [type(reader._exporter).__name__ for reader in getattr(provider, "_metric_readers", ())],
        "flushed": provider.force_flush(10_000) if hasattr(provider, "force_flush") else False,
    }
else:
    exporter_class = entry_points(group="opentelemetry_metrics_exporter")["rust_otlp"].load()
    provider = own_provider(exporter_class)
    record(provider, "fallback")
    report = {
        "exporter": f"{exporter_class.__module__}.{exporter_class.__name__}",
        "flushed": provider.force_flush(10_000),
    }
print(json.dumps(report), flush=True)
