//! Exchange RBAC of the simulated tenant: management roles (role entries = cmdlet + allowed
//! parameters) and the caller's role assignments. What the caller may run is derived from them
//! (docs/permissions.md §2, §3).

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::Catalog;
use exchange_activesync::protocol::CmdletKind;

/// A role entry: one cmdlet and the parameters the role allows on it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleEntry {
    /// Cmdlet name, canonical casing.
    pub cmdlet: String,
    /// Allowed parameters (common parameters are always allowed).
    pub parameters: BTreeSet<String>,
}

impl RoleEntry {
    /// An entry allowing every declared parameter of `cmdlet` (per the embedded catalog).
    pub fn all_parameters(cmdlet: &str) -> RoleEntry {
        let spec = Catalog::get().cmdlet(cmdlet);
        RoleEntry {
            cmdlet: spec.map_or_else(|| cmdlet.to_string(), |s| s.name.clone()),
            parameters: spec
                .map(|s| s.parameters.iter().map(|p| p.name.clone()).collect())
                .unwrap_or_default(),
        }
    }

    /// An entry allowing only `parameters` on `cmdlet`.
    pub fn with_parameters<I, S>(cmdlet: &str, parameters: I) -> RoleEntry
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RoleEntry {
            cmdlet: Catalog::get()
                .cmdlet(cmdlet)
                .map_or_else(|| cmdlet.to_string(), |s| s.name.clone()),
            parameters: parameters.into_iter().map(Into::into).collect(),
        }
    }
}

/// A management role.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagementRole {
    /// Role name, e.g. `Mail Recipients`.
    pub name: String,
    /// Built-in (canned) role.
    pub built_in: bool,
    /// Role entries.
    pub entries: Vec<RoleEntry>,
}

impl ManagementRole {
    /// A custom role with the given entries.
    pub fn custom(name: impl Into<String>, entries: Vec<RoleEntry>) -> Self {
        ManagementRole {
            name: name.into(),
            built_in: false,
            entries,
        }
    }

    fn built_in(name: &str, cmdlets: &[&str]) -> Self {
        ManagementRole {
            name: name.to_string(),
            built_in: true,
            entries: cmdlets
                .iter()
                .map(|c| RoleEntry::all_parameters(c))
                .collect(),
        }
    }
}

/// Role names of the built-in roles (and role groups) the simulated tenant knows: the
/// catalog's.
pub use exchange_activesync::catalog::roles;

/// The built-in roles with their cmdlets: the catalog's grants inverted (every role any
/// catalog entry names, in the order the table first names it, holding the entries that name
/// it, in table order; docs/permissions.md §3.2).
pub fn built_in_roles() -> Vec<ManagementRole> {
    let mut names: Vec<&'static str> = Vec::new();
    for c in exchange_activesync::catalog::all() {
        for r in c.roles {
            if !names.contains(r) {
                names.push(r);
            }
        }
    }
    names
        .into_iter()
        .map(|role| {
            let cmdlets: Vec<&str> = exchange_activesync::catalog::all()
                .iter()
                .filter(|c| c.roles.contains(&role))
                .map(|c| c.name)
                .collect();
            ManagementRole::built_in(role, &cmdlets)
        })
        .collect()
}

/// A role assignment of the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleAssignment {
    /// Assignment name, e.g. `Mail Recipients-Organization Management`.
    pub name: String,
    /// Assigned role name.
    pub role: String,
    /// Who holds it (role group, user or service principal name).
    pub assignee: String,
    /// `RoleAssigneeType` (`RoleGroup`, `User`, `ServicePrincipal`, …).
    pub assignee_type: String,
    /// `AssignmentMethod` (`Direct`, `RoleGroup`, …).
    pub assignment_method: String,
    /// Disabled assignments grant nothing.
    pub enabled: bool,
    /// Delegating assignments only allow handing the role on; they grant nothing.
    pub delegating: bool,
    /// `RecipientWriteScope` (`Organization`, `None`, …). `None` removes recipient writes.
    pub recipient_write_scope: String,
    /// `ConfigWriteScope` (`OrganizationConfig`, `None`, …). `None` removes config writes.
    pub config_write_scope: String,
}

impl RoleAssignment {
    /// An enabled, regular, organization-wide assignment of `role` through role group `group`.
    pub fn via_group(role: &str, group: &str) -> Self {
        RoleAssignment {
            name: format!("{role}-{group}"),
            role: role.to_string(),
            assignee: group.to_string(),
            assignee_type: "RoleGroup".into(),
            assignment_method: "Direct".into(),
            enabled: true,
            delegating: false,
            recipient_write_scope: "Organization".into(),
            config_write_scope: "OrganizationConfig".into(),
        }
    }
}

/// The preset RBAC configurations of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RbacProfile {
    /// Organization Management: every role above.
    Full,
    /// A custom role holding only the read cmdlets a connector needs (no writes, no RBAC
    /// reads).
    ExchangeOnlineMinusWrites,
    /// View-Only Organization Management (View-Only Configuration + View-Only Recipients).
    ReadOnly,
}

