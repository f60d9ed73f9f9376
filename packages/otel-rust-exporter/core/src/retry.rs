//! The delivery policy of every sink: which failures are retried, backoff with jitter or
//! the server's delay within the export deadline, outage mode, and "log once per kind".

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures_core::future::BoxFuture;
use rand::Rng;
use tokio::time::Instant;

/// What may follow a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Refused for good (a 4xx, INVALID_ARGUMENT, a configuration error): never resent.
    Never,
    /// Transient: try again after a backoff.
    WithBackoff,
    /// Transient, and the server said when (`Retry-After`, gRPC `RetryInfo`).
    After(Duration),
}

/// Our own classification of a failure. It is small and closed, so it can key "log once"
/// and metrics whatever a server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// No answer within the time left.
    Timeout,
    /// No connection, or it broke: refused, reset, DNS, TLS, a body cut off.
    Connection,
    /// A redirect, which is never followed.
    Redirect,
    /// The request cannot be made as configured (e.g. a malformed URL).
    Configuration,
    /// Compressing the request failed.
    Encoding,
    /// The HTTP status the server answered.
    Http(u16),
    /// The gRPC status the server answered.
    Grpc(tonic::Code),
    /// A family of a service's own errors (a sink's API, like SLS's, beyond HTTP statuses):
    /// logged as "`service` `family`".
    Service {
        service: &'static str,
        family: &'static str,
    },
}

impl FailureKind {
    /// The key for "log once": HTTP statuses by class, so a server cycling through codes
    /// cannot make one line each.
    pub fn family(self) -> Self {
        match self {
            FailureKind::Http(status) => FailureKind::Http(status / 100 * 100),
            other => other,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Timeout => f.write_str("timeout"),
            FailureKind::Connection => f.write_str("connection"),
            FailureKind::Redirect => f.write_str("redirect"),
            FailureKind::Configuration => f.write_str("configuration"),
            FailureKind::Encoding => f.write_str("encoding"),
            FailureKind::Http(status) => write!(f, "HTTP {status}"),
            FailureKind::Grpc(code) => write!(f, "gRPC {code:?}"),
            FailureKind::Service { service, family } => write!(f, "{service} {family}"),
        }
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub retry: Retry,
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn permanent(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            retry: Retry::Never,
            kind,
            message: message.into(),
        }
    }

    pub fn transient(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            retry: Retry::WithBackoff,
            kind,
            message: message.into(),
        }
    }

    /// Transient, retried after `delay` when given, else after a backoff.
    pub fn throttled(
        kind: FailureKind,
        delay: Option<Duration>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            retry: delay.map_or(Retry::WithBackoff, Retry::After),
            kind,
            message: message.into(),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.retry != Retry::Never
    }
}

/// `timeout` from now, without overflowing however large it is.
pub fn deadline_in(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// "Equal jitter": half the exponential step, plus a random share of the other half.
    pub fn delay(&self, attempt: u32) -> Duration {
        let step = self
            .initial
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        let half = step / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }
}

/// Runs `attempt(remaining)` until it succeeds, fails for good, `max_attempts` ran, or the
/// next try could not finish before `deadline`.
pub async fn retry<T, F, Fut>(
    deadline: Instant,
    backoff: Backoff,
    max_attempts: u32,
    mut attempt: F,
) -> Result<T, Failure>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut attempts = 0u32;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::transient(
                FailureKind::Timeout,
                "the export timeout passed before the first attempt",
            ));
        }
        let failure = match attempt(remaining).await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        attempts += 1;
        let delay = match failure.retry {
            Retry::Never => return Err(failure),
            _ if attempts >= max_attempts => return Err(failure),
            Retry::WithBackoff => backoff.delay(attempts - 1),
            Retry::After(delay) => delay,
        };
        // Compared, never added: a server's delay may be anything up to u64::MAX seconds.
        if delay >= deadline.saturating_duration_since(Instant::now()) {
            return Err(Failure {
                message: format!(
                    "{} (gave up after {attempts} attempts within the export timeout)",
                    failure.message
                ),
                ..failure
            });
        }
        tokio::time::sleep(delay).await;
    }
}

