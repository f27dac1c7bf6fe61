//! Get-/Set-ActiveSyncOrganizationSettings.

use super::*;
use crate::models::{ActiveSyncOrganizationSettings, DeviceAccessLevel, TenantAdminPreference};
use crate::typed::NoOutput;

/// `Get-ActiveSyncOrganizationSettings`: the organization's single settings object.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GetActiveSyncOrganizationSettings {
    identity: Option<String>,
    select: Vec<String>,
}

impl GetActiveSyncOrganizationSettings {
    /// The request (no parameters: the tenant has one settings object).
    pub fn new() -> Self {
        Self::default()
    }

    /// `-Identity` (normally left out; the object is `Mobile Mailbox Settings`).
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    select_setter!();
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl GetActiveSyncOrganizationSettings {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// What [`select`](Self::select) set (read access, e.g. for a mock).
    pub fn get_select(&self) -> &[String] {
        &self.select
    }
}

impl Cmdlet for GetActiveSyncOrganizationSettings {
    type Output = ActiveSyncOrganizationSettings;
    type Shape = crate::typed::SingleShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::GET_ORG_SETTINGS);
    fn invocation(&self) -> Result<Invocation> {
        let mut p = Parameters::new();
        if let Some(id) = &self.identity {
            check_non_empty::<Self>("Identity", id)?;
            p.string("Identity", id.trim());
        }
        Ok(with_select(
            Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p),
            &self.select,
        ))
    }
}

/// Maximum length of `UserMailInsert` and `OtaNotificationMailInsert`.
pub const MAIL_INSERT_MAX_CHARS: usize = 256;

/// `Set-ActiveSyncOrganizationSettings`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SetActiveSyncOrganizationSettings {
    identity: Option<String>,
    admin_mail_recipients: Patch<ListChange>,
    allow_access_for_unsupported_platform: Option<bool>,
    allow_rms_support_for_unenlightened_apps: Option<bool>,
    default_access_level: Option<DeviceAccessLevel>,
    enable_mobile_mailbox_policy_when_ca_inplace: Option<bool>,
    ota_notification_mail_insert: Patch<String>,
    tenant_admin_preference: Option<TenantAdminPreference>,
    user_mail_insert: Patch<String>,
}

impl SetActiveSyncOrganizationSettings {
    /// A request that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `-Identity` (normally left out).
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    /// `-AdminMailRecipients`: replace ([`ListChange::replace`]), add/remove ([`ListChange::add_remove`]) or
    /// clear ([`Patch::Clear`]).
    pub fn admin_mail_recipients(mut self, change: impl Into<Patch<ListChange>>) -> Self {
        self.admin_mail_recipients = change.into();
        self
    }

    /// `-AllowAccessForUnSupportedPlatform` (internal Microsoft setting).
    pub fn allow_access_for_unsupported_platform(mut self, v: bool) -> Self {
        self.allow_access_for_unsupported_platform = Some(v);
        self
    }

    /// `-AllowRMSSupportForUnenlightenedApps`.
    pub fn allow_rms_support_for_unenlightened_apps(mut self, v: bool) -> Self {
        self.allow_rms_support_for_unenlightened_apps = Some(v);
        self
    }

    /// `-DefaultAccessLevel`.
    pub fn default_access_level(mut self, v: DeviceAccessLevel) -> Self {
        self.default_access_level = Some(v);
        self
    }

    /// `-EnableMobileMailboxPolicyWhenCAInplace`.
    pub fn enable_mobile_mailbox_policy_when_ca_inplace(mut self, v: bool) -> Self {
        self.enable_mobile_mailbox_policy_when_ca_inplace = Some(v);
        self
    }

    /// `-OtaNotificationMailInsert` (at most 256 characters).
    pub fn ota_notification_mail_insert(mut self, v: impl Into<String>) -> Self {
        self.ota_notification_mail_insert = Patch::Set(v.into());
        self
    }

    /// Clear `-OtaNotificationMailInsert` (sent as `$null`).
    pub fn clear_ota_notification_mail_insert(mut self) -> Self {
        self.ota_notification_mail_insert = Patch::Clear;
        self
    }