/// Roles of the tenant plus the caller's assignments.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rbac {
    /// Every management role in the tenant.
    pub roles: Vec<ManagementRole>,
    /// The caller's assignments.
    pub assignments: Vec<RoleAssignment>,
}

/// Name of the custom role used by [`RbacProfile::ExchangeOnlineMinusWrites`].
pub const CONNECTOR_READ_ROLE: &str = "ActiveSync Connector Reads";

impl Rbac {
    /// The RBAC of a preset profile.
    pub fn profile(profile: RbacProfile) -> Rbac {
        let mut rbac = Rbac {
            roles: built_in_roles(),
            assignments: Vec::new(),
        };
        match profile {
            RbacProfile::Full => {
                for role in rbac.roles.clone() {
                    rbac.assign(RoleAssignment::via_group(
                        &role.name,
                        roles::ORGANIZATION_MANAGEMENT,
                    ));
                }
            }
            RbacProfile::ReadOnly => {
                for role in [roles::VIEW_ONLY_CONFIGURATION, roles::VIEW_ONLY_RECIPIENTS] {
                    rbac.assign(RoleAssignment::via_group(
                        role,
                        roles::VIEW_ONLY_ORGANIZATION_MANAGEMENT,
                    ));
                }
            }
            RbacProfile::ExchangeOnlineMinusWrites => {
                let entries = Catalog::get()
                    .cmdlets()
                    .iter()
                    .filter(|c| {
                        CmdletKind::from_cmdlet_name(&c.name) == CmdletKind::Read
                            && !c.name.contains("Management")
                    })
                    .map(|c| RoleEntry::all_parameters(&c.name))
                    .collect();
                rbac.roles
                    .push(ManagementRole::custom(CONNECTOR_READ_ROLE, entries));
                let mut a = RoleAssignment::via_group(CONNECTOR_READ_ROLE, "ActiveSync Connector");
                a.assignee_type = "ServicePrincipal".into();
                a.recipient_write_scope = "None".into();
                a.config_write_scope = "None".into();
                rbac.assign(a);
            }
        }
        rbac
    }

    /// The built-in roles and no assignments (the caller may run nothing).
    pub fn empty() -> Rbac {
        Rbac {
            roles: built_in_roles(),
            assignments: Vec::new(),
        }
    }

    /// Add (or replace, by name) a role.
    pub fn add_role(&mut self, role: ManagementRole) -> &mut Self {
        self.roles
            .retain(|r| !r.name.eq_ignore_ascii_case(&role.name));
        self.roles.push(role);
        self
    }

    /// Add an assignment.
    pub fn assign(&mut self, assignment: RoleAssignment) -> &mut Self {
        self.assignments.push(assignment);
        self
    }

    /// A role by name (case-insensitive).
    pub fn role(&self, name: &str) -> Option<&ManagementRole> {
        self.roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// The parameters the caller may use on `cmdlet`, or `None` if the caller may not run it.
    ///
    /// Only enabled, non-delegating assignments count. For mutating cmdlets an assignment
    /// whose write scope is `None` grants nothing (recipient scope for device and recipient
    /// cmdlets, config scope for the others).
    pub fn allowed_parameters(&self, cmdlet: &str) -> Option<BTreeSet<String>> {
        let kind = CmdletKind::from_cmdlet_name(cmdlet);
        let recipient_cmdlet = is_recipient_cmdlet(cmdlet);
        let mut out: Option<BTreeSet<String>> = None;
        for a in self
            .assignments
            .iter()
            .filter(|a| a.enabled && !a.delegating)
        {
            if kind.is_mutating() {
                let scope = if recipient_cmdlet {
                    &a.recipient_write_scope
                } else {
                    &a.config_write_scope
                };
                if scope.eq_ignore_ascii_case("None") {
                    continue;
                }
            }
            let Some(role) = self.role(&a.role) else {
                continue;
            };
            for e in role
                .entries
                .iter()
                .filter(|e| e.cmdlet.eq_ignore_ascii_case(cmdlet))
            {
                out.get_or_insert_with(BTreeSet::new)
                    .extend(e.parameters.iter().cloned());
            }
        }
        out
    }

    /// Every cmdlet of the catalog the caller may run, with its allowed parameters, keyed by
    /// canonical name.
    pub fn allowed_cmdlets(&self) -> BTreeMap<String, BTreeSet<String>> {
        Catalog::get()
            .cmdlets()
            .iter()
            .filter_map(|c| {
                self.allowed_parameters(&c.name)
                    .map(|p| (c.name.clone(), p))
            })
            .collect()
    }
}

/// Whether a cmdlet acts on recipients (mailboxes, devices) rather than configuration: the
/// crate catalog's write scope, or for a cmdlet the crate does not type its noun.
pub(crate) fn is_recipient_cmdlet(cmdlet: &str) -> bool {
    if let Some(info) = exchange_activesync::catalog::lookup(cmdlet) {
        return info.scope == exchange_activesync::catalog::WriteScope::Recipient;
    }
    let c = cmdlet.to_ascii_lowercase();
    c.ends_with("-mobiledevice")
        || c.ends_with("-mobiledevicestatistics")
        || c.ends_with("-recipient")
}
