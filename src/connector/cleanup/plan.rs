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
    /// Also devices that never synced and were created longer ago than that.
    pub include_never_synced: bool,
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

    /// Why `record` qualifies, if it does.
    fn qualifies(&self, record: &DeviceRecord, cutoff: DateTime<Utc>) -> Option<StaleReason> {
        let stats = record.statistics.as_ref()?;
        if !self.matches_filters(record) {
            return None;
        }
        match stats.last_success_sync {
            Some(last) if last < cutoff => Some(StaleReason::NoSyncSince { cutoff }),
            Some(_) => None,
            None if self.include_never_synced => created(record)
                .filter(|c| *c < cutoff)
                .map(|_| StaleReason::NeverSyncedCreatedBefore { cutoff }),
            None => None,
        }
    }
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
    /// It never synced and was created before `cutoff`.
    NeverSyncedCreatedBefore {
        /// The cutoff.
        cutoff: DateTime<Utc>,
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
/// review it, then pass it to [`apply_cleanup`] with a [`CleanupConfirmation`] for it.
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
            criteria,
        };
        for record in records {
            plan.devices_seen += 1;
            if record.statistics.is_none() {
                plan.without_statistics += 1;
                continue;
            }
            if let Some(reason) = plan.criteria.qualifies(&record, cutoff) {
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
        }
        let bytes = serde_json::to_vec(&Content {
            created_at: &self.created_at,
            criteria: &self.criteria,
            cutoff: &self.cutoff,
            candidates: &self.candidates,
            devices_seen: self.devices_seen,
            without_statistics: self.without_statistics,
            failed_mailboxes: &self.failed_mailboxes,
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
