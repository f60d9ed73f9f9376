"""The metric exporter against real loopback receivers: retry, failures, the GIL, shutdown
isolation from the other signals, the environment, and input the stock encoder rejects."""

import logging
from dataclasses import dataclass

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as StockGrpcExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as StockHttpExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, ObservableCounter, UpDownCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Metric,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from otel_rust_exporter import RustOTLPMetricExporter, RustSpanProcessor

from tests.support.delivery import permanent_failure, transient_failure
from tests.support.gil import SLOW_REPLY
from tests.support.gil import Counter as ProbeCounter
from tests.support.metrics_catalog import CUMULATIVE, all_points, collect_rich_metrics
from tests.support.our_logging import our_messages

pytestmark = pytest.mark.timeout(60)


def our_exporter(receiver, **options) -> RustOTLPMetricExporter:
    return RustOTLPMetricExporter(endpoint=receiver.endpoint, protocol=receiver.protocol, **options)


@pytest.fixture(scope="module")
def metrics_data() -> MetricsData:
    return collect_rich_metrics(CUMULATIVE)


def test_a_transient_failure_is_retried_and_delivered_once(metrics_receiver, metrics_data):
    metrics_receiver.reply_with(transient_failure(metrics_receiver.protocol))
    assert our_exporter(metrics_receiver).export(metrics_data) is MetricExportResult.SUCCESS
    assert metrics_receiver.received.attempts == 2
    assert len(metrics_receiver.received.requests) == 1


def test_a_permanent_failure_fails_the_export_without_retrying(metrics_receiver, metrics_data, caplog):
    metrics_receiver.reply_with(permanent_failure(metrics_receiver.protocol))
    assert our_exporter(metrics_receiver).export(metrics_data) is MetricExportResult.FAILURE
    assert metrics_receiver.received.attempts == 1
    (error,) = our_messages(caplog, logging.ERROR)
    assert "data points" in error


def test_a_split_export_stops_at_the_first_part_not_delivered(metrics_receiver, metrics_data):
    # As the stock HTTP exporter does: the endpoint is failing, the reader tries again later.
    metrics_receiver.reply_with(permanent_failure(metrics_receiver.protocol))
    exporter = our_exporter(metrics_receiver, max_export_batch_size=2)
    assert exporter.export(metrics_data) is MetricExportResult.FAILURE
    assert metrics_receiver.received.requests == []
    assert metrics_receiver.received.attempts == 1


def test_export_runs_without_the_gil(metrics_receiver, metrics_data):
    metrics_receiver.reply_with(SLOW_REPLY)
    exporter = our_exporter(metrics_receiver)
    with ProbeCounter() as counter:
        before = counter.count
        assert exporter.export(metrics_data) is MetricExportResult.SUCCESS
        during_export = counter.count - before
    # A second of counting in Python is millions of steps; a held GIL would allow none.
    assert during_export > 100_000


def test_shutting_down_the_metric_exporter_leaves_span_export_running(metrics_receiver, metrics_data):
    from tests.support.otlp_receivers import GrpcReceiver, HttpReceiver

    span_receiver = HttpReceiver() if metrics_receiver.protocol == "http/protobuf" else GrpcReceiver()
    try:
        processor = RustSpanProcessor(endpoint=span_receiver.endpoint, protocol=metrics_receiver.protocol)
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(processor)
        exporter = our_exporter(metrics_receiver)
        assert exporter.export(metrics_data) is MetricExportResult.SUCCESS
        exporter.shutdown()
        assert exporter.export(metrics_data) is MetricExportResult.FAILURE
        provider.get_tracer("isolation").start_span("after metric shutdown").end()
        assert processor.force_flush(10_000)
        assert [span.name for span in span_receiver.received.spans()] == ["after metric shutdown"]
        # A new metric exporter still works on the shared runtime.
        assert our_exporter(metrics_receiver).export(metrics_data) is MetricExportResult.SUCCESS
        assert len(metrics_receiver.received.requests) == 2
        processor.shutdown()
    finally:
        span_receiver.close()


