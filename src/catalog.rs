//! The catalog: one declarative table of every cmdlet this crate types.
//!
//! Each [`CmdletInfo`] says, in one place, what used to be spread over many tables: the name
//! and the casing the module exports it with, the [`CmdletKind`], the [`OutputShape`] (and so
//! whether paging may follow a continuation), whether it declares `ResultSize`, whether a
//! permission probe may run it, the roles and role groups that grant it, its write scope and the
//! [`ConnectorProfile`]s that need it.
//!
//! Why a `static` table rather than a trait per cmdlet type: the facts are needed where no
//! request type is at hand (raw calls by name, the permission checker, the fake tenant), they are
//! data rather than behaviour, and a table can be checked as a whole by tests (every profile
//! cmdlet is in it, every entry is exported by the module). Typed requests point at their entry
//! (`Cmdlet::INFO`), so the two cannot drift apart. The table sits at the bottom of the crate and
//! imports nothing from it but the error type.

use std::fmt;

use crate::error::{Error, Result};

/// How a cmdlet affects the tenant; decides retries, confirmation and identity checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CmdletKind {
    /// Reads only (`Get-*`, `Test-*`): retried after timeouts and connection errors.
    Read,
    /// Changes state (`Set-*`, `New-*`, `Add-*`, …): retried only when provably not processed.
    Write,
    /// Destroys state (`Remove-*`, `Clear-*`): never sent without an identity, always with
    /// `Confirm: false`, never retried after an ambiguous failure.
    Destructive,
}

impl CmdletKind {
    /// Classify a cmdlet (case-insensitive): its catalog kind when the crate types it,
    /// otherwise by its verb.
    ///
    /// A name that is not exactly `Verb-Noun` (see [`is_cmdlet_name`]) is classified
    /// [`CmdletKind::Destructive`], the most guarded kind; such a name is refused by
    /// [`Invocation::validate`](crate::protocol::Invocation::validate) anyway.
    pub fn from_cmdlet_name(name: &str) -> CmdletKind {
        if let Some(info) = lookup(name) {
            return info.kind;
        }
        if !is_cmdlet_name(name) {
            return CmdletKind::Destructive;
        }
        let verb = name.split('-').next().unwrap_or("").to_ascii_lowercase();
        match verb.as_str() {
            // Only verbs that never change anything read; `Search-` and `Export-` cmdlets
            // can delete content or start export jobs.
            "get" | "test" => CmdletKind::Read,
            "remove" | "clear" | "disable" | "stop" | "undo" | "revoke" => CmdletKind::Destructive,
            _ => CmdletKind::Write,
        }
    }

    /// The stricter of two kinds (destructive over write over read).
    pub fn stricter(a: CmdletKind, b: CmdletKind) -> CmdletKind {
        let rank = |k: CmdletKind| match k {
            CmdletKind::Read => 0,
            CmdletKind::Write => 1,
            CmdletKind::Destructive => 2,
        };
        if rank(a) >= rank(b) { a } else { b }
    }

    /// Whether the cmdlet changes anything.
    pub fn is_mutating(self) -> bool {
        !matches!(self, CmdletKind::Read)
    }
}

impl fmt::Display for CmdletKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmdletKind::Read => "read",
            CmdletKind::Write => "write",
            CmdletKind::Destructive => "destructive",
        })
    }
}

/// The property that identifies a row of a listing, used to skip rows already seen when an
/// enumeration restarts from the first page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RowKey {
    /// The object's `Guid`.
    Guid,
    /// The object's `Identity`.
    Identity,
}

impl RowKey {
    /// The service property name.
    pub fn property(self) -> &'static str {
        match self {
            RowKey::Guid => "Guid",
            RowKey::Identity => "Identity",
        }
    }
}

