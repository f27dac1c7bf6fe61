//! The stateful model of one Exchange Online tenant and its deterministic generator.
//!
//! The data types live in `model`, the seeded [`TenantBuilder`] in `generation`, the
//! hand-made objects ([`DeviceBuilder`], [`MailboxBuilder`]) and editing guards in `spec`.

mod generation;
mod model;
mod scenarios;
mod spec;

pub use generation::TenantBuilder;
pub use model::{
    AccessRule, CasSettings, Device, Mailbox, MailboxPolicy, ORG_SETTINGS_NAME, OrgSettings,
    SECTION, Tenant, WipeProgress, WipeState,
};
pub use scenarios::OrphanEntry;
pub use spec::{DeviceBuilder, DeviceMut, MailboxBuilder, MailboxMut};
