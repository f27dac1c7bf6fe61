//! The CAS mailbox handlers: `Get-CASMailbox` and `Set-CASMailbox` (ActiveSync side), with
//! the effect of the per-mailbox device lists on that mailbox's devices.
//!
//! A device whose `DeviceId` is in the mailbox's blocked list is `Blocked` / `Individual`, in
//! its allowed list `Allowed` / `Individual` (blocking wins). A device taken out of both
//! lists goes back to what the access rules, or else the organization default, give.

use std::collections::BTreeSet;

use super::context::{Ctx, Reply, apply_multi, invalid_filter, paginate, param, str_list};
use super::rows::{annotate, mailbox_base};
use crate::failure::Failure;
use crate::format::RowWriter;
use crate::tenant::{Device, Mailbox, Tenant};
use crate::{filter, policy};

const CAS_FILTERABLE: &[&str] = &[
    "Name",
    "DisplayName",
    "PrimarySmtpAddress",
    "Guid",
    "ActiveSyncEnabled",
    "ActiveSyncMailboxPolicy",
    "ActiveSyncSuppressReadReceipt",
    "ActiveSyncDebugLogging",
    "HasActiveSyncDevicePartnership",
    "RecipientTypeDetails",
];

const CAS_SORTABLE: &[&str] = &["name", "displayname", "primarysmtpaddress"];

fn tf(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

fn cas_prop(m: &Mailbox, has_devices: bool, p: &str) -> Option<String> {
    match p {
        "name" => Some(m.name.clone()),
        "displayname" => Some(m.display_name.clone()),
        "primarysmtpaddress" => Some(m.primary_smtp_address.clone()),
        "guid" => Some(m.guid.to_string()),
        "activesyncenabled" => Some(tf(m.cas.active_sync_enabled)),
        "activesyncmailboxpolicy" => m.active_sync_mailbox_policy.clone(),
        "activesyncsuppressreadreceipt" => Some(tf(m.cas.suppress_read_receipt)),
        "activesyncdebuglogging" => Some(tf(m.cas.debug_logging)),
        "hasactivesyncdevicepartnership" => Some(tf(has_devices)),
        "recipienttypedetails" => Some(m.recipient_type_details.clone()),
        _ => None,
    }
}

/// `Get-CASMailbox`: mailboxes only (mail users and contacts have no CAS mailbox).
pub(super) fn get_cas_mailboxes(t: &Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
    let is_mailbox = |m: &Mailbox| m.recipient_type() == "UserMailbox";
    let mut idx: Vec<usize> = match ctx.str("Identity")? {
        Some(id) => {
            let i = t
                .mailbox_idx(id)
                .filter(|&i| is_mailbox(&t.mailboxes[i]))
                .ok_or_else(|| ctx.not_found(t, id))?;
            vec![i]
        }
        None => (0..t.mailboxes.len())
            .filter(|&i| is_mailbox(&t.mailboxes[i]))
            .collect(),
    };
    let details = str_list(ctx.get("RecipientTypeDetails"));
    let expr = match ctx.str("Filter")? {
        Some(f) => Some(filter::parse(f, CAS_FILTERABLE).map_err(invalid_filter)?),
        None => None,
    };
    let anr = ctx.str("Anr")?.map(str::to_lowercase);
    idx.retain(|&i| {
        let m = &t.mailboxes[i];
        (details.is_empty()
            || details
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&m.recipient_type_details)))
            && anr.as_ref().is_none_or(|a| {
                [&m.name, &m.alias, &m.display_name]
                    .iter()
                    .any(|v| v.to_lowercase().starts_with(a.as_str()))
            })
            && expr
                .as_ref()
                .is_none_or(|e| filter::eval(e, &|p| cas_prop(m, t.has_devices(i), p)))
    });
    if let Some(sort) = ctx.str("SortBy")? {
        let key = sort.trim().to_ascii_lowercase();
        if !CAS_SORTABLE.contains(&key.as_str()) {
            return Err(Failure::InvalidValue {
                message: format!("SortBy property '{sort}' is not supported."),
            });
        }
        idx.sort_by_cached_key(|&i| {
            cas_prop(&t.mailboxes[i], false, &key).map(|s| s.to_lowercase())
        });
    }
    paginate(
        ctx,
        idx.iter().skip(ctx.cursor.offset as usize),
        |_| None,
        |b, &i, sel| write_cas_mailbox(b, t, &t.mailboxes[i], t.has_devices(i), sel),
    )
}

