//! Stale device cleanup: plan criteria, the guards before anything is sent, removal against
//! the fake and the simulator, throttling, refusals, ambiguous failures, devices that sync or
//! disappear between plan and apply, and the age parser.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use exchange_activesync::auth::StaticToken;
use exchange_activesync::cmdlets::{GetMobileDevice, GetMobileDeviceStatistics};
use exchange_activesync::connector::{
    ApplyOptions, CandidateResult, CleanupConfirmation, CleanupError, CleanupPlan,
    DEFAULT_CLEANUP_FAN_OUT, Recheck, SkipReason, StaleCriteria, StaleReason, apply_cleanup,
    parse_age, plan_stale_cleanup,
};
use exchange_activesync::throttle::TenantThrottle;
use exchange_activesync::types::MobileDeviceIdentity;
use exchange_activesync::{Environment, ExchangeClient, ExchangeClientExt, HttpExchangeClient};
use exchange_activesync::{RetryPolicy, connector::CleanupReport};
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, Fault, FaultPlan, FaultStep, FaultTimes, RbacProfile, Scripted,
    Simulator, SimulatorConfig, SimulatorHandle, Tenant, TenantBuilder, Times,
};
use futures::TryStreamExt;
use uuid::Uuid;

const DAY: i64 = 86_400;

/// A tenant where every device synced a day ago, except: `stale` devices (last sync 200 days
/// ago) and one device that never synced, created 300 days ago. Returns the tenant, the stale
/// GUIDs and the never-synced GUID.
fn tenant(devices: usize, stale: usize) -> (Tenant, Vec<Uuid>, Uuid) {
    let mut t = TenantBuilder::new()
        .seed(11)
        .mailboxes(devices.div_ceil(2).max(1))
        .devices(devices)
        .rbac_profile(RbacProfile::Full)
        .build();
    let now = t.now();
    let all: Vec<_> = t.devices().cloned().collect();
    let mut stale_ids = Vec::new();
    let mut never = None;
    for (i, mut d) in all.into_iter().enumerate() {
        if i < stale {
            d.last_success_sync = Some(now - TimeDelta::seconds(200 * DAY));
            stale_ids.push(d.guid);
        } else if i == stale {
            d.last_success_sync = None;
            d.when_created = now - TimeDelta::seconds(300 * DAY);
            never = Some(d.guid);
        } else {
            d.last_success_sync = Some(now - TimeDelta::seconds(DAY));
            d.when_created = now - TimeDelta::seconds(400 * DAY);
        }
        t.add_device(d);
    }
    (t, stale_ids, never.expect("enough devices"))
}

