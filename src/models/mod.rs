//! Response models of the typed cmdlets, and the open enums they use.
//!
//! Every property is an `Option` (the service sends `null` anywhere and `$select` leaves
//! properties out). Annotation keys (anything containing `@`, `(` or `[`) are ignored; any other
//! property this version does not model is kept in `extra`. Models serialize back with the
//! service's PascalCase names (plus `extra`), so they round-trip.
//!
//! Decoding is hand-rolled (no `#[serde(flatten)]`): one pass over the object, keys borrowed
//! from the input, each field read by a tolerant decoder (see [`FieldValue`] for what is
//! accepted). A value of an entirely wrong JSON type is a decode error (never a panic).

mod enums;
mod field;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::types::{ByteSize, DeviceId, ExchangeTimeSpan, RecoveryPassword, Unlimited};

pub use enums::*;
pub use field::{FieldValue, IntoField, is_annotation};

/// Builds one response model outside this crate: `MobileDevice::builder()`,
/// `MobileDeviceStatistics::builder()`, … return a `ModelBuilder` of that model, with one
/// setter per field (named like the field, taking anything that converts into its type) and
/// [`build`](ModelBuilder::build). Unset properties stay `None`, as when `$select` leaves
/// them out.
///
/// ```
/// use exchange_activesync::models::{ClientType, DeviceAccessState, MobileDevice};
///
/// let device = MobileDevice::builder()
///     .identity(r"alice\ExchangeActiveSyncDevices\iPhone§ABC")
///     .guid(uuid::Uuid::from_u128(7))
///     .device_type("iPhone")
///     .device_id("ABC")
///     .client_type(ClientType::Eas)
///     .device_access_state(DeviceAccessState::Blocked)
///     .build();
/// assert_eq!(device.device_type.as_deref(), Some("iPhone"));
/// assert_eq!(device.device_access_state, Some(DeviceAccessState::Blocked));
/// assert_eq!(device.device_model, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct ModelBuilder<T>(T);

