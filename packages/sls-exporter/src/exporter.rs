//! Log export to Alibaba Cloud Log Service: a batch of converted log records becomes one
//! or more LogGroups (per resource, within SLS limits), each sent as a signed PutLogs
//! request with retry by SLS error code. The protocol itself is the `sls_exporter` crate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::SlsConfig;
use crate::mapping::{log_from_record, tags_from_resource};
use crate::proto::{Log, LogGroup, LogTag};
use crate::request::{signed_headers, Body, Target};
use crate::response::SlsError;
use crate::split::{pack, SLS_LIMITS};
use futures_core::future::BoxFuture;
use prost::Message;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::runtime::Handle;
use tokio::sync::OnceCell;

use otel_rust_core::config::SpoolConfig;
use otel_rust_core::diagnostics::{self, RateLimited};
use otel_rust_core::pipeline::{BatchExport, Outcome};
use otel_rust_core::records::QueuedLogRecord;
use otel_rust_core::redact::Redactor;
use otel_rust_core::request::group::by_resource_and_scope;
use otel_rust_core::retry::{deadline_in, Failure, FailureKind};
use otel_rust_core::self_metrics::ExportMetrics;
use otel_rust_core::spool::{
    self, send_or_spool, Kind, Replay, Request, Sending, Sent, Spool, SpoolStats,
};
use otel_rust_core::transport::{
    read_capped, redirect_failure, request_failure, unusable_success, EXCERPT_CHARS,
};

/// Characters of an SLS error code or request id shown in messages (real ones are short).
const CODE_CHARS: usize = 64;

pub struct SlsExporter {
    config: SlsConfig,
    target: Target,
    /// `Err` when no client could be built (reported once, at start).
    client: Result<reqwest::Client, String>,
    /// The host IP, found once (it may need DNS) unless configured.
    source: OnceCell<String>,
    /// Scrubs the credentials from what SLS (or whatever answers) sends back.
    redactor: Redactor,
    sending: Sending,
    oversized_warning: RateLimited,
    /// Logs too big for any PutLogs request, dropped.
    pub oversized: AtomicU64,
    pub self_metrics: ExportMetrics,
}

impl SlsExporter {
    /// With a spool configured, its replay task starts on `runtime` at once.
    pub fn start(config: SlsConfig, spool: Option<&SpoolConfig>, runtime: &Handle) -> Arc<Self> {
        let mut exporter = Self::new(config);
        if exporter.client.is_ok() {
            exporter.sending.spool = spool.map(|spool| Spool::new(spool, Kind::SlsLogs));
        }
        let exporter = Arc::new(exporter);
        spool::start_replay(&exporter, runtime);
        exporter
    }

    /// Without a spool (`check`'s probe, tests).
    pub fn new(config: SlsConfig) -> Self {
        let client = reqwest::Client::builder()
            // HTTP/1.1 as the SDKs: `Host` must reach SLS as given, also for IP endpoints.
            .http1_only()
            // A redirect would carry the signed request and the STS token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "otel-sls-exporter-python-rust/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"));
        if let Err(reason) = &client {
            diagnostics::error(&format!("SLS log export disabled: {reason}"));
        }
        Self {
            target: Target::new(&config),
            redactor: Redactor::new(config.credentials.values()),
            config,
            client,
            source: OnceCell::new(),
            sending: Sending::default(),
            oversized_warning: RateLimited::new(Duration::from_secs(60)),
            oversized: AtomicU64::new(0),
            self_metrics: ExportMetrics::default(),
        }
    }

    /// `project/logstore at endpoint`, for messages and reprs (never credentials).
    pub fn description(&self) -> String {
        describe(&self.config)
    }

    async fn source(&self) -> &str {
        self.source
            .get_or_init(|| async {
                if let Some(source) = &self.config.source {
                    return source.clone();
                }
                let endpoint = &self.config.endpoint;
                let towards = if endpoint.is_ip() {
                    endpoint.host.clone()
                } else {
                    self.target.host.clone()
                };
                tokio::task::spawn_blocking(move || crate::config::host_ip_towards(&towards))
                    .await
                    .unwrap_or_else(|_| "127.0.0.1".to_owned())
            })
            .await
    }

