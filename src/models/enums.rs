//! Open enums: every known value is a variant, anything else is kept in `Other(String)`.
//!
//! Parsing is case-insensitive and never fails; `as_str()`/`Display` give the service's
//! spelling (or the original text of an `Other` value), and serde reads and writes the string.

use std::fmt;

macro_rules! open_enum {
    (
        $(#[$doc:meta])*
        $name:ident { $($variant:ident = $text:literal),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
            /// A value this version of the crate does not know (kept verbatim).
            Other(String),
        }

        impl $name {
            /// Every value this version knows, in the service's spelling.
            pub const KNOWN: &'static [&'static str] = &[$($text),*];

            /// The service's spelling of the value.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s.as_str(),
                }
            }

            /// Whether the value is one of [`Self::KNOWN`].
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                let t = s.trim();
                $(
                    if t.eq_ignore_ascii_case($text) {
                        return $name::$variant;
                    }
                )*
                $name::Other(t.to_string())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name::from(s.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(EnumVisitor::<$name>::new(stringify!($name)))
            }
        }

        impl From<$name> for crate::types::FilterValue {
            fn from(v: $name) -> Self {
                crate::types::FilterValue::Text(v.as_str().to_string())
            }
        }

        impl crate::protocol::ParamValue for $name {
            fn to_json(&self) -> serde_json::Value {
                serde_json::Value::String(self.as_str().to_string())
            }
        }
    };
}

/// Reads an enum from a string (or, tolerantly, from a number, kept as text in `Other`).
struct EnumVisitor<T> {
    name: &'static str,
    marker: std::marker::PhantomData<fn() -> T>,
}

impl<T> EnumVisitor<T> {
    fn new(name: &'static str) -> Self {
        EnumVisitor {
            name,
            marker: std::marker::PhantomData,
        }
    }
}

impl<T: for<'a> From<&'a str> + From<String>> serde::de::Visitor<'_> for EnumVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} name", self.name)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from(v))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<T, E> {
        Ok(T::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::from(v.to_string()))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::from(v.to_string()))
    }
}

open_enum!(
    /// Whether a device may sync (`DeviceAccessState`).
    DeviceAccessState {
        Unknown = "Unknown",
        Allowed = "Allowed",
        Blocked = "Blocked",
        Quarantined = "Quarantined",
        DeviceDiscovery = "DeviceDiscovery",
    }
);

open_enum!(
    /// Why a device has its access state (`DeviceAccessStateReason`).
    DeviceAccessStateReason {
        Unknown = "Unknown",
        Global = "Global",
        Individual = "Individual",
        DeviceRule = "DeviceRule",
        Upgrade = "Upgrade",
        Policy = "Policy",
        UserAgentsChanges = "UserAgentsChanges",
        RecentCommands = "RecentCommands",
        Watsons = "Watsons",
        OutOfBudgets = "OutOfBudgets",
        SyncCommands = "SyncCommands",
        EnableNotificationEmail = "EnableNotificationEmail",
        CommandFrequency = "CommandFrequency",
        ExternallyManaged = "ExternallyManaged",
        ExternalCompliance = "ExternalCompliance",
        ExternalEnrollment = "ExternalEnrollment",
    }
);

open_enum!(
    /// Access level of a rule or of the organization default (`DeviceAccessLevel`).
    DeviceAccessLevel {
        Allow = "Allow",
        Block = "Block",
        Quarantine = "Quarantine",
    }
);

open_enum!(
    /// What a device access rule matches on (`DeviceAccessCharacteristic`).
    DeviceAccessCharacteristic {
        DeviceType = "DeviceType",
        DeviceModel = "DeviceModel",
        DeviceOS = "DeviceOS",
        UserAgent = "UserAgent",
        XMSWLHeader = "XMSWLHeader",
    }
);

open_enum!(
    /// The kind of client behind a partnership (`ClientType`). `UniversalOutlook` is inferred
    /// from the `-UniversalOutlook` switch.
    ClientType {
        Eas = "EAS",
        Mowa = "MOWA",
        Rest = "REST",
        Outlook = "Outlook",
        UniversalOutlook = "UniversalOutlook",
    }
);

impl ClientType {
    /// Whether the partnership is REST-based (Outlook for iOS / Android: `REST`, `Outlook`,
    /// `UniversalOutlook`): it supports only the account-only wipe and reports no sync times.
    pub fn is_rest_based(&self) -> bool {
        matches!(
            self,
            ClientType::Rest | ClientType::Outlook | ClientType::UniversalOutlook
        ) || self.as_str().eq_ignore_ascii_case("rest")
            || self.as_str().to_ascii_lowercase().contains("outlook")
    }
}

