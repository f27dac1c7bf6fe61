//! The permission report: per-cmdlet status, evidence and remediation.

use std::fmt;

use serde::Serialize;

use super::profile::Access;

/// The verdict on one cmdlet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Status {
    /// The cmdlet and every required parameter are granted organization-wide.
    Granted,
    /// Granted, but only within a write scope narrower than the organization: some objects
    /// will fail.
    Scoped,
    /// The cmdlet is granted, but at least one required parameter is not.
    ParameterMissing,
    /// The cmdlet is not granted (or not provisioned: the service does not tell them apart).
    Missing,
    /// The evidence available does not decide (e.g. the cmdlet is exposed but its parameters
    /// could not be verified).
    Unknown,
}

impl Status {
    /// The serialized name (`granted`, `scoped`, `parameter-missing`, `missing`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Granted => "granted",
            Status::Scoped => "scoped",
            Status::ParameterMissing => "parameter-missing",
            Status::Missing => "missing",
            Status::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict of a [`PermissionReport`] over all its cmdlets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Every cmdlet is granted.
    Granted,
    /// Some cmdlet is proved not (fully) granted.
    NotGranted,
    /// Nothing is proved missing, but some cmdlet could not be checked.
    Unknown,
}

impl Verdict {
    /// The verdict over these statuses.
    pub fn of(statuses: impl IntoIterator<Item = Status>) -> Verdict {
        let mut unknown = false;
        for s in statuses {
            match s {
                Status::Granted => {}
                Status::Unknown => unknown = true,
                _ => return Verdict::NotGranted,
            }
        }
        if unknown {
            Verdict::Unknown
        } else {
            Verdict::Granted
        }
    }

    /// `granted`, `not_granted` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Granted => "granted",
            Verdict::NotGranted => "not_granted",
            Verdict::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The evidence layers, in the order they are consulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Layer {
    /// The access token's claims (`roles`, `wids`).
    TokenClaims,
    /// `EXOModuleFile`: the cmdlets (and parameter blocks) the service exposes.
    ModuleFile,
    /// `Get-ManagementRoleAssignment` / `Get-ManagementRoleEntry`.
    Rbac,
    /// Read-only live probes of `Get-*` cmdlets.
    Probe,
}

impl Layer {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::TokenClaims => "token-claims",
            Layer::ModuleFile => "module-file",
            Layer::Rbac => "rbac",
            Layer::Probe => "probe",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a layer contributed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LayerState {
    /// The layer was consulted and its answer used.
    Used,
    /// The layer was tried and could not answer (error, not permitted, not supported).
    Unavailable,
    /// The layer was not tried (not requested, or nothing to ask).
    Skipped,
}

/// What happened to one evidence layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LayerNote {
    /// The layer.
    pub layer: Layer,
    /// Used, unavailable or skipped.
    pub state: LayerState,
    /// What it found, or why it could not answer.
    pub detail: String,
}

/// One piece of evidence about one cmdlet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Evidence {
    /// An application permission in the token (`roles`), present or absent.
    TokenRole {
        /// The permission, e.g. `Exchange.ManageAsApp`.
        role: String,
        /// Whether the token carries it.
        present: bool,
    },
    /// An Entra directory role in the token (`wids`): a hint, never proof.
    DirectoryRole {
        /// Template id.
        id: String,
        /// Role name.
        name: String,
    },
    /// Whether `EXOModuleFile` exports the cmdlet.
    Exported {
        /// Exported to this account.
        exported: bool,
    },
    /// The parameters the generated module function declares.
    ModuleParameters {
        /// Declared parameter names.
        parameters: Vec<String>,
    },
    /// A role entry of one of the account's assigned roles.
    RoleEntry {
        /// Role name.
        role: String,
        /// Parameters the entry allows.
        parameters: Vec<String>,
    },
    /// No assigned role has an entry for the cmdlet.
    NoRoleEntry,
    /// The write scope of an assignment granting the cmdlet.
    AssignmentScope {
        /// Role name.
        role: String,
        /// `RecipientWriteScope` or `ConfigWriteScope` (whichever applies to the cmdlet).
        write_scope: String,
        /// Custom scope, administrative unit or group scope, when set.
        custom_scope: Option<String>,
        /// Whether it is narrower than the organization.
        narrower: bool,
    },
    /// A read-only probe's outcome.
    Probe {
        /// `ok`, `not-found`, `denied`, `error` or `skipped`.
        outcome: String,
        /// What was sent or what the service answered.
        detail: String,
    },
    /// A layer could not contribute for this cmdlet.
    LayerUnavailable {
        /// The layer.
        layer: Layer,
        /// Why.
        reason: String,
    },
}

impl Evidence {
    /// A one-line summary for tables.
    pub fn summary(&self) -> String {
        match self {
            Evidence::TokenRole { role, present } => {
                format!("token {}{role}", if *present { "" } else { "lacks " })
            }
            Evidence::DirectoryRole { name, .. } => format!("directory role {name} (hint)"),
            Evidence::Exported { exported: true } => "exported".into(),
            Evidence::Exported { exported: false } => "not exported".into(),
            Evidence::ModuleParameters { parameters } => {
                format!("module declares {} parameter(s)", parameters.len())
            }
            Evidence::RoleEntry { role, .. } => format!("role entry in {role}"),
            Evidence::NoRoleEntry => "no assigned role entry".into(),
            Evidence::AssignmentScope {
                role,
                write_scope,
                narrower,
                ..
            } => {
                if *narrower {
                    format!("{role} scoped to {write_scope}")
                } else {
                    format!("{role} scope {write_scope}")
                }
            }
            Evidence::Probe { outcome, .. } => format!("probe {outcome}"),
            Evidence::LayerUnavailable { layer, .. } => format!("{layer} unavailable"),
        }
    }
}

