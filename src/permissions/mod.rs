//! Permission check: can this account run every cmdlet a connector needs?
//!
//! Exchange Online permissions are cmdlet- and parameter-level RBAC. [`PermissionChecker`]
//! answers the question with layered evidence, each layer optional and degrading gracefully:
//!
//! 1. **token claims** ([`ExchangeClient::token_claims`]): an app-only token must carry
//!    `Exchange.ManageAsApp` (without it nothing works); `wids` names Entra directory roles,
//!    reported as hints, never as proof;
//! 2. **`EXOModuleFile`** ([`ExchangeClient::module_file`]): the cmdlets the service exposes to
//!    the account (cmdlet-level truth) and, when the generated module is included, the
//!    parameters each generated function declares (parameter-level truth);
//! 3. **RBAC** (`Get-ManagementRoleAssignment -RoleAssignee <principal> -Delegating:$false
//!    -Enabled:$true` and `Get-ManagementRoleEntry "*\<cmdlet>" -ResultSize Unlimited`): the
//!    granting roles, the union of their parameters and the write scopes. These cmdlets need
//!    read rights a connector account usually lacks; without them, parameters are `unknown`,
//!    never `granted`;
//! 4. **probes** (opt-in, [`PermissionChecker::probe`]): read-only calls of the `Get-*`
//!    cmdlets (`ResultSize 1` only where the cmdlet declares it). Nothing is ever written, no
//!    `-WhatIf` is relied on, and `Clear-MobileDevice` is never touched.
//!
//! The result is a [`PermissionReport`] (serializable; `Display` renders a table followed by
//! remediation lines).
//!
//! ```no_run
//! # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
//! use exchange_activesync::permissions::{PermissionChecker, Profile};
//! let report = PermissionChecker::new(client)
//!     .probe(true)
//!     .check(&Profile::exchange_online())
//!     .await?;
//! println!("{report}");
//! assert!(report.all_granted || report.not_granted().count() > 0);
//! # Ok(()) }
//! ```

mod cli;
mod module;
mod profile;
mod report;
pub mod roles;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

pub use cli::{CheckOutput, EXIT_ERROR, EXIT_GRANTED, EXIT_NOT_GRANTED, OutputFormat, run_check};
pub use module::{ModuleView, parse_functions};
pub use profile::{Access, CmdletRequirement, Profile, UnknownProfile};
pub use report::{CmdletReport, Evidence, Layer, LayerNote, LayerState, PermissionReport, Status};

use crate::auth::TokenClaims;
use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::error::{Error, Result};
use crate::protocol::Parameters;

/// The application permission an app-only token needs to run any Exchange Online cmdlet.
pub const MANAGE_AS_APP: &str = "Exchange.ManageAsApp";

const ROLE_ASSIGNMENT_CMDLET: &str = "Get-ManagementRoleAssignment";
const ROLE_ENTRY_CMDLET: &str = "Get-ManagementRoleEntry";

/// Runs the permission check of a [`Profile`] against an [`ExchangeClient`].
#[derive(Clone, Copy)]
pub struct PermissionChecker<'a> {
    client: &'a dyn ExchangeClient,
    probe: bool,
}

impl std::fmt::Debug for PermissionChecker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermissionChecker")
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

/// What the token says.
#[derive(Debug, Default)]
struct TokenFacts {
    app_only: Option<bool>,
    consent_missing: bool,
    manage_as_app: bool,
    directory_roles: Vec<(String, String)>,
    principal: Option<String>,
}

impl TokenFacts {
    fn admin_hint(&self) -> bool {
        self.directory_roles
            .iter()
            .any(|(_, name)| roles::is_full_exchange_admin(name))
    }
}

/// One of the account's role assignments.
#[derive(Debug, Clone)]
struct Assignment {
    role: String,
    recipient_write_scope: String,
    config_write_scope: String,
    custom_recipient: Option<String>,
    custom_config: Option<String>,
}

impl Assignment {
    /// The write scope that applies to a configuration or a recipient cmdlet, and the custom
    /// scope, if any.
    fn write_scope(&self, config: bool) -> (&String, &Option<String>) {
        if config {
            (&self.config_write_scope, &self.custom_config)
        } else {
            (&self.recipient_write_scope, &self.custom_recipient)
        }
    }
}

#[derive(Debug)]
enum EntryLookup {
    Found(Vec<(String, Vec<String>)>),
    Failed(String),
}

