//! Retry policy (as data) and the decision whether a failed attempt may be repeated.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    HttpExchangeClient, Permit, Target, claims_challenge, decode_error, give_up, response_meta,
};
use crate::error::{Error, Result, TimeoutKind};
use crate::protocol::CmdletKind;
use crate::throttle::is_concurrency_answer;

/// How failed attempts are retried.
///
/// The defaults follow the real module (docs/protocol.md §5.4): 6 attempts (5 retries), exponential
/// backoff from 2 s (2, 4, 8, 16, 32 s) capped at 60 s, with jitter, and `Retry-After` honoured
/// up to 2 minutes.
///
/// What is retried:
/// * 429 (with or without `Retry-After`), the per-tenant concurrency message, 408, 503, 504 and
///   the transient Exchange exceptions ([`ApiError::is_retryable`](crate::ApiError::is_retryable));
/// * a 401, once, after asking the token provider for a fresh token;
/// * for read cmdlets ([`CmdletKind::Read`]) also timeouts and connection errors.
///
/// Mutating cmdlets (write, destructive) are retried **only** when the request provably was
/// not processed: throttled at the front door, token rejected, or a connection that could not
/// be established (nothing was sent). Never after a timeout or a connection reset mid-flight.
///
/// A connection that cannot be established (refused, DNS or TLS failure, connect timeout) is
/// tried at most [`max_connect_attempts`](Self::max_connect_attempts) times in a row, with the
/// short [`connect_delay`](Self::connect_delay) backoff: a refused connection fails within a
/// second or two; a host that does not answer at all takes up to the connect timeout for
/// each of those attempts. A request that could not even be built (an invalid header value)
/// is never retried: it would fail the same way.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total number of attempts, including the first (1 = no retries).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled for every further retry.
    pub base_delay: Duration,
    /// Largest backoff between two attempts.
    pub max_delay: Duration,
    /// Largest `Retry-After` that is honoured. When the service asks for a longer pause, the
    /// tenant's gate closes for this maximum and the call waits there like every other call,
    /// then is sent again (if attempts are left). A zero (or negative, or past)
    /// `Retry-After` waits the normal backoff instead.
    pub max_retry_after: Duration,
    /// Fail fast instead of waiting when the service asks for a longer pause than
    /// [`max_retry_after`](Self::max_retry_after): the call fails at once with
    /// [`Error::RetryAfterTooLong`](crate::Error::RetryAfterTooLong), naming both pauses
    /// (its [`retry_after`](crate::Error::retry_after) tells when to come back). Default
    /// `false`.
    pub fail_fast_on_long_retry_after: bool,
    /// Jitter as a fraction of the backoff (0.0 ..= 1.0): the backoff is drawn uniformly from
    /// `[delay × (1 − jitter), delay]`. Not applied to `Retry-After`.
    pub jitter: f64,
    /// Largest number of consecutive attempts whose connection could not be established
    /// (default 3: two retries). Bounded by [`max_attempts`](Self::max_attempts) as well.
    pub max_connect_attempts: u32,
    /// Backoff before the first retry of a failed connection; doubled for the next one, never
    /// more than [`max_delay`](Self::max_delay). Not subject to jitter.
    pub connect_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            max_retry_after: crate::throttle::DEFAULT_MAX_RETRY_AFTER,
            fail_fast_on_long_retry_after: false,
            jitter: 0.5,
            max_connect_attempts: 3,
            connect_delay: Duration::from_millis(250),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries (the 401 token refresh is a retry too, so it is disabled).
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Set the total number of attempts (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Set the first backoff and the backoff cap.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// Set the largest honoured `Retry-After`.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Fail at once, instead of waiting the maximum, when the service asks for a longer
    /// pause than [`max_retry_after`](Self::max_retry_after).
    pub fn with_fail_fast_on_long_retry_after(mut self, on: bool) -> Self {
        self.fail_fast_on_long_retry_after = on;
        self
    }

    /// Set how often a connection that cannot be established is tried (at least 1) and the
    /// backoff before the first such retry.
    pub fn with_connect_retries(mut self, attempts: u32, delay: Duration) -> Self {
        self.max_connect_attempts = attempts.max(1);
        self.connect_delay = delay;
        self
    }

    /// The backoff before the `retry`-th consecutive retry of a failed connection.
    pub fn connect_backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        self.connect_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay.max(self.connect_delay))
    }

    /// Set the jitter fraction (clamped to 0.0 ..= 1.0; 0 = deterministic backoff).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// The backoff before retry number `retry` (1 = the first retry), without `Retry-After`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let delay = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        if jitter == 0.0 || delay.is_zero() {
            return delay;
        }
        delay.mul_f64(1.0 - jitter * fastrand::f64())
    }
}

