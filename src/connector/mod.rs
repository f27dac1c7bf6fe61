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
//! * one device's access: [`set_device_access`] (the mailbox's allowed / blocked device id
//!   lists, `Set-CASMailbox`).

mod actions;
mod device_access;
mod inventory;
mod limiter;
mod status;
mod store;

pub use actions::{
    DeviceFamily, FamilyAccessChange, PollOptions, WipeConfirmation, WipeError, WipeRequest,
    WipeStage, WipeTicket, WipeTracking, remote_wipe, set_default_access_level, set_family_access,
    track_wipe, wipe_stage,
};
pub use device_access::{
    DeviceAccessAction, DeviceAccessChange, DeviceAccessTarget, resolve_device_access,
    set_device_access,
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
