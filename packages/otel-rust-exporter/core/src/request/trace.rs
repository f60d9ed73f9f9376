//! A batch of spans to one `ExportTraceServiceRequest`.

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message;

use super::group::by_resource_and_scope;
use crate::otlp::OtlpBatch;
use crate::records::QueuedSpan;

pub fn export_request(batch: Vec<QueuedSpan>) -> ExportTraceServiceRequest {
    let grouped =
        by_resource_and_scope(batch.into_iter().map(|queued| (queued.group, queued.span)));
    let resource_spans = grouped
        .into_iter()
        .map(|resource| ResourceSpans {
            resource: Some(resource.group.resource.clone()),
            schema_url: resource.group.resource_schema_url.clone(),
            scope_spans: resource
                .scopes
                .into_iter()
                .map(|(scope, spans)| ScopeSpans {
                    scope: Some(scope.scope.clone()),
                    spans,
                    schema_url: scope.scope_schema_url.clone(),
                })
                .collect(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

impl OtlpBatch for QueuedSpan {
    type Response = ExportTraceServiceResponse;

    fn encoded_len(&self) -> usize {
        self.span.encoded_len()
    }

    fn encode(batch: Vec<Self>) -> Vec<u8> {
        export_request(batch).encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::records::ScopeGroup;
    use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, InstrumentationScope, KeyValue,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::Span;

    fn group(service: &str, scope: &str) -> Arc<ScopeGroup> {
        Arc::new(ScopeGroup {
            resource: Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            },
            resource_schema_url: String::new(),
            scope: InstrumentationScope {
                name: scope.into(),
                ..Default::default()
            },
            scope_schema_url: String::new(),
        })
    }

    fn span(name: &str, group: &Arc<ScopeGroup>) -> QueuedSpan {
        QueuedSpan {
            group: group.clone(),
            span: Span {
                name: name.into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn groups_by_resource_then_scope_in_first_seen_order() {
        let a_x = group("a", "x");
        let a_y = group("a", "y");
        let b_x = group("b", "x");
        let request = export_request(vec![
            span("1", &a_x),
            span("2", &b_x),
            span("3", &a_y),
            span("4", &a_x),
        ]);
        let shape: Vec<Vec<(String, Vec<String>)>> = request
            .resource_spans
            .iter()
            .map(|resource| {
                resource
                    .scope_spans
                    .iter()
                    .map(|scope| {
                        let names = scope.spans.iter().map(|s| s.name.clone()).collect();
                        (scope.scope.as_ref().unwrap().name.clone(), names)
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                vec![
                    ("x".into(), vec!["1".into(), "4".into()]),
                    ("y".into(), vec!["3".into()])
                ],
                vec![("x".into(), vec!["2".into()])],
            ]
        );
    }

    #[test]
    fn equal_groups_behind_different_pointers_share_one_scope_spans() {
        let first = group("a", "x");
        let evicted_and_rebuilt = group("a", "x");
        let request = export_request(vec![span("1", &first), span("2", &evicted_and_rebuilt)]);
        assert_eq!(request.resource_spans.len(), 1);
        assert_eq!(request.resource_spans[0].scope_spans.len(), 1);
        assert_eq!(request.resource_spans[0].scope_spans[0].spans.len(), 2);
    }
}
