//! The cmdlet engine: runs one page of a cmdlet against a [`Tenant`] with the service's
//! validation, RBAC, confirmation, paging and output encoding.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use uuid::Uuid;

use super::catalog::{Catalog, CmdletSpec, ConfirmImpact};
pub use super::continuation::Cursor;
use super::failure::Failure;
use super::filter;
use super::format::RowWriter;
use super::policy::{self, SETTINGS};
use super::tenant::{AccessRule, Device, Mailbox, MailboxPolicy, ORG_SETTINGS_NAME, Tenant};
use crate::protocol::{CmdletKind, MAX_PAGE_SIZE, TRUNCATION_WARNING};

/// One page request to the engine.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Call<'a> {
    /// Cmdlet name as sent (any casing).
    pub cmdlet: &'a str,
    /// The `Parameters` object.
    pub parameters: &'a Map<String, Value>,
    /// `$select` property names (empty = all).
    pub select: &'a [String],
    /// Page size (`Prefer: odata.maxpagesize`), 1..=1000.
    pub page_size: usize,
    /// Continuation of a previous page.
    pub cursor: Option<&'a Cursor>,
}

impl<'a> Call<'a> {
    /// A first-page call with the default page size and no projection.
    pub fn new(cmdlet: &'a str, parameters: &'a Map<String, Value>) -> Self {
        Call {
            cmdlet,
            parameters,
            select: &[],
            page_size: MAX_PAGE_SIZE as usize,
            cursor: None,
        }
    }

    /// Set the projection.
    pub fn select(mut self, select: &'a [String]) -> Self {
        self.select = select;
        self
    }

    /// Set the page size (clamped to 1..=1000).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE as usize);
        self
    }

    /// Continue after `cursor`.
    pub fn cursor(mut self, cursor: Option<&'a Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// The result of one page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// Canonical cmdlet name.
    pub cmdlet: String,
    /// The rows as a JSON array (UTF-8), serialized straight from the model.
    pub rows_json: Vec<u8>,
    /// Number of rows.
    pub row_count: usize,
    /// `@adminapi.warnings`.
    pub warnings: Vec<String>,
    /// `@adminapi.confirmationmessage` (the cmdlet was not executed).
    pub confirmation_message: Option<String>,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

impl Outcome {
    /// The rows as JSON values.
    pub fn rows(&self) -> Vec<Value> {
        serde_json::from_slice(&self.rows_json).unwrap_or_default()
    }

    fn empty(cmdlet: &str) -> Self {
        Outcome {
            cmdlet: cmdlet.to_string(),
            rows_json: b"[]".to_vec(),
            ..Outcome::default()
        }
    }
}

/// Run one page of a cmdlet against the tenant. Reads take the read lock, writes the write
/// lock; nothing of the tenant is cloned.
pub fn execute(tenant: &RwLock<Tenant>, call: &Call<'_>) -> Result<Outcome, Failure> {
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
        let mut out = Outcome::empty(&spec.name);
        out.confirmation_message = Some(message);
        return Ok(out);
    }
    let ctx = Ctx::new(spec, call);
    if kind.is_mutating() {
        let mut t = tenant.write().unwrap_or_else(|e| e.into_inner());
        write_cmdlet(&mut t, &ctx)
    } else {
        let t = tenant.read().unwrap_or_else(|e| e.into_inner());
        read_cmdlet(&t, &ctx)
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

/// Case-insensitive parameter lookup.
fn param<'m>(params: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

struct Ctx<'a> {
    name: &'a str,
    params: &'a Map<String, Value>,
    select: Option<BTreeSet<String>>,
    page_size: usize,
    cursor: Cursor,
    limit: Option<u64>,
}

impl<'a> Ctx<'a> {
    fn new(spec: &'a CmdletSpec, call: &Call<'a>) -> Self {
        let select = (!call.select.is_empty()).then(|| {
            call.select
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        });
        Ctx {
            name: &spec.name,
            params: call.parameters,
            select,
            page_size: call.page_size.clamp(1, MAX_PAGE_SIZE as usize),
            cursor: call.cursor.cloned().unwrap_or_default(),
            limit: if spec.has_result_size() {
                Some(1000)
            } else {
                None
            },
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        param(self.params, name).filter(|v| !v.is_null())
    }

    fn str(&self, name: &str) -> Result<Option<&'a str>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(Failure::InvalidValue {
                message: format!(
                    "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{v}\" to type \"System.String\"."
                ),
            }),
        }
    }

    fn switch(&self, name: &str) -> bool {
        self.get(name).and_then(policy::parse_bool) == Some(true)
    }

    fn result_limit(&self) -> Result<Option<u64>, Failure> {
        match self.get("ResultSize") {
            None => Ok(self.limit),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("unlimited") => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad_result_size(s)),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad_result_size(&n.to_string())),
            Some(v) => Err(bad_result_size(&v.to_string())),
        }
    }

    fn not_found(&self, t: &Tenant, identity: &str) -> Failure {
        Failure::NotFound {
            identity: identity.to_string(),
            scope: t.domain.clone(),
        }
    }
}

fn bad_result_size(v: &str) -> Failure {
    Failure::InvalidValue {
        message: format!(
            "Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value \"{v}\" to type \"Microsoft.Exchange.Data.Unlimited`1[System.UInt32]\"."
        ),
    }
}

fn invalid_filter(message: String) -> Failure {
    Failure::InvalidOperation {
        exception: "Microsoft.Exchange.Management.Tasks.ThrowTerminatingErrorException".into(),
        message: format!(
            "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"Invalid filter syntax: {message}\""
        ),
    }
}

/// Page through `items` (already positioned after the cursor) and serialize each row.
fn paginate<'t, T: 't>(
    ctx: &Ctx<'_>,
    items: impl Iterator<Item = &'t T>,
    key: impl Fn(&T) -> Option<String>,
    mut write: impl FnMut(&mut Vec<u8>, &T, Option<&BTreeSet<String>>),
) -> Result<Outcome, Failure> {
    let limit = ctx.result_limit()?;
    let emitted = ctx.cursor.emitted;
    let remaining = limit.map(|l| l.saturating_sub(emitted));
    let take = remaining.map_or(ctx.page_size, |r| (r as usize).min(ctx.page_size));
    let mut out = Outcome::empty(ctx.name);
    out.rows_json.clear();
    out.rows_json.push(b'[');
    let mut n = 0usize;
    let mut more = false;
    let mut last_key = None;
    for item in items {
        if n == take {
            more = true;
            break;
        }
        if n > 0 {
            out.rows_json.push(b',');
        }
        write(&mut out.rows_json, item, ctx.select.as_ref());
        last_key = key(item);
        n += 1;
    }
    out.rows_json.push(b']');
    out.row_count = n;
    if more {
        let total = emitted + n as u64;
        if limit.is_some_and(|l| total >= l) {
            out.warnings.push(TRUNCATION_WARNING.to_string());
        } else {
            out.next = Some(Cursor {
                emitted: total,
                after: last_key,
                offset: ctx.cursor.offset + n as u64,
            });
        }
    }
    Ok(out)
}