fn write_cas_mailbox(
    b: &mut Vec<u8>,
    t: &Tenant,
    m: &Mailbox,
    has_devices: bool,
    sel: Option<&BTreeSet<String>>,
) {
    let mut w = RowWriter::begin(b, sel, annotate(&m.guid));
    w.str("DisplayName", Some(&m.display_name));
    w.str("PrimarySmtpAddress", Some(&m.primary_smtp_address));
    w.str(
        "ExternalDirectoryObjectId",
        Some(&m.external_directory_object_id.to_string()),
    );
    w.bool("ActiveSyncEnabled", m.cas.active_sync_enabled);
    w.strs("ActiveSyncAllowedDeviceIDs", &m.cas.allowed_device_ids);
    w.strs("ActiveSyncBlockedDeviceIDs", &m.cas.blocked_device_ids);
    w.str(
        "ActiveSyncMailboxPolicy",
        Some(m.active_sync_mailbox_policy.as_deref().unwrap_or("Default")),
    );
    w.bool(
        "ActiveSyncMailboxPolicyIsDefaulted",
        m.active_sync_mailbox_policy.is_none(),
    );
    w.bool("ActiveSyncSuppressReadReceipt", m.cas.suppress_read_receipt);
    w.bool("ActiveSyncDebugLogging", m.cas.debug_logging);
    w.bool("HasActiveSyncDevicePartnership", has_devices);
    w.bool("OWAEnabled", true);
    w.bool("OWAforDevicesEnabled", true);
    w.bool("PopEnabled", true);
    w.bool("ImapEnabled", true);
    w.bool("MAPIEnabled", true);
    mailbox_base(&mut w, t, m);
    w.end();
}

fn bool_param(ctx: &Ctx<'_>, name: &str) -> Result<Option<bool>, Failure> {
    match ctx.get(name) {
        None => Ok(None),
        Some(v) => policy::parse_bool(v).map(Some).ok_or_else(|| Failure::InvalidValue {
            message: format!(
                "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{v}\" to type \"System.Boolean\"."
            ),
        }),
    }
}

/// `Set-CASMailbox`: the ActiveSync settings; the other declared parameters are accepted and
/// not modelled.
pub(super) fn set_cas_mailbox(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    out: &mut Reply,
) -> Result<(), Failure> {
    let id = ctx.str("Identity")?.unwrap_or_default();
    let i = t
        .mailbox_idx(id)
        .filter(|&i| t.mailboxes[i].recipient_type() == "UserMailbox")
        .ok_or_else(|| ctx.not_found(t, id))?;
    let before = (
        t.mailboxes[i].cas.clone(),
        t.mailboxes[i].active_sync_mailbox_policy.clone(),
    );
    let mut cas = before.0.clone();
    let mut policy_name = before.1.clone();
    if let Some(v) = bool_param(ctx, "ActiveSyncEnabled")? {
        cas.active_sync_enabled = v;
    }
    if let Some(v) = bool_param(ctx, "ActiveSyncSuppressReadReceipt")? {
        cas.suppress_read_receipt = v;
    }
    if let Some(v) = bool_param(ctx, "ActiveSyncDebugLogging")? {
        cas.debug_logging = v;
    }
    if let Some(v) = param(ctx.params, "ActiveSyncAllowedDeviceIDs") {
        cas.allowed_device_ids = apply_multi(&cas.allowed_device_ids, v)?;
    }
    if let Some(v) = param(ctx.params, "ActiveSyncBlockedDeviceIDs") {
        cas.blocked_device_ids = apply_multi(&cas.blocked_device_ids, v)?;
    }
    if let Some(p) = ctx.str("ActiveSyncMailboxPolicy")? {
        let policy = t.policy(p).ok_or_else(|| ctx.not_found(t, p))?;
        policy_name = Some(policy.name.clone());
    }
    if (&cas, &policy_name) == (&before.0, &before.1) {
        out.warnings.push(format!(
            "The command completed successfully but no settings of '{}' have been modified.",
            t.mailboxes[i].name
        ));
        return Ok(());
    }
    t.mailboxes[i].cas = cas;
    t.mailboxes[i].active_sync_mailbox_policy = policy_name;
    apply_device_lists(t, i);
    t.tick();
    Ok(())
}

