//! The write handlers: the `Set-*`, `New-*`, `Remove-*` and `Clear-*` cmdlets, with the
//! service's validation, no-change warnings and wipe requests.

use serde_json::Value;

use super::context::{Ctx, Reply, apply_multi, param, single, str_list};
use super::rows::{write_policy, write_rule};
use crate::failure::Failure;
use crate::policy::{self, SETTINGS};
use crate::tenant::{AccessRule, MailboxPolicy, ORG_SETTINGS_NAME, Tenant};

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

pub(super) fn write_cmdlet(t: &mut Tenant, ctx: &Ctx<'_>) -> Result<Reply, Failure> {
    let mut out = Reply::empty(ctx.name);
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
            super::cas::reevaluate_access(t);
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
                    super::cas::reevaluate_access(t);
                }
                _ => out.warnings.push(no_change_warning(&t.rules[i].name())),
            }
        }
        "Remove-ActiveSyncDeviceAccessRule" => {
            let id = ctx.str("Identity")?.unwrap_or_default();
            let i = t.rule_index(id).ok_or_else(|| ctx.not_found(t, id))?;
            t.rules.remove(i);
            t.tick();
            super::cas::reevaluate_access(t);
        }
        "Clear-MobileDevice" => clear_device(t, ctx, &mut out)?,
        "Set-CASMailbox" => super::cas::set_cas_mailbox(t, ctx, &mut out)?,
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

fn set_org(t: &mut Tenant, ctx: &Ctx<'_>, out: &mut Reply) -> Result<(), Failure> {
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
        let default_changed = o.default_access_level != t.org.default_access_level;
        o.when_changed = t.tick();
        t.org = o;
        if default_changed {
            super::cas::reevaluate_access(t);
        }
    }
    Ok(())
}

fn clear_device(t: &mut Tenant, ctx: &Ctx<'_>, out: &mut Reply) -> Result<(), Failure> {
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
            t.forget_wipe(&g);
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
    t.note_wipe_requested(g);
    Ok(())
}