fn single<T>(
    ctx: &Ctx<'_>,
    item: &T,
    mut write: impl FnMut(&mut Vec<u8>, &T, Option<&BTreeSet<String>>),
) -> Outcome {
    let mut out = Outcome::empty(ctx.name);
    out.rows_json.clear();
    out.rows_json.push(b'[');
    write(&mut out.rows_json, item, ctx.select.as_ref());
    out.rows_json.push(b']');
    out.row_count = 1;
    out
}

// ---- reads ---------------------------------------------------------------------------------

const DEVICE_FILTERABLE: &[&str] = &[
    "ClientType",
    "DeviceAccessControlRule",
    "DeviceAccessState",
    "DeviceAccessStateReason",
    "DeviceActiveSyncVersion",
    "DeviceId",
    "DeviceImei",
    "DeviceMobileOperator",
    "DeviceModel",
    "DeviceOS",
    "DeviceOSLanguage",
    "DeviceTelephoneNumber",
    "DeviceType",
    "DeviceUserAgent",
    "FirstSyncTime",
    "FriendlyName",
    "ProvisioningFlags",
    "UserDisplayName",
];

const RECIPIENT_FILTERABLE: &[&str] = &[
    "Alias",
    "DisplayName",
    "Name",
    "PrimarySmtpAddress",
    "RecipientType",
    "RecipientTypeDetails",
    "HasActiveSyncDevicePartnership",
    "FirstName",
    "LastName",
    "City",
    "Department",
    "ExternalDirectoryObjectId",
    "Guid",
    "ActiveSyncMailboxPolicy",
    "EmailAddresses",
    "WindowsLiveID",
    "UserPrincipalName",
];

fn device_prop(t: &Tenant, d: &Device, p: &str) -> Option<String> {
    let s = |v: &Option<String>| v.clone();
    match p {
        "clienttype" => Some(d.client_type.clone()),
        "deviceaccesscontrolrule" => s(&d.access_control_rule),
        "deviceaccessstate" => Some(d.access_state.clone()),
        "deviceaccessstatereason" => Some(d.access_state_reason.clone()),
        "deviceactivesyncversion" => s(&d.client_version),
        "deviceid" => Some(d.device_id.clone()),
        "deviceimei" => s(&d.device_imei),
        "devicemobileoperator" => s(&d.device_mobile_operator),
        "devicemodel" => Some(d.device_model.clone()),
        "deviceos" => s(&d.device_os),
        "deviceoslanguage" => s(&d.device_os_language),
        "devicetelephonenumber" => s(&d.device_telephone_number),
        "devicetype" => Some(d.device_type.clone()),
        "deviceuseragent" => s(&d.device_user_agent),
        "firstsynctime" => d.first_sync_time.map(|x| super::format::date(x, false)),
        "friendlyname" => s(&d.friendly_name),
        "provisioningflags" => Some(
            (u8::from(d.is_disabled) | u8::from(d.is_managed) << 1 | u8::from(d.is_compliant) << 2)
                .to_string(),
        ),
        "userdisplayname" => Some(t.mailboxes[d.mailbox].display_name.clone()),
        _ => None,
    }
}

fn client_switches(ctx: &Ctx<'_>) -> Vec<&'static str> {
    let mut v = Vec::new();
    for (sw, ct) in [
        ("ActiveSync", "EAS"),
        ("OWAforDevices", "MOWA"),
        ("RestApi", "REST"),
        ("UniversalOutlook", "Outlook"),
    ] {
        if ctx.switch(sw) {
            v.push(ct);
        }
    }
    v
}

fn read_cmdlet(t: &Tenant, ctx: &Ctx<'_>) -> Result<Outcome, Failure> {
    match ctx.name {
        "Get-MobileDevice" | "Get-MobileDeviceStatistics" => get_devices(t, ctx),
        "Get-ActiveSyncOrganizationSettings" => {
            if let Some(id) = ctx.str("Identity")?
                && !id.eq_ignore_ascii_case(ORG_SETTINGS_NAME)
                && !id.eq_ignore_ascii_case(&t.org.guid.to_string())
            {
                return Err(ctx.not_found(t, id));
            }
            Ok(single(ctx, t, write_org))
        }
        "Get-MobileDeviceMailboxPolicy" => {
            let items: Vec<&MailboxPolicy> = match ctx.str("Identity")? {
                Some(id) => vec![t.policy(id).ok_or_else(|| ctx.not_found(t, id))?],
                None => t.policies.iter().collect(),
            };
            paginate(
                ctx,
                items.into_iter().skip(ctx.cursor.offset as usize),
                |_| None,
                |b, p, sel| write_policy(b, t, p, sel),
            )
        }
        "Get-ActiveSyncDeviceAccessRule" => {
            let items: Vec<&AccessRule> = match ctx.str("Identity")? {
                Some(id) => vec![
                    t.rule_index(id)
                        .map(|i| &t.rules[i])
                        .ok_or_else(|| ctx.not_found(t, id))?,
                ],
                None => t.rules.iter().collect(),
            };
            paginate(
                ctx,
                items.into_iter().skip(ctx.cursor.offset as usize),
                |_| None,
                |b, r, sel| write_rule(b, t, r, sel),
            )
        }
        "Get-ActiveSyncDeviceClass" => get_classes(t, ctx),
        "Get-Recipient" => get_recipients(t, ctx),
        "Get-ManagementRoleAssignment" => get_assignments(t, ctx),
        "Get-ManagementRoleEntry" => get_role_entries(t, ctx),
        _ => Err(Failure::PermissionDenied),
    }
}

fn get_devices(t: &Tenant, ctx: &Ctx<'_>) -> Result<Outcome, Failure> {
    let stats = ctx.name == "Get-MobileDeviceStatistics";
    let identity = ctx.str("Identity")?;
    let mailbox = ctx.str("Mailbox")?;
    if identity.is_some() && mailbox.is_some() {
        return Err(Failure::AmbiguousParameterSet);
    }
    if stats && identity.is_none() && mailbox.is_none() {
        return Err(Failure::MissingParameter {
            name: "Identity".into(),
        });
    }
    let show_password = ctx.switch("ShowRecoveryPassword");
    let write = |b: &mut Vec<u8>, d: &Device, sel: Option<&BTreeSet<String>>| {
        if stats {
            write_statistics(b, t, d, sel, show_password)
        } else {
            write_device(b, t, d, sel)
        }
    };
    if let Some(id) = identity {
        let d = t.find_device(id).ok_or_else(|| ctx.not_found(t, id))?;
        return Ok(single(ctx, d, write));
    }
    let owner = match mailbox {
        Some(m) => Some(t.mailbox_idx(m).ok_or_else(|| ctx.not_found(t, m))?),
        None => None,
    };
    let expr = match ctx.str("Filter")? {
        Some(f) if !stats => Some(filter::parse(f, DEVICE_FILTERABLE).map_err(invalid_filter)?),
        _ => None,
    };
    let clients = client_switches(ctx);
    let keep = |d: &&Device| {
        owner.is_none_or(|o| d.mailbox == o)
            && (clients.is_empty() || clients.contains(&d.client_type.as_str()))
            && expr
                .as_ref()
                .is_none_or(|e| filter::eval(e, &|p| device_prop(t, d, p)))
    };
    if let Some(sort) = ctx.str("SortBy")?.filter(|_| !stats) {
        let prop = sort.trim().trim_start_matches('-').to_ascii_lowercase();
        if !DEVICE_FILTERABLE
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&prop))
        {
            return Err(Failure::InvalidValue {
                message: format!("SortBy property '{sort}' is not supported."),
            });
        }
        let mut all: Vec<(Option<String>, &Device)> = t
            .devices
            .values()
            .filter(keep)
            .map(|d| (device_prop(t, d, &prop).map(|v| v.to_lowercase()), d))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.guid.cmp(&b.1.guid)));
        return paginate(
            ctx,
            all.iter().map(|(_, d)| *d).skip(ctx.cursor.offset as usize),
            |_| None,
            write,
        );
    }
    let start = match ctx.cursor.after.as_deref().map(Uuid::parse_str) {
        Some(Ok(g)) => Bound::Excluded(g),
        Some(Err(_)) => return Err(Failure::PaginationExpired),
        None => Bound::Unbounded,
    };
    if let Some(owner) = owner {
        // One mailbox: walk its own devices (Guid order, like the whole-tenant walk).
        let iter = t
            .devices_of(owner)
            .filter(|d| match start {
                Bound::Excluded(g) => d.guid > g,
                _ => true,
            })
            .filter(keep);
        return paginate(ctx, iter, |d| Some(d.guid.to_string()), write);
    }
    let iter = t
        .devices
        .range((start, Bound::Unbounded))
        .map(|(_, d)| d)
        .filter(keep);
    paginate(ctx, iter, |d| Some(d.guid.to_string()), write)
}

