//! The SDK's `MetricsData` to one OTLP `ExportMetricsServiceRequest`, field for field as
//! `opentelemetry-exporter-otlp-proto-common`'s `encode_metrics` builds it.
//!
//! A metric that cannot be read (a broken custom exporter input, a value no number can be
//! made of) is left out with a warning; the stock encoder would fail the whole export.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric::Data, number_data_point, Exemplar,
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyType};

use super::attributes::{key_values, optional_str};
use super::fields::time;
use super::names::name;
use super::scope::ScopeCache;
use crate::diagnostics::{self, RateLimited};
use crate::records::ScopeGroup;

/// One warning a minute per case, with the count of those held back.
static UNREADABLE_METRIC: RateLimited = RateLimited::new(Duration::from_secs(60));
static UNKNOWN_KIND: RateLimited = RateLimited::new(Duration::from_secs(60));
static HUGE_VALUE: RateLimited = RateLimited::new(Duration::from_secs(60));

fn warn(case: &RateLimited, message: &str) {
    if let Some(held_back) = case.admit() {
        diagnostics::warn(&format!(
            "{message} ({held_back} similar warnings suppressed)"
        ));
    }
}

/// The SDK's data classes (`Sum`, `Gauge`, `Histogram`, `ExponentialHistogram` of
/// `opentelemetry.sdk.metrics.export`), given by the Python wrapper so that this module
/// never imports the SDK itself.
pub struct MetricKinds {
    pub sum: Py<PyType>,
    pub gauge: Py<PyType>,
    pub histogram: Py<PyType>,
    pub exponential_histogram: Py<PyType>,
}

/// A converted scope, with the group it was keyed by.
type ScopeEntry = (Arc<ScopeGroup>, ScopeMetrics);

/// Reads `metrics_data`; the GIL is needed only for this.
pub fn export_request(
    metrics_data: &Bound<'_, PyAny>,
    kinds: &MetricKinds,
    scopes: &ScopeCache,
) -> PyResult<ExportMetricsServiceRequest> {
    let py = metrics_data.py();
    let none = py.None().into_bound(py);
    // The stock encoder keys a dict by SDK `Resource`, then by `InstrumentationScope`: a
    // resource (or scope) equal to an earlier one keeps the earlier one's place and
    // encoding, but its contents replace the earlier contents.
    let mut resources: Vec<(Arc<ScopeGroup>, Vec<ScopeEntry>)> = Vec::new();
    for resource_metrics in metrics_data
        .getattr(name!(py, resource_metrics))?
        .try_iter()?
    {
        let resource_metrics = resource_metrics?;
        let resource = resource_metrics.getattr(name!(py, resource))?;
        let resource_group = scopes.group(&resource, &none)?;
        let mut scope_entries: Vec<ScopeEntry> = Vec::new();
        for scope_metrics in resource_metrics
            .getattr(name!(py, scope_metrics))?
            .try_iter()?
        {
            let scope_metrics = scope_metrics?;
            let group = scopes.group(&resource, &scope_metrics.getattr(name!(py, scope))?)?;
            let converted = ScopeMetrics {
                scope: Some(group.scope.clone()),
                metrics: metrics_of(&scope_metrics.getattr(name!(py, metrics))?, kinds)?,
                schema_url: group.scope_schema_url.clone(),
            };
            match scope_entries
                .iter_mut()
                .find(|(known, _)| known.same_scope(&group))
            {
                Some(entry) => entry.1 = converted,
                None => scope_entries.push((group, converted)),
            }
        }
        match resources
            .iter_mut()
            .find(|(known, _)| known.same_resource(&resource_group))
        {
            Some(entry) => entry.1 = scope_entries,
            None => resources.push((resource_group, scope_entries)),
        }
    }
    Ok(ExportMetricsServiceRequest {
        resource_metrics: resources
            .into_iter()
            .map(|(group, scope_entries)| ResourceMetrics {
                resource: Some(group.resource.clone()),
                scope_metrics: scope_entries.into_iter().map(|(_, scope)| scope).collect(),
                schema_url: group.resource_schema_url.clone(),
            })
            .collect(),
    })
}

