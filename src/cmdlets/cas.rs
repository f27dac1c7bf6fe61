//! Per-mailbox ActiveSync settings: Get-CASMailbox, Set-CASMailbox (the per-device allow and
//! block lists).

use super::*;
use crate::call::NoOutput;
use crate::models::{CasMailbox, RecipientTypeDetails};
use crate::types::DeviceId;

request! {
    /// `Get-CASMailbox`: the client-access settings of mailboxes (the ActiveSync side is
    /// modelled by [`CasMailbox`]).
    ///
    /// Sends `ResultSize: "Unlimited"` unless [`result_size`](Self::result_size) is set.
    #[derive(Default)]
    pub struct GetCasMailbox for GET_CAS_MAILBOX -> ListingShape<CasMailbox>, impl Bespoke {
        /// `-Identity` (cannot be combined with `-Anr`).
        identity / get_identity: opt(MailboxIdentity) = "Identity",
        /// `-Anr`: ambiguous-name search (parameter set `AnrSet`).
        anr / get_anr: text = "Anr",
        /// `-Filter` (OPATH), e.g. `Filter::eq("HasActiveSyncDevicePartnership", true)`.
        filter / get_filter: opt(Filter) = "Filter",
        /// `-OrganizationalUnit`.
        organizational_unit / get_organizational_unit: text = "OrganizationalUnit",
        /// `-RecipientTypeDetails`.
        recipient_type_details / get_recipient_type_details:
            list(RecipientTypeDetails) = "RecipientTypeDetails",
        /// `-ResultSize` (at least 1); without it `Unlimited` is sent.
        result_size / get_result_size: result_size = "ResultSize",
        /// `-SortBy` (one property, ascending).
        sort_by / get_sort_by: sort_by = "SortBy",
        /// `-ProtocolSettings`: also return the protocol server settings.
        protocol_settings / get_protocol_settings: switch = "ProtocolSettings",
        /// `-RecalculateHasActiveSyncDevicePartnership`: recompute
        /// `HasActiveSyncDevicePartnership` before answering.
        recalculate_has_active_sync_device_partnership
            / get_recalculate_has_active_sync_device_partnership:
            switch = "RecalculateHasActiveSyncDevicePartnership",
        /// `-ActiveSyncDebugLogging`: include the ActiveSync debug-logging setting.
        active_sync_debug_logging / get_active_sync_debug_logging:
            switch = "ActiveSyncDebugLogging",
        /// `-ActiveSyncSuppressReadReceipt`: include the read-receipt setting.
        active_sync_suppress_read_receipt / get_active_sync_suppress_read_receipt:
            switch = "ActiveSyncSuppressReadReceipt",
        select / get_select: select = _,
    }
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
}

impl Bespoke for GetCasMailbox {
    fn check(&self) -> Result<()> {
        if self.identity.is_some() && self.anr.is_some() {
            return Err(invalid::<Self>(
                "Identity",
                "cannot be combined with -Anr (they belong to different parameter sets); set one of them",
            ));
        }
        Ok(())
    }
}

request! {
    /// `Set-CASMailbox` (write): the ActiveSync settings of one mailbox, among them the
    /// per-device allow and block lists. Only the ActiveSync parameters the module declares
    /// are offered.
    ///
    /// Use the add/remove form of [`ListChange`] to change one device's entry without
    /// touching the others: `ListChange::add_remove(["<DeviceId>"], None::<String>)`.
    pub struct SetCasMailbox for SET_CAS_MAILBOX -> NoOutputShape<NoOutput>, impl Bespoke {
        @required {
            identity / get_identity / identity: value(MailboxIdentity) = "Identity",
        }
        /// `-ActiveSyncEnabled`.
        active_sync_enabled / get_active_sync_enabled: copy(bool) = "ActiveSyncEnabled",
        /// `-ActiveSyncAllowedDeviceIDs`: replace ([`ListChange::replace`]), add/remove
        /// ([`ListChange::add_remove`]) or clear ([`Patch::Clear`]) the allowed device ids.
        allowed_device_ids / get_allowed_device_ids:
            patch(ListChange) = "ActiveSyncAllowedDeviceIDs",
        /// `-ActiveSyncBlockedDeviceIDs`: replace, add/remove or clear the blocked device ids.
        blocked_device_ids / get_blocked_device_ids:
            patch(ListChange) = "ActiveSyncBlockedDeviceIDs",
        /// `-ActiveSyncMailboxPolicy`.
        active_sync_mailbox_policy / get_active_sync_mailbox_policy:
            opt(PolicyIdentity) = "ActiveSyncMailboxPolicy",
        /// `-ActiveSyncSuppressReadReceipt`.
        active_sync_suppress_read_receipt / get_active_sync_suppress_read_receipt:
            copy(bool) = "ActiveSyncSuppressReadReceipt",
        /// `-ActiveSyncDebugLogging`.
        active_sync_debug_logging / get_active_sync_debug_logging:
            copy(bool) = "ActiveSyncDebugLogging",
    }
}

impl SetCasMailbox {
    /// A request for mailbox `identity` that changes nothing yet.
    pub fn new(identity: MailboxIdentity) -> Self {
        Self::blank(identity)
    }
}

impl Bespoke for SetCasMailbox {
    fn check(&self) -> Result<()> {
        check_device_ids::<Self>("ActiveSyncAllowedDeviceIDs", &self.allowed_device_ids)?;
        check_device_ids::<Self>("ActiveSyncBlockedDeviceIDs", &self.blocked_device_ids)
    }
}

/// Device ids must be valid [`DeviceId`]s (non-empty, no whitespace or control characters).
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
        if let Some(e) = change.items().find_map(|id| DeviceId::new(id).err()) {
            return Err(invalid::<C>(
                parameter,
                format!("device id {:?} is not valid: it {}", e.input, e.reason),
            ));
        }
    }
    Ok(())
}
