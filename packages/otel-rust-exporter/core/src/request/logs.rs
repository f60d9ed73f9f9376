//! A batch of encoded log records to one `ExportLogsServiceRequest`.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use super::encoded::RequestRecord;

impl RequestRecord for LogRecord {
    type Response = ExportLogsServiceResponse;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::otlp::OtlpBatch;
    use crate::records::{EncodedLogRecord, ScopeGroup};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message;

    fn record(body: &str) -> LogRecord {
        LogRecord {
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(body.into())),
            }),
            severity_number: 9,
            ..Default::default()
        }
    }

    /// Logs share the spans' framing: the same bytes prost writes for the whole request.
    #[test]
    fn the_framed_request_is_byte_for_byte_what_prost_encodes() {
        let group = |scope: &str| {
            Arc::new(ScopeGroup {
                resource: Resource::default(),
                resource_schema_url: String::new(),
                scope: InstrumentationScope {
                    name: scope.into(),
                    ..Default::default()
                },
                scope_schema_url: "https://example.com/s".into(),
            })
        };
        let (app, db) = (group("app"), group("db"));
        let batch = vec![
            EncodedLogRecord::from_message(app.clone(), &record("one")),
            EncodedLogRecord::from_message(db.clone(), &record(&"y".repeat(200))),
            EncodedLogRecord::from_message(app.clone(), &record("three")),
        ];
        let expected = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource::default()),
                schema_url: String::new(),
                scope_logs: vec![
                    ScopeLogs {
                        scope: Some(app.scope.clone()),
                        log_records: vec![record("one"), record("three")],
                        schema_url: app.scope_schema_url.clone(),
                    },
                    ScopeLogs {
                        scope: Some(db.scope.clone()),
                        log_records: vec![record(&"y".repeat(200))],
                        schema_url: db.scope_schema_url.clone(),
                    },
                ],
            }],
        };
        assert_eq!(EncodedLogRecord::encode(batch), expected.encode_to_vec());
    }
}