/// `error` wrapped in [`Error::RetryAfterTooLong`] when the service asked for a longer pause
/// than `max`; otherwise `error` unchanged.
pub(crate) fn refuse_long_retry_after(error: Error, max: Duration) -> Error {
    match error.retry_after() {
        Some(requested) if requested > max && !error.is_retry_after_too_long() => {
            Error::RetryAfterTooLong {
                requested,
                max,
                last: Box::new(error),
            }
        }
        _ => error,
    }
}

/// The pause before retry number `retry` after `error`: the `Retry-After` it carries, or the
/// policy's backoff without one, or when it is zero (a zero, negative or past `Retry-After`
/// must not turn the retries into a hot loop).
pub(crate) fn retry_delay(policy: &RetryPolicy, retry: u32, error: &Error) -> Duration {
    match error.retry_after() {
        Some(asked) if !asked.is_zero() => asked,
        _ => policy.backoff(retry),
    }
}

/// The pause before the `n`-th retry (1 = the first) after the per-tenant concurrency answer:
/// none for the first two (the tenant's throttle has already lowered its limit below the calls
/// in flight, and its slots pace the retry; a pause would hold up whatever waits for this
/// call, such as a whole page of an inventory), then a tenth of the policy's backoff (the cap
/// may be taken by other clients).
pub(crate) fn concurrency_retry_delay(policy: &RetryPolicy, n: u32) -> Duration {
    if n <= 2 {
        Duration::ZERO
    } else {
        policy.backoff(n - 2) / 10
    }
}

/// Whether `error` is a connection that could not be established (nothing was sent).
pub(crate) fn is_connect_failure(error: &Error) -> bool {
    match error {
        Error::Transport { source, .. } => source.is_connect(),
        Error::Timeout { kind, .. } => *kind == TimeoutKind::Connect,
        _ => false,
    }
}

/// Whether `error`, the outcome of one attempt of a cmdlet of `kind`, may be retried: the
/// crate's one outcome table decides ([`crate::outcome::should_retry`]).
/// (401 is handled separately: it is retried once after a token refresh.)
pub(crate) fn is_retryable(kind: CmdletKind, error: &Error) -> bool {
    crate::outcome::should_retry(kind, error)
}

