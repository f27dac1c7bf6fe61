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
}

impl CmdletInfo {
    /// Whether continuations of this cmdlet may be followed.
    pub fn pages(&self) -> bool {
        self.shape.is_listing()
    }
}

const ORG_MGMT: &str = "Organization Management";
const RECIPIENT_MGMT: &str = "Recipient Management";
const VIEW_ONLY_ORG_MGMT: &str = "View-Only Organization Management";
const HELP_DESK: &str = "Help Desk";

const OCA: &str = "Organization Client Access";
const RECIPIENT_POLICIES: &str = "Recipient Policies";
const MAIL_RECIPIENTS: &str = "Mail Recipients";
const USER_OPTIONS: &str = "User Options";
const VIEW_ONLY_CONFIG: &str = "View-Only Configuration";
const VIEW_ONLY_RECIPIENTS: &str = "View-Only Recipients";

const BOTH: &[ConnectorProfile] = &[
    ConnectorProfile::ExchangeOnline,
    ConnectorProfile::HostedExchange,
];
const HOSTED: &[ConnectorProfile] = &[ConnectorProfile::HostedExchange];
const NONE: &[ConnectorProfile] = &[];

const GUID_LISTING: OutputShape = OutputShape::Listing {
    key: Some(RowKey::Guid),
};

/// One entry: `name / export name, kind, shape, ResultSize, probe, roles, groups, scope, profiles`.
macro_rules! entry {
    ($name:literal / $export:literal, $kind:ident, $shape:expr, $rs:literal, $probe:literal,
     $roles:expr, $groups:expr, $scope:ident, $profiles:expr) => {
        CmdletInfo {
            name: $name,
            export_name: $export,
            kind: CmdletKind::$kind,
            shape: $shape,
            result_size: $rs,
            probe: $probe,
            roles: $roles,
            role_groups: $groups,
            scope: WriteScope::$scope,
            profiles: $profiles,
        }
    };
}

const CONFIG_READ: (&[&str], &[&str]) = (&[OCA, VIEW_ONLY_CONFIG], &[ORG_MGMT, VIEW_ONLY_ORG_MGMT]);
const CONFIG_WRITE: (&[&str], &[&str]) = (&[OCA], &[ORG_MGMT]);
const POLICY_READ: (&[&str], &[&str]) = (
    &[RECIPIENT_POLICIES, VIEW_ONLY_CONFIG],
    &[ORG_MGMT, RECIPIENT_MGMT, VIEW_ONLY_ORG_MGMT],
);
const POLICY_WRITE: (&[&str], &[&str]) = (&[RECIPIENT_POLICIES], &[ORG_MGMT, RECIPIENT_MGMT]);
const DEVICE_READ: (&[&str], &[&str]) = (
    &[MAIL_RECIPIENTS, USER_OPTIONS, VIEW_ONLY_RECIPIENTS],
    &[ORG_MGMT, RECIPIENT_MGMT, HELP_DESK, VIEW_ONLY_ORG_MGMT],
);
const DEVICE_WRITE: (&[&str], &[&str]) = (
    &[MAIL_RECIPIENTS, USER_OPTIONS],
    &[ORG_MGMT, RECIPIENT_MGMT, HELP_DESK],
);
const RECIPIENT_READ: (&[&str], &[&str]) = (
    &[
        MAIL_RECIPIENTS,
        "Mail Recipient Creation",
        VIEW_ONLY_RECIPIENTS,
        USER_OPTIONS,
        "Reset Password",
    ],
    &[ORG_MGMT, RECIPIENT_MGMT, VIEW_ONLY_ORG_MGMT, HELP_DESK],
);
const RBAC_READ: (&[&str], &[&str]) = (
    &[VIEW_ONLY_CONFIG, "Role Management"],
    &[ORG_MGMT, VIEW_ONLY_ORG_MGMT],
);