/// Re-evaluate the access state of every device of mailbox `i` after its lists changed.
pub(crate) fn apply_device_lists(t: &mut Tenant, i: usize) {
    let guids: Vec<_> = t
        .mailbox_devices
        .get(&i)
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default();
    let cas = t.mailboxes[i].cas.clone();
    let now = t.clock;
    for g in guids {
        let listed =
            |list: &[String], d: &Device| list.iter().any(|x| x.eq_ignore_ascii_case(&d.device_id));
        let Some(d) = t.devices.get(&g) else {
            continue;
        };
        let (state, reason, rule) = if listed(&cas.blocked_device_ids, d) {
            ("Blocked".to_string(), "Individual".to_string(), None)
        } else if listed(&cas.allowed_device_ids, d) {
            ("Allowed".to_string(), "Individual".to_string(), None)
        } else if d.access_state_reason == "Individual" {
            org_access(t, d)
        } else {
            continue;
        };
        let d = t.devices.get_mut(&g).expect("looked up above");
        if (&d.access_state, &d.access_state_reason) != (&state, &reason) {
            d.access_state = state;
            d.access_state_reason = reason;
            d.access_control_rule = rule;
            d.when_changed = now;
        }
    }
}

/// What Exchange's documented order ("Determining a mobile device's access state") gives a
/// device now: `None` when it is left as it is (ActiveSync disabled for its user: no access
/// at all; blocked by its mobile policy, which is not modelled), else a personal exemption
/// (blocked before allowed), else [`org_access`].
pub(crate) fn access_of(t: &Tenant, d: &Device) -> Option<(String, String, Option<String>)> {
    let cas = &t.mailboxes[d.mailbox].cas;
    if !cas.active_sync_enabled || d.access_state_reason == "Policy" {
        return None;
    }
    let listed = |list: &[String]| list.iter().any(|x| x.eq_ignore_ascii_case(&d.device_id));
    if listed(&cas.blocked_device_ids) {
        Some(("Blocked".into(), "Individual".into(), None))
    } else if listed(&cas.allowed_device_ids) {
        Some(("Allowed".into(), "Individual".into(), None))
    } else {
        Some(org_access(t, d))
    }
}

/// Re-evaluate every partnership after the organization's default access level or a device
/// access rule changed (the service applies the change at each device's next connection;
/// the simulator at once).
pub(crate) fn reevaluate_access(t: &mut Tenant) {
    let now = t.clock;
    let decided: Vec<_> = t
        .devices
        .values()
        .filter_map(|d| access_of(t, d).map(|a| (d.guid, a)))
        .collect();
    for (g, (state, reason, rule)) in decided {
        let d = t.devices.get_mut(&g).expect("listed above");
        if (
            &d.access_state,
            &d.access_state_reason,
            &d.access_control_rule,
        ) != (&state, &reason, &rule)
        {
            d.access_state = state;
            d.access_state_reason = reason;
            d.access_control_rule = rule;
            d.when_changed = now;
        }
    }
}

