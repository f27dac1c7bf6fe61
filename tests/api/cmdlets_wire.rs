//! Wire tests of the 16 typed cmdlets: each sends its typed request through
//! `HttpExchangeClient` to a mock server, which checks the exact JSON body, the
//! `X-CmdletName` header and the routing headers, and answers with a realistic response
//! (`tests/fixtures/responses/`); the typed result is then checked.

use crate::http_support::*;
use chrono::{TimeZone, Utc};
use exchange_activesync::ExchangeClientExt;
use exchange_activesync::cmdlets::*;
use exchange_activesync::models::*;
use exchange_activesync::types::*;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What one cmdlet call must look like on the wire.
struct Expected {
    cmdlet: &'static str,
    parameters: Value,
    /// `X-AnchorMailbox` (without a parameter hint: app routing with the configured tenant).
    anchor: String,
    /// Whether `parameter-based-routing: true` is sent.
    parameter_based: bool,
    /// `$select`, if any.
    select: Option<&'static str>,
}

impl Expected {
    fn new(cmdlet: &'static str, parameters: Value) -> Self {
        Expected {
            cmdlet,
            parameters,
            anchor: format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}"),
            parameter_based: false,
            select: None,
        }
    }

    fn routed_to(mut self, anchor: impl Into<String>) -> Self {
        self.anchor = anchor.into();
        self.parameter_based = true;
        self
    }

    fn select(mut self, select: &'static str) -> Self {
        self.select = Some(select);
        self
    }
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/responses/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An answer without rows, as Set-, Remove- and Clear- cmdlets get.
fn no_rows(warnings: &[&str]) -> Value {
    envelope(json!([]), None, warnings)
}

/// A mock server that answers `expected.cmdlet` (matched by `X-CmdletName`) with `answer`,
/// exactly once.
async fn serve(expected: &Expected, answer: Value) -> MockServer {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .and(header_is("X-CmdletName", expected.cmdlet))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .named(expected.cmdlet)
        .mount(&server)
        .await;
    server
}

/// The one request received is exactly what `expected` describes.
async fn check_request(server: &MockServer, expected: &Expected) {
    server.verify().await;
    let received = server.received_requests().await.expect("recording on");
    assert_eq!(received.len(), 1, "{}: one request", expected.cmdlet);
    let req = &received[0];
    let body: Value = serde_json::from_slice(&req.body).expect("JSON body");
    assert_eq!(
        body,
        json!({"CmdletInput": {"CmdletName": expected.cmdlet, "Parameters": expected.parameters}}),
        "{}: request body",
        expected.cmdlet
    );
    assert_eq!(
        header(req, "x-cmdletname").as_deref(),
        Some(expected.cmdlet)
    );
    assert_eq!(
        header(req, "x-anchormailbox").as_deref(),
        Some(expected.anchor.as_str()),
        "{}: X-AnchorMailbox",
        expected.cmdlet
    );
    assert_eq!(
        header(req, "parameter-based-routing").as_deref(),
        expected.parameter_based.then_some("true"),
        "{}: parameter-based-routing",
        expected.cmdlet
    );
    let select = req
        .url
        .query_pairs()
        .find(|(k, _)| k == "$select")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        select.as_deref(),
        expected.select,
        "{}: $select",
        expected.cmdlet
    );
    assert_eq!(
        header(req, "content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        header(req, "authorization"),
        Some(format!("Bearer {SECRET}"))
    );
}

