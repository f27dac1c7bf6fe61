//! The per-tenant results of the fleet's operations ([`Fleet::check`](super::Fleet::check), [`Fleet::permissions`](super::Fleet::permissions),
//! [`Fleet::inventory`](super::Fleet::inventory), [`Fleet::for_each`](super::Fleet::for_each)) and the work that makes them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{FleetTenant, ProgressState, TenantError, TenantErrorKind, TenantOutcome};
use crate::auth::TokenClaims;
use crate::client::{ExchangeClient, ModuleFile};
use crate::connector::{
    ConnectionReport, ConnectionStatus, ConnectionValidator, ConnectorProfile, DeviceRecord,
    InventorySync, PermissionCheck, PermissionSummary, SyncReport,
};
use crate::error::{Error, Result};
use crate::permissions::{PermissionChecker, PermissionReport};
use crate::protocol::{Invocation, NextLink, RawPage};

// --- for_each ---------------------------------------------------------------------------

/// The result of [`Fleet::for_each`](super::Fleet::for_each) for one tenant.
#[derive(Debug)]
#[non_exhaustive]
pub struct TenantResult<T> {
    /// The tenant.
    pub tenant: FleetTenant,
    /// What the operation returned, or why it (or the tenant's client) failed.
    pub result: std::result::Result<T, TenantError>,
}

impl<T: Send + 'static> TenantOutcome for TenantResult<T> {
    fn failed(tenant: FleetTenant, error: TenantError) -> Self {
        TenantResult {
            tenant,
            result: Err(error),
        }
    }
    fn end(&self) -> Option<(bool, u64)> {
        Some((self.result.is_err(), 0))
    }
}

// --- check ------------------------------------------------------------------------------

/// The result of [`Fleet::check`](super::Fleet::check) for one tenant.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TenantCheck {
    /// The tenant.
    pub tenant: FleetTenant,
    /// The connection report (its `status` is healthy, degraded or failed), or why the
    /// tenant's client could not be made.
    pub connection: std::result::Result<ConnectionReport, TenantError>,
    /// The permission report, or why it could not be made.
    pub permissions: std::result::Result<PermissionReport, TenantError>,
    /// The number of devices, when they could be counted.
    pub devices_total: Option<u64>,
    /// What stopped the tenant: its client could not be made, or its connection failed.
    pub error: Option<TenantError>,
}

impl TenantOutcome for TenantCheck {
    fn failed(tenant: FleetTenant, error: TenantError) -> Self {
        TenantCheck {
            tenant,
            connection: Err(error.clone()),
            permissions: Err(error.clone()),
            devices_total: None,
            error: Some(error),
        }
    }
    fn end(&self) -> Option<(bool, u64)> {
        Some((self.error.is_some(), 0))
    }
}

impl serde::Serialize for TenantCheck {
    /// `{"tenant", "connection", "permissions", "devices": {"total"}, "error"}`; a part that
    /// could not be made is `null` (the `error` says why). The connection report's status is
    /// flattened: `connection.status` is `healthy`, `degraded` or `failed`, with
    /// `connection.reasons` or `connection.error` beside it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Devices {
            total: u64,
        }
        #[derive(serde::Serialize)]
        struct Shape<'a> {
            tenant: &'a str,
            connection: Option<serde_json::Value>,
            permissions: Option<&'a PermissionReport>,
            devices: Option<Devices>,
            error: Option<&'a TenantError>,
        }
        Shape {
            tenant: self.tenant.as_str(),
            connection: match &self.connection {
                Ok(report) => Some(flat_connection(report).map_err(serde::ser::Error::custom)?),
                Err(_) => None,
            },
            permissions: self.permissions.as_ref().ok(),
            devices: self.devices_total.map(|total| Devices { total }),
            error: self.error.as_ref(),
        }
        .serialize(s)
    }
}

/// The connection report with its status flattened: `"status": "degraded"` next to its
/// `"reasons"` (or `"error"` when failed), instead of a nested `{"status": ...}` object.
fn flat_connection(report: &ConnectionReport) -> serde_json::Result<serde_json::Value> {
    let mut value = serde_json::to_value(report)?;
    if let Some(map) = value.as_object_mut()
        && let Some(serde_json::Value::Object(status)) = map.remove("status")
    {
        for (k, v) in status {
            map.insert(k, v);
        }
    }
    Ok(value)
}

