"""``MetricsData`` collected from a real SDK ``MeterProvider``, covering every kind of data
the SDK produces: monotonic and non-monotonic sums, gauges, explicit and exponential
histograms, exemplars with and without trace ids, attributes of every type, start times."""

from __future__ import annotations

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import (
    AlwaysOnExemplarFilter,
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader, MetricsData
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.util.types import AttributeValue

DELTA = AggregationTemporality.DELTA
CUMULATIVE = AggregationTemporality.CUMULATIVE

ATTRIBUTE_KINDS: dict[str, AttributeValue] = {
    "text": "ü-text",
    "flag": True,
    "count": 7,
    "ratio": 0.25,
    "names": ("a", "b"),
    "numbers": (1, 2, 3),
}


def _temporality(temporality: AggregationTemporality) -> dict:
    return {
        Counter: temporality,
        UpDownCounter: CUMULATIVE,
        Histogram: temporality,
        ObservableCounter: temporality,
        ObservableUpDownCounter: CUMULATIVE,
        ObservableGauge: CUMULATIVE,
    }


def _observe(values: list):
    def callback(options: CallbackOptions):
        return [Observation(value, {"series": index}) for index, value in enumerate(values)]

    return callback


def collect_rich_metrics(
    temporality: AggregationTemporality = CUMULATIVE, collections: int = 2
) -> MetricsData:
    """Records a workload twice (so delta and cumulative differ) and returns the last
    collection."""
    reader = InMemoryMetricReader(preferred_temporality=_temporality(temporality))
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource(
            {"service.name": "metrics-catalog", "zone": "eu"}, "https://opentelemetry.io/schemas/1.21.0"
        ),
        exemplar_filter=AlwaysOnExemplarFilter(),
        views=[
            View(instrument_name="latency.exponential", aggregation=ExponentialBucketHistogramAggregation()),
            # Histogram instruments take no negative values; an up-down counter through an
            # exponential histogram fills the negative buckets too.
            View(instrument_name="balance.changes", aggregation=ExponentialBucketHistogramAggregation()),
            View(instrument_name="*"),
        ],
        shutdown_on_exit=False,
    )
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("catalog")
    meter = provider.get_meter(
        "catalog.meter", "1.2.3", "https://opentelemetry.io/schemas/1.20.0", {"meter.kind": "main"}
    )
    plain_meter = provider.get_meter("catalog.plain")

    requests = meter.create_counter("requests", unit="1", description="handled requests")
    in_flight = meter.create_up_down_counter("in_flight")
    latency = meter.create_histogram(
        "latency", unit="ms", explicit_bucket_boundaries_advisory=[1.0, 10.0, 100.0]
    )
    exponential = meter.create_histogram("latency.exponential", unit="s")
    balance_changes = meter.create_up_down_counter("balance.changes")
    temperature = meter.create_gauge("temperature")
    gauge_values = [21, 3.5]
    meter.create_observable_gauge("queue.depth", callbacks=[_observe(gauge_values)])
    observed_total = [10, 20]
    plain_meter.create_observable_counter("observed.total", callbacks=[_observe(observed_total)])
    plain_meter.create_observable_up_down_counter("observed.balance", callbacks=[_observe([-4.5, 2])])

    data = None
    for round_ in range(collections):
        with tracer.start_as_current_span("recording"):
            requests.add(3, ATTRIBUTE_KINDS)
            in_flight.add(-1.5, {"pool": "db"})
            latency.record(5, {"route": "/a"})
            latency.record(250.5, {"route": "/a"})
            exponential.record(0.5)
            exponential.record(1200)
            exponential.record(0)
            balance_changes.add(-2.25, {"account": "x"})
            balance_changes.add(8, {"account": "x"})
            balance_changes.add(0, {"account": "x"})
            temperature.set(19.5 + round_, {"room": "lab"})
        # Outside any span: exemplars without trace or span ids.
        requests.add(2, {"route": "/b"})
        latency.record(0.5, {"route": "/b"})
        observed_total[0] += 5
        data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    return data


def all_points(request) -> list:
    """(metric, data field, point) for every data point of an OTLP request."""
    return [
        (metric, metric.WhichOneof("data"), point)
        for resource_metrics in request.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
        for point in getattr(metric, metric.WhichOneof("data")).data_points
    ]
