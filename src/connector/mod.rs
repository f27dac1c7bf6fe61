//! Connector workflows built on any [`ExchangeClient`](crate::ExchangeClient):
//!
//! * [`ConnectionValidator`] / [`validate_connection`]: permissions for a
//!   [`ConnectorProfile`], organization default access level, counts of policies, rules,
//!   device classes and devices by access state, summarised as a [`ConnectionStatus`], with
//!   the last successful sync kept in a [`SyncStateStore`] ([`JsonFileStore`],
//!   [`MemoryStore`]);
//! * [`InventorySync`]: every device (joined with its statistics when asked:
//!   `with_statistics(true)`; off by default), streamed, fanned out over
//!   the client (whose [`TenantThrottle`](crate::throttle::TenantThrottle) adapts the
//!   concurrency), restarts on expired continuations and
//!   de-duplication by `Guid`, reported in a [`SyncReport`];
//! * device actions: [`set_family_access`], [`set_default_access_level`], and
//!   [`remote_wipe`] behind a [`WipeConfirmation`], tracked with [`track_wipe`];
//! * one device's access: [`set_device_access`] (the mailbox's allowed / blocked device id
//!   lists, `Set-CASMailbox`);
//! * stale device cleanup: [`plan_stale_cleanup`] lists the partnerships that have not synced
//!   for a while in a [`CleanupPlan`], [`apply_cleanup`] removes them behind a
//!   [`CleanupConfirmation`] for that plan;
//! * EAS readiness: [`eas_readiness`] lists the EAS partnerships below a protocol version
//!   ([`EasVersion`], 16.1 from March 2026) in a [`ReadinessReport`] ([`fleet_readiness`](crate::fleet::fleet_readiness)
//!   for every tenant of a fleet);
//! * access what-if: [`access_whatif`] predicts which partnerships would change state if the
//!   default access level changed or rules were added or removed ([`AccessChanges`]), by
//!   Exchange's documented sequence ([`evaluate_access`]), reading only.
//! * offboarding a user: [`plan_offboarding`] / [`apply_offboarding`] (wipe, wait for the
//!   acknowledgement, then remove or block each device);
//! * the quarantine inbox: [`list_quarantined`], and [`plan_quarantine`] /
//!   [`apply_quarantine`] (allow or block, one `Set-CASMailbox` per mailbox);
//! * device list hygiene: [`audit_device_lists`] (entries naming no partnership, ids on
//!   both lists), [`plan_list_prune`] / [`apply_list_prune`] (the remove form).

mod access;
mod cleanup;
mod device_lists;
mod inventory;
mod offboard;
mod preflight;
mod quarantine;
mod readiness;
mod status;
mod store;
mod whatif;
mod wipe;

pub use access::{
    DeviceAccessAction, DeviceAccessChange, DeviceAccessTarget, DeviceFamily, FamilyAccessChange,
    resolve_device_access, set_default_access_level, set_device_access, set_family_access,
};
pub use cleanup::{
    ApplyOptions, CandidateOutcome, CandidateResult, CleanupConfirmation, CleanupError,
    CleanupPlan, CleanupReport, CleanupVerdict, DEFAULT_CLEANUP_FAN_OUT, Recheck, SkipReason,
    StaleCandidate, StaleCriteria, StaleReason, apply_cleanup, apply_cleanup_with, parse_age,
    plan_stale_cleanup, plan_with,
};
pub use device_lists::{
    ALLOWED_LIST, BLOCKED_LIST, ListAudit, ListEntry, ListProblem, ListPrunePlan,
    PruneConfirmation, PruneMailbox, PruneOutcome, PruneReport, PruneResult, apply_list_prune,
    audit_device_lists, plan_list_prune,
};
pub use inventory::{
    DEFAULT_FAN_OUT, DEFAULT_MAX_PENDING_STATISTICS, DeviceRecord, FIRST_PAGE_SIZE, InventorySync,
    STATISTICS_PAGE_SIZE, SyncProgress, SyncReport, device_mailbox,
};
pub use offboard::{
    OffboardConfirmation, OffboardDevice, OffboardOptions, OffboardPlan, OffboardReport,
    OffboardResult, OffboardThen, OffboardThenResult, OffboardWipe, OffboardWipeResult,
    apply_offboarding, plan_offboarding,
};
pub use quarantine::{
    QuarantineConfirmation, QuarantineDecision, QuarantineMailbox, QuarantineOutcome,
    QuarantinePlan, QuarantineReport, QuarantineResult, QuarantineSelection, QuarantinedDevice,
    apply_quarantine, list_quarantined, plan_quarantine,
};
pub use readiness::{
    EasVersion, ReadinessReport, ReadinessRow, ReadinessVerdict, eas_readiness, readiness_with,
};
pub use whatif::{
    AccessChanges, AccessDecision, AccessPolicy, AccessWhatIf, Evaluation, MailboxAccess,
    PredictedChange, RuleSpec, access_whatif, evaluate_access,
};
pub use wipe::{
    PollOptions, WipeConfirmation, WipeError, WipeRequest, WipeStage, WipeTicket, WipeTracking,
    remote_wipe, track_wipe, wipe_stage,
};

/// The adaptive limiter moved into the client: every call of an
/// [`HttpExchangeClient`](crate::HttpExchangeClient) goes through its
/// [`TenantThrottle`](crate::throttle::TenantThrottle).
#[deprecated(note = "use `throttle::TenantThrottle`, held by the client")]
pub type AdaptiveLimiter = crate::throttle::TenantThrottle;
pub use status::{
    ConnectionReport, ConnectionStatus, ConnectionValidator, ConnectorProfile, DeviceCounts,
    ExportedCmdletsCheck, PermissionCheck, PermissionSummary, RbacPermissionCheck,
    validate_connection,
};
pub use store::{JsonFileStore, MemoryStore, StateMark, SyncStateStore};
