//! Connector workflows built on any [`ExchangeClient`](crate::ExchangeClient):
//!
//! * [`ConnectionValidator`] / [`validate_connection`]: permissions for a
//!   [`ConnectorProfile`], organization default access level, counts of policies, rules,
//!   device classes and devices by access state, summarised as a [`ConnectionStatus`], with
//!   the last successful sync kept in a [`SyncStateStore`] ([`JsonFileStore`],
//!   [`MemoryStore`]);
//! * [`InventorySync`]: every device joined with its statistics, streamed, with adaptive
//!   concurrency ([`AdaptiveLimiter`]), restarts on expired continuations and
//!   de-duplication by `Guid`, reported in a [`SyncReport`];
//! * device actions: [`set_family_access`], [`set_default_access_level`], and
//!   [`remote_wipe`] behind a [`WipeConfirmation`], tracked with [`track_wipe`];
//! * stale device cleanup: [`plan_stale_cleanup`] lists the partnerships that have not synced
//!   for a while in a [`CleanupPlan`], [`apply_cleanup`] removes them behind a
//!   [`CleanupConfirmation`] for that plan.

mod actions;
mod cleanup;
mod inventory;
mod limiter;
mod status;
mod store;

pub use actions::{
    DeviceFamily, FamilyAccessChange, PollOptions, WipeConfirmation, WipeError, WipeRequest,
    WipeStage, WipeTicket, WipeTracking, remote_wipe, set_default_access_level, set_family_access,
    track_wipe, wipe_stage,
};
pub use cleanup::{
    ApplyOptions, CandidateOutcome, CandidateResult, CleanupConfirmation, CleanupError,
    CleanupPlan, CleanupReport, DEFAULT_CLEANUP_CONCURRENCY, Recheck, SkipReason, StaleCandidate,
    StaleCriteria, StaleReason, apply_cleanup, parse_age, plan_stale_cleanup, plan_with,
};
pub use inventory::{
    DEFAULT_MAX_PENDING_STATISTICS, DeviceRecord, InventorySync, SyncProgress, SyncReport,
    device_mailbox,
};
pub use limiter::{AdaptiveLimiter, DECREASE_COOLDOWN, PROBE_SLOWDOWN, Permit};
pub use status::{
    ConnectionReport, ConnectionStatus, ConnectionValidator, ConnectorProfile, DeviceCounts,
    ExportedCmdletsCheck, PermissionCheck, PermissionSummary, RbacPermissionCheck,
    validate_connection,
};
pub use store::{JsonFileStore, MemoryStore, SyncStateStore};
