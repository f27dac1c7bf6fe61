//! Mobile device mailbox policies: Get-, Set-, New-, Remove-MobileDeviceMailboxPolicy.

use super::*;
use crate::call::NoOutput;
use crate::models::{
    BluetoothType, CalendarAgeFilterType, EmailAgeFilterType, EncryptionSMIMEAlgorithmType,
    MobileDeviceMailboxPolicy, SMIMEEncryptionAlgorithmNegotiationType, SignedSMIMEAlgorithmType,
};

/// Largest `MaxAttachmentSize` the service accepts (2097151 KB).
pub const MAX_ATTACHMENT_SIZE_BYTES: u64 = 2_147_482_624;

/// Lists every policy setting once: `(setter, "Parameter", type, kind)`. `kind` is `opt`
/// (setter takes the value) or `patch` (setter takes `impl Into<Patch<T>>`, so it can clear).
macro_rules! policy_settings {
    ($callback:ident) => {
        $callback! {
            (allow_apple_push_notifications, "AllowApplePushNotifications", bool, opt),
            (allow_bluetooth, "AllowBluetooth", BluetoothType, opt),
            (allow_browser, "AllowBrowser", bool, opt),
            (allow_camera, "AllowCamera", bool, opt),
            (allow_consumer_email, "AllowConsumerEmail", bool, opt),
            (allow_desktop_sync, "AllowDesktopSync", bool, opt),
            (allow_external_device_management, "AllowExternalDeviceManagement", bool, opt),
            (allow_google_push_notifications, "AllowGooglePushNotifications", bool, opt),
            (allow_html_email, "AllowHTMLEmail", bool, opt),
            (allow_internet_sharing, "AllowInternetSharing", bool, opt),
            (allow_irda, "AllowIrDA", bool, opt),
            (allow_microsoft_push_notifications, "AllowMicrosoftPushNotifications", bool, opt),
            (allow_mobile_ota_update, "AllowMobileOTAUpdate", bool, opt),
            (allow_non_provisionable_devices, "AllowNonProvisionableDevices", bool, opt),
            (allow_pop_imap_email, "AllowPOPIMAPEmail", bool, opt),
            (allow_remote_desktop, "AllowRemoteDesktop", bool, opt),
            (allow_simple_password, "AllowSimplePassword", bool, opt),
            (allow_smime_encryption_algorithm_negotiation, "AllowSMIMEEncryptionAlgorithmNegotiation", SMIMEEncryptionAlgorithmNegotiationType, opt),
            (allow_smime_soft_certs, "AllowSMIMESoftCerts", bool, opt),
            (allow_storage_card, "AllowStorageCard", bool, opt),
            (allow_text_messaging, "AllowTextMessaging", bool, opt),
            (allow_unsigned_applications, "AllowUnsignedApplications", bool, opt),
            (allow_unsigned_installation_packages, "AllowUnsignedInstallationPackages", bool, opt),
            (allow_wifi, "AllowWiFi", bool, opt),
            (alphanumeric_password_required, "AlphanumericPasswordRequired", bool, opt),
            (approved_application_list, "ApprovedApplicationList", ListChange, patch(clear_approved_application_list)),
            (attachments_enabled, "AttachmentsEnabled", bool, opt),
            (device_encryption_enabled, "DeviceEncryptionEnabled", bool, opt),
            (device_policy_refresh_interval, "DevicePolicyRefreshInterval", Unlimited<ExchangeTimeSpan>, unl),
            (irm_enabled, "IrmEnabled", bool, opt),
            (is_default, "IsDefault", bool, opt),
            (max_attachment_size, "MaxAttachmentSize", Unlimited<ByteSize>, unl),
            (max_calendar_age_filter, "MaxCalendarAgeFilter", CalendarAgeFilterType, opt),
            (max_email_age_filter, "MaxEmailAgeFilter", EmailAgeFilterType, opt),
            (max_email_body_truncation_size, "MaxEmailBodyTruncationSize", Unlimited<u32>, unl),
            (max_email_html_body_truncation_size, "MaxEmailHTMLBodyTruncationSize", Unlimited<u32>, unl),
            (max_inactivity_time_lock, "MaxInactivityTimeLock", Unlimited<ExchangeTimeSpan>, unl),
            (max_password_failed_attempts, "MaxPasswordFailedAttempts", Unlimited<u32>, unl),
            (min_password_complex_characters, "MinPasswordComplexCharacters", u32, opt),
            (min_password_length, "MinPasswordLength", u32, patch(clear_min_password_length)),
            (password_enabled, "PasswordEnabled", bool, opt),
            (password_expiration, "PasswordExpiration", Unlimited<ExchangeTimeSpan>, unl),
            (password_history, "PasswordHistory", u32, opt),
            (password_recovery_enabled, "PasswordRecoveryEnabled", bool, opt),
            (require_device_encryption, "RequireDeviceEncryption", bool, opt),
            (require_encrypted_smime_messages, "RequireEncryptedSMIMEMessages", bool, opt),
            (require_encryption_smime_algorithm, "RequireEncryptionSMIMEAlgorithm", EncryptionSMIMEAlgorithmType, opt),
            (require_manual_sync_when_roaming, "RequireManualSyncWhenRoaming", bool, opt),
            (require_signed_smime_algorithm, "RequireSignedSMIMEAlgorithm", SignedSMIMEAlgorithmType, opt),
            (require_signed_smime_messages, "RequireSignedSMIMEMessages", bool, opt),
            (require_storage_card_encryption, "RequireStorageCardEncryption", bool, opt),
            (unapproved_in_rom_application_list, "UnapprovedInROMApplicationList", ListChange, patch(clear_unapproved_in_rom_application_list)),
            (unc_access_enabled, "UNCAccessEnabled", bool, opt),
            (wss_access_enabled, "WSSAccessEnabled", bool, opt),
        }
    };
}

