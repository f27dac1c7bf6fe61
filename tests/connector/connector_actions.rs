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

mod offboarding {
    use std::collections::HashMap;
    use std::time::Duration;

    use exchange_activesync::connector::{
        OffboardConfirmation, OffboardOptions, OffboardThen, OffboardThenResult, OffboardWipe,
        OffboardWipeResult, apply_offboarding, plan_offboarding,
    };
    use exchange_activesync_testkit::{
        Failure, FakeExchangeClient, RbacProfile, Scripted, TenantBuilder, Times,
    };
    use uuid::Uuid;

    /// A fake whose devices acknowledge a wipe at the next read, and the mailbox with the
    /// most partnerships (its name as in the device identities, and their Guids).
    fn fake_with_user(rbac: RbacProfile) -> (FakeExchangeClient, String, Vec<Uuid>) {
        let mut tenant = TenantBuilder::new()
            .seed(11)
            .mailboxes(6)
            .devices(30)
            .rbac_profile(rbac)
            .build();
        tenant.acknowledge_wipes_after(Some(Duration::ZERO));
        let mut by_user: HashMap<String, Vec<Uuid>> = HashMap::new();
        for d in tenant.devices() {
            let id = tenant.device_identity(d);
            let user = id.split('\\').next().unwrap().to_string();
            by_user.entry(user).or_default().push(d.guid);
        }
        let (user, guids) = by_user.into_iter().max_by_key(|(_, g)| g.len()).unwrap();
        assert!(guids.len() >= 2, "a user with several partnerships");
        (FakeExchangeClient::new(tenant), user, guids)
    }

    fn quick() -> OffboardOptions {
        OffboardOptions::default().ack_timeout(Duration::from_secs(60), Duration::from_millis(1))
    }

    fn writes(f: &FakeExchangeClient) -> Vec<String> {
        f.calls()
            .into_iter()
            .filter(|c| !c.cmdlet.starts_with("Get-"))
            .map(|c| c.cmdlet)
            .collect()
    }

    #[tokio::test]
    async fn plan_reads_only_and_apply_wipes_account_only_then_removes_after_the_ack() {
        let (f, user, guids) = fake_with_user(RbacProfile::Full);
        let before = f.tenant().device_count();
        let plan = plan_offboarding(&f, &user, quick()).await.unwrap();
        assert_eq!(plan.devices.len(), guids.len());
        assert!(plan.devices.iter().all(|d| d.wipe == "account-only"));
        assert!(writes(&f).is_empty(), "the plan sends no write");
        let report = apply_offboarding(
            &f,
            &plan,
            OffboardConfirmation::i_understand_this_wipes(&plan),
        )
        .await
        .unwrap();
        assert!(report.all_done(), "{report:#?}");
        assert!(!report.any_unknown() && !report.any_refused() && !report.any_pending());
        for r in &report.results {
            assert_eq!(r.wipe, OffboardWipeResult::Acknowledged, "{r:?}");
            assert_eq!(r.then, OffboardThenResult::Removed, "{r:?}");
        }
        let calls = f.calls();
        let clears: Vec<_> = calls
            .iter()
            .filter(|c| c.cmdlet == "Clear-MobileDevice")
            .collect();
        let removes: Vec<_> = calls
            .iter()
            .filter(|c| c.cmdlet == "Remove-MobileDevice")
            .collect();
        assert_eq!(clears.len(), guids.len());
        assert_eq!(removes.len(), guids.len());
        for g in &guids {
            let by = |c: &&exchange_activesync_testkit::RecordedCall| {
                c.parameters["Identity"].as_str() == Some(g.to_string().as_str())
            };
            let clear = calls
                .iter()
                .position(|c| c.cmdlet == "Clear-MobileDevice" && by(&c))
                .unwrap();
            let remove = calls
                .iter()
                .position(|c| c.cmdlet == "Remove-MobileDevice" && by(&c))
                .unwrap();
            assert!(clear < remove, "wiped before removed");
            assert_eq!(
                calls[clear].parameters["AccountOnly"],
                serde_json::json!(true)
            );
            // The acknowledgement was read between the wipe and the removal.
            assert!(
                calls[clear..remove]
                    .iter()
                    .any(|c| c.cmdlet == "Get-MobileDeviceStatistics" && by(&c))
            );
            assert!(f.tenant().device(g).is_none());
        }
        assert_eq!(
            f.tenant().device_count(),
            before - guids.len(),
            "nothing else removed"
        );
        assert!(
            writes(&f)
                .iter()
                .all(|w| w == "Clear-MobileDevice" || w == "Remove-MobileDevice")
        );
    }