/// What a cmdlet answers with. Only a listing is ever paged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutputShape {
    /// Any number of rows, across pages (`Get-*` of collections).
    Listing {
        /// The row key (`None`: rows cannot be told apart, an expired continuation fails).
        key: Option<RowKey>,
    },
    /// Exactly one object (`Get-ActiveSyncOrganizationSettings`).
    Single,
    /// The created object, when the service returns it (`New-*`).
    Created,
    /// Nothing but warnings (`Set-*`, `Remove-*`, `Clear-*`).
    NoOutput,
}

impl OutputShape {
    /// Whether continuations may be followed.
    pub fn is_listing(self) -> bool {
        matches!(self, OutputShape::Listing { .. })
    }

    /// The row key of a listing.
    pub fn row_key(self) -> Option<RowKey> {
        match self {
            OutputShape::Listing { key } => key,
            _ => None,
        }
    }
}

/// Which write scope of a management role assignment applies to a cmdlet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteScope {
    /// Organization configuration (`ConfigWriteScope`).
    Config,
    /// Recipients (`RecipientWriteScope`).
    Recipient,
}

/// Which set of cmdlets a connector needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectorProfile {
    /// Exchange Online: the cmdlets of the Intune service-to-service connector.
    ExchangeOnline,
    /// The hosted Exchange variant: the Exchange Online cmdlets plus Get-Recipient,
    /// Clear-MobileDevice (remote wipe) and Remove-MobileDevice.
    HostedExchange,
}

impl ConnectorProfile {
    /// Every profile.
    pub const ALL: [ConnectorProfile; 2] = [
        ConnectorProfile::ExchangeOnline,
        ConnectorProfile::HostedExchange,
    ];

    /// The profile's command-line name (`exchange-online`, `hosted-exchange`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectorProfile::ExchangeOnline => "exchange-online",
            ConnectorProfile::HostedExchange => "hosted-exchange",
        }
    }

    /// Parse a command-line name (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "exchange-online" | "exchangeonline" | "exo" => Ok(ConnectorProfile::ExchangeOnline),
            "hosted-exchange" | "hostedexchange" | "hosted" => Ok(ConnectorProfile::HostedExchange),
            other => Err(Error::invalid_input(format!(
                "unknown profile {other:?}; expected exchange-online or hosted-exchange"
            ))),
        }
    }

    /// The catalog entries the profile needs, in catalog order.
    pub fn cmdlets(self) -> impl Iterator<Item = &'static CmdletInfo> {
        all().iter().filter(move |c| c.profiles.contains(&self))
    }
}

impl fmt::Display for ConnectorProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cmdlet the crate types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CmdletInfo {
    /// The cmdlet name, e.g. `Get-MobileDeviceMailboxPolicy`.
    pub name: &'static str,
    /// The name as the module exports it (some are lower-case first:
    /// `get-MobileDeviceMailboxPolicy`).
    pub export_name: &'static str,
    /// Read, write or destructive.
    pub kind: CmdletKind,
    /// What it answers with.
    pub shape: OutputShape,
    /// Whether the module declares `ResultSize` for it.
    pub result_size: bool,
    /// Whether a permission probe may run it (a harmless read).
    pub probe: bool,
    /// Built-in management roles expected to grant it, strongest first (docs/permissions.md §3.2).
    pub roles: &'static [&'static str],
    /// Built-in role groups holding one of those roles by default.
    pub role_groups: &'static [&'static str],
    /// Config or recipient write scope.
    pub scope: WriteScope,
    /// The connector profiles that need it.
    pub profiles: &'static [ConnectorProfile],
    /// The parameters the connectors pass to it (what a granting role entry must allow).
    pub connector_parameters: &'static [&'static str],
}

impl CmdletInfo {
    /// Whether continuations of this cmdlet may be followed.
    pub fn pages(&self) -> bool {
        self.shape.is_listing()
    }
}

