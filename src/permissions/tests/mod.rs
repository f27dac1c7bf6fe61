//! Unit tests of the permission check with a small in-test client double.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::auth::TokenClaims;
use crate::client::{ModuleFile, ModuleFileEntry};
use crate::error::{ApiError, Error};
use crate::protocol::{Invocation, NextLink, RawPage};

const EXO_ADMIN: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";

/// A scripted tenant: which cmdlets are exported (with which parameters), the RBAC rows, and
/// whether RBAC cmdlets are denied.
#[derive(Default)]
struct Double {
    claims: Option<TokenClaims>,
    /// `None`: `module_file()` fails.
    module: Option<ModuleFile>,
    /// (role, cmdlet, parameters)
    entries: Vec<(String, String, Vec<String>)>,
    /// assignment rows
    assignments: Vec<Value>,
    rbac_denied: bool,
    /// cmdlets whose invocation answers 403 (empty body)
    denied: Vec<String>,
    calls: Mutex<Vec<(String, Value)>>,
}

fn api(status: u16, message: &str, cmdlet: &str) -> Error {
    let mut e = ApiError::new(status, message);
    e.cmdlet = Some(cmdlet.to_string());
    Error::Api(Box::new(e))
}

#[async_trait]
impl ExchangeClient for Double {
    async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
        let cmdlet = inv.cmdlet().to_string();
        let params = Value::Object(inv.parameters().as_map().clone());
        self.calls.lock().unwrap().push((cmdlet.clone(), params));
        let lc = cmdlet.to_ascii_lowercase();
        if self.denied.iter().any(|d| d.eq_ignore_ascii_case(&cmdlet))
            || (self.rbac_denied && lc.starts_with("get-managementrole"))
        {
            return Err(api(403, "", &cmdlet));
        }
        let rows = match lc.as_str() {
            "get-managementroleassignment" => self.assignments.clone(),
            "get-managementroleentry" => {
                let id = inv
                    .parameters()
                    .get("Identity")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let target = id.rsplit('\\').next().unwrap_or_default();
                self.entries
                    .iter()
                    .filter(|(_, c, _)| c.eq_ignore_ascii_case(target))
                    .map(|(r, c, p)| {
                        json!({"Name": c, "Role": r, "Parameters": p, "Identity": format!("{r}\\{c}")})
                    })
                    .collect()
            }
            "get-mobiledevice" => {
                vec![
                    json!({"Identity": "alice\\ExchangeActiveSyncDevices\\iPhone", "DeviceId": "X"}),
                ]
            }
            "get-mobiledevicestatistics" => {
                if inv.parameters().get("Mailbox").and_then(Value::as_str) != Some("alice") {
                    return Err(api(
                        404,
                        "The operation couldn't be performed because object couldn't be found",
                        &cmdlet,
                    ));
                }
                vec![json!({"DeviceId": "X"})]
            }
            _ => vec![json!({"Name": "x"})],
        };
        Ok(RawPage::from_values(cmdlet, rows))
    }

    async fn module_file(&self) -> Result<ModuleFile> {
        self.module
            .clone()
            .ok_or_else(|| api(500, "module generation failed", "EXOModuleFile"))
    }

    async fn token_claims(&self) -> Result<Option<TokenClaims>> {
        Ok(self.claims.clone())
    }
}

fn delegated() -> TokenClaims {
    TokenClaims {
        upn: Some("admin@contoso.com".into()),
        scp: Some("Exchange.Manage".into()),
        ..Default::default()
    }
}

fn app_only(manage_as_app: bool) -> TokenClaims {
    TokenClaims {
        idtyp: Some("app".into()),
        oid: Some("11111111-2222-3333-4444-555555555555".into()),
        appid: Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into()),
        roles: if manage_as_app {
            vec![MANAGE_AS_APP.into()]
        } else {
            Vec::new()
        },
        wids: vec![EXO_ADMIN.into()],
        ..Default::default()
    }
}

