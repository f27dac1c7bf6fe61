//! Per-mailbox ActiveSync settings: Get-CASMailbox, Set-CASMailbox (the per-device allow and
//! block lists).

use super::rule::check_sort_by;
use super::*;
use crate::models::{CasMailbox, RecipientTypeDetails};
use crate::typed::NoOutput;

/// `Get-CASMailbox`: the client-access settings of mailboxes (the ActiveSync side is modelled
/// by [`CasMailbox`]).
///
/// Sends `ResultSize: "Unlimited"` unless [`result_size`](Self::result_size) is set.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GetCasMailbox {
    identity: Option<MailboxIdentity>,
    anr: Option<String>,
    filter: Option<Filter>,
    organizational_unit: Option<String>,
    recipient_type_details: Vec<RecipientTypeDetails>,
    result_size: Option<u32>,
    sort_by: Option<String>,
    protocol_settings: bool,
    recalculate_partnership: bool,
    active_sync_debug_logging: bool,
    active_sync_suppress_read_receipt: bool,
    select: Vec<String>,
}

impl GetCasMailbox {
    /// Every mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// One mailbox (`-Identity`; parameter set `Identity`).
    pub fn for_mailbox(identity: MailboxIdentity) -> Self {
        Self::default().identity(identity)
    }

    /// `-Identity` (cannot be combined with `-Anr`).
    pub fn identity(mut self, identity: MailboxIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// `-Anr`: ambiguous-name search (parameter set `AnrSet`).
    pub fn anr(mut self, text: impl Into<String>) -> Self {
        self.anr = Some(text.into());
        self
    }

    /// `-Filter` (OPATH), e.g. `Filter::eq("HasActiveSyncDevicePartnership", true)`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// `-OrganizationalUnit`.
    pub fn organizational_unit(mut self, ou: impl Into<String>) -> Self {
        self.organizational_unit = Some(ou.into());
        self
    }

    /// `-RecipientTypeDetails`.
    pub fn recipient_type_details<I: IntoIterator<Item = RecipientTypeDetails>>(
        mut self,
        details: I,
    ) -> Self {
        self.recipient_type_details = details.into_iter().collect();
        self
    }

    /// `-ResultSize` (at least 1); without it `Unlimited` is sent.
    pub fn result_size(mut self, n: u32) -> Self {
        self.result_size = Some(n);
        self
    }

    /// `-SortBy` (one property, ascending).
    pub fn sort_by(mut self, property: impl Into<String>) -> Self {
        self.sort_by = Some(property.into());
        self
    }

    /// `-ProtocolSettings`: also return the protocol server settings.
    pub fn protocol_settings(mut self) -> Self {
        self.protocol_settings = true;
        self
    }

    /// `-RecalculateHasActiveSyncDevicePartnership`: recompute
    /// `HasActiveSyncDevicePartnership` before answering.
    pub fn recalculate_has_active_sync_device_partnership(mut self) -> Self {
        self.recalculate_partnership = true;
        self
    }

    /// `-ActiveSyncDebugLogging`: include the ActiveSync debug-logging setting.
    pub fn active_sync_debug_logging(mut self) -> Self {
        self.active_sync_debug_logging = true;
        self
    }

    /// `-ActiveSyncSuppressReadReceipt`: include the read-receipt setting.
    pub fn active_sync_suppress_read_receipt(mut self) -> Self {
        self.active_sync_suppress_read_receipt = true;
        self
    }

    select_setter!();
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl GetCasMailbox {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> Option<&MailboxIdentity> {
        self.identity.as_ref()
    }

    /// What [`anr`](Self::anr) set (read access, e.g. for a mock).
    pub fn get_anr(&self) -> Option<&str> {
        self.anr.as_deref()
    }

    /// What [`filter`](Self::filter) set (read access, e.g. for a mock).
    pub fn get_filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// What [`organizational_unit`](Self::organizational_unit) set (read access, e.g. for a mock).
    pub fn get_organizational_unit(&self) -> Option<&str> {
        self.organizational_unit.as_deref()
    }

    /// What [`recipient_type_details`](Self::recipient_type_details) set (read access, e.g. for a mock).
    pub fn get_recipient_type_details(&self) -> &[RecipientTypeDetails] {
        &self.recipient_type_details
    }

    /// What [`result_size`](Self::result_size) set (read access, e.g. for a mock).
    pub fn get_result_size(&self) -> Option<u32> {
        self.result_size
    }

    /// What [`sort_by`](Self::sort_by) set (read access, e.g. for a mock).
    pub fn get_sort_by(&self) -> Option<&str> {
        self.sort_by.as_deref()
    }

    /// What [`protocol_settings`](Self::protocol_settings) set (read access, e.g. for a mock).
    pub fn get_protocol_settings(&self) -> bool {
        self.protocol_settings
    }

    /// What [`recalculate_has_active_sync_device_partnership`](Self::recalculate_has_active_sync_device_partnership) set (read access, e.g. for a mock).
    pub fn get_recalculate_has_active_sync_device_partnership(&self) -> bool {
        self.recalculate_partnership
    }

    /// What [`active_sync_debug_logging`](Self::active_sync_debug_logging) set (read access, e.g. for a mock).
    pub fn get_active_sync_debug_logging(&self) -> bool {
        self.active_sync_debug_logging
    }

    /// What [`active_sync_suppress_read_receipt`](Self::active_sync_suppress_read_receipt) set (read access, e.g. for a mock).
    pub fn get_active_sync_suppress_read_receipt(&self) -> bool {
        self.active_sync_suppress_read_receipt
    }

    /// What [`select`](Self::select) set (read access, e.g. for a mock).
    pub fn get_select(&self) -> &[String] {
        &self.select
    }
}

impl Cmdlet for GetCasMailbox {
    type Output = CasMailbox;
    type Shape = crate::typed::ListingShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::GET_CAS_MAILBOX);
    fn invocation(&self) -> Result<Invocation> {
        if self.identity.is_some() && self.anr.is_some() {
            return Err(invalid::<Self>(
                "Identity",
                "cannot be combined with -Anr (they belong to different parameter sets); set one of them",
            ));
        }
        let mut p = Parameters::new();
        put(&mut p, "Identity", &self.identity);
        if let Some(a) = &self.anr {
            check_non_empty::<Self>("Anr", a)?;
            p.string("Anr", a.trim());
        }
        put(&mut p, "Filter", &self.filter);
        if let Some(ou) = &self.organizational_unit {
            check_non_empty::<Self>("OrganizationalUnit", ou)?;
            p.string("OrganizationalUnit", ou.trim());
        }
        if !self.recipient_type_details.is_empty() {
            p.strings(
                "RecipientTypeDetails",
                self.recipient_type_details
                    .iter()
                    .map(|d| d.as_str().to_string()),
            );
        }
        result_size_param::<Self>(&mut p, self.result_size)?;
        if let Some(s) = &self.sort_by {
            check_sort_by::<Self>(s)?;
            p.string("SortBy", s.trim());
        }
        put_switch(&mut p, "ProtocolSettings", self.protocol_settings);
        put_switch(
            &mut p,
            "RecalculateHasActiveSyncDevicePartnership",
            self.recalculate_partnership,
        );
        put_switch(
            &mut p,
            "ActiveSyncDebugLogging",
            self.active_sync_debug_logging,
        );
        put_switch(
            &mut p,
            "ActiveSyncSuppressReadReceipt",
            self.active_sync_suppress_read_receipt,
        );
        let inv = Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p);
        Ok(with_select(inv, &self.select))
    }
}

