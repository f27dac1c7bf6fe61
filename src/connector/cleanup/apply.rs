//! Applying a reviewed plan: one removal per device, each outcome from the crate's one
//! outcome table.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use uuid::Uuid;

use super::plan::{CleanupPlan, StaleCandidate};
use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{GetMobileDevice, GetMobileDeviceStatistics, RemoveMobileDevice};
use crate::error::Error;
use crate::types::MobileDeviceIdentity;

/// Default of [`ApplyOptions::fan_out`]: removals handed to the client at once. Like
/// [`crate::connector::DEFAULT_FAN_OUT`] of the inventory, it is not the concurrency on the wire (the
/// client's throttle decides that); it only needs to be above any tenant's cap.
pub const DEFAULT_CLEANUP_FAN_OUT: usize = 64;

/// Explicit consent to remove the candidates of one plan; [`apply_cleanup`] refuses it for
/// any other plan (or for this plan once edited).
#[derive(Debug, PartialEq, Eq)]
pub struct CleanupConfirmation {
    plan_id: String,
}

impl CleanupConfirmation {
    /// "I reviewed `plan` and want its candidates removed."
    pub fn i_reviewed(plan: &CleanupPlan) -> Self {
        CleanupConfirmation {
            plan_id: plan.fingerprint(),
        }
    }

    /// The plan this confirmation is for.
    pub fn plan_id(&self) -> &str {
        &self.plan_id
    }
}

/// When [`apply_cleanup`] reads a device's statistics again before removing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recheck {
    /// Always (the default): a reviewed plan is usually minutes or hours old.
    Always,
    /// Only when the plan is older than this when applied.
    WhenPlanOlderThan(Duration),
}

/// Settings of [`apply_cleanup`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// The most candidates the caller accepts; a larger plan is refused before anything is
    /// sent.
    pub max: usize,
    /// Removals handed to the client at once (at least 1; default
    /// [`DEFAULT_CLEANUP_FAN_OUT`]). The client's throttle admits them up to the tenant's cap.
    pub fan_out: usize,
    /// When to re-read statistics before removing.
    pub recheck: Recheck,
    /// The clock used for the plan's age (default: the system clock).
    pub now: Option<DateTime<Utc>>,
}

impl ApplyOptions {
    /// Accept at most `max` candidates; other settings at their defaults.
    pub fn new(max: usize) -> Self {
        ApplyOptions {
            max,
            fan_out: DEFAULT_CLEANUP_FAN_OUT,
            recheck: Recheck::Always,
            now: None,
        }
    }

    /// Removals handed to the client at once (at least 1). Set it to 1 to remove one device
    /// at a time; values above the tenant's cap wait in the client's throttle.
    pub fn fan_out(mut self, n: usize) -> Self {
        self.fan_out = n.max(1);
        self
    }

    /// When to re-read statistics.
    pub fn recheck(mut self, recheck: Recheck) -> Self {
        self.recheck = recheck;
        self
    }

    /// The current time (for the plan's age).
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }
}

/// Why a candidate was left alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// It synced after the plan was made.
    SyncedSince {
        /// Its new `LastSuccessSync`.
        last_success_sync: DateTime<Utc>,
    },
    /// Its statistics could not be read again, so it was not removed.
    RecheckFailed {
        /// The error.
        error: String,
    },
    /// The plan has no `Guid` for it.
    NoGuid,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::SyncedSince { last_success_sync } => write!(
                f,
                "synced since the plan was made (last success {})",
                last_success_sync.to_rfc3339()
            ),
            SkipReason::RecheckFailed { error } => {
                write!(f, "its statistics could not be re-read: {error}")
            }
            SkipReason::NoGuid => f.write_str("the plan has no Guid for it"),
        }
    }
}

