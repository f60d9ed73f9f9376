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
        let (resource_index, scope_index) = match locate(&groups, &group) {
            (Some(resource), scope) => (resource, scope),
            (None, _) => {
                resource_spans.push(ResourceSpans {
                    resource: Some(group.resource.clone()),
                    scope_spans: Vec::new(),
                    schema_url: group.resource_schema_url.clone(),
                });
                groups.push(Vec::new());
                (groups.len() - 1, None)
            }
        };
        let entry = &mut resource_spans[resource_index];
        match scope_index {
            Some(scope_index) => entry.scope_spans[scope_index].spans.push(span),
            None => {
                entry.scope_spans.push(ScopeSpans {
                    scope: Some(group.scope.clone()),
                    spans: vec![span],
                    schema_url: group.scope_schema_url.clone(),
                });
                groups[resource_index].push(group);
            }
        }
    }
    ExportTraceServiceRequest { resource_spans }
}

/// Where `group` goes: by pointer first (the common case), then by content, since the
/// scope cache makes a new `Arc` for a scope it had evicted.
fn locate(
    groups: &[Vec<Arc<ScopeGroup>>],
    group: &Arc<ScopeGroup>,
) -> (Option<usize>, Option<usize>) {
    for (resource_index, scopes) in groups.iter().enumerate() {
        if let Some(scope_index) = scopes.iter().position(|known| Arc::ptr_eq(known, group)) {
            return (Some(resource_index), Some(scope_index));
        }
    }
    match groups
        .iter()
        .position(|scopes| scopes[0].same_resource(group))
    {
        Some(resource_index) => {
            let scope_index = groups[resource_index]
                .iter()
                .position(|known| known.same_scope(group));
            (Some(resource_index), scope_index)
        }
        None => (None, None),
    }
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
