//! EAS readiness: the Exchange ActiveSync partnerships whose protocol version (`ClientVersion`)
//! is below a minimum (Exchange Online blocks EAS clients older than 16.1 from March 2026;
//! Outlook mobile, a REST client, is not affected).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::inventory::{DeviceRecord, InventorySync, device_mailbox};
use crate::client::ExchangeClient;
use crate::error::{Error, Result};
use crate::models::ClientType;

/// An EAS protocol version (`ClientVersion`: `12.1`, `14.1`, `16.0`, `16.1`), compared as
/// numbers part by part (`12.1 < 14.1 < 16.0 < 16.1`; `16` equals `16.0`, `16.10` is above
/// `16.9`).
///
/// ```
/// use exchange_activesync::connector::EasVersion;
/// let v: EasVersion = " 14.1 ".parse().unwrap();
/// assert!(v < EasVersion::MINIMUM_2026);
/// assert_eq!("16".parse::<EasVersion>().unwrap(), "16.0".parse().unwrap());
/// assert!("16.1".parse::<EasVersion>().unwrap() >= EasVersion::MINIMUM_2026);
/// assert!("v16".parse::<EasVersion>().is_err());
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EasVersion {
    /// The numbers, zero-padded to four (so `16` and `16.0` compare equal).
    parts: [u32; 4],
    /// The text as read (trimmed); `None` for a version made from numbers.
    text: Option<String>,
}

impl EasVersion {
    /// 16.1: the oldest EAS protocol Exchange Online accepts from March 2026.
    pub const MINIMUM_2026: EasVersion = EasVersion::new(16, 1);

    /// `major.minor`.
    pub const fn new(major: u32, minor: u32) -> Self {
        EasVersion {
            parts: [major, minor, 0, 0],
            text: None,
        }
    }

    /// Parse a version: one to four dot-separated whole numbers, blanks around it ignored.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        let bad = || {
            Error::invalid_input(format!(
                "invalid EAS protocol version {t:?} (expected numbers such as 16.1 or 14.1)"
            ))
        };
        let mut parts = [0u32; 4];
        for (n, p) in t.split('.').enumerate() {
            if n == 4 || p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            parts[n] = p.parse::<u32>().map_err(|_| bad())?;
        }
        Ok(EasVersion {
            parts,
            text: Some(t.to_string()),
        })
    }
}

impl Default for EasVersion {
    /// [`EasVersion::MINIMUM_2026`].
    fn default() -> Self {
        EasVersion::MINIMUM_2026
    }
}

impl PartialEq for EasVersion {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Eq for EasVersion {}

impl PartialOrd for EasVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EasVersion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl std::hash::Hash for EasVersion {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts.hash(state);
    }
}

impl fmt::Display for EasVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.text {
            Some(t) => f.write_str(t),
            None => {
                let [a, b, c, d] = self.parts;
                match (c, d) {
                    (0, 0) => write!(f, "{a}.{b}"),
                    (_, 0) => write!(f, "{a}.{b}.{c}"),
                    _ => write!(f, "{a}.{b}.{c}.{d}"),
                }
            }
        }
    }
}

impl std::str::FromStr for EasVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        EasVersion::parse(s)
    }
}

impl TryFrom<String> for EasVersion {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        EasVersion::parse(&s)
    }
}

impl From<EasVersion> for String {
    fn from(v: EasVersion) -> String {
        v.to_string()
    }
}

/// Why a partnership is in the readiness report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReadinessVerdict {
    /// Its protocol version is below the minimum.
    Below,
    /// Its `ClientVersion` could not be read as a version (kept as text): check it by hand.
    Unparsable,
    /// It reports no `ClientVersion`: check it by hand.
    Missing,
}

impl ReadinessVerdict {
    /// `below`, `unparsable`, `missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadinessVerdict::Below => "below",
            ReadinessVerdict::Unparsable => "unparsable",
            ReadinessVerdict::Missing => "missing",
        }
    }
}