    /// `-TenantAdminPreference` (values undocumented).
    pub fn tenant_admin_preference(mut self, v: TenantAdminPreference) -> Self {
        self.tenant_admin_preference = Some(v);
        self
    }

    /// `-UserMailInsert` (at most 256 characters).
    pub fn user_mail_insert(mut self, v: impl Into<String>) -> Self {
        self.user_mail_insert = Patch::Set(v.into());
        self
    }

    /// Clear `-UserMailInsert` (sent as `$null`).
    pub fn clear_user_mail_insert(mut self) -> Self {
        self.user_mail_insert = Patch::Clear;
        self
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

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl SetActiveSyncOrganizationSettings {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// What [`admin_mail_recipients`](Self::admin_mail_recipients) set (read access, e.g. for a mock).
    pub fn get_admin_mail_recipients(&self) -> &Patch<ListChange> {
        &self.admin_mail_recipients
    }

    /// What [`allow_access_for_unsupported_platform`](Self::allow_access_for_unsupported_platform) set (read access, e.g. for a mock).
    pub fn get_allow_access_for_unsupported_platform(&self) -> Option<bool> {
        self.allow_access_for_unsupported_platform
    }

    /// What [`allow_rms_support_for_unenlightened_apps`](Self::allow_rms_support_for_unenlightened_apps) set (read access, e.g. for a mock).
    pub fn get_allow_rms_support_for_unenlightened_apps(&self) -> Option<bool> {
        self.allow_rms_support_for_unenlightened_apps
    }

    /// What [`default_access_level`](Self::default_access_level) set (read access, e.g. for a mock).
    pub fn get_default_access_level(&self) -> Option<&DeviceAccessLevel> {
        self.default_access_level.as_ref()
    }

    /// What [`enable_mobile_mailbox_policy_when_ca_inplace`](Self::enable_mobile_mailbox_policy_when_ca_inplace) set (read access, e.g. for a mock).
    pub fn get_enable_mobile_mailbox_policy_when_ca_inplace(&self) -> Option<bool> {
        self.enable_mobile_mailbox_policy_when_ca_inplace
    }

    /// What [`ota_notification_mail_insert`](Self::ota_notification_mail_insert) set (read access, e.g. for a mock).
    pub fn get_ota_notification_mail_insert(&self) -> &Patch<String> {
        &self.ota_notification_mail_insert
    }

    /// What [`tenant_admin_preference`](Self::tenant_admin_preference) set (read access, e.g. for a mock).
    pub fn get_tenant_admin_preference(&self) -> Option<&TenantAdminPreference> {
        self.tenant_admin_preference.as_ref()
    }

    /// What [`user_mail_insert`](Self::user_mail_insert) set (read access, e.g. for a mock).
    pub fn get_user_mail_insert(&self) -> &Patch<String> {
        &self.user_mail_insert
    }
}

impl Cmdlet for SetActiveSyncOrganizationSettings {
    type Output = NoOutput;
    type Shape = crate::typed::NoOutputShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::SET_ORG_SETTINGS);
    fn invocation(&self) -> Result<Invocation> {
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
        let mut p = Parameters::new();
        if let Some(id) = &self.identity {
            check_non_empty::<Self>("Identity", id)?;
            p.string("Identity", id.trim());
        }
        put_patch(&mut p, "AdminMailRecipients", &self.admin_mail_recipients);
        put(
            &mut p,
            "AllowAccessForUnSupportedPlatform",
            &self.allow_access_for_unsupported_platform,
        );
        put(
            &mut p,
            "AllowRMSSupportForUnenlightenedApps",
            &self.allow_rms_support_for_unenlightened_apps,
        );
        put(&mut p, "DefaultAccessLevel", &self.default_access_level);
        put(
            &mut p,
            "EnableMobileMailboxPolicyWhenCAInplace",
            &self.enable_mobile_mailbox_policy_when_ca_inplace,
        );
        put_patch(
            &mut p,
            "OtaNotificationMailInsert",
            &self.ota_notification_mail_insert,
        );
        put(
            &mut p,
            "TenantAdminPreference",
            &self.tenant_admin_preference,
        );
        put_patch(&mut p, "UserMailInsert", &self.user_mail_insert);
        Ok(Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p))
    }
}
