"""Self-metrics (``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true``) under
``opentelemetry-instrument``: a real receiver gets the stock SDK's instruments from our
processors and exporters, with the stock names, units and attributes, and values that
match what the app did, including ``error.type`` after a scripted failure."""

from __future__ import annotations

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from otel_rust_exporter import RustOTLPSpanExporter, RustSpanProcessor

from tests.apps import instrumented_env, run_under_instrument
from tests.support.fake_sls import SLS_PYTHON, FakeSls
from tests.support.otlp_receivers import GrpcReceiver, HttpReceiver, Reply

SPANS = 7


def run_app(receiver: HttpReceiver, exporter: str, **variables: str) -> None:
    base = receiver.endpoint.rsplit("/v1/", 1)[0]
    env = instrumented_env(
        traces=exporter,
        logs=exporter,
        metrics=exporter,
        OTEL_EXPORTER_OTLP_ENDPOINT=base,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED="true",
        # Nothing is sent before the app flushes: the first request is the traces one.
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_BLRP_SCHEDULE_DELAY="60000",
        OTEL_METRIC_EXPORT_INTERVAL="60000",
        OTEL_SERVICE_NAME="self-metrics",
        **variables,
    )
    report, result = run_under_instrument("self_metrics_app.py", str(SPANS), env=env)
    assert report["flushed"][1] is True, result.stderr


def points(receiver) -> list[tuple[str, str, str, dict, object]]:
    """(scope, name, unit, attributes, value) of every data point of the last request
    (cumulative, so it holds every series reported so far)."""
    request = receiver.requests[-1]
    found = []
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                for point in getattr(metric, kind).data_points:
                    attributes = {
                        attribute.key: getattr(attribute.value, attribute.value.WhichOneof("value"))
                        for attribute in point.attributes
                    }
                    value = point.count if kind == "histogram" else point.as_int
                    found.append((scope_metrics.scope.name, metric.name, metric.unit, attributes, value))
    return found


def sdk_shapes(found) -> set[tuple[str, str, frozenset]]:
    """Name, unit and attribute keys of each processor/exporter series."""
    return {
        (name, unit, frozenset(attributes))
        for _, name, unit, attributes, _ in found
        if name.startswith(("otel.sdk.processor.", "otel.sdk.exporter."))
    }


span_exporter_keys = frozenset(
    {"otel.component.type", "otel.component.name", "server.address", "server.port"}
)


def strip_error(shapes) -> set:
    return {(name, unit, keys - {"error.type"}) for name, unit, keys in shapes}


def value(found, name: str, error_type=None, **attributes) -> object:
    """The one series of `name` with these attributes and this error.type (or none)."""
    matches = [
        point_value
        for _, point_name, _, point_attributes, point_value in found
        if point_name == name
        and point_attributes.get("error.type") == error_type
        and all(point_attributes.get(key) == wanted for key, wanted in attributes.items())
    ]
    assert len(matches) == 1, (name, attributes, matches)
    return matches[0]


@pytest.fixture
def receivers():
    ours, stock = HttpReceiver(), HttpReceiver()
    yield ours, stock
    ours.close()
    stock.close()


