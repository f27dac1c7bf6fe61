//! The test helpers as a downstream crate sees them (public API only): hand-made devices
//! and mailboxes in the fake tenant, editing them in place, the tenant's clock, and
//! building every response model without `..Default::default()`.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use exchange_activesync::ExchangeClientExt;
use exchange_activesync::cmdlets::{GetCasMailbox, GetMobileDevice, GetMobileDeviceStatistics};
use exchange_activesync::connector::{StaleCriteria, plan_stale_cleanup};
use exchange_activesync::models::{
    ActiveSyncDeviceAccessRule, ActiveSyncDeviceClass, ActiveSyncOrganizationSettings, CasMailbox,
    ClientType, DeviceAccessCharacteristic, DeviceAccessLevel, DeviceAccessState,
    DeviceRemoteWipeStatus, MobileDevice, MobileDeviceMailboxPolicy, MobileDeviceStatistics,
    Recipient, RecipientTypeDetails,
};
use exchange_activesync::types::MobileDeviceIdentity;
use exchange_activesync_testkit::{
    Device, FakeExchangeClient, Mailbox, Responder, Tenant, TenantBuilder,
};
use uuid::Uuid;

#[test]
fn a_device_that_last_synced_200_days_ago_in_two_lines() {
    let mut tenant = TenantBuilder::new().seed(5).mailboxes(3).devices(4).build();
    let guid = tenant.create_device(
        Device::builder("alice")
            .device_type("Android")
            .device_model("Pixel 8")
            .device_os(Some("Android 14.0.0"))
            .user_agent(Some("Android-Mail/2024.05.12"))
            .first_synced_ago(Duration::days(400))
            .last_synced_ago(Duration::days(200))
            .access_state("Quarantined", "DeviceRule"),
    );
    let now = tenant.now();
    let d = tenant.device(&guid).expect("added");
    assert_eq!(d.device_type, "Android");
    assert_eq!(d.device_model, "Pixel 8");
    assert_eq!(d.device_os.as_deref(), Some("Android 14.0.0"));
    assert_eq!(
        d.device_user_agent.as_deref(),
        Some("Android-Mail/2024.05.12")
    );
    assert_eq!(d.first_sync_time, Some(now - Duration::days(400)));
    assert_eq!(d.last_success_sync, Some(now - Duration::days(200)));
    assert_eq!(d.access_state, "Quarantined");
    assert_eq!(tenant.device_count(), 5);
    // The owner did not exist: it was created, and the device is found by its identity.
    let alice = tenant.mailbox("alice").expect("owner created");
    assert_eq!(
        alice.primary_smtp_address,
        format!("alice@{}", tenant.domain())
    );
    let identity = tenant.device_identity(d);
    assert!(
        identity.starts_with("alice\\ExchangeActiveSyncDevices\\Android§"),
        "{identity}"
    );
    assert_eq!(tenant.find_device(&identity).map(|d| d.guid), Some(guid));
}

#[test]
fn never_synced_device_and_chosen_guid_through_the_builder() {
    let created = Utc.with_ymd_and_hms(2023, 1, 2, 3, 4, 5).unwrap();
    let tenant = TenantBuilder::new()
        .with_mailbox(
            Mailbox::builder("bob")
                .display_name("Bob Øberg")
                .recipient_type_details("SharedMailbox")
                .active_sync_enabled(false),
        )
        .with_device(
            Device::builder("bob")
                .guid(Uuid::from_u128(9))
                .device_id("DEV9")
                .never_synced()
                .created(created),
        )
        .build();
    let d = tenant.device(&Uuid::from_u128(9)).expect("device");
    assert_eq!(d.device_id, "DEV9");
    assert_eq!((d.first_sync_time, d.last_success_sync), (None, None));
    assert_eq!(d.when_created, created);
    let bob = tenant.mailbox("Bob Øberg").expect("by display name");
    assert_eq!(bob.recipient_type_details, "SharedMailbox");
    assert!(!bob.cas.active_sync_enabled);
    assert_eq!(tenant.mailboxes()[d.mailbox].name, "bob");
}

