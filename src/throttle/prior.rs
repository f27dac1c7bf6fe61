//! [`CapPrior`]: the per-tenant concurrency caps a fleet's tenants have shown so far.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What a fleet's tenants have shown of their per-tenant concurrency caps, shared by their
/// throttles ([`TenantThrottle::with_cap_prior`](crate::throttle::TenantThrottle::with_cap_prior)).
///
/// Most tenants of one partner share the service's default cap, so a new tenant's throttle
/// starts from the cap the fleet has seen most often instead of the fixed initial limit, and
/// does not pay the refusals of discovering it again. Each tenant counts once, with the last
/// cap it named (a tenant whose cap differs names its own with its first refusal). Ties go to
/// the larger cap: one refusal finds a lower cap, while a cap set too low is only left by
/// probing.
#[derive(Debug, Default)]
pub struct CapPrior {
    /// Cap → tenants that named it.
    counts: Mutex<BTreeMap<usize, u64>>,
}

impl CapPrior {
    /// An empty prior (no cap known).
    pub fn new() -> Self {
        CapPrior::default()
    }

    /// The cap the fleet's tenants have named most often, if any.
    pub fn cap(&self) -> Option<usize> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        // `max_by_key` keeps the last of equal counts: the larger cap.
        counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .max_by_key(|(_, n)| **n)
            .map(|(cap, _)| *cap)
    }

    /// How many tenants have named a cap.
    pub fn tenants(&self) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.values().sum()
    }

    /// A tenant that had named `before` (if anything) now names `cap`.
    pub fn record(&self, before: Option<usize>, cap: usize) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = before
            && let Some(n) = counts.get_mut(&b)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&b);
            }
        }
        *counts.entry(cap).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_common_cap_wins_ties_to_the_larger() {
        let p = CapPrior::new();
        assert_eq!(p.cap(), None);
        p.record(None, 2);
        p.record(None, 4);
        assert_eq!(p.cap(), Some(4));
        p.record(None, 2);
        assert_eq!(p.cap(), Some(2));
        // A tenant moving from 4 to 3 counts once.
        p.record(Some(4), 3);
        assert_eq!(p.tenants(), 3);
        assert_eq!(p.cap(), Some(2));
    }
}
