//! Seeded, data-driven fault profiles: which requests of a running simulator fail, and how.
//!
//! A [`ChaosDecider`] sees every `InvokeCommand` request (its cmdlet kind, its key and whether
//! it continues an enumeration) and decides whether to fail it. The decision depends only on
//! the seed and on the order of requests, never on the wall clock, so the same client run
//! against the same seed meets the same faults.
//!
//! * [`ChaosMode::Transient`]: one read in every [`TRANSIENT_BLOCK`] consecutive reads fails
//!   (the position inside each block and the kind of failure are drawn from the seed): 429 with
//!   `Retry-After` in whole seconds, fractional seconds or an HTTP-date, 429 without it, 503,
//!   500 with `DCOverloadedException`, or a connection reset. The first continuation request
//!   answers "Expired or Invalid pagination request" (once per simulator). Writes are never
//!   failed, and a request that was just failed always succeeds the next time it is sent
//!   (same key), so any client that retries gets through.
//! * [`ChaosMode::Storm`]: sustained throttling. The first attempt of every request gets 429
//!   with `Retry-After: 0.5`; the second attempt of a third of the requests (drawn from the
//!   seed) gets the plain-text per-tenant concurrency 429; every request succeeds by its third
//!   attempt, well within the default [`RetryPolicy`](exchange_activesync::http::RetryPolicy).
//!
//! The key of a request identifies "the same request" across retries: its
//! `client-request-id` header (the crate and the PowerShell module reuse one per enumeration
//! and retry) or, without one, the SHA-1 of its body, combined with its `$skiptoken`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use sha1::{Digest, Sha1};

use super::failure::Failure;
use super::fault::Fault;
use exchange_activesync::protocol::CmdletKind;

/// Number of consecutive reads among which exactly one fails under [`ChaosMode::Transient`].
pub const TRANSIENT_BLOCK: u64 = 16;

/// Largest number of request keys remembered (older memory is dropped wholesale).
const MEMORY: usize = 65_536;

/// How the simulator misbehaves under a [`ChaosPlan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChaosMode {
    /// A few percent of reads fail once with a retryable failure; one continuation expires.
    Transient,
    /// Most first and some second attempts are throttled; all succeed by the third.
    Storm,
}

/// Seeded random faults, as plain data (part of a
/// [`FaultPlan`](crate::simulator::FaultPlan)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChaosPlan {
    /// What kind of faults.
    pub mode: ChaosMode,
    /// Seed of every decision.
    pub seed: u64,
}

impl ChaosPlan {
    /// Faults of `mode` drawn from `seed`.
    pub fn new(mode: ChaosMode, seed: u64) -> Self {
        ChaosPlan { mode, seed }
    }
}

/// What the decider needs to know about one `InvokeCommand` request.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ChaosRequest<'a> {
    /// Read, write or destructive (from the cmdlet's verb).
    pub kind: CmdletKind,
    /// The `client-request-id` header, if any.
    pub client_request_id: Option<&'a str>,
    /// The request body.
    pub body: &'a [u8],
    /// The `$skiptoken` of a continuation request.
    pub skiptoken: Option<&'a str>,
}

impl<'a> ChaosRequest<'a> {
    /// A request of `kind` with this body, no `client-request-id`, not a continuation.
    pub fn new(kind: CmdletKind, body: &'a [u8]) -> Self {
        ChaosRequest {
            kind,
            client_request_id: None,
            body,
            skiptoken: None,
        }
    }

    /// Set the `client-request-id`.
    pub fn client_request_id(mut self, id: Option<&'a str>) -> Self {
        self.client_request_id = id;
        self
    }

    /// Set the `$skiptoken` (a continuation request).
    pub fn skiptoken(mut self, token: Option<&'a str>) -> Self {
        self.skiptoken = token;
        self
    }

    /// The stable key of this request: the same for every retry of it.
    pub fn key(&self) -> u64 {
        let mut h = Sha1::new();
        match self.client_request_id {
            Some(id) => {
                h.update(b"crid:");
                h.update(id.trim().to_ascii_lowercase().as_bytes());
            }
            None => {
                h.update(b"body:");
                h.update(self.body);
            }
        }
        h.update(b"\0skip:");
        h.update(self.skiptoken.unwrap_or("").as_bytes());
        let d = h.finalize();
        u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }
}