fn class_guid(t: &Tenant, name: &str) -> Uuid {
    let mut h = Sha1::new();
    h.update(t.tenant_id.as_bytes());
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

struct DeviceClass {
    device_type: String,
    device_model: String,
    last_update: Option<DateTime<Utc>>,
    guid: Uuid,
}

fn get_classes(t: &Tenant, ctx: &Ctx<'_>) -> Result<Outcome, Failure> {
    let mut map: BTreeMap<(String, String), Option<DateTime<Utc>>> = BTreeMap::new();
    for d in t.devices.values() {
        let e = map
            .entry((d.device_type.clone(), d.device_model.clone()))
            .or_insert(None);
        let seen = d
            .last_success_sync
            .or(d.first_sync_time)
            .unwrap_or(d.when_created);
        if e.is_none_or(|x| seen > x) {
            *e = Some(seen);
        }
    }
    let mut classes: Vec<DeviceClass> = map
        .into_iter()
        .map(|((ty, model), last)| DeviceClass {
            guid: class_guid(t, &format!("{ty}§{model}")),
            device_type: ty,
            device_model: model,
            last_update: last,
        })
        .collect();
    if let Some(id) = ctx.str("Identity")? {
        classes.retain(|c| {
            format!("{}§{}", c.device_type, c.device_model).eq_ignore_ascii_case(id)
                || c.guid.to_string().eq_ignore_ascii_case(id)
        });
        if classes.is_empty() {
            return Err(ctx.not_found(t, id));
        }
    }
    if let Some(f) = ctx.str("Filter")? {
        let e = filter::parse(f, &["DeviceModel", "DeviceType", "LastUpdateTime"])
            .map_err(invalid_filter)?;
        classes.retain(|c| {
            filter::eval(&e, &|p| match p {
                "devicemodel" => Some(c.device_model.clone()),
                "devicetype" => Some(c.device_type.clone()),
                "lastupdatetime" => c.last_update.map(|d| super::format::date(d, false)),
                _ => None,
            })
        });
    }
    if let Some(sort) = ctx.str("SortBy")? {
        match sort.trim().to_ascii_lowercase().as_str() {
            "devicemodel" => classes.sort_by(|a, b| a.device_model.cmp(&b.device_model)),
            "lastupdatetime" => classes.sort_by_key(|c| c.last_update),
            "devicetype" => {}
            _ => {
                return Err(Failure::InvalidValue {
                    message: format!("SortBy property '{sort}' is not supported."),
                });
            }
        }
    }
    paginate(
        ctx,
        classes.iter().skip(ctx.cursor.offset as usize),
        |_| None,
        |b, c, sel| {
            let name = format!("{}§{}", c.device_type, c.device_model);
            let mut w = RowWriter::begin(b, sel, annotate(&c.guid));
            w.str("DeviceType", Some(&c.device_type));
            w.str("DeviceModel", Some(&c.device_model));
            w.date("LastUpdateTime", c.last_update, false);
            w.str("Name", Some(&name));
            let dn = format!(
                "CN={name},CN=Mobile Mailbox Settings,CN=Configuration,CN={},CN=ConfigurationUnits,DC=EURPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
                t.domain
            );
            adbase(
                &mut w,
                t,
                &name,
                &name,
                &dn,
                &c.guid,
                c.last_update.unwrap_or(t.org.when_created),
                c.last_update.unwrap_or(t.org.when_created),
                &["top", "msExchActiveSyncDeviceClass"],
            );
            w.end();
        },
    )
}

fn recipient_prop(t: &Tenant, m: &Mailbox, has_devices: bool, p: &str) -> Option<String> {
    match p {
        "alias" => Some(m.alias.clone()),
        "displayname" => Some(m.display_name.clone()),
        "name" => Some(m.name.clone()),
        "primarysmtpaddress" | "windowsliveid" | "userprincipalname" => {
            Some(m.primary_smtp_address.clone())
        }
        "emailaddresses" => Some(format!("SMTP:{}", m.primary_smtp_address)),
        "recipienttype" => Some(m.recipient_type().to_string()),
        "recipienttypedetails" => Some(m.recipient_type_details.clone()),
        "hasactivesyncdevicepartnership" => Some(if has_devices { "True" } else { "False" }.into()),
        "firstname" => m.first_name.clone(),
        "lastname" => m.last_name.clone(),
        "city" => m.city.clone(),
        "department" => m.department.clone(),
        "externaldirectoryobjectid" => Some(m.external_directory_object_id.to_string()),
        "guid" => Some(m.guid.to_string()),
        "activesyncmailboxpolicy" => m.active_sync_mailbox_policy.clone(),
        _ => {
            let _ = t;
            None
        }
    }
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn get_recipients(t: &Tenant, ctx: &Ctx<'_>) -> Result<Outcome, Failure> {
    let mut with_devices = vec![false; t.mailboxes.len()];
    for d in t.devices.values() {
        with_devices[d.mailbox] = true;
    }
    let mut idx: Vec<usize> = match ctx.str("Identity")? {
        Some(id) => vec![t.mailbox_idx(id).ok_or_else(|| ctx.not_found(t, id))?],
        None => (0..t.mailboxes.len()).collect(),
    };
    let types = str_list(ctx.get("RecipientType"));
    let details = str_list(ctx.get("RecipientTypeDetails"));
    let expr = match ctx.str("Filter")? {
        Some(f) => Some(filter::parse(f, RECIPIENT_FILTERABLE).map_err(invalid_filter)?),
        None => None,
    };
    let anr = ctx.str("Anr")?.map(str::to_lowercase);
    idx.retain(|&i| {
        let m = &t.mailboxes[i];
        (types.is_empty()
            || types
                .iter()
                .any(|x| x.eq_ignore_ascii_case(m.recipient_type())))
            && (details.is_empty()
                || details
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(&m.recipient_type_details)))
            && anr.as_ref().is_none_or(|a| {
                [
                    Some(&m.name),
                    Some(&m.alias),
                    Some(&m.display_name),
                    m.first_name.as_ref(),
                    m.last_name.as_ref(),
                ]
                .into_iter()
                .flatten()
                .any(|v| v.to_lowercase().starts_with(a.as_str()))
            })
            && expr
                .as_ref()
                .is_none_or(|e| filter::eval(e, &|p| recipient_prop(t, m, with_devices[i], p)))
    });
    if let Some(sort) = ctx.str("SortBy")? {
        let key = sort.trim().to_ascii_lowercase();
        if ![
            "name",
            "displayname",
            "alias",
            "city",
            "firstname",
            "lastname",
        ]
        .contains(&key.as_str())
        {
            return Err(Failure::InvalidValue {
                message: format!("SortBy property '{sort}' is not supported."),
            });
        }
        idx.sort_by_cached_key(|&i| {
            recipient_prop(t, &t.mailboxes[i], false, &key).map(|s| s.to_lowercase())
        });
    }
    paginate(
        ctx,
        idx.iter().skip(ctx.cursor.offset as usize),
        |_| None,
        |b, &i, sel| write_recipient(b, t, &t.mailboxes[i], with_devices[i], sel),
    )
}

fn get_assignments(t: &Tenant, ctx: &Ctx<'_>) -> Result<Outcome, Failure> {
    let role = ctx.str("Role")?;
    let assignee = ctx.str("RoleAssignee")?;
    let identity = ctx.str("Identity")?;
    let enabled = ctx.get("Enabled").and_then(policy::parse_bool);
    let delegating = ctx.get("Delegating").and_then(policy::parse_bool);
    if let Some(r) = role
        && t.rbac.role(r).is_none()
    {
        return Err(ctx.not_found(t, r));
    }
    let items: Vec<_> = t
        .rbac
        .assignments
        .iter()
        .filter(|a| {
            role.is_none_or(|r| a.role.eq_ignore_ascii_case(r))
                && identity.is_none_or(|i| filter::like(i, &a.name))
                && assignee.is_none_or(|x| {
                    a.assignee.eq_ignore_ascii_case(x)
                        || t.caller.eq_ignore_ascii_case(x)
                        || super::token::is_token_principal(x)
                })
                && enabled.is_none_or(|e| a.enabled == e)
                && delegating.is_none_or(|d| a.delegating == d)
        })
        .collect();
    if let Some(i) = identity
        && items.is_empty()
        && !i.contains('*')
    {
        return Err(ctx.not_found(t, i));
    }
    paginate(
        ctx,
        items.into_iter().skip(ctx.cursor.offset as usize),
        |_| None,
        |b, a, sel| {
            let guid = class_guid(t, &a.name);
            let mut w = RowWriter::begin(b, sel, annotate(&guid));
            w.str("Name", Some(&a.name));
            w.str("Role", Some(&a.role));
            w.str("RoleAssigneeName", Some(&a.assignee));
            w.str("RoleAssigneeType", Some(&a.assignee_type));
            w.str("AssignmentMethod", Some(&a.assignment_method));
            w.bool("Enabled", a.enabled);
            w.str(
                "RoleAssignmentDelegationType",
                Some(if a.delegating {
                    "DelegatingOrgWide"
                } else {
                    "Regular"
                }),
            );
            w.str("RecipientReadScope", Some("Organization"));
            w.str("ConfigReadScope", Some("OrganizationConfig"));
            w.str("RecipientWriteScope", Some(&a.recipient_write_scope));
            w.str("ConfigWriteScope", Some(&a.config_write_scope));
            w.str("CustomRecipientWriteScope", None);
            w.str("CustomConfigWriteScope", None);
            w.str("Identity", Some(&a.name));
            w.guid("Guid", &guid);
            w.end();
        },
    )
}

fn get_role_entries(t: &Tenant, ctx: &Ctx<'_>) -> Result<Outcome, Failure> {
    let identity = ctx.str("Identity")?.unwrap_or("*\\*");
    let (role_pat, cmdlet_pat) = identity.split_once('\\').unwrap_or((identity, "*"));
    let wanted = str_list(ctx.get("Parameters"));
    let mut items = Vec::new();
    for role in t
        .rbac
        .roles
        .iter()
        .filter(|r| filter::like(role_pat, &r.name))
    {
        for e in role
            .entries
            .iter()
            .filter(|e| filter::like(cmdlet_pat, &e.cmdlet))
        {
            if wanted
                .iter()
                .all(|p| e.parameters.iter().any(|x| x.eq_ignore_ascii_case(p)))
            {
                items.push((role, e));
            }
        }
    }
    if items.is_empty() && !identity.contains('*') {
        return Err(ctx.not_found(t, identity));
    }
    paginate(
        ctx,
        items.iter().skip(ctx.cursor.offset as usize),
        |_| None,
        |b, (role, e), sel| {
            let id = format!("{}\\{}", role.name, e.cmdlet);
            let guid = class_guid(t, &id);
            let mut w = RowWriter::begin(b, sel, annotate(&guid));
            w.str("Name", Some(&e.cmdlet));
            w.str("Role", Some(&role.name));
            let params: Vec<&String> = e.parameters.iter().collect();
            w.strs("Parameters", &params);
            w.str("Type", Some("Cmdlet"));
            w.str(
                "PSSnapinName",
                Some("Microsoft.Exchange.Management.PowerShell.E2010"),
            );
            w.str("Identity", Some(&id));
            w.guid("Guid", &guid);
            w.end();
        },
    )
}

// ---- writes --------------------------------------------------------------------------------

fn no_change_warning(name: &str) -> String {
    format!("The command completed successfully but no settings of '{name}' have been modified.")
}

fn enum_value(ctx: &Ctx<'_>, name: &str, names: &[&str]) -> Result<Option<String>, Failure> {
    match ctx.get(name) {
        None => Ok(None),
        Some(v) => {
            let s = v.as_str().unwrap_or_default();
            names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(s.trim()))
                .map(|n| Some(n.to_string()))
                .ok_or_else(|| Failure::InvalidValue {
                    message: format!(
                        "Cannot process argument transformation on parameter '{name}'. Unable to match the identifier name {s} to a valid enumerator name. Specify one of the following enumerator names and try again: {}",
                        names.join(", ")
                    ),
                })
        }
    }
}