/// The table. Order: the Exchange Online connector's cmdlets, then the hosted-Exchange
/// additions, then the cmdlets the permission check runs, then the per-mailbox ActiveSync
/// settings (per-device allow and block lists).
static CATALOG: [CmdletInfo; 20] = [
    entry!(
        "Get-ActiveSyncOrganizationSettings" / "Get-ActiveSyncOrganizationSettings",
        Read,
        OutputShape::Single,
        false,
        true,
        CONFIG_READ.0,
        CONFIG_READ.1,
        Config,
        BOTH
    ),
    entry!(
        "Set-ActiveSyncOrganizationSettings" / "Set-ActiveSyncOrganizationSettings",
        Write,
        OutputShape::NoOutput,
        false,
        false,
        CONFIG_WRITE.0,
        CONFIG_WRITE.1,
        Config,
        BOTH
    ),
    entry!(
        "Get-MobileDeviceMailboxPolicy" / "get-MobileDeviceMailboxPolicy",
        Read,
        GUID_LISTING,
        false,
        true,
        POLICY_READ.0,
        POLICY_READ.1,
        Config,
        BOTH
    ),
    entry!(
        "Set-MobileDeviceMailboxPolicy" / "set-MobileDeviceMailboxPolicy",
        Write,
        OutputShape::NoOutput,
        false,
        false,
        POLICY_WRITE.0,
        POLICY_WRITE.1,
        Config,
        BOTH
    ),
    entry!(
        "New-MobileDeviceMailboxPolicy" / "New-MobileDeviceMailboxPolicy",
        Write,
        OutputShape::Created,
        false,
        false,
        POLICY_WRITE.0,
        POLICY_WRITE.1,
        Config,
        BOTH
    ),
    entry!(
        "Remove-MobileDeviceMailboxPolicy" / "remove-MobileDeviceMailboxPolicy",
        Destructive,
        OutputShape::NoOutput,
        false,
        false,
        POLICY_WRITE.0,
        POLICY_WRITE.1,
        Config,
        BOTH
    ),
    entry!(
        "Get-ActiveSyncDeviceAccessRule" / "Get-ActiveSyncDeviceAccessRule",
        Read,
        GUID_LISTING,
        false,
        true,
        CONFIG_READ.0,
        CONFIG_READ.1,
        Config,
        BOTH
    ),
    entry!(
        "Set-ActiveSyncDeviceAccessRule" / "Set-ActiveSyncDeviceAccessRule",
        Write,
        OutputShape::NoOutput,
        false,
        false,
        CONFIG_WRITE.0,
        CONFIG_WRITE.1,
        Config,
        BOTH
    ),
    entry!(
        "New-ActiveSyncDeviceAccessRule" / "New-ActiveSyncDeviceAccessRule",
        Write,
        OutputShape::Created,
        false,
        false,
        CONFIG_WRITE.0,
        CONFIG_WRITE.1,
        Config,
        BOTH
    ),
    entry!(
        "Remove-ActiveSyncDeviceAccessRule" / "Remove-ActiveSyncDeviceAccessRule",
        Destructive,
        OutputShape::NoOutput,
        false,
        false,
        CONFIG_WRITE.0,
        CONFIG_WRITE.1,
        Config,
        BOTH
    ),
    entry!(
        "Get-MobileDeviceStatistics" / "Get-MobileDeviceStatistics",
        Read,
        GUID_LISTING,
        false,
        true,
        DEVICE_READ.0,
        DEVICE_READ.1,
        Recipient,
        BOTH
    ),
    entry!(
        "Get-MobileDevice" / "Get-MobileDevice",
        Read,
        GUID_LISTING,
        true,
        true,
        DEVICE_READ.0,
        DEVICE_READ.1,
        Recipient,
        BOTH
    ),
    entry!(
        "Get-ActiveSyncDeviceClass" / "Get-ActiveSyncDeviceClass",
        Read,
        GUID_LISTING,
        false,
        true,
        CONFIG_READ.0,
        CONFIG_READ.1,
        Config,
        BOTH
    ),
    entry!(
        "Get-Recipient" / "Get-Recipient",
        Read,
        GUID_LISTING,
        true,
        true,
        RECIPIENT_READ.0,
        RECIPIENT_READ.1,
        Recipient,
        HOSTED
    ),
    entry!(
        "Clear-MobileDevice" / "Clear-MobileDevice",
        Destructive,
        OutputShape::NoOutput,
        false,
        false,
        DEVICE_WRITE.0,
        DEVICE_WRITE.1,
        Recipient,
        HOSTED
    ),
    entry!(
        "Remove-MobileDevice" / "Remove-MobileDevice",
        Destructive,
        OutputShape::NoOutput,
        false,
        false,
        DEVICE_WRITE.0,
        DEVICE_WRITE.1,
        Recipient,
        HOSTED
    ),
    entry!(
        "Get-ManagementRoleAssignment" / "Get-ManagementRoleAssignment",
        Read,
        GUID_LISTING,
        false,
        false,
        RBAC_READ.0,
        RBAC_READ.1,
        Config,
        NONE
    ),
    entry!(
        "Get-ManagementRoleEntry" / "Get-ManagementRoleEntry",
        Read,
        OutputShape::Listing {
            key: Some(RowKey::Identity)
        },
        true,
        false,
        RBAC_READ.0,
        RBAC_READ.1,
        Config,
        NONE
    ),
    // Per-mailbox ActiveSync settings. In no connector profile: neither connector's
    // documented cmdlet list has them (docs/permissions.md §1); `set_device_access` needs them.
    entry!(
        "Get-CASMailbox" / "Get-CASMailbox",
        Read,
        GUID_LISTING,
        true,
        true,
        DEVICE_READ.0,
        DEVICE_READ.1,
        Recipient,
        NONE
    ),
    entry!(
        "Set-CASMailbox" / "Set-CASMailbox",
        Write,
        OutputShape::NoOutput,
        false,
        false,
        DEVICE_WRITE.0,
        DEVICE_WRITE.1,
        Recipient,
        NONE
    ),
];

