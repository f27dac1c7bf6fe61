//! Stale device cleanup: list the partnerships that have not synced for a while
//! ([`plan_stale_cleanup`]), review the [`CleanupPlan`], then remove exactly those devices
//! ([`apply_cleanup`]) behind a [`CleanupConfirmation`] bound to that plan.
//!
//! * **Plan**: every device joined with its statistics ([`InventorySync`]); a device
//!   qualifies when its `LastSuccessSync` is older than the cutoff, or (optionally) when it
//!   never synced and was created before the cutoff. Devices without a statistics row are
//!   never candidates (their last sync is unknown); they are counted in the plan.
//! * **Apply**: refused before anything is sent when the confirmation is for another plan,
//!   the plan was edited after it was made, or it has more candidates than the caller's
//!   maximum. Each candidate is removed with one `Remove-MobileDevice -Identity <Guid>`
//!   (never a path, a wildcard or a mailbox). Up to [`ApplyOptions::fan_out`] removals are
//!   handed to the client at once; the client's throttling authority (one per tenant, see
//!   [`crate::throttle`]) admits them up to the tenant's concurrency cap and retries the
//!   answers that prove a request was not processed (throttling), so the cleanup runs at the
//!   tenant's cap and has no retry loop of its own. After an ambiguous failure nothing is
//!   sent again for that device and its result is [`CandidateResult::Unknown`]; a request the
//!   client gave up on while throttled is [`CandidateResult::Refused`] with the service's
//!   answer.
//! * **Re-check**: by default ([`Recheck::Always`]) the device's statistics are read again
//!   right before it is removed, and a device that synced since the plan was made is
//!   skipped. The plan is meant to be reviewed by a person, so it is usually minutes or hours
//!   old when applied; one extra read per device is cheap next to removing a phone that is
//!   in use again. [`Recheck::WhenPlanOlderThan`] skips the read for a plan made moments ago.

mod apply;
mod plan;

pub use apply::{
    ApplyOptions, CandidateOutcome, CandidateResult, CleanupConfirmation, CleanupError,
    CleanupReport, CleanupVerdict, DEFAULT_CLEANUP_FAN_OUT, Recheck, SkipReason, apply_cleanup,
    apply_cleanup_with,
};
pub use plan::{
    CleanupPlan, StaleCandidate, StaleCriteria, StaleReason, parse_age, plan_stale_cleanup,
    plan_with,
};
