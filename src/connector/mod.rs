//! Connector workflows built on any [`ExchangeClient`](crate::ExchangeClient):
//!
//! * [`ConnectionValidator`] / [`validate_connection`]: permissions for a
//!   [`ConnectorProfile`], organization default access level, counts of policies, rules,
//!   device classes and devices by access state, summarised as a [`ConnectionStatus`], with
//!   the last successful sync kept in a [`SyncStateStore`] ([`JsonFileStore`],
//!   [`MemoryStore`]);
//! * [`InventorySync`]: every device joined with its statistics, streamed, fanned out over
//!   the client (whose [`TenantThrottle`](crate::throttle::TenantThrottle) adapts the
//!   concurrency), restarts on expired continuations and
//!   de-duplication by `Guid`, reported in a [`SyncReport`];
//! * device actions: [`set_family_access`], [`set_default_access_level`], and
//!   [`remote_wipe`] behind a [`WipeConfirmation`], tracked with [`track_wipe`];
//! * one device's access: [`set_device_access`] (the mailbox's allowed / blocked device id
//!   lists, `Set-CASMailbox`);
//! * stale device cleanup: [`plan_stale_cleanup`] lists the partnerships that have not synced
//!   for a while in a [`CleanupPlan`], [`apply_cleanup`] removes them behind a
//!   [`CleanupConfirmation`] for that plan.

mod actions;
mod cleanup;
mod device_access;
mod inventory;
mod status;
mod store;

pub use actions::{
    DeviceFamily, FamilyAccessChange, PollOptions, WipeConfirmation, WipeError, WipeRequest,
    WipeStage, WipeTicket, WipeTracking, remote_wipe, set_default_access_level, set_family_access,
    track_wipe, wipe_stage,
};
pub use cleanup::{
    ApplyOptions, CandidateOutcome, CandidateResult, CleanupConfirmation, CleanupError,
    CleanupPlan, CleanupReport, DEFAULT_CLEANUP_FAN_OUT, Recheck, SkipReason, StaleCandidate,
    StaleCriteria, StaleReason, apply_cleanup, parse_age, plan_stale_cleanup, plan_with,
};
pub use device_access::{
    DeviceAccessAction, DeviceAccessChange, DeviceAccessTarget, resolve_device_access,
    set_device_access,
};
pub use inventory::{
    DEFAULT_FAN_OUT, DEFAULT_MAX_PENDING_STATISTICS, DeviceRecord, FIRST_PAGE_SIZE, InventorySync,
    SyncProgress, SyncReport, device_mailbox,
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
pub use store::{JsonFileStore, MemoryStore, SyncStateStore};
