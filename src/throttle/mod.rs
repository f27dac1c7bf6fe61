//! The per-tenant throttling authority of a client: admission that finds and holds the
//! tenant's concurrency cap, with a shared "not before" gate, [`TenantThrottle`].
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

use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use crate::error::{ApiError, Error, TENANT_CONCURRENCY_MESSAGE};

mod permit;
mod prior;
pub use permit::Permit;
pub use prior::CapPrior;

/// Bounds how many requests to one tenant run at once, finds the tenant's concurrency cap and
/// holds it:
///
/// * **discovery**: until the service has named a bound, every successful call adds
///   `1 / limit` to the limit (about one more call per round of successful calls), up to
///   `max`, but only while the limit is used: a call that started with fewer than half the
///   limit in flight adds nothing (a quiet, one-at-a-time phase does not raise the limit
///   the next burst starts from);
/// * **the per-tenant concurrency answer** ("You have reached the maximum number of
///   concurrent requests per tenant", without `Retry-After`) names the cap: one below the
///   calls in flight when it arrives (at least 1), and one less for every further refusal of
///   the calls that were in flight then (the calls of a burst reach the service in any
///   order: the service admitted the others). From then on the limit **stays at the cap**:
///   discovery from the initial limit costs as many refusals as it overshot by, one or two
///   from the default start of 4 for the usual caps of 2–3;
/// * **rare probes**: while the tenant is busy at its cap, one call above it is let through
///   at most once per [`PROBE_INTERVAL`] (jittered up to half again, so clients sharing a
///   cap do not probe in step). A successful probe raises the cap by one, tentatively (the
///   service may have let it through only because another call had just ended there): the
///   first refusal at the raised level returns to the level before. A refused probe returns
///   the limit to the known cap, **never below it**. When another call is refused while the
///   probe is in flight, the probe has taken the place of a call that had just ended: one
///   slot stays free until the probe is answered, and the probe's success then raises
///   nothing;
/// * **a refused call's slot is held**: the slot of a call refused for the tenant's
///   concurrency stays free until another call ends (one held slot per refusal, never more
///   than the calls in flight). Given to the next waiting call at once, it would be refused
///   too, and so on through every waiting call: a cap named one too high, or another
///   client's call, would turn into a run of refusals until the cap is lowered;
/// * **a cap shared with other clients**: a refusal of a call admitted at the known cap
///   means someone else takes slots; [`AT_CAP_REFUSALS`] of them (without a round of
///   successes between them) lower the cap by one, at most once per [`DECREASE_COOLDOWN`].
///   Refusals that may have been caused by the client's own calls do not count: of calls
///   admitted while a probe or the burst that named the cap was in flight, or in flight
///   when another call was refused (the service may still count a refused call);
/// * **a fleet-wide prior** ([`with_cap_prior`](Self::with_cap_prior)): until its own tenant
///   has named a cap, the throttle assumes the cap the fleet's tenants have shown so far
///   ([`CapPrior`]): it starts there instead of at the initial limit, probes above it after
///   [`ASSUMED_PROBE_AFTER`], and a refusal at it names the tenant's own cap at once;
/// * **other throttling answers** (HTTP 429 with a `Retry-After`, 503 …) halve the limit, at
///   most once per [`DECREASE_COOLDOWN`] (it grows back to the cap as above);
/// * **shared gate**: a `Retry-After` pauses *every* caller until that instant, not only the
///   one that received it, for at most [`max_retry_after`](Self::max_retry_after) (by
///   default [`DEFAULT_MAX_RETRY_AFTER`], the retry policy's default; a client's own throttle
///   uses its policy's): one absurd `Retry-After` does not stall the work for a day. With
///   [`fail_fast_on_long_retry_after`](Self::fail_fast_on_long_retry_after) a `Retry-After`
///   beyond that maximum instead fails every call waiting at the gate (see
///   [`acquire_checked`](Self::acquire_checked));
/// * **global budget** (optional, [`with_global_budget`](Self::with_global_budget)): a
///   semaphore shared by the throttles of many tenants; a permit also takes one of its
///   slots (after the tenant's own slot), so many tenants can run under one overall bound.
///   Waiting callers are admitted as slots free up, in the order tokio wakes them.
///
/// The default ([`TenantThrottle::default`]) starts at [`DEFAULT_INITIAL_CONCURRENCY`] and
/// adapts up to [`DEFAULT_MAX_CONCURRENCY`]. Uses `tokio::time`, so tests may run it with a
/// paused clock.
#[derive(Debug)]
#[non_exhaustive]
pub struct TenantThrottle {
    max: usize,
    max_retry_after: Duration,
    fail_fast: bool,
    state: Mutex<State>,
    notify: Notify,
    throttled: AtomicU64,
    global: Option<Arc<Semaphore>>,
    prior: Option<Arc<CapPrior>>,
}