/// The result for one cmdlet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CmdletReport {
    /// Cmdlet name, as the profile spells it.
    pub cmdlet: String,
    /// Read, write or destructive.
    pub access: Access,
    /// The verdict.
    pub status: Status,
    /// The evidence behind it, in layer order.
    pub evidence: Vec<Evidence>,
    /// Required parameters known to be missing.
    pub missing_parameters: Vec<String>,
    /// Roles found to grant the cmdlet (from the tenant's RBAC, when readable).
    pub granting_roles: Vec<String>,
    /// What to do about it (empty when granted).
    pub remediation: Vec<String>,
}

/// The answer to "can this account run every cmdlet of the profile?".
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PermissionReport {
    /// Profile name.
    pub profile: String,
    /// The principal checked (UPN or application id), when known.
    pub principal: Option<String>,
    /// Whether the token is app-only, when known.
    pub app_only: Option<bool>,
    /// Every cmdlet has status [`Status::Granted`].
    pub all_granted: bool,
    /// The verdict over every cmdlet: `granted`, `not_granted` (some cmdlet is proved
    /// missing, scoped or short of a parameter) or `unknown` (nothing proves a cmdlet
    /// missing, but some could not be checked: with no token, say). Print this, not
    /// `all_granted`, as the answer: `unknown` is not "missing".
    pub verdict: Verdict,
    /// Per-cmdlet results, in profile order.
    pub cmdlets: Vec<CmdletReport>,
    /// What each evidence layer contributed.
    pub layers: Vec<LayerNote>,
    /// Findings that concern the whole account (e.g. missing consent).
    pub findings: Vec<String>,
}

impl PermissionReport {
    /// The result for `cmdlet` (case-insensitive).
    pub fn cmdlet(&self, cmdlet: &str) -> Option<&CmdletReport> {
        self.cmdlets
            .iter()
            .find(|c| c.cmdlet.eq_ignore_ascii_case(cmdlet))
    }

    /// The note of `layer`.
    pub fn layer(&self, layer: Layer) -> Option<&LayerNote> {
        self.layers.iter().find(|l| l.layer == layer)
    }

    /// The cmdlets whose status is not [`Status::Granted`].
    pub fn not_granted(&self) -> impl Iterator<Item = &CmdletReport> {
        self.cmdlets.iter().filter(|c| c.status != Status::Granted)
    }
}

impl fmt::Display for PermissionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Permission check, profile {}{}",
            self.profile,
            match &self.principal {
                Some(p) => format!(", principal {p}"),
                None => String::new(),
            }
        )?;
        writeln!(
            f,
            "Verdict: {}",
            match self.verdict {
                Verdict::Granted => "every cmdlet is granted",
                Verdict::NotGranted => "some cmdlets are not granted",
                Verdict::Unknown =>
                    "unknown: nothing is proved missing, but some cmdlets could not be checked",
            }
        )?;
        for l in &self.layers {
            let state = match l.state {
                LayerState::Used => "used",
                LayerState::Unavailable => "unavailable",
                LayerState::Skipped => "skipped",
            };
            writeln!(
                f,
                "  layer {:<12} {:<11} {}",
                l.layer.to_string(),
                state,
                l.detail
            )?;
        }
        for finding in &self.findings {
            writeln!(f, "  ! {finding}")?;
        }
        writeln!(f)?;
        let width = self
            .cmdlets
            .iter()
            .map(|c| c.cmdlet.len())
            .max()
            .unwrap_or(6)
            .max(6);
        writeln!(
            f,
            "{:<width$}  {:<11}  {:<17}  EVIDENCE",
            "CMDLET", "ACCESS", "STATUS"
        )?;
        for c in &self.cmdlets {
            let mut summary: Vec<String> = Vec::new();
            for e in &c.evidence {
                let s = e.summary();
                if !summary.contains(&s) {
                    summary.push(s);
                }
            }
            let mut evidence = summary.join("; ");
            if !c.missing_parameters.is_empty() {
                evidence = format!("lacks -{}; {evidence}", c.missing_parameters.join(", -"));
            }
            writeln!(
                f,
                "{:<width$}  {:<11}  {:<17}  {}",
                c.cmdlet,
                c.access.as_str(),
                c.status.as_str(),
                evidence
            )?;
        }
        let remediation: Vec<(&str, &String)> = self
            .cmdlets
            .iter()
            .flat_map(|c| c.remediation.iter().map(move |r| (c.cmdlet.as_str(), r)))
            .collect();
        if !remediation.is_empty() {
            writeln!(f)?;
            writeln!(f, "Remediation:")?;
            for (cmdlet, r) in remediation {
                writeln!(f, "  {cmdlet}: {r}")?;
            }
        }
        writeln!(f)?;
        write!(
            f,
            "Verdict: {}",
            if self.all_granted {
                "every cmdlet is granted".to_string()
            } else {
                format!(
                    "{} of {} cmdlet(s) not fully granted",
                    self.not_granted().count(),
                    self.cmdlets.len()
                )
            }
        )
    }
}

#[cfg(test)]
mod verdict_tests {
    use super::*;

    #[test]
    fn unknown_is_not_missing() {
        use Status::*;
        assert_eq!(Verdict::of([Granted, Granted]), Verdict::Granted);
        assert_eq!(Verdict::of([Unknown, Unknown]), Verdict::Unknown);
        assert_eq!(Verdict::of([Granted, Unknown]), Verdict::Unknown);
        assert_eq!(Verdict::of([Unknown, Missing]), Verdict::NotGranted);
        assert_eq!(Verdict::of([Granted, Scoped]), Verdict::NotGranted);
        assert_eq!(Verdict::of([ParameterMissing]), Verdict::NotGranted);
    }
}