fn fake(devices: usize, stale: usize) -> (Arc<FakeExchangeClient>, Vec<Uuid>, Uuid) {
    let (t, s, n) = tenant(devices, stale);
    (Arc::new(FakeExchangeClient::new(t)), s, n)
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

async fn plan(f: &Arc<FakeExchangeClient>, criteria: StaleCriteria) -> CleanupPlan {
    let now = f.tenant().now();
    plan_stale_cleanup(&**f, criteria, now).await.unwrap()
}

fn guids(plan: &CleanupPlan) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = plan.candidates.iter().filter_map(|c| c.guid).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

async fn apply(
    client: &dyn ExchangeClient,
    plan: &CleanupPlan,
    options: ApplyOptions,
) -> CleanupReport {
    apply_cleanup(client, plan, CleanupConfirmation::i_reviewed(plan), options)
        .await
        .unwrap()
}

fn result_of(report: &CleanupReport, guid: Uuid) -> &CandidateResult {
    &report
        .outcomes
        .iter()
        .find(|o| o.candidate.guid == Some(guid))
        .unwrap()
        .result
}

fn removes(f: &FakeExchangeClient) -> Vec<String> {
    f.calls_to("Remove-MobileDevice")
        .into_iter()
        .map(|c| c.parameters["Identity"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn plan_lists_devices_by_last_sync_never_synced_and_filters() {
    let (f, stale, never) = fake(12, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    assert_eq!(guids(&p), sorted(stale.clone()));
    assert_eq!(p.devices_seen, 12);
    assert_eq!(p.without_statistics, 0);
    let now = f.tenant().now();
    for c in &p.candidates {
        assert_eq!(
            c.last_success_sync,
            Some(now - TimeDelta::seconds(200 * DAY))
        );
        assert!(matches!(c.reason, StaleReason::NoSyncSince { .. }), "{c:?}");
        assert!(c.identity.contains("\\ExchangeActiveSyncDevices\\"));
        assert!(c.mailbox.is_some() && c.created.is_some());
    }
    // 250 days: the devices synced 200 days ago are not stale; the never-synced one
    // (created 300 days ago) is, when asked for.
    let p = plan(&f, StaleCriteria::older_than(days(250))).await;
    assert!(p.candidates.is_empty());
    let p = plan(
        &f,
        StaleCriteria::older_than(days(250)).include_never_synced(true),
    )
    .await;
    assert_eq!(guids(&p), vec![never]);
    assert!(matches!(
        p.candidates[0].reason,
        StaleReason::NeverSyncedCreatedBefore { .. }
    ));
    assert_eq!(p.candidates[0].last_success_sync, None);
    // 350 days: created too recently to count.
    let p = plan(
        &f,
        StaleCriteria::older_than(days(350)).include_never_synced(true),
    )
    .await;
    assert!(p.candidates.is_empty());

    // Filters: device type, model, mailbox (case-insensitive).
    let (ty, model, mailbox) = {
        let t = f.tenant();
        let d = t.device(&stale[0]).unwrap();
        let id = t.device_identity(d);
        let mailbox = MobileDeviceIdentity::new(id)
            .unwrap()
            .mailbox()
            .unwrap()
            .to_string();
        (d.device_type.clone(), d.device_model.clone(), mailbox)
    };
    let expect = |pred: &dyn Fn(&Uuid) -> bool| -> Vec<Uuid> {
        sorted(stale.iter().copied().filter(|g| pred(g)).collect())
    };
    let by_type = {
        let t = f.tenant();
        expect(&|g| t.device(g).unwrap().device_type == ty)
    };
    let p = plan(
        &f,
        StaleCriteria::older_than(days(90)).device_type(ty.to_uppercase()),
    )
    .await;
    assert_eq!(guids(&p), by_type);
    assert!(guids(&p).contains(&stale[0]));
    let by_model = {
        let t = f.tenant();
        expect(&|g| t.device(g).unwrap().device_model == model)
    };
    let p = plan(&f, StaleCriteria::older_than(days(90)).device_model(&model)).await;
    assert_eq!(guids(&p), by_model);
    let p = plan(&f, StaleCriteria::older_than(days(90)).mailbox(&mailbox)).await;
    assert!(guids(&p).contains(&stale[0]));
    assert!(
        p.candidates
            .iter()
            .all(|c| c.mailbox.as_deref() == Some(mailbox.as_str()))
    );
    let p = plan(
        &f,
        StaleCriteria::older_than(days(90)).device_type("NoSuchType"),
    )
    .await;
    assert!(p.candidates.is_empty());
    assert!(f.calls_to("Remove-MobileDevice").is_empty());
}

#[tokio::test]
async fn a_plan_round_trips_through_serde_and_keeps_its_id() {
    let (f, _, _) = fake(8, 2);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    let json = serde_json::to_string(&p).unwrap();
    let back: CleanupPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.fingerprint(), p.id);
    // A confirmation made from the stored copy applies to the original.
    let r = apply_cleanup(
        f.as_ref(),
        &p,
        CleanupConfirmation::i_reviewed(&back),
        ApplyOptions::new(10),
    )
    .await
    .unwrap();
    assert_eq!(r.count("removed"), 2);
}

#[tokio::test]
async fn more_candidates_than_max_is_refused_before_anything_is_sent() {
    let (f, _, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.clear_calls();
    let err = apply_cleanup(
        f.as_ref(),
        &p,
        CleanupConfirmation::i_reviewed(&p),
        ApplyOptions::new(2),
    )
    .await
    .unwrap_err();
    assert_eq!(err, CleanupError::TooManyCandidates { count: 3, max: 2 });
    assert!(err.to_string().contains("3 candidates"), "{err}");
    assert!(f.calls().is_empty(), "{:?}", f.calls());
    assert_eq!(f.tenant().device_count(), 10);
}

#[tokio::test]
async fn a_confirmation_for_another_plan_or_an_edited_plan_is_refused() {
    let (f, _, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    let other = plan(
        &f,
        StaleCriteria::older_than(days(90)).include_never_synced(true),
    )
    .await;
    assert_ne!(p.id, other.id);
    f.clear_calls();
    let err = apply_cleanup(
        f.as_ref(),
        &p,
        CleanupConfirmation::i_reviewed(&other),
        ApplyOptions::new(100),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CleanupError::ConfirmationMismatch { .. }),
        "{err}"
    );
    // A stored plan whose candidates were edited after it was made.
    let mut edited = p.clone();
    edited.candidates.truncate(1);
    let err = apply_cleanup(
        f.as_ref(),
        &edited,
        CleanupConfirmation::i_reviewed(&edited),
        ApplyOptions::new(100),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CleanupError::PlanModified { .. }), "{err}");
    assert!(f.calls().is_empty(), "{:?}", f.calls());
}

#[tokio::test]
async fn removal_against_the_fake_removes_exactly_the_candidates_by_guid() {
    let (f, stale, never) = fake(16, 5);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.clear_calls();
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100)).await;
    assert_eq!(r.outcomes.len(), 5);
    assert!(r.all_removed(), "{r:?}");
    assert_eq!(r.count("removed"), 5);
    // One Remove per device, naming its Guid, with Confirm:false.
    let mut sent = removes(&f);
    sent.sort();
    let mut expected: Vec<String> = stale.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(sent, expected);
    for c in f.calls_to("Remove-MobileDevice") {
        assert_eq!(c.parameters.get("Confirm"), Some(&serde_json::json!(false)));
    }
    // Gone from listings and statistics; the others stay.
    let t = f.tenant().device_count();
    assert_eq!(t, 11);
    let listed: Vec<_> = f
        .stream(GetMobileDevice::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(listed.len(), 11);
    assert!(listed.iter().all(|d| !stale.contains(&d.guid.unwrap())));
    let err = f
        .get_mobile_device_statistics(GetMobileDeviceStatistics::for_device(
            MobileDeviceIdentity::from_guid(stale[0]),
        ))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(f.tenant().device(&never).is_some());
}

#[tokio::test]
async fn a_throttled_answer_the_client_gave_up_on_is_refused_and_not_sent_again() {
    // The fake has no retry policy: what it answers is what a client returns after its own
    // retries. The cleanup has no second retry layer: one Remove per device, and the
    // throttled one is reported with the service's answer.
    let (f, stale, _) = fake(12, 4);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.clear_calls();
    f.fail(
        Some("Remove-MobileDevice"),
        Failure::throttled(Some(2.0)),
        Times::Once,
    );
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100).fan_out(1)).await;
    assert_eq!(r.count("refused"), 1, "{r:?}");
    assert_eq!(r.count("removed"), 3);
    let refused = r
        .outcomes
        .iter()
        .find(|o| matches!(o.result, CandidateResult::Refused(_)))
        .unwrap();
    let CandidateResult::Refused(text) = &refused.result else {
        unreachable!()
    };
    assert!(text.contains("429"), "{text}");
    assert_eq!(removes(&f).len(), 4);
    let kept = refused.candidate.guid.unwrap();
    assert!(f.tenant().device(&kept).is_some());
    assert_eq!(
        stale
            .iter()
            .filter(|g| f.tenant().device(g).is_none())
            .count(),
        3
    );
}

#[tokio::test]
async fn a_refusal_is_reported_with_the_service_error_and_nothing_else_changes() {
    let (f, stale, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.clear_calls();
    f.fail(
        Some("Remove-MobileDevice"),
        Failure::PermissionDenied,
        Times::Once,
    );
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100).fan_out(1)).await;
    assert_eq!(r.count("refused"), 1, "{r:?}");
    assert_eq!(r.count("removed"), 2);
    let refused = r
        .outcomes
        .iter()
        .find(|o| matches!(o.result, CandidateResult::Refused(_)))
        .unwrap();
    let CandidateResult::Refused(text) = &refused.result else {
        unreachable!()
    };
    assert!(text.contains("403"), "{text}");
    let g = refused.candidate.guid.unwrap();
    assert!(f.tenant().device(&g).is_some());
    // Not retried: one Remove per device.
    assert_eq!(removes(&f).len(), 3);
    assert!(!r.all_removed());
    assert!(stale.contains(&g));
}