#[test]
fn device_mut_edits_in_place_and_keeps_identities_right() {
    let mut tenant = TenantBuilder::new().seed(2).mailboxes(2).devices(3).build();
    let guid = tenant.create_device(Device::builder("carol").device_id("OLD"));
    let now = tenant.now();
    tenant.device_mut(&guid).expect("device").last_success_sync = Some(now - Duration::days(200));
    assert_eq!(
        tenant.device(&guid).unwrap().last_success_sync,
        Some(now - Duration::days(200))
    );
    // Even the identity parts may change: the old identity no longer resolves, the new one does.
    tenant.device_mut(&guid).expect("device").device_id = "NEW".into();
    assert!(
        tenant
            .find_device("carol\\ExchangeActiveSyncDevices\\iPhone§OLD")
            .is_none()
    );
    assert_eq!(
        tenant
            .find_device("carol\\ExchangeActiveSyncDevices\\iPhone§NEW")
            .map(|d| d.guid),
        Some(guid)
    );
    assert!(tenant.device_mut(&Uuid::from_u128(1)).is_none());
    assert_eq!(tenant.device_count(), 4);
}

#[test]
fn mailbox_mut_renames_and_the_devices_follow() {
    let mut tenant = TenantBuilder::new().build();
    let guid = tenant.create_device(Device::builder("dave").device_id("D1"));
    {
        let mut m = tenant.mailbox_mut("dave").expect("mailbox");
        m.name = "david".into();
        m.primary_smtp_address = "david@contoso.com".into();
        m.cas.blocked_device_ids = vec!["D1".into()];
    }
    assert!(tenant.mailbox("david@contoso.com").is_some());
    assert_eq!(
        tenant.device_identity(tenant.device(&guid).unwrap()),
        "david\\ExchangeActiveSyncDevices\\iPhone§D1"
    );
    assert_eq!(
        tenant
            .find_device("david\\ExchangeActiveSyncDevices\\iPhone§D1")
            .map(|d| d.guid),
        Some(guid)
    );
    assert!(tenant.mailbox_mut("nobody").is_none());
}

#[tokio::test]
async fn the_fake_serves_hand_made_and_edited_devices() {
    let fake =
        FakeExchangeClient::new(TenantBuilder::new().seed(3).mailboxes(2).devices(2).build());
    let guid = fake.tenant_mut().create_device(
        Device::builder("erin")
            .device_id("E1")
            .last_synced_ago(Duration::days(200)),
    );
    assert!(fake.edit_device(&guid, |d| d.device_model = "iPhone16C1".into()));
    assert!(!fake.edit_device(&Uuid::from_u128(3), |_| {}));
    let devices = fake.call(GetMobileDevice::new()).await.unwrap().items;
    let d = devices
        .iter()
        .find(|d| d.guid == Some(guid))
        .expect("served");
    assert_eq!(d.device_model.as_deref(), Some("iPhone16C1"));
    let identity = MobileDeviceIdentity::new(d.identity.as_deref().unwrap()).unwrap();
    let stats = fake
        .call(GetMobileDeviceStatistics::new(Some(identity), None).unwrap())
        .await
        .unwrap()
        .items;
    let now = fake.tenant().now();
    assert_eq!(stats[0].last_success_sync, Some(now - Duration::days(200)));
    let cas = fake.call(GetCasMailbox::new()).await.unwrap().items;
    assert_eq!(cas.len(), 3);
}

#[test]
fn the_default_clock_is_the_documented_instant_and_now_moves_every_date() {
    let default = TenantBuilder::new()
        .seed(4)
        .mailboxes(5)
        .devices(30)
        .build();
    assert_eq!(
        default.now(),
        Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(default.now(), Tenant::DEFAULT_NOW);
    let later = Tenant::DEFAULT_NOW + Duration::days(1000);
    let moved = TenantBuilder::new()
        .seed(4)
        .mailboxes(5)
        .devices(30)
        .now(later)
        .build();
    assert_eq!(moved.now(), later);
    // Same seed, same tenant, every date shifted by the same amount.
    for (a, b) in default.devices().zip(moved.devices()) {
        assert_eq!(a.guid, b.guid);
        assert_eq!(
            a.last_success_sync.map(|t| t + Duration::days(1000)),
            b.last_success_sync
        );
        assert_eq!(a.when_created + Duration::days(1000), b.when_created);
    }
    for (a, b) in default.mailboxes().iter().zip(moved.mailboxes()) {
        assert_eq!(a.when_created + Duration::days(1000), b.when_created);
    }
}

#[tokio::test]
async fn a_tenant_at_the_wall_clock_is_not_all_stale_for_a_wall_clock_plan() {
    let fake = Arc::new(FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(8)
            .mailboxes(20)
            .devices(60)
            .now(Utc::now())
            .build(),
    ));
    let criteria = StaleCriteria::older_than(StdDuration::from_secs(90 * 86_400));
    let plan = plan_stale_cleanup(fake.as_ref(), criteria.clone(), Utc::now())
        .await
        .unwrap();
    let cutoff = criteria.cutoff(Utc::now());
    let synced: Vec<_> = fake
        .tenant()
        .devices()
        .filter_map(|d| d.last_success_sync)
        .collect();
    let recent = synced.iter().filter(|t| **t >= cutoff).count();
    assert!(
        recent > 0,
        "some generated devices synced in the last 90 days"
    );
    assert_eq!(plan.candidates.len(), synced.len() - recent);
    assert!(plan.candidates.len() < plan.devices_seen);
}

