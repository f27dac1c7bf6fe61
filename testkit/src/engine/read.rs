//! The read handlers: every `Get-*` cmdlet, with identity lookup, `-Filter`, `-SortBy`,
//! client-type switches and paging.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use chrono::{DateTime, Utc};
use sha1::{Digest, Sha1};
use uuid::Uuid;

use super::context::{Ctx, Reply, invalid_filter, paginate, single, str_list};
use super::rows::{
    adbase, annotate, write_device, write_org, write_policy, write_recipient, write_rule,
    write_statistics,
};
use crate::failure::Failure;
use crate::format::{self, RowWriter};
use crate::tenant::{AccessRule, Device, Mailbox, MailboxPolicy, ORG_SETTINGS_NAME, Tenant};
use crate::{filter, policy, token};

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
        "firstsynctime" => d.first_sync_time.map(|x| format::date(x, false)),
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

pub(super) fn read_cmdlet(t: &Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
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
        "Get-CASMailbox" => super::cas::get_cas_mailboxes(t, ctx),
        "Get-MobileDeviceDashboardSummaryReport" => get_dashboard_summary(t, ctx),
        _ => Err(Failure::PermissionDenied),
    }
}

fn get_devices(t: &Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
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

fn get_classes(t: &Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
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
                "lastupdatetime" => c.last_update.map(|d| format::date(d, false)),
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

fn get_recipients(t: &Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
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

fn get_assignments(t: &Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
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
                        || token::is_token_principal(x)
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

fn get_role_entries(t: &Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
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

/// One row of the dashboard summary.
struct DashboardRow {
    device_type: String,
    total: i64,
    allowed: i64,
    blocked: i64,
    quarantined: i64,
    active: i64,
}

/// A date parameter as the module sends it (`2024-05-01T00:00:00`, or RFC 3339).
fn date_param(ctx: &Ctx<'_>, name: &str) -> Result<Option<DateTime<Utc>>, Failure> {
    let Some(text) = ctx.str(name)? else {
        return Ok(None);
    };
    let t = text.trim();
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .map(|d| d.and_utc())
        .or_else(|_| DateTime::parse_from_rfc3339(t).map(|d| d.with_timezone(&Utc)))
        .map(Some)
        .map_err(|_| Failure::InvalidValue {
            message: format!(
                "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{text}\" to type \"System.DateTime\"."
            ),
        })
}

/// `Get-MobileDeviceDashboardSummaryReport`: one row per device type (sorted), counting the
/// tenant's partnerships by access state and those that synced within the window (by default
/// the 30 days up to the tenant's clock).
fn get_dashboard_summary(t: &Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
    let end = date_param(ctx, "EndDate")?.unwrap_or_else(|| t.now());
    let start = date_param(ctx, "StartDate")?.unwrap_or(end - chrono::Duration::days(30));
    if start > end {
        return Err(Failure::InvalidValue {
            message: "The StartDate must be earlier than the EndDate.".into(),
        });
    }
    let only = ctx.str("DeviceType")?;
    let mut by_type: BTreeMap<String, DashboardRow> = BTreeMap::new();
    for d in t
        .devices()
        .filter(|d| only.is_none_or(|ty| d.device_type.eq_ignore_ascii_case(ty.trim())))
    {
        let row = by_type
            .entry(d.device_type.clone())
            .or_insert_with(|| DashboardRow {
                device_type: d.device_type.clone(),
                total: 0,
                allowed: 0,
                blocked: 0,
                quarantined: 0,
                active: 0,
            });
        row.total += 1;
        match d.access_state.as_str() {
            "Allowed" => row.allowed += 1,
            "Blocked" => row.blocked += 1,
            "Quarantined" => row.quarantined += 1,
            _ => {}
        }
        if d.last_success_sync.is_some_and(|s| s >= start && s <= end) {
            row.active += 1;
        }
    }
    let rows: Vec<DashboardRow> = by_type.into_values().collect();
    paginate(
        ctx,
        rows.iter().skip(ctx.cursor.offset as usize),
        |_| None,
        |b, r, sel| {
            let mut w = RowWriter::begin(b, sel, false);
            w.str("DeviceType", Some(&r.device_type));
            w.int("TotalDevices", Some(r.total));
            w.int("AllowedDevices", Some(r.allowed));
            w.int("BlockedDevices", Some(r.blocked));
            w.int("QuarantinedDevices", Some(r.quarantined));
            w.int("ActiveDevices", Some(r.active));
            w.date("StartDate", Some(start), true);
            w.date("EndDate", Some(end), true);
            w.end();
        },
    )
}
