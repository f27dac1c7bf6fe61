//! Built-in knowledge: Entra directory roles (token `wids`) and which Exchange roles and role
//! groups are expected to grant each connector cmdlet (docs/permissions.md §3.2, §6).
//!
//! This table is a default for remediation hints only; the tenant itself is the authority.

/// Well-known Entra directory role template ids that Exchange Online app-only access supports.
pub const DIRECTORY_ROLES: &[(&str, &str)] = &[
    (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
    ),
    (
        "31392ffb-586c-42d1-9346-e59415a2cc4e",
        "Exchange Recipient Administrator",
    ),
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    (
        "17315797-102d-40b4-93e0-432062caca18",
        "Compliance Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader"),
];

/// The name of a directory role template id, if it is one of [`DIRECTORY_ROLES`].
pub fn directory_role_name(id: &str) -> Option<&'static str> {
    DIRECTORY_ROLES
        .iter()
        .find(|(rid, _)| rid.eq_ignore_ascii_case(id.trim()))
        .map(|(_, name)| *name)
}

/// Whether a directory role covers every Exchange Online cmdlet (via Organization Management).
pub fn is_full_exchange_admin(role_name: &str) -> bool {
    matches!(role_name, "Exchange Administrator" | "Global Administrator")
}

/// The Exchange role group an Entra directory role is synchronised into, as far as known.
pub fn role_group_of_directory_role(role_name: &str) -> Option<&'static str> {
    match role_name {
        "Exchange Administrator" | "Global Administrator" => Some(ORG_MGMT),
        "Global Reader" => Some(VIEW_ONLY_ORG_MGMT),
        "Exchange Recipient Administrator" => Some(RECIPIENT_MGMT),
        // the docs disagree (View-Only Organization Management vs Help Desk)
        "Helpdesk Administrator" => Some(HELP_DESK),
        _ => None,
    }
}

use crate::catalog::roles::{
    HELP_DESK, ORGANIZATION_MANAGEMENT as ORG_MGMT, RECIPIENT_MANAGEMENT as RECIPIENT_MGMT,
    VIEW_ONLY_ORGANIZATION_MANAGEMENT as VIEW_ONLY_ORG_MGMT,
};

/// Which built-in roles are expected to grant a cmdlet, and the default role groups holding
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grantors {
    /// Built-in management roles, strongest first.
    pub roles: &'static [&'static str],
    /// Built-in role groups holding one of those roles by default.
    pub role_groups: &'static [&'static str],
}

/// The §3.2 entry for `cmdlet` (case-insensitive), if it is in the
/// [`catalog`](crate::catalog).
pub fn grantors(cmdlet: &str) -> Option<Grantors> {
    crate::catalog::lookup(cmdlet).map(|c| Grantors {
        roles: c.roles,
        role_groups: c.role_groups,
    })
}

/// Whether a cmdlet acts on organization configuration (its write scope is
/// `ConfigWriteScope`) rather than on recipients (`RecipientWriteScope`); from the
/// [`catalog`](crate::catalog) (a cmdlet outside it counts as a recipient cmdlet).
pub fn is_config_cmdlet(cmdlet: &str) -> bool {
    crate::catalog::lookup(cmdlet).is_some_and(|c| c.scope == crate::catalog::WriteScope::Config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_name_real_roles() {
        assert_eq!(
            directory_role_name("29232CDF-9323-42fd-ade2-1d097af3e4de"),
            Some("Exchange Administrator")
        );
        assert_eq!(directory_role_name("nope"), None);
        let g = grantors("set-ActiveSyncOrganizationSettings").unwrap();
        assert_eq!(g.roles, ["Organization Client Access"]);
        assert_eq!(g.role_groups, ["Organization Management"]);
        assert!(
            grantors("Clear-MobileDevice")
                .unwrap()
                .roles
                .contains(&"Mail Recipients")
        );
        assert!(grantors("Get-Mailbox").is_none());
        assert!(is_config_cmdlet("New-MobileDeviceMailboxPolicy"));
        assert!(!is_config_cmdlet("Remove-MobileDevice"));
    }
}
