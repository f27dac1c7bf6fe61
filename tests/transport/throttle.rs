//! The client's per-tenant throttling authority ([`TenantThrottle`]): every call of an
//! `HttpExchangeClient` goes through it. Paused time and counts only.

use exchange_activesync::ExchangeClientExt;
use std::sync::Arc;
use std::time::Duration;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::cmdlets::{GetMobileDevice, GetMobileDeviceStatistics};
use exchange_activesync::protocol::Parameters;
use exchange_activesync::throttle::TenantThrottle;
use exchange_activesync::types::MailboxIdentity;
use exchange_activesync::{
    ClientBuilder, Environment, ExchangeClient, HttpExchangeClient, RetryPolicy, TimeoutConfig,
};
use exchange_activesync_testkit::{
    Failure, Fault, FaultPlan, FaultStep, FaultTimes, RbacProfile, Simulator, SimulatorConfig,
    SimulatorHandle, TenantBuilder,
};
use futures::StreamExt;
use tokio::time::Instant;

async fn simulator(plan: FaultPlan) -> SimulatorHandle {
    let tenant = TenantBuilder::new()
        .seed(9)
        .mailboxes(40)
        .devices(80)
        .rbac_profile(RbacProfile::Full)
        .build();
    Simulator::start(SimulatorConfig::new(tenant).faults(plan))
        .await
        .unwrap()
}

fn builder(sim: &SimulatorHandle) -> ClientBuilder {
    // Paused time auto-advances while the runtime waits on the simulator's socket: no
    // attempt or call timeouts.
    HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).unwrap())
        .tenant(sim.tenant_id())
        .token_provider(Arc::new(StaticToken::new(sim.token())))
        .timeouts(TimeoutConfig::none())
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_millis(50), Duration::from_secs(1)),
        )
}

fn first_mailbox(sim: &SimulatorHandle) -> MailboxIdentity {
    let t = sim.tenant();
    let d = t.devices().next().unwrap();
    let id = exchange_activesync::types::MobileDeviceIdentity::new(t.device_identity(d))
        .unwrap()
        .mailbox()
        .unwrap()
        .to_string();
    MailboxIdentity::new(id).unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_client_alone_discovers_the_tenant_cap() {
    const CAP: usize = 6;
    let sim = simulator(
        FaultPlan::new()
            .max_in_flight(CAP)
            .latency(Duration::from_millis(20)),
    )
    .await;
    let client = builder(&sim).build().unwrap();
    let throttle = client.throttle().clone();
    assert_eq!(throttle.limit(), 4, "the default starts at 4");
    assert_eq!(throttle.max(), 64, "and may grow to 64");
    // A burst of 300 raw calls, far more at once than the cap.
    let results: Vec<_> = futures::stream::iter(0..300)
        .map(|_| {
            let c = client.clone();
            async move {
                c.invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
                    .await
            }
        })
        .buffer_unordered(300)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok), "every call got through");
    let limit = throttle.limit();
    assert!(
        (CAP - 1..=CAP).contains(&limit),
        "the limit settled at {limit}, not within [{}, {CAP}]",
        CAP - 1
    );
    assert!(throttle.throttled_count() >= 1, "the cap was never probed");
    assert_eq!(throttle.throttled_count(), sim.status_count(429));
    assert_eq!(throttle.in_flight(), 0);
    // The probes stay rare: far fewer refusals than calls.
    assert!(
        sim.status_count(429) < 30,
        "{} refusals",
        sim.status_count(429)
    );
}

