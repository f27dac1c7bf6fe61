//! Exact request bodies of the 16 typed cmdlets, captured by a recording test double, and a
//! check that every parameter sent is declared by the Exchange Online module for that cmdlet.

use exchange_activesync::ExchangeClientExt;
use std::sync::{Arc, Mutex};

use exchange_activesync::cmdlets::*;
use exchange_activesync::models::*;
use exchange_activesync::protocol::{CmdletKind, Invocation, NextLink, RawPage, RoutingHint};
use exchange_activesync::types::*;
use exchange_activesync::{Cmdlet, ExchangeClient, Result, async_trait};
use serde_json::{Value, json};

/// Records every invocation and answers with an empty page.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Invocation>>,
}

#[async_trait]
impl ExchangeClient for Recorder {
    async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
        self.seen.lock().unwrap().push(inv.clone());
        Ok(RawPage::empty(inv.cmdlet()))
    }
}

impl Recorder {
    fn last(&self) -> Invocation {
        self.seen.lock().unwrap().last().cloned().expect("a call")
    }
}

/// The parameters the server-generated module declares for `cmdlet` (common ones included).
fn declared(cmdlet: &str) -> Vec<String> {
    let text = include_str!("../fixtures/exo-module-params.json");
    let v: Value = serde_json::from_str(text).unwrap();
    let mut names: Vec<String> = v["_meta"]["common_parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let entry = v["cmdlets"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(cmdlet))
        .unwrap_or_else(|| panic!("{cmdlet} not in the module"))
        .1;
    names.extend(
        entry["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string()),
    );
    names
}

/// The body is exactly `params`, the name and kind match, and every parameter is declared.
fn check(inv: &Invocation, name: &str, kind: CmdletKind, params: Value) {
    assert_eq!(inv.cmdlet(), name);
    assert_eq!(inv.kind(), kind);
    let body: Value = serde_json::from_slice(&inv.body()).unwrap();
    assert_eq!(
        body,
        json!({"CmdletInput": {"CmdletName": name, "Parameters": params}}),
        "{name}"
    );
    let ok = declared(name);
    for p in inv.parameters().names() {
        assert!(
            ok.iter().any(|d| d.eq_ignore_ascii_case(p)),
            "{name} sends undeclared parameter {p}"
        );
    }
    assert!(!inv.parameters().contains("UseCustomRouting"));
    inv.validate().unwrap();
}

fn device() -> MobileDeviceIdentity {
    MobileDeviceIdentity::new("alice\\ExchangeActiveSyncDevices\\iPhone§ApplB4F3").unwrap()
}

#[tokio::test]
async fn get_active_sync_organization_settings() {
    let c = Recorder::default();
    let _ = c
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await;
    check(
        &c.last(),
        "Get-ActiveSyncOrganizationSettings",
        CmdletKind::Read,
        json!({}),
    );
    assert_eq!(
        GetActiveSyncOrganizationSettings::INFO.name,
        "Get-ActiveSyncOrganizationSettings"
    );
    assert_eq!(
        GetActiveSyncOrganizationSettings::INFO.kind,
        CmdletKind::Read
    );
}

#[tokio::test]
async fn set_active_sync_organization_settings() {
    let c = Recorder::default();
    let req = SetActiveSyncOrganizationSettings::new()
        .default_access_level(DeviceAccessLevel::Quarantine)
        .admin_mail_recipients(ListChange::replace(["mdm-admins@contoso.com"]))
        .user_mail_insert("Your device is quarantined pending approval.")
        .clear_ota_notification_mail_insert()
        .allow_access_for_unsupported_platform(false)
        .allow_rms_support_for_unenlightened_apps(true)
        .enable_mobile_mailbox_policy_when_ca_inplace(true)
        .tenant_admin_preference(TenantAdminPreference::from("SomeValue"));
    let out = c.set_active_sync_organization_settings(req).await.unwrap();
    assert!(out.warnings.is_empty());
    check(
        &c.last(),
        "Set-ActiveSyncOrganizationSettings",
        CmdletKind::Write,
        json!({
            "AdminMailRecipients": ["mdm-admins@contoso.com"],
            "AllowAccessForUnSupportedPlatform": false,
            "AllowRMSSupportForUnenlightenedApps": true,
            "DefaultAccessLevel": "Quarantine",
            "EnableMobileMailboxPolicyWhenCAInplace": true,
            "OtaNotificationMailInsert": null,
            "TenantAdminPreference": "SomeValue",
            "UserMailInsert": "Your device is quarantined pending approval."
        }),
    );
    // Add/remove form.
    let inv = SetActiveSyncOrganizationSettings::new()
        .admin_mail_recipients(ListChange::add_remove(["a@x.com"], ["b@x.com"]))
        .invocation()
        .unwrap();
    assert_eq!(
        inv.parameters().get("AdminMailRecipients"),
        Some(
            &json!({"@odata.type": "#Exchange.GenericHashTable", "Add": ["a@x.com"], "Remove": ["b@x.com"]})
        )
    );
}

#[tokio::test]
async fn get_mobile_device_mailbox_policy_never_sends_result_size() {
    let c = Recorder::default();
    c.get_mobile_device_mailbox_policy(GetMobileDeviceMailboxPolicy::new())
        .await
        .unwrap();
    check(
        &c.last(),
        "Get-MobileDeviceMailboxPolicy",
        CmdletKind::Read,
        json!({}),
    );
    c.get_mobile_device_mailbox_policy(
        GetMobileDeviceMailboxPolicy::new()
            .identity(PolicyIdentity::default_policy())
            .select(["Name", "IsDefault"]),
    )
    .await
    .unwrap();
    let inv = c.last();
    check(
        &inv,
        "Get-MobileDeviceMailboxPolicy",
        CmdletKind::Read,
        json!({"Identity": "Default"}),
    );
    assert_eq!(inv.selected(), ["Name", "IsDefault"]);
}

#[tokio::test]
async fn new_mobile_device_mailbox_policy() {
    let c = Recorder::default();
    let req = NewMobileDeviceMailboxPolicy::new("Strict-Phones")
        .unwrap()
        .password_enabled(true)
        .alphanumeric_password_required(false)
        .min_password_length(6)
        .allow_simple_password(false)
        .max_inactivity_time_lock(ExchangeTimeSpan::from_minutes(5))
        .max_password_failed_attempts(10u32)
        .max_attachment_size(Unlimited::Unlimited)
        .is_default(false)
        .allow_bluetooth(BluetoothType::HandsfreeOnly)
        .password_expiration(ExchangeTimeSpan::from_days(90))
        .device_policy_refresh_interval(ExchangeTimeSpan::from_hours(1))
        .max_email_body_truncation_size(Unlimited::Unlimited)
        .require_encryption_smime_algorithm(EncryptionSMIMEAlgorithmType::TripleDes)
        .approved_application_list(ListChange::replace([
            "0123456789abcdef0123456789abcdef01234567:App",
        ]));
    let created = c.new_mobile_device_mailbox_policy(req).await.unwrap();
    assert!(created.value.is_none(), "the recorder returns no row");
    check(
        &c.last(),
        "New-MobileDeviceMailboxPolicy",
        CmdletKind::Write,
        json!({
            "Name": "Strict-Phones",
            "AllowBluetooth": "HandsfreeOnly",
            "AllowSimplePassword": false,
            "AlphanumericPasswordRequired": false,
            "ApprovedApplicationList": ["0123456789abcdef0123456789abcdef01234567:App"],
            "DevicePolicyRefreshInterval": "01:00:00",
            "IsDefault": false,
            "MaxAttachmentSize": "Unlimited",
            "MaxEmailBodyTruncationSize": "Unlimited",
            "MaxInactivityTimeLock": "00:05:00",
            "MaxPasswordFailedAttempts": 10,
            "MinPasswordLength": 6,
            "PasswordEnabled": true,
            "PasswordExpiration": "90.00:00:00",
            "RequireEncryptionSMIMEAlgorithm": "TripleDES"
        }),
    );
}

#[tokio::test]
async fn set_mobile_device_mailbox_policy_with_patch() {
    let c = Recorder::default();
    let req = SetMobileDeviceMailboxPolicy::new(PolicyIdentity::new("Default").unwrap())
        .clear_min_password_length()
        .password_history(5)
        .max_attachment_size(ByteSize::from_mb(10))
        .clear_unapproved_in_rom_application_list()
        .name("Renamed");
    c.set_mobile_device_mailbox_policy(req).await.unwrap();
    check(
        &c.last(),
        "Set-MobileDeviceMailboxPolicy",
        CmdletKind::Write,
        json!({
            "Identity": "Default",
            "Name": "Renamed",
            "MaxAttachmentSize": "10 MB",
            "MinPasswordLength": null,
            "PasswordHistory": 5,
            "UnapprovedInROMApplicationList": null
        }),
    );
}

#[tokio::test]
async fn remove_mobile_device_mailbox_policy() {
    let c = Recorder::default();
    c.remove_mobile_device_mailbox_policy(
        RemoveMobileDeviceMailboxPolicy::new(PolicyIdentity::new("Old").unwrap()).force(),
    )
    .await
    .unwrap();
    check(
        &c.last(),
        "Remove-MobileDeviceMailboxPolicy",
        CmdletKind::Destructive,
        json!({"Identity": "Old", "Force": true, "Confirm": false}),
    );
}

#[tokio::test]
async fn access_rules() {
    let c = Recorder::default();
    c.get_active_sync_device_access_rule(GetActiveSyncDeviceAccessRule::new())
        .await
        .unwrap();
    check(
        &c.last(),
        "Get-ActiveSyncDeviceAccessRule",
        CmdletKind::Read,
        json!({}),
    );

    let new = NewActiveSyncDeviceAccessRule::new(
        "ContosoPhone",
        DeviceAccessCharacteristic::DeviceModel,
        DeviceAccessLevel::Block,
    )
    .unwrap();
    assert_eq!(
        new.expected_identity().unwrap().as_str(),
        "ContosoPhone (DeviceModel)"
    );
    c.new_active_sync_device_access_rule(new).await.unwrap();
    check(
        &c.last(),
        "New-ActiveSyncDeviceAccessRule",
        CmdletKind::Write,
        json!({"QueryString": "ContosoPhone", "Characteristic": "DeviceModel", "AccessLevel": "Block"}),
    );

    let id = AccessRuleIdentity::for_rule("ContosoPhone", &DeviceAccessCharacteristic::DeviceModel)
        .unwrap();
    c.set_active_sync_device_access_rule(SetActiveSyncDeviceAccessRule::new(
        id.clone(),
        DeviceAccessLevel::Allow,
    ))
    .await
    .unwrap();
    check(
        &c.last(),
        "Set-ActiveSyncDeviceAccessRule",
        CmdletKind::Write,
        json!({"Identity": "ContosoPhone (DeviceModel)", "AccessLevel": "Allow"}),
    );

    c.remove_active_sync_device_access_rule(RemoveActiveSyncDeviceAccessRule::new(id))
        .await
        .unwrap();
    check(
        &c.last(),
        "Remove-ActiveSyncDeviceAccessRule",
        CmdletKind::Destructive,
        json!({"Identity": "ContosoPhone (DeviceModel)", "Confirm": false}),
    );

    let e = NewActiveSyncDeviceAccessRule::new(
        "  ",
        DeviceAccessCharacteristic::DeviceOS,
        DeviceAccessLevel::Allow,
    )
    .unwrap_err();
    assert!(e.to_string().contains("QueryString"), "{e}");
}

#[tokio::test]
async fn get_mobile_device_statistics_routes_by_mailbox() {
    let c = Recorder::default();
    let req =
        GetMobileDeviceStatistics::for_mailbox(MailboxIdentity::new("alice@contoso.com").unwrap())
            .active_sync()
            .show_recovery_password()
            .mailbox_log_to(["helpdesk@contoso.com"]);
    c.get_mobile_device_statistics(req).await.unwrap();
    let inv = c.last();
    check(
        &inv,
        "Get-MobileDeviceStatistics",
        CmdletKind::Read,
        json!({
            "Mailbox": "alice@contoso.com",
            "ActiveSync": true,
            "GetMailboxLog": true,
            "NotificationEmailAddresses": ["helpdesk@contoso.com"],
            "ShowRecoveryPassword": true
        }),
    );
    assert!(
        matches!(inv.routing_hint(), Some(RoutingHint::Mailbox { mailbox, .. }) if mailbox == "alice@contoso.com")
    );

    c.get_mobile_device_statistics(GetMobileDeviceStatistics::for_device(device()))
        .await
        .unwrap();
    let inv = c.last();
    check(
        &inv,
        "Get-MobileDeviceStatistics",
        CmdletKind::Read,
        json!({"Identity": "alice\\ExchangeActiveSyncDevices\\iPhone§ApplB4F3"}),
    );
    assert!(inv.routing_hint().is_none());

    // Identity XOR Mailbox.
    let both = GetMobileDeviceStatistics::new(
        Some(device()),
        Some(MailboxIdentity::new("alice").unwrap()),
    )
    .unwrap_err();
    assert!(both.to_string().contains("Identity") && both.to_string().contains("Mailbox"));
    assert!(GetMobileDeviceStatistics::new(None, None).is_err());
}

#[tokio::test]
async fn get_mobile_device_sends_unlimited_unless_a_number_is_set() {
    let c = Recorder::default();
    c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
    check(
        &c.last(),
        "Get-MobileDevice",
        CmdletKind::Read,
        json!({"ResultSize": "Unlimited"}),
    );
    let req = GetMobileDevice::for_mailbox(
        MailboxIdentity::new("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60").unwrap(),
    )
    .filter(Filter::eq("DeviceType", "iPhone").and(Filter::eq(
        "DeviceAccessState",
        DeviceAccessState::Quarantined,
    )))
    .rest_api()
    .result_size(50)
    .sort_by("DeviceModel")
    .select(["Identity", "DeviceId"]);
    c.get_mobile_device(req).await.unwrap();
    let inv = c.last();
    check(
        &inv,
        "Get-MobileDevice",
        CmdletKind::Read,
        json!({
            "Mailbox": "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60",
            "RestApi": true,
            "Filter": "(DeviceType -eq 'iPhone') -and (DeviceAccessState -eq 'Quarantined')",
            "ResultSize": 50,
            "SortBy": "DeviceModel"
        }),
    );
    assert!(inv.routing_hint().is_some(), "GUID mailbox routes");
    assert_eq!(inv.effective_page_size(), 50);
    // A display-name mailbox is not routable.
    let inv = GetMobileDevice::for_mailbox(MailboxIdentity::new("Alice Example").unwrap())
        .invocation()
        .unwrap();
    assert!(inv.routing_hint().is_none());
    // Identity and Mailbox are different parameter sets.
    let e = GetMobileDevice::for_device(device())
        .mailbox(MailboxIdentity::new("alice").unwrap())
        .invocation()
        .unwrap_err();
    assert!(e.to_string().contains("Mailbox"), "{e}");
    assert!(GetMobileDevice::new().result_size(0).invocation().is_err());
}

#[tokio::test]
async fn get_active_sync_device_class() {
    let c = Recorder::default();
    c.get_active_sync_device_class(
        GetActiveSyncDeviceClass::new()
            .filter(Filter::like("DeviceModel", "iPhone*"))
            .sort_by("DeviceType"),
    )
    .await
    .unwrap();
    check(
        &c.last(),
        "Get-ActiveSyncDeviceClass",
        CmdletKind::Read,
        json!({"Filter": "DeviceModel -like 'iPhone*'", "SortBy": "DeviceType"}),
    );
}

#[tokio::test]
async fn get_recipient() {
    let c = Recorder::default();
    c.get_recipient(
        GetRecipient::new()
            .filter(Filter::eq("HasActiveSyncDevicePartnership", true))
            .recipient_type_details([
                RecipientTypeDetails::UserMailbox,
                RecipientTypeDetails::SharedMailbox,
            ])
            .include_soft_deleted_recipients(),
    )
    .await
    .unwrap();
    check(
        &c.last(),
        "Get-Recipient",
        CmdletKind::Read,
        json!({
            // The protocol layer replaces $true with 'True', as the module does.
            "Filter": "HasActiveSyncDevicePartnership -eq 'True'",
            "RecipientTypeDetails": ["UserMailbox", "SharedMailbox"],
            "ResultSize": "Unlimited",
            "IncludeSoftDeletedRecipients": true
        }),
    );
    let inv = GetRecipient::new()
        .anr("ali")
        .recipient_type([RecipientType::UserMailbox])
        .recipient_type_details([RecipientTypeDetails::RoomMailbox])
        .result_size(10)
        .authentication_type("Managed")
        .invocation()
        .unwrap();
    check(
        &inv,
        "Get-Recipient",
        CmdletKind::Read,
        json!({"Anr": "ali", "RecipientType": ["UserMailbox"], "RecipientTypeDetails": ["RoomMailbox"], "ResultSize": 10, "AuthenticationType": "Managed"}),
    );
    // RecipientTypeDetails must fit a given RecipientType.
    let e = GetRecipient::new()
        .recipient_type([RecipientType::MailUser])
        .recipient_type_details([RecipientTypeDetails::SharedMailbox])
        .invocation()
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("RecipientTypeDetails") && msg.contains("UserMailbox"),
        "{msg}"
    );
    // Different parameter sets.
    assert!(
        GetRecipient::new()
            .identity(RecipientIdentity::new("alice").unwrap())
            .anr("x")
            .invocation()
            .is_err()
    );
}

#[tokio::test]
async fn clear_mobile_device_intents() {
    let c = Recorder::default();
    let id = MobileDeviceIdentity::new("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60").unwrap();
    c.clear_mobile_device(
        ClearMobileDevice::account_only(id.clone()).notify(["helpdesk@contoso.com"]),
    )
    .await
    .unwrap();
    check(
        &c.last(),
        "Clear-MobileDevice",
        CmdletKind::Destructive,
        json!({
            "Identity": "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60",
            "AccountOnly": true,
            "NotificationEmailAddresses": ["helpdesk@contoso.com"],
            "Confirm": false
        }),
    );
    c.clear_mobile_device(ClearMobileDevice::full_wipe(id.clone()))
        .await
        .unwrap();
    check(
        &c.last(),
        "Clear-MobileDevice",
        CmdletKind::Destructive,
        json!({"Identity": "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60", "Confirm": false}),
    );
    c.clear_mobile_device(ClearMobileDevice::cancel(id))
        .await
        .unwrap();
    check(
        &c.last(),
        "Clear-MobileDevice",
        CmdletKind::Destructive,
        json!({"Identity": "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60", "Cancel": true, "Confirm": false}),
    );
}

#[tokio::test]
async fn remove_mobile_device() {
    let c = Recorder::default();
    c.remove_mobile_device(RemoveMobileDevice::new(device()))
        .await
        .unwrap();
    check(
        &c.last(),
        "Remove-MobileDevice",
        CmdletKind::Destructive,
        json!({"Identity": "alice\\ExchangeActiveSyncDevices\\iPhone§ApplB4F3", "Confirm": false}),
    );
}

#[test]
fn listings_without_result_size_lack_it_in_the_module() {
    // The four enumerations without ResultSize really lack it in the module.
    for c in [
        "Get-ActiveSyncDeviceClass",
        "Get-MobileDeviceStatistics",
        "Get-ActiveSyncDeviceAccessRule",
        "Get-MobileDeviceMailboxPolicy",
    ] {
        assert!(!declared(c).iter().any(|p| p == "ResultSize"), "{c}");
    }
    // MobileOTAUpdateMode is documented but not declared: it must not be offered.
    assert!(
        !declared("Set-MobileDeviceMailboxPolicy")
            .iter()
            .any(|p| p == "MobileOTAUpdateMode")
    );
}

/// A test double that implements only `invoke_page` gets typed collect and stream too, also
/// through `Arc<dyn ExchangeClient>`.
#[tokio::test]
async fn invoke_page_drives_stream_and_collect() {
    struct Pages;
    #[async_trait]
    impl ExchangeClient for Pages {
        async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
            assert_eq!(inv.cmdlet(), "Get-MobileDevice");
            let id = next
                .map(|l| l.as_str().to_string())
                .unwrap_or("first".into());
            let page =
                RawPage::from_values(inv.cmdlet(), vec![serde_json::json!({ "DeviceId": id })]);
            Ok(match next {
                None => page.with_next_link(Some(NextLink::new("second"))),
                Some(_) => page,
            })
        }
    }
    let c: Arc<dyn ExchangeClient> = Arc::new(Pages);
    let all = c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
    let ids: Vec<_> = all
        .items
        .iter()
        .map(|d| d.device_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["first", "second"]);
    assert_eq!(all.pages, 2);
    let mut s = c.get_mobile_device_stream(GetMobileDevice::new());
    let mut n = 0;
    while let Some(d) = futures::StreamExt::next(&mut s).await {
        d.unwrap();
        n += 1;
    }
    assert_eq!((n, s.report().pages), (2, 2));
}