/// The retry loop of [`HttpExchangeClient`]: every attempt waits for the tenant's gate and a
/// slot of its throttle; what is sent again is decided by the crate's one outcome table
/// ([`crate::outcome::should_retry`]).
impl HttpExchangeClient {
    pub(super) async fn retry_loop(
        &self,
        target: &Target<'_>,
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>> {
        let policy = &self.inner.retry;
        let max_attempts = policy.max_attempts.max(1);
        let kind = target.kind();
        let mut token_request = self.token_request();
        let mut refreshed = false;
        let mut attempt: u32 = 0;
        let mut connect_failures: u32 = 0;
        let mut concurrency_answers: u32 = 0;
        // A permit kept for the next request of the same attempt (the 401 refresh).
        let mut kept: Option<Permit<'_>> = None;
        loop {
            attempt += 1;
            #[cfg(feature = "tracing")]
            tracing::Span::current().record("attempt", attempt);
            // Every attempt waits for the tenant's gate and a slot of its throttle.
            let permit = match kept.take() {
                Some(p) => p,
                // In fail-fast mode a too-long `Retry-After` fails every call at the gate.
                None => match self.inner.throttle.acquire_checked().await {
                    Ok(p) => p,
                    Err(e) => return Err(give_up(attempt.saturating_sub(1).max(1), e)),
                },
            };
            let outcome = self.timed_attempt(target, &token_request).await;
            token_request = self.token_request();
            let error = match outcome {
                Ok(answer) => {
                    #[cfg(feature = "tracing")]
                    tracing::Span::current().record("status", answer.status);
                    if (200..300).contains(&answer.status) {
                        permit.success();
                        return Ok(answer.body);
                    }
                    let meta = response_meta(&answer.headers, target.client_request_id());
                    let api = decode_error(answer.status, &meta, Some(target.name()), &answer.body);
                    if answer.status == 401 && !refreshed && attempt < max_attempts {
                        // The token was rejected before anything ran: refresh it once,
                        // honouring a claims challenge (continuous access evaluation).
                        refreshed = true;
                        token_request = self
                            .token_request()
                            .force_refresh(true)
                            .claims(claims_challenge(&answer.headers));
                        event!(
                            debug,
                            attempt,
                            "401 answered; retrying with a refreshed token"
                        );
                        // The refreshed request is part of the same attempt: same permit.
                        kept = Some(permit);
                        continue;
                    }
                    Error::from(api)
                }
                Err(e) => e,
            };
            // Throttling answers adapt the tenant's throttle (a 429's `Retry-After` closes
            // its gate for every call); other errors change nothing.
            let paced = is_concurrency_answer(&error);
            permit.failed(&error);
            let too_long = error
                .retry_after()
                .is_some_and(|asked| asked > policy.max_retry_after);
            if too_long && (policy.fail_fast_on_long_retry_after || self.inner.throttle.fail_fast())
            {
                event!(
                    warn,
                    attempt,
                    retry_after = ?error.retry_after(),
                    "the service asked for a longer pause than the policy allows; failing fast"
                );
                return Err(refuse_long_retry_after(
                    give_up(attempt, error),
                    policy.max_retry_after,
                ));
            }
            if attempt >= max_attempts || !is_retryable(kind, &error) {
                return Err(give_up(attempt, error));
            }
            let delay = if is_connect_failure(&error) {
                connect_failures += 1;
                if connect_failures >= policy.max_connect_attempts.max(1) {
                    return Err(give_up(attempt, error));
                }
                policy.connect_backoff(connect_failures)
            } else if paced {
                // The throttle already lowered its limit below the calls in flight: the
                // retry mostly waits for a slot there, so it goes at once, a further one
                // after a tenth of the backoff (the cap may be taken by other clients).
                connect_failures = 0;
                concurrency_answers += 1;
                concurrency_retry_delay(policy, concurrency_answers)
            } else if too_long {
                // The throttle closed the tenant's gate for the policy's maximum: this call
                // waits there like every other call, then is sent again.
                connect_failures = 0;
                std::time::Duration::ZERO
            } else {
                connect_failures = 0;
                retry_delay(policy, attempt, &error)
            };
            if deadline.is_some_and(|d| Instant::now().checked_add(delay).is_none_or(|t| t >= d)) {
                return Err(give_up(attempt, error));
            }
            // Routine: the retry is the policy working. The final failure is the caller's.
            event!(
                debug,
                attempt,
                delay = ?delay,
                error = %error,
                "attempt failed; retrying"
            );
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default().with_jitter(0.0);
        assert_eq!(p.backoff(1), Duration::from_secs(2));
        assert_eq!(p.backoff(2), Duration::from_secs(4));
        assert_eq!(p.backoff(5), Duration::from_secs(32));
        assert_eq!(p.backoff(6), Duration::from_secs(60));
        assert_eq!(p.backoff(40), Duration::from_secs(60));
        let j = RetryPolicy::default();
        for _ in 0..100 {
            let d = j.backoff(2);
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_secs(4),
                "{d:?}"
            );
        }
    }

    #[test]
    fn mutating_calls_retry_only_when_not_processed() {
        let throttled: Error = ApiError::new(429, "slow down").into();
        let unavailable: Error = ApiError::new(503, "unavailable").into();
        let timeout = Error::Timeout {
            cmdlet: "x".into(),
            kind: TimeoutKind::Attempt,
            elapsed: Duration::from_secs(1),
        };
        for kind in [CmdletKind::Read, CmdletKind::Write, CmdletKind::Destructive] {
            assert!(is_retryable(kind, &throttled));
        }
        assert!(is_retryable(CmdletKind::Read, &unavailable));
        assert!(!is_retryable(CmdletKind::Write, &unavailable));
        assert!(is_retryable(CmdletKind::Read, &timeout));
        assert!(!is_retryable(CmdletKind::Destructive, &timeout));
        let not_found: Error = ApiError::new(404, "gone").into();
        assert!(!is_retryable(CmdletKind::Read, &not_found));
        assert_eq!(RetryPolicy::disabled().max_attempts, 1);
    }
}