    #[tokio::test]
    async fn then_block_adds_the_id_to_the_blocked_list_after_the_ack_and_full_spares_outlook() {
        let (f, user, guids) = fake_with_user(RbacProfile::Full);
        // One of the user's partnerships is Outlook for iOS / Android (REST).
        f.edit_device(&guids[0], |d| d.client_type = "REST".into());
        let options = OffboardOptions::new(OffboardWipe::Full, OffboardThen::Block)
            .ack_timeout(Duration::from_secs(60), Duration::from_millis(1));
        let plan = plan_offboarding(&f, &user, options).await.unwrap();
        let rest = |d: &exchange_activesync::connector::OffboardDevice| {
            d.client_type
                .as_deref()
                .is_some_and(|c| c == "REST" || c.to_lowercase().contains("outlook"))
        };
        assert!(
            plan.devices.iter().any(|d| !rest(d)),
            "some EAS partnership"
        );
        for d in &plan.devices {
            let expected = if rest(d) { "account-only" } else { "full" };
            assert_eq!(d.wipe, expected, "{d:?}");
        }
        let report = apply_offboarding(
            &f,
            &plan,
            OffboardConfirmation::i_understand_this_wipes(&plan),
        )
        .await
        .unwrap();
        assert!(report.all_done(), "{report:#?}");
        assert!(
            report
                .results
                .iter()
                .all(|r| r.then == OffboardThenResult::Blocked)
        );
        assert!(f.calls_to("Remove-MobileDevice").is_empty());
        let sets = f.calls_to("Set-CASMailbox");
        assert_eq!(sets.len(), guids.len());
        for s in &sets {
            let blocked = &s.parameters["ActiveSyncBlockedDeviceIDs"];
            assert!(blocked.get("Add").is_some(), "the add form: {blocked}");
        }
        let t = f.tenant();
        for g in &guids {
            let d = t.device(g).unwrap();
            assert_eq!(
                (d.access_state.as_str(), d.access_state_reason.as_str()),
                ("Blocked", "Individual")
            );
        }
        // Outlook partnerships were wiped account-only, the others fully.
        for d in &plan.devices {
            let w = &t.device(&d.guid).unwrap().wipe;
            if rest(d) {
                assert!(w.account_only_ack.is_some() && w.request.is_none(), "{d:?}");
            } else {
                assert!(w.ack.is_some(), "{d:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_wipe_not_acknowledged_in_time_is_pending_and_nothing_follows() {
        let (f, user, guids) = fake_with_user(RbacProfile::Full);
        f.tenant_mut().acknowledge_wipes_after(None);
        let options = OffboardOptions::new(OffboardWipe::AccountOnly, OffboardThen::Block)
            .ack_timeout(Duration::ZERO, Duration::from_millis(1));
        let plan = plan_offboarding(&f, &user, options).await.unwrap();
        let report = apply_offboarding(
            &f,
            &plan,
            OffboardConfirmation::i_understand_this_wipes(&plan),
        )
        .await
        .unwrap();
        assert!(report.any_pending() && !report.all_done());
        assert!(report.results.iter().all(
            |r| r.wipe == OffboardWipeResult::Pending && r.then == OffboardThenResult::Skipped
        ));
        assert_eq!(f.calls_to("Clear-MobileDevice").len(), guids.len());
        assert!(f.calls_to("Set-CASMailbox").is_empty());
        assert!(f.calls_to("Remove-MobileDevice").is_empty());
    }

    #[tokio::test]
    async fn an_ambiguous_wipe_is_unknown_and_that_device_is_not_removed() {
        let (f, user, guids) = fake_with_user(RbacProfile::Full);
        let plan = plan_offboarding(&f, &user, quick()).await.unwrap();
        f.fail(
            Some("Clear-MobileDevice"),
            Scripted::AfterRun(Failure::Unavailable),
            Times::Once,
        );
        let report = apply_offboarding(
            &f,
            &plan,
            OffboardConfirmation::i_understand_this_wipes(&plan),
        )
        .await
        .unwrap();
        assert!(report.any_unknown(), "{report:#?}");
        let unknown: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.wipe == OffboardWipeResult::Unknown)
            .collect();
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].then, OffboardThenResult::Skipped);
        // Sent once, never again; the others went on.
        assert_eq!(f.calls_to("Clear-MobileDevice").len(), guids.len());
        assert_eq!(f.calls_to("Remove-MobileDevice").len(), guids.len() - 1);
        assert!(f.tenant().device(&unknown[0].device.guid).is_some());
    }