open_enum!(
    /// How far a device applied its policy (`DevicePolicyApplicationStatus`).
    DevicePolicyApplicationStatus {
        Unknown = "Unknown",
        NotApplied = "NotApplied",
        AppliedInFull = "AppliedInFull",
        PartiallyApplied = "PartiallyApplied",
        ExternallyManaged = "ExternallyManaged",
    }
);

open_enum!(
    /// Remote wipe state of a device (statistics `Status`).
    DeviceRemoteWipeStatus {
        DeviceOk = "DeviceOk",
        DeviceBlocked = "DeviceBlocked",
        DeviceWipePending = "DeviceWipePending",
        DeviceWipeSucceeded = "DeviceWipeSucceeded",
        AccountOnlyDeviceWipePending = "AccountOnlyDeviceWipePending",
        AccountOnlyDeviceWipeSucceeded = "AccountOnlyDeviceWipeSucceeded",
    }
);

open_enum!(
    /// Bluetooth policy (`AllowBluetooth`).
    BluetoothType {
        Disable = "Disable",
        HandsfreeOnly = "HandsfreeOnly",
        Allow = "Allow",
    }
);

open_enum!(
    /// How much calendar history syncs (`MaxCalendarAgeFilter`).
    CalendarAgeFilterType {
        All = "All",
        TwoWeeks = "TwoWeeks",
        OneMonth = "OneMonth",
        ThreeMonths = "ThreeMonths",
        SixMonths = "SixMonths",
    }
);

open_enum!(
    /// How much mail history syncs (`MaxEmailAgeFilter`).
    EmailAgeFilterType {
        All = "All",
        OneDay = "OneDay",
        ThreeDays = "ThreeDays",
        OneWeek = "OneWeek",
        TwoWeeks = "TwoWeeks",
        OneMonth = "OneMonth",
    }
);

open_enum!(
    /// Signing algorithm for S/MIME (`RequireSignedSMIMEAlgorithm`).
    SignedSMIMEAlgorithmType {
        Sha1 = "SHA1",
        Md5 = "MD5",
    }
);

open_enum!(
    /// Encryption algorithm for S/MIME (`RequireEncryptionSMIMEAlgorithm`).
    EncryptionSMIMEAlgorithmType {
        TripleDes = "TripleDES",
        Des = "DES",
        Rc2128bit = "RC2128bit",
        Rc264bit = "RC264bit",
        Rc240bit = "RC240bit",
    }
);

open_enum!(
    /// S/MIME algorithm negotiation (`AllowSMIMEEncryptionAlgorithmNegotiation`).
    SMIMEEncryptionAlgorithmNegotiationType {
        BlockNegotiation = "BlockNegotiation",
        OnlyStrongAlgorithmNegotiation = "OnlyStrongAlgorithmNegotiation",
        AllowAnyAlgorithmNegotiation = "AllowAnyAlgorithmNegotiation",
    }
);

open_enum!(
    /// Over-the-air update mode (`MobileOTAUpdateMode`, output only in Exchange Online).
    MobileOTAUpdateModeType {
        MajorVersionUpdates = "MajorVersionUpdates",
        MinorVersionUpdates = "MinorVersionUpdates",
        BetaVersionUpdates = "BetaVersionUpdates",
    }
);

open_enum!(
    /// Recipient type (`RecipientType`).
    RecipientType {
        User = "User",
        UserMailbox = "UserMailbox",
        MailUser = "MailUser",
        Contact = "Contact",
        MailContact = "MailContact",
        Group = "Group",
        MailUniversalDistributionGroup = "MailUniversalDistributionGroup",
        MailUniversalSecurityGroup = "MailUniversalSecurityGroup",
        MailNonUniversalGroup = "MailNonUniversalGroup",
        DynamicDistributionGroup = "DynamicDistributionGroup",
        PublicFolder = "PublicFolder",
        PublicDatabase = "PublicDatabase",
        SystemAttendantMailbox = "SystemAttendantMailbox",
        SystemMailbox = "SystemMailbox",
        MicrosoftExchange = "MicrosoftExchange",
        Computer = "Computer",
    }
);

