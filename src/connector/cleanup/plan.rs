//! The plan: which devices are stale, as of a time the caller gives.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::super::inventory::{DeviceRecord, InventorySync, device_mailbox};
use crate::client::ExchangeClient;
use crate::error::{Error, Result};

/// Which devices are stale. Built with [`StaleCriteria::older_than`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StaleCriteria {
    /// A device whose last successful sync is older than this (in seconds) qualifies.
    pub older_than_seconds: u64,
    /// Also EAS partnerships that synced for the first time but never successfully, and were
    /// created longer ago than that. (An Outlook / REST partnership is never "never synced":
    /// its sync times are blank; see `include_unknown_activity`.)
    pub include_never_synced: bool,
    /// Also REST-based partnerships (Outlook for iOS / Android: `ClientType` `REST`,
    /// `Outlook`, `UniversalOutlook`) whose sync times are blank, so their activity is
    /// unknown: judged instead by when they were last changed (or created) and planned as
    /// [`StaleReason::UnknownActivityUnchangedSince`]. Off by default: such partnerships are
    /// left out and counted in [`CleanupPlan::unknown_activity`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_unknown_activity: bool,
    /// Only these `DeviceType`s (case-insensitive; empty: any).
    pub device_types: Vec<String>,
    /// Only these `DeviceModel`s (case-insensitive; empty: any).
    pub device_models: Vec<String>,
    /// Only devices of these mailboxes (the mailbox part of the identity, case-insensitive;
    /// empty: any).
    pub mailboxes: Vec<String>,
}

impl StaleCriteria {
    /// Devices whose last successful sync is older than `age`.
    pub fn older_than(age: Duration) -> Self {
        StaleCriteria {
            older_than_seconds: age.as_secs(),
            include_never_synced: false,
            include_unknown_activity: false,
            device_types: Vec::new(),
            device_models: Vec::new(),
            mailboxes: Vec::new(),
        }
    }

    /// Also devices that never synced and were created longer ago than the age.
    pub fn include_never_synced(mut self, on: bool) -> Self {
        self.include_never_synced = on;
        self
    }

    /// Also REST-based partnerships whose activity is unknown (blank sync times), judged by
    /// when they were last changed (see the field).
    pub fn include_unknown_activity(mut self, on: bool) -> Self {
        self.include_unknown_activity = on;
        self
    }

    /// Only devices of this `DeviceType` (repeatable).
    pub fn device_type(mut self, device_type: impl Into<String>) -> Self {
        self.device_types.push(device_type.into());
        self
    }

    /// Only devices of this `DeviceModel` (repeatable).
    pub fn device_model(mut self, model: impl Into<String>) -> Self {
        self.device_models.push(model.into());
        self
    }

    /// Only devices of this mailbox (repeatable).
    pub fn mailbox(mut self, mailbox: impl Into<String>) -> Self {
        self.mailboxes.push(mailbox.into());
        self
    }

    /// The instant before which a sync counts as stale, seen from `now`.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let secs = i64::try_from(self.older_than_seconds).unwrap_or(i64::MAX);
        chrono::TimeDelta::try_seconds(secs)
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn matches_filters(&self, record: &DeviceRecord) -> bool {
        let any = |wanted: &[String], value: Option<&str>| {
            wanted.is_empty()
                || value.is_some_and(|v| wanted.iter().any(|w| w.trim().eq_ignore_ascii_case(v)))
        };
        any(&self.device_types, record.device.device_type.as_deref())
            && any(&self.device_models, record.device.device_model.as_deref())
            && any(&self.mailboxes, device_mailbox(&record.device).as_deref())
    }