/// A generated module exporting `cmdlets` with all their requirement parameters (plus the
/// RBAC-read cmdlets), with export names as the service spells some of them (lower-case).
fn module_for(profile: &Profile, drop: &[&str], drop_param: Option<(&str, &str)>) -> ModuleFile {
    let mut text = String::new();
    let mut exported = Vec::new();
    for r in &profile.requirements {
        if drop.iter().any(|d| d.eq_ignore_ascii_case(&r.cmdlet)) {
            continue;
        }
        let export = if r.cmdlet.ends_with("MobileDeviceMailboxPolicy") {
            let (verb, noun) = r.cmdlet.split_once('-').unwrap();
            format!("{}-{noun}", verb.to_ascii_lowercase())
        } else {
            r.cmdlet.clone()
        };
        exported.push(export);
        let params: Vec<String> = r
            .parameters
            .iter()
            .filter(|p| drop_param != Some((r.cmdlet.as_str(), p.as_str())))
            .map(|p| format!("        [Parameter(Mandatory=$false)]\n        [System.Object]\n        ${{{p}}}"))
            .collect();
        text.push_str(&format!(
            "function script:{} {{\n    [CmdletBinding()]\n    param(\n{}\n    )\n    Execute-Command -CmdletName '{}'\n}}\n\n",
            r.cmdlet,
            params.join(",\n\n"),
            r.cmdlet
        ));
    }
    ModuleFile {
        exported_cmdlets: exported,
        files: vec![ModuleFileEntry::new("ExchangeOnline.psm1", text)],
    }
}

fn org_assignment(role: &str) -> Value {
    json!({
        "Role": role, "Enabled": true, "RoleAssignmentDelegationType": "Regular",
        "RecipientWriteScope": "Organization", "ConfigWriteScope": "OrganizationConfig",
        "CustomRecipientWriteScope": null, "CustomConfigWriteScope": null
    })
}

fn full_entries(profile: &Profile) -> Vec<(String, String, Vec<String>)> {
    profile
        .requirements
        .iter()
        .map(|r| {
            let role = roles::grantors(&r.cmdlet).unwrap().roles[0].to_string();
            (role, r.cmdlet.clone(), r.parameters.clone())
        })
        .collect()
}

fn full_assignments() -> Vec<Value> {
    [
        "Organization Client Access",
        "Recipient Policies",
        "Mail Recipients",
        "View-Only Configuration",
    ]
    .iter()
    .map(|r| org_assignment(r))
    .collect()
}

async fn run(d: &Double, profile: &Profile, probe: bool) -> PermissionReport {
    PermissionChecker::new(d)
        .probe(probe)
        .check(profile)
        .await
        .unwrap()
}