const ACCESS_LEVELS: &[&str] = &["Allow", "Block", "Quarantine"];
const CHARACTERISTICS: &[&str] = &[
    "DeviceType",
    "DeviceModel",
    "DeviceOS",
    "UserAgent",
    "XMSWLHeader",
];

fn write_cmdlet(t: &mut Tenant, ctx: &Ctx<'_>) -> Result<Outcome, Failure> {
    let mut out = Outcome::empty(ctx.name);
    match ctx.name {
        "Set-ActiveSyncOrganizationSettings" => set_org(t, ctx, &mut out)?,
        "New-MobileDeviceMailboxPolicy" => {
            let name = ctx.str("Name")?.unwrap_or_default().trim().to_string();
            if name.is_empty() {
                return Err(Failure::MissingParameter {
                    name: "Name".into(),
                });
            }
            if t.policy_index(&name).is_some() {
                return Err(Failure::AlreadyExists { name });
            }
            let now = t.tick();
            let guid = t.new_guid();
            let mut p = MailboxPolicy::new(guid, name, now);
            apply_policy_settings(&mut p, ctx)?;
            if p.is_default() {
                for other in &mut t.policies {
                    other.set_raw("IsDefault", Value::Bool(false));
                }
            }
            t.policies.push(p);
            let p = t.policies.last().expect("just pushed");
            return Ok(single(ctx, p, |b, p, sel| write_policy(b, t, p, sel)));
        }
        "Set-MobileDeviceMailboxPolicy" => {
            let id = ctx.str("Identity")?.unwrap_or_default();
            let i = t.policy_index(id).ok_or_else(|| ctx.not_found(t, id))?;
            let mut p = t.policies[i].clone();
            if let Some(new_name) = ctx.str("Name")? {
                if let Some(j) = t.policy_index(new_name)
                    && j != i
                {
                    return Err(Failure::AlreadyExists {
                        name: new_name.into(),
                    });
                }
                p.name = new_name.trim().to_string();
            }
            apply_policy_settings(&mut p, ctx)?;
            if p == t.policies[i] {
                out.warnings.push(no_change_warning(&p.name));
                return Ok(out);
            }
            let old_name = t.policies[i].name.clone();
            if p.is_default() && !t.policies[i].is_default() {
                out.warnings.push(format!(
                    "The default mobile device mailbox policy is now '{}'.",
                    p.name
                ));
                for other in &mut t.policies {
                    other.set_raw("IsDefault", Value::Bool(false));
                }
            }
            p.when_changed = t.tick();
            if old_name != p.name {
                for m in &mut t.mailboxes {
                    if m.active_sync_mailbox_policy.as_deref() == Some(old_name.as_str()) {
                        m.active_sync_mailbox_policy = Some(p.name.clone());
                    }
                }
            }
            t.policies[i] = p;
        }
        "Remove-MobileDeviceMailboxPolicy" => {
            let id = ctx.str("Identity")?.unwrap_or_default();
            let i = t.policy_index(id).ok_or_else(|| ctx.not_found(t, id))?;
            let name = t.policies[i].name.clone();
            let assigned = t
                .mailboxes
                .iter()
                .filter(|m| m.active_sync_mailbox_policy.as_deref() == Some(name.as_str()))
                .count();
            if assigned > 0 && !ctx.switch("Force") {
                return Err(Failure::InvalidOperation {
                    exception:
                        "Microsoft.Exchange.Management.Tasks.MobileMailboxPolicyInUseException"
                            .into(),
                    message: format!(
                        "The mobile device mailbox policy '{name}' is assigned to {assigned} mailbox(es). Use the Force parameter to remove it anyway."
                    ),
                });
            }
            for m in &mut t.mailboxes {
                if m.active_sync_mailbox_policy.as_deref() == Some(name.as_str()) {
                    m.active_sync_mailbox_policy = None;
                }
            }
            t.policies.remove(i);
            t.tick();
        }
        "New-ActiveSyncDeviceAccessRule" => {
            let level = enum_value(ctx, "AccessLevel", ACCESS_LEVELS)?.unwrap_or_default();
            let characteristic =
                enum_value(ctx, "Characteristic", CHARACTERISTICS)?.unwrap_or_default();
            let query = ctx.str("QueryString")?.unwrap_or_default().to_string();
            let now = t.tick();
            let rule = AccessRule {
                guid: t.new_guid(),
                query_string: query,
                characteristic,
                access_level: level,
                when_created: now,
                when_changed: now,
            };
            if t.rule_index(&rule.name()).is_some() {
                return Err(Failure::AlreadyExists { name: rule.name() });
            }
            t.rules.push(rule);
            let r = t.rules.last().expect("just pushed");
            return Ok(single(ctx, r, |b, r, sel| write_rule(b, t, r, sel)));
        }
        "Set-ActiveSyncDeviceAccessRule" => {
            let id = ctx.str("Identity")?.unwrap_or_default();
            let i = t.rule_index(id).ok_or_else(|| ctx.not_found(t, id))?;
            match enum_value(ctx, "AccessLevel", ACCESS_LEVELS)? {
                Some(l) if l != t.rules[i].access_level => {
                    t.rules[i].access_level = l;
                    t.rules[i].when_changed = t.clock;
                    t.tick();
                }
                _ => out.warnings.push(no_change_warning(&t.rules[i].name())),
            }
        }
        "Remove-ActiveSyncDeviceAccessRule" => {
            let id = ctx.str("Identity")?.unwrap_or_default();
            let i = t.rule_index(id).ok_or_else(|| ctx.not_found(t, id))?;
            t.rules.remove(i);
            t.tick();
        }
        "Clear-MobileDevice" => clear_device(t, ctx, &mut out)?,
        "Remove-MobileDevice" => {
            let id = ctx.str("Identity")?.unwrap_or_default();
            let g = t.device_guid(id).ok_or_else(|| ctx.not_found(t, id))?;
            t.remove_device(&g);
            t.tick();
        }
        _ => return Err(Failure::PermissionDenied),
    }
    Ok(out)
}