    /// Sends every record (a batch may become several requests): the worst outcome.
    /// `to_disk`: straight to the spool (the queue is overflowing).
    pub async fn export_records(&self, batch: Vec<QueuedLogRecord>, to_disk: bool) -> Outcome {
        let Ok(client) = &self.client else {
            return Outcome::Failed;
        };
        let source = self.source().await.to_owned();
        let mut outcome = Outcome::Delivered;
        for (tags, logs) in by_resource(batch) {
            let packed = pack(
                logs,
                &tags,
                self.config.topic.as_deref(),
                Some(&source),
                SLS_LIMITS,
            );
            if packed.oversized > 0 {
                self.report_oversized(packed.oversized as u64);
                outcome = Outcome::Failed;
            }
            for group in packed.groups {
                outcome = outcome.and(self.send_group(client, group, to_disk).await);
            }
        }
        outcome
    }

    /// Sends one signed PutLogs request without logs: the answer says whether the
    /// endpoint, credentials, project and logstore are right (for `check`).
    pub async fn probe(&self) -> bool {
        let Ok(client) = &self.client else {
            return false;
        };
        self.send_group(client, LogGroup::default(), false).await == Outcome::Delivered
    }

    async fn send_group(
        &self,
        client: &reqwest::Client,
        group: LogGroup,
        to_disk: bool,
    ) -> Outcome {
        let count = group.logs.len();
        let body = Body::new(&group, &self.config.signature);
        drop(group);
        let operation = self.self_metrics.begin(count, body.raw_size);
        operation.sent(body.compressed.len());
        let payload = bytes::Bytes::from(body.compressed.clone());
        // The unsigned body and its size: the signature is made again at each send.
        let spooled = || Request {
            kind: Kind::SlsLogs,
            gzipped: false,
            items: count as u32,
            raw_len: body.raw_size as u64,
            body: body.compressed.clone(),
        };
        let attempt = |remaining| {
            operation.attempt();
            self.attempt(client, &body, payload.clone(), remaining)
        };
        let sent = send_or_spool(
            self.sending.spool.as_deref(),
            to_disk,
            &self.sending.delivery,
            deadline_in(self.config.timeout),
            spooled,
            attempt,
        )
        .await;
        let outcome = operation.end_as(&sent);
        if let Sent::Failed(failure) = &sent {
            self.report_failure(count, failure);
        }
        outcome
    }

    /// One attempt at a request from the spool, signed now.
    async fn resend_request(&self, request: Request) -> Result<(), Failure> {
        let Ok(client) = &self.client else {
            return Err(Failure::transient(
                FailureKind::Configuration,
                "export is disabled",
            ));
        };
        let count = request.items as usize;
        let body = Body::from_compressed(
            request.body,
            request.raw_len as usize,
            &self.config.signature,
        );
        let operation = self.self_metrics.begin(count, body.raw_size);
        operation.sent(body.compressed.len());
        let payload = bytes::Bytes::from(body.compressed.clone());
        let attempt = |remaining| {
            operation.attempt();
            self.attempt(client, &body, payload.clone(), remaining)
        };
        let outcome = self
            .sending
            .delivery
            .send_once(deadline_in(self.config.timeout), attempt)
            .await;
        operation.end(&outcome);
        // A transient failure keeps it in the spool, which said so already.
        match &outcome {
            Err(failure) if !failure.is_transient() => self.report_failure(count, failure),
            _ => {}
        }
        outcome
    }

    fn report_failure(&self, count: usize, failure: &Failure) {
        if self.sending.delivery.first_of_its_kind(failure) {
            diagnostics::error(&format!(
                "failed to export {count} log records to SLS {}: {} (further failures \
                 like this are counted, not logged)",
                self.description(),
                failure.message,
            ));
        }
    }