/// What happened to one candidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CandidateResult {
    /// Removed.
    Removed,
    /// Already gone (the service did not find it).
    Gone,
    /// Not removed, nothing was sent for it (see the reason).
    Skipped(SkipReason),
    /// The service refused the removal (its error); it did not act.
    Refused(String),
    /// The removal may or may not have happened (timeout, lost connection, gateway error…);
    /// it was not sent again. Check `Get-MobileDevice` before retrying.
    Unknown(String),
}

impl CandidateResult {
    /// `removed`, `gone`, `skipped`, `refused` or `unknown`.
    pub fn label(&self) -> &'static str {
        match self {
            CandidateResult::Removed => "removed",
            CandidateResult::Gone => "gone",
            CandidateResult::Skipped(_) => "skipped",
            CandidateResult::Refused(_) => "refused",
            CandidateResult::Unknown(_) => "unknown",
        }
    }
}

impl std::fmt::Display for CandidateResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CandidateResult::Removed => f.write_str("removed"),
            CandidateResult::Gone => f.write_str("already gone"),
            CandidateResult::Skipped(r) => write!(f, "skipped: {r}"),
            CandidateResult::Refused(e) => write!(f, "refused: {e}"),
            CandidateResult::Unknown(e) => write!(f, "outcome unknown: {e}"),
        }
    }
}

/// One candidate and its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CandidateOutcome {
    /// The candidate, as planned.
    pub candidate: StaleCandidate,
    /// What happened.
    pub result: CandidateResult,
}

/// What [`apply_cleanup`] did: one outcome per candidate, in plan order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CleanupReport {
    /// The plan applied.
    pub plan_id: String,
    /// One outcome per candidate.
    pub outcomes: Vec<CandidateOutcome>,
    /// Whether the plan covered the whole tenant ([`CleanupPlan::is_complete`]): when it did
    /// not, devices whose statistics could not be read were never judged, so stale devices
    /// may remain.
    pub plan_complete: bool,
}

/// The overall result of a cleanup, worst first: what a tool's exit code should say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CleanupVerdict {
    /// Some removal's outcome is unknown (the service may have removed the device).
    Unknown,
    /// Some removal was refused by the service (nothing was removed for it), none unknown.
    Refused,
    /// Nothing refused or unknown, but not everything is well: the plan did not cover the
    /// whole tenant, or some candidate was skipped because it could not be re-checked.
    Partial,
    /// Every candidate removed, already gone (the service said so) or skipped because it
    /// synced since the plan, and the plan covered the whole tenant.
    Done,
}

impl CleanupReport {
    /// How many outcomes have this label (`removed`, `gone`, …; see
    /// [`CandidateResult::label`]).
    pub fn count(&self, label: &str) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.result.label() == label)
            .count()
    }

    /// Whether every candidate was removed or already gone.
    pub fn all_removed(&self) -> bool {
        self.outcomes
            .iter()
            .all(|o| matches!(o.result, CandidateResult::Removed | CandidateResult::Gone))
    }

    /// Whether some outcome is unknown.
    pub fn any_unknown(&self) -> bool {
        self.count("unknown") > 0
    }

    /// The overall result (see [`CleanupVerdict`]).
    pub fn verdict(&self) -> CleanupVerdict {
        if self.any_unknown() {
            CleanupVerdict::Unknown
        } else if self.count("refused") > 0 {
            CleanupVerdict::Refused
        } else if !self.plan_complete
            || self.outcomes.iter().any(|o| {
                matches!(
                    o.result,
                    CandidateResult::Skipped(SkipReason::RecheckFailed { .. } | SkipReason::NoGuid)
                )
            })
        {
            CleanupVerdict::Partial
        } else {
            CleanupVerdict::Done
        }
    }
}

