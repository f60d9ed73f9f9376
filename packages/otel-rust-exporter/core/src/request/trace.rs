//! A batch of encoded spans to one `ExportTraceServiceRequest`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::encoded::RequestRecord;

impl RequestRecord for Span {
    type Response = ExportTraceServiceResponse;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::otlp::OtlpBatch;
    use crate::records::{EncodedSpan, ScopeGroup};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, InstrumentationScope, KeyValue,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    fn text(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    fn group(service: &str, scope: &str) -> Arc<ScopeGroup> {
        Arc::new(ScopeGroup {
            resource: Resource {
                attributes: vec![text("service.name", service)],
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

    fn span(name: &str) -> Span {
        Span {
            name: name.into(),
            ..Default::default()
        }
    }

    fn encode(spans: &[(&Arc<ScopeGroup>, Span)]) -> ExportTraceServiceRequest {
        let batch = spans
            .iter()
            .map(|(group, span)| EncodedSpan::from_message((*group).clone(), span))
            .collect();
        ExportTraceServiceRequest::decode(&*EncodedSpan::encode(batch)).unwrap()
    }

    #[test]
    fn groups_by_resource_then_scope_in_first_seen_order() {
        let a_x = group("a", "x");
        let a_y = group("a", "y");
        let b_x = group("b", "x");
        let request = encode(&[
            (&a_x, span("1")),
            (&b_x, span("2")),
            (&a_y, span("3")),
            (&a_x, span("4")),
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
        let request = encode(&[(&first, span("1")), (&evicted_and_rebuilt, span("2"))]);
        assert_eq!(request.resource_spans.len(), 1);
        assert_eq!(request.resource_spans[0].scope_spans.len(), 1);
        assert_eq!(request.resource_spans[0].scope_spans[0].spans.len(), 2);
    }

    /// The framing around encoded spans writes the very bytes prost writes for the whole
    /// request: schema URLs, scope attributes, and spans over 127 bytes (two-byte lengths).
    #[test]
    fn the_framed_request_is_byte_for_byte_what_prost_encodes() {
        let mut versioned = ScopeGroup {
            resource: Resource {
                attributes: vec![text("service.name", "a")],
                dropped_attributes_count: 2,
                ..Default::default()
            },
            resource_schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
            scope: InstrumentationScope {
                name: "lib".into(),
                version: "1.0".into(),
                attributes: vec![text("scope.key", "v")],
                dropped_attributes_count: 1,
            },
            scope_schema_url: "https://example.com/scope".into(),
        };
        let first = Arc::new(ScopeGroup {
            resource: versioned.resource.clone(),
            resource_schema_url: versioned.resource_schema_url.clone(),
            scope: versioned.scope.clone(),
            scope_schema_url: versioned.scope_schema_url.clone(),
        });
        versioned.scope.name = "other".into();
        versioned.scope_schema_url.clear();
        let second = Arc::new(versioned);
        let big = Span {
            name: "x".repeat(300),
            attributes: (0..20).map(|i| text(&format!("k{i}"), "value")).collect(),
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            flags: 0x100,
            ..Default::default()
        };
        let spans = [
            (&first, big.clone()),
            (&second, span("s")),
            (&first, span("t")),
        ];
        let batch = spans
            .iter()
            .map(|(group, span)| EncodedSpan::from_message((*group).clone(), span))
            .collect();
        let expected = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(first.resource.clone()),
                schema_url: first.resource_schema_url.clone(),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(first.scope.clone()),
                        spans: vec![big, span("t")],
                        schema_url: first.scope_schema_url.clone(),
                    },
                    ScopeSpans {
                        scope: Some(second.scope.clone()),
                        spans: vec![span("s")],
                        schema_url: String::new(),
                    },
                ],
            }],
        };
        assert_eq!(EncodedSpan::encode(batch), expected.encode_to_vec());
    }
}