fn metrics_of(metrics: &Bound<'_, PyAny>, kinds: &MetricKinds) -> PyResult<Vec<Metric>> {
    let py = metrics.py();
    let mut out = Vec::new();
    for metric in metrics.try_iter()? {
        let metric = metric?;
        let name = optional_str(&metric.getattr(name!(py, name))?, "metric name");
        match data_of(&metric.getattr(name!(py, data))?, kinds) {
            Ok(data) => out.push(Metric {
                description: optional_str(
                    &metric.getattr(name!(py, description))?,
                    "metric description",
                ),
                unit: optional_str(&metric.getattr(name!(py, unit))?, "metric unit"),
                name,
                metadata: Vec::new(),
                data,
            }),
            Err(error) => {
                let shown: String = name.chars().take(64).collect();
                warn(
                    &UNREADABLE_METRIC,
                    &format!("metric {shown:?} could not be read and is left out: {error}"),
                );
            }
        }
    }
    Ok(out)
}

/// `None` for data of no kind the SDK defines, sent without data as the stock encoder
/// does. The stock encoder also sets no data when there are no data points.
fn data_of(data: &Bound<'_, PyAny>, kinds: &MetricKinds) -> PyResult<Option<Data>> {
    let py = data.py();
    let points = data.getattr(name!(py, data_points));
    if data.is_instance(kinds.gauge.bind(py))? {
        let points = number_points(&points?, false)?;
        if points.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Data::Gauge(Gauge {
            data_points: points,
        })));
    }
    if data.is_instance(kinds.histogram.bind(py))? {
        let points = points_of(&points?, histogram_point)?;
        if points.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: temporality(data)?,
        })));
    }
    if data.is_instance(kinds.sum.bind(py))? {
        let points = number_points(&points?, true)?;
        if points.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality(data)?,
            is_monotonic: data.getattr(name!(py, is_monotonic))?.is_truthy()?,
        })));
    }
    if data.is_instance(kinds.exponential_histogram.bind(py))? {
        let points = points_of(&points?, exponential_point)?;
        if points.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: points,
            aggregation_temporality: temporality(data)?,
        })));
    }
    let type_name = data
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_default();
    warn(
        &UNKNOWN_KIND,
        &format!("unsupported metric data type {type_name}, sent without data points"),
    );
    Ok(None)
}

fn temporality(data: &Bound<'_, PyAny>) -> PyResult<i32> {
    data.getattr(name!(data.py(), aggregation_temporality))?
        .extract()
}

/// Converts each point (the SDK's points are dataclasses).
fn points_of<'py, T>(
    points: &Bound<'py, PyAny>,
    convert: impl Fn(Python<'py>, &Bound<'py, PyAny>) -> PyResult<T>,
) -> PyResult<Vec<T>> {
    let py = points.py();
    let mut out = Vec::with_capacity(points.len().unwrap_or(0));
    for point in points.try_iter()? {
        let point = point?;
        out.push(convert(py, &point)?);
    }
    Ok(out)
}

/// Gauge points carry no start time in the stock encoding, even when the SDK sets one.
fn number_points(points: &Bound<'_, PyAny>, with_start: bool) -> PyResult<Vec<NumberDataPoint>> {
    points_of(points, |py, point| {
        Ok(NumberDataPoint {
            attributes: key_values(&point.getattr(name!(py, attributes))?)?,
            start_time_unix_nano: if with_start {
                time(&point.getattr(name!(py, start_time_unix_nano))?)?
            } else {
                0
            },
            time_unix_nano: time(&point.getattr(name!(py, time_unix_nano))?)?,
            exemplars: exemplars(&point.getattr(name!(py, exemplars))?)?,
            flags: 0,
            value: Some(match number(&point.getattr(name!(py, value))?)? {
                Number::Int(value) => number_data_point::Value::AsInt(value),
                Number::Double(value) => number_data_point::Value::AsDouble(value),
            }),
        })
    })
}

fn histogram_point<'py>(
    py: Python<'py>,
    point: &Bound<'py, PyAny>,
) -> PyResult<HistogramDataPoint> {
    Ok(HistogramDataPoint {
        attributes: key_values(&point.getattr(name!(py, attributes))?)?,
        start_time_unix_nano: time(&point.getattr(name!(py, start_time_unix_nano))?)?,
        time_unix_nano: time(&point.getattr(name!(py, time_unix_nano))?)?,
        count: point.getattr(name!(py, count))?.extract()?,
        sum: point.getattr(name!(py, sum))?.extract()?,
        bucket_counts: point.getattr(name!(py, bucket_counts))?.extract()?,
        explicit_bounds: point.getattr(name!(py, explicit_bounds))?.extract()?,
        exemplars: exemplars(&point.getattr(name!(py, exemplars))?)?,
        flags: 0,
        min: point.getattr(name!(py, min))?.extract()?,
        max: point.getattr(name!(py, max))?.extract()?,
    })
}

