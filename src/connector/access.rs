//! Access: allow, block or quarantine a device family (device access rules), the
//! organization's default access level, and ONE device's access through its mailbox's
//! ActiveSync allowed / blocked device id lists (`Set-CASMailbox`), changed with the add/remove
//! form so that other devices' entries are untouched.

use std::fmt;

use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{
    GetActiveSyncDeviceAccessRule, GetMobileDevice, ListChange, NewActiveSyncDeviceAccessRule,
    Outcome, SetActiveSyncDeviceAccessRule, SetActiveSyncOrganizationSettings, SetCasMailbox,
};
use crate::error::{Error, Result};
use crate::models::{
    ActiveSyncDeviceAccessRule, DeviceAccessCharacteristic, DeviceAccessLevel, DeviceAccessState,
    DeviceAccessStateReason, MobileDevice,
};
use crate::types::{AccessRuleIdentity, DeviceId, MailboxIdentity, MobileDeviceIdentity};

/// A family of devices an access rule can match (exact value, no wildcards).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceFamily {
    /// `DeviceType`, e.g. `iPhone`.
    DeviceType(String),
    /// `DeviceModel`, e.g. `SM-G991B`.
    DeviceModel(String),
    /// `DeviceOS`, e.g. `iOS 17.4`.
    DeviceOs(String),
    /// `UserAgent`.
    UserAgent(String),
}

impl DeviceFamily {
    /// The rule's query string and characteristic.
    pub fn rule_parts(&self) -> (&str, DeviceAccessCharacteristic) {
        match self {
            DeviceFamily::DeviceType(s) => (s, DeviceAccessCharacteristic::DeviceType),
            DeviceFamily::DeviceModel(s) => (s, DeviceAccessCharacteristic::DeviceModel),
            DeviceFamily::DeviceOs(s) => (s, DeviceAccessCharacteristic::DeviceOS),
            DeviceFamily::UserAgent(s) => (s, DeviceAccessCharacteristic::UserAgent),
        }
    }

    /// The identity of the rule for this family: `<QueryString> (<Characteristic>)`.
    pub fn rule_identity(&self) -> Result<AccessRuleIdentity> {
        let (q, c) = self.rule_parts();
        Ok(AccessRuleIdentity::for_rule(q, &c)?)
    }
}

/// What [`set_family_access`] did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FamilyAccessChange {
    /// A new rule was created (the service's answer, when it sent one).
    Created(Option<Box<ActiveSyncDeviceAccessRule>>),
    /// The existing rule got the new level.
    Updated {
        /// The rule.
        identity: AccessRuleIdentity,
        /// Its level before.
        previous: Option<DeviceAccessLevel>,
    },
    /// The rule already had this level; nothing was sent.
    Unchanged {
        /// The rule.
        identity: AccessRuleIdentity,
    },
}