/// What the access rules, or else the organization default, give a device: a matching Block
/// rule wins over a Quarantine rule, which wins over an Allow rule; a rule matches when its
/// query string equals the device's value of its characteristic, ignoring case (a device
/// without that value, and every `XMSWLHeader` rule, never match: the header is not recorded).
fn org_access(t: &Tenant, d: &Device) -> (String, String, Option<String>) {
    let state = |level: &str| {
        match level {
            "Block" => "Blocked",
            "Quarantine" => "Quarantined",
            _ => "Allowed",
        }
        .to_string()
    };
    let matches = |r: &&crate::tenant::AccessRule| {
        let value = match r.characteristic.as_str() {
            "DeviceType" => Some(&d.device_type),
            "DeviceModel" => Some(&d.device_model),
            "DeviceOS" => d.device_os.as_ref(),
            "UserAgent" => d.device_user_agent.as_ref(),
            _ => None,
        };
        value.is_some_and(|v| v.eq_ignore_ascii_case(&r.query_string))
    };
    let rule = ["Block", "Quarantine", "Allow"].iter().find_map(|level| {
        t.rules
            .iter()
            .filter(|r| r.access_level.eq_ignore_ascii_case(level))
            .find(matches)
    });
    match rule {
        Some(r) => (
            state(&r.access_level),
            "DeviceRule".to_string(),
            Some(r.name()),
        ),
        None => (
            state(&t.org.default_access_level),
            "Global".to_string(),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_wins_and_removal_restores_the_org_answer() {
        let mut t = crate::TenantBuilder::new()
            .seed(7)
            .mailboxes(3)
            .devices(6)
            .build();
        let d = t.devices().next().cloned().expect("a device");
        let i = d.mailbox;
        t.mailboxes[i].cas.allowed_device_ids = vec![d.device_id.clone()];
        t.mailboxes[i].cas.blocked_device_ids = vec![d.device_id.to_lowercase()];
        apply_device_lists(&mut t, i);
        let now = &t.devices[&d.guid];
        assert_eq!(
            (now.access_state.as_str(), now.access_state_reason.as_str()),
            ("Blocked", "Individual")
        );
        t.mailboxes[i].cas = Default::default();
        apply_device_lists(&mut t, i);
        let (state, reason, _) = org_access(&t, &t.devices[&d.guid]);
        let now = &t.devices[&d.guid];
        assert_eq!(now.access_state, state);
        assert_eq!(now.access_state_reason, reason);
        assert_ne!(now.access_state_reason, "Individual");
    }

    #[test]
    fn rules_block_before_quarantine_before_allow_and_a_default_change_reaches_every_device() {
        let mut t = crate::TenantBuilder::new()
            .seed(7)
            .mailboxes(3)
            .devices(30)
            .build();
        let d = t
            .devices()
            .find(|d| d.client_type == "EAS" && d.device_os.is_some())
            .cloned()
            .expect("an EAS device");
        let now = t.now();
        let rule = |q: &str, c: &str, a: &str| crate::tenant::AccessRule {
            guid: uuid::Uuid::new_v4(),
            query_string: q.to_uppercase(),
            characteristic: c.into(),
            access_level: a.into(),
            when_created: now,
            when_changed: now,
        };
        t.rules = vec![
            rule(&d.device_type, "DeviceType", "Allow"),
            rule(&d.device_model, "DeviceModel", "Quarantine"),
        ];
        reevaluate_access(&mut t);
        assert_eq!(t.devices[&d.guid].access_state, "Quarantined");
        t.rules
            .push(rule(d.device_os.as_deref().unwrap(), "DeviceOS", "Block"));
        reevaluate_access(&mut t);
        assert_eq!(t.devices[&d.guid].access_state, "Blocked");
        assert_eq!(t.devices[&d.guid].access_state_reason, "DeviceRule");
        t.rules.clear();
        t.org.default_access_level = "Quarantine".into();
        reevaluate_access(&mut t);
        assert!(t.devices().all(
            |d| (d.access_state.as_str(), d.access_state_reason.as_str())
                == ("Quarantined", "Global")
        ));
    }
}