fn exponential_point<'py>(
    py: Python<'py>,
    point: &Bound<'py, PyAny>,
) -> PyResult<ExponentialHistogramDataPoint> {
    Ok(ExponentialHistogramDataPoint {
        attributes: key_values(&point.getattr(name!(py, attributes))?)?,
        start_time_unix_nano: time(&point.getattr(name!(py, start_time_unix_nano))?)?,
        time_unix_nano: time(&point.getattr(name!(py, time_unix_nano))?)?,
        count: point.getattr(name!(py, count))?.extract()?,
        sum: point.getattr(name!(py, sum))?.extract()?,
        scale: point.getattr(name!(py, scale))?.extract()?,
        zero_count: point.getattr(name!(py, zero_count))?.extract()?,
        positive: buckets(&point.getattr(name!(py, positive))?)?,
        negative: buckets(&point.getattr(name!(py, negative))?)?,
        flags: point.getattr(name!(py, flags))?.extract()?,
        exemplars: exemplars(&point.getattr(name!(py, exemplars))?)?,
        min: point.getattr(name!(py, min))?.extract()?,
        max: point.getattr(name!(py, max))?.extract()?,
        // The SDK has no zero threshold; the stock encoder leaves it 0.
        zero_threshold: 0.0,
    })
}

/// Buckets without counts are left unset, as the stock encoder does.
fn buckets(buckets: &Bound<'_, PyAny>) -> PyResult<Option<Buckets>> {
    let py = buckets.py();
    let bucket_counts: Vec<u64> = buckets.getattr(name!(py, bucket_counts))?.extract()?;
    if bucket_counts.is_empty() {
        return Ok(None);
    }
    Ok(Some(Buckets {
        offset: buckets.getattr(name!(py, offset))?.extract()?,
        bucket_counts,
    }))
}

fn exemplars(exemplars: &Bound<'_, PyAny>) -> PyResult<Vec<Exemplar>> {
    if exemplars.is_none() {
        return Ok(Vec::new());
    }
    points_of(exemplars, |py, exemplar| {
        let span_id = exemplar.getattr(name!(py, span_id))?;
        let trace_id = exemplar.getattr(name!(py, trace_id))?;
        // Ids only when both are known, as the stock encoder does.
        let (span_id, trace_id) = if span_id.is_none() || trace_id.is_none() {
            (Vec::new(), Vec::new())
        } else {
            (
                span_id.extract::<u64>()?.to_be_bytes().to_vec(),
                trace_id.extract::<u128>()?.to_be_bytes().to_vec(),
            )
        };
        Ok(Exemplar {
            filtered_attributes: key_values(&exemplar.getattr(name!(py, filtered_attributes))?)?,
            time_unix_nano: time(&exemplar.getattr(name!(py, time_unix_nano))?)?,
            span_id,
            trace_id,
            value: Some(match number(&exemplar.getattr(name!(py, value))?)? {
                Number::Int(value) => exemplar::Value::AsInt(value),
                Number::Double(value) => exemplar::Value::AsDouble(value),
            }),
        })
    })
}

enum Number {
    Int(i64),
    Double(f64),
}

/// `int` (and `bool`) as an integer, anything else as a double, as the stock encoder
/// decides. An integer beyond 64 bits, which protobuf cannot carry, is sent as a double.
fn number(value: &Bound<'_, PyAny>) -> PyResult<Number> {
    if value.is_exact_instance_of::<PyFloat>() {
        return Ok(Number::Double(value.extract()?));
    }
    if let Ok(int) = value.cast::<PyInt>() {
        return Ok(match int.extract::<i64>() {
            Ok(number) => Number::Int(number),
            Err(_) => {
                warn(
                    &HUGE_VALUE,
                    "a metric value beyond 64 bits was sent as a double",
                );
                Number::Double(int.extract()?)
            }
        });
    }
    Ok(Number::Double(value.extract()?))
}
