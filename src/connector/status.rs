//! Connection validation: permissions, organization settings, policies, rules, device
//! classes and device counts, summarised as a [`ConnectionStatus`].

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::store::{StateMark, SyncStateStore};
use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{
    GetActiveSyncDeviceAccessRule, GetActiveSyncDeviceClass, GetActiveSyncOrganizationSettings,
    GetMobileDevice, GetMobileDeviceMailboxPolicy,
};
use crate::error::{Error, Result};
use crate::models::{DeviceAccessLevel, DeviceAccessState};

pub use crate::catalog::ConnectorProfile;

impl ConnectorProfile {
    /// The cmdlets the profile needs, from the [`catalog`](crate::catalog) (13 for Exchange
    /// Online; those plus Get-Recipient, Clear-MobileDevice and Remove-MobileDevice for hosted
    /// Exchange), as in the matching [`permissions`](crate::permissions) profile.
    pub fn required_cmdlets(&self) -> Vec<String> {
        self.cmdlets().map(|c| c.name.to_string()).collect()
    }
}

/// What a permission check found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PermissionSummary {
    /// Every required cmdlet is available.
    pub all_granted: bool,
    /// Required cmdlets that are available.
    pub granted: Vec<String>,
    /// Required cmdlets that are missing.
    pub missing: Vec<String>,
    /// Why the check could not decide (e.g. the client cannot list its cmdlets).
    pub undetermined: Option<String>,
}

impl PermissionSummary {
    /// The summary of a full permission report: a cmdlet counts as granted only with status
    /// `Granted`; the others are listed in `missing` as `<cmdlet> (<status>)`.
    pub fn from_report(report: &crate::permissions::PermissionReport) -> Self {
        let mut summary = PermissionSummary {
            all_granted: report.all_granted,
            ..Default::default()
        };
        for c in &report.cmdlets {
            if c.status == crate::permissions::Status::Granted {
                summary.granted.push(c.cmdlet.clone());
            } else {
                summary
                    .missing
                    .push(format!("{} ({})", c.cmdlet, c.status.as_str()));
            }
        }
        summary
    }
}

/// The seam through which a permission checker plugs into [`ConnectionValidator`].
#[async_trait]
pub trait PermissionCheck: Send + Sync {
    /// Check that the client's account may run what `profile` needs.
    async fn check(
        &self,
        client: &dyn ExchangeClient,
        profile: &ConnectorProfile,
    ) -> Result<PermissionSummary>;
}

/// The default check: the cmdlets the service exports to this account
/// ([`ExchangeClient::module_file`]), compared case-insensitively with the profile's list.
/// A client that cannot list them gives an undetermined (not failed) summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExportedCmdletsCheck;

#[async_trait]
impl PermissionCheck for ExportedCmdletsCheck {
    async fn check(
        &self,
        client: &dyn ExchangeClient,
        profile: &ConnectorProfile,
    ) -> Result<PermissionSummary> {
        let module = match client.module_file().await {
            Ok(m) => m,
            Err(Error::Unsupported(what)) => {
                return Ok(PermissionSummary {
                    all_granted: false,
                    undetermined: Some(format!("the client does not support {what}")),
                    ..Default::default()
                });
            }
            Err(e) => return Err(e),
        };
        let (granted, missing): (Vec<String>, Vec<String>) = profile
            .required_cmdlets()
            .into_iter()
            .partition(|c| module.exports(c));
        Ok(PermissionSummary {
            all_granted: missing.is_empty(),
            granted,
            missing,
            undetermined: None,
        })
    }
}

impl ConnectorProfile {
    /// The matching profile of the [`permissions`](crate::permissions) module.
    pub fn permission_profile(&self) -> crate::permissions::Profile {
        match self {
            ConnectorProfile::ExchangeOnline => crate::permissions::Profile::exchange_online(),
            ConnectorProfile::HostedExchange => crate::permissions::Profile::hosted_exchange(),
        }
    }
}

/// The full RBAC check of [`crate::permissions::PermissionChecker`] (token roles, exported
/// cmdlets and parameters, role assignments; no live probes), summarised. A cmdlet counts as
/// granted only with status `Granted`; the others are listed in `missing` as
/// `<cmdlet> (<status>)`. This is the default check of [`ConnectionValidator`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RbacPermissionCheck;

#[async_trait]
impl PermissionCheck for RbacPermissionCheck {
    async fn check(
        &self,
        client: &dyn ExchangeClient,
        profile: &ConnectorProfile,
    ) -> Result<PermissionSummary> {
        let report = crate::permissions::PermissionChecker::new(client)
            .check(&profile.permission_profile())
            .await?;
        Ok(PermissionSummary::from_report(&report))
    }
}

