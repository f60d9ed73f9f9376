//! Retrying one export within its deadline: exponential backoff with jitter, or the delay
//! the server asked for (HTTP `Retry-After`, gRPC `RetryInfo`).

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// Why one attempt failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub retryable: bool,
    /// The server's requested delay, if any.
    pub retry_after: Option<Duration>,
    /// Groups failures for "log once per kind", e.g. `HTTP 401` or `gRPC Unavailable`.
    pub kind: String,
    pub message: String,
}

impl Failure {
    pub fn permanent(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            retry_after: None,
            kind: kind.into(),
            message: message.into(),
        }
    }

    pub fn transient(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            retry_after: None,
            kind: kind.into(),
            message: message.into(),
        }
    }
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

/// Runs `attempt(remaining)` until it succeeds, fails for good, or the next try could not
/// finish before `deadline`.
pub async fn retry<T, F, Fut>(
    deadline: Instant,
    backoff: Backoff,
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
                "timeout",
                "the export timeout passed before the first attempt",
            ));
        }
        let failure = match attempt(remaining).await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        attempts += 1;
        if !failure.retryable {
            return Err(failure);
        }
        let delay = failure
            .retry_after
            .unwrap_or_else(|| backoff.delay(attempts - 1));
        if Instant::now() + delay >= deadline {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

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
            |_| {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if call < 2 {
                        Err(Failure::transient("HTTP 503", "busy"))
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
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Failure::permanent("HTTP 400", "bad request")) }
            },
        )
        .await;
        assert_eq!(result.unwrap_err().kind, "HTTP 400");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn honours_the_server_delay_and_stops_at_the_deadline() {
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        let result: Result<(), _> =
            retry(start + Duration::from_secs(5), Backoff::default(), |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Err(Failure {
                        retry_after: Some(Duration::from_secs(2)),
                        ..Failure::transient("HTTP 429", "slow down")
                    })
                }
            })
            .await;
        // Attempts at 0 s, 2 s and 4 s; a fourth at 6 s would pass the deadline.
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(result
            .unwrap_err()
            .message
            .contains("gave up after 3 attempts"));
        assert_eq!(Instant::now() - start, Duration::from_secs(4));
    }
}
