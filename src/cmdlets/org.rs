//! Get-/Set-ActiveSyncOrganizationSettings.

use super::*;
use crate::call::NoOutput;
use crate::models::{ActiveSyncOrganizationSettings, DeviceAccessLevel, TenantAdminPreference};

request! {
    /// `Get-ActiveSyncOrganizationSettings`: the organization's single settings object.
    #[derive(Default)]
    pub struct GetActiveSyncOrganizationSettings for GET_ACTIVE_SYNC_ORGANIZATION_SETTINGS
        -> SingleShape<ActiveSyncOrganizationSettings>
    {
        /// `-Identity` (normally left out; the object is `Mobile Mailbox Settings`).
        identity / get_identity: text = "Identity",
        select / get_select: select = _,
    }
}

impl GetActiveSyncOrganizationSettings {
    /// The request (no parameters: the tenant has one settings object).
    pub fn new() -> Self {
        Self::default()
    }
}

/// Maximum length of `UserMailInsert` and `OtaNotificationMailInsert`.
pub const MAIL_INSERT_MAX_CHARS: usize = 256;

request! {
    /// `Set-ActiveSyncOrganizationSettings`.
    #[derive(Default)]
    pub struct SetActiveSyncOrganizationSettings for SET_ACTIVE_SYNC_ORGANIZATION_SETTINGS
        -> NoOutputShape<NoOutput>, impl Bespoke
    {
        /// `-Identity` (normally left out).
        identity / get_identity: text = "Identity",
        /// `-AdminMailRecipients`: replace ([`ListChange::replace`]), add/remove
        /// ([`ListChange::add_remove`]) or clear ([`Patch::Clear`]).
        admin_mail_recipients / get_admin_mail_recipients: patch(ListChange) = "AdminMailRecipients",
        /// `-AllowAccessForUnSupportedPlatform` (internal Microsoft setting).
        allow_access_for_unsupported_platform / get_allow_access_for_unsupported_platform:
            copy(bool) = "AllowAccessForUnSupportedPlatform",
        /// `-AllowRMSSupportForUnenlightenedApps`.
        allow_rms_support_for_unenlightened_apps / get_allow_rms_support_for_unenlightened_apps:
            copy(bool) = "AllowRMSSupportForUnenlightenedApps",
        /// `-DefaultAccessLevel`.
        default_access_level / get_default_access_level: opt(DeviceAccessLevel) = "DefaultAccessLevel",
        /// `-EnableMobileMailboxPolicyWhenCAInplace`.
        enable_mobile_mailbox_policy_when_ca_inplace
            / get_enable_mobile_mailbox_policy_when_ca_inplace:
            copy(bool) = "EnableMobileMailboxPolicyWhenCAInplace",
        /// `-OtaNotificationMailInsert` (at most 256 characters).
        ota_notification_mail_insert / get_ota_notification_mail_insert:
            patch_text(clear_ota_notification_mail_insert) = "OtaNotificationMailInsert",
        /// `-TenantAdminPreference` (values undocumented).
        tenant_admin_preference / get_tenant_admin_preference:
            opt(TenantAdminPreference) = "TenantAdminPreference",
        /// `-UserMailInsert` (at most 256 characters).
        user_mail_insert / get_user_mail_insert: patch_text(clear_user_mail_insert) = "UserMailInsert",
    }
}

impl SetActiveSyncOrganizationSettings {
    /// A request that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }
}

fn check_insert<C: Cmdlet>(name: &str, v: &Patch<String>) -> Result<()> {
    if let Patch::Set(s) = v {
        let n = s.chars().count();
        if n > MAIL_INSERT_MAX_CHARS {
            return Err(invalid::<C>(
                name,
                format!(
                    "is {n} characters long; the allowed range is 0 to {MAIL_INSERT_MAX_CHARS} characters"
                ),
            ));
        }
    }
    Ok(())
}

impl Bespoke for SetActiveSyncOrganizationSettings {
    fn check(&self) -> Result<()> {
        check_insert::<Self>("UserMailInsert", &self.user_mail_insert)?;
        check_insert::<Self>(
            "OtaNotificationMailInsert",
            &self.ota_notification_mail_insert,
        )?;
        if let Patch::Set(change) = &self.admin_mail_recipients
            && change.items().any(|a| a.trim().is_empty())
        {
            return Err(invalid::<Self>(
                "AdminMailRecipients",
                "addresses must not be empty",
            ));
        }
        Ok(())
    }
}