#[derive(Debug, Default)]
struct RbacFacts {
    assignments: Vec<Assignment>,
    entries: BTreeMap<String, EntryLookup>,
    /// An app-only principal with no listed assignment: access through Entra roles or role
    /// groups does not necessarily show up, so absence proves nothing.
    absence_inconclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeOutcome {
    Ok,
    NotFound,
    Denied,
    ParameterDenied,
    Error,
    Skipped,
}

impl ProbeOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ProbeOutcome::Ok => "ok",
            ProbeOutcome::NotFound => "not-found",
            ProbeOutcome::Denied => "denied",
            ProbeOutcome::ParameterDenied => "parameter-denied",
            ProbeOutcome::Error => "error",
            ProbeOutcome::Skipped => "skipped",
        }
    }
}

#[derive(Debug)]
struct ProbeResult {
    outcome: ProbeOutcome,
    parameters: Vec<String>,
    detail: String,
}

impl<'a> PermissionChecker<'a> {
    /// A checker over `client` (probes off). `&Arc<dyn ExchangeClient>` works too.
    pub fn new(client: &'a dyn ExchangeClient) -> Self {
        PermissionChecker {
            client,
            probe: false,
        }
    }

    /// Whether to run read-only probes of the profile's `Get-*` cmdlets (default off).
    pub fn probe(mut self, on: bool) -> Self {
        self.probe = on;
        self
    }

    /// Check every cmdlet of `profile`. A failing evidence layer is reported in the result,
    /// never as an error of the whole check.
    pub async fn check(&self, profile: &Profile) -> Result<PermissionReport> {
        let mut layers = Vec::new();
        let mut findings = Vec::new();

        // Layer 1: token claims.
        let token = match self.client.token_claims().await {
            Ok(Some(claims)) => {
                let facts = token_facts(&claims);
                layers.push(LayerNote {
                    layer: Layer::TokenClaims,
                    state: LayerState::Used,
                    detail: describe_token(&facts),
                });
                if facts.consent_missing {
                    findings.push(format!(
                        "the app-only token lacks the {MANAGE_AS_APP} application permission: \
                         no Exchange Online cmdlet can run until an administrator grants \
                         consent for it (Office 365 Exchange Online API)"
                    ));
                }
                Some(facts)
            }
            Ok(None) => {
                layers.push(LayerNote {
                    layer: Layer::TokenClaims,
                    state: LayerState::Skipped,
                    detail: "the client has no JWT-shaped token to read".into(),
                });
                None
            }
            Err(e) => {
                layers.push(LayerNote {
                    layer: Layer::TokenClaims,
                    state: LayerState::Unavailable,
                    detail: format!("could not read the token: {e}"),
                });
                None
            }
        };
        let token_ref = token.as_ref();

        // Layer 2: EXOModuleFile.
        let (module, module_reason) = match self.client.module_file().await {
            Ok(file) => {
                let view = ModuleView::from_module_file(&file);
                layers.push(LayerNote {
                    layer: Layer::ModuleFile,
                    state: LayerState::Used,
                    detail: format!(
                        "{} cmdlet(s) exported, {} parameter block(s) read",
                        view.exported_count(),
                        view.parsed_count()
                    ),
                });
                (Some(view), String::new())
            }
            Err(e) => {
                let reason = match e.root() {
                    Error::Unsupported(_) => "the client does not support EXOModuleFile".into(),
                    other => format!("EXOModuleFile failed: {other}"),
                };
                layers.push(LayerNote {
                    layer: Layer::ModuleFile,
                    state: LayerState::Unavailable,
                    detail: format!("{reason}; falling back to other evidence"),
                });
                (None, reason)
            }
        };

        // Layer 3: RBAC.
        let (rbac, rbac_reason) = self.read_rbac(profile, token_ref, module.as_ref()).await;
        layers.push(match &rbac {
            Some(r) => LayerNote {
                layer: Layer::Rbac,
                state: LayerState::Used,
                detail: format!(
                    "{} enabled, non-delegating role assignment(s) of {}{}",
                    r.assignments.len(),
                    token_ref
                        .and_then(|t| t.principal.as_deref())
                        .unwrap_or("the principal"),
                    if r.absence_inconclusive {
                        " (a service principal's access through Entra roles or role-group \
                         membership may not be listed: absence is not taken as proof)"
                    } else {
                        ""
                    }
                ),
            },
            None => LayerNote {
                layer: Layer::Rbac,
                state: LayerState::Unavailable,
                detail: format!("{rbac_reason}; parameters and scopes cannot be read from RBAC"),
            },
        });

        // Layer 4: probes.
        let probes = if self.probe {
            let probes = self.run_probes(profile, module.as_ref()).await;
            let ran = probes
                .values()
                .filter(|p| p.outcome != ProbeOutcome::Skipped)
                .count();
            layers.push(LayerNote {
                layer: Layer::Probe,
                state: if ran > 0 {
                    LayerState::Used
                } else {
                    LayerState::Skipped
                },
                detail: format!("{ran} read-only probe(s) run; no write was attempted"),
            });
            probes
        } else {
            layers.push(LayerNote {
                layer: Layer::Probe,
                state: LayerState::Skipped,
                detail: "probes not requested".into(),
            });
            BTreeMap::new()
        };

        let cmdlets: Vec<CmdletReport> = profile
            .requirements
            .iter()
            .map(|req| {
                assess(
                    req,
                    token_ref,
                    module.as_ref(),
                    &module_reason,
                    rbac.as_ref(),
                    &rbac_reason,
                    probes.get(&req.cmdlet.to_ascii_lowercase()),
                )
            })
            .collect();
        let all_granted = cmdlets.iter().all(|c| c.status == Status::Granted);
        Ok(PermissionReport {
            profile: profile.name.clone(),
            principal: token_ref.and_then(|t| t.principal.clone()),
            app_only: token_ref.and_then(|t| t.app_only),
            all_granted,
            cmdlets,
            layers,
            findings,
        })
    }

