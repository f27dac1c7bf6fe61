//! The assessment: the evidence of every layer turned into one status per cmdlet, and the
//! remediation that says how to get the rest granted.

use std::collections::BTreeSet;

use super::module::ModuleView;
use super::probes::{ProbeOutcome, ProbeResult};
use super::profile::{Access, CmdletRequirement};
use super::rbac::{Assignment, EntryLookup, RbacFacts, org_wide};
use super::report::{CmdletReport, Evidence, Layer, Status};
use super::roles;
use super::token::{MANAGE_AS_APP, TokenFacts};

/// PowerShell's common parameters (and the risk-mitigation ones). Every cmdlet accepts them,
/// role entries never list them, and the crate sends `Confirm: false` to destructive cmdlets
/// itself, so a profile naming one is never short of it.
const COMMON_PARAMETERS: &[&str] = &[
    "Confirm",
    "WhatIf",
    "Verbose",
    "Debug",
    "ErrorAction",
    "ErrorVariable",
    "WarningAction",
    "WarningVariable",
    "InformationAction",
    "InformationVariable",
    "ProgressAction",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
];

fn is_common_parameter(name: &str) -> bool {
    COMMON_PARAMETERS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(name.trim()))
}

/// The parameters of `req` that a role entry or a module parameter block must grant.
fn checked_parameters(req: &CmdletRequirement) -> Vec<&String> {
    req.parameters
        .iter()
        .filter(|p| !is_common_parameter(p))
        .collect()
}