#[tokio::test]
async fn an_ambiguous_failure_is_unknown_and_never_sent_again() {
    let (f, _, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.clear_calls();
    f.fail(
        Some("Remove-MobileDevice"),
        Scripted::AfterRun(Failure::BadGateway),
        Times::Once,
    );
    // The read-back that could prove the removal is refused too.
    f.fail(
        Some("Get-MobileDevice"),
        Failure::PermissionDenied,
        Times::Always,
    );
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100).fan_out(1)).await;
    assert_eq!(r.count("unknown"), 1, "{r:?}");
    assert_eq!(r.count("removed"), 2);
    assert!(r.any_unknown());
    let unknown = r
        .outcomes
        .iter()
        .find(|o| matches!(o.result, CandidateResult::Unknown(_)))
        .unwrap();
    let g = unknown.candidate.guid.unwrap().to_string();
    // Exactly one Remove for that device (it ran: the fake applied it before failing).
    assert_eq!(removes(&f).iter().filter(|s| **s == g).count(), 1);
    assert_eq!(removes(&f).len(), 3);
}

#[tokio::test]
async fn a_device_that_syncs_between_plan_and_apply_is_skipped() {
    let (f, stale, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    {
        let mut t = f.tenant_mut();
        let mut d = t.device(&stale[1]).unwrap().clone();
        d.last_success_sync = Some(t.now());
        t.add_device(d);
    }
    f.clear_calls();
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100)).await;
    assert!(
        matches!(
            result_of(&r, stale[1]),
            CandidateResult::Skipped(SkipReason::SyncedSince { .. })
        ),
        "{r:?}"
    );
    assert_eq!(r.count("removed"), 2);
    assert!(f.tenant().device(&stale[1]).is_some());
    assert!(!removes(&f).contains(&stale[1].to_string()));
}

