//! Offboarding a user's mobile devices: wipe the company data first, wait for the device to
//! acknowledge the wipe, and only then remove the partnership or block the device (a device
//! blocked or removed first never receives the wipe).
//!
//! * **Plan** ([`plan_offboarding`]): the mailbox's partnerships and the steps for each;
//!   reads only. Outlook / REST partnerships always get the account-only wipe (the only one
//!   Outlook mobile supports).
//! * **Apply** ([`apply_offboarding`], behind an [`OffboardConfirmation`] for that plan): per
//!   device, one `Clear-MobileDevice` by Guid ([`remote_wipe`]), the statistics polled until
//!   the wipe is acknowledged ([`track_wipe`]) or the timeout, and only then one
//!   `Remove-MobileDevice` by Guid or the add form of the mailbox's blocked list
//!   ([`set_device_access`]). A wipe not acknowledged in time: nothing further for that
//!   device. Outcomes come from [`crate::outcome`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{GetMobileDevice, RemoveMobileDevice};
use crate::error::{Error, Result};
use crate::models::{ClientType, MobileDevice};
use crate::outcome::CallOutcome;
use crate::types::{MailboxIdentity, MobileDeviceIdentity};

use super::access::{DeviceAccessAction, set_device_access};
use super::preflight::{exact_mailbox, require_cmdlets};
use super::wipe::{
    PollOptions, WipeConfirmation, WipeError, WipeRequest, WipeStage, remote_wipe, track_wipe,
};

/// Which wipe offboarding sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OffboardWipe {
    /// The company account only (`-AccountOnly`); the default.
    #[default]
    AccountOnly,
    /// The whole device (Outlook / REST partnerships still get the account-only wipe).
    Full,
    /// No wipe.
    None,
}

impl OffboardWipe {
    /// `account-only`, `full` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            OffboardWipe::AccountOnly => "account-only",
            OffboardWipe::Full => "full",
            OffboardWipe::None => "none",
        }
    }
}

/// What offboarding does after the wipe is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OffboardThen {
    /// `Remove-MobileDevice` by Guid; the default.
    #[default]
    Remove,
    /// Add the device id to the mailbox's blocked list (add form of `Set-CASMailbox`).
    Block,
    /// Nothing.
    None,
}

impl OffboardThen {
    /// `remove`, `block` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            OffboardThen::Remove => "remove",
            OffboardThen::Block => "block",
            OffboardThen::None => "none",
        }
    }
}

/// Settings of an offboarding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OffboardOptions {
    /// The wipe to send.
    pub wipe: OffboardWipe,
    /// The step after the acknowledgement.
    pub then: OffboardThen,
    /// How long to wait for each acknowledgement (default 10 minutes).
    pub ack_timeout: Duration,
    /// Time between two reads of the statistics (default 30 seconds).
    pub poll_interval: Duration,
}

impl Default for OffboardOptions {
    fn default() -> Self {
        OffboardOptions {
            wipe: OffboardWipe::AccountOnly,
            then: OffboardThen::Remove,
            ack_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(30),
        }
    }
}

impl OffboardOptions {
    /// The defaults with this wipe and this step after it.
    pub fn new(wipe: OffboardWipe, then: OffboardThen) -> Self {
        OffboardOptions {
            wipe,
            then,
            ..Self::default()
        }
    }

    /// Wait at most `timeout` for each acknowledgement, reading every `interval`.
    pub fn ack_timeout(mut self, timeout: Duration, interval: Duration) -> Self {
        self.ack_timeout = timeout;
        self.poll_interval = interval;
        self
    }
}

/// One partnership of the user and the steps planned for it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct OffboardDevice {
    /// `Identity` (`<mailbox>\ExchangeActiveSyncDevices\…`).
    pub identity: String,
    /// `Guid`: every step names the device by it.
    pub guid: Uuid,
    /// The mailbox.
    pub mailbox: String,
    /// `DeviceId`.
    pub device_id: Option<String>,
    /// `DeviceType`.
    pub device_type: Option<String>,
    /// `DeviceModel`.
    pub device_model: Option<String>,
    /// `ClientType` (`EAS`, `REST`, …).
    pub client_type: Option<String>,
    /// The wipe planned: `account-only`, `full` or `none`.
    pub wipe: &'static str,
    /// The step after it: `remove`, `block` or `none`.
    pub then: &'static str,
}