    /// How `record` is judged as of `cutoff`.
    fn judge(&self, record: &DeviceRecord, cutoff: DateTime<Utc>) -> Judgement {
        let Some(stats) = record.statistics.as_ref() else {
            return Judgement::NoStatistics;
        };
        if !self.matches_filters(record) {
            return Judgement::Fresh;
        }
        let blank = stats.last_success_sync.is_none()
            && stats.last_sync_attempt_time.is_none()
            && stats.first_sync_time.is_none();
        match stats.last_success_sync {
            Some(last) if last < cutoff => Judgement::Stale(StaleReason::NoSyncSince { cutoff }),
            Some(_) => Judgement::Fresh,
            // Outlook / REST partnerships report no sync times at all: their activity is
            // unknown, not "never synced".
            None if blank && is_rest_based(record) => {
                if !self.include_unknown_activity {
                    return Judgement::UnknownActivity;
                }
                let changed = changed(record);
                match changed {
                    Some(c) if c < cutoff => {
                        Judgement::Stale(StaleReason::UnknownActivityUnchangedSince {
                            cutoff,
                            changed: c,
                        })
                    }
                    _ => Judgement::Fresh,
                }
            }
            // An EAS partnership that synced for the first time but never successfully.
            None if self.include_never_synced
                && stats.first_sync_time.is_some()
                && !is_rest_based(record) =>
            {
                match created(record) {
                    Some(c) if c < cutoff => {
                        Judgement::Stale(StaleReason::NeverSyncedCreatedBefore { cutoff })
                    }
                    _ => Judgement::Fresh,
                }
            }
            None => Judgement::Fresh,
        }
    }
}

/// How one device is judged.
enum Judgement {
    /// A candidate, for this reason.
    Stale(StaleReason),
    /// Not a candidate.
    Fresh,
    /// No statistics row: its last sync is unknown.
    NoStatistics,
    /// A REST-based partnership with blank sync times, left out.
    UnknownActivity,
}

/// Whether the partnership is REST-based (Outlook for iOS / Android): by the device's or its
/// statistics' `ClientType`, else by its object name (`REST§…`, `Outlook§…`).
fn is_rest_based(record: &DeviceRecord) -> bool {
    let typed = record.device.client_type.as_ref().or(record
        .statistics
        .as_ref()
        .and_then(|s| s.client_type.as_ref()));
    match typed {
        Some(t) => t.is_rest_based(),
        None => record
            .device
            .identity
            .as_deref()
            .and_then(|i| crate::types::MobileDeviceIdentity::new(i).ok())
            .and_then(|i| i.client_type())
            .is_some_and(|t| t.is_rest_based()),
    }
}

/// When the partnership last changed (else when it was created).
fn changed(record: &DeviceRecord) -> Option<DateTime<Utc>> {
    let d = &record.device;
    d.when_changed_utc
        .or(d.when_changed)
        .or_else(|| created(record))
}

fn created(record: &DeviceRecord) -> Option<DateTime<Utc>> {
    let d = &record.device;
    d.when_created_utc.or(d.when_created)
}

/// Why a device is a candidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StaleReason {
    /// Its last successful sync is before `cutoff`.
    NoSyncSince {
        /// The cutoff.
        cutoff: DateTime<Utc>,
    },
    /// An EAS partnership that never synced successfully and was created before `cutoff`.
    NeverSyncedCreatedBefore {
        /// The cutoff.
        cutoff: DateTime<Utc>,
    },
    /// A REST-based (Outlook) partnership whose activity is unknown (blank sync times),
    /// planned because it has not changed since before `cutoff` (only with
    /// [`StaleCriteria::include_unknown_activity`]).
    UnknownActivityUnchangedSince {
        /// The cutoff.
        cutoff: DateTime<Utc>,
        /// When it last changed (or was created).
        changed: DateTime<Utc>,
    },
}

impl std::fmt::Display for StaleReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StaleReason::NoSyncSince { cutoff } => {
                write!(f, "no successful sync since {}", cutoff.to_rfc3339())
            }
            StaleReason::NeverSyncedCreatedBefore { cutoff } => {
                write!(f, "never synced, created before {}", cutoff.to_rfc3339())
            }
            StaleReason::UnknownActivityUnchangedSince { cutoff, changed } => write!(
                f,
                "activity unknown (Outlook, no sync times); unchanged since {}, before {}",
                changed.to_rfc3339(),
                cutoff.to_rfc3339()
            ),
        }
    }
}