open_enum!(
    /// Recipient subtype (`RecipientTypeDetails`).
    RecipientTypeDetails {
        ArbitrationMailbox = "ArbitrationMailbox",
        AuditLogMailbox = "AuditLogMailbox",
        Contact = "Contact",
        DisabledUser = "DisabledUser",
        DiscoveryMailbox = "DiscoveryMailbox",
        DynamicDistributionGroup = "DynamicDistributionGroup",
        EquipmentMailbox = "EquipmentMailbox",
        GroupMailbox = "GroupMailbox",
        GuestMailUser = "GuestMailUser",
        LegacyMailbox = "LegacyMailbox",
        LinkedMailbox = "LinkedMailbox",
        LinkedRoomMailbox = "LinkedRoomMailbox",
        LinkedUser = "LinkedUser",
        MailContact = "MailContact",
        MailForestContact = "MailForestContact",
        MailNonUniversalGroup = "MailNonUniversalGroup",
        MailUniversalDistributionGroup = "MailUniversalDistributionGroup",
        MailUniversalSecurityGroup = "MailUniversalSecurityGroup",
        MailUser = "MailUser",
        MonitoringMailbox = "MonitoringMailbox",
        NonUniversalGroup = "NonUniversalGroup",
        PublicFolder = "PublicFolder",
        PublicFolderMailbox = "PublicFolderMailbox",
        RemoteEquipmentMailbox = "RemoteEquipmentMailbox",
        RemoteGroupMailbox = "RemoteGroupMailbox",
        RemoteRoomMailbox = "RemoteRoomMailbox",
        RemoteSharedMailbox = "RemoteSharedMailbox",
        RemoteTeamMailbox = "RemoteTeamMailbox",
        RemoteUserMailbox = "RemoteUserMailbox",
        RoleGroup = "RoleGroup",
        RoomList = "RoomList",
        RoomMailbox = "RoomMailbox",
        SchedulingMailbox = "SchedulingMailbox",
        SharedMailbox = "SharedMailbox",
        SharedWithMailUser = "SharedWithMailUser",
        TeamMailbox = "TeamMailbox",
        UniversalDistributionGroup = "UniversalDistributionGroup",
        UniversalSecurityGroup = "UniversalSecurityGroup",
        User = "User",
        UserMailbox = "UserMailbox",
    }
);

impl RecipientTypeDetails {
    /// The `RecipientType` this subtype belongs to, where the documentation makes it clear
    /// (used to check `Get-Recipient -RecipientTypeDetails` against `-RecipientType`).
    pub fn recipient_type(&self) -> Option<RecipientType> {
        use RecipientTypeDetails as D;
        Some(match self {
            D::ArbitrationMailbox
            | D::AuditLogMailbox
            | D::DiscoveryMailbox
            | D::EquipmentMailbox
            | D::LegacyMailbox
            | D::LinkedMailbox
            | D::LinkedRoomMailbox
            | D::MonitoringMailbox
            | D::PublicFolderMailbox
            | D::RoomMailbox
            | D::SchedulingMailbox
            | D::SharedMailbox
            | D::TeamMailbox
            | D::UserMailbox => RecipientType::UserMailbox,
            D::GuestMailUser
            | D::MailUser
            | D::RemoteEquipmentMailbox
            | D::RemoteRoomMailbox
            | D::RemoteSharedMailbox
            | D::RemoteTeamMailbox
            | D::RemoteUserMailbox
            | D::SharedWithMailUser => RecipientType::MailUser,
            D::MailContact | D::MailForestContact => RecipientType::MailContact,
            D::MailNonUniversalGroup => RecipientType::MailNonUniversalGroup,
            D::MailUniversalDistributionGroup | D::RoomList | D::GroupMailbox => {
                RecipientType::MailUniversalDistributionGroup
            }
            D::MailUniversalSecurityGroup => RecipientType::MailUniversalSecurityGroup,
            D::DynamicDistributionGroup => RecipientType::DynamicDistributionGroup,
            D::PublicFolder => RecipientType::PublicFolder,
            _ => return None,
        })
    }
}

open_enum!(
    /// State of a directory object in the output (`ObjectState`).
    ObjectState {
        New = "New",
        Unchanged = "Unchanged",
        Changed = "Changed",
        Deleted = "Deleted",
    }
);

open_enum!(
    /// `TenantAdminPreference` of the organization settings. Its values are undocumented, so
    /// every value is kept in `Other`.
    TenantAdminPreference {}
);

/// Typed forms of identity helpers (kept here so that `types` does not depend on `models`).
impl crate::types::AccessRuleIdentity {
    /// The name the server gives a rule: `<QueryString> (<Characteristic>)`, e.g.
    /// `ContosoPhone (DeviceModel)`.
    pub fn for_rule(
        query_string: &str,
        characteristic: &DeviceAccessCharacteristic,
    ) -> Result<Self, crate::types::ValueError> {
        Self::for_rule_named(query_string, characteristic.as_str())
    }
}

impl crate::types::MobileDeviceIdentity {
    /// The client type, when the object name has three parts (`REST§Outlook§…`); EAS
    /// partnerships (two parts) return `Some(ClientType::Eas)`.
    pub fn client_type(&self) -> Option<ClientType> {
        self.client_type_name().map(ClientType::from)
    }
}
