//! Test utilities: a stateful model of an Exchange Online tenant, exposed in-process
//! ([`FakeExchangeClient`]) and over loopback HTTP ([`Simulator`]), and a typed mock client,
//! [`Responder`].
//!
//! * [`Tenant`] / [`TenantBuilder`]: ActiveSync organization settings, mobile device mailbox
//!   policies, device access rules, device classes, mailboxes, devices with statistics, and
//!   RBAC ([`Rbac`], [`RbacProfile`]). Generation is deterministic: the same seed gives
//!   byte-identical output.
//! * Behind both, one engine runs one page of any of the 16 mobile-device cmdlets (plus
//!   Get/Set-CASMailbox, `Get-ManagementRoleAssignment` and `Get-ManagementRoleEntry`) with
//!   the service's validation, RBAC, confirmation, paging and JSON encoding. It is internal:
//!   use it through the fake or the simulator.
//!
//! Add this crate as a dev-dependency beside `exchange-activesync`.
#![deny(missing_docs)]

mod catalog;
mod continuation;
mod engine;
mod entra;
pub mod fake;
mod faults;
mod filter;
mod format;
mod module;
mod policy;
pub mod rbac;
pub mod responder;
pub mod simulator;
pub mod tenant;
mod token;

pub use catalog::{Catalog, CmdletSpec, ConfirmImpact, ParameterSpec};
pub use faults::chaos::{ChaosMode, ChaosPlan};
pub use faults::failure;
// The engine, for the crate's own benchmarks and tests; not part of the API.
#[doc(hidden)]
pub use engine::{Call, execute, tenant_json};
pub use failure::{CONCURRENCY_BODY, Failure, HttpAnswer};
pub use fake::{FakeExchangeClient, RecordedCall, Scripted, Times};
pub use rbac::{ManagementRole, Rbac, RbacProfile, RoleAssignment, RoleEntry};
pub use responder::Responder;
pub use simulator::{
    BlockingSimulator, DEFAULT_CLIENT_SECRET, DEFAULT_ROW_COST, EXCHANGE_SCOPE, Fault, FaultPlan,
    FaultProfile, FaultStep, FaultTimes, ServedTenant, SimulatedApp, SimulatedCall,
    SimulatedTenant, Simulator, SimulatorConfig, SimulatorHandle, TOKEN_APP_ID, TOKEN_OBJECT_ID,
    TenantSettings, generated_tenant_domain, refused_endpoint, simulator_token,
};
pub use tenant::{
    AccessRule, CasSettings, Device, DeviceBuilder, DeviceMut, Mailbox, MailboxBuilder, MailboxMut,
    MailboxPolicy, OrgSettings, OrphanEntry, Tenant, TenantBuilder, WipeProgress, WipeState,
};
