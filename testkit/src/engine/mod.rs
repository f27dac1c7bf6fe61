//! The cmdlet engine: runs one page of a cmdlet against a [`Tenant`] with the service's
//! validation, RBAC, confirmation, paging and output encoding.
//!
//! [`execute`] validates the call and dispatches it to the read handlers (`read`) or the
//! write handlers (`write`); both shape their rows with the writers of `rows`, and page
//! through the context of `context`.

mod cas;
mod context;
mod read;
mod rows;
mod write;

use std::sync::RwLock;

use serde_json::{Map, Value};

use super::catalog::{Catalog, CmdletSpec, ConfirmImpact};
pub use super::continuation::Cursor;
use super::failure::Failure;
use super::policy;
use super::tenant::{ORG_SETTINGS_NAME, Tenant};
pub use context::{Call, Reply};
use context::{Ctx, param};
use exchange_activesync::protocol::CmdletKind;

/// Run one page of a cmdlet against the tenant. Reads take the read lock, writes the write
/// lock; nothing of the tenant is cloned.
pub fn execute(tenant: &RwLock<Tenant>, call: &Call<'_>) -> Result<Reply, Failure> {
    let catalog = Catalog::get();
    let spec = catalog
        .cmdlet(call.cmdlet)
        .ok_or(Failure::PermissionDenied)?;
    let kind = CmdletKind::from_cmdlet_name(&spec.name);
    {
        let t = tenant.read().unwrap_or_else(|e| e.into_inner());
        validate(&t, spec, call)?;
    }
    if let Some(message) = confirmation(spec, call.parameters) {
        let mut out = Reply::empty(&spec.name);
        out.confirmation_message = Some(message);
        return Ok(out);
    }
    let ctx = Ctx::new(spec, call);
    // Devices that acknowledge wipes by themselves do so before the next cmdlet runs.
    if tenant.read().unwrap_or_else(|e| e.into_inner()).wipes_due() {
        tenant
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .settle_wipes();
    }
    if kind.is_mutating() {
        let mut t = tenant.write().unwrap_or_else(|e| e.into_inner());
        write::write_cmdlet(&mut t, &ctx)
    } else {
        let t = tenant.read().unwrap_or_else(|e| e.into_inner());
        read::read_cmdlet(&t, &ctx)
    }
}

fn validate(t: &Tenant, spec: &CmdletSpec, call: &Call<'_>) -> Result<(), Failure> {
    let allowed = t
        .rbac
        .allowed_parameters(&spec.name)
        .ok_or(Failure::PermissionDenied)?;
    let catalog = Catalog::get();
    let unknown: Vec<String> = call
        .parameters
        .keys()
        .filter(|k| {
            let declared_and_allowed =
                spec.parameter(k).is_some() && allowed.iter().any(|a| a.eq_ignore_ascii_case(k));
            !(catalog.is_common(k) || declared_and_allowed)
        })
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(Failure::UnknownParameters { names: unknown });
    }
    let kind = CmdletKind::from_cmdlet_name(&spec.name);
    for p in spec.parameters.iter().filter(|p| p.mandatory) {
        let required = match p.name.as_str() {
            "Identity" => {
                kind.is_mutating()
                    && !spec
                        .name
                        .eq_ignore_ascii_case("Set-ActiveSyncOrganizationSettings")
                    || spec.name.eq_ignore_ascii_case("Get-ManagementRoleEntry")
            }
            "Mailbox" => false,
            _ => true,
        };
        if required && param(call.parameters, &p.name).is_none_or(Value::is_null) {
            return Err(Failure::MissingParameter {
                name: p.name.clone(),
            });
        }
    }
    Ok(())
}

fn confirmation(spec: &CmdletSpec, params: &Map<String, Value>) -> Option<String> {
    let flag = |name: &str| param(params, name).and_then(policy::parse_bool);
    let target = param(params, "Identity")
        .or_else(|| param(params, "Name"))
        .and_then(Value::as_str)
        .unwrap_or(ORG_SETTINGS_NAME)
        .to_string();
    let action = match spec.name.as_str() {
        "Clear-MobileDevice" => format!(
            "Wiping mobile device \"{target}\". If you wipe this device, all data on it will be permanently removed."
        ),
        "Remove-MobileDevice" => format!("Removing mobile device \"{target}\"."),
        other => format!("{other} \"{target}\"."),
    };
    if flag("WhatIf") == Some(true) {
        return Some(format!("What if: {action}"));
    }
    let ask = match spec.confirm_impact {
        ConfirmImpact::High => flag("Confirm") != Some(false),
        ConfirmImpact::Medium => flag("Confirm") == Some(true),
        ConfirmImpact::None => false,
    };
    ask.then(|| format!("Are you sure you want to perform this action?\n{action}"))
}

/// Serialize the whole tenant (the answer of every read of the catalog that needs no identity,
/// unlimited, in catalog order) as JSON: the determinism reference.
pub fn tenant_json(tenant: &RwLock<Tenant>) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    out.push(b'{');
    // Every read of the crate's catalog that lists the whole tenant: a listing or a single
    // object, simulated, needing no identity; `ResultSize: Unlimited` where declared.
    let cmdlets = exchange_activesync::catalog::all().iter().filter(|c| {
        c.kind == CmdletKind::Read
            && Catalog::get()
                .cmdlet(c.name)
                .is_some_and(|s| s.parameter("Identity").is_none_or(|p| !p.mandatory))
    });
    for (i, info) in cmdlets.enumerate() {
        let cmdlet = info.name;
        let mut params: Map<String, Value> = Map::new();
        if info.result_size {
            params.insert("ResultSize".into(), Value::from("Unlimited"));
        }
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, cmdlet).expect("Vec write");
        out.extend_from_slice(b":[");
        let mut cursor: Option<Cursor> = None;
        let mut first = true;
        loop {
            let call = Call::new(cmdlet, &params).cursor(cursor.as_ref());
            let page = execute(tenant, &call)?;
            let inner = &page.rows_json[1..page.rows_json.len() - 1];
            if !inner.is_empty() {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(inner);
            }
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        out.push(b']');
    }
    out.push(b'}');
    Ok(out)
}
