//! Groups a batch of spans by resource, then by scope, in first-seen order (as the stock
//! exporter does).

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

use crate::convert::scope::ScopeGroup;
use crate::convert::span::QueuedSpan;

pub fn export_request(batch: Vec<QueuedSpan>) -> ExportTraceServiceRequest {
    let mut resource_spans: Vec<ResourceSpans> = Vec::new();
    // The group behind each ScopeSpans, parallel to the nested vectors.
    let mut groups: Vec<Vec<Arc<ScopeGroup>>> = Vec::new();

    for QueuedSpan { group, span } in batch {
        let resource_index = match groups.iter().position(|scopes| {
            let first = &scopes[0];
            first.resource == group.resource
                && first.resource_schema_url == group.resource_schema_url
        }) {
            Some(index) => index,
            None => {
                resource_spans.push(ResourceSpans {
                    resource: Some(group.resource.clone()),
                    scope_spans: Vec::new(),
                    schema_url: group.resource_schema_url.clone(),
                });
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        let scopes = &mut groups[resource_index];
        let entry = &mut resource_spans[resource_index];
        match scopes.iter().position(|known| Arc::ptr_eq(known, &group)) {
            Some(scope_index) => entry.scope_spans[scope_index].spans.push(span),
            None => {
                entry.scope_spans.push(ScopeSpans {
                    scope: Some(group.scope.clone()),
                    spans: vec![span],
                    schema_url: group.scope_schema_url.clone(),
                });
                scopes.push(group);
            }
        }
    }
    ExportTraceServiceRequest { resource_spans }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