/// `Set-CASMailbox` (write): the ActiveSync settings of one mailbox, among them the per-device
/// allow and block lists. Only the ActiveSync parameters the module declares are offered.
///
/// Use the add/remove form of [`ListChange`] to change one device's entry without touching
/// the others: `ListChange::add_remove(["<DeviceId>"], None::<String>)`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SetCasMailbox {
    identity: MailboxIdentity,
    active_sync_enabled: Option<bool>,
    allowed_device_ids: Patch<ListChange>,
    blocked_device_ids: Patch<ListChange>,
    active_sync_mailbox_policy: Option<PolicyIdentity>,
    active_sync_suppress_read_receipt: Option<bool>,
    active_sync_debug_logging: Option<bool>,
}

impl SetCasMailbox {
    /// A request for mailbox `identity` that changes nothing yet.
    pub fn new(identity: MailboxIdentity) -> Self {
        SetCasMailbox {
            identity,
            active_sync_enabled: None,
            allowed_device_ids: Patch::Keep,
            blocked_device_ids: Patch::Keep,
            active_sync_mailbox_policy: None,
            active_sync_suppress_read_receipt: None,
            active_sync_debug_logging: None,
        }
    }

    /// The mailbox.
    pub fn identity(&self) -> &MailboxIdentity {
        &self.identity
    }

    /// `-ActiveSyncEnabled`.
    pub fn active_sync_enabled(mut self, v: bool) -> Self {
        self.active_sync_enabled = Some(v);
        self
    }

    /// `-ActiveSyncAllowedDeviceIDs`: replace ([`ListChange::replace`]), add/remove
    /// ([`ListChange::add_remove`]) or clear ([`Patch::Clear`]) the allowed device ids.
    pub fn allowed_device_ids(mut self, change: impl Into<Patch<ListChange>>) -> Self {
        self.allowed_device_ids = change.into();
        self
    }