/// The validator's permission check: [`PermissionChecker`], keeping the full report.
#[derive(Default)]
struct KeepReport {
    report: Mutex<Option<std::result::Result<PermissionReport, TenantError>>>,
}

#[async_trait]
impl PermissionCheck for KeepReport {
    async fn check(
        &self,
        client: &dyn ExchangeClient,
        profile: &ConnectorProfile,
    ) -> Result<PermissionSummary> {
        let result = PermissionChecker::new(client)
            .check(&profile.permission_profile())
            .await;
        let kept = match &result {
            Ok(r) => Ok(r.clone()),
            Err(e) => Err(TenantError::from_error(e)),
        };
        if let Ok(mut slot) = self.report.lock() {
            *slot = Some(kept);
        }
        let report = result?;
        Ok(PermissionSummary::from_report(&report))
    }
}

/// Forwards to the tenant's client and keeps the last error it answered, so a failed
/// connection is reported with its classified error rather than only its text.
struct LastError {
    inner: Arc<dyn ExchangeClient>,
    last: Mutex<Option<TenantError>>,
}

impl LastError {
    fn keep<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && let Ok(mut last) = self.last.lock()
        {
            *last = Some(TenantError::from_error(e));
        }
        r
    }
}

#[async_trait]
impl ExchangeClient for LastError {
    async fn invoke_page(
        &self,
        invocation: &Invocation,
        continuation: Option<&NextLink>,
    ) -> Result<RawPage> {
        self.keep(self.inner.invoke_page(invocation, continuation).await)
    }
    async fn module_file(&self) -> Result<ModuleFile> {
        match self.inner.module_file().await {
            // Not a failure of the tenant: the client cannot list its cmdlets.
            Err(Error::Unsupported(what)) => Err(Error::Unsupported(what)),
            other => self.keep(other),
        }
    }
    async fn token_claims(&self) -> Result<Option<TokenClaims>> {
        self.keep(self.inner.token_claims().await)
    }
    fn throttle(&self) -> Option<Arc<crate::throttle::TenantThrottle>> {
        self.inner.throttle()
    }
}

pub(super) async fn check_tenant(
    tenant: FleetTenant,
    client: Arc<dyn ExchangeClient>,
    profile: ConnectorProfile,
) -> TenantCheck {
    let tap = Arc::new(LastError {
        inner: client,
        last: Mutex::new(None),
    });
    let client: Arc<dyn ExchangeClient> = tap.clone();
    let permissions = Arc::new(KeepReport::default());
    let report = ConnectionValidator::new(&*client, profile)
        .permission_check(permissions.clone())
        .validate()
        .await;
    let error = match &report.status {
        ConnectionStatus::Failed { error } => Some(
            tap.last
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_else(|| TenantError::new(TenantErrorKind::Other, error.clone())),
        ),
        _ => None,
    };
    let permissions = permissions
        .report
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .unwrap_or_else(|| {
            Err(error.clone().unwrap_or_else(|| {
                TenantError::new(TenantErrorKind::Other, "the permissions were not checked")
            }))
        });
    TenantCheck {
        tenant,
        devices_total: report.devices.as_ref().map(|d| d.total as u64),
        connection: Ok(report),
        permissions,
        error,
    }
}

// --- permissions ------------------------------------------------------------------------

/// The result of [`Fleet::permissions`](super::Fleet::permissions) for one tenant.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct TenantPermissions {
    /// The tenant.
    pub tenant: FleetTenant,
    /// The permission report, or why there is none.
    pub report: std::result::Result<PermissionReport, TenantError>,
}

impl TenantOutcome for TenantPermissions {
    fn failed(tenant: FleetTenant, error: TenantError) -> Self {
        TenantPermissions {
            tenant,
            report: Err(error),
        }
    }
    fn end(&self) -> Option<(bool, u64)> {
        Some((self.report.is_err(), 0))
    }
}

// --- inventory --------------------------------------------------------------------------

/// An item of [`Fleet::inventory`](super::Fleet::inventory): a device record of a tenant, or the end of a tenant.
// Nearly every item is a record: boxing it would cost an allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FleetItem {
    /// One device of `tenant`, with its statistics when they were asked for.
    Record {
        /// The tenant.
        tenant: FleetTenant,
        /// The device.
        record: DeviceRecord,
    },
    /// The tenant's work ended; every record of it came before.
    TenantDone(TenantSyncSummary),
}

