//! Decoding realistic responses (full envelopes with annotations, malformed annotation keys,
//! unknown enum values and properties, nulls, sizes, Unlimited, time spans, both date forms)
//! into the typed models, through the typed client methods; plus model round trips.

use chrono::{TimeZone, Utc};
use exchange_activesync::ExchangeClientExt;
use exchange_activesync::cmdlets::*;
use exchange_activesync::models::*;
use exchange_activesync::protocol::{Invocation, NextLink, RawPage, decode_page};
use exchange_activesync::types::*;
use exchange_activesync::{ExchangeClient, Result, async_trait};
use serde_json::json;
use uuid::Uuid;

/// Serves one fixture body for every call.
struct Fixture(&'static str);

#[async_trait]
impl ExchangeClient for Fixture {
    async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
        decode_page(inv.cmdlet(), self.0.as_bytes())
    }
}

fn roundtrip<T>(v: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(v).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, v, "round trip through {text}");
}

#[tokio::test]
async fn mobile_device() {
    let c = Fixture(include_str!("../fixtures/responses/get-mobile-device.json"));
    let l = c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
    assert_eq!(l.items.len(), 2);
    assert_eq!(l.warnings.len(), 1);
    let d = &l.items[0];
    assert_eq!(d.device_id.as_deref(), Some("B4F3A9C2D1E0"));
    assert_eq!(d.friendly_name.as_deref(), Some(""));
    assert_eq!(d.device_imei, None);
    assert_eq!(d.user_display_name.as_deref(), Some("Ælfwine Ó Briain"));
    assert_eq!(
        d.first_sync_time,
        Some(Utc.with_ymd_and_hms(2024, 3, 11, 9, 14, 2).unwrap())
    );
    assert_eq!(
        d.when_changed_utc,
        Some(Utc.with_ymd_and_hms(2024, 4, 10, 8, 56, 22).unwrap())
    );
    assert_eq!(
        d.when_created_utc.unwrap().timestamp_subsec_nanos(),
        232_050_500
    );
    assert_eq!(d.device_access_state, Some(DeviceAccessState::Allowed));
    assert_eq!(
        d.device_access_state_reason,
        Some(DeviceAccessStateReason::Other(
            "ConditionalAccessPolicy".into()
        ))
    );
    assert_eq!(d.client_type, Some(ClientType::Eas));
    assert_eq!(d.is_compliant, Some(true), "\"True\" string accepted");
    assert_eq!(d.is_managed, Some(false));
    assert_eq!(
        d.guid,
        Some(Uuid::parse_str("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60").unwrap())
    );
    assert_eq!(
        d.object_class.as_deref(),
        Some(&["top".to_string(), "msExchActiveSyncDevice".to_string()][..])
    );
    assert_eq!(d.object_state, Some(ObjectState::Unchanged));
    // Unknown property kept, annotations (well-formed and malformed) dropped.
    assert_eq!(
        d.extra.get("IntuneDeviceId"),
        Some(&json!("d1e2f3a4-0000-0000-0000-000000000000"))
    );
    assert_eq!(d.extra.len(), 1, "{:?}", d.extra);
    // The identity parses into its parts.
    let id = MobileDeviceIdentity::new(d.identity.as_deref().unwrap()).unwrap();
    assert_eq!(id.mailbox(), Some("alice"));
    assert_eq!(id.device_type(), Some("iPhone"));
    assert_eq!(id.device_id(), Some("B4F3A9C2D1E0"));

    let o = &l.items[1];
    assert_eq!(o.client_type, Some(ClientType::Rest));
    assert_eq!(o.first_sync_time, None);
    assert_eq!(
        o.object_state,
        Some(ObjectState::Other("SomethingNew".into()))
    );
    let id = MobileDeviceIdentity::new(o.identity.as_deref().unwrap()).unwrap();
    assert_eq!(id.client_type(), Some(ClientType::Rest));
    assert_eq!(id.device_type(), Some("Outlook"));
    assert_eq!(id.device_id(), Some("5eec4e941e0748a264512fd83770d5ac"));

    for d in &l.items {
        roundtrip(d);
    }
}

