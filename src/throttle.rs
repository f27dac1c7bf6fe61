//! The per-tenant throttling authority of a client: adaptive (AIMD) admission with a shared
//! "not before" gate, [`TenantThrottle`].
//!
//! Every attempt of an [`HttpExchangeClient`](crate::HttpExchangeClient) call (typed, raw,
//! `EXOModuleFile`, probes, inventory) takes a [`Permit`] from the client's throttle before it
//! is sent and reports its outcome when it is answered, so the client finds the tenant's
//! concurrency cap by itself and one call's `Retry-After` holds back every other call to that
//! tenant. Clones of a client share its throttle; [`ClientBuilder::throttle`] shares one
//! between clients, [`ClientBuilder::max_concurrency`] sets its hard ceiling.
//!
//! [`ClientBuilder::throttle`]: crate::http::ClientBuilder::throttle
//! [`ClientBuilder::max_concurrency`]: crate::http::ClientBuilder::max_concurrency

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::{Error, TENANT_CONCURRENCY_MESSAGE};

/// Bounds how many requests to one tenant run at once and adapts the bound to the service's
/// answers:
///
/// * **additive increase**: every successful call adds `1 / limit` to the limit, so the limit
///   grows by about one per "round" of successful calls, up to `max`;
/// * **multiplicative decrease**: a throttled call (HTTP 429) halves the limit, down to 1 (at
///   most once per [`DECREASE_COOLDOWN`], so a burst of 429s from one window of in-flight calls
///   counts once);
/// * **precise decrease** on the per-tenant concurrency answer ("You have reached the maximum
///   number of concurrent requests per tenant", without `Retry-After`): that answer says *how
///   many* calls were too many: the service counted at most the calls in flight when the
///   refused one started, so the limit drops to one below that bound instead of halving (a
///   burst of refusals lands on the cap in one round: the first refused call names it); once per [`DECREASE_COOLDOWN`] it also drops by at least one,
///   so a cap shared with other clients is still found.
///   Halving there would leave half of the allowed concurrency unused while the limit grows
///   back. The level reached is remembered: above it the limit grows
///   [`PROBE_SLOWDOWN`] times more slowly, so the cap is probed now and then rather than
///   every round (each probe costs a burst of 429s);
/// * **shared gate**: a `Retry-After` pauses *every* caller until that instant, not only the one
///   that received it, for at most [`max_retry_after`](Self::max_retry_after) (by default
///   [`DEFAULT_MAX_RETRY_AFTER`], the retry policy's default; a client's own throttle uses its
///   policy's): one absurd
///   `Retry-After` does not stall the work for a day;
/// * **global budget** (optional, [`with_global_budget`](Self::with_global_budget)): a
///   semaphore shared by the throttles of many tenants; a permit also takes one of its
///   slots (after the tenant's own slot), so many tenants can run under one overall bound.
///
/// The default ([`TenantThrottle::default`]) starts at [`DEFAULT_INITIAL_CONCURRENCY`] and
/// adapts up to [`DEFAULT_MAX_CONCURRENCY`]. Uses `tokio::time`, so tests may run it with a
/// paused clock.
#[derive(Debug)]
#[non_exhaustive]
pub struct TenantThrottle {
    max: usize,
    max_retry_after: Duration,
    state: Mutex<State>,
    notify: Notify,
    throttled: AtomicU64,
    global: Option<Arc<Semaphore>>,
}

/// The limit a [`TenantThrottle::default`] starts at.
pub const DEFAULT_INITIAL_CONCURRENCY: usize = 4;

/// The hard ceiling of a [`TenantThrottle::default`] (set another one with
/// [`ClientBuilder::max_concurrency`](crate::http::ClientBuilder::max_concurrency)).
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;

/// Minimum time between two decreases.
pub const DECREASE_COOLDOWN: Duration = Duration::from_millis(250);

/// How much more slowly the limit grows above the level of the last per-tenant concurrency
/// answer.
pub const PROBE_SLOWDOWN: f64 = 8.0;

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
    not_before: Option<Instant>,
    last_decrease: Option<Instant>,
    /// The limit set by the last per-tenant concurrency answer (raised as probes above it
    /// succeed).
    ceiling: Option<usize>,
}

