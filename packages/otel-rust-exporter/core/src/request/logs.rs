//! A batch of log records to one `ExportLogsServiceRequest`.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use prost::Message;

use super::group::by_resource_and_scope;
use crate::otlp::OtlpBatch;
use crate::records::QueuedLogRecord;

pub fn export_request(batch: Vec<QueuedLogRecord>) -> ExportLogsServiceRequest {
    let grouped = by_resource_and_scope(
        batch
            .into_iter()
            .map(|queued| (queued.group, queued.record)),
    );
    let resource_logs = grouped
        .into_iter()
        .map(|resource| ResourceLogs {
            resource: Some(resource.group.resource.clone()),
            schema_url: resource.group.resource_schema_url.clone(),
            scope_logs: resource
                .scopes
                .into_iter()
                .map(|(scope, log_records)| ScopeLogs {
                    scope: Some(scope.scope.clone()),
                    log_records,
                    schema_url: scope.scope_schema_url.clone(),
                })
                .collect(),
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

impl OtlpBatch for QueuedLogRecord {
    type Response = ExportLogsServiceResponse;

    fn encoded_len(&self) -> usize {
        self.record.encoded_len()
    }

    fn encode(batch: Vec<Self>) -> Vec<u8> {
        export_request(batch).encode_to_vec()
    }
}