#[tokio::test]
async fn mobile_device_mailbox_policy() {
    let c = Fixture(include_str!(
        "../fixtures/responses/get-mobile-device-mailbox-policy.json"
    ));
    let l = c
        .get_mobile_device_mailbox_policy(GetMobileDeviceMailboxPolicy::new())
        .await
        .unwrap();
    let p = &l.items[0];
    assert_eq!(p.device_policy_refresh_interval, Some(Unlimited::Unlimited));
    assert_eq!(
        p.max_attachment_size,
        Some(Unlimited::Limited(ByteSize::from_bytes(36_700_160)))
    );
    assert_eq!(p.min_password_length, None);
    assert_eq!(
        p.max_inactivity_time_lock,
        Some(Unlimited::Limited(ExchangeTimeSpan::from_minutes(15)))
    );
    assert_eq!(p.max_password_failed_attempts, Some(Unlimited::Limited(8)));
    assert_eq!(
        p.password_expiration,
        Some(Unlimited::Limited(ExchangeTimeSpan::from_days(90)))
    );
    assert_eq!(p.password_history, Some(3));
    assert_eq!(p.min_password_complex_characters, Some(1), "numeric string");
    assert_eq!(p.allow_simple_password, Some(false), "\"False\" string");
    assert_eq!(p.max_email_body_truncation_size, Some(Unlimited::Unlimited));
    assert_eq!(
        p.max_email_html_body_truncation_size,
        Some(Unlimited::Limited(512)),
        "JSON number"
    );
    assert_eq!(p.allow_bluetooth, Some(BluetoothType::Allow));
    assert_eq!(p.max_email_age_filter, Some(EmailAgeFilterType::OneMonth));
    assert_eq!(
        p.require_signed_smime_algorithm,
        Some(SignedSMIMEAlgorithmType::Sha1)
    );
    assert_eq!(
        p.require_encryption_smime_algorithm,
        Some(EncryptionSMIMEAlgorithmType::TripleDes)
    );
    assert_eq!(
        p.mobile_ota_update_mode,
        Some(MobileOTAUpdateModeType::MinorVersionUpdates)
    );
    assert_eq!(p.unapproved_in_rom_application_list, Some(vec![]));
    assert_eq!(p.is_default, Some(true));
    assert_eq!(p.extra.get("MailboxPolicyFlags"), Some(&json!(2)));
    assert_eq!(p.extra.len(), 1);
    roundtrip(p);
}

#[tokio::test]
async fn organization_settings() {
    let c = Fixture(include_str!(
        "../fixtures/responses/get-activesync-organization-settings.json"
    ));
    let r = c
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await
        .unwrap();
    let s = &r.value;
    assert_eq!(s.default_access_level, Some(DeviceAccessLevel::Quarantine));
    assert_eq!(
        s.tenant_admin_preference,
        Some(TenantAdminPreference::Other("IntuneOnly".into()))
    );
    assert_eq!(s.user_mail_insert.as_deref(), Some(""));
    assert_eq!(s.ota_notification_mail_insert, None);
    assert_eq!(s.device_filtering, None);
    assert_eq!(s.other_well_known_objects, Some(json!([])));
    assert_eq!(
        s.admin_mail_recipients,
        Some(vec!["mdm-admins@contoso.com".to_string()])
    );
    assert_eq!(s.name.as_deref(), Some("Mobile Mailbox Settings"));
    assert_eq!(s.is_intune_managed, Some(true));
    assert_eq!(
        s.when_changed, s.when_changed_utc,
        "+00:00 and Z forms agree"
    );
    assert!(s.extra.is_empty());
    roundtrip(s);
}

#[tokio::test]
async fn statistics_use_capital_device_id() {
    let c = Fixture(include_str!(
        "../fixtures/responses/get-mobile-device-statistics.json"
    ));
    let l = c
        .get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(
            MailboxIdentity::new("alice@contoso.com").unwrap(),
        ))
        .await
        .unwrap();
    let s = &l.items[0];
    assert_eq!(s.device_id.as_deref(), Some("B4F3A9C2D1E0"));
    assert_eq!(
        s.extra.get("DeviceId"),
        Some(&json!("should-land-in-extra"))
    );
    assert_eq!(
        s.status,
        Some(DeviceRemoteWipeStatus::AccountOnlyDeviceWipeSucceeded)
    );
    assert_eq!(s.last_ping_heartbeat, Some(540));
    assert_eq!(
        s.last_sync_attempt_time.unwrap().timestamp_subsec_nanos(),
        123_456_700
    );
    assert_eq!(s.device_wipe_sent_time, None);
    assert!(s.account_only_device_wipe_ack_time.is_some());
    assert_eq!(
        s.device_policy_application_status,
        Some(DevicePolicyApplicationStatus::AppliedInFull)
    );
    assert_eq!(s.number_of_folders_synced, Some(12));
    assert_eq!(
        s.last_account_only_device_wipe_requestor.as_deref(),
        Some("admin@contoso.com")
    );
    roundtrip(s);
}

#[tokio::test]
async fn access_rules_and_device_classes() {
    let c = Fixture(include_str!(
        "../fixtures/responses/get-activesync-device-access-rule.json"
    ));
    let l = c
        .get_active_sync_device_access_rule(GetActiveSyncDeviceAccessRule::new())
        .await
        .unwrap();
    assert_eq!(l.items[0].access_level, Some(DeviceAccessLevel::Block));
    assert_eq!(
        l.items[0].characteristic,
        Some(DeviceAccessCharacteristic::DeviceModel)
    );
    assert_eq!(
        l.items[1].characteristic,
        Some(DeviceAccessCharacteristic::Other("DeviceOSFamily".into()))
    );
    assert_eq!(l.items[0].object_state, Some(ObjectState::New));
    roundtrip(&l.items[1]);

    let c = Fixture(include_str!(
        "../fixtures/responses/get-activesync-device-class.json"
    ));
    let l = c
        .get_active_sync_device_class(GetActiveSyncDeviceClass::new())
        .await
        .unwrap();
    let k = &l.items[0];
    assert_eq!(k.name.as_deref(), Some("iPhone§iPhone15C2"));
    assert_eq!(
        k.last_update_time,
        Some(Utc.with_ymd_and_hms(2024, 4, 10, 8, 56, 22).unwrap())
    );
    roundtrip(k);
}