#[tokio::test]
async fn a_fresh_plan_within_the_recheck_bound_is_not_reread() {
    let (f, _, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.clear_calls();
    let options = ApplyOptions::new(100)
        .recheck(Recheck::WhenPlanOlderThan(Duration::from_secs(60)))
        .now(p.created_at + TimeDelta::seconds(10));
    let r = apply(f.as_ref(), &p, options).await;
    assert_eq!(r.count("removed"), 3);
    assert!(f.calls_to("Get-MobileDeviceStatistics").is_empty());
    // Older than the bound: re-read.
    let (f, _, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.clear_calls();
    let options = ApplyOptions::new(100)
        .recheck(Recheck::WhenPlanOlderThan(Duration::from_secs(60)))
        .now(p.created_at + TimeDelta::seconds(600));
    apply(f.as_ref(), &p, options).await;
    assert_eq!(f.calls_to("Get-MobileDeviceStatistics").len(), 3);
}

#[tokio::test]
async fn a_device_removed_between_plan_and_apply_is_gone() {
    let (f, stale, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.tenant_mut().remove_device(&stale[2]);
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100)).await;
    assert_eq!(result_of(&r, stale[2]), &CandidateResult::Gone);
    assert!(r.all_removed());
    // Without the re-read, the Remove itself answers "not found".
    let (f, stale, _) = fake(10, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    f.tenant_mut().remove_device(&stale[0]);
    let options = ApplyOptions::new(100)
        .recheck(Recheck::WhenPlanOlderThan(Duration::from_secs(3600)))
        .now(p.created_at);
    let r = apply(f.as_ref(), &p, options).await;
    assert_eq!(result_of(&r, stale[0]), &CandidateResult::Gone);
    assert_eq!(removes(&f).len(), 3);
}

#[tokio::test]
async fn a_candidate_without_guid_is_never_removed() {
    let (f, _, _) = fake(10, 2);
    let mut p = plan(&f, StaleCriteria::older_than(days(90))).await;
    p.candidates[0].guid = None;
    p.id = p.fingerprint();
    f.clear_calls();
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100)).await;
    assert_eq!(
        r.outcomes[0].result,
        CandidateResult::Skipped(SkipReason::NoGuid)
    );
    assert_eq!(removes(&f).len(), 1);
}