/// The limit a [`TenantThrottle::default`] starts at.
pub const DEFAULT_INITIAL_CONCURRENCY: usize = 4;

/// The hard ceiling of a [`TenantThrottle::default`] (set another one with
/// [`ClientBuilder::max_concurrency`](crate::http::ClientBuilder::max_concurrency)).
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;

/// Minimum time between two decreases.
pub const DECREASE_COOLDOWN: Duration = Duration::from_millis(250);

/// Least time between two probes above a cap the tenant has named (a random share of up to
/// half of it is added to each interval).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(30);

/// Time before the first probe above a cap assumed from a [`CapPrior`].
pub const ASSUMED_PROBE_AFTER: Duration = Duration::from_secs(10);

/// Refusals of calls started at or below the known cap that lower it (a cap shared with
/// other clients).
pub const AT_CAP_REFUSALS: u32 = 2;

/// The cap the throttle holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cap {
    level: usize,
    /// Named by this tenant's answers (a refusal or a successful probe); otherwise assumed
    /// from the fleet's prior.
    named: bool,
    /// Raised by a successful probe from this level: one refusal at it returns there.
    tentative_from: Option<usize>,
}

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
    probe_in_flight: bool,
    /// A call other than the probe was refused while the probe was in flight: the probe took
    /// the place of a call that had ended at the service, so one slot below the cap is held
    /// back until the probe is answered (set only while a probe is in flight, cleared when it
    /// is released).
    probe_displaced: bool,
    /// Slots of refused calls kept free until other calls end (one each): given to the next
    /// waiting call at once, a refused call's slot would be refused again, and so on through
    /// every waiting call. Never more than the calls in flight.
    held: usize,
    not_before: Option<Instant>,
    last_decrease: Option<Instant>,
    cap: Option<Cap>,
    next_probe: Option<Instant>,
    /// Refusals at or below the cap since the last round of successes.
    at_cap_refusals: u32,
    successes_since_refusal: usize,
    /// Permits admitted so far (each permit carries its number).
    admitted: u64,
    /// The permits admitted before the cap was first named (up to this number).
    discovery_until: Option<u64>,
    /// The burst that named it: calls in flight at its first refusal, refusals among them.
    burst: Option<(usize, usize)>,
    /// Calls of that burst still in flight: the service may still count them.
    burst_live: usize,
    /// Permits admitted up to the last refusal: a call in flight when another was refused
    /// may have been refused because the service still counted that one.
    refusal_mark: u64,
    /// A `Retry-After` beyond the maximum, in fail-fast mode: what was asked, until when the
    /// gate is closed, and the answer.
    too_long: Option<TooLong>,
}

#[derive(Debug, Clone)]
struct TooLong {
    requested: Duration,
    until: Instant,
    answer: ApiError,
}

impl Default for TenantThrottle {
    fn default() -> Self {
        TenantThrottle::new(DEFAULT_INITIAL_CONCURRENCY, DEFAULT_MAX_CONCURRENCY)
    }
}

/// The longest pause a `Retry-After` may impose by default (2 minutes): the default of
/// both [`TenantThrottle::with_max_retry_after`] and the HTTP client's retry policy.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

fn probe_interval() -> Duration {
    PROBE_INTERVAL + PROBE_INTERVAL.mul_f64(fastrand::f64() / 2.0)
}

enum Next {
    Go {
        started_with: usize,
        limit_at_start: usize,
        probe: bool,
        seq: u64,
        shadowed: bool,
    },
    Sleep(Instant),
    Wait,
    Fail(Box<TooLong>),
}