def test_periodic_reader_exports_through_ours(metrics_receiver):
    reader = PeriodicExportingMetricReader(our_exporter(metrics_receiver), export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    provider.get_meter("periodic").create_counter("ticks").add(5, {"k": "v"})
    assert provider.force_flush(10_000)
    provider.shutdown()
    ((metric, kind, point),) = all_points(metrics_receiver.received.requests[0])
    assert (metric.name, kind, point.as_int) == ("ticks", "sum", 5)


TEMPORALITY_VALUES = ["cumulative", "delta", "lowmemory", "LowMemory", " DELTA ", "bogus"]
AGGREGATION_VALUES = ["explicit_bucket_histogram", "base2_exponential_bucket_histogram", "BOGUS"]


@pytest.mark.parametrize("value", TEMPORALITY_VALUES)
def test_temporality_preference_is_read_as_the_stock_exporters_read_it(monkeypatch, value):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", value)
    ours = RustOTLPMetricExporter()
    for stock in (StockHttpExporter(), StockGrpcExporter(insecure=True)):
        assert ours._preferred_temporality == stock._preferred_temporality
        stock.shutdown()
    # The comparison alone cannot show the setting took effect.
    expected_counter = {"delta": "DELTA", "lowmemory": "DELTA"}.get(value.strip().lower(), "CUMULATIVE")
    assert ours._preferred_temporality[Counter] is AggregationTemporality[expected_counter]
    expected_observable = "DELTA" if value.strip().lower() == "delta" else "CUMULATIVE"
    assert ours._preferred_temporality[ObservableCounter] is AggregationTemporality[expected_observable]
    assert ours._preferred_temporality[UpDownCounter] is AggregationTemporality.CUMULATIVE


def test_an_argument_overrides_the_temporality_preference(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    ours = RustOTLPMetricExporter(preferred_temporality={Counter: AggregationTemporality.CUMULATIVE})
    assert ours._preferred_temporality[Counter] is AggregationTemporality.CUMULATIVE
    assert ours._preferred_temporality[Histogram] is AggregationTemporality.DELTA


@pytest.mark.parametrize("value", AGGREGATION_VALUES)
def test_default_histogram_aggregation_is_read_as_the_stock_http_exporter_reads_it(
    monkeypatch, caplog, value
):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", value)
    ours = RustOTLPMetricExporter()
    stock = StockHttpExporter()
    stock.shutdown()
    assert type(ours._preferred_aggregation[Histogram]) is type(stock._preferred_aggregation[Histogram])
    exponential = value == "base2_exponential_bucket_histogram"
    expected = ExponentialBucketHistogramAggregation if exponential else ExplicitBucketHistogramAggregation
    assert type(ours._preferred_aggregation[Histogram]) is expected
    assert len(our_messages(caplog, logging.WARNING)) == (1 if value == "BOGUS" else 0)


def test_delta_and_exponential_from_the_environment_reach_the_wire(monkeypatch, metrics_receiver):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "base2_exponential_bucket_histogram"
    )
    reader = PeriodicExportingMetricReader(our_exporter(metrics_receiver), export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    meter = provider.get_meter("environment")
    meter.create_counter("hits").add(1)
    meter.create_histogram("sizes").record(42)
    assert provider.force_flush(10_000)
    provider.shutdown()
    kinds = {
        metric.name: (kind, metric) for metric, kind, _ in all_points(metrics_receiver.received.requests[0])
    }
    assert (
        kinds["hits"][0] == "sum"
        and kinds["hits"][1].sum.aggregation_temporality == AggregationTemporality.DELTA
    )
    assert kinds["sizes"][0] == "exponential_histogram"
    assert kinds["sizes"][1].exponential_histogram.aggregation_temporality == AggregationTemporality.DELTA


@dataclass(frozen=True)
class NotAKnownKind:
    data_points: list


def hand_made(*metrics: Metric) -> MetricsData:
    return MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=Resource({"service.name": "hand-made"}),
                scope_metrics=[
                    ScopeMetrics(scope=InstrumentationScope("hand"), metrics=list(metrics), schema_url="")
                ],
                schema_url="",
            )
        ]
    )


def gauge(name: str, value) -> Metric:
    point = NumberDataPoint(attributes={"k": "v"}, start_time_unix_nano=1, time_unix_nano=2, value=value)
    return Metric(name=name, description=None, unit=None, data=Gauge(data_points=[point]))


def test_an_integer_beyond_64_bits_is_sent_as_a_double_with_one_warning(caplog):
    from tests.support.otlp_receivers import MetricsHttpReceiver

    receiver = MetricsHttpReceiver()
    try:
        data = hand_made(gauge("huge", 2**70), gauge("fine", 3))
        assert RustOTLPMetricExporter(endpoint=receiver.endpoint).export(data) is MetricExportResult.SUCCESS
        values = {metric.name: point for metric, _, point in all_points(receiver.received.requests[0])}
        assert values["huge"].as_double == float(2**70)
        assert values["fine"].as_int == 3
        assert len(our_messages(caplog, logging.WARNING)) == 1
    finally:
        receiver.close()


def test_unreadable_and_unknown_metrics_never_break_the_export(caplog):
    from tests.support.otlp_receivers import MetricsHttpReceiver

    receiver = MetricsHttpReceiver()
    try:
        unknown = Metric(name="unknown", description="", unit="", data=NotAKnownKind(data_points=[]))
        broken = gauge("broken", "not a number")
        data = hand_made(gauge("before", 1), unknown, broken, gauge("after", 2.5))
        assert RustOTLPMetricExporter(endpoint=receiver.endpoint).export(data) is MetricExportResult.SUCCESS
        (request,) = receiver.received.requests
        metrics = request.resource_metrics[0].scope_metrics[0].metrics
        # An unknown kind goes without data, as the stock encoder sends it; the unreadable one
        # is left out (the stock encoder would fail the whole export).
        assert [(metric.name, metric.WhichOneof("data")) for metric in metrics] == [
            ("before", "gauge"),
            ("unknown", None),
            ("after", "gauge"),
        ]
        warnings = our_messages(caplog, logging.WARNING)
        assert len(warnings) == 2 and "broken" in warnings[1]
    finally:
        receiver.close()
