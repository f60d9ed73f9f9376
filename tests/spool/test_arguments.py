"""``spool_dir`` and ``spool_max_bytes`` on every class that exports (issue 11, item 1), over
the variables, and the spool counters in every class's ``stats()``."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Callable

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otel_rust_exporter import (
    RustLogRecordProcessor,
    RustOTLPLogExporter,
    RustOTLPMetricExporter,
    RustOTLPSpanExporter,
    RustSpanProcessor,
)
from otel_sls_exporter import SLSLogExporter, SLSLogRecordProcessor

from tests.support.spool import request_files, spooled_items
from tests.support.tcp import closed_port

SPOOL_KEYS = {"spooled", "replayed", "spool_dropped", "spool_corrupt", "spool_bytes"}


def sls(cls: type, endpoint: str, **spool: Any) -> Any:
    return cls(endpoint, "project", "store", access_key_id="id", access_key_secret="secret", **spool)


def spans_through(component: Any) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(
        component if isinstance(component, RustSpanProcessor) else SimpleSpanProcessor(component)
    )
    provider.get_tracer("spool-arguments").start_span("one").end()
    provider.force_flush()


def logs_through(component: Any) -> None:
    provider = LoggerProvider(shutdown_on_exit=False)
    native_batching = isinstance(component, (RustLogRecordProcessor, SLSLogRecordProcessor))
    provider.add_log_record_processor(component if native_batching else SimpleLogRecordProcessor(component))
    provider.get_logger("spool-arguments").emit(body="one")
    provider.force_flush()


def points_through(exporter: Any) -> None:
    provider = MeterProvider(
        [PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)], shutdown_on_exit=False
    )
    provider.get_meter("spool-arguments").create_counter("c").add(1)
    provider.force_flush()


CLASSES: dict[str, tuple[Callable[..., Any], Callable[[Any], None], str]] = {
    "RustSpanProcessor": (RustSpanProcessor, spans_through, "traces"),
    "RustOTLPSpanExporter": (RustOTLPSpanExporter, spans_through, "traces"),
    "RustLogRecordProcessor": (RustLogRecordProcessor, logs_through, "logs"),
    "RustOTLPLogExporter": (RustOTLPLogExporter, logs_through, "logs"),
    "RustOTLPMetricExporter": (RustOTLPMetricExporter, points_through, "metrics"),
    "SLSLogRecordProcessor": (partial(sls, SLSLogRecordProcessor), logs_through, "sls"),
    "SLSLogExporter": (partial(sls, SLSLogExporter), logs_through, "sls"),
}


@pytest.mark.parametrize("name", CLASSES)
def test_the_arguments_override_the_variables_on_every_class(name, tmp_path, monkeypatch):
    make, send, kind = CLASSES[name]
    from_env, from_argument, too_small = tmp_path / "env", tmp_path / "argument", tmp_path / "small"
    monkeypatch.setenv("OTEL_RUST_EXPORTER_SPOOL_DIR", str(from_env))
    # The request the small cap keeps in memory is retried until the timeout, as without a spool.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
    monkeypatch.setenv("OTEL_EXPORTER_SLS_TIMEOUT", "500")
    endpoint = f"http://127.0.0.1:{closed_port()}"
    if not kind == "sls":
        endpoint += "/v1/" + kind

    component = make(endpoint, spool_dir=str(from_argument))
    send(component)
    stats = component.stats()
    assert SPOOL_KEYS <= stats.keys()
    assert stats["spooled"] == 1
    assert [path.name.split("-")[0] for path in request_files(from_argument)] == [kind]
    assert spooled_items(from_argument) == 1
    assert not from_env.exists() or request_files(from_env) == []

    # A cap smaller than any request: nothing is written, the request stays in memory.
    capped = make(endpoint, spool_dir=Path(too_small), spool_max_bytes=10)
    send(capped)
    assert capped.stats()["spooled"] == 0
    assert request_files(too_small) == []
    component.shutdown()
    capped.shutdown()


def test_without_a_spool_the_counters_are_zero(tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_RUST_EXPORTER_SPOOL_DIR", raising=False)
    exporter = RustOTLPSpanExporter(f"http://127.0.0.1:{closed_port()}/v1/traces", timeout=0.5)
    spans_through(exporter)
    assert {key: exporter.stats()[key] for key in SPOOL_KEYS} == dict.fromkeys(SPOOL_KEYS, 0)


def test_the_self_metrics_report_the_spool(tmp_path, monkeypatch):
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    reader = InMemoryMetricReader()
    processor = RustSpanProcessor(
        f"http://127.0.0.1:{closed_port()}/v1/traces",
        spool_dir=str(tmp_path),
        meter_provider=MeterProvider([reader]),
    )
    try:
        spans_through(processor)
        values = {}
        for resource_metrics in reader.get_metrics_data().resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name.startswith("otel_rust_exporter.exporter.spool."):
                        values[metric.name] = sum(point.value for point in metric.data.data_points)
    finally:
        processor.shutdown()
    assert values["otel_rust_exporter.exporter.spool.written"] == 1
    assert values["otel_rust_exporter.exporter.spool.replayed"] == 0
    assert values["otel_rust_exporter.exporter.spool.size"] > 0
    assert set(values) == {
        "otel_rust_exporter.exporter.spool.written",
        "otel_rust_exporter.exporter.spool.replayed",
        "otel_rust_exporter.exporter.spool.dropped",
        "otel_rust_exporter.exporter.spool.corrupt",
        "otel_rust_exporter.exporter.spool.size",
    }