/// A slot held while one request runs; report how it went with [`Permit::success`] or
/// [`Permit::failed`] (dropping it without a report frees the slot and changes nothing).
#[derive(Debug)]
#[must_use = "a permit frees its slot when dropped"]
pub struct Permit<'a> {
    throttle: &'a TenantThrottle,
    /// Calls in flight (this one included) when it started.
    started_with: usize,
    /// The slot of the global budget, if there is one.
    _global: Option<OwnedSemaphorePermit>,
}

impl Default for TenantThrottle {
    fn default() -> Self {
        TenantThrottle::new(DEFAULT_INITIAL_CONCURRENCY, DEFAULT_MAX_CONCURRENCY)
    }
}

/// The longest pause a `Retry-After` may impose by default (2 minutes): the default of
/// both [`TenantThrottle::with_max_retry_after`] and the HTTP client's retry policy.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

impl TenantThrottle {
    /// A throttle starting at `initial` concurrent calls, adapting within `[1, max]`.
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        TenantThrottle {
            max,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            state: Mutex::new(State {
                limit: initial.clamp(1, max) as f64,
                in_flight: 0,
                not_before: None,
                last_decrease: None,
                ceiling: None,
            }),
            notify: Notify::new(),
            throttled: AtomicU64::new(0),
            global: None,
        }
    }

    /// Also take a slot of `budget` for every request (after the tenant's own slot), e.g.
    /// one semaphore shared by the throttles of many tenants.
    pub fn with_global_budget(mut self, budget: Arc<Semaphore>) -> Self {
        self.global = Some(budget);
        self
    }

    /// Close the shared gate for at most `max` on a `Retry-After` (default: the
    /// [`DEFAULT_MAX_RETRY_AFTER`], the retry policy's default).
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The longest the shared gate closes for.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The current concurrency limit (an integer in `[1, max]`).
    pub fn limit(&self) -> usize {
        self.with_state(|s| s.limit.floor() as usize).unwrap_or(1)
    }

    /// The upper bound.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Calls running now.
    pub fn in_flight(&self) -> usize {
        self.with_state(|s| s.in_flight).unwrap_or(0)
    }

    /// How many throttled answers were observed.
    pub fn throttled_count(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// The instant before which no call may start, if a `Retry-After` is in force.
    pub fn not_before(&self) -> Option<Instant> {
        self.with_state(|s| s.not_before).flatten()
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> Option<R> {
        // A poisoned lock only means another task panicked while holding it; the state is
        // plain numbers and stays usable.
        let mut g = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        Some(f(&mut g))
    }

    /// Wait for the shared gate and for a free slot (and for a slot of the global budget,
    /// if there is one).
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            // Register interest before checking, so a release between the check and the
            // wait is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            enum Next {
                Go(usize),
                Sleep(Instant),
                Wait,
            }
            let next = self
                .with_state(|s| {
                    let now = Instant::now();
                    match s.not_before {
                        Some(t) if t > now => Next::Sleep(t),
                        _ => {
                            if s.in_flight < (s.limit.floor() as usize).max(1) {
                                s.in_flight += 1;
                                Next::Go(s.in_flight)
                            } else {
                                Next::Wait
                            }
                        }
                    }
                })
                .unwrap_or(Next::Go(1));
            match next {
                Next::Go(started_with) => {
                    let mut permit = Permit {
                        throttle: self,
                        started_with,
                        _global: None,
                    };
                    if let Some(budget) = &self.global {
                        // A closed semaphore only means nobody bounds the budget any more.
                        permit._global = budget.clone().acquire_owned().await.ok();
                    }
                    return permit;
                }
                Next::Sleep(t) => tokio::time::sleep_until(t).await,
                Next::Wait => notified.await,
            }
        }
    }

    /// Wait until the shared gate is open (without taking a slot).
    pub async fn wait_gate(&self) {
        while let Some(t) = self.not_before() {
            if t <= Instant::now() {
                break;
            }
            tokio::time::sleep_until(t).await;
        }
    }

    /// Record a successful call (additive increase).
    pub fn on_success(&self) {
        self.with_state(|s| {
            let mut step = 1.0 / s.limit.max(1.0);
            if s.ceiling.is_some_and(|c| s.limit >= c as f64) {
                step /= PROBE_SLOWDOWN;
            }
            s.limit = (s.limit + step).min(self.max as f64);
            let reached = s.limit.floor() as usize;
            if s.ceiling.is_some_and(|c| reached > c) {
                s.ceiling = Some(reached);
            }
        });
    }

    /// Record a throttled call: halve the limit and, with a `retry_after`, close the shared
    /// gate until then (for at most [`max_retry_after`](Self::max_retry_after)).
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        self.with_state(|s| {
            let now = Instant::now();
            let cooled = s
                .last_decrease
                .is_none_or(|t| now.duration_since(t) >= DECREASE_COOLDOWN);
            if cooled {
                s.limit = (s.limit / 2.0).floor().max(1.0);
                s.last_decrease = Some(now);
            }
            if let Some(d) = retry_after {
                let until = now + d.min(self.max_retry_after);
                if s.not_before.is_none_or(|t| t < until) {
                    s.not_before = Some(until);
                }
            }
        });
        #[cfg(feature = "tracing")]
        tracing::debug!(
            limit = self.limit(),
            ?retry_after,
            "throttled: concurrency reduced"
        );
    }

    /// Record the per-tenant concurrency answer to a call while at most `counted` calls (this
    /// one included) can have been in flight: the limit drops to `counted - 1` (at least 1,
    /// never up), and, at most once per [`DECREASE_COOLDOWN`], by at least one.
    pub fn on_concurrency_limited(&self, counted: usize) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        self.with_state(|s| {
            let now = Instant::now();
            let cooled = s
                .last_decrease
                .is_none_or(|t| now.duration_since(t) >= DECREASE_COOLDOWN);
            let below_start = counted.saturating_sub(1) as f64;
            let mut target = below_start.min(s.limit.floor());
            if cooled {
                target = target.min(s.limit.floor() - 1.0);
                s.last_decrease = Some(now);
            }
            s.limit = target.max(1.0);
            s.ceiling = Some(s.limit as usize);
        });
        #[cfg(feature = "tracing")]
        tracing::debug!(
            limit = self.limit(),
            "per-tenant concurrency limit reached: concurrency reduced"
        );
    }

    /// Observe the outcome of a call (made without a [`Permit`]): throttling errors decrease
    /// the limit (and honour `Retry-After`), successes increase it, other errors change
    /// nothing.
    pub fn observe<T>(&self, result: &Result<T, Error>) {
        match result {
            Ok(_) => self.on_success(),
            Err(e) if e.is_throttled() => self.on_throttled(e.retry_after()),
            Err(_) => {}
        }
    }

    fn release(&self) {
        self.with_state(|s| s.in_flight = s.in_flight.saturating_sub(1));
        self.notify.notify_waiters();
    }
}

