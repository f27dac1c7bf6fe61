//! Device actions: access rules, organization default, remote wipe and tracking.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use exchange_activesync::connector::{
    DeviceFamily, FamilyAccessChange, PollOptions, WipeConfirmation, WipeError, WipeRequest,
    WipeStage, remote_wipe, set_default_access_level, set_family_access, track_wipe,
};
use exchange_activesync::error::TimeoutKind;
use exchange_activesync::models::DeviceAccessLevel;
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};
use exchange_activesync::testing::{FakeExchangeClient, RbacProfile, TenantBuilder};
use exchange_activesync::types::MobileDeviceIdentity;
use exchange_activesync::{Error, ExchangeClient, Result, async_trait};
use uuid::Uuid;

fn fake() -> FakeExchangeClient {
    FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(5)
            .mailboxes(10)
            .devices(20)
            .rbac_profile(RbacProfile::Full)
            .build(),
    )
}

fn first_device(f: &FakeExchangeClient) -> (Uuid, MobileDeviceIdentity) {
    let t = f.tenant();
    let d = t.devices().next().unwrap();
    (
        d.guid,
        MobileDeviceIdentity::new(t.device_identity(d)).unwrap(),
    )
}

#[tokio::test]
async fn family_rule_is_created_then_left_alone_then_updated() {
    let f = fake();
    let family = DeviceFamily::DeviceModel("ContosoPhone X".into());
    let c = set_family_access(&f, &family, DeviceAccessLevel::Quarantine)
        .await
        .unwrap();
    assert!(matches!(c, FamilyAccessChange::Created(_)), "{c:?}");
    let c = set_family_access(&f, &family, DeviceAccessLevel::Quarantine)
        .await
        .unwrap();
    assert!(matches!(c, FamilyAccessChange::Unchanged { .. }), "{c:?}");
    assert!(f.calls_to("Set-ActiveSyncDeviceAccessRule").is_empty());
    let c = set_family_access(&f, &family, DeviceAccessLevel::Block)
        .await
        .unwrap();
    match c {
        FamilyAccessChange::Updated { identity, previous } => {
            assert_eq!(identity.as_str(), "ContosoPhone X (DeviceModel)");
            assert_eq!(previous, Some(DeviceAccessLevel::Quarantine));
        }
        other => panic!("{other:?}"),
    }
    let t = f.tenant();
    let rule = t
        .access_rules()
        .iter()
        .find(|r| r.query_string == "ContosoPhone X")
        .unwrap();
    assert_eq!(rule.characteristic, "DeviceModel");
    assert_eq!(rule.access_level, "Block");
}

#[tokio::test]
async fn organization_default_access_level() {
    let f = fake();
    set_default_access_level(&f, DeviceAccessLevel::Quarantine)
        .await
        .unwrap();
    assert_eq!(f.tenant().org_settings().default_access_level, "Quarantine");
}

#[tokio::test]
async fn confirmation_for_another_device_sends_nothing() {
    let f = fake();
    let (_, id) = first_device(&f);
    let other = MobileDeviceIdentity::from_guid(Uuid::nil());
    let err = remote_wipe(
        &f,
        &WipeRequest::full(id),
        WipeConfirmation::i_understand_this_erases(&other),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, WipeError::ConfirmationMismatch { .. }));
    assert!(f.calls_to("Clear-MobileDevice").is_empty());
}