    async fn read_rbac(
        &self,
        profile: &Profile,
        token: Option<&TokenFacts>,
        module: Option<&ModuleView>,
    ) -> (Option<RbacFacts>, String) {
        let Some(principal) = token.and_then(|t| t.principal.clone()) else {
            return (
                None,
                "the principal is unknown (no token claims), so its role assignments cannot be \
                 listed"
                    .into(),
            );
        };
        if let Some(view) = module {
            let absent: Vec<&str> = [ROLE_ASSIGNMENT_CMDLET, ROLE_ENTRY_CMDLET]
                .into_iter()
                .filter(|c| !view.exports(c))
                .collect();
            if !absent.is_empty() {
                return (
                    None,
                    format!(
                        "{} not exported to this account (needs View-Only Configuration or \
                         Role Management, e.g. via View-Only Organization Management)",
                        absent.join(" and ")
                    ),
                );
            }
        }
        let mut p = Parameters::new();
        p.string("RoleAssignee", principal.clone())
            .bool("Delegating", false)
            .bool("Enabled", true);
        let rows = match self.client.invoke_raw(ROLE_ASSIGNMENT_CMDLET, p).await {
            Ok(listing) => listing.items,
            Err(e) => return (None, describe_failure(ROLE_ASSIGNMENT_CMDLET, &e)),
        };
        let assignments: Vec<Assignment> = rows.iter().filter_map(parse_assignment).collect();
        let mut facts = RbacFacts {
            absence_inconclusive: assignments.is_empty()
                && token.is_some_and(|t| t.app_only == Some(true)),
            assignments,
            entries: BTreeMap::new(),
        };
        for req in &profile.requirements {
            let key = req.cmdlet.to_ascii_lowercase();
            if facts.entries.contains_key(&key) {
                continue;
            }
            let mut p = Parameters::new();
            p.string("Identity", format!("*\\{}", req.cmdlet))
                .string("ResultSize", "Unlimited");
            let lookup = match self.client.invoke_raw(ROLE_ENTRY_CMDLET, p).await {
                Ok(listing) => EntryLookup::Found(
                    listing
                        .items
                        .iter()
                        .filter_map(|row| parse_entry(row, &req.cmdlet))
                        .collect(),
                ),
                Err(e) if e.is_not_found() => EntryLookup::Found(Vec::new()),
                Err(e) if denied(&e) => {
                    return (None, describe_failure(ROLE_ENTRY_CMDLET, &e));
                }
                Err(e) => EntryLookup::Failed(describe_failure(ROLE_ENTRY_CMDLET, &e)),
            };
            facts.entries.insert(key, lookup);
        }
        (Some(facts), String::new())
    }