fn contains_ci(set: &BTreeSet<String>, name: &str) -> bool {
    set.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// Turns the evidence of every layer into the status of one cmdlet, with its remediation.
#[allow(clippy::too_many_arguments)]
pub(super) fn assess(
    req: &CmdletRequirement,
    token: Option<&TokenFacts>,
    module: Option<&ModuleView>,
    module_reason: &str,
    rbac: Option<&RbacFacts>,
    rbac_reason: &str,
    probe: Option<&ProbeResult>,
) -> CmdletReport {
    let mut evidence = Vec::new();
    let mut cmdlet_level: Option<bool> = None;
    let required = checked_parameters(req);
    let mut params_verified = required.is_empty();
    let mut missing: BTreeSet<String> = BTreeSet::new();
    let mut granting_roles = Vec::new();
    let mut scoped_to: Vec<String> = Vec::new();
    let mut consent_missing = false;

    // 1. token
    if let Some(t) = token {
        if t.app_only == Some(true) {
            evidence.push(Evidence::TokenRole {
                role: MANAGE_AS_APP.into(),
                present: t.manage_as_app,
            });
            consent_missing = t.consent_missing;
        }
        for (id, name) in &t.directory_roles {
            evidence.push(Evidence::DirectoryRole {
                id: id.clone(),
                name: name.clone(),
            });
        }
    }

    // 2. module file
    match module {
        Some(view) => {
            let exported = view.exports(&req.cmdlet);
            evidence.push(Evidence::Exported { exported });
            cmdlet_level = Some(exported);
            if exported && let Some(declared) = view.parameters(&req.cmdlet) {
                evidence.push(Evidence::ModuleParameters {
                    parameters: declared.iter().cloned().collect(),
                });
                params_verified = true;
                missing.extend(
                    required
                        .iter()
                        .filter(|p| !contains_ci(declared, p))
                        .map(|p| (*p).clone()),
                );
            }
        }
        None => evidence.push(Evidence::LayerUnavailable {
            layer: Layer::ModuleFile,
            reason: module_reason.to_string(),
        }),
    }

    // 3. RBAC
    match rbac.map(|r| (r, r.entries.get(&req.cmdlet.to_ascii_lowercase()))) {
        Some((facts, Some(EntryLookup::Found(entries)))) => {
            let config = roles::is_config_cmdlet(&req.cmdlet);
            // For writes, an assignment whose write scope is `None` grants nothing.
            let assigned: Vec<&Assignment> = facts
                .assignments
                .iter()
                .filter(|a| {
                    req.access == Access::Read
                        || !a.write_scope(config).0.eq_ignore_ascii_case("None")
                })
                .collect();
            let granting: Vec<&(String, Vec<String>)> = entries
                .iter()
                .filter(|(role, _)| assigned.iter().any(|a| a.role.eq_ignore_ascii_case(role)))
                .collect();
            if granting.is_empty() {
                evidence.push(Evidence::NoRoleEntry);
                if cmdlet_level.is_none()
                    && !facts.absence_inconclusive
                    && !token.is_some_and(TokenFacts::admin_hint)
                {
                    cmdlet_level = Some(false);
                }
            } else {
                let mut union = BTreeSet::new();
                for (role, params) in &granting {
                    if !granting_roles.contains(role) {
                        granting_roles.push(role.clone());
                    }
                    evidence.push(Evidence::RoleEntry {
                        role: role.clone(),
                        parameters: params.clone(),
                    });
                    union.extend(params.iter().cloned());
                }
                if cmdlet_level.is_none() {
                    cmdlet_level = Some(true);
                }
                params_verified = true;
                missing.extend(
                    required
                        .iter()
                        .filter(|p| !contains_ci(&union, p))
                        .map(|p| (*p).clone()),
                );
                if req.access != Access::Read {
                    let mut any_org_wide = false;
                    for a in assigned.iter().filter(|a| {
                        granting_roles
                            .iter()
                            .any(|r| r.eq_ignore_ascii_case(&a.role))
                    }) {
                        let (scope, custom) = a.write_scope(config);
                        let narrower = !org_wide(scope) || custom.is_some();
                        any_org_wide |= !narrower;
                        if narrower {
                            scoped_to.push(format!(
                                "{} ({})",
                                a.role,
                                custom.clone().unwrap_or_else(|| scope.clone())
                            ));
                        }
                        evidence.push(Evidence::AssignmentScope {
                            role: a.role.clone(),
                            write_scope: if scope.is_empty() {
                                "unspecified".into()
                            } else {
                                scope.clone()
                            },
                            custom_scope: custom.clone(),
                            narrower,
                        });
                    }
                    if any_org_wide {
                        scoped_to.clear();
                    }
                }
            }
        }
        Some((_, Some(EntryLookup::Failed(reason)))) => evidence.push(Evidence::LayerUnavailable {
            layer: Layer::Rbac,
            reason: reason.clone(),
        }),
        Some((_, None)) => {}
        None => evidence.push(Evidence::LayerUnavailable {
            layer: Layer::Rbac,
            reason: rbac_reason.to_string(),
        }),
    }

    // 4. probe
    if let Some(p) = probe {
        evidence.push(Evidence::Probe {
            outcome: p.outcome.as_str().into(),
            detail: p.detail.clone(),
        });
        match p.outcome {
            ProbeOutcome::Ok | ProbeOutcome::NotFound => {
                cmdlet_level = Some(true);
                if required
                    .iter()
                    .all(|r| p.parameters.iter().any(|s| s.eq_ignore_ascii_case(r)))
                {
                    params_verified = true;
                }
            }
            ProbeOutcome::Denied => cmdlet_level = Some(false),
            ProbeOutcome::ParameterDenied => {
                cmdlet_level = Some(true);
                params_verified = true;
                missing.extend(
                    p.parameters
                        .iter()
                        .filter(|s| required.iter().any(|r| r.eq_ignore_ascii_case(s)))
                        .cloned(),
                );
            }
            ProbeOutcome::Error | ProbeOutcome::Skipped => {}
        }
    }

    let status = if consent_missing {
        Status::Missing
    } else {
        match cmdlet_level {
            Some(false) => Status::Missing,
            None => Status::Unknown,
            Some(true) if !missing.is_empty() => Status::ParameterMissing,
            Some(true) if !params_verified => Status::Unknown,
            Some(true) if !scoped_to.is_empty() => Status::Scoped,
            Some(true) => Status::Granted,
        }
    };
    let missing_parameters: Vec<String> = missing.into_iter().collect();
    let remediation = remediation(
        req,
        status,
        token,
        consent_missing,
        &missing_parameters,
        &scoped_to,
    );
    CmdletReport {
        cmdlet: req.cmdlet.clone(),
        access: req.access,
        status,
        evidence,
        missing_parameters,
        granting_roles,
        remediation,
    }
}

fn remediation(
    req: &CmdletRequirement,
    status: Status,
    token: Option<&TokenFacts>,
    consent_missing: bool,
    missing_parameters: &[String],
    scoped_to: &[String],
) -> Vec<String> {
    let grant = roles::grantors(&req.cmdlet);
    let (role_list, group_list) = match grant {
        Some(g) => (g.roles.join(" or "), g.role_groups.join(", ")),
        None => (
            format!(
                "a role granting {} (see Get-ManagementRole -Cmdlet {})",
                req.cmdlet, req.cmdlet
            ),
            "ask the tenant".to_string(),
        ),
    };
    let app_only = token.and_then(|t| t.app_only);
    let mut out = Vec::new();
    match status {
        Status::Granted => {}
        Status::Missing if consent_missing => out.push(format!(
            "grant admin consent for the {MANAGE_AS_APP} application permission (Office 365 \
             Exchange Online) to the app registration"
        )),
        Status::Missing => {
            if app_only != Some(true) {
                out.push(format!(
                    "add the account to a role group holding {role_list} (default: {group_list})"
                ));
            }
            if app_only != Some(false) {
                out.push(format!(
                    "app-only: assign the Exchange Administrator Entra role to the service \
                     principal, or add the service principal to a role group holding \
                     {role_list} via New-ServicePrincipal + Add-RoleGroupMember"
                ));
            }
        }
        Status::ParameterMissing => out.push(format!(
            "the granting role entries lack -{}: assign a role whose {} entry includes them \
             ({role_list}; default: {group_list}), or add them to the custom role with \
             Set-ManagementRoleEntry -Parameters … -AddParameter",
            missing_parameters.join(", -"),
            req.cmdlet
        )),
        Status::Scoped => out.push(format!(
            "write scope is narrower than the organization ({}): objects outside it will fail; \
             assign {role_list} with an organization-wide scope",
            scoped_to.join(", ")
        )),
        Status::Unknown => out.push(format!(
            "could not verify {}: let the account read RBAC (View-Only Configuration, e.g. via \
             View-Only Organization Management) or run with probes; expected grantors: \
             {role_list} (default: {group_list})",
            match checked_parameters(req).as_slice() {
                [] => "the cmdlet".to_string(),
                required => format!(
                    "-{}",
                    required
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", -")
                ),
            }
        )),
    }
    out
}