#[tokio::test(start_paused = true)]
async fn a_raw_call_and_a_typed_call_share_one_authority() {
    let sim = simulator(
        FaultPlan::new()
            .step(FaultStep::new(
                Some("Get-MobileDevice"),
                Fault::Fail(Failure::ConcurrencyLimit),
                FaultTimes::N(1),
            ))
            .step(FaultStep::new(
                Some("Get-ActiveSyncOrganizationSettings"),
                Fault::Fail(Failure::ConcurrencyLimit),
                FaultTimes::N(1),
            )),
    )
    .await;
    let client = builder(&sim).build().unwrap();
    let clone = client.clone();
    let throttle = client.throttle().clone();
    let via_trait = ExchangeClient::throttle(&clone).expect("an HTTP client has a throttle");
    assert!(
        Arc::ptr_eq(&throttle, &via_trait),
        "clones share the throttle"
    );
    client
        .get_mobile_device(GetMobileDevice::new())
        .await
        .unwrap();
    assert_eq!(
        throttle.throttled_count(),
        1,
        "the typed call reported its 429"
    );
    clone
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
        .unwrap();
    assert_eq!(
        throttle.throttled_count(),
        2,
        "the raw call reported its 429"
    );
    // A throttle given to the builder is the one the client uses.
    let shared = Arc::new(TenantThrottle::new(2, 3));
    let other = builder(&sim).throttle(shared.clone()).build().unwrap();
    assert!(Arc::ptr_eq(other.throttle(), &shared));
    other
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
        .unwrap();
    assert_eq!(shared.throttled_count(), 0);
    assert_eq!(
        throttle.throttled_count(),
        2,
        "another client's calls are not counted"
    );
    // The hard ceiling bounds the default throttle.
    let capped = builder(&sim).max_concurrency(3).build().unwrap();
    assert_eq!(capped.throttle().max(), 3);
    assert_eq!(capped.throttle().limit(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_from_one_call_holds_back_another_concurrent_call() {
    let sim = simulator(
        FaultPlan::new()
            .latency(Duration::from_millis(100))
            .step(FaultStep::new(
                Some("Get-MobileDeviceStatistics"),
                Fault::Fail(Failure::throttled(Some(3.0))),
                FaultTimes::N(1),
            )),
    )
    .await;
    let client = builder(&sim).build().unwrap();
    let throttle = client.throttle().clone();
    let mailbox = first_mailbox(&sim);
    let statistics = {
        let c = client.clone();
        tokio::spawn(async move {
            c.get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(mailbox))
                .await
        })
    };
    // Wait for the 429 to be answered, then start an unrelated call.
    while throttle.throttled_count() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let answered = Instant::now();
    let gate = throttle.not_before().expect("the gate is closed");
    assert!(gate >= answered + Duration::from_millis(2900), "{gate:?}");
    let requests_before = sim.request_count();
    client
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
        .unwrap();
    let done = Instant::now();
    assert!(
        done >= gate,
        "the other call went through the closed gate ({:?} after the 429)",
        done.duration_since(answered)
    );
    statistics.await.unwrap().unwrap();
    // The other call and the retried statistics call: one request each, after the gate.
    assert_eq!(sim.request_count(), requests_before + 2);
    assert_eq!(throttle.throttled_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_fleet_starts_its_later_tenants_at_the_cap_the_first_one_found() {
    use exchange_activesync::fleet::{CapPrior, Fleet, FleetItem, SyncOutcome, TenantList};
    const CAP: usize = 2;
    let config = SimulatorConfig::tenants_from(5, |i| {
        TenantBuilder::new()
            .seed(40 + i as u64)
            .devices(30)
            .mailboxes(12)
    })
    .faults(
        FaultPlan::new()
            .max_in_flight(CAP)
            .latency(Duration::from_millis(20)),
    );
    let sim = Simulator::start(config).await.unwrap();
    let tenants = TenantList::from_ids(sim.tenants().iter().map(|t| t.domain().to_string()))
        .expect("tenants");
    let prior = Arc::new(CapPrior::new());
    // One tenant after another, so that each later tenant starts after the first one's cap
    // is known.
    let fleet = Fleet::builder(tenants)
        .endpoint(sim.base_url())
        .authority(sim.authority())
        .client_secret(sim.app().client_id.clone(), sim.app().client_secret.clone())
        .timeouts(TimeoutConfig::none())
        .tenant_concurrency(1)
        .cap_prior(prior.clone())
        .build()
        .unwrap();
    let items: Vec<FleetItem> = fleet.inventory(true).collect().await;
    let complete = items
        .iter()
        .filter(|i| matches!(i, FleetItem::TenantDone(s) if s.outcome == SyncOutcome::Complete))
        .count();
    assert_eq!(complete, 5);
    let refusals: Vec<u64> = sim
        .tenants()
        .iter()
        .map(|t| t.concurrency_rejections())
        .collect();
    assert!(
        (1..=2).contains(&refusals[0]),
        "the first tenant discovers the cap: {refusals:?}"
    );
    assert!(
        refusals[1..].iter().all(|&r| r == 0),
        "the later tenants start at it: {refusals:?}"
    );
    assert_eq!(prior.cap(), Some(CAP));
    assert_eq!(prior.tenants(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_client_holds_the_cap_it_found_through_a_long_run() {
    const CAP: usize = 3;
    let sim = simulator(
        FaultPlan::new()
            .max_in_flight(CAP)
            .latency(Duration::from_millis(100)),
    )
    .await;
    let client = builder(&sim).build().unwrap();
    let throttle = client.throttle().clone();
    // 3,000 calls at most 3 at a time: 100 s of service, about 3 probe intervals.
    let results: Vec<_> = futures::stream::iter(0..3_000)
        .map(|_| {
            let c = client.clone();
            async move {
                c.invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
                    .await
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 3,000 calls failed, first: {:?}; 429s: {}",
        failed.len(),
        failed.first(),
        sim.status_count(429)
    );
    assert_eq!(throttle.known_cap(), Some(CAP));
    assert_eq!(throttle.limit(), CAP);
    // Discovery (at most 2) and one refused probe per 30–45 s of work.
    let refused = sim.status_count(429);
    assert!(refused <= 2 + 4, "{refused} refusals");
    // The client option reaches the throttle.
    assert!(!throttle.fail_fast());
    let fast = builder(&sim)
        .fail_fast_on_long_retry_after(true)
        .build()
        .unwrap();
    assert!(fast.throttle().fail_fast());
}