fn http_client(sim: &SimulatorHandle) -> HttpExchangeClient {
    HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).unwrap())
        .tenant(sim.tenant_id())
        .token_provider(Arc::new(StaticToken::new(sim.token())))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(20)
                .with_backoff(Duration::from_millis(5), Duration::from_millis(50)),
        )
        .build()
        .unwrap()
}

async fn sim_plan(sim: &SimulatorHandle, client: Arc<dyn ExchangeClient>) -> CleanupPlan {
    let now: DateTime<Utc> = sim.tenant().now();
    plan_stale_cleanup(&*client, StaleCriteria::older_than(days(90)), now)
        .await
        .unwrap()
}

#[tokio::test]
async fn removal_against_the_simulator_with_its_concurrency_cap() {
    let (t, stale, _) = tenant(40, 20);
    let sim = Simulator::start(SimulatorConfig::new(t)).await.unwrap();
    let client = Arc::new(http_client(&sim));
    let p = sim_plan(&sim, client.clone()).await;
    assert_eq!(guids(&p), sorted(stale.clone()));
    sim.set_latency(Some(Duration::from_millis(5)));
    sim.set_max_in_flight(Some(2));
    let r = apply(client.as_ref(), &p, ApplyOptions::new(100).fan_out(8)).await;
    assert!(r.all_removed(), "{r:?}");
    assert_eq!(r.count("removed"), 20);
    assert!(sim.status_count(429) > 0, "the cap was never reached");
    assert_eq!(sim.tenant().device_count(), 20);
    for g in &stale {
        assert!(sim.tenant().device(g).is_none());
    }
    sim.set_max_in_flight(None);
    let listed: Vec<_> = client
        .stream(GetMobileDevice::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(listed.len(), 20);
    let err = client
        .get_mobile_device_statistics(GetMobileDeviceStatistics::for_device(
            MobileDeviceIdentity::from_guid(stale[0]),
        ))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn throttled_removals_at_the_simulator_are_retried_by_the_client_once_each() {
    let (t, stale, _) = tenant(12, 4);
    let plan_faults = FaultPlan::new().step(FaultStep::new(
        Some("Remove-MobileDevice"),
        Fault::Fail(Failure::throttled(Some(0.01))),
        FaultTimes::N(3),
    ));
    let sim = Simulator::start(SimulatorConfig::new(t).faults(plan_faults))
        .await
        .unwrap();
    let client = Arc::new(http_client(&sim));
    let p = sim_plan(&sim, client.clone()).await;
    let r = apply(client.as_ref(), &p, ApplyOptions::new(100)).await;
    assert!(r.all_removed(), "{r:?}");
    assert_eq!(r.count("removed"), 4);
    // 4 removals answered plus the 3 throttled attempts the client retried: a throttled
    // request was not processed, and no device was named again after its answer.
    assert_eq!(sim.calls_to("Remove-MobileDevice"), 4 + 3);
    assert_eq!(sim.status_count(429), 3);
    for g in &stale {
        assert!(sim.tenant().device(g).is_none());
    }
}

#[tokio::test]
async fn the_default_fan_out_fills_a_client_throttle_above_eight() {
    // The client admits 12 at once; the service allows 8 and answers the concurrency 429
    // beyond. Only a cleanup that hands the client more than 8 removals at once (the old
    // fixed bound) can meet that answer; the client retries it, so all are removed.
    let (t, stale, _) = tenant(40, 30);
    let sim = Simulator::start(SimulatorConfig::new(t)).await.unwrap();
    let client = Arc::new(
        HttpExchangeClient::builder()
            .environment(Environment::custom(sim.base_url().as_str()).unwrap())
            .tenant(sim.tenant_id())
            .token_provider(Arc::new(StaticToken::new(sim.token())))
            .throttle(Arc::new(TenantThrottle::new(12, 12)))
            .retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(20)
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(50)),
            )
            .build()
            .unwrap(),
    );
    let p = sim_plan(&sim, client.clone()).await;
    sim.set_latency(Some(Duration::from_millis(20)));
    sim.set_max_in_flight(Some(8));
    let options = ApplyOptions::new(100);
    assert_eq!(options.fan_out, DEFAULT_CLEANUP_FAN_OUT);
    let r = apply(client.as_ref(), &p, options).await;
    assert!(r.all_removed(), "{r:?}");
    assert!(sim.status_count(429) > 0, "never more than 8 in flight");
    assert_eq!(r.count("removed"), 30);
    for g in &stale {
        assert!(sim.tenant().device(g).is_none());
    }
}