/// One device the plan would remove.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StaleCandidate {
    /// The device's identity (`<mailbox>\ExchangeActiveSyncDevices\<name>`), for display.
    pub identity: String,
    /// The device's `Guid`: the only identity the removal is sent with. A candidate without
    /// one is never removed.
    pub guid: Option<Uuid>,
    /// The owning mailbox.
    pub mailbox: Option<String>,
    /// `DeviceType`.
    pub device_type: Option<String>,
    /// `DeviceModel`.
    pub device_model: Option<String>,
    /// `LastSuccessSync` when the plan was made (`None`: never synced).
    pub last_success_sync: Option<DateTime<Utc>>,
    /// When the partnership was created.
    pub created: Option<DateTime<Utc>>,
    /// Why it qualifies.
    pub reason: StaleReason,
}

/// The devices a cleanup would remove, as listed at `created_at`. Show it, store it (serde),
/// review it, then pass it to [`apply_cleanup`](crate::connector::apply_cleanup) with a [`CleanupConfirmation`](crate::connector::CleanupConfirmation) for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CleanupPlan {
    /// Fingerprint of the rest of the plan (SHA-1, hex): a confirmation binds to it, and a
    /// plan edited after it was made is refused.
    pub id: String,
    /// When the inventory was read (the `now` the cutoff was computed from).
    pub created_at: DateTime<Utc>,
    /// The criteria.
    pub criteria: StaleCriteria,
    /// The cutoff: syncs before it are stale.
    pub cutoff: DateTime<Utc>,
    /// The candidates, in enumeration order.
    pub candidates: Vec<StaleCandidate>,
    /// Devices enumerated.
    pub devices_seen: usize,
    /// Devices left out because no statistics row could be read for them (their last sync
    /// is unknown, so they are never candidates).
    pub without_statistics: usize,
    /// Mailboxes whose statistics could not be read, with the error text.
    pub failed_mailboxes: Vec<(String, String)>,
    /// REST-based (Outlook) partnerships left out because their activity is unknown (blank
    /// sync times; see [`StaleCriteria::include_unknown_activity`]).
    #[serde(default)]
    pub unknown_activity: usize,
}

impl CleanupPlan {
    /// Make a plan from records already read (e.g. by an [`InventorySync`] with statistics),
    /// judged as of `now`.
    pub fn from_records(
        criteria: StaleCriteria,
        now: DateTime<Utc>,
        records: impl IntoIterator<Item = DeviceRecord>,
    ) -> Self {
        let cutoff = criteria.cutoff(now);
        let mut plan = CleanupPlan {
            id: String::new(),
            created_at: now,
            cutoff,
            candidates: Vec::new(),
            devices_seen: 0,
            without_statistics: 0,
            failed_mailboxes: Vec::new(),
            unknown_activity: 0,
            criteria,
        };
        for record in records {
            plan.devices_seen += 1;
            let reason = match plan.criteria.judge(&record, cutoff) {
                Judgement::NoStatistics => {
                    plan.without_statistics += 1;
                    continue;
                }
                Judgement::UnknownActivity => {
                    plan.unknown_activity += 1;
                    continue;
                }
                Judgement::Fresh => None,
                Judgement::Stale(reason) => Some(reason),
            };
            if let Some(reason) = reason {
                let d = &record.device;
                plan.candidates.push(StaleCandidate {
                    identity: d.identity.clone().unwrap_or_default(),
                    guid: d.guid.or(d.exchange_object_id),
                    mailbox: device_mailbox(d),
                    device_type: d.device_type.clone(),
                    device_model: d.device_model.clone(),
                    last_success_sync: record.statistics.as_ref().and_then(|s| s.last_success_sync),
                    created: created(&record),
                    reason,
                });
            }
        }
        plan.id = plan.fingerprint();
        plan
    }

