//! Offboarding: planning, wiping and removing a mailbox's devices.

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