impl OffboardDevice {
    fn of(
        device: &MobileDevice,
        mailbox: &MailboxIdentity,
        options: &OffboardOptions,
    ) -> Option<Self> {
        let guid = device.guid.or(device.exchange_object_id)?;
        let rest = device
            .client_type
            .as_ref()
            .is_some_and(ClientType::is_rest_based);
        let wipe = match options.wipe {
            OffboardWipe::None => OffboardWipe::None,
            OffboardWipe::Full if !rest => OffboardWipe::Full,
            _ => OffboardWipe::AccountOnly,
        };
        Some(OffboardDevice {
            identity: device.identity.clone().unwrap_or_else(|| guid.to_string()),
            guid,
            mailbox: mailbox.as_str().to_string(),
            device_id: device.device_id.as_deref().map(str::to_string),
            device_type: device.device_type.clone(),
            device_model: device.device_model.clone(),
            client_type: device.client_type.as_ref().map(|c| c.as_str().to_string()),
            wipe: wipe.as_str(),
            then: options.then.as_str(),
        })
    }

    fn account_only(&self) -> bool {
        self.wipe == OffboardWipe::AccountOnly.as_str()
    }
}

/// The plan of an offboarding: the user's partnerships and the steps for each.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct OffboardPlan {
    /// The mailbox, as given.
    pub mailbox: String,
    /// Its partnerships, in the order the service listed them.
    pub devices: Vec<OffboardDevice>,
    /// The settings.
    #[serde(skip)]
    pub options: OffboardOptions,
    /// When the plan was made.
    pub made_at: DateTime<Utc>,
}

/// The cmdlets an offboarding with these options runs, with what each is for.
fn needed(options: &OffboardOptions) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("Get-MobileDevice", "list the user's devices")];
    if options.wipe != OffboardWipe::None {
        v.push(("Get-MobileDeviceStatistics", "follow the wipe"));
        v.push(("Clear-MobileDevice", "wipe the devices"));
    }
    match options.then {
        OffboardThen::Remove => v.push(("Remove-MobileDevice", "remove the partnerships")),
        OffboardThen::Block => v.push(("Set-CASMailbox", "block the devices")),
        OffboardThen::None => {}
    }
    v
}

/// List the partnerships of `mailbox` and plan the steps for each. Reads only.
///
/// Refused with [`Error::InvalidInput`] (nothing sent): a wildcard or empty mailbox, a
/// mailbox the service does not know, a mailbox without partnerships.
pub async fn plan_offboarding(
    client: &dyn ExchangeClient,
    mailbox: &str,
    options: OffboardOptions,
) -> Result<OffboardPlan> {
    let mailbox = exact_mailbox(mailbox)?;
    let devices = match client
        .get_mobile_device(GetMobileDevice::for_mailbox(mailbox.clone()))
        .await
    {
        Ok(l) => l.items,
        Err(e) if e.is_not_found() => {
            return Err(Error::invalid_input(format!(
                "no mailbox {:?} was found; nothing was sent",
                mailbox.as_str()
            )));
        }
        Err(e) => return Err(e),
    };
    let devices: Vec<OffboardDevice> = devices
        .iter()
        .filter_map(|d| OffboardDevice::of(d, &mailbox, &options))
        .collect();
    if devices.is_empty() {
        return Err(Error::invalid_input(format!(
            "the mailbox {:?} has no mobile device partnerships; nothing to offboard, nothing \
             was sent",
            mailbox.as_str()
        )));
    }
    Ok(OffboardPlan {
        mailbox: mailbox.as_str().to_string(),
        devices,
        options,
        made_at: Utc::now(),
    })
}

/// Consent to run one [`OffboardPlan`]: it names the plan's mailbox and devices, and
/// [`apply_offboarding`] refuses it for any other plan.
#[derive(Debug, PartialEq, Eq)]
pub struct OffboardConfirmation {
    mailbox: String,
    devices: Vec<Uuid>,
}