    #[tokio::test]
    async fn a_device_gone_between_plan_and_apply_is_skipped_without_a_write() {
        let (f, user, guids) = fake_with_user(RbacProfile::Full);
        let plan = plan_offboarding(&f, &user, quick()).await.unwrap();
        f.tenant_mut().remove_device(&guids[0]);
        let report = apply_offboarding(
            &f,
            &plan,
            OffboardConfirmation::i_understand_this_wipes(&plan),
        )
        .await
        .unwrap();
        let gone = report
            .results
            .iter()
            .find(|r| r.device.guid == guids[0])
            .unwrap();
        assert_eq!(gone.wipe, OffboardWipeResult::Skipped);
        assert_eq!(gone.then, OffboardThenResult::Skipped);
        assert!(gone.note.as_deref().unwrap().contains("no longer exists"));
        assert!(!report.all_done());
        assert_eq!(f.calls_to("Clear-MobileDevice").len(), guids.len() - 1);
        assert!(
            f.calls_to("Clear-MobileDevice")
                .iter()
                .all(|c| c.parameters["Identity"] != serde_json::json!(guids[0].to_string()))
        );
    }

    #[tokio::test]
    async fn bad_input_is_refused_plainly_and_nothing_is_sent() {
        let (f, user, _) = fake_with_user(RbacProfile::Full);
        for bad in ["nobody-here", "*", "ana*", "  "] {
            let e = plan_offboarding(&f, bad, quick()).await.unwrap_err();
            assert!(e.is_invalid_input(), "{bad}: {e}");
        }
        let e = plan_offboarding(&f, "nobody-here", quick())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no mailbox"), "{e}");
        // A mailbox without partnerships.
        let empty = {
            let t = f.tenant();
            t.mailboxes()
                .iter()
                .enumerate()
                .find(|(i, m)| !t.has_devices(*i) && m.recipient_type() == "UserMailbox")
                .map(|(_, m)| m.name.clone())
        };
        if let Some(empty) = empty {
            let e = plan_offboarding(&f, &empty, quick()).await.unwrap_err();
            assert!(
                e.to_string().contains("no mobile device partnerships"),
                "{e}"
            );
        }
        // A confirmation for another plan.
        let plan = plan_offboarding(&f, &user, quick()).await.unwrap();
        let mut other = plan.clone();
        other.devices.pop();
        let e = apply_offboarding(
            &f,
            &plan,
            OffboardConfirmation::i_understand_this_wipes(&other),
        )
        .await
        .unwrap_err();
        assert!(e.is_invalid_input(), "{e}");
        assert!(writes(&f).is_empty());
    }

    #[tokio::test]
    async fn an_account_without_the_wipe_role_is_told_which_role_and_nothing_is_sent() {
        let (f, user, _) = fake_with_user(RbacProfile::ReadOnly);
        let plan = plan_offboarding(&f, &user, quick()).await.unwrap();
        let e = apply_offboarding(
            &f,
            &plan,
            OffboardConfirmation::i_understand_this_wipes(&plan),
        )
        .await
        .unwrap_err();
        assert!(e.is_invalid_input(), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("Clear-MobileDevice") && text.contains("role"),
            "{text}"
        );
        assert!(writes(&f).is_empty());
    }
}