macro_rules! storage_type {
    ($t:ty, opt) => { Option<$t> };
    ($t:ty, unl) => { Option<$t> };
    ($t:ty, patch) => { Patch<$t> };
}

macro_rules! define_settings {
    ($(($field:ident, $param:literal, $t:ty, $kind:ident $(($clear:ident))?)),* $(,)?) => {
        /// The settings shared by New- and Set-MobileDeviceMailboxPolicy (docs/cmdlets.md §4).
        /// Unset settings are not sent.
        #[derive(Clone, Debug, Default, PartialEq)]
        #[non_exhaustive]
        pub struct MobileDeviceMailboxPolicySettings {
            $(
                #[doc = concat!("`-", $param, "`.")]
                pub $field: storage_type!($t, $kind),
            )*
        }

        impl MobileDeviceMailboxPolicySettings {
            /// Encode every set value.
            fn encode(&self, p: &mut Parameters) {
                $( define_settings!(@put p, $param, &self.$field, $kind); )*
            }

            /// Every parameter of the block.
            pub(crate) fn parameter_names() -> Vec<&'static str> {
                vec![$($param),*]
            }
        }
    };
    (@put $p:ident, $param:literal, $v:expr, opt) => { put($p, $param, $v) };
    (@put $p:ident, $param:literal, $v:expr, unl) => { put($p, $param, $v) };
    (@put $p:ident, $param:literal, $v:expr, patch) => { put_patch($p, $param, $v) };
}
policy_settings!(define_settings);

macro_rules! define_setters {
    ($(($field:ident, $param:literal, $t:ty, $kind:ident $(($clear:ident))?)),* $(,)?) => {
        $( define_setters!(@one $field, $param, $t, $kind $($clear)?); )*
    };
    (@one $field:ident, $param:literal, $t:ty, opt) => {
        #[doc = concat!("Set `-", $param, "`.")]
        pub fn $field(mut self, value: $t) -> Self {
            self.settings.$field = Some(value);
            self
        }
    };
    (@one $field:ident, $param:literal, $t:ty, unl) => {
        #[doc = concat!("Set `-", $param, "` (a value, or `Unlimited::Unlimited`).")]
        pub fn $field(mut self, value: impl Into<$t>) -> Self {
            self.settings.$field = Some(value.into());
            self
        }
    };
    (@one $field:ident, $param:literal, $t:ty, patch $clear:ident) => {
        #[doc = concat!("Set `-", $param, "`.")]
        pub fn $field(mut self, value: $t) -> Self {
            self.settings.$field = Patch::Set(value);
            self
        }
        #[doc = concat!("Clear `-", $param, "` (sent as `$null`).")]
        pub fn $clear(mut self) -> Self {
            self.settings.$field = Patch::Clear;
            self
        }
    };
}