/// The names of the built-in management roles and role groups the catalog speaks of (the one
/// place they are spelled; the permission check and the simulated tenant use these).
pub mod roles {
    /// Organization Client Access (ActiveSync org settings, device access rules, classes).
    pub const ORGANIZATION_CLIENT_ACCESS: &str = "Organization Client Access";
    /// Recipient Policies (mobile device mailbox policies).
    pub const RECIPIENT_POLICIES: &str = "Recipient Policies";
    /// Mail Recipients (devices, statistics, wipes, recipients).
    pub const MAIL_RECIPIENTS: &str = "Mail Recipients";
    /// Mail Recipient Creation (recipient reads).
    pub const MAIL_RECIPIENT_CREATION: &str = "Mail Recipient Creation";
    /// User Options (devices, statistics, wipes, recipients).
    pub const USER_OPTIONS: &str = "User Options";
    /// Reset Password (recipient reads).
    pub const RESET_PASSWORD: &str = "Reset Password";
    /// View-Only Configuration (configuration reads, RBAC reads).
    pub const VIEW_ONLY_CONFIGURATION: &str = "View-Only Configuration";
    /// View-Only Recipients (device and recipient reads).
    pub const VIEW_ONLY_RECIPIENTS: &str = "View-Only Recipients";
    /// Role Management (RBAC).
    pub const ROLE_MANAGEMENT: &str = "Role Management";

    /// Role group Organization Management (every role above).
    pub const ORGANIZATION_MANAGEMENT: &str = "Organization Management";
    /// Role group Recipient Management.
    pub const RECIPIENT_MANAGEMENT: &str = "Recipient Management";
    /// Role group View-Only Organization Management.
    pub const VIEW_ONLY_ORGANIZATION_MANAGEMENT: &str = "View-Only Organization Management";
    /// Role group Help Desk.
    pub const HELP_DESK: &str = "Help Desk";
}

use roles::*;

const BOTH: &[ConnectorProfile] = &[
    ConnectorProfile::ExchangeOnline,
    ConnectorProfile::HostedExchange,
];
const HOSTED: &[ConnectorProfile] = &[ConnectorProfile::HostedExchange];
const NONE: &[ConnectorProfile] = &[];

const SINGLE: OutputShape = OutputShape::Single;
const CREATED: OutputShape = OutputShape::Created;
const NO_OUTPUT: OutputShape = OutputShape::NoOutput;
const GUID_LISTING: OutputShape = OutputShape::Listing {
    key: Some(RowKey::Guid),
};
const IDENTITY_LISTING: OutputShape = OutputShape::Listing {
    key: Some(RowKey::Identity),
};

/// Who grants a cmdlet: (roles, role groups).
type Grants = (&'static [&'static str], &'static [&'static str]);

const CONFIG_READ: Grants = (
    &[ORGANIZATION_CLIENT_ACCESS, VIEW_ONLY_CONFIGURATION],
    &[ORGANIZATION_MANAGEMENT, VIEW_ONLY_ORGANIZATION_MANAGEMENT],
);
const CONFIG_WRITE: Grants = (&[ORGANIZATION_CLIENT_ACCESS], &[ORGANIZATION_MANAGEMENT]);
const POLICY_READ: Grants = (
    &[RECIPIENT_POLICIES, VIEW_ONLY_CONFIGURATION],
    &[
        ORGANIZATION_MANAGEMENT,
        RECIPIENT_MANAGEMENT,
        VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    ],
);
const POLICY_WRITE: Grants = (
    &[RECIPIENT_POLICIES],
    &[ORGANIZATION_MANAGEMENT, RECIPIENT_MANAGEMENT],
);
const DEVICE_READ: Grants = (
    &[MAIL_RECIPIENTS, USER_OPTIONS, VIEW_ONLY_RECIPIENTS],
    &[
        ORGANIZATION_MANAGEMENT,
        RECIPIENT_MANAGEMENT,
        HELP_DESK,
        VIEW_ONLY_ORGANIZATION_MANAGEMENT,
    ],
);
const DEVICE_WRITE: Grants = (
    &[MAIL_RECIPIENTS, USER_OPTIONS],
    &[ORGANIZATION_MANAGEMENT, RECIPIENT_MANAGEMENT, HELP_DESK],
);
const RECIPIENT_READ: Grants = (
    &[
        MAIL_RECIPIENTS,
        MAIL_RECIPIENT_CREATION,
        VIEW_ONLY_RECIPIENTS,
        USER_OPTIONS,
        RESET_PASSWORD,
    ],
    &[
        ORGANIZATION_MANAGEMENT,
        RECIPIENT_MANAGEMENT,
        VIEW_ONLY_ORGANIZATION_MANAGEMENT,
        HELP_DESK,
    ],
);
const RBAC_READ: Grants = (
    &[VIEW_ONLY_CONFIGURATION, ROLE_MANAGEMENT],
    &[ORGANIZATION_MANAGEMENT, VIEW_ONLY_ORGANIZATION_MANAGEMENT],
);