fn apply_policy_settings(p: &mut MailboxPolicy, ctx: &Ctx<'_>) -> Result<(), Failure> {
    let mut password_related = false;
    let mut disable_password = false;
    for (k, v) in ctx.params {
        let Some(i) = policy::index_of(k) else {
            continue;
        };
        let s = &SETTINGS[i];
        let value = policy::normalise(s, v).map_err(|message| Failure::InvalidValue { message })?;
        if policy::PASSWORD_SETTINGS.contains(&s.name) {
            password_related = true;
        }
        if s.name == "PasswordEnabled" && value == Value::Bool(false) {
            disable_password = true;
        }
        if s.name == "RequireStorageCardEncryption" && value == Value::Bool(true) {
            p.set_raw("DeviceEncryptionEnabled", Value::Bool(true));
        }
        p.settings[i] = value;
    }
    if disable_password && !password_related {
        for name in policy::PASSWORD_SETTINGS {
            if let Some(i) = policy::index_of(name) {
                p.settings[i] = (SETTINGS[i].default)();
            }
        }
    }
    Ok(())
}

fn set_org(t: &mut Tenant, ctx: &Ctx<'_>, out: &mut Outcome) -> Result<(), Failure> {
    if let Some(id) = ctx.str("Identity")?
        && !id.eq_ignore_ascii_case(ORG_SETTINGS_NAME)
        && !id.eq_ignore_ascii_case(&t.org.guid.to_string())
    {
        return Err(ctx.not_found(t, id));
    }
    let mut o = t.org.clone();
    if let Some(l) = enum_value(ctx, "DefaultAccessLevel", ACCESS_LEVELS)? {
        o.default_access_level = l;
    }
    for (name, field) in [
        ("UserMailInsert", &mut o.user_mail_insert),
        (
            "OtaNotificationMailInsert",
            &mut o.ota_notification_mail_insert,
        ),
    ] {
        if let Some(v) = param(ctx.params, name) {
            let s = v.as_str().map(str::to_string);
            if s.as_ref().is_some_and(|s| s.chars().count() > 256) {
                return Err(Failure::InvalidValue {
                    message: format!(
                        "The length of the property {name} is too long. The maximum length is 256."
                    ),
                });
            }
            *field = s;
        }
    }
    if let Some(v) = ctx.str("TenantAdminPreference")? {
        o.tenant_admin_preference = v.to_string();
    }
    for (name, field) in [
        (
            "AllowAccessForUnSupportedPlatform",
            &mut o.allow_access_for_unsupported_platform,
        ),
        (
            "EnableMobileMailboxPolicyWhenCAInplace",
            &mut o.enable_mobile_mailbox_policy_when_ca_in_place,
        ),
        (
            "AllowRMSSupportForUnenlightenedApps",
            &mut o.allow_rms_support_for_unenlightened_apps,
        ),
    ] {
        if let Some(v) = ctx.get(name) {
            *field = policy::parse_bool(v).ok_or_else(|| Failure::InvalidValue {
                message: format!("Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{v}\" to type \"System.Boolean\"."),
            })?;
        }
    }
    if let Some(v) = param(ctx.params, "AdminMailRecipients") {
        o.admin_mail_recipients = apply_multi(&o.admin_mail_recipients, v)?;
        if let Some(bad) = o.admin_mail_recipients.iter().find(|a| !a.contains('@')) {
            return Err(Failure::InvalidValue {
                message: format!(
                    "Cannot process argument transformation on parameter 'AdminMailRecipients'. \"{bad}\" isn't a valid SMTP address."
                ),
            });
        }
    }
    if o == t.org {
        out.warnings.push(no_change_warning(ORG_SETTINGS_NAME));
    } else {
        o.when_changed = t.tick();
        t.org = o;
    }
    Ok(())
}

