//! The probe layer (opt-in): which read-only calls are safe to make, running them, and what
//! their answers or errors say.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::module::ModuleView;
use super::profile::{Access, CmdletRequirement, Profile};
use super::rbac::short_error;
use super::report::{Layer, LayerNote, LayerState};
use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::error::Error;
use crate::protocol::Parameters;

/// How a probe went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProbeOutcome {
    Ok,
    NotFound,
    Denied,
    ParameterDenied,
    Error,
    Skipped,
}

impl ProbeOutcome {
    pub(super) fn as_str(self) -> &'static str {
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

/// One probe: its outcome, the parameters it sent and what it saw.
#[derive(Debug)]
pub(super) struct ProbeResult {
    pub(super) outcome: ProbeOutcome,
    pub(super) parameters: Vec<String>,
    pub(super) detail: String,
}

/// Layer 4: runs the probes when `on`, noting the layer in `notes`.
pub(super) async fn read_layer(
    client: &dyn ExchangeClient,
    profile: &Profile,
    module: Option<&ModuleView>,
    on: bool,
    notes: &mut Vec<LayerNote>,
) -> BTreeMap<String, ProbeResult> {
    if on {
        let probes = run(client, profile, module).await;
        let ran = probes
            .values()
            .filter(|p| p.outcome != ProbeOutcome::Skipped)
            .count();
        notes.push(LayerNote {
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
        notes.push(LayerNote {
            layer: Layer::Probe,
            state: LayerState::Skipped,
            detail: "probes not requested".into(),
        });
        BTreeMap::new()
    }
}

/// Runs the read-only probes of `profile`'s `Get-*` cmdlets, keyed by lower-cased cmdlet.
async fn run(
    client: &dyn ExchangeClient,
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
    let statistics = crate::catalog::GET_MOBILE_DEVICE_STATISTICS.name;
    order.sort_by_key(|r| r.cmdlet.eq_ignore_ascii_case(statistics));
    for req in order {
        let key = req.cmdlet.to_ascii_lowercase();
        let mut p = Parameters::new();
        let mut sent = Vec::new();
        // The catalog says which cmdlets a probe may run (harmless reads).
        match crate::catalog::lookup(&req.cmdlet).filter(|c| c.probe) {
            Some(c) if c.name == statistics => match &mailbox {
                Some(m) => {
                    p.string("Mailbox", m.clone());
                    sent.push("Mailbox".to_string());
                }
                None => {
                    out.insert(
                        key,
                        ProbeResult::skipped(
                            sent,
                            "no mailbox known to exist (the Get-MobileDevice and \
                             Get-Recipient probes found none)",
                        ),
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
                    ProbeResult::skipped(sent, "no known-safe probe for this cmdlet"),
                );
                continue;
            }
        }
        if module.is_some_and(|m| !m.exports(&req.cmdlet)) {
            out.insert(
                key,
                ProbeResult::skipped(Vec::new(), "not exported; not probed"),
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
        let result = match client.invoke_raw(&req.cmdlet, p).await {
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

impl ProbeResult {
    /// A probe that was not sent, with the parameters it would have had and why.
    fn skipped(parameters: Vec<String>, why: &str) -> Self {
        ProbeResult {
            outcome: ProbeOutcome::Skipped,
            parameters,
            detail: why.to_string(),
        }
    }
}