impl OffboardConfirmation {
    /// "I understand that this wipes and removes (or blocks) the devices of this plan."
    pub fn i_understand_this_wipes(plan: &OffboardPlan) -> Self {
        OffboardConfirmation {
            mailbox: plan.mailbox.clone(),
            devices: plan.devices.iter().map(|d| d.guid).collect(),
        }
    }
}

/// What became of a device's wipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OffboardWipeResult {
    /// Acknowledged by the device at or after the request.
    Acknowledged,
    /// Sent, not acknowledged in time: nothing further was done for the device.
    Pending,
    /// The service may or may not have queued it: check the statistics before retrying.
    Unknown,
    /// Refused by the service (or not sent): nothing further was done for the device.
    Refused,
    /// Not sent (no wipe planned, or the partnership is gone).
    Skipped,
}

/// What became of the step after the wipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OffboardThenResult {
    /// The partnership was removed.
    Removed,
    /// The device id was added to the mailbox's blocked list.
    Blocked,
    /// Not sent (none planned, the wipe was not acknowledged, or the partnership is gone).
    Skipped,
    /// The service may or may not have acted.
    Unknown,
    /// Refused by the service.
    Refused,
}

/// The result of one device.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct OffboardResult {
    /// The device as planned.
    pub device: OffboardDevice,
    /// Its wipe.
    pub wipe: OffboardWipeResult,
    /// The step after it.
    pub then: OffboardThenResult,
    /// When the wipe was sent (local clock).
    pub wipe_requested_at: Option<DateTime<Utc>>,
    /// When the device acknowledged it (the service's time).
    pub wipe_acknowledged_at: Option<DateTime<Utc>>,
    /// When the step after it was done (local clock).
    pub then_at: Option<DateTime<Utc>>,
    /// Why a step was skipped, refused or left unknown.
    pub note: Option<String>,
}

/// The results of an offboarding, one per planned device.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct OffboardReport {
    /// The mailbox.
    pub mailbox: String,
    /// One result per planned device, in the plan's order.
    pub results: Vec<OffboardResult>,
}

impl OffboardReport {
    /// Whether some outcome is unknown (wipe or step after it).
    pub fn any_unknown(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.wipe == OffboardWipeResult::Unknown || r.then == OffboardThenResult::Unknown)
    }

    /// Whether the service refused some step.
    pub fn any_refused(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.wipe == OffboardWipeResult::Refused || r.then == OffboardThenResult::Refused)
    }

    /// Whether some wipe was not acknowledged in time.
    pub fn any_pending(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.wipe == OffboardWipeResult::Pending)
    }

    /// Whether every planned step was done for every device.
    pub fn all_done(&self) -> bool {
        self.results.iter().all(|r| {
            (r.wipe == OffboardWipeResult::Acknowledged || r.device.wipe == "none")
                && (r.then != OffboardThenResult::Skipped || r.device.then == "none")
        })
    }
}

/// Run an [`OffboardPlan`] (see [`plan_offboarding`]). Devices are handled at the same time,
/// each in its order (wipe, acknowledgement, then the step after it).
///
/// Refused before anything is sent ([`Error::InvalidInput`]): a confirmation for another
/// plan, an account without the role a step needs (the error names it). A device gone
/// since the plan was made is skipped (its result says so).
pub async fn apply_offboarding(
    client: &dyn ExchangeClient,
    plan: &OffboardPlan,
    confirmation: OffboardConfirmation,
) -> Result<OffboardReport> {
    if confirmation != OffboardConfirmation::i_understand_this_wipes(plan) {
        return Err(Error::invalid_input(
            "the offboarding confirmation is for another plan (or the plan was edited); \
             nothing was sent",
        ));
    }
    require_cmdlets(client, &needed(&plan.options)).await?;
    let results = futures::future::join_all(
        plan.devices
            .iter()
            .map(|d| offboard_device(client, d, &plan.options)),
    )
    .await;
    Ok(OffboardReport {
        mailbox: plan.mailbox.clone(),
        results,
    })
}

fn refused_or_unknown(e: &Error) -> bool {
    e.outcome() == CallOutcome::Unknown
}

