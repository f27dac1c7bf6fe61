//! The quarantine inbox: list the partnerships in state `Quarantined` ([`list_quarantined`])
//! and release them, allowed or blocked, through their mailboxes' device id lists
//! ([`plan_quarantine`] / [`apply_quarantine`]).
//!
//! A release is a personal exemption (the mailbox's `ActiveSyncAllowedDeviceIDs` or
//! `ActiveSyncBlockedDeviceIDs`), which Exchange evaluates before the device access rules and
//! the organization default: the device becomes `Allowed` (or `Blocked`) / `Individual`. Each
//! mailbox gets ONE `Set-CASMailbox` with the add/remove form: its devices' ids added to one
//! list and removed from the other; no list is ever replaced, so other entries stay.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{GetMobileDevice, ListChange, SetCasMailbox};
use crate::error::{Error, Result};
use crate::models::{DeviceAccessState, DeviceAccessStateReason, MobileDevice};
use crate::outcome::CallOutcome;
use crate::types::{MailboxIdentity, MobileDeviceIdentity};

use super::inventory::device_mailbox;
use super::preflight::require_cmdlets;

/// A partnership in quarantine.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct QuarantinedDevice {
    /// `Identity`.
    pub identity: String,
    /// `Guid`.
    pub guid: Uuid,
    /// The mailbox (from the identity).
    pub mailbox: String,
    /// `DeviceId` (the value the lists hold).
    pub device_id: String,
    /// `DeviceModel`.
    pub device_model: Option<String>,
    /// `DeviceOS`.
    pub device_os: Option<String>,
    /// `DeviceType`.
    pub device_type: Option<String>,
    /// `FirstSyncTime`.
    pub first_sync_time: Option<DateTime<Utc>>,
    /// Why it is quarantined: `default access level`, `rule <name>`, or the service's
    /// `DeviceAccessStateReason`.
    pub reason: String,
}

impl QuarantinedDevice {
    fn of(d: &MobileDevice) -> Option<Self> {
        if d.device_access_state != Some(DeviceAccessState::Quarantined) {
            return None;
        }
        let guid = d.guid.or(d.exchange_object_id)?;
        let identity = d.identity.clone()?;
        let reason = match &d.device_access_state_reason {
            Some(DeviceAccessStateReason::Global) => "default access level".to_string(),
            Some(DeviceAccessStateReason::DeviceRule) => format!(
                "rule {}",
                d.device_access_control_rule
                    .as_deref()
                    .unwrap_or("(unnamed)")
            ),
            Some(other) => other.as_str().to_string(),
            None => "unknown".to_string(),
        };
        Some(QuarantinedDevice {
            mailbox: device_mailbox(d).unwrap_or_default(),
            identity,
            guid,
            device_id: d.device_id.as_deref().unwrap_or_default().to_string(),
            device_model: d.device_model.clone(),
            device_os: d.device_os.clone(),
            device_type: d.device_type.clone(),
            first_sync_time: d.first_sync_time,
            reason,
        })
    }
}

/// Every partnership of the tenant in state `Quarantined`, with why. Reads only.
pub async fn list_quarantined(client: &dyn ExchangeClient) -> Result<Vec<QuarantinedDevice>> {
    let devices = client.get_mobile_device(GetMobileDevice::new()).await?;
    Ok(devices
        .items
        .iter()
        .filter_map(QuarantinedDevice::of)
        .collect())
}

/// Release quarantined devices allowed or blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum QuarantineDecision {
    /// Add to the allowed list, remove from the blocked list.
    Allow,
    /// Add to the blocked list, remove from the allowed list.
    Block,
}

impl QuarantineDecision {
    /// `allow` or `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineDecision::Allow => "allow",
            QuarantineDecision::Block => "block",
        }
    }

    /// The one `Set-CASMailbox` for these device ids of `mailbox` (add/remove form).
    pub fn to_request(self, mailbox: MailboxIdentity, device_ids: &[String]) -> SetCasMailbox {
        let ids = || device_ids.iter().cloned();
        let none = Vec::<String>::new;
        let (allowed, blocked) = match self {
            QuarantineDecision::Allow => (
                ListChange::add_remove(ids(), none()),
                ListChange::add_remove(none(), ids()),
            ),
            QuarantineDecision::Block => (
                ListChange::add_remove(none(), ids()),
                ListChange::add_remove(ids(), none()),
            ),
        };
        SetCasMailbox::new(mailbox)
            .allowed_device_ids(allowed)
            .blocked_device_ids(blocked)
    }
}

/// Which quarantined devices to release.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuarantineSelection {
    /// Exactly this device (it must be quarantined).
    Identity(MobileDeviceIdentity),
    /// Every quarantined device, optionally only those of this `DeviceModel` and / or
    /// `DeviceType` (exact, case-insensitive).
    All {
        /// `DeviceModel`.
        model: Option<String>,
        /// `DeviceType`.
        device_type: Option<String>,
    },
}