/// The delivery policy of one sink, shared by all its requests.
pub struct Delivery {
    backoff: Backoff,
    /// Set when a request ran out of retries for a transient reason, cleared by the next
    /// success. Meanwhile each request gets one attempt: retrying every batch through an
    /// outage would only hold up the queue (and the application's exit). A permanent
    /// refusal says nothing about the endpoint's health, so it never sets this.
    outage: AtomicBool,
    /// Set by any transiently failed attempt, cleared by the next success: the endpoint is
    /// failing. With a spool, requests then go to disk without an attempt.
    failing: AtomicBool,
    logged: Mutex<HashSet<FailureKind>>,
}

impl Default for Delivery {
    fn default() -> Self {
        Self::new(Backoff::default())
    }
}

impl Delivery {
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            outage: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            logged: Mutex::new(HashSet::new()),
        }
    }

    /// Sends one request through `attempt` within `deadline`.
    pub async fn send<T, F, Fut>(&self, deadline: Instant, attempt: F) -> Result<T, Failure>
    where
        T: Send,
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, Failure>> + Send,
    {
        let max_attempts = if self.in_outage() { 1 } else { u32::MAX };
        self.observed(retry(deadline, self.backoff, max_attempts, self.watched(attempt)).await)
    }

    /// Sends one request with a single attempt (the spool retries from disk).
    pub async fn send_once<T, F, Fut>(&self, deadline: Instant, attempt: F) -> Result<T, Failure>
    where
        T: Send,
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, Failure>> + Send,
    {
        // One attempt marks the endpoint failing (see `watched`) but is no request that ran
        // out of retries: it never starts an outage, which would leave a request the spool
        // could not take one attempt in memory instead of its retries.
        match retry(deadline, self.backoff, 1, self.watched(attempt)).await {
            Ok(value) => self.observed(Ok(value)),
            Err(failure) => Err(failure),
        }
    }

    /// `attempt`, marking the endpoint failing as soon as one attempt fails transiently.
    fn watched<'a, T, F, Fut>(
        &'a self,
        mut attempt: F,
    ) -> impl FnMut(Duration) -> BoxFuture<'a, Result<T, Failure>> + 'a
    where
        T: Send + 'a,
        F: FnMut(Duration) -> Fut + 'a,
        Fut: Future<Output = Result<T, Failure>> + Send + 'a,
    {
        move |remaining| {
            let attempt = attempt(remaining);
            Box::pin(async move {
                let outcome = attempt.await;
                if matches!(&outcome, Err(failure) if failure.is_transient()) {
                    self.failing.store(true, Ordering::Relaxed);
                }
                outcome
            })
        }
    }

    fn observed<T>(&self, outcome: Result<T, Failure>) -> Result<T, Failure> {
        match &outcome {
            Ok(_) => {
                self.outage.store(false, Ordering::Relaxed);
                self.failing.store(false, Ordering::Relaxed);
            }
            Err(failure) if failure.is_transient() => self.outage.store(true, Ordering::Relaxed),
            Err(_) => {}
        }
        outcome
    }

    pub fn in_outage(&self) -> bool {
        self.outage.load(Ordering::Relaxed)
    }

    /// From the first transiently failed attempt until an attempt succeeds.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// `true` the first time a failure of this family is seen: it is logged, later ones
    /// only counted.
    pub fn first_of_its_kind(&self, failure: &Failure) -> bool {
        self.logged
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(failure.kind.family())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    const UNAVAILABLE: FailureKind = FailureKind::Http(503);
    const BAD_REQUEST: FailureKind = FailureKind::Http(400);

    #[test]
    fn backoff_grows_exponentially_with_bounded_jitter() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let first = backoff.delay(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.delay(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let capped = backoff.delay(30);
            assert!(capped >= Duration::from_millis(500) && capped <= Duration::from_secs(1));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_until_success() {
        let calls = AtomicU32::new(0);
        let result = retry(
            Instant::now() + Duration::from_secs(10),
            Backoff::default(),
            u32::MAX,
            |_| {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if call < 2 {
                        Err(Failure::transient(UNAVAILABLE, "busy"))
                    } else {
                        Ok(call)
                    }
                }
            },
        )
        .await;
        assert_eq!(result.unwrap(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn never_retries_permanent_failures() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry(
            Instant::now() + Duration::from_secs(10),
            Backoff::default(),
            u32::MAX,
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Failure::permanent(BAD_REQUEST, "bad request")) }
            },
        )
        .await;
        assert_eq!(result.unwrap_err().kind, BAD_REQUEST);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn honours_the_server_delay_and_stops_at_the_deadline() {
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry(
            start + Duration::from_secs(5),
            Backoff::default(),
            u32::MAX,
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Err(Failure::throttled(
                        FailureKind::Http(429),
                        Some(Duration::from_secs(2)),
                        "slow down",
                    ))
                }
            },
        )
        .await;
        // Attempts at 0 s, 2 s and 4 s; a fourth at 6 s would pass the deadline.
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(result
            .unwrap_err()
            .message
            .contains("gave up after 3 attempts"));
        assert_eq!(Instant::now() - start, Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn an_absurd_server_delay_gives_up_instead_of_overflowing() {
        let result: Result<(), _> = retry(
            Instant::now() + Duration::from_secs(5),
            Backoff::default(),
            u32::MAX,
            |_| async {
                Err(Failure::throttled(
                    FailureKind::Http(503),
                    Some(Duration::from_secs(u64::MAX)),
                    "come back in a few eons",
                ))
            },
        )
        .await;
        assert!(result
            .unwrap_err()
            .message
            .contains("gave up after 1 attempts"));
    }

    #[tokio::test(start_paused = true)]
    async fn only_transient_exhaustion_starts_outage_mode_and_success_ends_it() {
        let delivery = Delivery::default();
        let deadline = || Instant::now() + Duration::from_secs(5);
        let refused: Result<(), _> = delivery
            .send(deadline(), |_| async {
                Err(Failure::permanent(BAD_REQUEST, "no"))
            })
            .await;
        assert!(refused.is_err());
        assert!(
            !delivery.in_outage(),
            "a permanent refusal is not an outage"
        );

        // The next request still gets its retries.
        let calls = AtomicU32::new(0);
        let delivered = delivery
            .send(deadline(), |_| {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if call == 0 {
                        Err(Failure::transient(UNAVAILABLE, "busy"))
                    } else {
                        Ok(())
                    }
                }
            })
            .await;
        assert!(delivered.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let down: Result<(), _> = delivery
            .send(deadline(), |_| async {
                Err(Failure::transient(UNAVAILABLE, "down"))
            })
            .await;
        assert!(down.is_err());
        assert!(delivery.in_outage());
        let calls = AtomicU32::new(0);
        let _: Result<(), _> = delivery
            .send(deadline(), |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Failure::transient(UNAVAILABLE, "still down")) }
            })
            .await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one attempt during an outage"
        );
        assert!(delivery
            .send(deadline(), |_| async { Ok(()) })
            .await
            .is_ok());
        assert!(!delivery.in_outage());
    }

    #[test]
    fn failures_are_logged_once_per_family() {
        let delivery = Delivery::default();
        let http = |status| Failure::permanent(FailureKind::Http(status), "");
        assert!(delivery.first_of_its_kind(&http(401)));
        for status in 402..=499 {
            assert!(!delivery.first_of_its_kind(&http(status)));
        }
        assert!(delivery.first_of_its_kind(&http(500)));
        assert!(delivery.first_of_its_kind(&Failure::transient(FailureKind::Timeout, "")));
    }
}
