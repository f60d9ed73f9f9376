"""What the metric exporter puts on the wire equals what the stock OTLP metric exporters send.

The same ``MetricsData``, collected from a real SDK ``MeterProvider``, goes through the
stock ``encode_metrics``, the stock HTTP and gRPC exporters and ours; the receivers decode
with the official stubs, so any difference in a field, in grouping or in order is a diff.
(The raw bodies are not compared: the Python protobuf runtime writes a data point's fields
in an order of its own, e.g. ``as_int`` before ``exemplars``; both orders decode the same.)
"""

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as StockGrpcExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as StockHttpExporter
from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData
from otel_rust_exporter import RustOTLPMetricExporter

from tests.support.metrics_catalog import CUMULATIVE, DELTA, all_points, collect_rich_metrics
from tests.support.wire import assert_same_request

TEMPORALITIES = {"cumulative": CUMULATIVE, "delta": DELTA}


@pytest.fixture(scope="module", params=TEMPORALITIES)
def metrics_data(request) -> MetricsData:
    return collect_rich_metrics(TEMPORALITIES[request.param])


def stock_exporter(receiver, **options):
    if receiver.protocol == "grpc":
        return StockGrpcExporter(endpoint=receiver.endpoint, insecure=True, **options)
    return StockHttpExporter(endpoint=receiver.endpoint, **options)


def our_exporter(receiver, **options) -> RustOTLPMetricExporter:
    return RustOTLPMetricExporter(endpoint=receiver.endpoint, protocol=receiver.protocol, **options)


def test_the_catalog_exercises_every_kind_of_data():
    # Guards the parity tests below: they only prove something if these cases are present.
    points = all_points(encode_metrics(collect_rich_metrics(CUMULATIVE))) + all_points(
        encode_metrics(collect_rich_metrics(DELTA))
    )
    kinds = {kind for _, kind, _ in points}
    assert kinds == {"sum", "gauge", "histogram", "exponential_histogram"}
    sums = [
        (metric.sum.aggregation_temporality, metric.sum.is_monotonic)
        for metric, kind, _ in points
        if kind == "sum"
    ]
    assert {(DELTA, True), (CUMULATIVE, True), (CUMULATIVE, False)} <= set(sums)
    assert {"as_int", "as_double"} == {
        point.WhichOneof("value") for _, kind, point in points if kind in ("sum", "gauge")
    }
    histograms = [point for _, kind, point in points if kind == "histogram"]
    assert all(
        point.HasField("min") and point.HasField("max") and point.explicit_bounds for point in histograms
    )
    exponential = [point for _, kind, point in points if kind == "exponential_histogram"]
    assert any(point.scale and point.zero_count for point in exponential)
    assert any(point.HasField("positive") and point.positive.offset for point in exponential)
    assert any(point.HasField("negative") for point in exponential)
    exemplars = [exemplar for _, _, point in points for exemplar in point.exemplars]
    assert any(exemplar.trace_id and exemplar.span_id for exemplar in exemplars)
    assert any(not exemplar.trace_id for exemplar in exemplars)
    assert all(point.start_time_unix_nano for _, kind, point in points if kind != "gauge")
    attribute_kinds = {
        attribute.value.WhichOneof("value") for _, _, point in points for attribute in point.attributes
    }
    assert {"string_value", "bool_value", "int_value", "double_value", "array_value"} <= attribute_kinds


def test_request_equals_the_stock_encoding(metrics_receiver, metrics_data):
    exporter = our_exporter(metrics_receiver)
    assert exporter.export(metrics_data) is MetricExportResult.SUCCESS
    (request,) = metrics_receiver.received.requests
    assert_same_request(request, encode_metrics(metrics_data))


def test_stock_exporter_and_ours_send_the_same_request(metrics_receiver, metrics_data):
    stock = stock_exporter(metrics_receiver)
    assert stock.export(metrics_data) is MetricExportResult.SUCCESS
    stock.shutdown()
    assert our_exporter(metrics_receiver).export(metrics_data) is MetricExportResult.SUCCESS
    stock_request, our_request = metrics_receiver.received.wait_for_requests(2)
    assert_same_request(our_request, stock_request)


@pytest.mark.parametrize("max_export_batch_size", [1, 3, 7, 10_000])
def test_batches_are_split_as_the_stock_exporter_splits_them(
    metrics_receiver, metrics_data, max_export_batch_size
):
    stock = stock_exporter(metrics_receiver, max_export_batch_size=max_export_batch_size)
    assert stock.export(metrics_data) is MetricExportResult.SUCCESS
    stock.shutdown()
    stock_requests = list(metrics_receiver.received.requests)
    metrics_receiver.received.requests.clear()

    ours = our_exporter(metrics_receiver, max_export_batch_size=max_export_batch_size)
    assert ours.export(metrics_data) is MetricExportResult.SUCCESS
    our_requests = metrics_receiver.received.requests

    total = len(all_points(encode_metrics(metrics_data)))
    assert len(stock_requests) == -(-total // max_export_batch_size)
    assert len(our_requests) == len(stock_requests)
    for ours_sent, stock_sent in zip(our_requests, stock_requests):
        assert len(all_points(ours_sent)) <= max_export_batch_size
        assert_same_request(ours_sent, stock_sent)


def test_resources_and_scopes_are_grouped_as_the_stock_encoder_groups_them(metrics_receiver):
    # Two collections of one provider: the same resource and scopes twice. The stock encoder
    # keys by resource and scope, so the later contents replace the earlier ones in place.
    first, second = collect_rich_metrics(CUMULATIVE), collect_rich_metrics(DELTA)
    merged = MetricsData(resource_metrics=[*first.resource_metrics, *second.resource_metrics])
    assert our_exporter(metrics_receiver).export(merged) is MetricExportResult.SUCCESS
    (request,) = metrics_receiver.received.requests
    assert len(request.resource_metrics) == 1
    assert_same_request(request, encode_metrics(merged))