/// The devices of one mailbox to release with its one `Set-CASMailbox`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct QuarantineMailbox {
    /// The mailbox.
    pub mailbox: String,
    /// Its devices.
    pub devices: Vec<QuarantinedDevice>,
}

/// A reviewed release: the decision and the devices grouped by mailbox.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct QuarantinePlan {
    /// Allow or block.
    pub decision: QuarantineDecision,
    /// One entry per mailbox, one `Set-CASMailbox` each.
    pub mailboxes: Vec<QuarantineMailbox>,
}

impl QuarantinePlan {
    /// Every planned device.
    pub fn devices(&self) -> impl Iterator<Item = &QuarantinedDevice> {
        self.mailboxes.iter().flat_map(|m| m.devices.iter())
    }
}

/// Plan a release. Reads only. Refused ([`Error::InvalidInput`]): an identity no device
/// has, or a device that is not quarantined.
pub async fn plan_quarantine(
    client: &dyn ExchangeClient,
    selection: &QuarantineSelection,
    decision: QuarantineDecision,
) -> Result<QuarantinePlan> {
    let devices = match selection {
        QuarantineSelection::Identity(identity) => {
            let found = match client
                .get_mobile_device(GetMobileDevice::for_device(identity.clone()))
                .await
            {
                Ok(l) => l.items,
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(e),
            };
            let Some(d) = found.first() else {
                return Err(Error::invalid_input(format!(
                    "no device has the identity {:?}; nothing was sent",
                    identity.as_str()
                )));
            };
            match QuarantinedDevice::of(d) {
                Some(q) if !q.device_id.is_empty() => vec![q],
                Some(_) => {
                    return Err(Error::invalid_input(format!(
                        "the device {:?} has no DeviceId; nothing was sent",
                        identity.as_str()
                    )));
                }
                None => {
                    return Err(Error::invalid_input(format!(
                        "the device {:?} is not quarantined (it is {}); nothing was sent",
                        identity.as_str(),
                        d.device_access_state
                            .as_ref()
                            .map(|s| s.as_str())
                            .unwrap_or("of unknown state")
                    )));
                }
            }
        }
        QuarantineSelection::All { model, device_type } => {
            let matches = |want: &Option<String>, have: &Option<String>| {
                want.as_ref().is_none_or(|w| {
                    have.as_ref()
                        .is_some_and(|h| h.trim().eq_ignore_ascii_case(w.trim()))
                })
            };
            list_quarantined(client)
                .await?
                .into_iter()
                .filter(|d| {
                    matches(model, &d.device_model)
                        && matches(device_type, &d.device_type)
                        && !d.device_id.is_empty()
                })
                .collect()
        }
    };
    let mut mailboxes: Vec<QuarantineMailbox> = Vec::new();
    for d in devices {
        match mailboxes
            .iter_mut()
            .find(|m| m.mailbox.eq_ignore_ascii_case(&d.mailbox))
        {
            Some(m) => m.devices.push(d),
            None => mailboxes.push(QuarantineMailbox {
                mailbox: d.mailbox.clone(),
                devices: vec![d],
            }),
        }
    }
    Ok(QuarantinePlan {
        decision,
        mailboxes,
    })
}

/// Consent to run one [`QuarantinePlan`]; [`apply_quarantine`] refuses it for another.
#[derive(Debug, PartialEq, Eq)]
pub struct QuarantineConfirmation {
    decision: QuarantineDecision,
    devices: Vec<Uuid>,
}

impl QuarantineConfirmation {
    /// "I release these devices as the plan says."
    pub fn i_release_these_devices(plan: &QuarantinePlan) -> Self {
        QuarantineConfirmation {
            decision: plan.decision,
            devices: plan.devices().map(|d| d.guid).collect(),
        }
    }
}

/// What became of one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum QuarantineOutcome {
    /// Its mailbox's `Set-CASMailbox` succeeded.
    Done,
    /// Not sent: the device is gone or no longer quarantined.
    Skipped,
    /// The service may or may not have changed the lists.
    Unknown,
    /// Refused by the service.
    Refused,
}

/// The result of one device.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct QuarantineResult {
    /// The device as planned.
    pub device: QuarantinedDevice,
    /// What became of it.
    pub outcome: QuarantineOutcome,
    /// `DeviceAccessState` after (re-read; `None` when it could not be read).
    pub access_state_after: Option<String>,
    /// `DeviceAccessStateReason` after.
    pub access_state_reason_after: Option<String>,
    /// Why it was skipped, refused or left unknown.
    pub note: Option<String>,
}

