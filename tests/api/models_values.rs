//! Value types: identities (with `§` and non-ASCII names), OPATH escaping, and the
//! client-side validation of request parameters.

use exchange_activesync::cmdlets::*;
use exchange_activesync::models::*;
use exchange_activesync::types::*;
use exchange_activesync::{Cmdlet, Error};

fn invalid(e: Error) -> (Option<String>, String) {
    match e {
        Error::InvalidInput(i) => (i.parameter.clone(), i.message.clone()),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn device_identity_forms() {
    let id = MobileDeviceIdentity::new(
        "Zoë Ångström\\ExchangeActiveSyncDevices\\Android§android94732903",
    )
    .unwrap();
    assert_eq!(id.mailbox(), Some("Zoë Ångström"));
    assert_eq!(id.object_name(), Some("Android§android94732903"));
    assert_eq!(id.client_type(), Some(ClientType::Eas));
    assert_eq!(id.device_type(), Some("Android"));
    assert_eq!(id.device_id(), Some("android94732903"));
    assert_eq!(id.to_string().parse::<MobileDeviceIdentity>().unwrap(), id);

    let id = MobileDeviceIdentity::from_parts("bob@contoso.com", "iPhone", "ApplB4F3").unwrap();
    assert_eq!(
        id.as_str(),
        "bob@contoso.com\\ExchangeActiveSyncDevices\\iPhone§ApplB4F3"
    );

    let g = MobileDeviceIdentity::new(" 5C1F6A2E-0D4B-4A5E-9A0F-2B1D3C4E5F60 ").unwrap();
    assert!(g.guid().is_some());
    assert_eq!(g.as_str(), "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60");
    assert_eq!(g.mailbox(), None);

    for bad in [
        "",
        "   ",
        "alice\\Other\\iPhone§x",
        "alice\\*\\x",
        "*",
        "just-a-name",
    ] {
        assert!(MobileDeviceIdentity::new(bad).is_err(), "{bad:?}");
    }
    assert!(MobileDeviceIdentity::from_parts("alice", "", "x").is_err());
    let json: MobileDeviceIdentity =
        serde_json::from_str("\"a\\\\ExchangeActiveSyncDevices\\\\REST§Outlook§abc\"").unwrap();
    assert_eq!(json.client_type(), Some(ClientType::Rest));
}

#[test]
fn string_identities_refuse_blank() {
    assert!(PolicyIdentity::new(" ").is_err());
    assert!(MailboxIdentity::new("").is_err());
    assert!(RecipientIdentity::new("\t").is_err());
    assert!(AccessRuleIdentity::new("").is_err());
    assert_eq!(
        MailboxIdentity::new(" José@contoso.com ").unwrap().as_str(),
        "José@contoso.com"
    );
    assert!(
        MailboxIdentity::new("alice@contoso.com")
            .unwrap()
            .is_routable()
    );
    assert!(!MailboxIdentity::new("Alice Example").unwrap().is_routable());
    assert!(AccessRuleIdentity::for_rule(" ", &DeviceAccessCharacteristic::UserAgent).is_err());
    let e = serde_json::from_str::<PolicyIdentity>("\"  \"").unwrap_err();
    assert!(e.to_string().contains("empty"));
}

#[test]
fn opath_escaping_keeps_values_literal() {
    assert_eq!(
        Filter::eq("LastName", "O'Brien").to_string(),
        "LastName -eq 'O''Brien'"
    );
    let evil = "x' -or Name -like '*";
    let f = Filter::eq("DeviceType", evil);
    assert_eq!(f.to_string(), "DeviceType -eq 'x'' -or Name -like ''*'");
    // Curly quotes are quote characters in PowerShell too.
    assert_eq!(
        Filter::eq("N", "a\u{2019}b").to_string(),
        "N -eq 'a\u{2019}\u{2019}b'"
    );
    let f = Filter::not(Filter::eq("IsDisabled", true)).and(
        Filter::ne("DeviceModel", FilterValue::Null).or(Filter::gt("NumberOfFoldersSynced", 3)),
    );
    assert_eq!(
        f.to_string(),
        "(-not (IsDisabled -eq $true)) -and ((DeviceModel -ne $null) -or (NumberOfFoldersSynced -gt 3))"
    );
    assert_eq!(
        Filter::eq("DeviceAccessState", DeviceAccessState::Blocked).to_string(),
        "DeviceAccessState -eq 'Blocked'"
    );
    assert_eq!(
        Filter::raw("Name -like 'a*'").to_string(),
        "Name -like 'a*'"
    );
}

#[test]
fn open_enums_are_case_insensitive_and_keep_unknowns() {
    assert_eq!(
        "quarantined".parse::<DeviceAccessState>().unwrap(),
        DeviceAccessState::Quarantined
    );
    assert_eq!(ClientType::from("eas").as_str(), "EAS");
    let o = DeviceRemoteWipeStatus::from("SomeFutureState");
    assert_eq!(o.as_str(), "SomeFutureState");
    assert!(!o.is_known());
    assert_eq!(serde_json::to_string(&o).unwrap(), "\"SomeFutureState\"");
    let v: DeviceRemoteWipeStatus =
        serde_json::from_str("\"AccountOnlyDeviceWipePending\"").unwrap();
    assert_eq!(v, DeviceRemoteWipeStatus::AccountOnlyDeviceWipePending);
    assert_eq!(TenantAdminPreference::KNOWN.len(), 0);
    assert_eq!(
        RecipientTypeDetails::RoomList.recipient_type(),
        Some(RecipientType::MailUniversalDistributionGroup)
    );
}

fn policy() -> SetMobileDeviceMailboxPolicy {
    SetMobileDeviceMailboxPolicy::new(PolicyIdentity::default_policy())
}

fn expect_range(
    r: exchange_activesync::Result<exchange_activesync::protocol::Invocation>,
    param: &str,
    range: &str,
) {
    let (p, msg) = invalid(r.unwrap_err());
    assert_eq!(p.as_deref(), Some(param));
    assert!(msg.contains(range), "{param}: {msg}");
}

#[test]
fn policy_validation_names_parameter_and_range() {
    expect_range(
        policy().min_password_length(17).invocation(),
        "MinPasswordLength",
        "1 to 16",
    );
    expect_range(
        policy().min_password_length(0).invocation(),
        "MinPasswordLength",
        "1 to 16",
    );
    expect_range(
        policy().max_password_failed_attempts(3u32).invocation(),
        "MaxPasswordFailedAttempts",
        "4 to 16 or Unlimited",
    );
    expect_range(
        policy().password_history(51).invocation(),
        "PasswordHistory",
        "0 to 50",
    );
    expect_range(
        policy().min_password_complex_characters(5).invocation(),
        "MinPasswordComplexCharacters",
        "1 to 4",
    );
    expect_range(
        policy()
            .max_inactivity_time_lock(ExchangeTimeSpan::from_secs(30))
            .invocation(),
        "MaxInactivityTimeLock",
        "00:01:00 to 01:00:00",
    );
    expect_range(
        policy()
            .max_inactivity_time_lock(ExchangeTimeSpan::from_minutes(61))
            .invocation(),
        "MaxInactivityTimeLock",
        "00:01:00 to 01:00:00",
    );
    expect_range(
        policy()
            .password_expiration(ExchangeTimeSpan::from_days(731))
            .invocation(),
        "PasswordExpiration",
        "1 to 730 days",
    );
    expect_range(
        policy()
            .max_attachment_size(ByteSize::from_bytes(2_147_482_625))
            .invocation(),
        "MaxAttachmentSize",
        "2147482624",
    );
    expect_range(
        policy()
            .device_policy_refresh_interval("00:00:01.5".parse::<ExchangeTimeSpan>().unwrap())
            .invocation(),
        "DevicePolicyRefreshInterval",
        "whole seconds",
    );
    expect_range(
        policy()
            .unapproved_in_rom_application_list(ListChange::replace([" padded"]))
            .invocation(),
        "UnapprovedInROMApplicationList",
        "leading or trailing",
    );
    // Boundaries are accepted.
    policy()
        .min_password_length(16)
        .max_password_failed_attempts(4u32)
        .password_history(50)
        .min_password_complex_characters(4)
        .max_inactivity_time_lock(ExchangeTimeSpan::from_hours(1))
        .password_expiration(ExchangeTimeSpan::from_days(730))
        .max_attachment_size(ByteSize::from_bytes(2_147_482_624))
        .invocation()
        .unwrap();
    policy()
        .max_password_failed_attempts(Unlimited::Unlimited)
        .invocation()
        .unwrap();
    // New- validates too, and needs a name.
    assert!(NewMobileDeviceMailboxPolicy::new(" ").is_err());
    let (p, _) = invalid(
        NewMobileDeviceMailboxPolicy::new("P")
            .unwrap()
            .password_history(99)
            .invocation()
            .unwrap_err(),
    );
    assert_eq!(p.as_deref(), Some("PasswordHistory"));
}

#[test]
fn mail_inserts_are_limited_to_256_chars() {
    let ok = "é".repeat(256);
    SetActiveSyncOrganizationSettings::new()
        .user_mail_insert(ok)
        .invocation()
        .unwrap();
    expect_range(
        SetActiveSyncOrganizationSettings::new()
            .user_mail_insert("x".repeat(257))
            .invocation(),
        "UserMailInsert",
        "0 to 256",
    );
    expect_range(
        SetActiveSyncOrganizationSettings::new()
            .ota_notification_mail_insert("x".repeat(300))
            .invocation(),
        "OtaNotificationMailInsert",
        "0 to 256",
    );
}

#[test]
fn names_and_kinds() {
    assert_eq!(ClearMobileDevice::INFO.name, "Clear-MobileDevice");
    assert_eq!(
        ClearMobileDevice::INFO.kind,
        exchange_activesync::protocol::CmdletKind::Destructive
    );
    assert_eq!(GetRecipient::INFO.name, "Get-Recipient");
    assert_eq!(
        SetActiveSyncDeviceAccessRule::INFO.kind,
        exchange_activesync::protocol::CmdletKind::Write
    );
    let c = ClearMobileDevice::cancel(
        MobileDeviceIdentity::new("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60").unwrap(),
    );
    assert_eq!(c.intent(), WipeIntent::Cancel);
    assert!(
        PreparedCmdlet::new(&c)
            .unwrap()
            .invocation()
            .parameters()
            .contains("Confirm")
    );
}