    async fn run_probes(
        &self,
        profile: &Profile,
        module: Option<&ModuleView>,
    ) -> BTreeMap<String, ProbeResult> {
        let mut out = BTreeMap::new();
        let mut mailbox: Option<String> = None;
        // Probes that may reveal a mailbox run first; the statistics probe needs one.
        let mut order: Vec<&CmdletRequirement> = profile
            .requirements
            .iter()
            .filter(|r| r.access == Access::Read)
            .collect();
        order.sort_by_key(|r| r.cmdlet.eq_ignore_ascii_case("Get-MobileDeviceStatistics"));
        for req in order {
            let key = req.cmdlet.to_ascii_lowercase();
            let mut p = Parameters::new();
            let mut sent = Vec::new();
            // The catalog says which cmdlets a probe may run (harmless reads).
            match crate::catalog::lookup(&req.cmdlet).filter(|c| c.probe) {
                Some(c) if c.name == "Get-MobileDeviceStatistics" => match &mailbox {
                    Some(m) => {
                        p.string("Mailbox", m.clone());
                        sent.push("Mailbox".to_string());
                    }
                    None => {
                        out.insert(
                            key,
                            ProbeResult {
                                outcome: ProbeOutcome::Skipped,
                                parameters: sent,
                                detail: "no mailbox known to exist (the Get-MobileDevice and \
                                         Get-Recipient probes found none)"
                                    .into(),
                            },
                        );
                        continue;
                    }
                },
                Some(c) if c.result_size => {
                    p.int("ResultSize", 1);
                    sent.push("ResultSize".to_string());
                }
                Some(_) => {}
                None => {
                    out.insert(
                        key,
                        ProbeResult {
                            outcome: ProbeOutcome::Skipped,
                            parameters: sent,
                            detail: "no known-safe probe for this cmdlet".into(),
                        },
                    );
                    continue;
                }
            }
            if module.is_some_and(|m| !m.exports(&req.cmdlet)) {
                out.insert(
                    key,
                    ProbeResult {
                        outcome: ProbeOutcome::Skipped,
                        parameters: Vec::new(),
                        detail: "not exported; not probed".into(),
                    },
                );
                continue;
            }
            let shown = if sent.is_empty() {
                req.cmdlet.clone()
            } else if key == "get-mobiledevicestatistics" {
                format!("{} -Mailbox <mailbox>", req.cmdlet)
            } else {
                format!("{} -ResultSize 1", req.cmdlet)
            };
            let result = match self.client.invoke_raw(&req.cmdlet, p).await {
                Ok(listing) => {
                    if mailbox.is_none() {
                        mailbox = listing.items.iter().find_map(|row| mailbox_of(&key, row));
                    }
                    ProbeResult {
                        outcome: ProbeOutcome::Ok,
                        parameters: sent,
                        detail: format!("{shown}: {} row(s)", listing.items.len()),
                    }
                }
                Err(e) => {
                    let outcome = classify_probe_error(&e);
                    ProbeResult {
                        outcome,
                        parameters: sent,
                        detail: format!("{shown}: {}", short_error(&e)),
                    }
                }
            };
            out.insert(key, result);
        }
        out
    }
}

fn token_facts(claims: &TokenClaims) -> TokenFacts {
    let app_only = claims.is_app_only();
    let manage_as_app = claims.has_manage_as_app();
    let directory_roles = claims
        .wids
        .iter()
        .filter_map(|id| roles::directory_role_name(id).map(|n| (id.clone(), n.to_string())))
        .collect();
    let principal = if app_only {
        claims.oid.clone().or_else(|| claims.appid.clone())
    } else {
        claims
            .user()
            .map(str::to_string)
            .or_else(|| claims.oid.clone())
    };
    TokenFacts {
        app_only: Some(app_only),
        consent_missing: app_only && !manage_as_app,
        manage_as_app,
        directory_roles,
        principal,
    }
}

fn describe_token(t: &TokenFacts) -> String {
    let kind = if t.app_only == Some(true) {
        format!(
            "app-only token, {MANAGE_AS_APP} {}",
            if t.manage_as_app { "present" } else { "ABSENT" }
        )
    } else {
        "delegated token".to_string()
    };
    let roles: Vec<&str> = t.directory_roles.iter().map(|(_, n)| n.as_str()).collect();
    if roles.is_empty() {
        format!("{kind}; no known directory role in wids")
    } else {
        format!("{kind}; directory role(s) {} (hint only)", roles.join(", "))
    }
}

fn denied(e: &Error) -> bool {
    e.is_permission_denied() || matches!(e.status(), Some(401 | 403))
}

fn describe_failure(cmdlet: &str, e: &Error) -> String {
    if denied(e) {
        format!(
            "{cmdlet} is not permitted for this account ({})",
            short_error(e)
        )
    } else {
        format!("{cmdlet} failed: {}", short_error(e))
    }
}

fn short_error(e: &Error) -> String {
    match e.api() {
        Some(api) if api.message.trim().is_empty() => format!("HTTP {}", api.status),
        Some(api) => {
            let message: String = api.message.chars().take(160).collect();
            format!("HTTP {}: {message}", api.status)
        }
        None => {
            let s = e.to_string();
            s.chars().take(200).collect()
        }
    }
}