/// Overall state of the connection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// Everything checked works.
    Healthy,
    /// The tenant can be read (at least one of its reads succeeded) but something is
    /// missing or failed: the reasons say what.
    Degraded {
        /// What is wrong, one sentence each.
        reasons: Vec<String>,
    },
    /// The tenant cannot be read: a bad token, unreachable, misconfigured, or no read of it
    /// succeeded (every call throttled or failing, say).
    Failed {
        /// The error text.
        error: String,
    },
}

impl ConnectionStatus {
    /// `healthy`, `degraded` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectionStatus::Healthy => "healthy",
            ConnectionStatus::Degraded { .. } => "degraded",
            ConnectionStatus::Failed { .. } => "failed",
        }
    }
}

/// Device counts by access state.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DeviceCounts {
    /// All devices.
    pub total: usize,
    /// Per `DeviceAccessState` (the service's spelling; `(none)` when absent).
    pub by_access_state: BTreeMap<String, usize>,
}

/// The result of [`ConnectionValidator::validate`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ConnectionReport {
    /// Overall status.
    pub status: ConnectionStatus,
    /// The last successful sync (after this check, if it succeeded and recorded one).
    pub last_successful_sync: Option<DateTime<Utc>>,
    /// The profile checked.
    pub profile: String,
    /// Permission check result (`None` when the check itself failed).
    pub permissions: Option<PermissionSummary>,
    /// Organization default access level.
    pub default_access_level: Option<String>,
    /// Number of mobile device mailbox policies.
    pub policies: Option<usize>,
    /// Number of device access rules.
    pub access_rules: Option<usize>,
    /// Number of device classes.
    pub device_classes: Option<usize>,
    /// Devices by access state.
    pub devices: Option<DeviceCounts>,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
}

/// Validates a connection: permissions for a profile, organization settings, policies,
/// access rules, device classes and device counts. A healthy check records a successful sync
/// in the store (it read the whole device list).
///
/// ```
/// use std::sync::Arc;
/// use exchange_activesync::connector::*;
/// use exchange_activesync_testkit::{FakeExchangeClient, RbacProfile, TenantBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = FakeExchangeClient::new(TenantBuilder::new().seed(4).devices(8).build());
/// let store = Arc::new(MemoryStore::new()); // or a JsonFileStore
/// let report = ConnectionValidator::new(&client, ConnectorProfile::ExchangeOnline)
///     .store(store.clone())
///     .validate()
///     .await;
/// assert_eq!(report.status, ConnectionStatus::Healthy);
/// assert_eq!(report.devices.map(|d| d.total), Some(8));
/// assert!(report.last_successful_sync.is_some());
///
/// // A read-only account: readable, but the connector's writes are missing.
/// let read_only = FakeExchangeClient::new(
///     TenantBuilder::new().seed(4).rbac_profile(RbacProfile::ReadOnly).build(),
/// );
/// let report = validate_connection(&read_only, ConnectorProfile::ExchangeOnline, store).await;
/// assert_eq!(report.status.as_str(), "degraded");
/// assert!(!report.permissions.unwrap().all_granted);
/// # }
/// ```
#[derive(Clone)]
pub struct ConnectionValidator<'a> {
    client: &'a dyn ExchangeClient,
    profile: ConnectorProfile,
    permissions: Arc<dyn PermissionCheck>,
    store: Option<Arc<dyn SyncStateStore>>,
}

impl std::fmt::Debug for ConnectionValidator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionValidator")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// Whether an error means the tenant cannot be reached at all (as opposed to one cmdlet
/// being unavailable).
fn is_fatal(e: &Error) -> bool {
    match e.root() {
        Error::Auth(_) | Error::Config(_) | Error::Redirect(_) | Error::Transport { .. } => true,
        Error::Timeout { .. } => true,
        Error::Api(a) => a.is_unauthorized(),
        _ => false,
    }
}

impl<'a> ConnectionValidator<'a> {
    /// A validator for `profile` with the default permission check
    /// ([`RbacPermissionCheck`]) and no store. It borrows the client: pass `&client`, or
    /// `&*arc` for an `Arc<dyn ExchangeClient>`.
    pub fn new(client: &'a dyn ExchangeClient, profile: ConnectorProfile) -> Self {
        ConnectionValidator {
            client,
            profile,
            permissions: Arc::new(RbacPermissionCheck),
            store: None,
        }
    }

    /// Use another permission check.
    pub fn permission_check(mut self, check: Arc<dyn PermissionCheck>) -> Self {
        self.permissions = check;
        self
    }