/// Why [`apply_cleanup`] sent nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CleanupError {
    /// The confirmation is for another plan.
    #[error("the cleanup confirmation is for plan {confirmed}, not {plan}")]
    ConfirmationMismatch {
        /// Plan in the confirmation.
        confirmed: String,
        /// Plan given.
        plan: String,
    },
    /// The plan's content no longer matches its id (edited after it was made).
    #[error("the cleanup plan {id} was modified after it was made; make a new plan")]
    PlanModified {
        /// The id it carries.
        id: String,
    },
    /// More candidates than the caller accepts.
    #[error(
        "the cleanup plan has {count} candidates, more than the maximum of {max}; nothing was sent"
    )]
    TooManyCandidates {
        /// Candidates in the plan.
        count: usize,
        /// The maximum.
        max: usize,
    },
}

/// Remove the candidates of `plan` (see [`plan_stale_cleanup`](crate::connector::plan_stale_cleanup) for how they were chosen). Refused, with
/// nothing sent, when `confirmation` is not for this plan, the plan was edited, or it has
/// more than `options.max` candidates. See [`apply_cleanup_with`] to hear of each device as
/// it is done.
pub async fn apply_cleanup(
    client: &dyn ExchangeClient,
    plan: &CleanupPlan,
    confirmation: CleanupConfirmation,
    options: ApplyOptions,
) -> std::result::Result<CleanupReport, CleanupError> {
    apply_cleanup_with(client, plan, confirmation, options, |_| {}).await
}

/// [`apply_cleanup`], calling `on_outcome` with each device's result as soon as it is known
/// (in order of completion), so that a caller can journal what was done: if the cleanup is
/// dropped part-way, the removals already sent happened, and the journal says which.
///
/// ```
/// use exchange_activesync::connector::*;
/// use exchange_activesync::testing::{FakeExchangeClient, TenantBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> exchange_activesync::Result<()> {
/// let client = FakeExchangeClient::new(TenantBuilder::new().seed(3).devices(40).build());
/// let now = client.tenant().now();
/// let plan = plan_stale_cleanup(
///     &client,
///     StaleCriteria::older_than(std::time::Duration::from_secs(45 * 86_400)),
///     now,
/// )
/// .await?;
/// let mut journal = Vec::new();
/// let report = apply_cleanup_with(
///     &client,
///     &plan,
///     CleanupConfirmation::i_reviewed(&plan),
///     ApplyOptions::new(100).now(now),
///     |outcome| journal.push(serde_json::to_string(outcome).expect("JSON")),
/// )
/// .await
/// .expect("applied");
/// assert_eq!(journal.len(), report.outcomes.len());
/// # Ok(()) }
/// ```
pub async fn apply_cleanup_with(
    client: &dyn ExchangeClient,
    plan: &CleanupPlan,
    confirmation: CleanupConfirmation,
    options: ApplyOptions,
    mut on_outcome: impl FnMut(&CandidateOutcome) + Send,
) -> std::result::Result<CleanupReport, CleanupError> {
    let fingerprint = plan.fingerprint();
    if confirmation.plan_id != fingerprint {
        return Err(CleanupError::ConfirmationMismatch {
            confirmed: confirmation.plan_id,
            plan: fingerprint,
        });
    }
    if plan.id != fingerprint {
        return Err(CleanupError::PlanModified {
            id: plan.id.clone(),
        });
    }
    if plan.candidates.len() > options.max {
        return Err(CleanupError::TooManyCandidates {
            count: plan.candidates.len(),
            max: options.max,
        });
    }
    let now = options.now.unwrap_or_else(Utc::now);
    let recheck = match options.recheck {
        Recheck::Always => true,
        Recheck::WhenPlanOlderThan(bound) => {
            let age = (now - plan.created_at).to_std().unwrap_or(Duration::ZERO);
            age > bound
        }
    };
    // Each device at most once, even if a stored plan lists it twice.
    let mut seen = BTreeSet::new();
    let options = &options;
    let mut results: Vec<(usize, CandidateResult)> =
        stream::iter(plan.candidates.iter().enumerate())
            .map(|(i, c)| {
                let first = c.guid.is_none_or(|g| seen.insert(g));
                async move {
                    let result = if first {
                        remove_one(client, c, recheck).await
                    } else {
                        CandidateResult::Skipped(SkipReason::RecheckFailed {
                            error: "listed twice in the plan; handled once".into(),
                        })
                    };
                    (i, result)
                }
            })
            .buffer_unordered(options.fan_out.max(1))
            .inspect(|(i, result)| {
                on_outcome(&CandidateOutcome {
                    candidate: plan.candidates[*i].clone(),
                    result: result.clone(),
                })
            })
            .collect()
            .await;
    results.sort_by_key(|(i, _)| *i);
    Ok(CleanupReport {
        plan_complete: plan.is_complete(),
        plan_id: plan.id.clone(),
        outcomes: results
            .into_iter()
            .map(|(i, result)| CandidateOutcome {
                candidate: plan.candidates[i].clone(),
                result,
            })
            .collect(),
    })
}