impl MobileDeviceMailboxPolicySettings {
    /// Check every value against the documented ranges.
    pub fn validate<C: Cmdlet>(&self) -> Result<()> {
        let s = self;
        if let Patch::Set(n) = s.min_password_length
            && !(1..=16).contains(&n)
        {
            return Err(invalid::<C>(
                "MinPasswordLength",
                format!("{n} is out of range: allowed 1 to 16 (or Patch::Clear for $null)"),
            ));
        }
        if let Some(Unlimited::Limited(n)) = s.max_password_failed_attempts
            && !(4..=16).contains(&n)
        {
            return Err(invalid::<C>(
                "MaxPasswordFailedAttempts",
                format!("{n} is out of range: allowed 4 to 16 or Unlimited"),
            ));
        }
        if let Some(n) = s.password_history
            && n > 50
        {
            return Err(invalid::<C>(
                "PasswordHistory",
                format!("{n} is out of range: allowed 0 to 50"),
            ));
        }
        if let Some(n) = s.min_password_complex_characters
            && !(1..=4).contains(&n)
        {
            return Err(invalid::<C>(
                "MinPasswordComplexCharacters",
                format!("{n} is out of range: allowed 1 to 4"),
            ));
        }
        if let Some(Unlimited::Limited(t)) = s.max_inactivity_time_lock
            && (t < ExchangeTimeSpan::from_minutes(1) || t > ExchangeTimeSpan::from_hours(1))
        {
            return Err(invalid::<C>(
                "MaxInactivityTimeLock",
                format!("{t} is out of range: allowed 00:01:00 to 01:00:00 or Unlimited"),
            ));
        }
        if let Some(Unlimited::Limited(t)) = s.password_expiration
            && (t < ExchangeTimeSpan::from_days(1) || t > ExchangeTimeSpan::from_days(730))
        {
            return Err(invalid::<C>(
                "PasswordExpiration",
                format!(
                    "{t} is out of range: allowed 1.00:00:00 to 730.00:00:00 (1 to 730 days) or Unlimited"
                ),
            ));
        }
        if let Some(Unlimited::Limited(size)) = s.max_attachment_size
            && size.bytes() > MAX_ATTACHMENT_SIZE_BYTES
        {
            return Err(invalid::<C>(
                "MaxAttachmentSize",
                format!(
                    "{} bytes is out of range: allowed 0 to {MAX_ATTACHMENT_SIZE_BYTES} bytes (2097151 KB) or Unlimited",
                    size.bytes()
                ),
            ));
        }
        if let Some(Unlimited::Limited(t)) = s.device_policy_refresh_interval
            && (!t.is_whole_seconds() || t.is_negative() || t.as_secs() > i64::from(i32::MAX))
        {
            return Err(invalid::<C>(
                "DevicePolicyRefreshInterval",
                format!(
                    "{t} is not allowed: whole seconds from 0 to 2147483647 seconds, or Unlimited"
                ),
            ));
        }
        for (name, v) in [
            (
                "MaxEmailBodyTruncationSize",
                s.max_email_body_truncation_size,
            ),
            (
                "MaxEmailHTMLBodyTruncationSize",
                s.max_email_html_body_truncation_size,
            ),
        ] {
            if let Some(Unlimited::Limited(n)) = v
                && n > i32::MAX as u32
            {
                return Err(invalid::<C>(
                    name,
                    format!("{n} is out of range: allowed 0 to 2147483647 or Unlimited"),
                ));
            }
        }
        check_app_list::<C>(
            "ApprovedApplicationList",
            &s.approved_application_list,
            7168,
        )?;
        check_app_list::<C>(
            "UnapprovedInROMApplicationList",
            &s.unapproved_in_rom_application_list,
            5120,
        )?;
        Ok(())
    }
}

