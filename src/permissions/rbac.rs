//! The RBAC layer: the principal's role assignments (`Get-ManagementRoleAssignment`) and the
//! role entries of each cmdlet (`Get-ManagementRoleEntry`), with their write scopes.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::module::ModuleView;
use super::profile::Profile;
use super::report::{Layer, LayerNote, LayerState};
use super::token::TokenFacts;
use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::error::Error;
use crate::protocol::Parameters;

const ROLE_ASSIGNMENT_CMDLET: &str = crate::catalog::GET_MANAGEMENT_ROLE_ASSIGNMENT.name;
const ROLE_ENTRY_CMDLET: &str = crate::catalog::GET_MANAGEMENT_ROLE_ENTRY.name;

/// One of the account's role assignments.
#[derive(Debug, Clone)]
pub(super) struct Assignment {
    pub(super) role: String,
    pub(super) recipient_write_scope: String,
    pub(super) config_write_scope: String,
    pub(super) custom_recipient: Option<String>,
    pub(super) custom_config: Option<String>,
}

impl Assignment {
    /// The write scope that applies to a configuration or a recipient cmdlet, and the custom
    /// scope, if any.
    pub(super) fn write_scope(&self, config: bool) -> (&String, &Option<String>) {
        if config {
            (&self.config_write_scope, &self.custom_config)
        } else {
            (&self.recipient_write_scope, &self.custom_recipient)
        }
    }
}

/// The role entries of one cmdlet: (role, parameters) rows, or why they could not be read.
#[derive(Debug)]
pub(super) enum EntryLookup {
    Found(Vec<(String, Vec<String>)>),
    Failed(String),
}

/// What RBAC says: the principal's assignments and the role entries of each cmdlet.
#[derive(Debug, Default)]
pub(super) struct RbacFacts {
    pub(super) assignments: Vec<Assignment>,
    pub(super) entries: BTreeMap<String, EntryLookup>,
    /// An app-only principal with no listed assignment: access through Entra roles or role
    /// groups does not necessarily show up, so absence proves nothing.
    pub(super) absence_inconclusive: bool,
}

/// Layer 3: reads RBAC for `profile`, noting the layer in `notes`. Without RBAC facts, the
/// reason why.
pub(super) async fn read_layer(
    client: &dyn ExchangeClient,
    profile: &Profile,
    token: Option<&TokenFacts>,
    module: Option<&ModuleView>,
    notes: &mut Vec<LayerNote>,
) -> (Option<RbacFacts>, String) {
    let (rbac, rbac_reason) = read(client, profile, token, module).await;
    notes.push(match &rbac {
        Some(r) => LayerNote {
            layer: Layer::Rbac,
            state: LayerState::Used,
            detail: format!(
                "{} enabled, non-delegating role assignment(s) of {}{}",
                r.assignments.len(),
                token
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

    (rbac, rbac_reason)
}

/// Reads the principal's role assignments and the role entries of each cmdlet of `profile`,
/// or says why RBAC cannot be read.
async fn read(
    client: &dyn ExchangeClient,
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
    let rows = match client.invoke_raw(ROLE_ASSIGNMENT_CMDLET, p).await {
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
        let lookup = match client.invoke_raw(ROLE_ENTRY_CMDLET, p).await {
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

pub(super) fn short_error(e: &Error) -> String {
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
pub(super) fn org_wide(scope: &str) -> bool {
    let s = scope.trim();
    s.is_empty()
        || s.eq_ignore_ascii_case("Organization")
        || s.eq_ignore_ascii_case("OrganizationConfig")
        || s.eq_ignore_ascii_case("NotApplicable")
}
