//! Output shaping: the row writers that serialize each kind of object straight from the
//! model, with the directory properties every object carries.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::format::RowWriter;
use crate::policy::SETTINGS;
use crate::tenant::{AccessRule, Device, Mailbox, MailboxPolicy, ORG_SETTINGS_NAME, Tenant};

/// Annotation keys appear on some objects only, decided by the object's GUID.
pub(super) fn annotate(guid: &Uuid) -> bool {
    guid.as_bytes()[15].is_multiple_of(3)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn adbase(
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

pub(super) fn write_org(b: &mut Vec<u8>, t: &Tenant, sel: Option<&BTreeSet<String>>) {
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

pub(super) fn write_policy(
    b: &mut Vec<u8>,
    t: &Tenant,
    p: &MailboxPolicy,
    sel: Option<&BTreeSet<String>>,
) {
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

pub(super) fn write_rule(
    b: &mut Vec<u8>,
    t: &Tenant,
    r: &AccessRule,
    sel: Option<&BTreeSet<String>>,
) {
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

pub(super) fn write_device(
    b: &mut Vec<u8>,
    t: &Tenant,
    d: &Device,
    sel: Option<&BTreeSet<String>>,
) {
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

pub(super) fn write_statistics(
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

pub(super) fn write_recipient(
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
    mailbox_base(&mut w, t, m);
    w.end();
}

/// The directory base properties of a mailbox row (Get-Recipient, Get-CASMailbox).
pub(super) fn mailbox_base(w: &mut RowWriter, t: &Tenant, m: &Mailbox) {
    let dn = format!(
        "CN={},OU={},OU=Microsoft Exchange Hosted Organizations,DC=EURPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
        m.name, t.domain
    );
    adbase(
        w,
        t,
        &m.name,
        &m.name,
        &dn,
        &m.guid,
        m.when_created,
        m.when_created,
        &["top", "person", "organizationalPerson", "user"],
    );
}