/// Every catalog entry, in table order.
pub fn all() -> &'static [CmdletInfo] {
    &CATALOG
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

/// The entry of a name the crate types; for the typed requests' `INFO` constants.
pub(crate) const fn entry(index: usize) -> &'static CmdletInfo {
    &CATALOG[index]
}

/// Indices into the table for the typed requests (checked by a test against the names).
pub(crate) mod idx {
    pub const GET_ORG_SETTINGS: usize = 0;
    pub const SET_ORG_SETTINGS: usize = 1;
    pub const GET_POLICY: usize = 2;
    pub const SET_POLICY: usize = 3;
    pub const NEW_POLICY: usize = 4;
    pub const REMOVE_POLICY: usize = 5;
    pub const GET_RULE: usize = 6;
    pub const SET_RULE: usize = 7;
    pub const NEW_RULE: usize = 8;
    pub const REMOVE_RULE: usize = 9;
    pub const GET_STATISTICS: usize = 10;
    pub const GET_DEVICE: usize = 11;
    pub const GET_DEVICE_CLASS: usize = 12;
    pub const GET_RECIPIENT: usize = 13;
    pub const CLEAR_DEVICE: usize = 14;
    pub const REMOVE_DEVICE: usize = 15;
    pub const GET_CAS_MAILBOX: usize = 18;
    pub const SET_CAS_MAILBOX: usize = 19;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's count of typed cmdlets follows the table (the two RBAC reads the
    /// permission check runs are not typed requests).
    #[test]
    fn readme_counts_the_typed_cmdlets() {
        let typed = all()
            .iter()
            .filter(|c| !c.name.starts_with("Get-ManagementRole"))
            .count();
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&format!("for the {typed} cmdlets")),
            "README.md must say \"for the {typed} cmdlets\""
        );
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
    fn indices_name_their_entries() {
        use idx::*;
        let expect = [
            (GET_ORG_SETTINGS, "Get-ActiveSyncOrganizationSettings"),
            (SET_ORG_SETTINGS, "Set-ActiveSyncOrganizationSettings"),
            (GET_POLICY, "Get-MobileDeviceMailboxPolicy"),
            (SET_POLICY, "Set-MobileDeviceMailboxPolicy"),
            (NEW_POLICY, "New-MobileDeviceMailboxPolicy"),
            (REMOVE_POLICY, "Remove-MobileDeviceMailboxPolicy"),
            (GET_RULE, "Get-ActiveSyncDeviceAccessRule"),
            (SET_RULE, "Set-ActiveSyncDeviceAccessRule"),
            (NEW_RULE, "New-ActiveSyncDeviceAccessRule"),
            (REMOVE_RULE, "Remove-ActiveSyncDeviceAccessRule"),
            (GET_STATISTICS, "Get-MobileDeviceStatistics"),
            (GET_DEVICE, "Get-MobileDevice"),
            (GET_DEVICE_CLASS, "Get-ActiveSyncDeviceClass"),
            (GET_RECIPIENT, "Get-Recipient"),
            (CLEAR_DEVICE, "Clear-MobileDevice"),
            (REMOVE_DEVICE, "Remove-MobileDevice"),
            (GET_CAS_MAILBOX, "Get-CASMailbox"),
            (SET_CAS_MAILBOX, "Set-CASMailbox"),
        ];
        for (i, name) in expect {
            assert_eq!(entry(i).name, name);
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