    /// Read (and, when healthy, update) the last successful sync in `store`.
    pub fn store(mut self, store: Arc<dyn SyncStateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Run every check. Never fails: problems are reported in the status.
    pub async fn validate(&self) -> ConnectionReport {
        let checked_at = Utc::now();
        let client = self.client;
        let mut reasons = Vec::new();
        // Reads of the tenant that succeeded: none at all is a failure, not a degradation.
        let mut reads_ok = 0usize;
        let mut previous = None;
        if let Some(store) = &self.store {
            match store.load(StateMark::LastChecked).await {
                Ok(v) => previous = v,
                Err(e) => reasons.push(format!("sync state store unreadable: {e}")),
            }
        }
        let mut report = ConnectionReport {
            status: ConnectionStatus::Healthy,
            last_successful_sync: previous,
            profile: self.profile.as_str().to_string(),
            permissions: None,
            default_access_level: None,
            policies: None,
            access_rules: None,
            device_classes: None,
            devices: None,
            checked_at,
        };
        let fail = |mut report: ConnectionReport, e: Error| {
            report.status = ConnectionStatus::Failed {
                error: e.to_string(),
            };
            report
        };

        // Organization settings first: the cheapest call that proves the token works.
        match client
            .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
            .await
        {
            Ok(r) => {
                reads_ok += 1;
                report.default_access_level = r
                    .value
                    .default_access_level
                    .as_ref()
                    .map(DeviceAccessLevel::to_string)
            }
            // Still throttled after the client's retries on the first read: the tenant
            // refuses work right now. The other reads would each be retried and refused in
            // turn (a tenant answering every call 429 took seven times the retry budget), and
            // with no read done the status is `Failed` anyway.
            Err(e) if is_fatal(&e) || e.is_throttled() => return fail(report, e),
            Err(e) => reasons.push(format!("organization settings unreadable: {e}")),
        }

        match self.permissions.check(client, &self.profile).await {
            Ok(p) => {
                if let Some(why) = &p.undetermined {
                    reasons.push(format!("permissions could not be checked: {why}"));
                } else if !p.all_granted {
                    reasons.push(format!("missing permissions: {}", p.missing.join(", ")));
                }
                report.permissions = Some(p);
            }
            Err(e) if is_fatal(&e) => return fail(report, e),
            Err(e) => reasons.push(format!("permission check failed: {e}")),
        }

        macro_rules! count {
            ($field:ident, $what:literal, $call:expr) => {
                match $call.await {
                    Ok(l) => {
                        reads_ok += 1;
                        report.$field = Some(l.items.len());
                    }
                    Err(e) if is_fatal(&e) => return fail(report, e),
                    Err(e) => reasons.push(format!(concat!($what, " unreadable: {}"), e)),
                }
            };
        }
        count!(
            policies,
            "mobile device mailbox policies",
            client.get_mobile_device_mailbox_policy(GetMobileDeviceMailboxPolicy::new())
        );
        count!(
            access_rules,
            "device access rules",
            client.get_active_sync_device_access_rule(GetActiveSyncDeviceAccessRule::new())
        );
        count!(
            device_classes,
            "device classes",
            client.get_active_sync_device_class(GetActiveSyncDeviceClass::new())
        );

        let mut counts = DeviceCounts::default();
        let mut devices = client.get_mobile_device_stream(GetMobileDevice::new());
        let mut device_error = None;
        while let Some(d) = devices.next().await {
            match d {
                Ok(d) => {
                    counts.total += 1;
                    let state = d
                        .device_access_state
                        .as_ref()
                        .map(DeviceAccessState::to_string)
                        .unwrap_or_else(|| "(none)".into());
                    *counts.by_access_state.entry(state).or_default() += 1;
                }
                Err(e) => {
                    device_error = Some(e);
                    break;
                }
            }
        }
        drop(devices);
        match device_error {
            None => {
                reads_ok += 1;
                report.devices = Some(counts);
            }
            Some(e) if is_fatal(&e) => return fail(report, e),
            Some(e) => reasons.push(format!("mobile devices unreadable: {e}")),
        }

        if reasons.is_empty() {
            if let Some(store) = &self.store {
                match store.save(StateMark::LastChecked, checked_at).await {
                    Ok(()) => report.last_successful_sync = Some(checked_at),
                    Err(e) => reasons.push(format!("sync state store unwritable: {e}")),
                }
            } else {
                report.last_successful_sync = Some(checked_at);
            }
        }
        if reads_ok == 0 {
            // Nothing of the tenant could be read: not "readable with something missing".
            report.status = ConnectionStatus::Failed {
                error: format!("nothing could be read: {}", reasons.join("; ")),
            };
        } else if !reasons.is_empty() {
            report.status = ConnectionStatus::Degraded { reasons };
        }
        report
    }
}

/// Shorthand for `ConnectionValidator::new(client, profile).store(store).validate()`.
pub async fn validate_connection(
    client: &dyn ExchangeClient,
    profile: ConnectorProfile,
    store: Arc<dyn SyncStateStore>,
) -> ConnectionReport {
    ConnectionValidator::new(client, profile)
        .store(store)
        .validate()
        .await
}