def test_the_receiver_gets_the_stock_instruments_with_our_values(receivers):
    ours, stock = receivers
    for receiver, exporter in ((ours, "rust_otlp"), (stock, "otlp")):
        receiver.reply_with(Reply(http_status=400))
        run_app(receiver, exporter)
        assert receiver.metrics.requests, f"{exporter}: no metrics arrived"
    ours_found, stock_found = points(ours.metrics), points(stock.metrics)

    # The stock pipeline's instruments, units and attribute keys for the same app. Where
    # they differ, stock falls short: its span queue capacity is added to the proxy meter
    # before the real provider exists (and is lost), and its HTTP exporters set no
    # error.type for an HTTP error status (only http.response.status_code on the duration).
    ours_shapes, stock_shapes = sdk_shapes(ours_found), sdk_shapes(stock_found)
    assert {name for name, *_ in ours_shapes} - {name for name, *_ in stock_shapes} == {
        "otel.sdk.processor.span.queue.capacity"
    }
    assert strip_error(ours_shapes) >= strip_error(stock_shapes)
    assert {shape for shape in ours_shapes if "error.type" in shape[2]} == {
        ("otel.sdk.exporter.span.exported", "{span}", span_exporter_keys | {"error.type"}),
        (
            "otel.sdk.exporter.operation.duration",
            "s",
            span_exporter_keys | {"error.type", "http.response.status_code"},
        ),
    }

    port = int(ours.endpoint.split(":")[2].split("/")[0])
    span_processor = {"otel.component.type": "batching_span_processor"}
    assert value(ours_found, "otel.sdk.processor.span.processed", **span_processor) == SPANS
    assert value(ours_found, "otel.sdk.processor.span.queue.capacity", **span_processor) == 2048
    assert value(ours_found, "otel.sdk.processor.span.queue.size", **span_processor) == 0
    span_exporter = {
        "otel.component.type": "otlp_http_span_exporter",
        "otel.component.name": "otlp_http_span_exporter/0",
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    # The scripted 400 failed the one traces request.
    assert value(ours_found, "otel.sdk.exporter.span.exported", **span_exporter) == 0
    assert value(ours_found, "otel.sdk.exporter.span.exported", error_type="400", **span_exporter) == SPANS
    assert value(ours_found, "otel.sdk.exporter.span.inflight", **span_exporter) == 0
    log_processor = {"otel.component.type": "batching_log_processor"}
    assert value(ours_found, "otel.sdk.processor.log.processed", **log_processor) == SPANS
    log_exporter = {"otel.component.type": "otlp_http_log_exporter", "server.port": port}
    assert value(ours_found, "otel.sdk.exporter.log.exported", **log_exporter) == SPANS
    durations = {
        (
            attributes.get("otel.component.type"),
            attributes.get("error.type"),
            attributes.get("http.response.status_code"),
        ): count
        for _, name, _, attributes, count in ours_found
        if name == "otel.sdk.exporter.operation.duration"
    }
    assert durations[("otlp_http_span_exporter", "400", 400)] == 1
    assert durations[("otlp_http_log_exporter", None, None)] == 1
    # The metrics exporter reports the export before this one.
    assert (
        value(
            ours_found,
            "otel.sdk.exporter.metric_data_point.exported",
            **{"otel.component.type": "otlp_http_metric_exporter"},
        )
        > 0
    )
    # Our own instruments.
    ours_only = {name for scope, name, *_ in ours_found if scope == "otel_rust_exporter"}
    assert "otel_rust_exporter.exporter.uncompressed_size" in ours_only
    assert "otel_rust_exporter.processor.span.dropped" not in ours_only  # nothing dropped


def test_nothing_is_reported_unless_enabled(monkeypatch):
    monkeypatch.delenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", raising=False)
    reader = InMemoryMetricReader()
    processor = RustSpanProcessor(
        endpoint="http://127.0.0.1:9/v1/traces", meter_provider=MeterProvider([reader])
    )
    try:
        assert reader.get_metrics_data() is None or not reader.get_metrics_data().resource_metrics
    finally:
        processor.shutdown()


def collected(reader) -> dict[tuple[str, frozenset], object]:
    found = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    found[(metric.name, frozenset(point.attributes.items()))] = getattr(point, "value", None)
    return found


def test_drops_retries_and_rejections_are_counted_by_reason(monkeypatch):
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    # The queue fills while the first export waits to be retried.
    monkeypatch.setenv("OTEL_RUST_EXPORTER_MAX_BACKLOG_BYTES", "1")
    receiver = GrpcReceiver()
    reader = InMemoryMetricReader()
    processor = RustSpanProcessor(
        endpoint=receiver.endpoint, protocol="grpc", max_queue_size=4, meter_provider=MeterProvider([reader])
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    try:
        import grpc

        receiver.reply_with(
            Reply(grpc_code=grpc.StatusCode.UNAVAILABLE), Reply(rejected=1, error_message="no")
        )
        tracer = provider.get_tracer("t")
        for number in range(200):
            with tracer.start_as_current_span(f"s{number}"):
                pass
        processor.force_flush()
        processor.shutdown()
        with tracer.start_as_current_span("late"):
            pass
        found = collected(reader)
        name = processor._self_metrics.processor_attributes["otel.component.name"]
        component = {("otel.component.type", "batching_span_processor"), ("otel.component.name", name)}

        def get(metric: str, **extra) -> object:
            return found[(metric, frozenset(component | set(extra.items())))]

        stats = processor.stats()
        queue_full = get("otel.sdk.processor.span.processed", **{"error.type": "queue_full"})
        assert queue_full > 0
        assert (
            get("otel.sdk.processor.span.processed")
            == stats["exported"] + stats["failed"]
            == 200 - queue_full
        )
        assert get("otel.sdk.processor.span.processed", **{"error.type": "already_shutdown"}) == 1
        assert queue_full + 1 == stats["dropped"]
        assert get("otel_rust_exporter.processor.span.dropped", **{"error.type": "queue_full"}) == queue_full
        exporter_attributes = processor._self_metrics.exporter.attributes
        assert exporter_attributes["otel.component.type"] == "otlp_grpc_span_exporter"
        exporter = frozenset(exporter_attributes.items())
        assert found[("otel_rust_exporter.exporter.retries", exporter)] == 1
        assert found[("otel_rust_exporter.exporter.span.rejected", exporter)] == 1
        assert found[("otel.sdk.exporter.span.exported", exporter)] == 200 - queue_full
    finally:
        receiver.close()


def test_a_processor_made_from_an_exporter_takes_over_its_component_name(monkeypatch):
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider([reader])
    exporter = RustOTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces", meter_provider=meter_provider)
    name = exporter._self_metrics.exporter.attributes["otel.component.name"]
    processor = RustSpanProcessor.from_exporter(exporter)
    try:
        names = [
            dict(attributes)["otel.component.name"]
            for metric, attributes in collected(reader)
            if metric == "otel.sdk.exporter.span.inflight"
        ]
        assert names == [name]
    finally:
        processor.shutdown()


@pytest.mark.skipif(not SLS_PYTHON.exists(), reason="needs .venv-sls (scripts/setup.sh)")
def test_the_sls_processor_reports_as_an_sls_log_exporter_with_sls_error_codes(monkeypatch):
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    fake = FakeSls()
    reader = InMemoryMetricReader()
    processor = fake.processor(meter_provider=MeterProvider([reader]))
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    logger = provider.get_logger("sls-self-metrics")
    try:
        fake.script({"status": 404, "code": "LogStoreNotExist", "message": "scripted"})
        logger.emit(body="refused")
        assert not processor.force_flush()
        for number in range(3):
            logger.emit(body=f"delivered {number}")
        assert processor.force_flush()
        found = collected(reader)
        exporter = processor._self_metrics.exporter.attributes
        assert exporter["otel.component.type"] == "sls_log_exporter"
        assert exporter["server.address"] == "127.0.0.1"
        assert exporter["server.port"] == fake.port
        attributes = frozenset(exporter.items())
        assert found[("otel.sdk.exporter.log.exported", attributes)] == 3
        refused = attributes | {("error.type", "project_or_logstore_not_found")}
        assert found[("otel.sdk.exporter.log.exported", frozenset(refused))] == 1
        processor_attributes = frozenset(processor._self_metrics.processor_attributes.items())
        assert found[("otel.sdk.processor.log.processed", processor_attributes)] == 4
        assert dict(processor_attributes)["otel.component.type"] == "batching_log_processor"
    finally:
        provider.shutdown()
        fake.close()