impl Permit<'_> {
    /// Report success and free the slot.
    pub fn success(self) {
        self.throttle.on_success();
    }

    /// Report a throttled answer and free the slot.
    pub fn throttled(self, retry_after: Option<Duration>) {
        self.throttle.on_throttled(retry_after);
    }

    /// The throttle this permit belongs to.
    pub fn throttle(&self) -> &TenantThrottle {
        self.throttle
    }

    /// Report the outcome of a failed call and free the slot: the per-tenant concurrency
    /// answer without `Retry-After` lowers the limit to just below the calls in flight (see
    /// [`TenantThrottle`]); another throttling answer halves it and honours its
    /// `Retry-After`; other errors change nothing.
    pub fn failed(self, error: &Error) {
        if is_concurrency_answer(error) {
            // The calls in flight when this one started (itself included): the service
            // counted at most these when it arrived. Calls started later are not added: in a
            // burst every refused call would then carry the same inflated bound (and retries
            // sent since inflate it further), and the limit would fall by only one per
            // cooldown while the service keeps refusing.
            let counted = self.started_with;
            self.throttle.on_concurrency_limited(counted);
        } else if error.is_throttled() {
            self.throttle.on_throttled(error.retry_after());
        }
    }
}

/// The per-tenant concurrency answer (the plain-text 429 or the message in any envelope),
/// without a `Retry-After`.
pub(crate) fn is_concurrency_answer(error: &Error) -> bool {
    error.retry_after().is_none()
        && error.api().is_some_and(|a| {
            [
                Some(a.message.as_str()),
                Some(a.body_snippet.as_str()),
                a.exception_type.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|h| h.contains(TENANT_CONCURRENCY_MESSAGE))
        })
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.throttle.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn aimd_halves_on_throttle_and_grows_on_success() {
        let l = TenantThrottle::new(8, 8);
        assert_eq!(l.limit(), 8);
        l.on_throttled(None);
        assert_eq!(l.limit(), 4);
        // Within the cooldown a second 429 of the same burst does not halve again.
        l.on_throttled(None);
        assert_eq!(l.limit(), 4);
        // About one step per `limit` successes: 4 successes are not quite enough at 4.
        for _ in 0..4 {
            l.on_success();
        }
        assert_eq!(l.limit(), 4);
        l.on_success();
        assert_eq!(l.limit(), 5);
        for _ in 0..1000 {
            l.on_success();
        }
        assert_eq!(l.limit(), 8, "never above max");
        assert_eq!(l.throttled_count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn limit_never_below_one_and_caps_in_flight() {
        let l = TenantThrottle::new(2, 4);
        for _ in 0..5 {
            l.on_throttled(None);
            tokio::time::advance(DECREASE_COOLDOWN).await;
        }
        assert_eq!(l.limit(), 1);
        let p = l.acquire().await;
        assert_eq!(l.in_flight(), 1);
        let second = tokio::time::timeout(Duration::from_millis(50), l.acquire()).await;
        assert!(second.is_err(), "a second slot must wait at limit 1");
        drop(p);
        let _p2 = l.acquire().await;
        assert_eq!(l.in_flight(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_answer_lowers_to_just_below_in_flight() {
        use crate::ApiError;
        let l = TenantThrottle::new(13, 32);
        let permits: Vec<_> = futures::future::join_all((0..13).map(|_| l.acquire())).await;
        let concurrency: Error =
            ApiError::new(429, format!("{TENANT_CONCURRENCY_MESSAGE}.")).into();
        assert!(is_concurrency_answer(&concurrency));
        let mut permits = permits.into_iter().rev();
        // The 13th call was refused: 12 are allowed.
        permits.next().unwrap().failed(&concurrency);
        assert_eq!(l.limit(), 12, "13 in flight were one too many");
        // The 12th, refused in the same burst, started with 12 in flight: 11 are allowed.
        permits.next().unwrap().failed(&concurrency);
        assert_eq!(l.limit(), 11);
        drop(permits);
        // A refusal while at most 11 were in flight says: 10 (another client takes slots).
        l.on_concurrency_limited(11);
        assert_eq!(l.limit(), 10);
        l.on_concurrency_limited(13);
        assert_eq!(l.limit(), 10, "never up");
        assert_eq!(l.throttled_count(), 4);
        // Once per cooldown a refusal lowers it by at least one.
        tokio::time::advance(DECREASE_COOLDOWN).await;
        l.on_concurrency_limited(13);
        assert_eq!(l.limit(), 9);
        tokio::time::advance(DECREASE_COOLDOWN).await;
        l.on_concurrency_limited(1);
        assert_eq!(l.limit(), 1, "never below one");
        // Below the ceiling (1) growth is normal; above it, PROBE_SLOWDOWN times slower.
        let l = TenantThrottle::new(13, 32);
        l.on_concurrency_limited(13);
        assert_eq!(l.limit(), 12);
        for _ in 0..12 {
            l.on_success();
        }
        assert_eq!(
            l.limit(),
            12,
            "one normal round is not enough above the ceiling"
        );
        for _ in 0..(12.0 * PROBE_SLOWDOWN) as usize {
            l.on_success();
        }
        assert_eq!(l.limit(), 13);
        // A plain 429 still halves, and a concurrency text with Retry-After is a plain 429.
        let l = TenantThrottle::new(8, 8);
        let mut with_delay = ApiError::new(429, TENANT_CONCURRENCY_MESSAGE);
        with_delay.retry_after = Some(Duration::from_millis(1));
        let with_delay: Error = with_delay.into();
        assert!(!is_concurrency_answer(&with_delay));
        l.acquire().await.failed(&with_delay);
        assert_eq!(l.limit(), 4);
        let other: Error = ApiError::new(503, "unavailable").into();
        l.acquire().await.failed(&other);
        assert_eq!(l.limit(), 4);
        assert_eq!(l.throttled_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_gate_blocks_every_caller() {
        let l = TenantThrottle::new(4, 4);
        let start = Instant::now();
        l.on_throttled(Some(Duration::from_secs(3)));
        let (a, b) = tokio::join!(
            async {
                let _p = l.acquire().await;
                Instant::now()
            },
            async {
                let _p = l.acquire().await;
                Instant::now()
            }
        );
        assert!(a.duration_since(start) >= Duration::from_secs(3));
        assert!(b.duration_since(start) >= Duration::from_secs(3));
    }
}
