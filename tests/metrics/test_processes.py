"""The metric exporter in real processes: after fork(), under ``opentelemetry-instrument``
with ``OTEL_METRICS_EXPORTER=rust_otlp``, and with the native module unavailable."""

import json

import pytest

from tests.apps import INSTRUMENT, PYTHON, app, clean_env, run
from tests.support.otlp_receivers import MetricsHttpReceiver, sum_points

pytestmark = pytest.mark.timeout(90)

STOCK_EXPORTERS = {
    "http/protobuf": "opentelemetry.exporter.otlp.proto.http.metric_exporter.OTLPMetricExporter",
    "grpc": "opentelemetry.exporter.otlp.proto.grpc.metric_exporter.OTLPMetricExporter",
}


def metrics_env(receiver, **variables: str) -> dict:
    return clean_env(
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=receiver.endpoint,
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=receiver.protocol,
        **variables,
    )


def reports(result) -> dict:
    assert result.returncode == 0, result.stderr
    return {report.get("process", "main"): report for report in map(json.loads, result.stdout.splitlines())}


def series_per_request(received) -> list:
    """The ``process`` attribute values of each request's counter points."""
    return [
        sorted(
            attribute.value.string_value
            for point in sum_points(request, "work.done")
            for attribute in point.attributes
        )
        for request in received.requests
    ]


def test_parent_and_child_each_export_their_own_series_after_fork(metrics_receiver):
    result = run(PYTHON, app("metrics_app.py"), "fork", env=metrics_env(metrics_receiver), timeout=30)
    by_process = reports(result)
    assert by_process["child"]["flushed"] is True
    assert by_process["parent"]["flushed"] is True
    assert by_process["parent"]["child_exit"] == 0
    requests = series_per_request(metrics_receiver.received)
    assert requests[0] == ["parent-before-fork"]
    # The child's memory is a copy of the parent's at fork: it carries the series recorded
    # before, plus its own; the parent never sees the child's.
    assert sorted(requests[1:]) == [
        ["child", "parent-before-fork"],
        ["parent-after-fork", "parent-before-fork"],
    ]


def comparable(received) -> list:
    out = []
    for metric_name, kind, point in [
        (metric.name, metric.WhichOneof("data"), point)
        for request in received.requests
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in getattr(metric, metric.WhichOneof("data")).data_points
    ]:
        point.ClearField("start_time_unix_nano")
        point.ClearField("time_unix_nano")
        for exemplar in point.exemplars:
            exemplar.ClearField("time_unix_nano")
        out.append((metric_name, kind, point.SerializeToString(deterministic=True)))
    return sorted(out)


def test_opentelemetry_instrument_exports_through_ours_as_the_stock_exporter_would():
    runs = {}
    for exporter in ("rust_otlp", "otlp_proto_http"):
        receiver = MetricsHttpReceiver()
        receiver.protocol = "http/protobuf"
        try:
            env = metrics_env(
                receiver,
                OTEL_METRICS_EXPORTER=exporter,
                OTEL_TRACES_EXPORTER="none",
                OTEL_LOGS_EXPORTER="none",
                OTEL_SERVICE_NAME="metered",
                OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="delta",
            )
            report = reports(run(INSTRUMENT, PYTHON, app("metrics_app.py"), "instrument", env=env))["main"]
            assert report["flushed"] is True
            runs[exporter] = (report["exporters"], comparable(receiver.received))
        finally:
            receiver.close()
    assert runs["rust_otlp"][0] == ["RustOTLPMetricExporter"]
    assert runs["otlp_proto_http"][0] == ["OTLPMetricExporter"]
    assert runs["rust_otlp"][1] == runs["otlp_proto_http"][1]
    assert {name for name, _, _ in runs["rust_otlp"][1]} == {"work.done", "work.seconds"}


def test_entry_point_falls_back_to_the_stock_exporter_when_native_is_blocked(metrics_receiver):
    result = run(PYTHON, app("metrics_app.py"), "blocked", env=metrics_env(metrics_receiver))
    report = reports(result)["main"]
    assert report["exporter"] == STOCK_EXPORTERS[metrics_receiver.protocol]
    assert report["flushed"] is True
    assert series_per_request(metrics_receiver.received) == [["fallback"]]
    warnings = [
        line for line in result.stderr.splitlines() if line.startswith("LOG WARNING otel_rust_exporter:")
    ]
    assert len(warnings) == 1 and "native" in warnings[0], result.stderr