#[tokio::test]
async fn recipients() {
    let c = Fixture(include_str!("../fixtures/responses/get-recipient.json"));
    let l = c.get_recipient(GetRecipient::new()).await.unwrap();
    let r = &l.items[0];
    assert_eq!(r.recipient_type, Some(RecipientType::UserMailbox));
    assert_eq!(
        r.recipient_type_details,
        Some(RecipientTypeDetails::UserMailbox)
    );
    assert_eq!(r.email_addresses.as_ref().map(Vec::len), Some(3));
    assert_eq!(r.active_sync_mailbox_policy, None);
    assert_eq!(r.has_active_sync_device_partnership, Some(true));
    assert_eq!(r.archive_guid, Some(Uuid::nil()));
    assert_eq!(r.extra.get("RecipientLimits"), Some(&json!("500")));
    assert_eq!(
        l.items[1].recipient_type_details,
        Some(RecipientTypeDetails::Other("SchedulingMailboxV2".into()))
    );
    roundtrip(r);
}

#[tokio::test]
async fn created_objects_come_back_with_warnings() {
    let c = Fixture(include_str!(
        "../fixtures/responses/new-mobile-device-mailbox-policy.json"
    ));
    let r = c
        .new_mobile_device_mailbox_policy(
            NewMobileDeviceMailboxPolicy::new("Strict-Phones").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.warnings.len(), 1);
    let p = r.value.unwrap();
    assert_eq!(p.min_password_length, Some(6));
    assert_eq!(p.max_attachment_size, Some(Unlimited::Unlimited));
    assert_eq!(p.max_password_failed_attempts, Some(Unlimited::Limited(10)));

    let c = Fixture(include_str!(
        "../fixtures/responses/new-activesync-device-access-rule.json"
    ));
    let r = c
        .new_active_sync_device_access_rule(
            NewActiveSyncDeviceAccessRule::new(
                "ContosoPhone",
                DeviceAccessCharacteristic::DeviceModel,
                DeviceAccessLevel::Block,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        r.value.unwrap().identity.as_deref(),
        Some("ContosoPhone (DeviceModel)")
    );
}

#[test]
fn wrong_json_types_are_errors_not_panics() {
    for bad in [
        r#"{"FirstSyncTime": {"x": 1}}"#,
        r#"{"FirstSyncTime": "yesterday"}"#,
        r#"{"IsManaged": "perhaps"}"#,
        r#"{"Guid": 42}"#,
        r#"{"ObjectClass": {"a": 1}}"#,
        r#"[1, 2]"#,
    ] {
        assert!(serde_json::from_str::<MobileDevice>(bad).is_err(), "{bad}");
    }
    for bad in [
        r#"{"PasswordHistory": "many"}"#,
        r#"{"PasswordHistory": 1.5}"#,
        r#"{"MaxAttachmentSize": "lots"}"#,
        r#"{"MaxInactivityTimeLock": true}"#,
        r#"{"MaxPasswordFailedAttempts": "-3"}"#,
    ] {
        assert!(
            serde_json::from_str::<MobileDeviceMailboxPolicy>(bad).is_err(),
            "{bad}"
        );
    }
    // Nulls anywhere are fine.
    let p: MobileDeviceMailboxPolicy = serde_json::from_str(
        r#"{"MaxAttachmentSize": null, "AllowBluetooth": null, "ApprovedApplicationList": null, "IsDefault": null}"#,
    )
    .unwrap();
    assert_eq!(p, MobileDeviceMailboxPolicy::default());
}

#[test]
fn models_decode_from_a_reader_with_owned_keys() {
    // from_reader cannot borrow keys: the Cow path must still work.
    let text = include_str!("../fixtures/responses/get-mobile-device.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let row = serde_json::to_vec(&v["value"][0]).unwrap();
    let d: MobileDevice = serde_json::from_reader(&row[..]).unwrap();
    assert_eq!(d.device_type.as_deref(), Some("iPhone"));
    assert_eq!(d.extra.len(), 1);
    // Escaped keys are owned even with from_str.
    let d: MobileDevice = serde_json::from_str(r#"{"Device\u0049d": "X", "Odd\"Key": 1}"#).unwrap();
    assert_eq!(d.device_id.as_deref(), Some("X"));
    assert!(d.extra.contains_key("Odd\"Key"));
}