fn classify_probe_error(e: &Error) -> ProbeOutcome {
    if let Some(api) = e.api() {
        let parameter_level = api
            .exception_type
            .as_deref()
            .is_some_and(|t| t.contains("CmdletAccessDenied"))
            || api.message.contains("CmdletAccessDeniedException")
            || (api.message.contains("parameters") && api.message.contains("role definition"));
        if parameter_level {
            return ProbeOutcome::ParameterDenied;
        }
        if api.is_permission_denied() || matches!(api.status, 401 | 403) {
            return ProbeOutcome::Denied;
        }
        if api.is_not_found() {
            return ProbeOutcome::NotFound;
        }
    }
    ProbeOutcome::Error
}

/// A mailbox identity that a probe row proves to exist.
fn mailbox_of(cmdlet: &str, row: &Map<String, Value>) -> Option<String> {
    let s = |k: &str| {
        row.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    match cmdlet {
        "get-recipient" => {
            let is_mailbox = s("RecipientTypeDetails")
                .or(s("RecipientType"))
                .is_some_and(|t| t.to_ascii_lowercase().contains("mailbox"));
            if !is_mailbox {
                return None;
            }
            s("PrimarySmtpAddress")
                .or(s("ExternalDirectoryObjectId"))
                .or(s("Identity"))
                .map(str::to_string)
        }
        "get-mobiledevice" => {
            // Identity is `<mailbox>\ExchangeActiveSyncDevices\<device>`.
            let identity = s("Identity")?;
            let (mailbox, rest) = identity.split_once('\\')?;
            (!mailbox.trim().is_empty() && !rest.is_empty()).then(|| mailbox.trim().to_string())
        }
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Object(m) => ["Name", "DisplayName", "Identity"]
            .iter()
            .find_map(|k| text(m.get(*k))),
        _ => None,
    }
}

fn parse_assignment(row: &Map<String, Value>) -> Option<Assignment> {
    if row.get("Enabled").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    if text(row.get("RoleAssignmentDelegationType"))
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("delegating"))
    {
        return None;
    }
    let role = text(row.get("Role"))?;
    Some(Assignment {
        role,
        recipient_write_scope: text(row.get("RecipientWriteScope")).unwrap_or_default(),
        config_write_scope: text(row.get("ConfigWriteScope")).unwrap_or_default(),
        custom_recipient: text(row.get("CustomRecipientWriteScope"))
            .or_else(|| text(row.get("RecipientAdministrativeUnitScope")))
            .or_else(|| text(row.get("RecipientGroupScope"))),
        custom_config: text(row.get("CustomConfigWriteScope")),
    })
}

fn parse_entry(row: &Map<String, Value>, cmdlet: &str) -> Option<(String, Vec<String>)> {
    let identity = text(row.get("Identity"));
    let name = text(row.get("Name")).or_else(|| {
        identity
            .as_deref()
            .and_then(|i| i.rsplit_once('\\'))
            .map(|(_, c)| c.to_string())
    });
    if name.is_some_and(|n| !n.eq_ignore_ascii_case(cmdlet)) {
        return None;
    }
    let role = text(row.get("Role")).or_else(|| {
        identity
            .as_deref()
            .and_then(|i| i.rsplit_once('\\'))
            .map(|(r, _)| r.to_string())
    })?;
    let parameters = match row.get("Parameters") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => s
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    Some((role, parameters))
}

/// Whether a write scope value is organization-wide (or not applicable).
fn org_wide(scope: &str) -> bool {
    let s = scope.trim();
    s.is_empty()
        || s.eq_ignore_ascii_case("Organization")
        || s.eq_ignore_ascii_case("OrganizationConfig")
        || s.eq_ignore_ascii_case("NotApplicable")
}

fn contains_ci(set: &BTreeSet<String>, name: &str) -> bool {
    set.iter().any(|p| p.eq_ignore_ascii_case(name))
}

#[allow(clippy::too_many_arguments)]
fn assess(
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
    let mut params_verified = req.parameters.is_empty();
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
                    req.parameters
                        .iter()
                        .filter(|p| !contains_ci(declared, p))
                        .cloned(),
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
                    req.parameters
                        .iter()
                        .filter(|p| !contains_ci(&union, p))
                        .cloned(),
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
                if req
                    .parameters
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
                        .filter(|s| req.parameters.iter().any(|r| r.eq_ignore_ascii_case(s)))
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
            if req.parameters.is_empty() {
                "the cmdlet".to_string()
            } else {
                format!("-{}", req.parameters.join(", -"))
            }
        )),
    }
    out
}

#[cfg(test)]
mod tests;