/// Apply a multi-valued parameter: a list replaces, `{Add:[…],Remove:[…]}` edits, `null` clears.
fn apply_multi(current: &[String], v: &Value) -> Result<Vec<String>, Failure> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => Ok(a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()),
        Value::Object(m) => {
            let mut out = current.to_vec();
            for (k, v) in m {
                let items = str_list(Some(v));
                match k.to_ascii_lowercase().as_str() {
                    "add" => {
                        for i in items {
                            if !out.iter().any(|x| x.eq_ignore_ascii_case(&i)) {
                                out.push(i);
                            }
                        }
                    }
                    "remove" => out.retain(|x| !items.iter().any(|i| i.eq_ignore_ascii_case(x))),
                    _ => {}
                }
            }
            Ok(out)
        }
        _ => Err(Failure::InvalidValue {
            message: format!("Cannot convert value \"{v}\" to a multi-valued property."),
        }),
    }
}

fn clear_device(t: &mut Tenant, ctx: &Ctx<'_>, out: &mut Outcome) -> Result<(), Failure> {
    let id = ctx.str("Identity")?.unwrap_or_default();
    let g = t.device_guid(id).ok_or_else(|| ctx.not_found(t, id))?;
    let caller = t.caller.clone();
    let now = t.tick();
    let identity = t.device_identity(&t.devices[&g]);
    let notify = str_list(param(ctx.params, "NotificationEmailAddresses"));
    let d = t.devices.get_mut(&g).expect("resolved above");
    if ctx.switch("Cancel") {
        if d.wipe.is_pending() {
            let w = &mut d.wipe;
            if w.ack.is_none() {
                w.request = None;
                w.sent = None;
            }
            if w.account_only_ack.is_none() {
                w.account_only_request = None;
                w.account_only_sent = None;
            }
            d.when_changed = now;
        } else {
            out.warnings.push(format!(
                "The wipe request for mobile device '{identity}' can't be canceled because there's no pending wipe request."
            ));
        }
        return Ok(());
    }
    for bad in notify
        .iter()
        .filter(|a| !a.contains('@') || a.starts_with('@'))
    {
        out.warnings.push(format!(
            "The notification e-mail address '{bad}' isn't valid and will be ignored."
        ));
    }
    let account_only = ctx.switch("AccountOnly") || d.device_type.eq_ignore_ascii_case("Outlook");
    let w = &mut d.wipe;
    if account_only {
        w.account_only_request = Some(now);
        w.account_only_sent = None;
        w.account_only_ack = None;
        w.account_only_requestor = Some(caller);
    } else {
        w.request = Some(now);
        w.sent = None;
        w.ack = None;
        w.requestor = Some(caller);
    }
    w.notification_addresses = notify
        .into_iter()
        .filter(|a| a.contains('@') && !a.starts_with('@'))
        .collect();
    d.when_changed = now;
    Ok(())
}

// ---- row serialization --------------------------------------------------------------------

/// Annotation keys appear on some objects only, decided by the object's GUID.
fn annotate(guid: &Uuid) -> bool {
    guid.as_bytes()[15].is_multiple_of(3)
}

