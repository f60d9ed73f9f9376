//! Sends encoded OTLP requests of any signal: retry within the export deadline, partial
//! success counted and warned, failures logged once per kind.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_core::future::BoxFuture;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tokio::runtime::Handle;
use tokio::time::Instant;

use crate::config::{OtlpConfig, Signal};
use crate::diagnostics::{self, RateLimited};
use crate::pipeline::{BatchExport, Outcome};
use crate::redact::Redactor;
use crate::retry::{deadline_in, Delivery, Failure, FailureKind};
use crate::self_metrics::ExportMetrics;
use crate::spool::{self, send_or_spool, Kind, Replay, Request, Sending, Sent, Spool, SpoolStats};
use crate::transport::{Transport, EXCERPT_CHARS};

/// An `Export*ServiceResponse`, which may report that the collector rejected some items.
pub trait ExportResponse: prost::Message + Default + Send + 'static {
    /// The rejected count and the collector's message, when it reported either.
    fn rejected(&self) -> Option<(i64, &str)>;
}

impl ExportResponse for ExportTraceServiceResponse {
    fn rejected(&self) -> Option<(i64, &str)> {
        let partial = self.partial_success.as_ref()?;
        Some((partial.rejected_spans, &partial.error_message))
    }
}

impl ExportResponse for ExportLogsServiceResponse {
    fn rejected(&self) -> Option<(i64, &str)> {
        let partial = self.partial_success.as_ref()?;
        Some((partial.rejected_log_records, &partial.error_message))
    }
}

impl ExportResponse for ExportMetricsServiceResponse {
    fn rejected(&self) -> Option<(i64, &str)> {
        let partial = self.partial_success.as_ref()?;
        Some((partial.rejected_data_points, &partial.error_message))
    }
}

pub struct OtlpClient {
    signal: Signal,
    /// `Err` when the configuration cannot make a transport (reported once, at start).
    transport: Result<Transport, String>,
    endpoint: String,
    timeout: Duration,
    sending: Sending,
    partial_success: RateLimited,
    /// Items the collector reported as rejected (partial success).
    pub rejected: AtomicU64,
    pub self_metrics: ExportMetrics,
}

impl OtlpClient {
    /// `timeout` bounds one export including its retries. With a spool configured, its
    /// replay task starts on `runtime` at once.
    pub fn start(
        config: &OtlpConfig,
        signal: Signal,
        timeout: Duration,
        runtime: &Handle,
    ) -> Arc<Self> {
        let transport = {
            let _inside = runtime.enter();
            Transport::new(config, signal)
        };
        if let Err(reason) = &transport {
            diagnostics::error(&format!(
                "export of {} disabled: {reason}",
                signal.item_name()
            ));
        }
        let spool = match (&transport, &config.spool) {
            (Ok(_), Some(spool)) => Some(Spool::new(spool, spool_kind(signal))),
            _ => None,
        };
        let client = Arc::new(Self {
            signal,
            transport,
            endpoint: config.display_endpoint(),
            timeout,
            sending: Sending {
                delivery: Delivery::default(),
                spool,
            },
            partial_success: RateLimited::new(Duration::from_secs(60)),
            rejected: AtomicU64::new(0),
            self_metrics: ExportMetrics::default(),
        });
        spool::start_replay(&client, runtime);
        client
    }

    /// Sends one encoded request of `count` items within this exporter's timeout.
    pub async fn send<R: ExportResponse>(&self, encoded: Vec<u8>, count: usize) -> Outcome {
        self.send_before::<R>(encoded, count, deadline_in(self.timeout))
            .await
    }

    /// As `send`, giving up at `deadline` (or this exporter's timeout, if sooner).
    pub async fn send_before<R: ExportResponse>(
        &self,
        encoded: Vec<u8>,
        count: usize,
        deadline: Instant,
    ) -> Outcome {
        self.send_or_spool::<R>(encoded, count, deadline, false)
            .await
    }

    /// As `send`, `to_disk`: straight to the spool (see `send_or_spool`).
    async fn send_or_spool<R: ExportResponse>(
        &self,
        encoded: Vec<u8>,
        count: usize,
        deadline: Instant,
        to_disk: bool,
    ) -> Outcome {
        let operation = self.self_metrics.begin(count, encoded.len());
        let Ok(transport) = &self.transport else {
            operation.fail("invalid_configuration", "export is disabled");
            return Outcome::Failed;
        };
        let deadline = deadline.min(deadline_in(self.timeout));
        let raw_len = encoded.len() as u64;
        let payload = match transport.prepare(encoded) {
            Ok(payload) => payload,
            Err(failure) => {
                operation.end::<()>(&Err(failure.clone()));
                self.report_failure(count, &failure);
                return Outcome::Failed;
            }
        };
        operation.sent(payload.len());
        let spooled = || Request {
            kind: spool_kind(self.signal),
            gzipped: transport.gzips(),
            items: count as u32,
            raw_len,
            body: payload.to_vec(),
        };
        let attempt = |remaining| {
            operation.attempt();
            transport.send::<R>(payload.clone(), remaining)
        };
        let sent = send_or_spool(
            self.sending.spool.as_deref(),
            to_disk,
            &self.sending.delivery,
            deadline,
            spooled,
            attempt,
        )
        .await;
        let outcome = operation.end_as(&sent);
        match sent {
            Sent::Delivered(response) => {
                self.report_partial_success(&response, transport.redactor())
            }
            Sent::Failed(failure) => self.report_failure(count, &failure),
            Sent::Spooled => {}
        }
        outcome
    }