/// The error's text with its causes, on one line.
fn error_text(e: &Error) -> String {
    let mut out = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

async fn remove_one(
    client: &dyn ExchangeClient,
    candidate: &StaleCandidate,
    recheck: bool,
) -> CandidateResult {
    let Some(guid) = candidate.guid else {
        return CandidateResult::Skipped(SkipReason::NoGuid);
    };
    // The device's own Guid: exactly one device, never a path or a wildcard.
    let identity = MobileDeviceIdentity::from_guid(guid);
    if recheck {
        let read = client
            .get_mobile_device_statistics(GetMobileDeviceStatistics::for_device(identity.clone()))
            .await;
        match read {
            Ok(list) => match list.items.into_iter().next() {
                None => return CandidateResult::Gone,
                Some(stats) => {
                    if let Some(now) = stats.last_success_sync
                        && candidate.last_success_sync.is_none_or(|then| now > then)
                    {
                        return CandidateResult::Skipped(SkipReason::SyncedSince {
                            last_success_sync: now,
                        });
                    }
                }
            },
            Err(e) if e.is_not_found() => return CandidateResult::Gone,
            Err(e) => {
                return CandidateResult::Skipped(SkipReason::RecheckFailed {
                    error: error_text(&e),
                });
            }
        }
    }
    // Sent once: the client retries only answers that prove it was not processed.
    let removed = client
        .remove_mobile_device(RemoveMobileDevice::new(identity))
        .await;
    // The crate's one outcome table decides (crate::outcome): nothing else classifies.
    match removed {
        Ok(_) => CandidateResult::Removed,
        // First: after an ambiguous failure nothing is sent again and nothing is assumed;
        // a read-back may still prove the removal happened.
        Err(e) if e.may_have_acted() => verify_removed(client, guid, &e).await,
        // Only the service's own "not found" (its error envelope) means gone.
        Err(e) if e.is_not_found() => CandidateResult::Gone,
        Err(e) => CandidateResult::Refused(error_text(&e)),
    }
}

/// After a removal whose outcome is unknown: read the device back. The service's own "not
/// found" (or an empty answer) proves it was removed; anything else leaves it unknown (a
/// device still listed may be removed by the request in flight, or not at all).
async fn verify_removed(
    client: &dyn ExchangeClient,
    guid: Uuid,
    failure: &Error,
) -> CandidateResult {
    let read = client
        .get_mobile_device(GetMobileDevice::for_device(
            MobileDeviceIdentity::from_guid(guid),
        ))
        .await;
    match read {
        Ok(list) if list.items.is_empty() => CandidateResult::Removed,
        Err(e) if e.is_not_found() => CandidateResult::Removed,
        Ok(_) => CandidateResult::Unknown(format!(
            "{}; read back, the device is still listed",
            error_text(failure)
        )),
        Err(e) => CandidateResult::Unknown(format!(
            "{}; the read-back failed too: {}",
            error_text(failure),
            error_text(&e)
        )),
    }
}
