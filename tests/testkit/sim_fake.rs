//! The in-memory fake tenant: determinism, cmdlet semantics, RBAC, scripted failures, paging.

use exchange_activesync::ExchangeClientExt;
use std::sync::RwLock;

use exchange_activesync::ExchangeClient;
use exchange_activesync::protocol::{Invocation, Parameters, TRUNCATION_WARNING};
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, RbacProfile, TenantBuilder, Times, tenant_json,
};
use serde_json::{Value, json};

fn fake(devices: usize) -> FakeExchangeClient {
    FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(7)
            .mailboxes(50)
            .devices(devices)
            .build(),
    )
}

fn params(v: Value) -> Parameters {
    let mut p = Parameters::new();
    if let Value::Object(m) = v {
        for (k, v) in m {
            p.insert_json(k, v);
        }
    }
    p
}

#[test]
fn same_seed_gives_byte_identical_tenant() {
    let build = |seed| {
        tenant_json(&RwLock::new(
            TenantBuilder::new()
                .seed(seed)
                .mailboxes(30)
                .devices(200)
                .build(),
        ))
        .unwrap()
    };
    let (a, b, c) = (build(42), build(42), build(43));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let text = String::from_utf8(a).unwrap();
    assert!(text.contains("\\\\ExchangeActiveSyncDevices\\\\"));
    assert!(text.contains("REST§Outlook§"));
    assert!(text.contains("\"ClientType\":\"MOWA\""));
    assert!(text.contains("@data.type"));
    assert!(text.chars().any(|c| !c.is_ascii() && c != '§'));
}

