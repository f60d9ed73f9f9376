//! Trace export: a batch of converted spans to one `ExportTraceServiceRequest`, sent with
//! retry, with partial success and failures reported.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::runtime::Handle;
use tokio::time::Instant;

use crate::config::{OtlpConfig, Signal};
use crate::convert::span::QueuedSpan;
use crate::diagnostics::{self, OncePerKind, RateLimited};
use crate::pipeline::BatchExport;
use crate::retry::{retry, Backoff};
use crate::transform;
use crate::transport::Transport;

pub struct TraceExporter {
    /// `Err` when the configuration cannot make a transport (reported once, at start).
    transport: Result<Transport, String>,
    endpoint: String,
    timeout: Duration,
    backoff: Backoff,
    failures: OncePerKind,
    partial_success: RateLimited,
    /// Set while the endpoint is failing transiently (the last batch ran out of retries):
    /// then each batch gets one attempt, as retrying every batch through an outage would
    /// only hold up the queue (and the application's exit) without delivering more.
    last_export_failed: AtomicBool,
    pub rejected: AtomicU64,
}

impl TraceExporter {
    /// `timeout` bounds one export including its retries.
    pub fn new(config: &OtlpConfig, timeout: Duration, runtime: &Handle) -> Self {
        let transport = {
            let _inside = runtime.enter();
            Transport::new(config, Signal::Traces)
        };
        if let Err(reason) = &transport {
            diagnostics::error(&format!("span export disabled: {reason}"));
        }
        Self {
            transport,
            endpoint: config.display_endpoint(),
            timeout,
            backoff: Backoff::default(),
            failures: OncePerKind::default(),
            partial_success: RateLimited::new(Duration::from_secs(60)),
            last_export_failed: AtomicBool::new(false),
            rejected: AtomicU64::new(0),
        }
    }

    pub async fn export_spans(&self, batch: Vec<QueuedSpan>) -> bool {
        let Ok(transport) = &self.transport else {
            return false;
        };
        let count = batch.len();
        let encoded = transform::trace::export_request(batch).encode_to_vec();
        let outcome = match transport.prepare(encoded) {
            Ok(payload) => {
                let deadline = Instant::now() + self.timeout;
                let send = |remaining| {
                    transport.send::<ExportTraceServiceResponse>(payload.clone(), remaining)
                };
                if self.last_export_failed.load(Ordering::Relaxed) {
                    send(self.timeout).await
                } else {
                    retry(deadline, self.backoff, send).await
                }
            }
            Err(failure) => Err(failure),
        };
        self.last_export_failed
            .store(outcome.is_err(), Ordering::Relaxed);
        match outcome {
            Ok(response) => {
                self.report_partial_success(&response);
                true
            }
            Err(failure) => {
                if self.failures.first_time(&failure.kind) {
                    diagnostics::error(&format!(
                        "failed to export {count} spans to {}: {} (further {} failures are counted, not logged)",
                        self.endpoint, failure.message, failure.kind
                    ));
                }
                false
            }
        }
    }

    fn report_partial_success(&self, response: &ExportTraceServiceResponse) {
        let Some(partial) = &response.partial_success else {
            return;
        };
        if partial.rejected_spans <= 0 && partial.error_message.is_empty() {
            return;
        }
        let rejected = partial.rejected_spans.max(0) as u64;
        let total = self.rejected.fetch_add(rejected, Ordering::Relaxed) + rejected;
        if let Some(held_back) = self.partial_success.admit() {
            let reason: String = partial.error_message.chars().take(200).collect();
            diagnostics::warn(&format!(
                "the collector rejected {rejected} spans: {reason:?} ({total} rejected so far; \
                 {held_back} such warnings suppressed)"
            ));
        }
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