    /// One signed PutLogs request (signed now: the server checks the date).
    async fn attempt(
        &self,
        client: &reqwest::Client,
        body: &Body,
        payload: bytes::Bytes,
        timeout: Duration,
    ) -> Result<(), Failure> {
        let mut headers = HeaderMap::new();
        let mut signature = None;
        for (name, value) in signed_headers(&self.config, &self.target, body, SystemTime::now()) {
            let sensitive = name == "authorization" || name == "x-acs-security-token";
            let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) else {
                // Never echo the value: it may be a credential.
                return Err(Failure::permanent(
                    FailureKind::Configuration,
                    format!("header {name} has characters HTTP does not allow"),
                ));
            };
            if name == "authorization" {
                // `LOG <id>:<signature>` (v4: `...,Signature=<signature>`): a reply must not
                // show the signature either.
                signature = value.to_str().ok().and_then(|value| {
                    let (_, signature) = value
                        .rsplit_once(",Signature=")
                        .or_else(|| value.rsplit_once(':'))?;
                    Some(signature.to_owned())
                });
            }
            value.set_sensitive(sensitive);
            headers.insert(name, value);
        }
        let redactor = self.redactor.with(signature);
        let url = &self.target.url;
        let response = client
            .post(url)
            .headers(headers)
            .timeout(timeout)
            .body(payload)
            .send()
            .await
            .map_err(|error| request_failure(url, error, &redactor))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(redirect_failure(url, &response));
        }
        let request_id = response
            .headers()
            .get("x-log-requestid")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let (reply, end) = read_capped(response).await;
        if status.is_success() {
            return match unusable_success(url, status, end, &redactor) {
                Some(failure) => Err(failure),
                None => Ok(()),
            };
        }
        let mut error = SlsError::from_reply(status.as_u16(), request_id.as_deref(), &reply);
        let retryable = error.is_retryable();
        // Logged once per family: the server's codes are unbounded.
        let kind = FailureKind::Service {
            service: "SLS",
            family: error.family().name(),
        };
        // Each field may quote what the server refused (an AccessKey id, the token, the
        // signature): scrubbed, then shortened.
        error.error_code = redactor.excerpt(&error.error_code, CODE_CHARS);
        error.error_message = redactor.excerpt(&error.error_message, EXCERPT_CHARS);
        error.request_id = redactor.excerpt(&error.request_id, CODE_CHARS);
        let message = format!("{error}{}", if retryable { "" } else { " (not retried)" });
        Err(if retryable {
            Failure::transient(kind, message)
        } else {
            Failure::permanent(kind, message)
        })
    }

    fn report_oversized(&self, count: u64) {
        let total = self.oversized.fetch_add(count, Ordering::Relaxed) + count;
        if let Some(held_back) = self.oversized_warning.admit() {
            diagnostics::warn(&format!(
                "dropped {count} log records larger than one SLS request allows \
                 ({} bytes); {total} so far ({held_back} such warnings suppressed)",
                SLS_LIMITS.max_bytes
            ));
        }
    }
}

/// `project/logstore at endpoint`.
pub fn describe(config: &SlsConfig) -> String {
    format!(
        "{}/{} at {}",
        config.project, config.logstore, config.endpoint.host
    )
}

/// Records grouped by resource (one LogGroup's tags), in order of first appearance, as
/// every signal groups them; each log carries its own scope.
fn by_resource(batch: Vec<QueuedLogRecord>) -> Vec<(Vec<LogTag>, Vec<Log>)> {
    by_resource_and_scope(
        batch
            .into_iter()
            .map(|queued| (queued.group, queued.record)),
    )
    .into_iter()
    .map(|resource| {
        let logs = resource
            .scopes
            .into_iter()
            .flat_map(|(group, records)| {
                records
                    .into_iter()
                    .map(move |record| log_from_record(record, &group.scope))
            })
            .collect();
        (tags_from_resource(&resource.group.resource), logs)
    })
    .collect()
}

impl BatchExport for SlsExporter {
    type Item = QueuedLogRecord;

    fn item_bytes(item: &QueuedLogRecord) -> usize {
        item.record.encoded_len()
    }

    fn export(self: Arc<Self>, batch: Vec<QueuedLogRecord>) -> BoxFuture<'static, Outcome> {
        Box::pin(async move { self.export_records(batch, false).await })
    }

    fn overflow(self: Arc<Self>, batch: Vec<QueuedLogRecord>) -> BoxFuture<'static, Outcome> {
        Box::pin(async move { self.export_records(batch, true).await })
    }

    fn begin_shutdown(&self) {
        Replay::begin_shutdown(self);
    }

    fn spool_stats(&self) -> Option<&SpoolStats> {
        Replay::spool_stats(self)
    }

    fn finished(self: Arc<Self>) -> BoxFuture<'static, ()> {
        Replay::replay_finished(&*self)
    }
}

impl Replay for SlsExporter {
    fn sending(&self) -> &Sending {
        &self.sending
    }

    fn resend(self: Arc<Self>, request: Request) -> BoxFuture<'static, Result<(), Failure>> {
        Box::pin(async move { self.resend_request(request).await })
    }
}