/// The mobile-device mailbox policy parameters the connector passes, after `first`.
macro_rules! policy_connector {
    ($first:literal) => {
        &[
            $first,
            "IsDefault",
            "PasswordEnabled",
            "AllowSimplePassword",
            "AlphanumericPasswordRequired",
            "MinPasswordLength",
            "MaxPasswordFailedAttempts",
            "MaxInactivityTimeLock",
            "PasswordExpiration",
            "PasswordHistory",
            "RequireDeviceEncryption",
        ]
    };
}

/// The table, one row per cmdlet, handed to `$callback`:
///
/// `CONST = "Name" / "export name", kind, shape, ResultSize, probe, grants, scope, profiles,
/// connector parameters [=> RequestType method [/ stream_method]];`
///
/// The catalog's constants and [`all`] come from it, and so do the typed client's named
/// methods (`=> …`: the request type in [`crate::cmdlets`], the method of
/// [`ExchangeClientExt`](crate::ExchangeClientExt), and for listings its stream method).
///
/// Order: the Exchange Online connector's cmdlets, then the hosted-Exchange additions, then
/// the cmdlets the permission check runs, then the per-mailbox ActiveSync settings (per-device
/// allow and block lists), then the reports.
macro_rules! cmdlet_table {
    ($callback:ident) => {
        $callback! {
            GET_ACTIVE_SYNC_ORGANIZATION_SETTINGS =
                "Get-ActiveSyncOrganizationSettings" / "Get-ActiveSyncOrganizationSettings",
                Read, SINGLE, false, true, CONFIG_READ, Config, BOTH, &[]
                => GetActiveSyncOrganizationSettings get_active_sync_organization_settings;
            SET_ACTIVE_SYNC_ORGANIZATION_SETTINGS =
                "Set-ActiveSyncOrganizationSettings" / "Set-ActiveSyncOrganizationSettings",
                Write, NO_OUTPUT, false, false, CONFIG_WRITE, Config, BOTH,
                &["Identity", "DefaultAccessLevel", "AdminMailRecipients", "UserMailInsert"]
                => SetActiveSyncOrganizationSettings set_active_sync_organization_settings;
            GET_MOBILE_DEVICE_MAILBOX_POLICY =
                "Get-MobileDeviceMailboxPolicy" / "get-MobileDeviceMailboxPolicy",
                Read, GUID_LISTING, false, true, POLICY_READ, Config, BOTH, &["Identity"]
                => GetMobileDeviceMailboxPolicy get_mobile_device_mailbox_policy
                    / get_mobile_device_mailbox_policy_stream;
            SET_MOBILE_DEVICE_MAILBOX_POLICY =
                "Set-MobileDeviceMailboxPolicy" / "set-MobileDeviceMailboxPolicy",
                Write, NO_OUTPUT, false, false, POLICY_WRITE, Config, BOTH,
                policy_connector!("Identity")
                => SetMobileDeviceMailboxPolicy set_mobile_device_mailbox_policy;
            NEW_MOBILE_DEVICE_MAILBOX_POLICY =
                "New-MobileDeviceMailboxPolicy" / "New-MobileDeviceMailboxPolicy",
                Write, CREATED, false, false, POLICY_WRITE, Config, BOTH,
                policy_connector!("Name")
                => NewMobileDeviceMailboxPolicy new_mobile_device_mailbox_policy;
            REMOVE_MOBILE_DEVICE_MAILBOX_POLICY =
                "Remove-MobileDeviceMailboxPolicy" / "remove-MobileDeviceMailboxPolicy",
                Destructive, NO_OUTPUT, false, false, POLICY_WRITE, Config, BOTH, &["Identity"]
                => RemoveMobileDeviceMailboxPolicy remove_mobile_device_mailbox_policy;
            GET_ACTIVE_SYNC_DEVICE_ACCESS_RULE =
                "Get-ActiveSyncDeviceAccessRule" / "Get-ActiveSyncDeviceAccessRule",
                Read, GUID_LISTING, false, true, CONFIG_READ, Config, BOTH, &[]
                => GetActiveSyncDeviceAccessRule get_active_sync_device_access_rule
                    / get_active_sync_device_access_rule_stream;
            SET_ACTIVE_SYNC_DEVICE_ACCESS_RULE =
                "Set-ActiveSyncDeviceAccessRule" / "Set-ActiveSyncDeviceAccessRule",
                Write, NO_OUTPUT, false, false, CONFIG_WRITE, Config, BOTH,
                &["Identity", "AccessLevel"]
                => SetActiveSyncDeviceAccessRule set_active_sync_device_access_rule;
            NEW_ACTIVE_SYNC_DEVICE_ACCESS_RULE =
                "New-ActiveSyncDeviceAccessRule" / "New-ActiveSyncDeviceAccessRule",
                Write, CREATED, false, false, CONFIG_WRITE, Config, BOTH,
                &["AccessLevel", "Characteristic", "QueryString"]
                => NewActiveSyncDeviceAccessRule new_active_sync_device_access_rule;
            REMOVE_ACTIVE_SYNC_DEVICE_ACCESS_RULE =
                "Remove-ActiveSyncDeviceAccessRule" / "Remove-ActiveSyncDeviceAccessRule",
                Destructive, NO_OUTPUT, false, false, CONFIG_WRITE, Config, BOTH, &["Identity"]
                => RemoveActiveSyncDeviceAccessRule remove_active_sync_device_access_rule;
            GET_MOBILE_DEVICE_STATISTICS =
                "Get-MobileDeviceStatistics" / "Get-MobileDeviceStatistics",
                Read, GUID_LISTING, false, true, DEVICE_READ, Recipient, BOTH, &["Mailbox"]
                => GetMobileDeviceStatistics get_mobile_device_statistics
                    / get_mobile_device_statistics_stream;
            GET_MOBILE_DEVICE = "Get-MobileDevice" / "Get-MobileDevice",
                Read, GUID_LISTING, true, true, DEVICE_READ, Recipient, BOTH,
                &["Mailbox", "ResultSize"]
                => GetMobileDevice get_mobile_device / get_mobile_device_stream;
            GET_ACTIVE_SYNC_DEVICE_CLASS =
                "Get-ActiveSyncDeviceClass" / "Get-ActiveSyncDeviceClass",
                Read, GUID_LISTING, false, true, CONFIG_READ, Config, BOTH, &[]
                => GetActiveSyncDeviceClass get_active_sync_device_class
                    / get_active_sync_device_class_stream;
            GET_RECIPIENT = "Get-Recipient" / "Get-Recipient",
                Read, GUID_LISTING, true, true, RECIPIENT_READ, Recipient, HOSTED,
                &["Identity", "ResultSize"]
                => GetRecipient get_recipient / get_recipient_stream;
            CLEAR_MOBILE_DEVICE = "Clear-MobileDevice" / "Clear-MobileDevice",
                Destructive, NO_OUTPUT, false, false, DEVICE_WRITE, Recipient, HOSTED,
                &["Identity", "AccountOnly", "NotificationEmailAddresses"]
                => ClearMobileDevice clear_mobile_device;
            REMOVE_MOBILE_DEVICE = "Remove-MobileDevice" / "Remove-MobileDevice",
                Destructive, NO_OUTPUT, false, false, DEVICE_WRITE, Recipient, HOSTED,
                &["Identity"]
                => RemoveMobileDevice remove_mobile_device;
            GET_MANAGEMENT_ROLE_ASSIGNMENT =
                "Get-ManagementRoleAssignment" / "Get-ManagementRoleAssignment",
                Read, GUID_LISTING, false, false, RBAC_READ, Config, NONE, &[];
            GET_MANAGEMENT_ROLE_ENTRY = "Get-ManagementRoleEntry" / "Get-ManagementRoleEntry",
                Read, IDENTITY_LISTING, true, false, RBAC_READ, Config, NONE, &[];
            // Per-mailbox ActiveSync settings. In no connector profile: neither connector's
            // documented cmdlet list has them (docs/permissions.md §1); `set_device_access`
            // needs them.
            GET_CAS_MAILBOX = "Get-CASMailbox" / "Get-CASMailbox",
                Read, GUID_LISTING, true, true, DEVICE_READ, Recipient, NONE, &[]
                => GetCasMailbox get_cas_mailbox / get_cas_mailbox_stream;
            SET_CAS_MAILBOX = "Set-CASMailbox" / "Set-CASMailbox",
                Write, NO_OUTPUT, false, false, DEVICE_WRITE, Recipient, NONE, &[]
                => SetCasMailbox set_cas_mailbox;
            // Reports. Rows (one per device type) have no key.
            GET_MOBILE_DEVICE_DASHBOARD_SUMMARY_REPORT =
                "Get-MobileDeviceDashboardSummaryReport" / "Get-MobileDeviceDashboardSummaryReport",
                Read, OutputShape::Listing { key: None }, false, false, DEVICE_READ, Recipient,
                NONE, &[]
                => GetMobileDeviceDashboardSummaryReport get_mobile_device_dashboard_summary_report
                    / get_mobile_device_dashboard_summary_report_stream;
        }
    };
}
pub(crate) use cmdlet_table;