/// Allow, block or quarantine a device family: create the rule
/// `<QueryString> (<Characteristic>)` or update its level. Idempotent: a rule that already has
/// the level is left alone; a rule created concurrently (the New- call answering "already
/// exists") is updated instead.
///
/// ```
/// use exchange_activesync::connector::{DeviceFamily, FamilyAccessChange, set_family_access};
/// use exchange_activesync::models::DeviceAccessLevel;
/// use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> exchange_activesync::Result<()> {
/// let client = FakeExchangeClient::new(TenantBuilder::new().seed(1).build());
/// let family = DeviceFamily::DeviceModel("ContosoPhone 3".into());
/// let first = set_family_access(&client, &family, DeviceAccessLevel::Block).await?;
/// assert!(matches!(first, FamilyAccessChange::Created(_)));
/// // Idempotent: the same level again sends nothing.
/// let again = set_family_access(&client, &family, DeviceAccessLevel::Block).await?;
/// assert!(matches!(again, FamilyAccessChange::Unchanged { .. }));
/// let allowed = set_family_access(&client, &family, DeviceAccessLevel::Allow).await?;
/// assert!(matches!(
///     allowed,
///     FamilyAccessChange::Updated { previous: Some(DeviceAccessLevel::Block), .. }
/// ));
/// # Ok(()) }
/// ```
pub async fn set_family_access(
    client: &dyn ExchangeClient,
    family: &DeviceFamily,
    level: DeviceAccessLevel,
) -> Result<FamilyAccessChange> {
    let identity = family.rule_identity()?;
    let existing = match client
        .get_active_sync_device_access_rule(
            GetActiveSyncDeviceAccessRule::new().identity(identity.clone()),
        )
        .await
    {
        Ok(l) => l.items.into_iter().next(),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    let update = |previous: Option<DeviceAccessLevel>| {
        let identity = identity.clone();
        let level = level.clone();
        async move {
            client
                .set_active_sync_device_access_rule(SetActiveSyncDeviceAccessRule::new(
                    identity.clone(),
                    level,
                ))
                .await?;
            Ok(FamilyAccessChange::Updated { identity, previous })
        }
    };
    match existing {
        Some(rule) if rule.access_level.as_ref() == Some(&level) => {
            Ok(FamilyAccessChange::Unchanged { identity })
        }
        Some(rule) => update(rule.access_level).await,
        None => {
            let (q, c) = family.rule_parts();
            let request = NewActiveSyncDeviceAccessRule::new(q, c, level.clone())?;
            match client.new_active_sync_device_access_rule(request).await {
                Ok(r) => Ok(FamilyAccessChange::Created(r.value.map(Box::new))),
                Err(e) if e.is_already_exists() => update(None).await,
                Err(e) => Err(e),
            }
        }
    }
}

/// Set the organization's default access level (devices no rule or list covers).
pub async fn set_default_access_level(
    client: &dyn ExchangeClient,
    level: DeviceAccessLevel,
) -> Result<Outcome> {
    client
        .set_active_sync_organization_settings(
            SetActiveSyncOrganizationSettings::new().default_access_level(level),
        )
        .await
}

/// What to do with one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceAccessAction {
    /// Add the device id to the allowed list and remove it from the blocked list.
    Allow,
    /// Add the device id to the blocked list and remove it from the allowed list.
    Block,
    /// Remove the device id from both lists: the device goes back to what the access rules or
    /// the organization default give.
    Reset,
}

impl DeviceAccessAction {
    /// `allow`, `block` or `reset`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceAccessAction::Allow => "allow",
            DeviceAccessAction::Block => "block",
            DeviceAccessAction::Reset => "reset",
        }
    }

    /// The one `Set-CASMailbox` this action sends for `device_id` of `mailbox` (text:
    /// trimmed, then checked as a [`DeviceId`]; see [`request`](Self::request)).
    pub fn to_request(self, mailbox: MailboxIdentity, device_id: &str) -> Result<SetCasMailbox> {
        let id = DeviceId::new(device_id.trim()).map_err(|e| {
            Error::invalid_input(format!(
                "the device has no usable DeviceId ({e}); nothing was sent"
            ))
        })?;
        Ok(self.request(mailbox, &id))
    }

    /// The one `Set-CASMailbox` this action sends for `device_id` of `mailbox`.
    pub fn request(self, mailbox: MailboxIdentity, device_id: &DeviceId) -> SetCasMailbox {
        let id = device_id.as_str();
        let none = Vec::<String>::new;
        let (allowed, blocked) = match self {
            DeviceAccessAction::Allow => (
                ListChange::add_remove([id], none()),
                ListChange::add_remove(none(), [id]),
            ),
            DeviceAccessAction::Block => (
                ListChange::add_remove(none(), [id]),
                ListChange::add_remove([id], none()),
            ),
            DeviceAccessAction::Reset => (
                ListChange::add_remove(none(), [id]),
                ListChange::add_remove(none(), [id]),
            ),
        };
        SetCasMailbox::new(mailbox)
            .allowed_device_ids(allowed)
            .blocked_device_ids(blocked)
    }
}

impl fmt::Display for DeviceAccessAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device resolved for [`set_device_access`]: its mailbox, `DeviceId` and current state.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeviceAccessTarget {
    /// The device as asked for.
    pub identity: MobileDeviceIdentity,
    /// The mailbox that owns it.
    pub mailbox: MailboxIdentity,
    /// Its `DeviceId` (the value the lists hold).
    pub device_id: DeviceId,
    /// `DeviceAccessState` now.
    pub access_state: Option<DeviceAccessState>,
    /// `DeviceAccessStateReason` now.
    pub access_state_reason: Option<DeviceAccessStateReason>,
}