#[allow(clippy::too_many_arguments)]
fn adbase(
    w: &mut RowWriter<'_>,
    t: &Tenant,
    name: &str,
    identity: &str,
    dn: &str,
    guid: &Uuid,
    created: DateTime<Utc>,
    changed: DateTime<Utc>,
    classes: &[&str],
) {
    w.str("AdminDisplayName", Some(""));
    w.str("ExchangeVersion", Some("0.10 (14.0.100.0)"));
    w.str("Name", Some(name));
    w.str("DistinguishedName", Some(dn));
    w.str("Identity", Some(identity));
    w.str(
        "ObjectCategory",
        Some(&format!(
            "EURPR01A001.PROD.OUTLOOK.COM/Configuration/Schema/{}",
            classes.last().copied().unwrap_or("top")
        )),
    );
    w.strs("ObjectClass", classes);
    w.date("WhenChanged", Some(changed), false);
    w.date("WhenCreated", Some(created), false);
    w.date("WhenChangedUTC", Some(changed), true);
    w.date("WhenCreatedUTC", Some(created), true);
    w.guid("ExchangeObjectId", guid);
    w.str("OrganizationalUnitRoot", Some(&t.domain));
    w.str("OrganizationId", Some(&format!("EURPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{} - EURPR01A001.PROD.OUTLOOK.COM/ConfigurationUnits/{}/Configuration", t.domain, t.domain)));
    w.str("Id", Some(identity));
    w.guid("Guid", guid);
    w.str(
        "OriginatingServer",
        Some("AM0PR01A001DC01.EURPR01A001.PROD.OUTLOOK.COM"),
    );
    w.bool("IsValid", true);
    w.str("ObjectState", Some("Unchanged"));
}

fn config_dn(t: &Tenant, cn: &str, container: &str) -> String {
    format!(
        "CN={cn},CN={container},CN=Configuration,CN={},CN=ConfigurationUnits,DC=EURPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
        t.domain
    )
}

fn write_org(b: &mut Vec<u8>, t: &Tenant, sel: Option<&BTreeSet<String>>) {
    let o = &t.org;
    let mut w = RowWriter::begin(b, sel, annotate(&o.guid));
    w.str("DefaultAccessLevel", Some(&o.default_access_level));
    w.str("TenantAdminPreference", Some(&o.tenant_admin_preference));
    w.str("UserMailInsert", o.user_mail_insert.as_deref());
    w.bool(
        "AllowAccessForUnSupportedPlatform",
        o.allow_access_for_unsupported_platform,
    );
    w.bool(
        "EnableMobileMailboxPolicyWhenCAInplace",
        o.enable_mobile_mailbox_policy_when_ca_in_place,
    );
    w.bool(
        "AllowRMSSupportForUnenlightenedApps",
        o.allow_rms_support_for_unenlightened_apps,
    );
    w.strs("AdminMailRecipients", &o.admin_mail_recipients);
    w.str(
        "OtaNotificationMailInsert",
        o.ota_notification_mail_insert.as_deref(),
    );
    w.str("DeviceFiltering", None);
    w.bool("IsIntuneManaged", o.is_intune_managed);
    w.bool(
        "HasAzurePremiumSubscription",
        o.has_azure_premium_subscription,
    );
    w.strs::<&str>("OtherWellKnownObjects", &[]);
    let dn = config_dn(t, ORG_SETTINGS_NAME, "Mobile Mailbox Settings");
    adbase(
        &mut w,
        t,
        ORG_SETTINGS_NAME,
        ORG_SETTINGS_NAME,
        &dn,
        &o.guid,
        o.when_created,
        o.when_changed,
        &["top", "msExchMobileMailboxSettings"],
    );
    w.end();
}

fn write_policy(b: &mut Vec<u8>, t: &Tenant, p: &MailboxPolicy, sel: Option<&BTreeSet<String>>) {
    let mut w = RowWriter::begin(b, sel, annotate(&p.guid));
    for (s, v) in SETTINGS.iter().zip(&p.settings) {
        w.value(s.name, v);
    }
    let dn = config_dn(t, &p.name, "Mobile Mailbox Policies");
    adbase(
        &mut w,
        t,
        &p.name,
        &p.name,
        &dn,
        &p.guid,
        p.when_created,
        p.when_changed,
        &[
            "top",
            "msExchRecipientTemplate",
            "msExchMobileMailboxPolicy",
        ],
    );
    w.end();
}

fn write_rule(b: &mut Vec<u8>, t: &Tenant, r: &AccessRule, sel: Option<&BTreeSet<String>>) {
    let name = r.name();
    let mut w = RowWriter::begin(b, sel, annotate(&r.guid));
    w.str("QueryString", Some(&r.query_string));
    w.str("Characteristic", Some(&r.characteristic));
    w.str("AccessLevel", Some(&r.access_level));
    let dn = config_dn(t, &name, "Mobile Mailbox Settings");
    adbase(
        &mut w,
        t,
        &name,
        &name,
        &dn,
        &r.guid,
        r.when_created,
        r.when_changed,
        &["top", "msExchDeviceAccessRule"],
    );
    w.end();
}

fn write_device(b: &mut Vec<u8>, t: &Tenant, d: &Device, sel: Option<&BTreeSet<String>>) {
    let mb = &t.mailboxes[d.mailbox];
    let identity = t.device_identity_ref(d);
    let mut w = RowWriter::begin(b, sel, annotate(&d.guid));
    w.str("FriendlyName", d.friendly_name.as_deref());
    w.str("DeviceId", Some(&d.device_id));
    w.str("DeviceImei", d.device_imei.as_deref());
    w.str("DeviceMobileOperator", d.device_mobile_operator.as_deref());
    w.str("DeviceOS", d.device_os.as_deref());
    w.str("DeviceOSLanguage", d.device_os_language.as_deref());
    w.str(
        "DeviceTelephoneNumber",
        d.device_telephone_number.as_deref(),
    );
    w.str("DeviceType", Some(&d.device_type));
    w.str("DeviceUserAgent", d.device_user_agent.as_deref());
    w.str("DeviceModel", Some(&d.device_model));
    w.date("FirstSyncTime", d.first_sync_time, false);
    w.str("UserDisplayName", Some(&mb.display_name));
    w.str("DeviceAccessState", Some(&d.access_state));
    w.str("DeviceAccessStateReason", Some(&d.access_state_reason));
    w.str("DeviceAccessControlRule", d.access_control_rule.as_deref());
    w.str("ClientVersion", d.client_version.as_deref());
    w.str("ClientType", Some(&d.client_type));
    w.bool("IsManaged", d.is_managed);
    w.bool("IsCompliant", d.is_compliant);
    w.bool("IsDisabled", d.is_disabled);
    if d.guid.as_bytes()[14].is_multiple_of(29) {
        // A malformed key as seen in live captures.
        w.literal("LastUsedDate(DateTime])", "null");
    }
    let dn = t.device_dn_ref(d);
    adbase(
        &mut w,
        t,
        &d.object_name(),
        &identity,
        &dn,
        &d.guid,
        d.when_created,
        d.when_changed,
        &["top", "msExchActiveSyncDevice"],
    );
    w.end();
}

fn mask_phone(p: &str) -> String {
    let n = p.chars().count();
    p.chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '*' } else { c })
        .collect()
}