#[tokio::test]
async fn list_create_update_delete() {
    let f = fake(20);
    let devices = f
        .invoke_raw(
            "Get-MobileDevice",
            params(json!({"ResultSize": "Unlimited"})),
        )
        .await
        .unwrap();
    assert_eq!(devices.items.len(), 20);
    let first = devices.items[0].clone();
    assert!(
        first["Identity"]
            .as_str()
            .unwrap()
            .contains("\\ExchangeActiveSyncDevices\\")
    );

    // New policy returns the object; a duplicate is refused.
    let created = f
        .invoke_raw(
            "New-MobileDeviceMailboxPolicy",
            params(json!({"Name": "Zoë's policy", "MaxAttachmentSize": "10 MB", "MaxInactivityTimeLock": "00:15:00"})),
        )
        .await
        .unwrap();
    assert_eq!(created.items[0]["Name"], "Zoë's policy");
    assert_eq!(
        created.items[0]["MaxAttachmentSize"],
        "10 MB (10,485,760 bytes)"
    );
    assert_eq!(created.items[0]["MaxInactivityTimeLock"], "00:15:00");
    let dup = f
        .invoke_raw(
            "New-MobileDeviceMailboxPolicy",
            params(json!({"Name": "zoë's policy"})),
        )
        .await
        .unwrap_err();
    assert!(dup.is_already_exists(), "{dup}");

    // Set returns nothing; a no-op Set warns.
    let set = f
        .invoke_raw(
            "Set-MobileDeviceMailboxPolicy",
            params(json!({"Identity": "Zoë's policy", "PasswordEnabled": true})),
        )
        .await
        .unwrap();
    assert!(set.items.is_empty() && set.warnings.is_empty());
    let again = f
        .invoke_raw(
            "Set-MobileDeviceMailboxPolicy",
            params(json!({"Identity": "Zoë's policy", "PasswordEnabled": true})),
        )
        .await
        .unwrap();
    assert_eq!(again.warnings.len(), 1);
    assert_eq!(
        f.tenant()
            .policy("Zoë's policy")
            .unwrap()
            .setting("PasswordEnabled"),
        Some(&json!(true))
    );

    // Access rules: server-made name, update, delete, then not found.
    let rule = f
        .invoke_raw(
            "New-ActiveSyncDeviceAccessRule",
            params(json!({"QueryString": "ContosoPhone", "Characteristic": "DeviceModel", "AccessLevel": "Block"})),
        )
        .await
        .unwrap();
    assert_eq!(rule.items[0]["Name"], "ContosoPhone (DeviceModel)");
    f.invoke_raw(
        "Set-ActiveSyncDeviceAccessRule",
        params(json!({"Identity": "ContosoPhone (DeviceModel)", "AccessLevel": "Allow"})),
    )
    .await
    .unwrap();
    f.invoke_raw(
        "Remove-ActiveSyncDeviceAccessRule",
        params(json!({"Identity": "ContosoPhone (DeviceModel)"})),
    )
    .await
    .unwrap();
    let gone = f
        .invoke_raw(
            "Get-ActiveSyncDeviceAccessRule",
            params(json!({"Identity": "ContosoPhone (DeviceModel)"})),
        )
        .await
        .unwrap_err();
    assert!(gone.is_not_found());

    // Organization settings.
    f.invoke_raw(
        "Set-ActiveSyncOrganizationSettings",
        params(
            json!({"DefaultAccessLevel": "quarantine", "AdminMailRecipients": ["mdm@contoso.com"]}),
        ),
    )
    .await
    .unwrap();
    let org = f
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
        .unwrap();
    assert_eq!(org.items[0]["DefaultAccessLevel"], "Quarantine");
    assert_eq!(org.items[0]["Name"], "Mobile Mailbox Settings");
    assert_eq!(
        org.items[0]["AdminMailRecipients"],
        json!(["mdm@contoso.com"])
    );

    // Remove a device, then it is not found.
    let guid = first["Guid"].as_str().unwrap().to_string();
    f.invoke_raw("Remove-MobileDevice", params(json!({"Identity": guid})))
        .await
        .unwrap();
    assert_eq!(f.tenant().device_count(), 19);
    let err = f
        .invoke_raw("Remove-MobileDevice", params(json!({"Identity": guid})))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn policy_in_use_needs_force() {
    let f = fake(0);
    assert!(
        f.tenant()
            .mailboxes()
            .iter()
            .any(|m| m.active_sync_mailbox_policy.is_some())
    );
    let err = f
        .invoke_raw(
            "Remove-MobileDeviceMailboxPolicy",
            params(json!({"Identity": "Strict-Phones"})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    f.invoke_raw(
        "Remove-MobileDeviceMailboxPolicy",
        params(json!({"Identity": "Strict-Phones", "Force": true})),
    )
    .await
    .unwrap();
    assert!(f.tenant().policy("Strict-Phones").is_none());
    assert!(
        f.tenant()
            .mailboxes()
            .iter()
            .all(|m| m.active_sync_mailbox_policy.is_none())
    );
}

#[tokio::test]
async fn wipe_cancel_and_acknowledge() {
    let f = fake(60);
    let (eas, outlook) = {
        let t = f.tenant();
        let eas = t
            .devices()
            .find(|d| d.client_type == "EAS" && d.wipe.status() == "DeviceOk")
            .unwrap()
            .guid;
        let outlook = t
            .devices()
            .find(|d| d.device_type == "Outlook")
            .unwrap()
            .guid;
        (eas, outlook)
    };
    f.invoke_raw(
        "Clear-MobileDevice",
        params(json!({"Identity": eas.to_string()})),
    )
    .await
    .unwrap();
    let stats = f
        .invoke_raw(
            "Get-MobileDeviceStatistics",
            params(json!({"Identity": eas.to_string()})),
        )
        .await
        .unwrap();
    assert_eq!(stats.items[0]["Status"], "DeviceWipePending");
    assert!(stats.items[0]["DeviceWipeRequestTime"].is_string());
    let caller = f.tenant().caller().to_string();
    assert_eq!(stats.items[0]["LastDeviceWipeRequestor"], json!(caller));

    // Cancel reverses it; a second cancel only warns.
    f.invoke_raw(
        "Clear-MobileDevice",
        params(json!({"Identity": eas.to_string(), "Cancel": true})),
    )
    .await
    .unwrap();
    assert_eq!(f.tenant().device(&eas).unwrap().wipe.status(), "DeviceOk");
    let warn = f
        .invoke_raw(
            "Clear-MobileDevice",
            params(json!({"Identity": eas.to_string(), "Cancel": true})),
        )
        .await
        .unwrap();
    assert_eq!(warn.warnings.len(), 1);

    // Outlook devices get an implicit account-only wipe; the hook advances it.
    f.invoke_raw(
        "Clear-MobileDevice",
        params(json!({"Identity": outlook.to_string()})),
    )
    .await
    .unwrap();
    assert_eq!(
        f.tenant().device(&outlook).unwrap().wipe.status(),
        "AccountOnlyDeviceWipePending"
    );
    f.tenant_mut().advance_wipe(&outlook);
    f.tenant_mut().advance_wipe(&outlook);
    assert_eq!(
        f.tenant().device(&outlook).unwrap().wipe.status(),
        "AccountOnlyDeviceWipeSucceeded"
    );

    // An explicit Confirm:true only previews.
    let mut p = Parameters::new();
    p.string("Identity", eas.to_string())
        .switch("Confirm", true);
    let page = f
        .invoke_page(&Invocation::new("Clear-MobileDevice", p), None)
        .await
        .unwrap();
    assert!(
        page.confirmation_message
            .unwrap()
            .contains("Wiping mobile device")
    );
    assert_eq!(f.tenant().device(&eas).unwrap().wipe.status(), "DeviceOk");
}

#[tokio::test]
async fn permission_denied_and_unknown_parameter() {
    let f = FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(1)
            .mailboxes(3)
            .devices(3)
            .rbac_profile(RbacProfile::ReadOnly)
            .build(),
    );
    let err = f
        .invoke_raw("Remove-MobileDevice", params(json!({"Identity": "x"})))
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err}");
    assert_eq!(err.status(), Some(403));
    let err = f
        .invoke_raw("Get-MobileDevice", params(json!({"Bogus": 1})))
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert!(api.is_invalid_parameter(), "{api:?}");
    assert!(
        api.message
            .contains("Invalid cmdlet parameters specified. Bogus"),
        "{}",
        api.message
    );
    // ResultSize is not declared on Get-MobileDeviceStatistics.
    let err = f
        .invoke_raw(
            "Get-MobileDeviceStatistics",
            params(json!({"Mailbox": "x", "ResultSize": 5})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    let module = f.module_file().await.unwrap();
    assert!(module.exports("Get-MobileDevice"));
    assert!(
        module
            .exported_cmdlets
            .contains(&"get-MobileDeviceMailboxPolicy".to_string())
    );
    assert!(!module.exports("Clear-MobileDevice"));
    assert!(
        module.files[0]
            .content
            .contains("function script:Get-MobileDevice {")
    );
    let claims = f.token_claims().await.unwrap().unwrap();
    assert!(claims.has_manage_as_app());
}

#[tokio::test]
async fn scripted_throttling_then_success_and_recording() {
    let f = fake(5);
    f.fail(
        Some("get-mobiledevice"),
        Failure::throttled(Some(1.5)),
        Times::N(2),
    );
    f.fail(None, Failure::transient(), Times::Once);
    let inv = Invocation::new(
        "Get-MobileDevice",
        params(json!({"ResultSize": "Unlimited"})),
    );
    let e1 = f.invoke_page(&inv, None).await.unwrap_err();
    assert!(e1.is_throttled());
    assert_eq!(
        e1.retry_after(),
        Some(std::time::Duration::from_millis(1500))
    );
    assert!(f.invoke_page(&inv, None).await.unwrap_err().is_throttled());
    let e3 = f.invoke_page(&inv, None).await.unwrap_err();
    assert!(e3.api().unwrap().is_transient_exception(), "{e3}");
    let ok = f.invoke_page(&inv, None).await.unwrap();
    assert_eq!(ok.len().unwrap(), 5);
    let calls = f.calls_to("Get-MobileDevice");
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0].parameters["ResultSize"], "Unlimited");
    assert!(calls.iter().all(|c| c.continuation.is_none()));
}

#[tokio::test]
async fn paging_across_many_pages_and_truncation() {
    let f = fake(2_345);
    let inv = Invocation::new(
        "Get-MobileDevice",
        params(json!({"ResultSize": "Unlimited"})),
    )
    .page_size(100);
    let listing = f.invoke_invocation(inv.clone()).await.unwrap();
    assert_eq!(listing.items.len(), 2_345);
    let mut guids: Vec<&str> = listing
        .items
        .iter()
        .map(|r| r["Guid"].as_str().unwrap())
        .collect();
    guids.sort_unstable();
    guids.dedup();
    assert_eq!(guids.len(), 2_345);
    let calls = f.calls();
    assert_eq!(calls.len(), 24);
    assert!(calls[1..].iter().all(|c| c.continuation.is_some()));

    // Without ResultSize: 1000 rows and the truncation warning.
    let page = f
        .invoke_page(
            &Invocation::new("Get-MobileDevice", Parameters::new()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.len().unwrap(), 1000);
    assert!(page.next_link.is_none());
    assert!(
        page.warnings
            .iter()
            .any(|w| w.message == TRUNCATION_WARNING)
    );

    // A continuation used with another body is refused.
    let first = f.invoke_page(&inv, None).await.unwrap();
    let other = Invocation::new(
        "Get-MobileDevice",
        params(json!({"ResultSize": "Unlimited", "ActiveSync": true})),
    )
    .page_size(100);
    let err = f
        .invoke_page(&other, first.next_link.as_ref())
        .await
        .unwrap_err();
    assert!(err.is_pagination_expired(), "{err}");
}

#[tokio::test]
async fn filters_and_recipients() {
    let f = fake(300);
    let rest = f
        .invoke_raw(
            "Get-MobileDevice",
            params(json!({"ResultSize": "Unlimited", "Filter": "ClientType -eq 'REST' -and DeviceModel -like 'Outlook*'"})),
        )
        .await
        .unwrap();
    assert!(!rest.items.is_empty());
    assert!(
        rest.items
            .iter()
            .all(|d| d["ClientType"] == "REST" && d["FirstSyncTime"].is_null())
    );
    let err = f
        .invoke_raw(
            "Get-MobileDevice",
            params(json!({"Filter": "Bogus -eq 'x'"})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    let with = f
        .invoke_raw(
            "Get-Recipient",
            params(json!({"Filter": "HasActiveSyncDevicePartnership -eq 'True'", "ResultSize": "Unlimited"})),
        )
        .await
        .unwrap();
    let owners: std::collections::BTreeSet<usize> =
        f.tenant().devices().map(|d| d.mailbox).collect();
    assert_eq!(with.items.len(), owners.len());
    let mailbox = f.tenant().mailboxes()[*owners.iter().next().unwrap()]
        .primary_smtp_address
        .clone();
    let stats = f
        .invoke_raw(
            "Get-MobileDeviceStatistics",
            params(json!({"Mailbox": mailbox})),
        )
        .await
        .unwrap();
    assert!(!stats.items.is_empty());
    let missing = f
        .invoke_raw(
            "Get-MobileDevice",
            params(json!({"Identity": "nobody\\ExchangeActiveSyncDevices\\x§y"})),
        )
        .await
        .unwrap_err();
    assert!(missing.is_not_found());
}

#[tokio::test]
async fn rbac_reads() {
    let f = fake(0);
    let a = f
        .invoke_raw(
            "Get-ManagementRoleAssignment",
            params(json!({"Role": "Mail Recipients"})),
        )
        .await
        .unwrap();
    assert_eq!(a.items.len(), 1);
    assert_eq!(a.items[0]["RecipientWriteScope"], "Organization");
    let e = f
        .invoke_raw(
            "Get-ManagementRoleEntry",
            params(json!({"Identity": "*\\Clear-MobileDevice"})),
        )
        .await
        .unwrap();
    let roles: Vec<&str> = e
        .items
        .iter()
        .map(|r| r["Role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["Mail Recipients", "User Options"]);
}

/// The dashboard summary is computed from the tenant: one row per device type, its counts
/// adding up to the tenant's devices by access state; `-DeviceType` keeps one type, and a
/// read-only caller may run it.
#[tokio::test]
async fn dashboard_summary_counts_the_tenant_s_devices() {
    use exchange_activesync::cmdlets::GetMobileDeviceDashboardSummaryReport;
    let f = fake(60);
    let (types, blocked, quarantined) = {
        let t = f.tenant();
        let mut types: Vec<String> = t.devices().map(|d| d.device_type.clone()).collect();
        types.sort();
        types.dedup();
        let count = |s: &str| t.devices().filter(|d| d.access_state == s).count() as i32;
        (types, count("Blocked"), count("Quarantined"))
    };
    let report = f
        .get_mobile_device_dashboard_summary_report(GetMobileDeviceDashboardSummaryReport::new())
        .await
        .unwrap();
    let rows = &report.items;
    let row_types: Vec<String> = rows
        .iter()
        .map(|r| r.device_type.clone().unwrap())
        .collect();
    assert_eq!(row_types, types);
    let sum = |f: fn(&exchange_activesync::models::MobileDeviceDashboardSummary) -> Option<i32>| {
        rows.iter().map(|r| f(r).unwrap()).sum::<i32>()
    };
    assert_eq!(sum(|r| r.total_devices), 60);
    assert_eq!(sum(|r| r.blocked_devices), blocked);
    assert_eq!(sum(|r| r.quarantined_devices), quarantined);
    assert!(sum(|r| r.allowed_devices) + blocked + quarantined <= 60);
    assert!(rows.iter().all(|r| r.active_devices <= r.total_devices));
    assert!(rows.iter().all(|r| r.start_date < r.end_date));

    let one = f
        .get_mobile_device_dashboard_summary_report(
            GetMobileDeviceDashboardSummaryReport::new().device_type(types[0].to_uppercase()),
        )
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].device_type.as_deref(), Some(types[0].as_str()));

    let read_only = FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(7)
            .mailboxes(5)
            .devices(6)
            .rbac_profile(RbacProfile::ReadOnly)
            .build(),
    );
    let r = read_only
        .get_mobile_device_dashboard_summary_report(GetMobileDeviceDashboardSummaryReport::new())
        .await
        .unwrap();
    assert_eq!(
        r.items
            .iter()
            .map(|r| r.total_devices.unwrap())
            .sum::<i32>(),
        6
    );
}