#[tokio::test]
async fn an_ambiguous_failure_at_the_simulator_is_unknown_and_not_retried() {
    let (t, _, _) = tenant(10, 3);
    let plan_faults = FaultPlan::new().step(FaultStep::new(
        Some("Remove-MobileDevice"),
        Fault::AfterRun(Failure::BadGateway),
        FaultTimes::Once,
    ));
    let sim = Simulator::start(SimulatorConfig::new(t).faults(plan_faults))
        .await
        .unwrap();
    let client = Arc::new(http_client(&sim));
    let p = sim_plan(&sim, client.clone()).await;
    // The read-back that could prove the removal is refused too.
    sim.push_fault(FaultStep::new(
        Some("Get-MobileDevice"),
        Fault::Fail(Failure::PermissionDenied),
        FaultTimes::Always,
    ));
    let r = apply(client.as_ref(), &p, ApplyOptions::new(100).fan_out(1)).await;
    assert_eq!(r.count("unknown"), 1, "{r:?}");
    assert_eq!(r.count("removed"), 2);
    // The HTTP client did not retry the 502 either: one request per device.
    assert_eq!(sim.calls_to("Remove-MobileDevice"), 3);
    assert_eq!(sim.tenant().device_count(), 7);
}

#[test]
fn ages_parse_with_their_unit() {
    assert_eq!(parse_age("90d").unwrap(), days(90));
    assert_eq!(parse_age("12w").unwrap(), days(84));
    assert_eq!(parse_age("36h").unwrap(), Duration::from_secs(36 * 3600));
    assert_eq!(parse_age(" 45m ").unwrap(), Duration::from_secs(45 * 60));
    assert_eq!(parse_age("30s").unwrap(), Duration::from_secs(30));
    for bad in [
        "",
        "d",
        "90",
        "90x",
        "0d",
        "-5d",
        "1.5d",
        "9d9",
        "99999999999999999999d",
        "90 d",
        "10000000d",
        "١٢d",
    ] {
        let e = parse_age(bad).unwrap_err();
        assert!(e.is_invalid_input(), "{bad:?}: {e}");
    }
}