#[tokio::test]
async fn account_only_wipe_with_notify_is_encoded_and_tracked_to_acknowledged() {
    let f = Arc::new(fake());
    let (guid, id) = first_device(&f);
    let request = WipeRequest::account_only(id.clone()).notify(["helpdesk@contoso.com"]);
    let ticket = remote_wipe(
        f.as_ref(),
        &request,
        WipeConfirmation::i_understand_this_erases(&id),
    )
    .await
    .unwrap();
    let calls = f.calls_to("Clear-MobileDevice");
    assert_eq!(calls.len(), 1);
    let p = &calls[0].parameters;
    assert_eq!(p["Identity"], id.as_str());
    assert_eq!(p["AccountOnly"], true);
    assert_eq!(p["Confirm"], false);
    assert_eq!(
        p["NotificationEmailAddresses"],
        serde_json::json!(["helpdesk@contoso.com"])
    );
    assert!(
        f.tenant()
            .device(&guid)
            .unwrap()
            .wipe
            .account_only_request
            .is_some()
    );

    // The device syncs twice (sent, then acknowledged) while we poll.
    let f2 = f.clone();
    let device = tokio::spawn(async move {
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(30)).await;
            f2.tenant_mut().advance_wipe(&guid);
        }
    });
    let mut stages = Vec::new();
    let tracking = track_wipe(
        f.as_ref(),
        &ticket,
        PollOptions::new(Duration::from_millis(5), Duration::from_secs(10)),
        |stage, _| stages.push(stage),
    )
    .await
    .unwrap();
    device.await.unwrap();
    assert_eq!(tracking.stage, WipeStage::Acknowledged);
    assert!(!tracking.timed_out);
    assert_eq!(
        stages,
        vec![
            WipeStage::Requested,
            WipeStage::Sent,
            WipeStage::Acknowledged
        ]
    );
    let stats = tracking.statistics.unwrap();
    assert!(stats.account_only_device_wipe_ack_time.is_some());
}

#[tokio::test(start_paused = true)]
async fn tracking_stops_at_the_deadline() {
    let f = fake();
    let (_, id) = first_device(&f);
    let ticket = remote_wipe(
        &f,
        &WipeRequest::full(id.clone()),
        WipeConfirmation::i_understand_this_erases(&id),
    )
    .await
    .unwrap();
    let t = track_wipe(
        &f,
        &ticket,
        PollOptions::new(Duration::from_secs(10), Duration::from_secs(60)),
        |_, _| {},
    )
    .await
    .unwrap();
    assert!(t.timed_out);
    assert_eq!(t.stage, WipeStage::Requested);
    assert_eq!(t.polls, 7);
}

/// Every Clear-MobileDevice attempt times out after sending (the outcome is unknown).
struct Ambiguous {
    inner: FakeExchangeClient,
    clears: AtomicUsize,
}

#[async_trait]
impl ExchangeClient for Ambiguous {
    async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
        if inv.cmdlet() == "Clear-MobileDevice" {
            self.clears.fetch_add(1, Ordering::SeqCst);
            return Err(Error::Timeout {
                cmdlet: inv.cmdlet().into(),
                kind: TimeoutKind::Attempt,
                elapsed: Duration::from_secs(30),
            });
        }
        self.inner.invoke_page(inv, next).await
    }
}

#[tokio::test]
async fn ambiguous_failure_is_not_retried_and_says_check_statistics() {
    let c = Ambiguous {
        inner: fake(),
        clears: AtomicUsize::new(0),
    };
    let (_, id) = first_device(&c.inner);
    let err = remote_wipe(
        &c,
        &WipeRequest::full(id.clone()),
        WipeConfirmation::i_understand_this_erases(&id),
    )
    .await
    .unwrap_err();
    assert_eq!(c.clears.load(Ordering::SeqCst), 1, "never retried");
    assert!(matches!(err, WipeError::OutcomeUnknown { .. }), "{err:?}");
    assert!(err.to_string().contains("check the device statistics"));
}

#[tokio::test]
async fn refused_wipe_is_a_plain_failure() {
    let f = fake();
    let missing = MobileDeviceIdentity::from_guid(Uuid::from_u128(42));
    let err = remote_wipe(
        &f,
        &WipeRequest::full(missing.clone()),
        WipeConfirmation::i_understand_this_erases(&missing),
    )
    .await
    .unwrap_err();
    match err {
        WipeError::Failed { source, .. } => assert!(source.is_not_found(), "{source}"),
        other => panic!("{other:?}"),
    }
}