impl fmt::Display for ReadinessVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One EAS partnership below the minimum (or whose version cannot be told).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReadinessRow {
    /// The tenant, in a fleet ([`fleet_readiness`](crate::fleet::fleet_readiness)); `None` for a single tenant.
    #[serde(rename = "Tenant", default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The partnership's identity (`<mailbox>\ExchangeActiveSyncDevices\<name>`).
    pub identity: String,
    /// Its `Guid`.
    pub guid: Option<Uuid>,
    /// The owning mailbox.
    pub mailbox: Option<String>,
    /// `DeviceType`.
    pub device_type: Option<String>,
    /// `DeviceModel`.
    pub device_model: Option<String>,
    /// `DeviceOS`.
    pub device_os: Option<String>,
    /// `ClientVersion` as the service gave it.
    pub client_version: Option<String>,
    /// The last successful sync (statistics; `None`: never, or no statistics row).
    pub last_success_sync: Option<DateTime<Utc>>,
    /// Why it is listed.
    pub verdict: ReadinessVerdict,
}

/// The EAS partnerships of a tenant below a protocol version, with a summary. Built by
/// [`eas_readiness`] (or [`ReadinessReport::from_records`] from records already read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReadinessReport {
    /// The tenant, in a fleet ([`fleet_readiness`](crate::fleet::fleet_readiness)).
    #[serde(rename = "Tenant", default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The minimum version.
    pub minimum: EasVersion,
    /// The listed partnerships, in enumeration order: below the minimum, or whose version
    /// cannot be told (see [`ReadinessRow::verdict`]).
    pub rows: Vec<ReadinessRow>,
    /// Partnerships enumerated.
    pub devices_seen: usize,
    /// EAS partnerships among them (the ones judged).
    pub eas_partnerships: usize,
    /// REST-based partnerships left out (Outlook for iOS / Android: not affected).
    pub rest_excluded: usize,
    /// Other non-EAS partnerships left out (e.g. `MOWA`, mobile Outlook on the web).
    pub other_excluded: usize,
    /// EAS partnerships by `ClientVersion` (all of them, also those at or above the
    /// minimum; `unparsable: <text>` and `missing` for versions that cannot be told).
    pub by_version: BTreeMap<String, usize>,
    /// Listed partnerships by `DeviceModel` (`(none)` when it has none).
    pub by_model: BTreeMap<String, usize>,
    /// Listed partnerships without a statistics row (their last sync is unknown).
    pub without_statistics: usize,
    /// Mailboxes whose statistics could not be read, with the error text.
    pub failed_mailboxes: Vec<(String, String)>,
}

impl ReadinessReport {
    /// The report of `records` (with statistics for the last successful sync; read with
    /// [`InventorySync::with_statistics`]).
    pub fn from_records(
        minimum: EasVersion,
        records: impl IntoIterator<Item = DeviceRecord>,
    ) -> Self {
        let mut report = ReadinessReport {
            tenant: None,
            minimum,
            rows: Vec::new(),
            devices_seen: 0,
            eas_partnerships: 0,
            rest_excluded: 0,
            other_excluded: 0,
            by_version: BTreeMap::new(),
            by_model: BTreeMap::new(),
            without_statistics: 0,
            failed_mailboxes: Vec::new(),
        };
        for record in records {
            report.devices_seen += 1;
            match client_kind(&record) {
                Kind::Rest => {
                    report.rest_excluded += 1;
                    continue;
                }
                Kind::Other => {
                    report.other_excluded += 1;
                    continue;
                }
                Kind::Eas => report.eas_partnerships += 1,
            }
            let d = &record.device;
            let text = d.client_version.clone().or_else(|| {
                record
                    .statistics
                    .as_ref()
                    .and_then(|s| s.client_version.clone())
            });
            let text = text.filter(|t| !t.trim().is_empty());
            let (verdict, key) = match &text {
                None => (Some(ReadinessVerdict::Missing), "missing".to_string()),
                Some(t) => match EasVersion::parse(t) {
                    Ok(v) => (
                        (v < report.minimum).then_some(ReadinessVerdict::Below),
                        v.to_string(),
                    ),
                    Err(_) => (
                        Some(ReadinessVerdict::Unparsable),
                        format!("unparsable: {}", t.trim()),
                    ),
                },
            };
            *report.by_version.entry(key).or_default() += 1;
            let Some(verdict) = verdict else {
                continue;
            };
            if record.statistics.is_none() {
                report.without_statistics += 1;
            }
            let model = d
                .device_model
                .clone()
                .unwrap_or_else(|| "(none)".to_string());
            *report.by_model.entry(model).or_default() += 1;
            report.rows.push(ReadinessRow {
                tenant: None,
                identity: d.identity.clone().unwrap_or_default(),
                guid: d.guid.or(d.exchange_object_id),
                mailbox: device_mailbox(d),
                device_type: d.device_type.clone(),
                device_model: d.device_model.clone(),
                device_os: d.device_os.clone(),
                client_version: text,
                last_success_sync: record.statistics.as_ref().and_then(|s| s.last_success_sync),
                verdict,
            });
        }
        report
    }