#[tokio::test]
async fn mobile_device_dashboard_summary_report() {
    use chrono::{TimeZone, Utc};
    let c = Recorder::default();
    c.get_mobile_device_dashboard_summary_report(GetMobileDeviceDashboardSummaryReport::new())
        .await
        .unwrap();
    check(
        &c.last(),
        "Get-MobileDeviceDashboardSummaryReport",
        CmdletKind::Read,
        json!({}),
    );
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2024, 5, 31, 12, 30, 0).unwrap();
    let request = GetMobileDeviceDashboardSummaryReport::new()
        .device_type(" iPhone ")
        .start_date(start)
        .end_date(end)
        .select(["DeviceType", "TotalDevices"]);
    assert_eq!(request.get_device_type(), Some(" iPhone "));
    assert_eq!(
        (request.get_start_date(), request.get_end_date()),
        (Some(start), Some(end))
    );
    assert_eq!(request.get_select(), ["DeviceType", "TotalDevices"]);
    c.get_mobile_device_dashboard_summary_report(request)
        .await
        .unwrap();
    check(
        &c.last(),
        "Get-MobileDeviceDashboardSummaryReport",
        CmdletKind::Read,
        json!({"DeviceType": "iPhone", "StartDate": "2024-05-01T00:00:00", "EndDate": "2024-05-31T12:30:00"}),
    );
    // refused before sending: a window that ends before it starts, an empty device type
    let backwards = GetMobileDeviceDashboardSummaryReport::new()
        .start_date(end)
        .end_date(start);
    let e = c
        .get_mobile_device_dashboard_summary_report(backwards)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("EndDate"), "{e}");
    let empty = GetMobileDeviceDashboardSummaryReport::new().device_type("  ");
    assert!(
        c.get_mobile_device_dashboard_summary_report(empty)
            .await
            .is_err()
    );
    assert_eq!(c.seen.lock().unwrap().len(), 2);
}