// ---- the quarantine inbox and device list hygiene ----------------------------------------

mod quarantine_and_lists {
    use std::collections::{BTreeMap, BTreeSet};

    use exchange_activesync::connector::{
        ALLOWED_LIST, BLOCKED_LIST, ListProblem, PruneConfirmation, PruneOutcome,
        QuarantineConfirmation, QuarantineDecision, QuarantineOutcome, QuarantineSelection,
        apply_list_prune, apply_quarantine, audit_device_lists, list_quarantined, plan_list_prune,
        plan_quarantine,
    };
    use exchange_activesync::types::MobileDeviceIdentity;
    use exchange_activesync_testkit::{
        Failure, FakeExchangeClient, RbacProfile, Scripted, Tenant, TenantBuilder, Times,
    };
    use serde_json::Value;
    use uuid::Uuid;

    fn tenant(rbac: RbacProfile) -> Tenant {
        TenantBuilder::new()
            .seed(13)
            .mailboxes(8)
            .devices(40)
            .rbac_profile(rbac)
            .build()
    }

    /// Every device's access state and reason.
    fn states(f: &FakeExchangeClient) -> BTreeMap<Uuid, (String, String)> {
        f.tenant()
            .devices()
            .map(|d| {
                (
                    d.guid,
                    (d.access_state.clone(), d.access_state_reason.clone()),
                )
            })
            .collect()
    }

    fn writes(f: &FakeExchangeClient) -> Vec<String> {
        f.calls()
            .into_iter()
            .filter(|c| !c.cmdlet.starts_with("Get-"))
            .map(|c| c.cmdlet)
            .collect()
    }

    /// Whether a list parameter uses the add/remove form (never a replacement).
    fn add_remove_form(v: &Value) -> bool {
        v.as_object().is_some_and(|o| {
            o.keys()
                .all(|k| k == "Add" || k == "Remove" || k.starts_with('@'))
        })
    }

    #[tokio::test]
    async fn list_names_exactly_the_quarantined_partnerships_with_why() {
        let mut t = tenant(RbacProfile::Full);
        t.quarantine_devices(5);
        // One quarantined by a device access rule.
        let by_rule = t
            .devices()
            .find(|d| d.access_state == "Allowed")
            .map(|d| d.guid)
            .unwrap();
        {
            let mut d = t.device_mut(&by_rule).unwrap();
            d.access_state = "Quarantined".into();
            d.access_state_reason = "DeviceRule".into();
            d.access_control_rule = Some("Contoso 9 (DeviceModel)".into());
        }
        let expected: BTreeSet<Uuid> = t
            .devices()
            .filter(|d| d.access_state == "Quarantined")
            .map(|d| d.guid)
            .collect();
        assert!(expected.len() >= 5);
        let f = FakeExchangeClient::new(t);
        let listed = list_quarantined(&f).await.unwrap();
        let got: BTreeSet<Uuid> = listed.iter().map(|d| d.guid).collect();
        assert_eq!(got, expected);
        let rule = listed.iter().find(|d| d.guid == by_rule).unwrap();
        assert_eq!(rule.reason, "rule Contoso 9 (DeviceModel)");
        for d in &listed {
            assert!(!d.identity.is_empty() && !d.mailbox.is_empty() && !d.device_id.is_empty());
            assert!(
                d.reason == "default access level" || d.reason.starts_with("rule "),
                "{d:?}"
            );
        }
        assert!(writes(&f).is_empty());
    }

