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
use exchange_activesync::types::MobileDeviceIdentity;
use exchange_activesync::{Error, ExchangeClient, Result, async_trait};
use exchange_activesync_testkit::{FakeExchangeClient, RbacProfile, TenantBuilder};
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

// ---- truthful outcomes of wipes and access changes ----------------------------------------

#[tokio::test]
async fn a_full_wipe_of_an_outlook_partnership_is_tracked_on_the_account_only_fields() {
    let f = Arc::new(fake());
    let (guid, id) = {
        let t = f.tenant();
        let d = t
            .devices()
            .find(|d| d.device_type.eq_ignore_ascii_case("Outlook"))
            .expect("the seeded tenant has Outlook partnerships");
        (
            d.guid,
            MobileDeviceIdentity::new(t.device_identity(d)).unwrap(),
        )
    };
    let ticket = remote_wipe(
        f.as_ref(),
        &WipeRequest::full(id.clone()),
        WipeConfirmation::i_understand_this_erases(&id),
    )
    .await
    .unwrap();
    assert!(!ticket.account_only);
    assert!(ticket.tracks_account_only, "{ticket:?}");
    for _ in 0..2 {
        f.tenant_mut().advance_wipe(&guid);
    }
    let tracking = track_wipe(
        f.as_ref(),
        &ticket,
        PollOptions::new(Duration::from_millis(1), Duration::from_secs(5)),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(tracking.stage, WipeStage::Acknowledged, "{tracking:?}");
    assert!(!tracking.timed_out);
}

#[test]
fn an_acknowledgement_older_than_the_request_is_not_this_wipe() {
    use exchange_activesync::connector::wipe_stage;
    use exchange_activesync::models::MobileDeviceStatistics;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let stats = MobileDeviceStatistics::builder()
        .account_only_device_wipe_request_time(at("2024-06-01T10:00:00Z"))
        .account_only_device_wipe_sent_time(at("2024-05-01T10:00:00Z"))
        .account_only_device_wipe_ack_time(at("2024-05-01T10:05:00Z"))
        .build();
    assert_eq!(wipe_stage(&stats, true, None), WipeStage::Requested);
    let acked = MobileDeviceStatistics::builder()
        .account_only_device_wipe_request_time(at("2024-06-01T10:00:00Z"))
        .account_only_device_wipe_ack_time(at("2024-06-01T10:05:00Z"))
        .build();
    assert_eq!(wipe_stage(&acked, true, None), WipeStage::Acknowledged);
}

#[tokio::test]
async fn a_wipe_whose_baseline_cannot_be_read_is_not_sent() {
    use exchange_activesync_testkit::{Failure, Times};
    let f = fake();
    let (_, id) = first_device(&f);
    f.fail(
        Some("Get-MobileDeviceStatistics"),
        Failure::PermissionDenied,
        Times::Always,
    );
    let err = remote_wipe(
        &f,
        &WipeRequest::account_only(id.clone()),
        WipeConfirmation::i_understand_this_erases(&id),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, WipeError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains("not sent"), "{err}");
    assert!(f.calls_to("Clear-MobileDevice").is_empty());
}

#[tokio::test]
async fn durations_too_large_for_the_clock_do_not_panic() {
    let f = Arc::new(fake());
    let (guid, id) = first_device(&f);
    let ticket = remote_wipe(
        f.as_ref(),
        &WipeRequest::account_only(id.clone()),
        WipeConfirmation::i_understand_this_erases(&id),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        f.tenant_mut().advance_wipe(&guid);
    }
    let tracking = track_wipe(
        f.as_ref(),
        &ticket,
        PollOptions::new(Duration::from_millis(1), Duration::MAX),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(tracking.stage, WipeStage::Acknowledged);
    // Neither interval nor deadline fits the clock: one read, no panic.
    let once = track_wipe(
        f.as_ref(),
        &ticket,
        PollOptions::new(Duration::MAX, Duration::MAX),
        |_, _| {},
    )
    .await
    .unwrap();
    assert!(once.polls >= 1);
}

#[tokio::test]
async fn a_change_whose_read_back_failed_is_still_a_change() {
    use exchange_activesync::connector::{DeviceAccessAction, set_device_access};
    use exchange_activesync_testkit::{Failure, Times};
    let f = fake();
    let (guid, id) = first_device(&f);
    // The first Get-MobileDevice (the resolution) passes; the read-back fails.
    f.fail_after(
        1,
        Some("Get-MobileDevice"),
        Failure::Unavailable,
        Times::Always,
    );
    let change = set_device_access(&f, &id, DeviceAccessAction::Block)
        .await
        .expect("the change was made");
    assert!(!change.after_state_known());
    assert!(change.after_read_error.as_deref().unwrap().contains("503"));
    assert_eq!(change.access_state_after, None);
    assert_eq!(f.calls_to("Set-CASMailbox").len(), 1);
    let t = f.tenant();
    let device = t.device(&guid).unwrap();
    let device_id = device.device_id.clone();
    let mailbox = &t.mailboxes()[device.mailbox];
    assert!(
        mailbox
            .cas
            .blocked_device_ids
            .iter()
            .any(|d| d == &device_id),
        "the block was applied"
    );
}

#[test]
fn a_kind_given_by_hand_never_makes_a_catalog_cmdlet_less_strict() {
    use exchange_activesync::CmdletKind;
    use exchange_activesync::protocol::Parameters;
    let i = Invocation::with_kind("Remove-MobileDevice", CmdletKind::Read, Parameters::new());
    assert_eq!(i.kind(), CmdletKind::Destructive);
    assert!(i.validate().is_err(), "the identity guard still applies");
    let w = Invocation::with_kind("Set-CASMailbox", CmdletKind::Read, Parameters::new());
    assert_eq!(w.kind(), CmdletKind::Write);
    // Unknown Search-/Export- cmdlets may delete or start jobs: not reads.
    assert_ne!(
        CmdletKind::from_cmdlet_name("Search-Mailbox"),
        CmdletKind::Read
    );
    assert_ne!(
        CmdletKind::from_cmdlet_name("Export-Something"),
        CmdletKind::Read
    );
    assert_eq!(
        CmdletKind::from_cmdlet_name("Get-Something"),
        CmdletKind::Read
    );
    // Stricter by hand is kept.
    let d = Invocation::with_kind("Get-Thing", CmdletKind::Destructive, Parameters::new());
    assert_eq!(d.kind(), CmdletKind::Destructive);
}

#[test]
fn a_recovery_password_never_shows_in_debug_or_serialized_output() {
    use exchange_activesync::models::MobileDeviceStatistics;
    let stats: MobileDeviceStatistics =
        serde_json::from_str(r#"{"RecoveryPassword":"8241-0077-1111","Identity":"x"}"#).unwrap();
    let password = stats.recovery_password.as_ref().unwrap();
    assert_eq!(password.expose(), "8241-0077-1111");
    assert!(!format!("{stats:?}").contains("8241"));
    let json = serde_json::to_string(&stats).unwrap();
    assert!(!json.contains("8241"), "{json}");
    assert!(json.contains("********"), "{json}");
}

// ---- offboarding -------------------------------------------------------------------------

mod offboarding;

// ---- the quarantine inbox and device list hygiene ----------------------------------------

mod quarantine_and_lists;
