//! Trace export: a batch of converted spans to one `ExportTraceServiceRequest`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use crate::convert::span::QueuedSpan;
use crate::otlp::OtlpExporter;
use crate::pipeline::BatchExport;
use crate::transform;

pub struct TraceExporter(pub OtlpExporter);

impl TraceExporter {
    pub async fn export_spans(&self, batch: Vec<QueuedSpan>) -> bool {
        let count = batch.len();
        let encoded = transform::trace::export_request(batch).encode_to_vec();
        self.0
            .send::<ExportTraceServiceResponse>(encoded, count)
            .await
    }
}

impl BatchExport for TraceExporter {
    type Item = QueuedSpan;

    fn export(
        self: Arc<Self>,
        batch: Vec<QueuedSpan>,
    ) -> Pin<Box<dyn Future<Output = bool> + Send>> {
        Box::pin(async move { self.export_spans(batch).await })
    }
}
