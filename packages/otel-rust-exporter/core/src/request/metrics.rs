//! Metric export: one converted `ExportMetricsServiceRequest`, split by data points as the
//! stock OTLP metric exporters split it, each part encoded and sent with retry.

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, ExponentialHistogram, Gauge, Histogram, Metric, ResourceMetrics, ScopeMetrics,
    Sum, Summary,
};
use prost::Message;

use tokio::time::Instant;

use crate::otlp::OtlpClient;
use crate::pipeline::Outcome;

/// Sends `request` whole, or in parts of at most `max_points` data points. Like the stock
/// HTTP exporter, it stops at the first part that was not delivered: the endpoint is
/// failing, and the reader exports again at its next interval (with a spool, the rest go
/// to disk instead). The worst part's outcome.
pub async fn export(
    sender: &OtlpClient,
    request: ExportMetricsServiceRequest,
    max_points: Option<usize>,
    deadline: Instant,
) -> Outcome {
    let parts = match max_points {
        Some(max_points) => split(request, max_points),
        None => vec![request],
    };
    let mut outcome = Outcome::Delivered;
    for part in parts {
        let count = data_point_count(&part);
        outcome = outcome.and(
            sender
                .send_before::<ExportMetricsServiceResponse>(part.encode_to_vec(), count, deadline)
                .await,
        );
        if outcome == Outcome::Failed {
            return outcome;
        }
    }
    outcome
}

/// Data points in a request (what `max_export_batch_size` counts).
pub fn data_point_count(request: &ExportMetricsServiceRequest) -> usize {
    request
        .resource_metrics
        .iter()
        .flat_map(|resource| &resource.scope_metrics)
        .flat_map(|scope| &scope.metrics)
        .filter_map(|metric| metric.data.as_ref())
        .map(|data| match data {
            Data::Gauge(gauge) => gauge.data_points.len(),
            Data::Sum(sum) => sum.data_points.len(),
            Data::Histogram(histogram) => histogram.data_points.len(),
            Data::ExponentialHistogram(histogram) => histogram.data_points.len(),
            Data::Summary(summary) => summary.data_points.len(),
        })
        .sum()
}

/// Requests of at most `max_points` data points each, in order, as the stock exporters'
/// `_split_metrics_data` cuts them: a metric cut in two repeats its name and kind in the
/// next request, and metrics, scopes and resources without data points are left out.
pub fn split(
    request: ExportMetricsServiceRequest,
    max_points: usize,
) -> Vec<ExportMetricsServiceRequest> {
    let mut splitter = Splitter {
        max_points: max_points.max(1),
        ..Default::default()
    };
    for resource_metrics in request.resource_metrics {
        splitter.resource = ResourceMetrics {
            scope_metrics: Vec::new(),
            ..resource_metrics
        };
        splitter.resource_open = false;
        for scope_metrics in resource_metrics.scope_metrics {
            splitter.scope = ScopeMetrics {
                metrics: Vec::new(),
                ..scope_metrics
            };
            splitter.scope_open = false;
            for metric in scope_metrics.metrics {
                splitter.add(metric);
            }
        }
    }
    splitter.finish()
}

#[derive(Default)]
struct Splitter {
    max_points: usize,
    done: Vec<ExportMetricsServiceRequest>,
    current: ExportMetricsServiceRequest,
    points_in_current: usize,
    /// The resource and scope being walked, without their contents.
    resource: ResourceMetrics,
    scope: ScopeMetrics,
    /// Whether `current` already ends with that resource, and with that scope.
    resource_open: bool,
    scope_open: bool,
}

impl Splitter {
    fn add(&mut self, metric: Metric) {
        let Metric {
            name,
            description,
            unit,
            metadata,
            data,
        } = metric;
        let header = |data| Metric {
            name: name.clone(),
            description: description.clone(),
            unit: unit.clone(),
            metadata: metadata.clone(),
            data: Some(data),
        };
        // Without data there is nothing to count or send: the stock exporters skip it.
        match data {
            None => {}
            Some(Data::Gauge(gauge)) => self.add_points(gauge.data_points, |data_points| {
                header(Data::Gauge(Gauge { data_points }))
            }),
            Some(Data::Sum(sum)) => {
                let (aggregation_temporality, is_monotonic) =
                    (sum.aggregation_temporality, sum.is_monotonic);
                self.add_points(sum.data_points, |data_points| {
                    header(Data::Sum(Sum {
                        data_points,
                        aggregation_temporality,
                        is_monotonic,
                    }))
                })
            }
            Some(Data::Histogram(histogram)) => {
                let aggregation_temporality = histogram.aggregation_temporality;
                self.add_points(histogram.data_points, |data_points| {
                    header(Data::Histogram(Histogram {
                        data_points,
                        aggregation_temporality,
                    }))
                })
            }
            Some(Data::ExponentialHistogram(histogram)) => {
                let aggregation_temporality = histogram.aggregation_temporality;
                self.add_points(histogram.data_points, |data_points| {
                    header(Data::ExponentialHistogram(ExponentialHistogram {
                        data_points,
                        aggregation_temporality,
                    }))
                })
            }
            Some(Data::Summary(summary)) => self.add_points(summary.data_points, |data_points| {
                header(Data::Summary(Summary { data_points }))
            }),
        }
    }