/// Define one constant per row and the table of them all.
macro_rules! define_catalog {
    ($(
        $const:ident = $name:literal / $export:literal, $kind:ident, $shape:expr, $rs:literal,
        $probe:literal, $grants:expr, $scope:ident, $profiles:expr, $connector:expr
        $( => $req:ident $method:ident $( / $stream:ident )? )?;
    )*) => {
        $(
            #[doc = concat!("The catalog entry of `", $name, "`.")]
            pub const $const: CmdletInfo = CmdletInfo {
                name: $name,
                export_name: $export,
                kind: CmdletKind::$kind,
                shape: $shape,
                result_size: $rs,
                probe: $probe,
                roles: $grants.0,
                role_groups: $grants.1,
                scope: WriteScope::$scope,
                profiles: $profiles,
                connector_parameters: $connector,
            };
        )*

        /// Every entry, in table order.
        static CATALOG: &[CmdletInfo] = &[$($const),*];
    };
}
cmdlet_table!(define_catalog);

/// Every catalog entry, in table order.
pub fn all() -> &'static [CmdletInfo] {
    CATALOG
}

/// Whether `name` is exactly `Verb-Noun`: ASCII letters and digits around one hyphen, with
/// no whitespace, control or other characters.
pub fn is_cmdlet_name(name: &str) -> bool {
    let mut parts = name.split('-');
    let (Some(verb), Some(noun), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric());
    word(verb) && word(noun)
}