    /// `-ActiveSyncBlockedDeviceIDs`: replace, add/remove or clear the blocked device ids.
    pub fn blocked_device_ids(mut self, change: impl Into<Patch<ListChange>>) -> Self {
        self.blocked_device_ids = change.into();
        self
    }

    /// `-ActiveSyncMailboxPolicy`.
    pub fn active_sync_mailbox_policy(mut self, policy: PolicyIdentity) -> Self {
        self.active_sync_mailbox_policy = Some(policy);
        self
    }

    /// `-ActiveSyncSuppressReadReceipt`.
    pub fn active_sync_suppress_read_receipt(mut self, v: bool) -> Self {
        self.active_sync_suppress_read_receipt = Some(v);
        self
    }

    /// `-ActiveSyncDebugLogging`.
    pub fn active_sync_debug_logging(mut self, v: bool) -> Self {
        self.active_sync_debug_logging = Some(v);
        self
    }
}

/// Device ids must be non-empty and contain no whitespace or control characters.
fn check_device_ids<C: Cmdlet>(parameter: &str, change: &Patch<ListChange>) -> Result<()> {
    if let Patch::Set(change) = change {
        if let ListChange::AddRemove { add, remove } = change
            && add.is_empty()
            && remove.is_empty()
        {
            return Err(invalid::<C>(
                parameter,
                "an add/remove change needs at least one device id",
            ));
        }
        if let Some(bad) = change
            .items()
            .find(|id| id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(invalid::<C>(
                parameter,
                format!(
                    "device id {bad:?} is not valid: it must be non-empty without whitespace or control characters"
                ),
            ));
        }
    }
    Ok(())
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl SetCasMailbox {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> &MailboxIdentity {
        &self.identity
    }

    /// What [`active_sync_enabled`](Self::active_sync_enabled) set (read access, e.g. for a mock).
    pub fn get_active_sync_enabled(&self) -> Option<bool> {
        self.active_sync_enabled
    }

    /// What [`allowed_device_ids`](Self::allowed_device_ids) set (read access, e.g. for a mock).
    pub fn get_allowed_device_ids(&self) -> &Patch<ListChange> {
        &self.allowed_device_ids
    }

    /// What [`blocked_device_ids`](Self::blocked_device_ids) set (read access, e.g. for a mock).
    pub fn get_blocked_device_ids(&self) -> &Patch<ListChange> {
        &self.blocked_device_ids
    }

    /// What [`active_sync_mailbox_policy`](Self::active_sync_mailbox_policy) set (read access, e.g. for a mock).
    pub fn get_active_sync_mailbox_policy(&self) -> Option<&PolicyIdentity> {
        self.active_sync_mailbox_policy.as_ref()
    }

    /// What [`active_sync_suppress_read_receipt`](Self::active_sync_suppress_read_receipt) set (read access, e.g. for a mock).
    pub fn get_active_sync_suppress_read_receipt(&self) -> Option<bool> {
        self.active_sync_suppress_read_receipt
    }

    /// What [`active_sync_debug_logging`](Self::active_sync_debug_logging) set (read access, e.g. for a mock).
    pub fn get_active_sync_debug_logging(&self) -> Option<bool> {
        self.active_sync_debug_logging
    }
}

impl Cmdlet for SetCasMailbox {
    type Output = NoOutput;
    type Shape = crate::typed::NoOutputShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::SET_CAS_MAILBOX);
    fn invocation(&self) -> Result<Invocation> {
        check_device_ids::<Self>("ActiveSyncAllowedDeviceIDs", &self.allowed_device_ids)?;
        check_device_ids::<Self>("ActiveSyncBlockedDeviceIDs", &self.blocked_device_ids)?;
        let mut p = Parameters::new();
        p.string("Identity", self.identity.as_str());
        put(&mut p, "ActiveSyncEnabled", &self.active_sync_enabled);
        put_patch(
            &mut p,
            "ActiveSyncAllowedDeviceIDs",
            &self.allowed_device_ids,
        );
        put_patch(
            &mut p,
            "ActiveSyncBlockedDeviceIDs",
            &self.blocked_device_ids,
        );
        put(
            &mut p,
            "ActiveSyncMailboxPolicy",
            &self.active_sync_mailbox_policy,
        );
        put(
            &mut p,
            "ActiveSyncSuppressReadReceipt",
            &self.active_sync_suppress_read_receipt,
        );
        put(
            &mut p,
            "ActiveSyncDebugLogging",
            &self.active_sync_debug_logging,
        );
        Ok(Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p))
    }
}