fn device() -> MobileDeviceIdentity {
    MobileDeviceIdentity::new("alice\\ExchangeActiveSyncDevices\\iPhone§B4F3A9C2D1E0").unwrap()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

// ---- Get-MobileDevice ------------------------------------------------------------------------

#[tokio::test]
async fn get_mobile_device() {
    let expected = Expected::new(
        "Get-MobileDevice",
        json!({
            "Mailbox": "alice@contoso.com",
            "ActiveSync": true,
            "Filter": "DeviceAccessState -eq 'Allowed'",
            "ResultSize": "Unlimited"
        }),
    )
    .routed_to("SMTP:alice@contoso.com");
    let server = serve(&expected, fixture("get-mobile-device")).await;
    let listing = client(&server)
        .get_mobile_device(
            GetMobileDevice::for_mailbox(MailboxIdentity::new("alice@contoso.com").unwrap())
                .active_sync()
                .filter(Filter::eq("DeviceAccessState", DeviceAccessState::Allowed)),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;

    assert_eq!(listing.items.len(), 2);
    let d = &listing.items[0];
    assert_eq!(d.device_id.as_deref(), Some("B4F3A9C2D1E0"));
    assert_eq!(d.device_access_state, Some(DeviceAccessState::Allowed));
    assert_eq!(d.client_type, Some(ClientType::Eas));
    assert_eq!(d.is_compliant, Some(true), "\"True\" decodes leniently");
    assert_eq!(d.user_display_name.as_deref(), Some("Ælfwine Ó Briain"));
    assert_eq!(d.first_sync_time, Some(utc(2024, 3, 11, 9, 14, 2)));
    assert_eq!(
        d.guid,
        Some(Uuid::parse_str("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60").unwrap())
    );
    assert_eq!(
        listing.items[1].device_access_state,
        Some(DeviceAccessState::Quarantined)
    );
    assert_eq!(
        listing
            .warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect::<Vec<_>>(),
        ["Device partnership list may be incomplete."]
    );
}

#[tokio::test]
async fn get_mobile_device_statistics() {
    let expected = Expected::new(
        "Get-MobileDeviceStatistics",
        json!({"Mailbox": "alice@contoso.com", "ShowRecoveryPassword": true}),
    )
    .routed_to("SMTP:alice@contoso.com");
    let server = serve(&expected, fixture("get-mobile-device-statistics")).await;
    let listing = client(&server)
        .get_mobile_device_statistics(
            GetMobileDeviceStatistics::for_mailbox(
                MailboxIdentity::new("alice@contoso.com").unwrap(),
            )
            .show_recovery_password(),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;

    assert_eq!(listing.items.len(), 1);
    let s = &listing.items[0];
    assert_eq!(
        s.status,
        Some(DeviceRemoteWipeStatus::AccountOnlyDeviceWipeSucceeded)
    );
    assert_eq!(s.device_id.as_deref(), Some("B4F3A9C2D1E0"));
    assert_eq!(
        s.account_only_device_wipe_request_time,
        Some(utc(2024, 4, 11, 9, 59, 0))
    );
    assert_eq!(
        s.account_only_device_wipe_ack_time,
        Some(utc(2024, 4, 11, 10, 1, 0))
    );
    assert_eq!(s.last_ping_heartbeat, Some(540));
    assert_eq!(s.number_of_folders_synced, Some(12));
    assert_eq!(
        s.last_account_only_device_wipe_requestor.as_deref(),
        Some("admin@contoso.com")
    );
    assert!(listing.warnings.is_empty());
}

#[tokio::test]
async fn get_mobile_device_statistics_by_guid_mailbox_routes_with_tenant() {
    let guid = "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60";
    let expected = Expected::new("Get-MobileDeviceStatistics", json!({"Mailbox": guid}))
        .routed_to(format!("MBX:{guid}@{TENANT}"));
    let server = serve(&expected, fixture("get-mobile-device-statistics")).await;
    let listing = client(&server)
        .get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(
            MailboxIdentity::new(guid).unwrap(),
        ))
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert_eq!(listing.items.len(), 1);
}

#[tokio::test]
async fn get_mobile_device_statistics_by_identity_is_not_routed() {
    let expected = Expected::new(
        "Get-MobileDeviceStatistics",
        json!({"Identity": "alice\\ExchangeActiveSyncDevices\\iPhone§B4F3A9C2D1E0"}),
    )
    .select("Identity,Status");
    let server = serve(&expected, fixture("get-mobile-device-statistics")).await;
    let listing = client(&server)
        .get_mobile_device_statistics(
            GetMobileDeviceStatistics::for_device(device()).select(["Identity", "Status"]),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert_eq!(
        listing.items[0].identity.as_deref(),
        Some("alice\\ExchangeActiveSyncDevices\\iPhone§B4F3A9C2D1E0")
    );
}

// ---- mailbox policies --------------------------------------------------------------------------

#[tokio::test]
async fn get_mobile_device_mailbox_policy() {
    let expected = Expected::new(
        "Get-MobileDeviceMailboxPolicy",
        json!({"Identity": "Default"}),
    );
    let server = serve(&expected, fixture("get-mobile-device-mailbox-policy")).await;
    let listing = client(&server)
        .get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(PolicyIdentity::default_policy()),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert!(!listing.items.is_empty());
    let p = &listing.items[0];
    assert_eq!(p.password_enabled, Some(true));
    assert_eq!(
        p.allow_simple_password,
        Some(false),
        "\"False\" decodes leniently"
    );
    assert_eq!(p.device_policy_refresh_interval, Some(Unlimited::Unlimited));
    assert_eq!(
        p.max_attachment_size
            .as_ref()
            .and_then(|s| s.limit())
            .map(|s| s.bytes()),
        Some(36_700_160)
    );
}

#[tokio::test]
async fn new_mobile_device_mailbox_policy() {
    let expected = Expected::new(
        "New-MobileDeviceMailboxPolicy",
        json!({
            "Name": "Strict-Phones",
            "MaxAttachmentSize": "Unlimited",
            "MaxInactivityTimeLock": "00:05:00",
            "MaxPasswordFailedAttempts": 10,
            "MinPasswordLength": 6,
            "PasswordEnabled": true
        }),
    );
    let server = serve(&expected, fixture("new-mobile-device-mailbox-policy")).await;
    let created = client(&server)
        .new_mobile_device_mailbox_policy(
            NewMobileDeviceMailboxPolicy::new("Strict-Phones")
                .unwrap()
                .password_enabled(true)
                .min_password_length(6)
                .max_password_failed_attempts(Unlimited::Limited(10))
                .max_inactivity_time_lock(ExchangeTimeSpan::from_minutes(5))
                .max_attachment_size(Unlimited::Unlimited),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    let p = created.value.expect("the created policy");
    assert_eq!(p.name.as_deref(), Some("Strict-Phones"));
    assert_eq!(p.min_password_length, Some(6));
    assert_eq!(p.max_password_failed_attempts, Some(Unlimited::Limited(10)));
    assert_eq!(
        p.max_inactivity_time_lock,
        Some(Unlimited::Limited(ExchangeTimeSpan::from_minutes(5)))
    );
    assert_eq!(p.max_attachment_size, Some(Unlimited::Unlimited));
    assert_eq!(p.is_default, Some(false));
    assert_eq!(
        created.warnings[0].message,
        "The policy was created but no mailbox is assigned to it."
    );
}

#[tokio::test]
async fn set_mobile_device_mailbox_policy() {
    let expected = Expected::new(
        "Set-MobileDeviceMailboxPolicy",
        json!({
            "Identity": "Strict-Phones",
            "Name": "Strict Phones",
            "AllowBluetooth": "HandsfreeOnly",
            "ApprovedApplicationList": {
                "@odata.type": "#Exchange.GenericHashTable",
                "Add": ["Contoso.App"],
                "Remove": ["Old.App"]
            },
            "MinPasswordLength": null,
            "PasswordHistory": 5
        }),
    );
    let warning =
        "The command completed successfully but no settings of 'Strict-Phones' have been modified.";
    let server = serve(&expected, no_rows(&[warning])).await;
    let outcome = client(&server)
        .set_mobile_device_mailbox_policy(
            SetMobileDeviceMailboxPolicy::new(PolicyIdentity::new("Strict-Phones").unwrap())
                .name("Strict Phones")
                .allow_bluetooth(BluetoothType::HandsfreeOnly)
                .approved_application_list(ListChange::add_remove(["Contoso.App"], ["Old.App"]))
                .clear_min_password_length()
                .password_history(5),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert_eq!(outcome.warnings.len(), 1);
    assert_eq!(outcome.warnings[0].message, warning);
}

#[tokio::test]
async fn remove_mobile_device_mailbox_policy() {
    let expected = Expected::new(
        "Remove-MobileDeviceMailboxPolicy",
        json!({"Identity": "Old policy", "Force": true, "Confirm": false}),
    );
    let server = serve(&expected, no_rows(&[])).await;
    let outcome = client(&server)
        .remove_mobile_device_mailbox_policy(
            RemoveMobileDeviceMailboxPolicy::new(PolicyIdentity::new("Old policy").unwrap())
                .force(),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert!(outcome.warnings.is_empty());
    assert!(outcome.confirmation_message.is_none());
}

// ---- access rules and device classes -----------------------------------------------------------

#[tokio::test]
async fn get_active_sync_device_access_rule() {
    let expected =
        Expected::new("Get-ActiveSyncDeviceAccessRule", json!({})).select("Name,AccessLevel,Guid");
    let server = serve(&expected, fixture("get-activesync-device-access-rule")).await;
    let listing = client(&server)
        .get_active_sync_device_access_rule(GetActiveSyncDeviceAccessRule::new().select([
            "Name",
            "AccessLevel",
            "Guid",
        ]))
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert!(listing.items.len() >= 2);
    let r = &listing.items[0];
    assert_eq!(r.name.as_deref(), Some("ContosoPhone (DeviceModel)"));
    assert_eq!(
        r.characteristic,
        Some(DeviceAccessCharacteristic::DeviceModel)
    );
    assert_eq!(r.access_level, Some(DeviceAccessLevel::Block));
    assert_eq!(
        r.guid,
        Some(Uuid::parse_str("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee").unwrap())
    );
}

#[tokio::test]
async fn new_active_sync_device_access_rule() {
    let expected = Expected::new(
        "New-ActiveSyncDeviceAccessRule",
        json!({"QueryString": "ContosoPhone", "Characteristic": "DeviceModel", "AccessLevel": "Block"}),
    );
    let server = serve(&expected, fixture("new-activesync-device-access-rule")).await;
    let request = NewActiveSyncDeviceAccessRule::new(
        "ContosoPhone",
        DeviceAccessCharacteristic::DeviceModel,
        DeviceAccessLevel::Block,
    )
    .unwrap();
    let name = request.expected_identity().unwrap();
    let created = client(&server)
        .new_active_sync_device_access_rule(request)
        .await
        .unwrap();
    check_request(&server, &expected).await;
    let r = created.value.expect("the created rule");
    assert_eq!(r.name.as_deref(), Some(name.as_str()));
    assert_eq!(r.query_string.as_deref(), Some("ContosoPhone"));
    assert_eq!(r.access_level, Some(DeviceAccessLevel::Block));
}

#[tokio::test]
async fn set_active_sync_device_access_rule() {
    let expected = Expected::new(
        "Set-ActiveSyncDeviceAccessRule",
        json!({"Identity": "ContosoPhone (DeviceModel)", "AccessLevel": "Quarantine"}),
    );
    let server = serve(&expected, no_rows(&[])).await;
    let outcome = client(&server)
        .set_active_sync_device_access_rule(SetActiveSyncDeviceAccessRule::new(
            AccessRuleIdentity::new("ContosoPhone (DeviceModel)").unwrap(),
            DeviceAccessLevel::Quarantine,
        ))
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert!(outcome.warnings.is_empty());
}

#[tokio::test]
async fn remove_active_sync_device_access_rule() {
    let expected = Expected::new(
        "Remove-ActiveSyncDeviceAccessRule",
        json!({"Identity": "ContosoPhone (DeviceModel)", "Confirm": false}),
    );
    let server = serve(&expected, no_rows(&[])).await;
    let outcome = client(&server)
        .remove_active_sync_device_access_rule(RemoveActiveSyncDeviceAccessRule::new(
            AccessRuleIdentity::new("ContosoPhone (DeviceModel)").unwrap(),
        ))
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert!(outcome.warnings.is_empty());
}

#[tokio::test]
async fn get_active_sync_device_class() {
    let expected = Expected::new(
        "Get-ActiveSyncDeviceClass",
        json!({"Filter": "DeviceType -eq 'iPhone'", "SortBy": "DeviceModel"}),
    );
    let server = serve(&expected, fixture("get-activesync-device-class")).await;
    let listing = client(&server)
        .get_active_sync_device_class(
            GetActiveSyncDeviceClass::new()
                .filter(Filter::eq("DeviceType", "iPhone"))
                .sort_by("DeviceModel"),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert_eq!(listing.items.len(), 1);
    let k = &listing.items[0];
    assert_eq!(k.device_type.as_deref(), Some("iPhone"));
    assert_eq!(k.device_model.as_deref(), Some("iPhone15C2"));
    assert_eq!(k.last_update_time, Some(utc(2024, 4, 10, 8, 56, 22)));
}

// ---- recipients ----------------------------------------------------------------------------------

#[tokio::test]
async fn get_recipient() {
    let expected = Expected::new(
        "Get-Recipient",
        json!({
            "Filter": "HasActiveSyncDevicePartnership -eq 'True'",
            "RecipientTypeDetails": ["UserMailbox"],
            "ResultSize": 500
        }),
    );
    let server = serve(&expected, fixture("get-recipient")).await;
    let listing = client(&server)
        .get_recipient(
            GetRecipient::new()
                .filter(Filter::eq("HasActiveSyncDevicePartnership", true))
                .recipient_type_details([RecipientTypeDetails::UserMailbox])
                .result_size(500),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    let r = &listing.items[0];
    assert_eq!(r.primary_smtp_address.as_deref(), Some("alice@contoso.com"));
    assert_eq!(r.recipient_type, Some(RecipientType::UserMailbox));
    assert_eq!(
        r.email_addresses.as_ref().map(Vec::len),
        Some(3),
        "{:?}",
        r.email_addresses
    );
}

// ---- organization settings -----------------------------------------------------------------------

#[tokio::test]
async fn get_active_sync_organization_settings() {
    let expected = Expected::new("Get-ActiveSyncOrganizationSettings", json!({}));
    let server = serve(&expected, fixture("get-activesync-organization-settings")).await;
    let settings = client(&server)
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await
        .unwrap();
    check_request(&server, &expected).await;
    let s = settings.value;
    assert_eq!(s.default_access_level, Some(DeviceAccessLevel::Quarantine));
    assert_eq!(s.allow_access_for_unsupported_platform, Some(true));
    assert_eq!(
        s.admin_mail_recipients,
        Some(vec!["mdm-admins@contoso.com".to_string()])
    );
    assert!(settings.warnings.is_empty());
}

#[tokio::test]
async fn set_active_sync_organization_settings() {
    // An empty side of an add/remove change is left out of the hashtable.
    let expected = Expected::new(
        "Set-ActiveSyncOrganizationSettings",
        json!({
            "AdminMailRecipients": {
                "@odata.type": "#Exchange.GenericHashTable",
                "Add": ["mdm-admins@contoso.com"]
            },
            "DefaultAccessLevel": "Block",
            "UserMailInsert": null
        }),
    );
    let server = serve(&expected, no_rows(&[])).await;
    let outcome = client(&server)
        .set_active_sync_organization_settings(
            SetActiveSyncOrganizationSettings::new()
                .admin_mail_recipients(ListChange::add_remove(
                    ["mdm-admins@contoso.com"],
                    Vec::<String>::new(),
                ))
                .default_access_level(DeviceAccessLevel::Block)
                .clear_user_mail_insert(),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert!(outcome.warnings.is_empty());
}

// ---- device management ---------------------------------------------------------------------------

#[tokio::test]
async fn clear_mobile_device() {
    let expected = Expected::new(
        "Clear-MobileDevice",
        json!({
            "Identity": "alice\\ExchangeActiveSyncDevices\\iPhone§B4F3A9C2D1E0",
            "AccountOnly": true,
            "NotificationEmailAddresses": ["helpdesk@contoso.com", "not-an-address"],
            "Confirm": false
        }),
    );
    let warning =
        "The notification e-mail address 'not-an-address' isn't valid and will be ignored.";
    let server = serve(&expected, no_rows(&[warning])).await;
    let outcome = client(&server)
        .clear_mobile_device(
            ClearMobileDevice::account_only(device())
                .notify(["helpdesk@contoso.com", "not-an-address"]),
        )
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert_eq!(outcome.warnings.len(), 1);
    assert_eq!(outcome.warnings[0].message, warning);
    assert_eq!(
        outcome.warnings[0].cmdlet.as_deref(),
        Some("Clear-MobileDevice")
    );
}

#[tokio::test]
async fn clear_mobile_device_cancel() {
    let expected = Expected::new(
        "Clear-MobileDevice",
        json!({
            "Identity": "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60",
            "Cancel": true,
            "Confirm": false
        }),
    );
    let warning = "The wipe request for mobile device '5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60' can't be canceled because there's no pending wipe request.";
    let server = serve(&expected, no_rows(&[warning])).await;
    let outcome = client(&server)
        .clear_mobile_device(ClearMobileDevice::cancel(MobileDeviceIdentity::from_guid(
            Uuid::parse_str("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60").unwrap(),
        )))
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert_eq!(outcome.warnings[0].message, warning);
}

#[tokio::test]
async fn remove_mobile_device() {
    let expected = Expected::new(
        "Remove-MobileDevice",
        json!({
            "Identity": "alice\\ExchangeActiveSyncDevices\\iPhone§B4F3A9C2D1E0",
            "Confirm": false
        }),
    );
    let server = serve(&expected, no_rows(&[])).await;
    let outcome = client(&server)
        .remove_mobile_device(RemoveMobileDevice::new(device()))
        .await
        .unwrap();
    check_request(&server, &expected).await;
    assert!(outcome.warnings.is_empty());
}