    /// The fingerprint of the plan's content (everything but `id`).
    pub fn fingerprint(&self) -> String {
        use sha1::{Digest, Sha1};
        #[derive(Serialize)]
        struct Content<'a> {
            created_at: &'a DateTime<Utc>,
            criteria: &'a StaleCriteria,
            cutoff: &'a DateTime<Utc>,
            candidates: &'a [StaleCandidate],
            devices_seen: usize,
            without_statistics: usize,
            failed_mailboxes: &'a [(String, String)],
            #[serde(skip_serializing_if = "is_zero")]
            unknown_activity: usize,
        }
        fn is_zero(n: &usize) -> bool {
            *n == 0
        }
        let bytes = serde_json::to_vec(&Content {
            created_at: &self.created_at,
            criteria: &self.criteria,
            cutoff: &self.cutoff,
            candidates: &self.candidates,
            devices_seen: self.devices_seen,
            without_statistics: self.without_statistics,
            failed_mailboxes: &self.failed_mailboxes,
            unknown_activity: self.unknown_activity,
        })
        .unwrap_or_default();
        Sha1::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether every device's statistics were read (otherwise some stale devices may be
    /// missing from the plan).
    pub fn is_complete(&self) -> bool {
        self.failed_mailboxes.is_empty() && self.without_statistics == 0
    }
}

/// List the stale devices of the tenant as of `now` (pass `Utc::now()` for the real
/// service): every device joined with its statistics through an [`InventorySync`].
/// Nothing is changed.
///
/// "Now" always comes from the caller, never from the wall clock here. Against a test
/// tenant (`testing::TenantBuilder`, feature `test-util`), whose clock is fixed at
/// 2024-06-01 by default, pass the tenant's clock (`fake.tenant().now()`), or build the
/// tenant with `.now(Utc::now())` and pass `Utc::now()`: a default tenant judged as of
/// today's date would be stale all through.
pub async fn plan_stale_cleanup(
    client: &dyn ExchangeClient,
    criteria: StaleCriteria,
    now: DateTime<Utc>,
) -> Result<CleanupPlan> {
    plan_with(InventorySync::new(client), criteria, now).await
}

/// [`plan_stale_cleanup`] with a configured sync (concurrency, limiter, progress); statistics
/// are switched on.
pub async fn plan_with(
    sync: InventorySync<'_>,
    criteria: StaleCriteria,
    now: DateTime<Utc>,
) -> Result<CleanupPlan> {
    let mut records = Vec::new();
    let report = sync.with_statistics(true).run(|r| records.push(r)).await?;
    let mut plan = CleanupPlan::from_records(criteria, now, records);
    plan.failed_mailboxes = report.failed_mailboxes;
    plan.id = plan.fingerprint();
    Ok(plan)
}

/// Parse an age such as `90d`, `12w`, `36h`, `45m` or `30s` (a positive whole number and
/// one unit: `s`, `m`, `h`, `d`, `w`).
pub fn parse_age(text: &str) -> Result<Duration> {
    let t = text.trim();
    let bad = |why: &str| {
        Error::invalid_input(format!(
            "invalid age {t:?}: {why} (expected e.g. 90d, 12w, 36h)"
        ))
    };
    let split = t
        .char_indices()
        .last()
        .map(|(i, _)| i)
        .ok_or_else(|| bad("empty"))?;
    let (number, unit) = t.split_at(split);
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad("the unit must be one of s, m, h, d, w")),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected a whole number before the unit"));
    }
    let n: u64 = number.parse().map_err(|_| bad("number too large"))?;
    if n == 0 {
        return Err(bad("must be greater than zero"));
    }
    let secs = n.checked_mul(unit_secs).ok_or_else(|| bad("too large"))?;
    // Keep it within what a date can subtract.
    if secs > 100 * 366 * 86_400 {
        return Err(bad("longer than a hundred years"));
    }
    Ok(Duration::from_secs(secs))
}