#[tokio::test]
async fn a_plan_that_could_not_cover_every_device_is_a_partial_run() {
    use exchange_activesync::connector::CleanupVerdict;
    let (f, _, _) = fake(12, 3);
    // One mailbox's statistics cannot be read: its devices are never judged.
    f.fail(
        Some("Get-MobileDeviceStatistics"),
        Failure::PermissionDenied,
        Times::Once,
    );
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    assert!(!p.is_complete(), "{p:?}");
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100)).await;
    assert!(!r.plan_complete);
    assert_eq!(r.verdict(), CleanupVerdict::Partial, "{r:?}");
    // A complete plan whose removals all went through is done.
    let (f, _, _) = fake(12, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100)).await;
    assert_eq!(r.verdict(), CleanupVerdict::Done, "{r:?}");
}

#[tokio::test]
async fn the_fake_loses_its_route_after_planning_and_nothing_is_gone() {
    use exchange_activesync::connector::CleanupVerdict;
    let (f, _, _) = fake(12, 3);
    let p = plan(&f, StaleCriteria::older_than(days(90))).await;
    let before = f.tenant().device_count();
    f.fail(None, Failure::NotFoundPage, Times::Always);
    let r = apply(f.as_ref(), &p, ApplyOptions::new(100)).await;
    assert_eq!(r.count("gone") + r.count("removed"), 0, "{r:?}");
    assert_ne!(r.verdict(), CleanupVerdict::Done, "{r:?}");
    assert!(
        format!("{r:?}").contains("not the service's answer"),
        "the 404 page is named for what it is: {r:?}"
    );
    assert_eq!(f.tenant().device_count(), before);
}

#[tokio::test]
async fn outlook_partnerships_with_blank_sync_times_are_unknown_activity_not_never_synced() {
    use exchange_activesync::connector::StaleReason;
    let t = TenantBuilder::new()
        .seed(27)
        .mailboxes(30)
        .devices(140)
        .rbac_profile(RbacProfile::Full)
        .build();
    let now = t.now();
    let cutoff = now - TimeDelta::days(45);
    // What the tenant holds: REST partnerships (no sync times) and EAS ones.
    let is_rest = |c: &str| ["REST", "Outlook", "UniversalOutlook"].contains(&c);
    let rest: Vec<Uuid> = t
        .devices()
        .filter(|d| is_rest(&d.client_type) && d.last_success_sync.is_none())
        .map(|d| d.guid)
        .collect();
    let eas_stale: Vec<Uuid> = t
        .devices()
        .filter(|d| !is_rest(&d.client_type))
        .filter(|d| match d.last_success_sync {
            Some(last) => last < cutoff,
            None => d.first_sync_time.is_some() && d.when_created < cutoff,
        })
        .map(|d| d.guid)
        .collect();
    assert!(
        !rest.is_empty(),
        "the seeded tenant has Outlook partnerships"
    );
    let f = Arc::new(FakeExchangeClient::new(t));
    let p = plan(
        &f,
        StaleCriteria::older_than(days(45)).include_never_synced(true),
    )
    .await;
    let planned = guids(&p);
    for g in &rest {
        assert!(!planned.contains(g), "an Outlook partnership was planned");
    }
    assert_eq!(planned, sorted(eas_stale), "every stale EAS partnership");
    assert_eq!(p.unknown_activity, rest.len());
    // Explicitly included, they are judged by when they last changed, and say so.
    let p = plan(
        &f,
        StaleCriteria::older_than(days(45))
            .include_never_synced(true)
            .include_unknown_activity(true),
    )
    .await;
    assert_eq!(p.unknown_activity, 0);
    let by_activity: Vec<_> = p
        .candidates
        .iter()
        .filter(|c| matches!(c.reason, StaleReason::UnknownActivityUnchangedSince { .. }))
        .collect();
    assert!(!by_activity.is_empty());
    for c in by_activity {
        assert!(rest.contains(&c.guid.unwrap()));
        assert!(
            c.reason.to_string().contains("activity unknown"),
            "{}",
            c.reason
        );
    }
}