/// Whether the answer of `name` may continue on further pages: a listing of the catalog, or
/// a well-formed read cmdlet the crate does not type. Every other cmdlet (writes, destructive
/// cmdlets, single-object reads, malformed names) is never paged: an `@odata.nextLink` on its
/// answer is not followed. (Retries are the retry policy's: a write or destructive cmdlet is
/// re-sent only after an answer proving that nothing ran.)
pub fn is_enumeration(name: &str) -> bool {
    match lookup(name) {
        Some(info) => info.pages(),
        None => is_cmdlet_name(name) && CmdletKind::from_cmdlet_name(name) == CmdletKind::Read,
    }
}

/// The entry of `name` (case-insensitive on the exact name), if the crate types it.
pub fn lookup(name: &str) -> Option<&'static CmdletInfo> {
    CATALOG.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README names no count of typed cmdlets (it would go stale with each new row).
    #[test]
    fn readme_speaks_of_the_catalog_not_a_count() {
        let readme = include_str!("../README.md");
        assert!(readme.contains("for every cmdlet of the catalog"));
    }

    #[test]
    fn lookup_is_case_insensitive_on_the_exact_name() {
        let p = lookup("GET-mobiledevicemailboxpolicy").unwrap();
        assert_eq!(p.name, "Get-MobileDeviceMailboxPolicy");
        assert_eq!(p.export_name, "get-MobileDeviceMailboxPolicy");
        assert!(lookup("Get-MobileDevice ").is_none());
        assert!(lookup("Get-Mobile").is_none());
        assert!(lookup("Get-Mailbox").is_none());
    }

    #[test]
    fn names_are_unique_and_export_names_match() {
        for (i, c) in all().iter().enumerate() {
            assert!(c.export_name.eq_ignore_ascii_case(c.name), "{}", c.name);
            assert_eq!(
                lookup(c.name).map(|x| x as *const _),
                Some(&CATALOG[i] as *const _)
            );
            assert!(
                !c.roles.is_empty() && !c.role_groups.is_empty(),
                "{}",
                c.name
            );
            // only harmless reads are probed
            assert!(!c.probe || c.kind == CmdletKind::Read, "{}", c.name);
            // a destructive or write cmdlet is never paged
            assert!(c.kind == CmdletKind::Read || !c.pages(), "{}", c.name);
        }
    }

    #[test]
    fn profiles_come_from_the_table() {
        assert_eq!(ConnectorProfile::ExchangeOnline.cmdlets().count(), 13);
        assert_eq!(ConnectorProfile::HostedExchange.cmdlets().count(), 16);
        assert!(
            ConnectorProfile::ExchangeOnline
                .cmdlets()
                .all(|c| c.profiles.contains(&ConnectorProfile::HostedExchange))
        );
        let hosted_only: Vec<_> = ConnectorProfile::HostedExchange
            .cmdlets()
            .filter(|c| !c.profiles.contains(&ConnectorProfile::ExchangeOnline))
            .map(|c| c.name)
            .collect();
        assert_eq!(
            hosted_only,
            ["Get-Recipient", "Clear-MobileDevice", "Remove-MobileDevice"]
        );
    }

    #[test]
    fn kinds_and_shapes() {
        assert_eq!(
            CmdletKind::from_cmdlet_name("clear-mobiledevice"),
            CmdletKind::Destructive
        );
        assert_eq!(
            CmdletKind::from_cmdlet_name("Remove-MobileDeviceMailboxPolicy"),
            CmdletKind::Destructive
        );
        assert_eq!(CmdletKind::from_cmdlet_name("Get-Thing"), CmdletKind::Read);
        assert!(!lookup("Clear-MobileDevice").unwrap().pages());
        assert!(
            !lookup("Get-ActiveSyncOrganizationSettings")
                .unwrap()
                .pages()
        );
        assert_eq!(
            lookup("Get-MobileDevice").unwrap().shape.row_key(),
            Some(RowKey::Guid)
        );
        assert!(lookup("Get-MobileDevice").unwrap().result_size);
        assert!(!lookup("Get-MobileDeviceStatistics").unwrap().result_size);
        assert_eq!(
            lookup("Clear-MobileDevice").unwrap().scope,
            WriteScope::Recipient
        );
        assert_eq!(
            lookup("New-MobileDeviceMailboxPolicy").unwrap().scope,
            WriteScope::Config
        );
    }
}
