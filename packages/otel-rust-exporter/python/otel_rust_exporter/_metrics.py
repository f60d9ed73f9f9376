"""The metric exporter: a thin wrapper over the native core."""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
)
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    Gauge,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData
from opentelemetry.sdk.metrics.view import (
    Aggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)
from typing_extensions import Unpack

from otel_rust_exporter import _lifecycle, _native  # noqa: F401 (_lifecycle: native hooks)
from otel_rust_exporter._options import Headers, OtlpArguments, count_option, number_option, otlp_options
from otel_rust_exporter._self_metrics import report_otlp

_logger = logging.getLogger("otel_rust_exporter")


class MetricExporterArguments(OtlpArguments, total=False):
    """The stock OTLP metric exporters' keyword arguments."""

    preferred_temporality: Optional[dict[type, AggregationTemporality]]
    preferred_aggregation: Optional[dict[type, Aggregation]]
    max_export_batch_size: Optional[int]


_DELTA = AggregationTemporality.DELTA
_CUMULATIVE = AggregationTemporality.CUMULATIVE

# OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, as the stock OTLP metric exporters read it.
_TEMPORALITY_PREFERENCES: dict[str, dict[type, AggregationTemporality]] = {
    "CUMULATIVE": {
        Counter: _CUMULATIVE,
        UpDownCounter: _CUMULATIVE,
        Histogram: _CUMULATIVE,
        ObservableCounter: _CUMULATIVE,
        ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
    "DELTA": {
        Counter: _DELTA,
        UpDownCounter: _CUMULATIVE,
        Histogram: _DELTA,
        ObservableCounter: _DELTA,
        ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
    "LOWMEMORY": {
        Counter: _DELTA,
        UpDownCounter: _CUMULATIVE,
        Histogram: _DELTA,
        ObservableCounter: _CUMULATIVE,
        ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
}


def _temporality(
    preferred: Optional[dict[type, AggregationTemporality]],
) -> dict[type, AggregationTemporality]:
    preference = (
        os.environ.get(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, "CUMULATIVE").upper().strip()
    )
    if preference not in _TEMPORALITY_PREFERENCES:
        _logger.warning(
            "Invalid value for %s: %s, using cumulative temporality aggregation",
            OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
            preference,
        )
        preference = "CUMULATIVE"
    return {**_TEMPORALITY_PREFERENCES[preference], **(preferred or {})}


def _aggregation(preferred: Optional[dict[type, Aggregation]]) -> dict[type, Aggregation]:
    default = (
        os.environ.get(OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION, "explicit_bucket_histogram")
        .upper()
        .strip()
    )
    if default == "BASE2_EXPONENTIAL_BUCKET_HISTOGRAM":
        histogram: Aggregation = ExponentialBucketHistogramAggregation()
    else:
        if default != "EXPLICIT_BUCKET_HISTOGRAM":
            _logger.warning(
                "Invalid value for %s: %s, using explicit bucket histogram aggregation",
                OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
                default,
            )
        histogram = ExplicitBucketHistogramAggregation()
    return {Histogram: histogram, **(preferred or {})}


class RustOTLPMetricExporter(MetricExporter):
    """An OTLP metric exporter whose encoding and sending run in Rust, without the GIL.

    For ``PeriodicExportingMetricReader``. The arguments are those of the stock
    ``OTLPMetricExporter`` (HTTP and gRPC); ``protocol`` picks the transport. Arguments
    override the ``OTEL_EXPORTER_OTLP_*`` variables; ``timeout`` is in seconds.
    ``max_export_batch_size`` splits an export into requests of at most that many data
    points, as the stock exporters do.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        headers: Headers = None,
        timeout: Optional[float] = None,
        compression: Any = None,
        **options: Unpack[MetricExporterArguments],
    ):
        super().__init__(
            preferred_temporality=_temporality(options.get("preferred_temporality")),
            preferred_aggregation=_aggregation(options.get("preferred_aggregation")),
        )
        self._core = _native.MetricExporterCore(
            otlp_options(
                type(self).__name__, endpoint, headers, timeout, compression, options, MetricExporterArguments
            ),
            data_types=(Sum, Gauge, HistogramData, ExponentialHistogram),
            max_export_batch_size=count_option("max_export_batch_size", options.get("max_export_batch_size")),
        )
        self._self_metrics = report_otlp(self, "metrics", options.get("meter_provider"))

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        delivered = self._core.export(metrics_data, number_option("timeout_millis", timeout_millis))
        return MetricExportResult.SUCCESS if delivered else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Nothing is buffered: each export is sent before it returns."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._core.shutdown()

    def stats(self) -> dict[str, int]:
        """The disk spool's counters: spooled, replayed, spool_dropped, spool_corrupt,
        spool_bytes (all 0 without a spool)."""
        return self._core.stats()

    def set_meter_provider(self, meter_provider: MeterProvider) -> None:
        """Reports this exporter's self-metrics through `meter_provider` (as the stock
        OTLP metric exporters do)."""
        if self._self_metrics is not None:
            self._self_metrics.close()
        self._self_metrics = report_otlp(self, "metrics", meter_provider)

    def __repr__(self) -> str:
        return f"RustOTLPMetricExporter(endpoint={self._core.endpoint!r}, protocol={self._core.protocol!r})"