    /// One attempt at a request from the spool, as the signal's response type `R`.
    async fn resend_as<R: ExportResponse>(&self, request: Request) -> Result<(), Failure> {
        let count = request.items as usize;
        let operation = self.self_metrics.begin(count, request.raw_len as usize);
        let Ok(transport) = &self.transport else {
            operation.fail("invalid_configuration", "export is disabled");
            return Err(Failure::transient(
                FailureKind::Configuration,
                "export is disabled",
            ));
        };
        let outcome = match transport.prepare_spooled(request.body, request.gzipped) {
            Ok(payload) => {
                operation.sent(payload.len());
                let attempt = |remaining| {
                    operation.attempt();
                    transport.send::<R>(payload.clone(), remaining)
                };
                self.sending
                    .delivery
                    .send_once(deadline_in(self.timeout), attempt)
                    .await
            }
            Err(failure) => Err(failure),
        };
        operation.end(&outcome);
        match outcome {
            Ok(response) => {
                self.report_partial_success(&response, transport.redactor());
                Ok(())
            }
            Err(failure) => {
                // A transient failure keeps it in the spool, which said so already.
                if !failure.is_transient() {
                    self.report_failure(count, &failure);
                }
                Err(failure)
            }
        }
    }

    fn report_failure(&self, count: usize, failure: &Failure) {
        if self.sending.delivery.first_of_its_kind(failure) {
            diagnostics::error(&format!(
                "failed to export {count} {} to {}: {} (further failures like this \
                 are counted, not logged)",
                self.signal.item_name(),
                self.endpoint,
                failure.message,
            ));
        }
    }

    /// The collector's message is scrubbed of our secrets: it may quote the request.
    fn report_partial_success(&self, response: &impl ExportResponse, redactor: &Redactor) {
        let Some((rejected, message)) = response.rejected() else {
            return;
        };
        if rejected <= 0 && message.is_empty() {
            return;
        }
        let rejected = rejected.max(0) as u64;
        let total = self.rejected.fetch_add(rejected, Ordering::Relaxed) + rejected;
        if let Some(held_back) = self.partial_success.admit() {
            let reason = redactor.excerpt(message, EXCERPT_CHARS);
            diagnostics::warn(&format!(
                "the collector rejected {rejected} {}: {reason:?} ({total} rejected so far; \
                 {held_back} such warnings suppressed)",
                self.signal.item_name()
            ));
        }
    }
}

/// Converted records that batch into one OTLP request.
pub trait OtlpBatch: Sized + Send + 'static {
    type Response: ExportResponse;
    /// The record's encoded size, which is what it holds in memory, near enough.
    fn encoded_len(&self) -> usize;
    fn encode(batch: Vec<Self>) -> Vec<u8>;
}

fn spool_kind(signal: Signal) -> Kind {
    match signal {
        Signal::Traces => Kind::Traces,
        Signal::Logs => Kind::Logs,
        Signal::Metrics => Kind::Metrics,
    }
}

impl Replay for OtlpClient {
    fn sending(&self) -> &Sending {
        &self.sending
    }

    fn resend(self: Arc<Self>, request: Request) -> BoxFuture<'static, Result<(), Failure>> {
        Box::pin(async move {
            match self.signal {
                Signal::Traces => self.resend_as::<ExportTraceServiceResponse>(request).await,
                Signal::Logs => self.resend_as::<ExportLogsServiceResponse>(request).await,
                Signal::Metrics => {
                    self.resend_as::<ExportMetricsServiceResponse>(request)
                        .await
                }
            }
        })
    }
}

/// Exports batches of `T` as OTLP requests: the signal's `BatchExport` for the pipeline.
pub struct BatchExporter<T> {
    pub otlp: Arc<OtlpClient>,
    records: PhantomData<fn(T)>,
}

impl<T: OtlpBatch> BatchExporter<T> {
    pub fn new(otlp: Arc<OtlpClient>) -> Self {
        Self {
            otlp,
            records: PhantomData,
        }
    }

    pub async fn export_batch(&self, batch: Vec<T>) -> Outcome {
        export_batch(&self.otlp, batch).await
    }
}

/// Encodes `batch` as one request and sends it.
pub async fn export_batch<T: OtlpBatch>(sender: &OtlpClient, batch: Vec<T>) -> Outcome {
    let count = batch.len();
    let encoded = T::encode(batch);
    sender.send::<T::Response>(encoded, count).await
}

impl<T: OtlpBatch> BatchExport for BatchExporter<T> {
    type Item = T;

    fn item_bytes(item: &T) -> usize {
        item.encoded_len()
    }

    fn export(self: Arc<Self>, batch: Vec<T>) -> BoxFuture<'static, Outcome> {
        Box::pin(async move { self.export_batch(batch).await })
    }

    fn overflow(self: Arc<Self>, batch: Vec<T>) -> BoxFuture<'static, Outcome> {
        Box::pin(async move {
            let count = batch.len();
            let encoded = T::encode(batch);
            self.otlp
                .send_or_spool::<T::Response>(encoded, count, deadline_in(self.otlp.timeout), true)
                .await
        })
    }

    fn begin_shutdown(&self) {
        self.otlp.begin_shutdown();
    }

    fn spool_stats(&self) -> Option<&SpoolStats> {
        self.otlp.spool_stats()
    }

    fn finished(self: Arc<Self>) -> BoxFuture<'static, ()> {
        self.otlp.replay_finished()
    }
}