/// Generates a model struct with its hand-rolled `Deserialize` and `Serialize`.
///
/// `adbase` appends the base properties of every AD-backed object (docs/cmdlets.md §0.7).
macro_rules! model {
    (
        $(#[$doc:meta])* $name:ident adbase {
            $($(#[$fdoc:meta])* $field:ident : $ty:ty = $key:literal),* $(,)?
        }
    ) => {
        model!(
            $(#[$doc])* $name {
                $($(#[$fdoc])* $field : $ty = $key,)*
                /// Display name set by an administrator.
                admin_display_name: String = "AdminDisplayName",
                /// Exchange version of the object, e.g. `0.20 (15.0.0.0)`.
                exchange_version: String = "ExchangeVersion",
                /// Directory object version (shape not documented; kept as JSON).
                directory_object_version: serde_json::Value = "DirectoryObjectVersion",
                /// Object name.
                name: String = "Name",
                /// Distinguished name.
                distinguished_name: String = "DistinguishedName",
                /// Identity, as accepted by the `-Identity` parameters.
                identity: String = "Identity",
                /// Directory object category.
                object_category: String = "ObjectCategory",
                /// Directory object classes.
                object_class: Vec<String> = "ObjectClass",
                /// Last change (service time zone).
                when_changed: DateTime<Utc> = "WhenChanged",
                /// Creation (service time zone).
                when_created: DateTime<Utc> = "WhenCreated",
                /// Last change, UTC.
                when_changed_utc: DateTime<Utc> = "WhenChangedUTC",
                /// Creation, UTC.
                when_created_utc: DateTime<Utc> = "WhenCreatedUTC",
                /// Exchange object id (same value as `Guid` for most objects).
                exchange_object_id: Uuid = "ExchangeObjectId",
                /// Organizational unit root.
                organizational_unit_root: String = "OrganizationalUnitRoot",
                /// Organization id.
                organization_id: String = "OrganizationId",
                /// Object id (text).
                id: String = "Id",
                /// Directory object GUID.
                guid: Uuid = "Guid",
                /// Server that answered.
                originating_server: String = "OriginatingServer",
                /// Whether the object passed validation.
                is_valid: bool = "IsValid",
                /// Object state.
                object_state: ObjectState = "ObjectState",
            }
        );
    };
    (
        $(#[$doc:meta])* $name:ident {
            $($(#[$fdoc:meta])* $field:ident : $ty:ty = $key:literal),* $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fdoc])*
                #[doc = concat!("\n\nService property `", $key, "`.")]
                pub $field: Option<$ty>,
            )*
            /// Properties this version does not model (annotation keys are dropped).
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// The service property names this model decodes, in output order.
            pub const PROPERTIES: &'static [&'static str] = &[$($key),*];

            #[doc = concat!(
                "A builder for a `", stringify!($name), "` with chosen properties (every other ",
                "one `None`), for tests and hand-written mocks outside this crate (the struct is ",
                "`#[non_exhaustive]`, so it cannot be written as a literal there). One setter ",
                "per field, named like the field; [`ModelBuilder::extra`] adds an unmodelled ",
                "property.",
            )]
            pub fn builder() -> ModelBuilder<$name> {
                ModelBuilder($name::default())
            }
        }

        impl ModelBuilder<$name> {
            $(
                #[doc = concat!("Set `", stringify!($field), "` (service property `", $key, "`).")]
                pub fn $field(mut self, value: impl IntoField<$ty>) -> Self {
                    self.0.$field = value.into_field();
                    self
                }
            )*

            /// Add a property this version does not model (kept in `extra`, serialized as is).
            pub fn extra(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
                self.0.extra.insert(key.into(), value.into());
                self
            }

            #[doc = concat!("The `", stringify!($name), "`.")]
            pub fn build(self) -> $name {
                self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(field::Key(key)) = map.next_key::<field::Key<'de>>()? {
                            match key.as_ref() {
                                $(
                                    $key => {
                                        out.$field = map.next_value_seed(field::Lenient::<$ty>::new())?;
                                    }
                                )*
                                k if is_annotation(k) => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                }
                                _ => {
                                    let v = map.next_value::<serde_json::Value>()?;
                                    out.extra.insert(key.into_owned(), v);
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut m = s.serialize_map(None)?;
                $(
                    if let Some(v) = &self.$field {
                        m.serialize_entry($key, &field::Enc(v))?;
                    }
                )*
                for (k, v) in &self.extra {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    };
}

model!(
    /// The organization's ActiveSync settings (`Get-ActiveSyncOrganizationSettings`).
    ActiveSyncOrganizationSettings adbase {
        /// Access level of devices no rule or list covers.
        default_access_level: DeviceAccessLevel = "DefaultAccessLevel",
        /// Undocumented tenant preference.
        tenant_admin_preference: TenantAdminPreference = "TenantAdminPreference",
        /// Footer of the quarantine notification mail.
        user_mail_insert: String = "UserMailInsert",
        /// Internal setting.
        allow_access_for_unsupported_platform: bool = "AllowAccessForUnSupportedPlatform",
        /// Apply the mobile mailbox policy when conditional access is in place.
        enable_mobile_mailbox_policy_when_ca_inplace: bool = "EnableMobileMailboxPolicyWhenCAInplace",
        /// Decrypt RMS-protected mail for clients that cannot handle RMS.
        allow_rms_support_for_unenlightened_apps: bool = "AllowRMSSupportForUnenlightenedApps",
        /// Administrators notified about quarantined devices.
        admin_mail_recipients: Vec<String> = "AdminMailRecipients",
        /// Text of the mail telling users to update old devices.
        ota_notification_mail_insert: String = "OtaNotificationMailInsert",
        /// Device filters (JSON shape not documented; kept as JSON).
        device_filtering: serde_json::Value = "DeviceFiltering",
        /// Whether Intune manages the devices.
        is_intune_managed: bool = "IsIntuneManaged",
        /// Whether the tenant has Azure AD Premium.
        has_azure_premium_subscription: bool = "HasAzurePremiumSubscription",
        /// Other well-known objects (shape not documented; kept as JSON).
        other_well_known_objects: serde_json::Value = "OtherWellKnownObjects",
    }
);

model!(
    /// A mobile device mailbox policy (`Get-`/`New-MobileDeviceMailboxPolicy`).
    MobileDeviceMailboxPolicy adbase {
        /// Devices that cannot enforce the whole policy may sync.
        allow_non_provisionable_devices: bool = "AllowNonProvisionableDevices",
        /// Password must contain letters and digits.
        alphanumeric_password_required: bool = "AlphanumericPasswordRequired",
        /// Attachments may be downloaded.
        attachments_enabled: bool = "AttachmentsEnabled",
        /// Device encryption is enabled.
        device_encryption_enabled: bool = "DeviceEncryptionEnabled",
        /// Storage card encryption is required.
        require_storage_card_encryption: bool = "RequireStorageCardEncryption",
        /// A password is required.
        password_enabled: bool = "PasswordEnabled",
        /// Password recovery is enabled.
        password_recovery_enabled: bool = "PasswordRecoveryEnabled",
        /// How often the device refreshes the policy.
        device_policy_refresh_interval: Unlimited<ExchangeTimeSpan> = "DevicePolicyRefreshInterval",
        /// Simple passwords are allowed.
        allow_simple_password: bool = "AllowSimplePassword",
        /// Largest attachment that syncs.
        max_attachment_size: Unlimited<ByteSize> = "MaxAttachmentSize",
        /// SharePoint access.
        wss_access_enabled: bool = "WSSAccessEnabled",
        /// UNC share access.
        unc_access_enabled: bool = "UNCAccessEnabled",
        /// Minimum password length (`None` also when not set).
        min_password_length: i32 = "MinPasswordLength",
        /// Inactivity before the device locks.
        max_inactivity_time_lock: Unlimited<ExchangeTimeSpan> = "MaxInactivityTimeLock",
        /// Failed attempts before the device wipes.
        max_password_failed_attempts: Unlimited<u32> = "MaxPasswordFailedAttempts",
        /// Password lifetime.
        password_expiration: Unlimited<ExchangeTimeSpan> = "PasswordExpiration",
        /// Number of previous passwords that cannot be reused.
        password_history: i32 = "PasswordHistory",
        /// Whether this is the default policy.
        is_default: bool = "IsDefault",
        /// Apple push notifications.
        allow_apple_push_notifications: bool = "AllowApplePushNotifications",
        /// Microsoft push notifications.
        allow_microsoft_push_notifications: bool = "AllowMicrosoftPushNotifications",
        /// Google push notifications.
        allow_google_push_notifications: bool = "AllowGooglePushNotifications",
        /// Storage cards.
        allow_storage_card: bool = "AllowStorageCard",
        /// Camera.
        allow_camera: bool = "AllowCamera",
        /// Device encryption is required.
        require_device_encryption: bool = "RequireDeviceEncryption",
        /// Unsigned applications.
        allow_unsigned_applications: bool = "AllowUnsignedApplications",
        /// Unsigned installation packages.
        allow_unsigned_installation_packages: bool = "AllowUnsignedInstallationPackages",
        /// Wi-Fi.
        allow_wifi: bool = "AllowWiFi",
        /// Text messaging.
        allow_text_messaging: bool = "AllowTextMessaging",
        /// POP/IMAP mail.
        allow_pop_imap_email: bool = "AllowPOPIMAPEmail",
        /// Infrared.
        allow_irda: bool = "AllowIrDA",
        /// Manual sync while roaming.
        require_manual_sync_when_roaming: bool = "RequireManualSyncWhenRoaming",
        /// Desktop sync.
        allow_desktop_sync: bool = "AllowDesktopSync",
        /// HTML mail.
        allow_html_email: bool = "AllowHTMLEmail",
        /// Signed S/MIME messages are required.
        require_signed_smime_messages: bool = "RequireSignedSMIMEMessages",
        /// Encrypted S/MIME messages are required.
        require_encrypted_smime_messages: bool = "RequireEncryptedSMIMEMessages",
        /// S/MIME soft certificates.
        allow_smime_soft_certs: bool = "AllowSMIMESoftCerts",
        /// Browser.
        allow_browser: bool = "AllowBrowser",
        /// Consumer mail.
        allow_consumer_email: bool = "AllowConsumerEmail",
        /// Remote desktop.
        allow_remote_desktop: bool = "AllowRemoteDesktop",
        /// Internet sharing.
        allow_internet_sharing: bool = "AllowInternetSharing",
        /// Bluetooth.
        allow_bluetooth: BluetoothType = "AllowBluetooth",
        /// Calendar history that syncs.
        max_calendar_age_filter: CalendarAgeFilterType = "MaxCalendarAgeFilter",
        /// Mail history that syncs.
        max_email_age_filter: EmailAgeFilterType = "MaxEmailAgeFilter",
        /// S/MIME signing algorithm.
        require_signed_smime_algorithm: SignedSMIMEAlgorithmType = "RequireSignedSMIMEAlgorithm",
        /// S/MIME encryption algorithm.
        require_encryption_smime_algorithm: EncryptionSMIMEAlgorithmType = "RequireEncryptionSMIMEAlgorithm",
        /// S/MIME algorithm negotiation.
        allow_smime_encryption_algorithm_negotiation: SMIMEEncryptionAlgorithmNegotiationType = "AllowSMIMEEncryptionAlgorithmNegotiation",
        /// Character classes a password needs.
        min_password_complex_characters: i32 = "MinPasswordComplexCharacters",
        /// Plain-text body truncation size (KB).
        max_email_body_truncation_size: Unlimited<u32> = "MaxEmailBodyTruncationSize",
        /// HTML body truncation size (KB).
        max_email_html_body_truncation_size: Unlimited<u32> = "MaxEmailHTMLBodyTruncationSize",
        /// Applications that may not run from ROM.
        unapproved_in_rom_application_list: Vec<String> = "UnapprovedInROMApplicationList",
        /// Approved applications (`<sha1>:<name>[:<cab>]`).
        approved_application_list: Vec<String> = "ApprovedApplicationList",
        /// External device management.
        allow_external_device_management: bool = "AllowExternalDeviceManagement",
        /// Over-the-air update mode.
        mobile_ota_update_mode: MobileOTAUpdateModeType = "MobileOTAUpdateMode",
        /// Over-the-air updates.
        allow_mobile_ota_update: bool = "AllowMobileOTAUpdate",
        /// Information Rights Management.
        irm_enabled: bool = "IrmEnabled",
    }
);

model!(
    /// A device access rule (`Get-`/`New-ActiveSyncDeviceAccessRule`).
    ActiveSyncDeviceAccessRule adbase {
        /// The exact value compared with the device.
        query_string: String = "QueryString",
        /// What the rule compares.
        characteristic: DeviceAccessCharacteristic = "Characteristic",
        /// What happens to matching devices.
        access_level: DeviceAccessLevel = "AccessLevel",
    }
);

model!(
    /// Statistics of one device partnership (`Get-MobileDeviceStatistics`). Note the
    /// capital-ID spelling `DeviceID` of this cmdlet.
    MobileDeviceStatistics {
        /// First sync.
        first_sync_time: DateTime<Utc> = "FirstSyncTime",
        /// Last policy update.
        last_policy_update_time: DateTime<Utc> = "LastPolicyUpdateTime",
        /// Last sync attempt.
        last_sync_attempt_time: DateTime<Utc> = "LastSyncAttemptTime",
        /// Last successful sync.
        last_success_sync: DateTime<Utc> = "LastSuccessSync",
        /// Device type.
        device_type: String = "DeviceType",
        /// Device id.
        device_id: String = "DeviceID",
        /// User agent.
        device_user_agent: String = "DeviceUserAgent",
        /// Full wipe sent.
        device_wipe_sent_time: DateTime<Utc> = "DeviceWipeSentTime",
        /// Full wipe requested.
        device_wipe_request_time: DateTime<Utc> = "DeviceWipeRequestTime",
        /// Full wipe acknowledged.
        device_wipe_ack_time: DateTime<Utc> = "DeviceWipeAckTime",
        /// Account-only wipe sent.
        account_only_device_wipe_sent_time: DateTime<Utc> = "AccountOnlyDeviceWipeSentTime",
        /// Account-only wipe requested.
        account_only_device_wipe_request_time: DateTime<Utc> = "AccountOnlyDeviceWipeRequestTime",
        /// Account-only wipe acknowledged.
        account_only_device_wipe_ack_time: DateTime<Utc> = "AccountOnlyDeviceWipeAckTime",
        /// Ping heartbeat, seconds.
        last_ping_heartbeat: u32 = "LastPingHeartbeat",
        /// Recovery password (`********` unless requested); never shown by `Debug`, and
        /// serialized as the mask.
        recovery_password: RecoveryPassword = "RecoveryPassword",
        /// Device model.
        device_model: String = "DeviceModel",
        /// IMEI.
        device_imei: String = "DeviceImei",
        /// Friendly name.
        device_friendly_name: String = "DeviceFriendlyName",
        /// Operating system.
        device_os: String = "DeviceOS",
        /// OS language.
        device_os_language: String = "DeviceOSLanguage",
        /// Phone number (masked but for the last four characters).
        device_phone_number: String = "DevicePhoneNumber",
        /// Mailbox log report (only with `GetMailboxLog`).
        mailbox_log_report: String = "MailboxLogReport",
        /// Outbound SMS.
        device_enable_outbound_sms: bool = "DeviceEnableOutboundSMS",
        /// Mobile operator.
        device_mobile_operator: String = "DeviceMobileOperator",
        /// Device identity.
        identity: String = "Identity",
        /// Directory GUID of the device (usable with Clear-/Remove-MobileDevice).
        guid: Uuid = "Guid",
        /// Whether remote wipe is supported.
        is_remote_wipe_supported: bool = "IsRemoteWipeSupported",
        /// Wipe status.
        status: DeviceRemoteWipeStatus = "Status",
        /// Explanation of a pending or finished wipe.
        status_note: String = "StatusNote",
        /// Access state.
        device_access_state: DeviceAccessState = "DeviceAccessState",
        /// Why the device has its access state.
        device_access_state_reason: DeviceAccessStateReason = "DeviceAccessStateReason",
        /// Rule that set the access state.
        device_access_control_rule: String = "DeviceAccessControlRule",
        /// Policy applied.
        device_policy_applied: String = "DevicePolicyApplied",
        /// How far the policy applied.
        device_policy_application_status: DevicePolicyApplicationStatus = "DevicePolicyApplicationStatus",
        /// Who asked for the last full wipe.
        last_device_wipe_requestor: String = "LastDeviceWipeRequestor",
        /// Who asked for the last account-only wipe.
        last_account_only_device_wipe_requestor: String = "LastAccountOnlyDeviceWipeRequestor",
        /// EAS protocol version.
        client_version: String = "ClientVersion",
        /// Folders synced.
        number_of_folders_synced: i32 = "NumberOfFoldersSynced",
        /// Sync state upgrade.
        sync_state_upgrade_time: DateTime<Utc> = "SyncStateUpgradeTime",
        /// Client type.
        client_type: ClientType = "ClientType",
        /// Whether the object passed validation.
        is_valid: bool = "IsValid",
        /// Object state.
        object_state: ObjectState = "ObjectState",
    }
);

model!(
    /// A device partnership (`Get-MobileDevice`).
    MobileDevice adbase {
        /// Friendly name.
        friendly_name: String = "FriendlyName",
        /// Device id (a value that is not a [`DeviceId`] reads as not set).
        device_id: DeviceId = "DeviceId",
        /// IMEI.
        device_imei: String = "DeviceImei",
        /// Mobile operator.
        device_mobile_operator: String = "DeviceMobileOperator",
        /// Operating system.
        device_os: String = "DeviceOS",
        /// OS language.
        device_os_language: String = "DeviceOSLanguage",
        /// Phone number.
        device_telephone_number: String = "DeviceTelephoneNumber",
        /// Device type.
        device_type: String = "DeviceType",
        /// User agent.
        device_user_agent: String = "DeviceUserAgent",
        /// Device model.
        device_model: String = "DeviceModel",
        /// First sync.
        first_sync_time: DateTime<Utc> = "FirstSyncTime",
        /// Owner display name (opaque; may look like a path).
        user_display_name: String = "UserDisplayName",
        /// Access state.
        device_access_state: DeviceAccessState = "DeviceAccessState",
        /// Why the device has its access state.
        device_access_state_reason: DeviceAccessStateReason = "DeviceAccessStateReason",
        /// Rule that set the access state.
        device_access_control_rule: String = "DeviceAccessControlRule",
        /// EAS protocol version.
        client_version: String = "ClientVersion",
        /// Client type.
        client_type: ClientType = "ClientType",
        /// Managed (Intune).
        is_managed: bool = "IsManaged",
        /// Compliant (Intune).
        is_compliant: bool = "IsCompliant",
        /// Disabled.
        is_disabled: bool = "IsDisabled",
    }
);

impl MobileDevice {
    /// The mailbox that owns the partnership: the first segment of its `Identity`
    /// (`<mailbox>\ExchangeActiveSyncDevices\<type>§<id>`), read in place; `None` when the
    /// identity is absent or not of that form.
    pub fn mailbox(&self) -> Option<&str> {
        let identity = self.identity.as_deref()?.trim();
        // A distinguished name or a wildcard names no mailbox (as `MobileDeviceIdentity`).
        if identity.contains(['*', '?'])
            || identity
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("CN="))
        {
            return None;
        }
        crate::types::identity::split_device_path(identity)?
            .ok()
            .map(|(mailbox, _)| mailbox)
    }
}

model!(
    /// A device type/model pair seen in the tenant (`Get-ActiveSyncDeviceClass`).
    ActiveSyncDeviceClass adbase {
        /// Device type.
        device_type: String = "DeviceType",
        /// Device model.
        device_model: String = "DeviceModel",
        /// Last time a device of this class synced.
        last_update_time: DateTime<Utc> = "LastUpdateTime",
    }
);

model!(
    /// One row of `Get-MobileDeviceDashboardSummaryReport`: the mobile devices of one device
    /// type across the tenant. The service does not document the row; the properties it has
    /// beyond these are kept in `extra`.
    MobileDeviceDashboardSummary {
        /// Device type (`iPhone`, `Android`, `Outlook`, …).
        device_type: String = "DeviceType",
        /// Partnerships of this type.
        total_devices: i32 = "TotalDevices",
        /// Of those, allowed.
        allowed_devices: i32 = "AllowedDevices",
        /// Of those, blocked.
        blocked_devices: i32 = "BlockedDevices",
        /// Of those, in quarantine.
        quarantined_devices: i32 = "QuarantinedDevices",
        /// Of those, synced successfully within the reporting window.
        active_devices: i32 = "ActiveDevices",
        /// Start of the reporting window.
        start_date: DateTime<Utc> = "StartDate",
        /// End of the reporting window.
        end_date: DateTime<Utc> = "EndDate",
    }
);

model!(
    /// A recipient (`Get-Recipient`, `ReducedRecipient`). Enum-like properties not listed in
    /// the crate's enums (`AuthenticationType`, `ResourceType`, `ArchiveState`, …) are text.
    Recipient adbase {
        /// Alias.
        alias: String = "Alias",
        /// Archive mailbox GUID.
        archive_guid: Uuid = "ArchiveGuid",
        /// `Managed` or `Federated`.
        authentication_type: String = "AuthenticationType",
        /// City.
        city: String = "City",
        /// Notes.
        notes: String = "Notes",
        /// Company.
        company: String = "Company",
        /// Country or region (display name).
        country_or_region: String = "CountryOrRegion",
        /// Postal code.
        postal_code: String = "PostalCode",
        /// Custom attribute 1.
        custom_attribute1: String = "CustomAttribute1",
        /// Custom attribute 2.
        custom_attribute2: String = "CustomAttribute2",
        /// Custom attribute 3.
        custom_attribute3: String = "CustomAttribute3",
        /// Custom attribute 4.
        custom_attribute4: String = "CustomAttribute4",
        /// Custom attribute 5.
        custom_attribute5: String = "CustomAttribute5",
        /// Custom attribute 6.
        custom_attribute6: String = "CustomAttribute6",
        /// Custom attribute 7.
        custom_attribute7: String = "CustomAttribute7",
        /// Custom attribute 8.
        custom_attribute8: String = "CustomAttribute8",
        /// Custom attribute 9.
        custom_attribute9: String = "CustomAttribute9",
        /// Custom attribute 10.
        custom_attribute10: String = "CustomAttribute10",
        /// Custom attribute 11.
        custom_attribute11: String = "CustomAttribute11",
        /// Custom attribute 12.
        custom_attribute12: String = "CustomAttribute12",
        /// Custom attribute 13.
        custom_attribute13: String = "CustomAttribute13",
        /// Custom attribute 14.
        custom_attribute14: String = "CustomAttribute14",
        /// Custom attribute 15.
        custom_attribute15: String = "CustomAttribute15",
        /// Extension custom attribute 1.
        extension_custom_attribute1: Vec<String> = "ExtensionCustomAttribute1",
        /// Extension custom attribute 2.
        extension_custom_attribute2: Vec<String> = "ExtensionCustomAttribute2",
        /// Extension custom attribute 3.
        extension_custom_attribute3: Vec<String> = "ExtensionCustomAttribute3",
        /// Extension custom attribute 4.
        extension_custom_attribute4: Vec<String> = "ExtensionCustomAttribute4",
        /// Extension custom attribute 5.
        extension_custom_attribute5: Vec<String> = "ExtensionCustomAttribute5",
        /// Mailbox database.
        database: String = "Database",
        /// Archive database.
        archive_database: String = "ArchiveDatabase",
        /// Database name.
        database_name: String = "DatabaseName",
        /// Department.
        department: String = "Department",
        /// Entra ID object id.
        external_directory_object_id: String = "ExternalDirectoryObjectId",
        /// Managed folder mailbox policy.
        managed_folder_mailbox_policy: String = "ManagedFolderMailboxPolicy",
        /// Proxy addresses (`SMTP:`, `smtp:`, `SIP:` …).
        email_addresses: Vec<String> = "EmailAddresses",
        /// Expansion server.
        expansion_server: String = "ExpansionServer",
        /// External email address.
        external_email_address: String = "ExternalEmailAddress",
        /// Display name.
        display_name: String = "DisplayName",
        /// First name.
        first_name: String = "FirstName",
        /// Hidden from address lists.
        hidden_from_address_lists_enabled: bool = "HiddenFromAddressListsEnabled",
        /// Email address policy applies.
        email_address_policy_enabled: bool = "EmailAddressPolicyEnabled",
        /// Last name.
        last_name: String = "LastName",
        /// `Room` or `Equipment`.
        resource_type: String = "ResourceType",
        /// Owners.
        managed_by: Vec<String> = "ManagedBy",
        /// Manager.
        manager: String = "Manager",
        /// ActiveSync mailbox policy (`None` means the default policy).
        active_sync_mailbox_policy: String = "ActiveSyncMailboxPolicy",
        /// Whether the default policy applies implicitly.
        active_sync_mailbox_policy_is_defaulted: bool = "ActiveSyncMailboxPolicyIsDefaulted",
        /// Office.
        office: String = "Office",
        /// Organizational unit.
        organizational_unit: String = "OrganizationalUnit",
        /// Phone.
        phone: String = "Phone",
        /// Policies included.
        policies_included: Vec<String> = "PoliciesIncluded",
        /// Policies excluded.
        policies_excluded: Vec<String> = "PoliciesExcluded",
        /// Primary SMTP address.
        primary_smtp_address: String = "PrimarySmtpAddress",
        /// Recipient type.
        recipient_type: RecipientType = "RecipientType",
        /// Recipient subtype.
        recipient_type_details: RecipientTypeDetails = "RecipientTypeDetails",
        /// SAM account name.
        sam_account_name: String = "SamAccountName",
        /// Server legacy DN.
        server_legacy_dn: String = "ServerLegacyDN",
        /// Server name.
        server_name: String = "ServerName",
        /// State or province.
        state_or_province: String = "StateOrProvince",
        /// Storage group name.
        storage_group_name: String = "StorageGroupName",
        /// Title.
        title: String = "Title",
        /// Unified messaging enabled.
        um_enabled: bool = "UMEnabled",
        /// UM mailbox policy.
        um_mailbox_policy: String = "UMMailboxPolicy",
        /// UM dial plan.
        um_recipient_dial_plan_id: String = "UMRecipientDialPlanId",
        /// Windows Live ID.
        windows_live_id: String = "WindowsLiveID",
        /// Has at least one ActiveSync partnership.
        has_active_sync_device_partnership: bool = "HasActiveSyncDevicePartnership",
        /// Address lists.
        address_list_membership: Vec<String> = "AddressListMembership",
        /// OWA mailbox policy.
        owa_mailbox_policy: String = "OwaMailboxPolicy",
        /// Address book policy.
        address_book_policy: String = "AddressBookPolicy",
        /// Sharing policy.
        sharing_policy: String = "SharingPolicy",
        /// Retention policy.
        retention_policy: String = "RetentionPolicy",
        /// Default retention policy applies.
        should_use_default_retention_policy: bool = "ShouldUseDefaultRetentionPolicy",
        /// Move target database.
        mailbox_move_target_mdb: String = "MailboxMoveTargetMDB",
        /// Move source database.
        mailbox_move_source_mdb: String = "MailboxMoveSourceMDB",
        /// Move flags.
        mailbox_move_flags: String = "MailboxMoveFlags",
        /// Move remote host.
        mailbox_move_remote_host_name: String = "MailboxMoveRemoteHostName",
        /// Move batch.
        mailbox_move_batch_name: String = "MailboxMoveBatchName",
        /// Move status.
        mailbox_move_status: String = "MailboxMoveStatus",
        /// Mailbox release.
        mailbox_release: String = "MailboxRelease",
        /// Archive release.
        archive_release: String = "ArchiveRelease",
        /// Valid security principal.
        is_valid_security_principal: bool = "IsValidSecurityPrincipal",
        /// Litigation hold.
        litigation_hold_enabled: bool = "LitigationHoldEnabled",
        /// Capabilities.
        capabilities: Vec<String> = "Capabilities",
        /// Archive state.
        archive_state: String = "ArchiveState",
        /// License assigned.
        sku_assigned: bool = "SKUAssigned",
        /// Mailbox creation.
        when_mailbox_created: DateTime<Utc> = "WhenMailboxCreated",
        /// Usage location (country name).
        usage_location: String = "UsageLocation",
        /// Mailbox GUID.
        exchange_guid: Uuid = "ExchangeGuid",
        /// Archive status.
        archive_status: String = "ArchiveStatus",
    }
);

model!(
    /// The client-access settings of a mailbox (`Get-CASMailbox`), ActiveSync side. The other
    /// protocols' settings (`OWAEnabled`, `PopEnabled`, …) stay in `extra`.
    CasMailbox adbase {
        /// Display name.
        display_name: String = "DisplayName",
        /// Primary SMTP address.
        primary_smtp_address: String = "PrimarySmtpAddress",
        /// Entra object id.
        external_directory_object_id: String = "ExternalDirectoryObjectId",
        /// Whether Exchange ActiveSync is enabled for the mailbox.
        active_sync_enabled: bool = "ActiveSyncEnabled",
        /// Device ids allowed individually (`DeviceAccessStateReason: Individual`).
        active_sync_allowed_device_ids: Vec<String> = "ActiveSyncAllowedDeviceIDs",
        /// Device ids blocked individually (`DeviceAccessStateReason: Individual`).
        active_sync_blocked_device_ids: Vec<String> = "ActiveSyncBlockedDeviceIDs",
        /// Mobile device mailbox policy.
        active_sync_mailbox_policy: String = "ActiveSyncMailboxPolicy",
        /// Whether the policy is the default one.
        active_sync_mailbox_policy_is_defaulted: bool = "ActiveSyncMailboxPolicyIsDefaulted",
        /// Whether read receipts from ActiveSync clients are suppressed.
        active_sync_suppress_read_receipt: bool = "ActiveSyncSuppressReadReceipt",
        /// Whether ActiveSync debug logging is on.
        active_sync_debug_logging: bool = "ActiveSyncDebugLogging",
        /// Has at least one ActiveSync partnership.
        has_active_sync_device_partnership: bool = "HasActiveSyncDevicePartnership",
    }
);