/// A stable 64-bit mix of a seed and some numbers (SplitMix64 steps), identical on every
/// platform and Rust version.
fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    for p in parts {
        x = x.wrapping_add(*p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x = z ^ (z >> 31);
    }
    x
}

/// `Retry-After` as an HTTP-date `delay` after `now`.
fn http_date(now: SystemTime, delay: Duration) -> String {
    let at: chrono::DateTime<chrono::Utc> = (now + delay).into();
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Decides, request by request, which ones fail. Keep one per simulator (behind a lock).
#[derive(Debug)]
pub struct ChaosDecider {
    plan: ChaosPlan,
    /// Reads seen so far (transient schedule position).
    reads: u64,
    /// A scheduled fault fell on a request that had to pass; fail the next eligible one.
    pending: bool,
    /// The continuation expiry was spent.
    expired_once: bool,
    /// Keys of requests that failed, with how many of their attempts failed in a row.
    failed: HashMap<u64, u32>,
}

impl ChaosDecider {
    /// A decider for `plan`.
    pub fn new(plan: ChaosPlan) -> Self {
        ChaosDecider {
            plan,
            reads: 0,
            pending: false,
            expired_once: false,
            failed: HashMap::new(),
        }
    }

    fn remember(&mut self, key: u64, attempts: u32) {
        if self.failed.len() >= MEMORY {
            self.failed.clear();
        }
        self.failed.insert(key, attempts);
    }

    /// The fault for this request, if any. `now` only dates an HTTP-date `Retry-After`.
    pub fn decide(&mut self, request: &ChaosRequest<'_>, now: SystemTime) -> Option<Fault> {
        match self.plan.mode {
            ChaosMode::Transient => self.transient(request, now),
            ChaosMode::Storm => self.storm(request),
        }
    }

    fn transient(&mut self, request: &ChaosRequest<'_>, now: SystemTime) -> Option<Fault> {
        if request.kind != CmdletKind::Read {
            return None;
        }
        let key = request.key();
        let n = self.reads;
        self.reads += 1;
        let block = n / TRANSIENT_BLOCK;
        let scheduled = n % TRANSIENT_BLOCK == mix(self.plan.seed, &[block]) % TRANSIENT_BLOCK;
        if self.failed.remove(&key).is_some() {
            // The retry of a request that just failed: it gets through.
            self.pending |= scheduled;
            return None;
        }
        if request.skiptoken.is_some() && !self.expired_once {
            self.expired_once = true;
            self.pending |= scheduled;
            self.remember(key, 1);
            return Some(Fault::Fail(Failure::PaginationExpired));
        }
        if !(scheduled || self.pending) {
            return None;
        }
        self.pending = false;
        self.remember(key, 1);
        let fault = match mix(self.plan.seed, &[block, 1]) % 7 {
            0 => Fault::Fail(Failure::throttled(Some(1.0))),
            1 => Fault::Fail(Failure::throttled(Some(0.5))),
            2 => Fault::Fail(Failure::Throttled {
                retry_after: Some(http_date(now, Duration::from_secs(1))),
            }),
            3 => Fault::Fail(Failure::throttled(None)),
            4 => Fault::Fail(Failure::Unavailable),
            5 => Fault::Fail(Failure::TransientException {
                exception: "DCOverloadedException".into(),
            }),
            _ => Fault::ConnectionReset,
        };
        Some(fault)
    }

    fn storm(&mut self, request: &ChaosRequest<'_>) -> Option<Fault> {
        let key = request.key();
        let attempts = self.failed.get(&key).copied().unwrap_or(0);
        let fault = match attempts {
            0 => Some(Fault::Fail(Failure::throttled(Some(0.5)))),
            1 if mix(self.plan.seed, &[key]).is_multiple_of(3) => {
                Some(Fault::Fail(Failure::ConcurrencyLimit))
            }
            _ => None,
        };
        match fault {
            Some(_) => self.remember(key, attempts + 1),
            None => {
                self.failed.remove(&key);
            }
        }
        fault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    /// Run `n` distinct reads (each retried until it passes) and record the decisions.
    fn run(plan: ChaosPlan, n: usize) -> Vec<(usize, u32, Option<Fault>)> {
        let mut d = ChaosDecider::new(plan);
        let mut log = Vec::new();
        for i in 0..n {
            let id = format!("req-{i}");
            let skip = format!("page-{i}");
            let req = ChaosRequest::new(CmdletKind::Read, b"{}")
                .client_request_id(Some(&id))
                .skiptoken((i % 2 == 1).then_some(skip.as_str()));
            for attempt in 0.. {
                let f = d.decide(&req, at());
                let failed = f.is_some();
                log.push((i, attempt, f));
                if !failed {
                    break;
                }
                assert!(attempt < 5, "request {i} failed 6 times");
            }
        }
        log
    }

    #[test]
    fn transient_is_deterministic_per_seed() {
        let a = run(ChaosPlan::new(ChaosMode::Transient, 7), 400);
        let b = run(ChaosPlan::new(ChaosMode::Transient, 7), 400);
        let c = run(ChaosPlan::new(ChaosMode::Transient, 8), 400);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn transient_fails_a_few_percent_never_twice_in_a_row() {
        let log = run(ChaosPlan::new(ChaosMode::Transient, 7), 1600);
        let failures = log.iter().filter(|(_, _, f)| f.is_some()).count();
        // One per block of 16 reads (retries count as reads), plus the expired continuation.
        assert!((80..=110).contains(&failures), "{failures} failures");
        // Every request passes at its second attempt at the latest.
        assert!(log.iter().all(|(_, attempt, _)| *attempt <= 1));
        let expired = log
            .iter()
            .filter(|(_, _, f)| *f == Some(Fault::Fail(Failure::PaginationExpired)))
            .count();
        assert_eq!(expired, 1);
        // All the advertised kinds occur.
        let has =
            |p: &dyn Fn(&Fault) -> bool| log.iter().any(|(_, _, f)| f.as_ref().is_some_and(p));
        assert!(has(&|f| *f == Fault::ConnectionReset));
        assert!(has(&|f| *f == Fault::Fail(Failure::Unavailable)));
        assert!(has(&|f| matches!(
            f,
            Fault::Fail(Failure::TransientException { .. })
        )));
        assert!(has(&|f| *f == Fault::Fail(Failure::throttled(None))));
        assert!(has(&|f| *f == Fault::Fail(Failure::throttled(Some(0.5)))));
        assert!(has(&|f| matches!(
            f,
            Fault::Fail(Failure::Throttled { retry_after: Some(r) }) if r.ends_with(" GMT")
        )));
    }

    #[test]
    fn transient_never_fails_writes() {
        let mut d = ChaosDecider::new(ChaosPlan::new(ChaosMode::Transient, 1));
        for i in 0..1000 {
            let id = format!("w-{i}");
            for kind in [CmdletKind::Write, CmdletKind::Destructive] {
                let req = ChaosRequest::new(kind, b"{}")
                    .client_request_id(Some(&id))
                    .skiptoken(Some("x"));
                assert_eq!(d.decide(&req, at()), None);
            }
        }
    }

    #[test]
    fn transient_without_request_id_keys_on_body() {
        let mut d = ChaosDecider::new(ChaosPlan::new(ChaosMode::Transient, 3));
        let body = br#"{"CmdletInput":{"CmdletName":"Get-MobileDevice"}}"#;
        let req = ChaosRequest::new(CmdletKind::Read, body);
        let mut previous_failed = false;
        for _ in 0..200 {
            let failed = d.decide(&req, at()).is_some();
            assert!(
                !(failed && previous_failed),
                "same request failed twice in a row"
            );
            previous_failed = failed;
        }
        assert_ne!(
            ChaosRequest::new(CmdletKind::Read, b"a").key(),
            ChaosRequest::new(CmdletKind::Read, b"b").key()
        );
    }

    #[test]
    fn storm_throttles_hard_and_lets_every_request_through_by_the_third_attempt() {
        let log = run(ChaosPlan::new(ChaosMode::Storm, 7), 300);
        let first: Vec<_> = log.iter().filter(|(_, a, _)| *a == 0).collect();
        assert_eq!(first.len(), 300);
        assert!(
            first
                .iter()
                .all(|(_, _, f)| *f == Some(Fault::Fail(Failure::throttled(Some(0.5)))))
        );
        let concurrency = log
            .iter()
            .filter(|(_, _, f)| *f == Some(Fault::Fail(Failure::ConcurrencyLimit)))
            .count();
        assert!((60..=140).contains(&concurrency), "{concurrency}");
        assert!(log.iter().all(|(_, attempt, _)| *attempt <= 2));
        assert_eq!(log, run(ChaosPlan::new(ChaosMode::Storm, 7), 300));
    }
}