#[tokio::test]
async fn everything_granted_with_module_and_rbac() {
    let p = Profile::hosted_exchange();
    let mut module = module_for(&p, &[], None);
    module
        .exported_cmdlets
        .push("Get-ManagementRoleAssignment".into());
    module
        .exported_cmdlets
        .push("get-managementroleentry".into());
    let d = Double {
        claims: Some(delegated()),
        module: Some(module),
        entries: full_entries(&p),
        assignments: full_assignments(),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    assert!(r.all_granted, "{r}");
    assert_eq!(r.principal.as_deref(), Some("admin@contoso.com"));
    assert_eq!(r.layer(Layer::Rbac).unwrap().state, LayerState::Used);
    let c = r.cmdlet("set-activesyncorganizationsettings").unwrap();
    assert_eq!(c.granting_roles, ["Organization Client Access"]);
    assert!(c.remediation.is_empty());
    // RBAC calls carry the documented parameters
    let calls = d.calls.lock().unwrap();
    let (_, assign) = calls
        .iter()
        .find(|(c, _)| c == "Get-ManagementRoleAssignment")
        .unwrap();
    assert_eq!(assign["RoleAssignee"], "admin@contoso.com");
    assert_eq!(assign["Delegating"], false);
    assert_eq!(assign["Enabled"], true);
    let (_, entry) = calls
        .iter()
        .find(|(c, _)| c == "Get-ManagementRoleEntry")
        .unwrap();
    assert_eq!(entry["Identity"], "*\\Get-ActiveSyncOrganizationSettings");
    assert_eq!(entry["ResultSize"], "Unlimited");
}

#[tokio::test]
async fn lower_case_exports_match_and_missing_export_is_missing() {
    let p = Profile::exchange_online();
    let d = Double {
        claims: Some(delegated()),
        module: Some(module_for(&p, &["Set-ActiveSyncDeviceAccessRule"], None)),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    assert!(!r.all_granted);
    // exported as `set-MobileDeviceMailboxPolicy`
    assert_eq!(
        r.cmdlet("Set-MobileDeviceMailboxPolicy").unwrap().status,
        Status::Granted
    );
    let rule = r.cmdlet("Set-ActiveSyncDeviceAccessRule").unwrap();
    assert_eq!(rule.status, Status::Missing);
    assert!(
        rule.evidence
            .contains(&Evidence::Exported { exported: false })
    );
    assert!(rule.remediation[0].contains("Organization Client Access"));
    assert!(rule.remediation[0].contains("Organization Management"));
    // RBAC was not tried: the RBAC cmdlets are not exported
    let rbac = r.layer(Layer::Rbac).unwrap();
    assert_eq!(rbac.state, LayerState::Unavailable);
    assert!(rbac.detail.contains("not exported"), "{}", rbac.detail);
    assert!(
        !d.calls
            .lock()
            .unwrap()
            .iter()
            .any(|(c, _)| c.starts_with("Get-ManagementRole"))
    );
}

#[tokio::test]
async fn parameter_missing_from_module_block() {
    let p = Profile::exchange_online();
    let d = Double {
        claims: Some(delegated()),
        module: Some(module_for(
            &p,
            &[],
            Some(("Set-ActiveSyncOrganizationSettings", "DefaultAccessLevel")),
        )),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    let c = r.cmdlet("Set-ActiveSyncOrganizationSettings").unwrap();
    assert_eq!(c.status, Status::ParameterMissing);
    assert_eq!(c.missing_parameters, ["DefaultAccessLevel"]);
    assert!(c.remediation[0].contains("-DefaultAccessLevel"));
}

#[tokio::test]
async fn module_unavailable_and_rbac_denied_means_unknown_never_granted() {
    let p = Profile::exchange_online();
    let d = Double {
        claims: Some(delegated()),
        module: None,
        rbac_denied: true,
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    assert!(!r.all_granted);
    assert!(r.cmdlets.iter().all(|c| c.status == Status::Unknown), "{r}");
    let m = r.layer(Layer::ModuleFile).unwrap();
    assert_eq!(m.state, LayerState::Unavailable);
    assert!(m.detail.contains("falling back"));
    let rb = r.layer(Layer::Rbac).unwrap();
    assert_eq!(rb.state, LayerState::Unavailable);
    assert!(rb.detail.contains("not permitted"), "{}", rb.detail);
}

#[tokio::test]
async fn exported_without_parameter_blocks_and_no_rbac_is_unknown_for_parameters() {
    let p = Profile::exchange_online();
    let mut module = module_for(&p, &[], None);
    module.files.clear();
    module
        .exported_cmdlets
        .push("Get-ManagementRoleAssignment".into());
    module
        .exported_cmdlets
        .push("Get-ManagementRoleEntry".into());
    let d = Double {
        claims: Some(delegated()),
        module: Some(module),
        rbac_denied: true,
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    // no required parameters: cmdlet-level truth is enough
    assert_eq!(
        r.cmdlet("Get-ActiveSyncDeviceClass").unwrap().status,
        Status::Granted
    );
    // required parameters unverifiable: unknown, not granted
    let set = r.cmdlet("Set-ActiveSyncOrganizationSettings").unwrap();
    assert_eq!(set.status, Status::Unknown);
    assert!(set.remediation[0].contains("View-Only Configuration"));
}

#[tokio::test]
async fn rbac_gives_parameters_and_scopes() {
    let p = Profile::hosted_exchange();
    let mut entries = full_entries(&p);
    // Mail Recipients lacks AccountOnly on Clear-MobileDevice
    for e in entries.iter_mut() {
        if e.1 == "Clear-MobileDevice" {
            e.2.retain(|x| x != "AccountOnly");
        }
    }
    let mut assignments = full_assignments();
    // Recipient Policies only within a custom scope
    assignments[1] = json!({
        "Role": "Recipient Policies", "Enabled": true,
        "RecipientWriteScope": "CustomRecipientScope", "ConfigWriteScope": "CustomConfigScope",
        "CustomConfigWriteScope": "Contoso EU"
    });
    // a disabled assignment grants nothing
    assignments.push(json!({"Role": "User Options", "Enabled": false}));
    // a write scope of None grants no writes (Organization Client Access only for reads)
    assignments[0] = json!({
        "Role": "Organization Client Access", "Enabled": true,
        "RecipientWriteScope": "None", "ConfigWriteScope": "None"
    });
    let d = Double {
        claims: Some(delegated()),
        module: None,
        entries,
        assignments,
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    let clear = r.cmdlet("Clear-MobileDevice").unwrap();
    assert_eq!(clear.status, Status::ParameterMissing);
    assert_eq!(clear.missing_parameters, ["AccountOnly"]);
    let set_policy = r.cmdlet("Set-MobileDeviceMailboxPolicy").unwrap();
    assert_eq!(set_policy.status, Status::Scoped, "{r}");
    assert!(set_policy.remediation[0].contains("Contoso EU"));
    // reads are not scope-checked
    assert_eq!(
        r.cmdlet("Get-MobileDeviceMailboxPolicy").unwrap().status,
        Status::Granted
    );
    assert_eq!(
        r.cmdlet("Get-MobileDevice").unwrap().status,
        Status::Granted
    );
    assert_eq!(
        r.cmdlet("Set-ActiveSyncDeviceAccessRule").unwrap().status,
        Status::Missing
    );
    assert_eq!(
        r.cmdlet("Get-ActiveSyncDeviceAccessRule").unwrap().status,
        Status::Granted
    );
}

#[tokio::test]
async fn no_role_entry_in_rbac_is_missing() {
    let p = Profile::hosted_exchange();
    let mut entries = full_entries(&p);
    entries.retain(|e| e.1 != "Remove-MobileDevice");
    let d = Double {
        claims: Some(delegated()),
        module: None,
        entries,
        assignments: full_assignments(),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    let c = r.cmdlet("Remove-MobileDevice").unwrap();
    assert_eq!(c.status, Status::Missing);
    assert_eq!(c.access, Access::Destructive);
    assert!(c.evidence.contains(&Evidence::NoRoleEntry));
}

#[tokio::test]
async fn app_only_without_manage_as_app_is_blocking() {
    let p = Profile::exchange_online();
    let d = Double {
        claims: Some(app_only(false)),
        module: Some(module_for(&p, &[], None)),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    assert!(r.cmdlets.iter().all(|c| c.status == Status::Missing));
    assert!(r.findings.iter().any(|f| f.contains(MANAGE_AS_APP)));
    let c = &r.cmdlets[0];
    assert!(c.evidence.contains(&Evidence::TokenRole {
        role: MANAGE_AS_APP.into(),
        present: false
    }));
    assert!(c.remediation[0].contains("consent"));
    assert_eq!(r.app_only, Some(true));
}

#[tokio::test]
async fn app_only_hint_is_not_proof_and_remediation_names_entra_role() {
    let p = Profile::exchange_online();
    let d = Double {
        claims: Some(app_only(true)),
        module: Some(module_for(&p, &["Get-ActiveSyncDeviceClass"], None)),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    assert_eq!(
        r.principal.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    let c = r.cmdlet("Get-ActiveSyncDeviceClass").unwrap();
    // the Exchange Administrator hint does not override the module file
    assert_eq!(c.status, Status::Missing);
    assert!(c.evidence.iter().any(
        |e| matches!(e, Evidence::DirectoryRole { name, .. } if name == "Exchange Administrator")
    ));
    assert!(
        c.remediation
            .iter()
            .any(|x| x.contains("Exchange Administrator")
                && x.contains("New-ServicePrincipal")
                && x.contains("Add-RoleGroupMember"))
    );

    // with no other evidence, the hint alone yields unknown
    let d = Double {
        claims: Some(app_only(true)),
        module: None,
        rbac_denied: true,
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    assert!(r.cmdlets.iter().all(|c| c.status == Status::Unknown));
}

/// The hosted profile, with PowerShell common parameters added to every cmdlet's list the way
/// a hand-written custom profile might name them.
fn profile_with_common_parameters() -> Profile {
    let base = Profile::hosted_exchange();
    let requirements = base
        .requirements
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r.access == Access::Destructive {
                r.parameters.push("Confirm".into());
            }
            r.parameters.push("errorAction".into());
            r.parameters.push("WhatIf".into());
            r
        })
        .collect();
    Profile::custom("custom", requirements)
}

#[tokio::test]
async fn common_parameters_in_a_custom_profile_are_not_required() {
    let base = Profile::hosted_exchange();
    let p = profile_with_common_parameters();
    // Neither the module's parameter blocks nor the role entries list common parameters.
    let mut module = module_for(&base, &[], None);
    module.exported_cmdlets.extend([
        "Get-ManagementRoleAssignment".into(),
        "Get-ManagementRoleEntry".into(),
    ]);
    let d = Double {
        claims: Some(delegated()),
        module: Some(module),
        entries: full_entries(&base),
        assignments: full_assignments(),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    let remove = r.cmdlet("Remove-MobileDevice").unwrap();
    assert_eq!(remove.status, Status::Granted, "{r}");
    assert!(remove.missing_parameters.is_empty());
    assert!(r.all_granted, "{r}");

    // RBAC alone (no module file) decides the same way.
    let d = Double {
        claims: Some(delegated()),
        module: None,
        entries: full_entries(&base),
        assignments: full_assignments(),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    assert!(r.all_granted, "{r}");

    // A real missing parameter is still reported, without the common ones.
    let d = Double {
        claims: Some(delegated()),
        module: Some(module_for(
            &base,
            &[],
            Some(("Clear-MobileDevice", "Identity")),
        )),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    let clear = r.cmdlet("Clear-MobileDevice").unwrap();
    assert_eq!(clear.status, Status::ParameterMissing, "{r}");
    assert_eq!(clear.missing_parameters, ["Identity"]);
}

mod probes_report;