fn write_statistics(
    b: &mut Vec<u8>,
    t: &Tenant,
    d: &Device,
    sel: Option<&BTreeSet<String>>,
    show_password: bool,
) {
    let identity = t.device_identity_ref(d);
    let wipe = &d.wipe;
    let mut w = RowWriter::begin(b, sel, annotate(&d.guid));
    w.date("FirstSyncTime", d.first_sync_time, false);
    w.date("LastPolicyUpdateTime", d.last_policy_update_time, false);
    w.date("LastSyncAttemptTime", d.last_sync_attempt_time, false);
    w.date("LastSuccessSync", d.last_success_sync, false);
    w.str("DeviceType", Some(&d.device_type));
    w.str("DeviceID", Some(&d.device_id));
    w.str("DeviceUserAgent", d.device_user_agent.as_deref());
    w.date("DeviceWipeSentTime", wipe.sent, false);
    w.date("DeviceWipeRequestTime", wipe.request, false);
    w.date("DeviceWipeAckTime", wipe.ack, false);
    w.date(
        "AccountOnlyDeviceWipeSentTime",
        wipe.account_only_sent,
        false,
    );
    w.date(
        "AccountOnlyDeviceWipeRequestTime",
        wipe.account_only_request,
        false,
    );
    w.date("AccountOnlyDeviceWipeAckTime", wipe.account_only_ack, false);
    w.int("LastPingHeartbeat", d.last_ping_heartbeat);
    let password = if d.client_type == "EAS" {
        Some(if show_password {
            format!("{:08}", d.guid.as_u128() % 100_000_000)
        } else {
            "********".into()
        })
    } else {
        None
    };
    w.str("RecoveryPassword", password.as_deref());
    w.str("DeviceModel", Some(&d.device_model));
    w.str("DeviceImei", d.device_imei.as_deref());
    w.str("DeviceFriendlyName", d.friendly_name.as_deref());
    w.str("DeviceOS", d.device_os.as_deref());
    w.str("DeviceOSLanguage", d.device_os_language.as_deref());
    w.str(
        "DevicePhoneNumber",
        d.device_telephone_number
            .as_deref()
            .map(mask_phone)
            .as_deref(),
    );
    w.str("MailboxLogReport", None);
    w.bool("DeviceEnableOutboundSMS", false);
    w.str("DeviceMobileOperator", d.device_mobile_operator.as_deref());
    w.str("Identity", Some(&identity));
    w.guid("Guid", &d.guid);
    w.bool("IsRemoteWipeSupported", d.remote_wipe_supported);
    let status = wipe.status();
    w.str("Status", Some(status));
    let note = match status {
        "DeviceOk" => None,
        s => Some(format!(
            "{s} ({})",
            wipe.requestor
                .as_deref()
                .or(wipe.account_only_requestor.as_deref())
                .unwrap_or("")
        )),
    };
    w.str("StatusNote", note.as_deref());
    w.str("DeviceAccessState", Some(&d.access_state));
    w.str("DeviceAccessStateReason", Some(&d.access_state_reason));
    w.str("DeviceAccessControlRule", d.access_control_rule.as_deref());
    w.str("DevicePolicyApplied", d.policy_applied.as_deref());
    w.str(
        "DevicePolicyApplicationStatus",
        Some(&d.policy_application_status),
    );
    w.str("LastDeviceWipeRequestor", wipe.requestor.as_deref());
    w.str(
        "LastAccountOnlyDeviceWipeRequestor",
        wipe.account_only_requestor.as_deref(),
    );
    w.str("ClientVersion", d.client_version.as_deref());
    w.int("NumberOfFoldersSynced", Some(d.folders_synced));
    w.date("SyncStateUpgradeTime", None, false);
    w.str("ClientType", Some(&d.client_type));
    w.bool("IsValid", true);
    w.str("ObjectState", Some("Unchanged"));
    w.end();
}

fn write_recipient(
    b: &mut Vec<u8>,
    t: &Tenant,
    m: &Mailbox,
    has_devices: bool,
    sel: Option<&BTreeSet<String>>,
) {
    let mut w = RowWriter::begin(b, sel, annotate(&m.guid));
    w.str("Alias", Some(&m.alias));
    w.str("City", m.city.as_deref());
    w.str("Department", m.department.as_deref());
    w.str("DisplayName", Some(&m.display_name));
    w.str("FirstName", m.first_name.as_deref());
    w.str("LastName", m.last_name.as_deref());
    w.str(
        "ExternalDirectoryObjectId",
        Some(&m.external_directory_object_id.to_string()),
    );
    w.str("PrimarySmtpAddress", Some(&m.primary_smtp_address));
    w.str("WindowsLiveID", Some(&m.primary_smtp_address));
    w.strs(
        "EmailAddresses",
        &[
            format!("SMTP:{}", m.primary_smtp_address),
            format!(
                "smtp:{}@{}",
                m.alias,
                t.domain
                    .replace(".onmicrosoft.com", ".mail.onmicrosoft.com")
            ),
        ],
    );
    w.guid("ExchangeGuid", &m.exchange_guid);
    w.str(
        "ActiveSyncMailboxPolicy",
        m.active_sync_mailbox_policy.as_deref(),
    );
    w.bool(
        "ActiveSyncMailboxPolicyIsDefaulted",
        m.active_sync_mailbox_policy.is_none(),
    );
    w.bool("HasActiveSyncDevicePartnership", has_devices);
    w.bool("HiddenFromAddressListsEnabled", false);
    w.str("RecipientType", Some(m.recipient_type()));
    w.str("RecipientTypeDetails", Some(&m.recipient_type_details));
    w.str("ArchiveStatus", Some("None"));
    w.date("WhenMailboxCreated", Some(m.when_created), false);
    w.str("UsageLocation", None);
    let dn = format!(
        "CN={},OU={},OU=Microsoft Exchange Hosted Organizations,DC=EURPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
        m.name, t.domain
    );
    adbase(
        &mut w,
        t,
        &m.name,
        &m.name,
        &dn,
        &m.guid,
        m.when_created,
        m.when_created,
        &["top", "person", "organizationalPerson", "user"],
    );
    w.end();
}

/// Serialize the whole tenant (every Get-* answer, unlimited, in enumeration order) as JSON:
/// the determinism reference.
pub fn tenant_json(tenant: &RwLock<Tenant>) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    out.push(b'{');
    let cmdlets: [(&str, &[(&str, &str)]); 7] = [
        ("Get-ActiveSyncOrganizationSettings", &[]),
        ("Get-MobileDeviceMailboxPolicy", &[]),
        ("Get-ActiveSyncDeviceAccessRule", &[]),
        ("Get-ActiveSyncDeviceClass", &[]),
        ("Get-Recipient", &[("ResultSize", "Unlimited")]),
        ("Get-MobileDevice", &[("ResultSize", "Unlimited")]),
        ("Get-ManagementRoleAssignment", &[]),
    ];
    for (i, (cmdlet, params)) in cmdlets.iter().enumerate() {
        let params: Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
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