#[test]
fn every_response_model_builds_outside_the_crate() {
    let when = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let device = MobileDevice::builder()
        .identity("alice\\ExchangeActiveSyncDevices\\iPhone§ABC")
        .guid(Uuid::from_u128(1))
        .device_type("iPhone")
        .device_id("ABC")
        .device_model("iPhone15C2")
        .client_type(ClientType::Eas)
        .device_access_state(DeviceAccessState::Blocked)
        .first_sync_time(when)
        .is_managed(true)
        .extra("FutureProperty", 3)
        .build();
    assert_eq!(device.device_id.as_deref(), Some("ABC"));
    assert_eq!(device.client_type, Some(ClientType::Eas));
    assert_eq!(device.first_sync_time, Some(when));
    assert_eq!(device.extra["FutureProperty"], 3);
    assert_eq!(device.user_display_name, None);

    let stats = MobileDeviceStatistics::builder()
        .identity("alice\\ExchangeActiveSyncDevices\\iPhone§ABC")
        .guid(Uuid::from_u128(1))
        .last_success_sync(when)
        .status(DeviceRemoteWipeStatus::DeviceOk)
        .number_of_folders_synced(4)
        .build();
    assert_eq!(stats.last_success_sync, Some(when));
    assert_eq!(stats.number_of_folders_synced, Some(4));

    let cas = CasMailbox::builder()
        .identity("alice")
        .active_sync_enabled(true)
        .active_sync_blocked_device_ids(vec!["ABC".to_string()])
        .build();
    assert_eq!(
        cas.active_sync_blocked_device_ids,
        Some(vec!["ABC".to_string()])
    );

    let recipient = Recipient::builder()
        .primary_smtp_address("alice@contoso.com")
        .recipient_type_details(RecipientTypeDetails::UserMailbox)
        .build();
    assert_eq!(
        recipient.primary_smtp_address.as_deref(),
        Some("alice@contoso.com")
    );

    let org = ActiveSyncOrganizationSettings::builder()
        .default_access_level(DeviceAccessLevel::Quarantine)
        .admin_mail_recipients(vec!["helpdesk@contoso.com".to_string()])
        .build();
    assert_eq!(
        org.default_access_level,
        Some(DeviceAccessLevel::Quarantine)
    );

    let policy = MobileDeviceMailboxPolicy::builder()
        .name("Strict")
        .is_default(false)
        .min_password_length(6)
        .build();
    assert_eq!(policy.min_password_length, Some(6));

    let rule = ActiveSyncDeviceAccessRule::builder()
        .query_string("iPhone15C2")
        .characteristic(DeviceAccessCharacteristic::DeviceModel)
        .access_level(DeviceAccessLevel::Allow)
        .build();
    assert_eq!(rule.access_level, Some(DeviceAccessLevel::Allow));

    let class = ActiveSyncDeviceClass::builder()
        .device_type("iPhone")
        .device_model("iPhone15C2")
        .last_update_time(when)
        .build();
    assert_eq!(class.last_update_time, Some(when));
}

#[tokio::test]
async fn built_models_serve_through_a_responder() {
    let client = Responder::new().rows::<GetMobileDevice>(vec![
        MobileDevice::builder()
            .guid(Uuid::from_u128(1))
            .device_type("iPad")
            .build(),
        MobileDevice::builder()
            .guid(Uuid::from_u128(2))
            .device_type("Android")
            .build(),
    ]);
    let all = client.call(GetMobileDevice::new()).await.unwrap().items;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].device_type.as_deref(), Some("Android"));
}