    #[tokio::test]
    async fn allow_one_sends_one_add_form_set_cas_mailbox_and_changes_nothing_else() {
        let mut t = tenant(RbacProfile::Full);
        let q = t.quarantine_devices(3);
        let f = FakeExchangeClient::new(t);
        let x = q[1];
        let identity = {
            let t = f.tenant();
            MobileDeviceIdentity::new(t.device_identity(t.device(&x).unwrap())).unwrap()
        };
        let before = states(&f);
        let plan = plan_quarantine(
            &f,
            &QuarantineSelection::Identity(identity),
            QuarantineDecision::Allow,
        )
        .await
        .unwrap();
        assert_eq!(plan.devices().count(), 1);
        assert!(writes(&f).is_empty(), "the plan sends no write");
        let report = apply_quarantine(
            &f,
            &plan,
            QuarantineConfirmation::i_release_these_devices(&plan),
        )
        .await
        .unwrap();
        assert_eq!(report.results.len(), 1);
        assert_eq!(report.results[0].outcome, QuarantineOutcome::Done);
        assert_eq!(
            report.results[0].access_state_after.as_deref(),
            Some("Allowed")
        );
        let sets = f.calls_to("Set-CASMailbox");
        assert_eq!(sets.len(), 1);
        assert_eq!(writes(&f), ["Set-CASMailbox"]);
        let p = &sets[0].parameters;
        assert!(add_remove_form(&p["ActiveSyncAllowedDeviceIDs"]), "{p:?}");
        assert!(add_remove_form(&p["ActiveSyncBlockedDeviceIDs"]), "{p:?}");
        let device_id = f.tenant().device(&x).unwrap().device_id.clone();
        assert_eq!(
            p["ActiveSyncAllowedDeviceIDs"]["Add"],
            serde_json::json!([device_id])
        );
        let after = states(&f);
        assert_eq!(after[&x], ("Allowed".to_string(), "Individual".to_string()));
        for (g, s) in &before {
            if *g != x {
                assert_eq!(&after[g], s, "device {g} changed");
            }
        }
    }