async fn offboard_device(
    client: &dyn ExchangeClient,
    device: &OffboardDevice,
    options: &OffboardOptions,
) -> OffboardResult {
    let mut r = OffboardResult {
        device: device.clone(),
        wipe: OffboardWipeResult::Skipped,
        then: OffboardThenResult::Skipped,
        wipe_requested_at: None,
        wipe_acknowledged_at: None,
        then_at: None,
        note: None,
    };
    let by_guid = MobileDeviceIdentity::from_guid(device.guid);
    // Still there? A partnership removed since the plan is left alone.
    match client
        .get_mobile_device(GetMobileDevice::for_device(by_guid.clone()))
        .await
    {
        Ok(l) if !l.items.is_empty() => {}
        Ok(_) => {
            r.note = Some("the partnership no longer exists; nothing was sent".into());
            return r;
        }
        Err(e) if e.is_not_found() => {
            r.note = Some("the partnership no longer exists; nothing was sent".into());
            return r;
        }
        Err(e) => {
            r.note = Some(format!(
                "the device could not be read; nothing was sent: {e}"
            ));
            r.wipe = if device.wipe == "none" {
                OffboardWipeResult::Skipped
            } else {
                OffboardWipeResult::Refused
            };
            return r;
        }
    }
    if device.wipe != OffboardWipe::None.as_str() {
        let request = if device.account_only() {
            WipeRequest::account_only(by_guid.clone())
        } else {
            WipeRequest::full(by_guid.clone())
        };
        let ticket = match remote_wipe(
            client,
            &request,
            WipeConfirmation::i_understand_this_erases(&by_guid),
        )
        .await
        {
            Ok(t) => t,
            Err(WipeError::OutcomeUnknown { source, .. }) => {
                r.wipe = OffboardWipeResult::Unknown;
                r.note = Some(format!(
                    "the wipe may or may not have been queued ({source}); nothing further was \
                     sent for this device: check its statistics before retrying"
                ));
                return r;
            }
            Err(WipeError::Failed { source, .. }) if source.is_not_found() => {
                r.note = Some("the partnership no longer exists; nothing was sent".into());
                return r;
            }
            Err(e) => {
                r.wipe = OffboardWipeResult::Refused;
                r.note = Some(e.to_string());
                return r;
            }
        };
        r.wipe_requested_at = Some(ticket.requested_at);
        let poll = PollOptions::new(options.poll_interval, options.ack_timeout);
        match track_wipe(client, &ticket, poll, |_, _| {}).await {
            Ok(t) if t.stage == WipeStage::Acknowledged => {
                r.wipe = OffboardWipeResult::Acknowledged;
                r.wipe_acknowledged_at = t.statistics.as_ref().and_then(|s| {
                    if ticket.tracks_account_only {
                        s.account_only_device_wipe_ack_time
                    } else {
                        s.device_wipe_ack_time
                    }
                });
            }
            Ok(_) => {
                r.wipe = OffboardWipeResult::Pending;
                r.note = Some(format!(
                    "the wipe was not acknowledged within {}s; nothing further was sent for \
                     this device",
                    options.ack_timeout.as_secs()
                ));
                return r;
            }
            Err(e) => {
                r.wipe = OffboardWipeResult::Pending;
                r.note = Some(format!(
                    "the wipe was sent but could not be followed ({e}); nothing further was \
                     sent for this device"
                ));
                return r;
            }
        }
    }
    let step = match options.then {
        OffboardThen::None => return r,
        OffboardThen::Remove => client
            .remove_mobile_device(RemoveMobileDevice::new(by_guid.clone()))
            .await
            .map(|_| OffboardThenResult::Removed),
        OffboardThen::Block => set_device_access(client, &by_guid, DeviceAccessAction::Block)
            .await
            .map(|_| OffboardThenResult::Blocked),
    };
    match step {
        Ok(done) => {
            r.then = done;
            r.then_at = Some(Utc::now());
        }
        Err(e) => {
            r.then = if refused_or_unknown(&e) {
                OffboardThenResult::Unknown
            } else {
                OffboardThenResult::Refused
            };
            r.note = Some(e.to_string());
        }
    }
    r
}