    fn add_points<P>(&mut self, points: Vec<P>, metric_with: impl Fn(Vec<P>) -> Metric) {
        let mut points = points.into_iter();
        loop {
            let room = self.max_points - self.points_in_current;
            let part: Vec<P> = points.by_ref().take(room).collect();
            if part.is_empty() {
                return;
            }
            let count = part.len();
            self.push(metric_with(part), count);
        }
    }

    fn push(&mut self, metric: Metric, points: usize) {
        if !self.resource_open {
            self.current.resource_metrics.push(self.resource.clone());
            self.resource_open = true;
            self.scope_open = false;
        }
        let resource = self
            .current
            .resource_metrics
            .last_mut()
            .expect("a resource was just opened");
        if !self.scope_open {
            resource.scope_metrics.push(self.scope.clone());
            self.scope_open = true;
        }
        resource
            .scope_metrics
            .last_mut()
            .expect("a scope was just opened")
            .metrics
            .push(metric);
        self.points_in_current += points;
        if self.points_in_current >= self.max_points {
            self.done.push(std::mem::take(&mut self.current));
            self.points_in_current = 0;
            self.resource_open = false;
            self.scope_open = false;
        }
    }

    fn finish(mut self) -> Vec<ExportMetricsServiceRequest> {
        if self.points_in_current > 0 {
            self.done.push(self.current);
        }
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::metrics::v1::{number_data_point, NumberDataPoint};

    fn point(value: i64) -> NumberDataPoint {
        NumberDataPoint {
            value: Some(number_data_point::Value::AsInt(value)),
            ..Default::default()
        }
    }

    fn sum(name: &str, values: &[i64]) -> Metric {
        Metric {
            name: name.into(),
            data: Some(Data::Sum(Sum {
                data_points: values.iter().copied().map(point).collect(),
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            ..Default::default()
        }
    }

    fn scope(name: &str, metrics: Vec<Metric>) -> ScopeMetrics {
        ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: name.into(),
                ..Default::default()
            }),
            metrics,
            schema_url: format!("https://{name}"),
        }
    }

    fn request(resources: Vec<Vec<ScopeMetrics>>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: resources
                .into_iter()
                .enumerate()
                .map(|(index, scope_metrics)| ResourceMetrics {
                    resource: None,
                    scope_metrics,
                    schema_url: format!("resource-{index}"),
                })
                .collect(),
        }
    }

    /// Each request as resource / scope / metric(values) paths.
    fn shape(requests: &[ExportMetricsServiceRequest]) -> Vec<Vec<String>> {
        requests
            .iter()
            .map(|request| {
                let mut paths = Vec::new();
                for resource in &request.resource_metrics {
                    for scope in &resource.scope_metrics {
                        for metric in &scope.metrics {
                            let Some(Data::Sum(sum)) = &metric.data else {
                                panic!("only sums here")
                            };
                            let values: Vec<String> = sum
                                .data_points
                                .iter()
                                .map(|p| match p.value {
                                    Some(number_data_point::Value::AsInt(v)) => v.to_string(),
                                    _ => "?".into(),
                                })
                                .collect();
                            paths.push(format!(
                                "{}/{}/{}({})",
                                resource.schema_url,
                                scope.scope.as_ref().unwrap().name,
                                metric.name,
                                values.join(",")
                            ));
                        }
                    }
                }
                paths
            })
            .collect()
    }

    #[test]
    fn a_metric_cut_in_two_repeats_its_resource_scope_and_kind() {
        let input = request(vec![
            vec![scope("a", vec![sum("m1", &[1, 2, 3]), sum("m2", &[4])])],
            vec![scope("b", vec![sum("m3", &[5, 6])])],
        ]);
        assert_eq!(data_point_count(&input), 6);
        let parts = split(input, 2);
        assert_eq!(
            shape(&parts),
            vec![
                vec!["resource-0/a/m1(1,2)"],
                vec!["resource-0/a/m1(3)", "resource-0/a/m2(4)"],
                vec!["resource-1/b/m3(5,6)"],
            ]
        );
        let Some(Data::Sum(sum)) = &parts[1].resource_metrics[0].scope_metrics[0].metrics[0].data
        else {
            panic!("the cut metric keeps its kind")
        };
        assert_eq!((sum.aggregation_temporality, sum.is_monotonic), (2, true));
        assert_eq!(
            parts[1].resource_metrics[0].scope_metrics[0].schema_url,
            "https://a"
        );
    }

    #[test]
    fn empty_metrics_scopes_and_resources_are_left_out_and_no_empty_request_is_made() {
        let input = request(vec![
            vec![scope("empty", vec![sum("none", &[])])],
            vec![
                scope(
                    "a",
                    vec![sum("m1", &[1]), Metric::default(), sum("m2", &[2])],
                ),
                scope("also-empty", vec![]),
            ],
        ]);
        let parts = split(input, 2);
        assert_eq!(
            shape(&parts),
            vec![vec!["resource-1/a/m1(1)", "resource-1/a/m2(2)"]]
        );
    }

    #[test]
    fn everything_fits_in_one_request_when_the_limit_is_large() {
        let input = request(vec![vec![scope(
            "a",
            vec![sum("m1", &[1, 2]), sum("m2", &[3])],
        )]]);
        let parts = split(input.clone(), 1000);
        assert_eq!(parts, vec![input]);
    }
}