    #[tokio::test]
    async fn bulk_block_groups_by_mailbox_and_skips_a_device_gone_since_the_plan() {
        let mut t = tenant(RbacProfile::Full);
        t.quarantine_devices(12);
        let f = FakeExchangeClient::new(t);
        let all = QuarantineSelection::All {
            model: None,
            device_type: None,
        };
        let plan = plan_quarantine(&f, &all, QuarantineDecision::Block)
            .await
            .unwrap();
        let mailboxes: BTreeSet<String> =
            plan.devices().map(|d| d.mailbox.to_lowercase()).collect();
        assert_eq!(plan.mailboxes.len(), mailboxes.len());
        assert!(
            plan.mailboxes.iter().any(|m| m.devices.len() > 1),
            "some mailbox with several"
        );
        // One device disappears between the plan and the apply.
        let gone = plan
            .mailboxes
            .iter()
            .find(|m| m.devices.len() > 1)
            .unwrap()
            .devices[0]
            .guid;
        f.tenant_mut().remove_device(&gone);
        let report = apply_quarantine(
            &f,
            &plan,
            QuarantineConfirmation::i_release_these_devices(&plan),
        )
        .await
        .unwrap();
        assert_eq!(
            f.calls_to("Set-CASMailbox").len(),
            mailboxes.len(),
            "one per mailbox"
        );
        assert_eq!(report.mailboxes_changed, mailboxes.len());
        let skipped: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.outcome == QuarantineOutcome::Skipped)
            .collect();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].device.guid, gone);
        for r in report
            .results
            .iter()
            .filter(|r| r.outcome == QuarantineOutcome::Done)
        {
            assert_eq!(
                f.tenant().device(&r.device.guid).unwrap().access_state,
                "Blocked"
            );
        }
        // Filters narrow the selection (exact, case-insensitive).
        let some_type = plan.devices().find_map(|d| d.device_type.clone()).unwrap();
        let by_type = QuarantineSelection::All {
            model: None,
            device_type: Some(some_type.to_uppercase()),
        };
        let narrowed = plan_quarantine(&f, &by_type, QuarantineDecision::Allow)
            .await
            .unwrap();
        assert!(
            narrowed
                .devices()
                .all(|d| d.device_type.as_deref() == Some(some_type.as_str()))
        );
    }

    #[tokio::test]
    async fn an_ambiguous_change_is_unknown_and_bad_input_sends_nothing() {
        let mut t = tenant(RbacProfile::Full);
        let q = t.quarantine_devices(2);
        let not_quarantined = t
            .devices()
            .find(|d| d.access_state == "Allowed")
            .map(|d| t.device_identity(d))
            .unwrap();
        let f = FakeExchangeClient::new(t);
        for (id, what) in [
            (not_quarantined.as_str(), "is not quarantined"),
            (
                "nobody\\ExchangeActiveSyncDevices\\iPhone§NOPE",
                "no device has the identity",
            ),
        ] {
            let e = plan_quarantine(
                &f,
                &QuarantineSelection::Identity(MobileDeviceIdentity::new(id).unwrap()),
                QuarantineDecision::Allow,
            )
            .await
            .unwrap_err();
            assert!(e.is_invalid_input() && e.to_string().contains(what), "{e}");
        }
        assert!(
            MobileDeviceIdentity::new("*").is_err(),
            "wildcards are refused"
        );
        let identity = MobileDeviceIdentity::from_guid(q[0]);
        let plan = plan_quarantine(
            &f,
            &QuarantineSelection::Identity(identity),
            QuarantineDecision::Allow,
        )
        .await
        .unwrap();
        f.fail(
            Some("Set-CASMailbox"),
            Scripted::AfterRun(Failure::Unavailable),
            Times::Once,
        );
        let report = apply_quarantine(
            &f,
            &plan,
            QuarantineConfirmation::i_release_these_devices(&plan),
        )
        .await
        .unwrap();
        assert_eq!(
            report.results[0].outcome,
            QuarantineOutcome::Unknown,
            "{report:?}"
        );
        assert_eq!(f.calls_to("Set-CASMailbox").len(), 1, "never sent again");
    }

    #[tokio::test]
    async fn quarantine_and_prune_name_the_missing_role_and_send_nothing() {
        let mut t = tenant(RbacProfile::ReadOnly);
        t.quarantine_devices(2);
        t.add_orphan_list_entries(2);
        let f = FakeExchangeClient::new(t);
        let all = QuarantineSelection::All {
            model: None,
            device_type: None,
        };
        let plan = plan_quarantine(&f, &all, QuarantineDecision::Allow)
            .await
            .unwrap();
        let e = apply_quarantine(
            &f,
            &plan,
            QuarantineConfirmation::i_release_these_devices(&plan),
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string().contains("Set-CASMailbox") && e.to_string().contains("role"),
            "{e}"
        );
        let (_, plan) = plan_list_prune(&f).await.unwrap();
        assert_eq!(plan.len(), 2);
        let e = apply_list_prune(&f, &plan, PruneConfirmation::i_remove_these_entries(&plan))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("Set-CASMailbox") && e.to_string().contains("role"),
            "{e}"
        );
        assert!(writes(&f).is_empty());
    }

    /// An orphan list entry: mailbox, list, device id.
    type Orphan = (String, &'static str, String);

    /// A tenant with orphans and one id on both lists.
    fn tenant_with_lists() -> (Tenant, Vec<Orphan>, (String, String)) {
        let mut t = tenant(RbacProfile::Full);
        let orphans: Vec<_> = t
            .add_orphan_list_entries(6)
            .into_iter()
            .map(|o| (o.mailbox, o.list, o.device_id))
            .collect();
        // A device listed on both lists (its state as the service gives it: blocked).
        let (guid, id, mailbox) = t
            .devices()
            .find(|d| d.access_state_reason != "Individual")
            .map(|d| {
                (
                    d.guid,
                    d.device_id.clone(),
                    t.mailboxes()[d.mailbox].name.clone(),
                )
            })
            .unwrap();
        {
            let mut m = t.mailbox_mut(&mailbox).unwrap();
            m.cas.allowed_device_ids.push(id.clone());
            m.cas.blocked_device_ids.push(id.clone());
        }
        {
            let mut d = t.device_mut(&guid).unwrap();
            d.access_state = "Blocked".into();
            d.access_state_reason = "Individual".into();
        }
        (t, orphans, (mailbox, id))
    }

    #[tokio::test]
    async fn audit_names_exactly_the_orphans_and_prune_removes_them_by_the_remove_form() {
        let (t, orphans, (both_mailbox, both_id)) = tenant_with_lists();
        let f = FakeExchangeClient::new(t);
        let audit = audit_device_lists(&f).await.unwrap();
        let found: BTreeSet<(String, String, String)> = audit
            .orphans()
            .map(|e| {
                (
                    e.mailbox.to_lowercase(),
                    e.list.to_string(),
                    e.device_id.clone(),
                )
            })
            .collect();
        let expected: BTreeSet<(String, String, String)> = orphans
            .iter()
            .map(|(m, l, i)| (m.to_lowercase(), l.to_string(), i.clone()))
            .collect();
        assert_eq!(found, expected);
        let both: Vec<_> = audit
            .entries
            .iter()
            .filter(|e| e.problem == ListProblem::OnBothLists)
            .collect();
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].device_id, both_id);
        assert!(both[0].identity.is_some() && both[0].guid.is_some());
        assert_eq!(both[0].mailbox.to_lowercase(), both_mailbox.to_lowercase());
        assert!(writes(&f).is_empty(), "the audit sends no write");

        let before = states(&f);
        let (_, plan) = plan_list_prune(&f).await.unwrap();
        assert_eq!(plan.len(), orphans.len());
        let report = apply_list_prune(&f, &plan, PruneConfirmation::i_remove_these_entries(&plan))
            .await
            .unwrap();
        assert!(
            report
                .results
                .iter()
                .all(|r| r.outcome == PruneOutcome::Removed),
            "{report:?}"
        );
        let sets = f.calls_to("Set-CASMailbox");
        assert_eq!(sets.len(), plan.mailboxes.len(), "one per mailbox");
        for s in &sets {
            for list in [ALLOWED_LIST, BLOCKED_LIST] {
                if let Some(v) = s.parameters.get(list) {
                    assert!(add_remove_form(v), "{v}");
                    assert!(v.get("Add").is_none(), "only removals: {v}");
                }
            }
        }
        assert_eq!(states(&f), before, "no device's access state changed");
        let t = f.tenant();
        for (m, list, id) in &orphans {
            let cas = &t.mailbox(m).unwrap().cas;
            let l = if *list == ALLOWED_LIST {
                &cas.allowed_device_ids
            } else {
                &cas.blocked_device_ids
            };
            assert!(!l.contains(id), "{m} {list} {id}");
        }
        // The entries on both lists are reported, not removed.
        let cas = &t.mailbox(&both_mailbox).unwrap().cas;
        assert!(
            cas.allowed_device_ids.contains(&both_id) && cas.blocked_device_ids.contains(&both_id)
        );
    }

    #[tokio::test]
    async fn an_entry_that_stopped_being_an_orphan_is_skipped() {
        let (t, orphans, _) = tenant_with_lists();
        let f = FakeExchangeClient::new(t);
        let (_, plan) = plan_list_prune(&f).await.unwrap();
        // The first orphan's id is taken out of its list before the apply.
        let (m, list, id) = &orphans[0];
        {
            let mut t = f.tenant_mut();
            let mut mb = t.mailbox_mut(m).unwrap();
            if *list == ALLOWED_LIST {
                mb.cas.allowed_device_ids.retain(|x| x != id);
            } else {
                mb.cas.blocked_device_ids.retain(|x| x != id);
            }
        }
        let report = apply_list_prune(&f, &plan, PruneConfirmation::i_remove_these_entries(&plan))
            .await
            .unwrap();
        let skipped: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.outcome == PruneOutcome::Skipped)
            .collect();
        assert_eq!(skipped.len(), 1);
        assert_eq!(&skipped[0].device_id, id);
        assert_eq!(
            report
                .results
                .iter()
                .filter(|r| r.outcome == PruneOutcome::Removed)
                .count(),
            orphans.len() - 1
        );
    }
}