    /// Tag the report and its rows with `tenant` (as [`fleet_readiness`](crate::fleet::fleet_readiness) does).
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        let tenant = tenant.into();
        for row in &mut self.rows {
            row.tenant = Some(tenant.clone());
        }
        self.tenant = Some(tenant);
        self
    }

    /// Listed partnerships whose version is below the minimum.
    pub fn below(&self) -> impl Iterator<Item = &ReadinessRow> {
        self.rows
            .iter()
            .filter(|r| r.verdict == ReadinessVerdict::Below)
    }

    /// Listed partnerships by version (the listed part of [`by_version`](Self::by_version)).
    pub fn listed_by_version(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in &self.rows {
            let key = match (r.verdict, &r.client_version) {
                (ReadinessVerdict::Missing, _) | (_, None) => "missing".to_string(),
                (ReadinessVerdict::Unparsable, Some(t)) => format!("unparsable: {}", t.trim()),
                (_, Some(t)) => EasVersion::parse(t)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| t.trim().to_string()),
            };
            *out.entry(key).or_default() += 1;
        }
        out
    }

    /// Whether every partnership's statistics were read (otherwise the last successful
    /// sync of some listed partnerships is unknown). The list of partnerships itself is
    /// complete either way.
    pub fn is_complete(&self) -> bool {
        self.failed_mailboxes.is_empty() && self.without_statistics == 0
    }
}

enum Kind {
    Eas,
    Rest,
    Other,
}

/// EAS, REST-based (Outlook) or another client type (MOWA), by the device's or its
/// statistics' `ClientType`, else by its object name (`REST§…`; two parts: EAS).
fn client_kind(record: &DeviceRecord) -> Kind {
    let typed = record.device.client_type.clone().or_else(|| {
        record
            .statistics
            .as_ref()
            .and_then(|s| s.client_type.clone())
    });
    let typed = typed.or_else(|| {
        record
            .device
            .identity
            .as_deref()
            .and_then(|i| crate::types::MobileDeviceIdentity::new(i).ok())
            .and_then(|i| i.client_type_name().map(ClientType::from))
    });
    match typed {
        Some(t) if t.is_rest_based() => Kind::Rest,
        Some(ClientType::Eas) | None => Kind::Eas,
        Some(_) => Kind::Other,
    }
}

/// The EAS partnerships of the tenant below `minimum` (and those whose version cannot be
/// told), with their last successful sync: every partnership joined with its statistics
/// through an [`InventorySync`]. REST-based partnerships (Outlook for iOS / Android) and
/// other non-EAS clients are left out and counted. Reads only.
///
/// ```
/// use exchange_activesync::connector::{EasVersion, eas_readiness};
/// use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> exchange_activesync::Result<()> {
/// let client = FakeExchangeClient::new(TenantBuilder::new().seed(5).mailboxes(10).devices(60).build());
/// let report = eas_readiness(&client, EasVersion::MINIMUM_2026).await?;
/// assert!(report.below().all(|r| r.client_version.as_deref() != Some("16.1")));
/// assert!(report.is_complete());
/// assert!(client.calls().iter().all(|c| c.cmdlet.starts_with("Get-")));
/// # Ok(()) }
/// ```
pub async fn eas_readiness(
    client: &dyn ExchangeClient,
    minimum: EasVersion,
) -> Result<ReadinessReport> {
    readiness_with(InventorySync::new(client), minimum).await
}

/// [`eas_readiness`] with a configured sync (concurrency, progress); statistics are switched
/// on.
pub async fn readiness_with(
    sync: InventorySync<'_>,
    minimum: EasVersion,
) -> Result<ReadinessReport> {
    let mut records = Vec::new();
    let report = sync.with_statistics(true).run(|r| records.push(r)).await?;
    let mut readiness = ReadinessReport::from_records(minimum, records);
    readiness.failed_mailboxes = report.failed_mailboxes;
    Ok(readiness)
}