/// What [`set_device_access`] did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeviceAccessChange {
    /// The device as asked for.
    pub identity: MobileDeviceIdentity,
    /// The mailbox whose lists changed.
    pub mailbox: MailboxIdentity,
    /// The device's `DeviceId`.
    pub device_id: DeviceId,
    /// The action.
    pub action: DeviceAccessAction,
    /// `DeviceAccessState` before.
    pub access_state_before: Option<DeviceAccessState>,
    /// `DeviceAccessStateReason` before.
    pub access_state_reason_before: Option<DeviceAccessStateReason>,
    /// `DeviceAccessState` after (re-read).
    pub access_state_after: Option<DeviceAccessState>,
    /// `DeviceAccessStateReason` after (re-read).
    pub access_state_reason_after: Option<DeviceAccessStateReason>,
    /// What `Set-CASMailbox` returned (warnings).
    pub outcome: Outcome,
    /// Why the device could not be re-read after the change, when it could not: the change
    /// was made (`Set-CASMailbox` succeeded) and only the after-state is unknown
    /// (`access_state_after` and `access_state_reason_after` are then `None`).
    pub after_read_error: Option<String>,
}

impl DeviceAccessChange {
    /// Whether the state after the change is known (the re-read succeeded).
    pub fn after_state_known(&self) -> bool {
        self.after_read_error.is_none()
    }
}

async fn read_device(
    client: &dyn ExchangeClient,
    identity: &MobileDeviceIdentity,
) -> Result<MobileDevice> {
    let listing = client
        .get_mobile_device(GetMobileDevice::for_device(identity.clone()))
        .await?;
    listing.items.into_iter().next().ok_or_else(|| {
        Error::invalid_input(format!(
            "no mobile device matches the identity {:?}",
            identity.as_str()
        ))
    })
}

/// Resolve a device (Get-MobileDevice by identity) to its mailbox, `DeviceId` and current
/// access state. Sends nothing else; for dry runs.
pub async fn resolve_device_access(
    client: &dyn ExchangeClient,
    identity: &MobileDeviceIdentity,
) -> Result<DeviceAccessTarget> {
    let device = read_device(client, identity).await?;
    let mailbox = device
        .mailbox()
        .or_else(|| identity.mailbox())
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "cannot tell the mailbox of device {:?} (its Identity names none)",
                identity.as_str()
            ))
        })?;
    let mailbox = MailboxIdentity::new(mailbox)
        .map_err(|e| Error::invalid_input(format!("the device's mailbox {mailbox:?}: {e}")))?;
    // Checked when the row was decoded: a missing or unusable DeviceId reads as none.
    let device_id = device.device_id.clone().ok_or_else(|| {
        Error::invalid_input(format!(
            "device {:?} has no DeviceId; nothing was sent",
            identity.as_str()
        ))
    })?;
    Ok(DeviceAccessTarget {
        identity: identity.clone(),
        mailbox,
        device_id,
        access_state: device.device_access_state,
        access_state_reason: device.device_access_state_reason,
    })
}

/// Allow, block or reset ONE device: resolve it, send exactly one `Set-CASMailbox` to its
/// mailbox that adds its `DeviceId` to one list and removes it from the other (Reset removes it
/// from both) with the add/remove form, then re-read the device.
///
/// Once `Set-CASMailbox` succeeded, the change is made: a failed re-read does not turn it
/// into an error. The result then says so in
/// [`after_read_error`](DeviceAccessChange::after_read_error) and leaves the after-state
/// empty.
pub async fn set_device_access(
    client: &dyn ExchangeClient,
    identity: &MobileDeviceIdentity,
    action: DeviceAccessAction,
) -> Result<DeviceAccessChange> {
    let target = resolve_device_access(client, identity).await?;
    let request = action.request(target.mailbox.clone(), &target.device_id);
    let outcome = client.set_cas_mailbox(request).await?;
    // The change is made: a failed read-back only leaves the after-state unknown.
    let (after_state, after_reason, after_read_error) = match read_device(client, identity).await {
        Ok(after) => (
            after.device_access_state,
            after.device_access_state_reason,
            None,
        ),
        Err(e) => {
            #[cfg(feature = "tracing")]
            tracing::warn!(error = %e, "the device could not be re-read after the change");
            (None, None, Some(e.to_string()))
        }
    };
    Ok(DeviceAccessChange {
        identity: target.identity,
        mailbox: target.mailbox,
        device_id: target.device_id,
        action,
        access_state_before: target.access_state,
        access_state_reason_before: target.access_state_reason,
        access_state_after: after_state,
        access_state_reason_after: after_reason,
        outcome,
        after_read_error,
    })
}
