//! [`Permit`]: the slot one request holds in a [`TenantThrottle`], and how it reports its
//! outcome.

use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use super::{TenantThrottle, is_concurrency_answer};
use crate::error::Error;

/// A slot held while one request runs; report how it went with [`Permit::success`] or
/// [`Permit::failed`] (dropping it without a report frees the slot, and one held for a refused
/// call, and changes nothing else).
#[derive(Debug)]
#[must_use = "a permit frees its slot when dropped"]
pub struct Permit<'a> {
    pub(super) throttle: &'a TenantThrottle,
    /// Calls in flight (this one included) when it started.
    pub(super) started_with: usize,
    /// The limit in force when it started.
    pub(super) limit_at_start: usize,
    /// Whether this is the one call let through above the cap.
    pub(super) probe: bool,
    /// Its admission number.
    pub(super) seq: u64,
    /// Admitted while calls the service may count beyond the cap were in flight (the burst
    /// that named the cap, or a probe): its refusal says nothing about other clients.
    pub(super) shadowed: bool,
    /// Refused for the tenant's concurrency (reported through [`failed`](Self::failed)).
    pub(super) refused: bool,
    /// The slot of the global budget, if there is one.
    pub(super) _global: Option<OwnedSemaphorePermit>,
}

impl Permit<'_> {
    /// Report success and free the slot.
    pub fn success(self) {
        if self.probe {
            self.throttle.probe_succeeded(self.started_with);
        } else {
            // Less than half the limit in use says nothing about a higher one (growing then
            // would let a quiet phase climb to the maximum and the next burst overshoot).
            let used = self.started_with * 2 >= self.limit_at_start;
            self.throttle
                .with_state(|s| self.throttle.succeeded(s, used));
        }
    }

    /// Report a throttled answer and free the slot.
    pub fn throttled(self, retry_after: Option<Duration>) {
        self.throttle.on_throttled(retry_after);
    }

    /// The throttle this permit belongs to.
    pub fn throttle(&self) -> &TenantThrottle {
        self.throttle
    }

    /// Whether this call is the one let through above the known cap.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// Report the outcome of a failed call and free the slot: the per-tenant concurrency
    /// answer without `Retry-After` names or holds the cap (see [`TenantThrottle`]);
    /// another throttling answer halves the limit and honours its `Retry-After`; other
    /// errors change nothing.
    pub fn failed(mut self, error: &Error) {
        if is_concurrency_answer(error) {
            self.refused = true;
            self.throttle.refused(
                // The burst it belonged to: as many calls as were in flight when it
                // started, or as the limit allowed then (some may have been answered
                // before its refusal arrived).
                self.started_with.max(self.limit_at_start),
                self.probe,
                Some(self.seq),
                self.shadowed,
            );
        } else if error.is_throttled() {
            self.throttle.throttled_by(error.retry_after(), error.api());
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.throttle.release(self.probe, self.seq, self.refused);
    }
}