/// The results of a release.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct QuarantineReport {
    /// Allow or block.
    pub decision: QuarantineDecision,
    /// One result per planned device.
    pub results: Vec<QuarantineResult>,
    /// `Set-CASMailbox` calls sent.
    pub mailboxes_changed: usize,
}

impl QuarantineReport {
    /// Whether some result has this outcome.
    pub fn any(&self, outcome: QuarantineOutcome) -> bool {
        self.results.iter().any(|r| r.outcome == outcome)
    }
}

async fn read_by_guid(client: &dyn ExchangeClient, guid: Uuid) -> Result<Option<MobileDevice>> {
    match client
        .get_mobile_device(GetMobileDevice::for_device(
            MobileDeviceIdentity::from_guid(guid),
        ))
        .await
    {
        Ok(l) => Ok(l.items.into_iter().next()),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Run a [`QuarantinePlan`]: per mailbox, re-read its devices (a device gone or no longer
/// quarantined is skipped), send ONE `Set-CASMailbox` with the add/remove form for the rest,
/// then re-read them. Refused before anything is sent ([`Error::InvalidInput`]): a
/// confirmation for another plan, an account without the role `Set-CASMailbox` needs.
pub async fn apply_quarantine(
    client: &dyn ExchangeClient,
    plan: &QuarantinePlan,
    confirmation: QuarantineConfirmation,
) -> Result<QuarantineReport> {
    if confirmation != QuarantineConfirmation::i_release_these_devices(plan) {
        return Err(Error::invalid_input(
            "the quarantine confirmation is for another plan; nothing was sent",
        ));
    }
    require_cmdlets(
        client,
        &[
            ("Get-MobileDevice", "read the devices"),
            ("Set-CASMailbox", "change the mailboxes' device lists"),
        ],
    )
    .await?;
    let mut report = QuarantineReport {
        decision: plan.decision,
        results: Vec::new(),
        mailboxes_changed: 0,
    };
    for group in &plan.mailboxes {
        let mut send = Vec::new();
        for d in &group.devices {
            let skip = |note: String| QuarantineResult {
                device: d.clone(),
                outcome: QuarantineOutcome::Skipped,
                access_state_after: None,
                access_state_reason_after: None,
                note: Some(note),
            };
            match read_by_guid(client, d.guid).await {
                Ok(Some(now))
                    if now.device_access_state == Some(DeviceAccessState::Quarantined) =>
                {
                    send.push(d)
                }
                Ok(Some(now)) => report.results.push(skip(format!(
                    "no longer quarantined (it is {}); nothing was sent for it",
                    now.device_access_state
                        .as_ref()
                        .map(|s| s.as_str())
                        .unwrap_or("of unknown state")
                ))),
                Ok(None) => report.results.push(skip(
                    "the partnership no longer exists; nothing was sent for it".into(),
                )),
                Err(e) => report.results.push(QuarantineResult {
                    outcome: QuarantineOutcome::Refused,
                    ..skip(format!(
                        "the device could not be read; nothing was sent: {e}"
                    ))
                }),
            }
        }
        if send.is_empty() {
            continue;
        }
        let mailbox = match MailboxIdentity::new(&group.mailbox) {
            Ok(m) => m,
            Err(e) => {
                for d in send {
                    report.results.push(QuarantineResult {
                        device: d.clone(),
                        outcome: QuarantineOutcome::Refused,
                        access_state_after: None,
                        access_state_reason_after: None,
                        note: Some(format!("the mailbox {:?}: {e}", group.mailbox)),
                    });
                }
                continue;
            }
        };
        let ids: Vec<String> = send.iter().map(|d| d.device_id.clone()).collect();
        let answer = client
            .set_cas_mailbox(plan.decision.to_request(mailbox, &ids))
            .await;
        report.mailboxes_changed += 1;
        for d in send {
            let mut r = QuarantineResult {
                device: d.clone(),
                outcome: QuarantineOutcome::Done,
                access_state_after: None,
                access_state_reason_after: None,
                note: None,
            };
            match &answer {
                Ok(_) => match read_by_guid(client, d.guid).await {
                    Ok(Some(after)) => {
                        r.access_state_after =
                            after.device_access_state.map(|s| s.as_str().to_string());
                        r.access_state_reason_after = after
                            .device_access_state_reason
                            .map(|s| s.as_str().to_string());
                    }
                    Ok(None) => r.note = Some("gone after the change".into()),
                    Err(e) => {
                        r.note = Some(format!("changed, but the device could not be re-read: {e}"))
                    }
                },
                Err(e) => {
                    r.outcome = if e.outcome() == CallOutcome::Unknown {
                        QuarantineOutcome::Unknown
                    } else {
                        QuarantineOutcome::Refused
                    };
                    r.note = Some(e.to_string());
                }
            }
            report.results.push(r);
        }
    }
    Ok(report)
}