impl TenantThrottle {
    /// A throttle starting at `initial` concurrent calls, adapting within `[1, max]`.
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        TenantThrottle {
            max,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            fail_fast: false,
            state: Mutex::new(State {
                limit: initial.clamp(1, max) as f64,
                in_flight: 0,
                probe_in_flight: false,
                probe_displaced: false,
                held: 0,
                not_before: None,
                last_decrease: None,
                cap: None,
                next_probe: None,
                at_cap_refusals: 0,
                successes_since_refusal: 0,
                admitted: 0,
                discovery_until: None,
                burst: None,
                burst_live: 0,
                refusal_mark: 0,
                too_long: None,
            }),
            notify: Notify::new(),
            throttled: AtomicU64::new(0),
            global: None,
            prior: None,
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

    /// Share what the tenants of a fleet have shown about their caps: until this tenant has
    /// named its own cap, the throttle assumes `prior`'s (see [`TenantThrottle`]), and the
    /// caps this tenant names are recorded there for the tenants after it.
    pub fn with_cap_prior(self, prior: Arc<CapPrior>) -> Self {
        let mut this = self;
        this.prior = Some(prior);
        this.with_state(|s| this.adopt_prior(s, Instant::now()));
        this
    }

    /// Fail fast on a `Retry-After` beyond [`max_retry_after`](Self::max_retry_after)
    /// (default `false`): instead of closing the shared gate for the maximum and letting
    /// the calls behind it wait, every call waiting at the gate, and every call arriving
    /// while it is closed, fails at once from
    /// [`acquire_checked`](Self::acquire_checked) with [`Error::RetryAfterTooLong`] naming
    /// the `Retry-After`. The gate still closes for the maximum (for
    /// [`acquire`](Self::acquire), which never fails). See [`fail_fast`](Self::fail_fast).
    pub fn fail_fast_on_long_retry_after(mut self, fail_fast: bool) -> Self {
        self.fail_fast = fail_fast;
        self
    }

    /// Whether a `Retry-After` beyond [`max_retry_after`](Self::max_retry_after) fails the
    /// calls (`true`, see
    /// [`fail_fast_on_long_retry_after`](Self::fail_fast_on_long_retry_after)) or makes
    /// them wait at the gate closed for the maximum and retry (`false`, the default). The
    /// call that received such an answer asks this to choose between failing at once and
    /// waiting.
    pub fn fail_fast(&self) -> bool {
        self.fail_fast
    }

    /// The longest the shared gate closes for.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The current concurrency limit (an integer in `[1, max]`).
    pub fn limit(&self) -> usize {
        self.with_state(|s| s.limit.floor() as usize).unwrap_or(1)
    }

    /// The tenant's cap as far as the throttle knows it: named by the per-tenant concurrency
    /// answer (or raised by a successful probe), or assumed from the fleet's
    /// [`CapPrior`]; `None` while it is still being discovered.
    pub fn known_cap(&self) -> Option<usize> {
        self.with_state(|s| s.cap.map(|c| c.level)).flatten()
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

    /// Assume the fleet's cap while this tenant has named none.
    fn adopt_prior(&self, s: &mut State, now: Instant) {
        if s.cap.is_some() {
            return;
        }
        if let Some(level) = self.prior.as_ref().and_then(|p| p.cap()) {
            let level = level.clamp(1, self.max);
            s.cap = Some(Cap {
                level,
                named: false,
                tentative_from: None,
            });
            s.limit = level as f64;
            s.next_probe = Some(now + ASSUMED_PROBE_AFTER);
        }
    }

    /// Set the cap this tenant has named (and tell the fleet).
    fn name_cap(&self, s: &mut State, level: usize, now: Instant) {
        let level = level.clamp(1, self.max);
        let before = s.cap.filter(|c| c.named).map(|c| c.level);
        s.cap = Some(Cap {
            level,
            named: true,
            tentative_from: None,
        });
        s.limit = level as f64;
        s.at_cap_refusals = 0;
        s.successes_since_refusal = 0;
        if let Some(prior) = &self.prior
            && before != Some(level)
        {
            prior.record(before, level);
        }
        #[cfg(feature = "tracing")]
        tracing::debug!(cap = level, "tenant concurrency cap");
        let _ = now;
    }

    /// Wait for the shared gate and for a free slot (and for a slot of the global budget,
    /// if there is one). Never fails: in fail-fast mode it waits at the gate like the
    /// default; use [`acquire_checked`](Self::acquire_checked) to fail instead.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            if let Ok(p) = self.admit(false).await {
                return p;
            }
        }
    }

    /// [`acquire`](Self::acquire), except that with
    /// [`fail_fast_on_long_retry_after`](Self::fail_fast_on_long_retry_after) a
    /// `Retry-After` beyond [`max_retry_after`](Self::max_retry_after) (received by any
    /// call of the tenant) fails this call at once with [`Error::RetryAfterTooLong`]
    /// (`requested`: the `Retry-After`, `max`: the maximum, `last`: the answer that carried
    /// it) if it is waiting at the gate when the answer arrives or arrives while the gate
    /// is closed. Without fail-fast it is the same as [`acquire`](Self::acquire).
    pub async fn acquire_checked(&self) -> Result<Permit<'_>, Error> {
        self.admit(true).await
    }

    async fn admit(&self, checked: bool) -> Result<Permit<'_>, Error> {
        loop {
            // Register interest before checking, so a release between the check and the
            // wait is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next = self
                .with_state(|s| {
                    let now = Instant::now();
                    match s.not_before {
                        Some(t) if t > now => {
                            return match &s.too_long {
                                Some(r) if checked && self.fail_fast && r.until > now => {
                                    Next::Fail(Box::new(r.clone()))
                                }
                                _ => Next::Sleep(t),
                            };
                        }
                        _ => {}
                    }
                    self.adopt_prior(s, now);
                    let normal = s.in_flight - usize::from(s.probe_in_flight);
                    let limit = (s.limit.floor() as usize).max(1);
                    // The slot a probe displaced stays free until the probe is answered:
                    // given to the next call, it would be refused at once, and so would
                    // every waiting call after it.
                    let open = limit.saturating_sub(usize::from(s.probe_displaced) + s.held);
                    if normal < open {
                        s.in_flight += 1;
                        s.admitted += 1;
                        return Next::Go {
                            started_with: s.in_flight,
                            limit_at_start: limit,
                            probe: false,
                            seq: s.admitted,
                            shadowed: s.burst_live > 0 || s.probe_in_flight,
                        };
                    }
                    let probe_due = !s.probe_in_flight
                        && s.held == 0
                        && s.cap
                            .is_some_and(|c| limit >= c.level && c.level < self.max)
                        && s.next_probe.is_some_and(|t| now >= t);
                    if probe_due {
                        s.in_flight += 1;
                        s.probe_in_flight = true;
                        // One probe at a time; the next one is scheduled by its outcome.
                        s.next_probe = None;
                        s.admitted += 1;
                        return Next::Go {
                            started_with: s.in_flight,
                            limit_at_start: limit,
                            probe: true,
                            seq: s.admitted,
                            shadowed: false,
                        };
                    }
                    Next::Wait
                })
                .unwrap_or(Next::Go {
                    started_with: 1,
                    limit_at_start: 1,
                    probe: false,
                    seq: 0,
                    shadowed: false,
                });
            match next {
                Next::Go {
                    started_with,
                    limit_at_start,
                    probe,
                    seq,
                    shadowed,
                } => {
                    let mut permit = Permit {
                        throttle: self,
                        started_with,
                        limit_at_start,
                        probe,
                        seq,
                        shadowed,
                        refused: false,
                        _global: None,
                    };
                    if let Some(budget) = &self.global {
                        // A closed semaphore only means nobody bounds the budget any more.
                        permit._global = budget.clone().acquire_owned().await.ok();
                    }
                    return Ok(permit);
                }
                Next::Sleep(t) => {
                    // A fail-fast answer wakes the sleepers too.
                    tokio::select! {
                        _ = tokio::time::sleep_until(t) => {}
                        _ = notified => {}
                    }
                }
                Next::Wait => {
                    // A probe may fall due while every slot stays taken.
                    let probe_at = self
                        .with_state(|s| s.next_probe)
                        .flatten()
                        .filter(|t| *t > Instant::now());
                    match probe_at {
                        Some(t) => tokio::select! {
                            _ = tokio::time::sleep_until(t) => {}
                            _ = notified => {}
                        },
                        None => notified.await,
                    }
                }
                Next::Fail(r) => {
                    return Err(Error::RetryAfterTooLong {
                        requested: r.requested,
                        max: self.max_retry_after,
                        last: Box::new(Error::from(r.answer)),
                    });
                }
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

    /// Record a successful call: below the cap (or while none is known) the limit grows by
    /// `1 / limit`.
    pub fn on_success(&self) {
        self.with_state(|s| self.succeeded(s, true));
    }

    /// A success; `grow`: whether it may raise the limit (a call that used the limit).
    fn succeeded(&self, s: &mut State, grow: bool) {
        let ceiling = s.cap.map_or(self.max, |c| c.level) as f64;
        if grow && s.limit < ceiling {
            s.limit = (s.limit + 1.0 / s.limit.max(1.0)).min(ceiling);
        }
        s.successes_since_refusal += 1;
        let round = s.cap.map_or(1, |c| c.level);
        if s.successes_since_refusal >= round {
            s.at_cap_refusals = 0;
        }
    }

    /// Record a throttled call: halve the limit and, with a `retry_after`, close the shared
    /// gate until then (for at most [`max_retry_after`](Self::max_retry_after); in
    /// fail-fast mode a longer one fails the calls at the gate, see
    /// [`acquire_checked`](Self::acquire_checked)).
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        self.throttled_by(retry_after, None);
    }

    fn throttled_by(&self, retry_after: Option<Duration>, answer: Option<&ApiError>) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let mut woken = false;
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
                if d > self.max_retry_after && self.fail_fast {
                    let answer = answer.cloned().unwrap_or_else(|| {
                        let mut a = ApiError::new(
                            429,
                            format!("throttled with Retry-After: {}s", d.as_secs_f64()),
                        );
                        a.retry_after = Some(d);
                        a
                    });
                    s.too_long = Some(TooLong {
                        requested: d,
                        until,
                        answer,
                    });
                    woken = true;
                }
            }
        });
        if woken {
            self.notify.notify_waiters();
        }
        #[cfg(feature = "tracing")]
        tracing::debug!(
            limit = self.limit(),
            ?retry_after,
            "throttled: concurrency reduced"
        );
    }

    /// Record the per-tenant concurrency answer to a call made without a [`Permit`] while
    /// `counted` calls (itself included) were in flight: while no cap is named it names one
    /// below `counted` (and never above the limit); at a named cap it counts as a refusal at
    /// the cap (see [`TenantThrottle`]).
    pub fn on_concurrency_limited(&self, counted: usize) {
        self.refused(counted, false, None, false);
    }

    /// `seq`: the permit's admission number, if it came from a permit.
    fn refused(&self, started_with: usize, probe: bool, seq: Option<u64>, shadowed: bool) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        self.with_state(|s| {
            let now = Instant::now();
            // Another call was refused while this one was in flight.
            let overlapped = seq.is_some_and(|q| q <= s.refusal_mark);
            s.refusal_mark = s.admitted;
            // The service is full: the refused call's slot stays free until another call
            // ends (the one a probe displaced, until the probe is answered).
            if seq.is_some() && !probe {
                if s.probe_in_flight {
                    s.probe_displaced = true;
                } else {
                    let others = s.in_flight.saturating_sub(1);
                    s.held = (s.held + 1).min(others);
                }
            }
            // A refusal of a call of the burst that overshot (admitted before the cap was
            // named): the service admitted the others of that burst, so each such refusal
            // takes one more off the cap, whatever order the answers came in (the calls of
            // a burst reach the service in any order, so the calls in flight when one of
            // them started say nothing about it).
            let of_discovery = seq.is_some_and(|q| s.discovery_until.is_some_and(|d| q <= d));
            if of_discovery && let Some(cap) = s.cap.filter(|c| c.named) {
                if let Some((outstanding, refusals)) = s.burst.as_mut() {
                    *refusals += 1;
                    let level = outstanding.saturating_sub(*refusals).max(1);
                    if level < cap.level {
                        self.name_cap(s, level, now);
                    }
                }
                return;
            }
            match s.cap {
                // Nothing named yet (or only the fleet's assumption, which a burst admitted
                // before it may exceed): the refusal names the cap, one below the calls of
                // its burst: those in flight now (this one included) or as many as the limit
                // allowed when it started, if more. Without a permit, one below `counted`.
                None | Some(Cap { named: false, .. }) => {
                    let outstanding = match seq {
                        Some(_) => s.in_flight.max(started_with),
                        None => started_with,
                    }
                    .max(1);
                    let level = (outstanding - 1).max(1);
                    self.name_cap(s, level, now);
                    s.burst = Some((outstanding, 1));
                    // Every call in flight now (this one included) belongs to the burst.
                    s.burst_live = s.in_flight;
                    s.discovery_until = Some(s.admitted);
                    s.last_decrease = Some(now);
                    s.next_probe = Some(now + probe_interval());
                }
                // Admitted while the service may still have counted calls beyond the cap,
                // or in flight while another call was refused: no evidence of other
                // clients.
                Some(_) if shadowed || overlapped => {}
                // A refused probe: back to the cap, never below it.
                Some(cap) if probe => {
                    if s.limit > cap.level as f64 {
                        s.limit = cap.level as f64;
                    }
                    s.next_probe = Some(now + probe_interval());
                }
                // At a level a probe raised: the probe may have been let through only
                // because another call had just ended at the service. Back to the level
                // before.
                Some(Cap {
                    tentative_from: Some(before),
                    ..
                }) => {
                    self.name_cap(s, before, now);
                    s.next_probe = Some(now + probe_interval());
                }
                // At the known cap: someone else takes slots. Repeated, it lowers the cap.
                Some(cap) => {
                    s.at_cap_refusals += 1;
                    s.successes_since_refusal = 0;
                    let cooled = s
                        .last_decrease
                        .is_none_or(|t| now.duration_since(t) >= DECREASE_COOLDOWN);
                    if s.at_cap_refusals >= AT_CAP_REFUSALS && cooled && cap.level > 1 {
                        self.name_cap(s, cap.level - 1, now);
                        s.last_decrease = Some(now);
                        s.next_probe = Some(now + probe_interval());
                    }
                }
            }
        });
        #[cfg(feature = "tracing")]
        tracing::debug!(
            limit = self.limit(),
            probe,
            "per-tenant concurrency limit reached"
        );
    }

    fn probe_succeeded(&self, started_with: usize) {
        self.with_state(|s| {
            let now = Instant::now();
            // Another call was refused in its place: the service let the probe through
            // because one of the calls at the cap had just ended, not above the cap.
            if s.probe_displaced {
                s.next_probe = Some(now + probe_interval());
                self.succeeded(s, false);
                return;
            }
            let before = s.cap.map(|c| c.level);
            let level = before.map_or(started_with, |l| l + 1);
            self.name_cap(s, level, now);
            if let Some(c) = s.cap.as_mut() {
                c.tentative_from = before;
            }
            s.next_probe = Some(now + probe_interval());
            self.succeeded(s, true);
        });
    }

    /// Observe the outcome of a call (made without a [`Permit`]): throttling errors decrease
    /// the limit (and honour `Retry-After`), successes increase it, other errors change
    /// nothing.
    pub fn observe<T>(&self, result: &Result<T, Error>) {
        match result {
            Ok(_) => self.on_success(),
            Err(e) if e.is_throttled() => self.throttled_by(e.retry_after(), e.api()),
            Err(_) => {}
        }
    }

    /// `refused`: the permit's call was refused for the tenant's concurrency (its slot is
    /// held, see `State::held`); any other end frees one held slot.
    fn release(&self, probe: bool, seq: u64, refused: bool) {
        self.with_state(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            if !refused {
                s.held = s.held.saturating_sub(1);
            }
            if s.discovery_until.is_some_and(|d| seq <= d) {
                s.burst_live = s.burst_live.saturating_sub(1);
            }
            if probe {
                s.probe_in_flight = false;
                s.probe_displaced = false;
                // A probe that was neither refused nor answered: try again later.
                if s.next_probe.is_none() {
                    s.next_probe = Some(Instant::now() + probe_interval());
                }
            }
            s.held = s
                .held
                .min(s.in_flight.saturating_sub(usize::from(s.probe_in_flight)));
        });
        self.notify.notify_waiters();
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

#[cfg(test)]
mod tests;