fn check_app_list<C: Cmdlet>(name: &str, v: &Patch<ListChange>, total_max: usize) -> Result<()> {
    let Patch::Set(change) = v else {
        return Ok(());
    };
    let mut total = 0;
    for item in change.items() {
        let n = item.chars().count();
        total += n;
        if n == 0 || n > 2048 {
            return Err(invalid::<C>(
                name,
                format!("each item must be 1 to 2048 characters long ({n} given)"),
            ));
        }
        if item.trim() != item {
            return Err(invalid::<C>(
                name,
                format!("item {item:?} has leading or trailing spaces"),
            ));
        }
    }
    if total > total_max {
        return Err(invalid::<C>(
            name,
            format!("items total {total} characters; the allowed maximum is {total_max}"),
        ));
    }
    Ok(())
}

request! {
    /// `Get-MobileDeviceMailboxPolicy`: every policy, or one by identity. (This cmdlet takes
    /// no `ResultSize`.)
    #[derive(Default)]
    pub struct GetMobileDeviceMailboxPolicy for GET_MOBILE_DEVICE_MAILBOX_POLICY
        -> ListingShape<MobileDeviceMailboxPolicy>
    {
        /// Only this policy (`-Identity`).
        identity / get_identity: opt(PolicyIdentity) = "Identity",
        select / get_select: select = _,
    }
}

impl GetMobileDeviceMailboxPolicy {
    /// Every policy.
    pub fn new() -> Self {
        Self::default()
    }
}

request! {
    /// `New-MobileDeviceMailboxPolicy`: creates a policy and returns it.
    pub struct NewMobileDeviceMailboxPolicy for NEW_MOBILE_DEVICE_MAILBOX_POLICY
        -> CreatedShape<MobileDeviceMailboxPolicy>, impl Bespoke
    {
        @required {
            name / get_name: text = "Name",
        }
        /// Replace all settings at once.
        pub settings / get_settings: embedded(MobileDeviceMailboxPolicySettings) = _,
    }
}

impl NewMobileDeviceMailboxPolicy {
    /// A new policy called `name` (not empty).
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        check_non_empty::<Self>("Name", &name)?;
        Ok(Self::blank(name.trim().to_string()))
    }

    policy_settings!(define_setters);
}

impl Bespoke for NewMobileDeviceMailboxPolicy {
    fn check(&self) -> Result<()> {
        check_non_empty::<Self>("Name", &self.name)?;
        self.settings.validate::<Self>()
    }
}

request! {
    /// `Set-MobileDeviceMailboxPolicy`: changes the settings that are set.
    pub struct SetMobileDeviceMailboxPolicy for SET_MOBILE_DEVICE_MAILBOX_POLICY
        -> NoOutputShape<NoOutput>, impl Bespoke
    {
        @required {
            identity / get_identity / identity: value(PolicyIdentity) = "Identity",
        }
        /// Rename the policy (`-Name`).
        name / get_name: text = "Name",
        /// Replace all settings at once.
        pub settings / get_settings: embedded(MobileDeviceMailboxPolicySettings) = _,
    }
}

impl SetMobileDeviceMailboxPolicy {
    /// Change the policy `identity`.
    pub fn new(identity: PolicyIdentity) -> Self {
        Self::blank(identity)
    }

    policy_settings!(define_setters);
}

impl Bespoke for SetMobileDeviceMailboxPolicy {
    fn check(&self) -> Result<()> {
        self.settings.validate::<Self>()
    }
}

request! {
    /// `Remove-MobileDeviceMailboxPolicy` (destructive; sent with `Confirm:false`).
    pub struct RemoveMobileDeviceMailboxPolicy for REMOVE_MOBILE_DEVICE_MAILBOX_POLICY
        -> NoOutputShape<NoOutput>
    {
        @required {
            identity / get_identity / identity: value(PolicyIdentity) = "Identity",
        }
        /// `-Force`: remove it even when mailboxes are still assigned to it (otherwise the
        /// service refuses over REST).
        force / get_force: switch = "Force",
    }
}

impl RemoveMobileDeviceMailboxPolicy {
    /// Remove the policy `identity`.
    pub fn new(identity: PolicyIdentity) -> Self {
        Self::blank(identity)
    }
}