impl TenantOutcome for FleetItem {
    fn failed(tenant: FleetTenant, error: TenantError) -> Self {
        FleetItem::TenantDone(TenantSyncSummary {
            tenant,
            outcome: SyncOutcome::Failed,
            devices: 0,
            with_statistics: 0,
            failed_mailboxes: 0,
            reason: Some(format!("nothing could be read: {}", error.summary)),
            error: Some(error),
            report: None,
        })
    }
    fn end(&self) -> Option<(bool, u64)> {
        match self {
            FleetItem::TenantDone(s) => Some((s.outcome == SyncOutcome::Failed, s.devices)),
            FleetItem::Record { .. } => None,
        }
    }
}

/// How a tenant's inventory ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncOutcome {
    /// Every device was delivered, with every requested statistics.
    Complete,
    /// Some devices were delivered, but not all (the enumeration failed part way), or some
    /// mailboxes' statistics failed.
    Partial,
    /// Nothing was delivered: the tenant failed.
    Failed,
}

impl SyncOutcome {
    /// `complete`, `partial` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncOutcome::Complete => "complete",
            SyncOutcome::Partial => "partial",
            SyncOutcome::Failed => "failed",
        }
    }
}

/// The end of one tenant's inventory.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TenantSyncSummary {
    /// The tenant.
    pub tenant: FleetTenant,
    /// Complete, partial or failed.
    pub outcome: SyncOutcome,
    /// Records delivered.
    pub devices: u64,
    /// Records delivered with statistics.
    pub with_statistics: u64,
    /// Mailboxes whose statistics failed.
    pub failed_mailboxes: usize,
    /// What stopped the tenant's enumeration, if something did.
    pub error: Option<TenantError>,
    /// Why the tenant is not complete, in one sentence (`None` when it is): the mailboxes
    /// whose statistics failed (with the first error), a stopped consumer, or the error that
    /// ended the enumeration.
    pub reason: Option<String>,
    /// The sync's report, when the enumeration ran to its end.
    pub report: Option<SyncReport>,
}

pub(super) async fn inventory_tenant(
    tenant: FleetTenant,
    client: Arc<dyn ExchangeClient>,
    tx: mpsc::Sender<FleetItem>,
    progress: Arc<ProgressState>,
    with_statistics: bool,
) -> FleetItem {
    let delivered = Arc::new(AtomicU64::new(0));
    let with_stats = AtomicU64::new(0);
    let (p, t, d) = (progress.clone(), tenant.clone(), delivered.clone());
    let sync = InventorySync::new(&*client)
        .with_statistics(with_statistics)
        .on_progress(move |_| p.report(&t, d.load(Ordering::Relaxed), false, false));
    let result = sync
        .run_async(|record| {
            delivered.fetch_add(1, Ordering::Relaxed);
            progress.devices.fetch_add(1, Ordering::Relaxed);
            if record.statistics.is_some() {
                with_stats.fetch_add(1, Ordering::Relaxed);
            }
            let tx = tx.clone();
            let tenant = tenant.clone();
            async move {
                // A closed channel means the consumer is gone; the driver stops then.
                let _ = tx.send(FleetItem::Record { tenant, record }).await;
            }
        })
        .await;
    drop(client);
    let devices = delivered.load(Ordering::Relaxed);
    let with_statistics = with_stats.load(Ordering::Relaxed);
    let summary = match result {
        Ok(report) => TenantSyncSummary {
            tenant,
            outcome: if report.is_complete() {
                SyncOutcome::Complete
            } else {
                SyncOutcome::Partial
            },
            devices,
            with_statistics,
            failed_mailboxes: report.failed_mailboxes.len(),
            error: None,
            reason: if let Some((mailbox, why)) = report.failed_mailboxes.first() {
                Some(format!(
                    "the statistics of {} mailbox(es) could not be read (first: {mailbox}: {})",
                    report.failed_mailboxes.len(),
                    why.lines().next().unwrap_or_default()
                ))
            } else if report.stopped_early {
                Some("the consumer stopped before the last record".to_string())
            } else {
                None
            },
            report: Some(report),
        },
        Err(e) => TenantSyncSummary {
            tenant,
            outcome: if devices > 0 {
                SyncOutcome::Partial
            } else {
                SyncOutcome::Failed
            },
            devices,
            with_statistics,
            failed_mailboxes: 0,
            reason: Some(format!(
                "the enumeration stopped after {devices} device(s): {}",
                TenantError::from_error(&e).summary
            )),
            error: Some(TenantError::from_error(&e)),
            report: None,
        },
    };
    FleetItem::TenantDone(summary)
}
