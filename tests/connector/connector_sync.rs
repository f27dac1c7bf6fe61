//! Inventory sync: early stop of the stream, bounded `Retry-After`, per-tenant sync state.

use std::sync::Arc;
use std::time::Duration;

use exchange_activesync::ExchangeClientExt;
use exchange_activesync::connector::{InventorySync, MemoryStore, StateMark, SyncStateStore};
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};
use exchange_activesync::throttle::TenantThrottle;
use exchange_activesync::{
    Environment, ExchangeClient, HttpExchangeClient, Result, RetryPolicy, TimeoutConfig,
    async_trait,
};
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, Fault, FaultPlan, FaultStep, FaultTimes, RbacProfile, Simulator,
    SimulatorConfig, SimulatorHandle, TenantBuilder, Times,
};
use futures::StreamExt;
use tokio::time::Instant;

/// What the service's `Retry-After: 99999999` reads as (the parser caps it at 24 h).
const HUGE: Duration = Duration::from_secs(86_400);
/// The default policy's largest honoured `Retry-After`.
const ALLOWED: Duration = Duration::from_secs(120);

/// The fake with small pages.
struct Paged {
    inner: FakeExchangeClient,
    page_size: u32,
}

#[async_trait]
impl ExchangeClient for Paged {
    async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
        let inv = inv.clone().page_size(self.page_size);
        self.inner.invoke_page(&inv, next).await
    }
}

fn fake(devices: usize, mailboxes: usize) -> FakeExchangeClient {
    FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(11)
            .mailboxes(mailboxes)
            .devices(devices)
            .rbac_profile(RbacProfile::Full)
            .build(),
    )
}

fn paged(devices: usize, mailboxes: usize, page_size: u32) -> Arc<Paged> {
    Arc::new(Paged {
        inner: fake(devices, mailboxes),
        page_size,
    })
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_stops_the_sync_and_saves_no_mark() {
    let client = paged(300, 40, 20);
    client.inner.set_latency(Some(Duration::from_millis(100)));
    let store = Arc::new(MemoryStore::new());
    let (stream, handle) = InventorySync::new(&*client)
        .state_store(store.clone())
        .stream();
    let taken: Vec<_> = stream.take(5).collect().await;
    assert_eq!(taken.len(), 5);
    // `take` dropped the stream.
    let calls_at_drop = client.inner.calls_to("Get-MobileDevice").len();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let calls_later = client.inner.calls_to("Get-MobileDevice").len();
    assert_eq!(
        calls_later, calls_at_drop,
        "the background task kept enumerating after the stream was dropped"
    );
    assert!(calls_later < 15, "{calls_later} of 15 pages read");
    assert_eq!(
        store.load(StateMark::SyncedThrough).await.unwrap(),
        None,
        "a mark was saved"
    );
    match handle.await {
        Err(_) => {} // the stream was dropped before the end: no report
        Ok(Ok(report)) => assert!(!report.is_complete() && report.stopped_early),
        Ok(Err(e)) => panic!("{e}"),
    }
}

#[tokio::test]
async fn records_left_in_the_channel_are_not_delivered() {
    // One page, all buffered at once: the consumer still stops after a few.
    let client = paged(50, 10, 1000);
    let store = Arc::new(MemoryStore::new());
    let (stream, handle) = InventorySync::new(&*client)
        .state_store(store.clone())
        .stream();
    let mut stream = Box::pin(stream);
    for _ in 0..3 {
        assert!(stream.next().await.is_some());
    }
    // Give the task every chance to run to the end.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        store.load(StateMark::SyncedThrough).await.unwrap(),
        None,
        "mark saved before delivery"
    );
    drop(stream);
    let _ = handle.await;
    assert_eq!(
        store.load(StateMark::SyncedThrough).await.unwrap(),
        None,
        "a mark was saved"
    );
}

#[tokio::test]
async fn a_stream_read_to_the_end_saves_the_mark() {
    let client = paged(50, 10, 20);
    let store = Arc::new(MemoryStore::new());
    let (stream, handle) = InventorySync::new(&*client)
        .state_store(store.clone())
        .stream();
    assert_eq!(stream.collect::<Vec<_>>().await.len(), 50);
    let report = handle.await.unwrap().unwrap();
    assert!(report.is_complete() && !report.stopped_early);
    assert_eq!(
        store.load(StateMark::SyncedThrough).await.unwrap(),
        Some(report.started_at)
    );
}

#[tokio::test(start_paused = true)]
async fn the_throttle_gate_closes_for_at_most_the_policy_maximum() {
    let l = TenantThrottle::new(4, 4);
    assert_eq!(l.max_retry_after(), ALLOWED);
    let start = Instant::now();
    l.on_throttled(Some(Duration::from_secs(99_999_999)));
    assert_eq!(l.not_before(), Some(start + ALLOWED));
    let _p = l.acquire().await;
    assert_eq!(start.elapsed(), ALLOWED);
    let l = TenantThrottle::new(4, 4).with_max_retry_after(Duration::from_secs(5));
    l.on_throttled(Some(Duration::from_secs(7)));
    assert_eq!(
        l.not_before(),
        Some(Instant::now() + Duration::from_secs(5))
    );
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_fails_the_mailbox_fast_instead_of_sleeping() {
    let client = paged(60, 20, 20);
    client.inner.fail(
        Some("Get-MobileDeviceStatistics"),
        Failure::throttled(Some(99_999_999.0)),
        Times::Once,
    );
    let start = Instant::now();
    let report = InventorySync::new(&*client)
        .with_statistics(true)
        .run(|_| {})
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed <= ALLOWED + Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(report.devices, 60);
    assert_eq!(report.throttled, 1);
    // The fake does not retry (nor does the sync): the mailbox fails at once.
    assert_eq!(report.failed_mailboxes.len(), 1, "{report:?}");
    assert_eq!(
        client.inner.calls_to("Get-MobileDeviceStatistics").len(),
        20
    );
    assert!(!report.is_complete());
}

async fn simulator(plan: FaultPlan) -> SimulatorHandle {
    let tenant = TenantBuilder::new()
        .seed(5)
        .mailboxes(20)
        .devices(60)
        .rbac_profile(RbacProfile::Full)
        .build();
    Simulator::start(SimulatorConfig::new(tenant).faults(plan))
        .await
        .unwrap()
}

fn http_client(sim: &SimulatorHandle, policy: RetryPolicy) -> HttpExchangeClient {
    // Paused time auto-advances while the runtime waits on the simulator's socket: no
    // attempt or call timeouts, only the retry pauses count.
    HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).unwrap())
        .tenant(sim.tenant_id())
        .token_provider(Arc::new(exchange_activesync::auth::StaticToken::new(
            sim.token(),
        )))
        .timeouts(TimeoutConfig::none())
        .retry_policy(policy)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_waits_the_maximum_then_retries_or_fails_fast_on_request() {
    let fault = || {
        FaultPlan::new().step(FaultStep::new(
            Some("Get-MobileDevice"),
            Fault::Fail(Failure::throttled(Some(99_999_999.0))),
            FaultTimes::N(1),
        ))
    };
    // By default the call waits at the capped gate like every other call, then is retried.
    let sim = simulator(fault()).await;
    let client = http_client(&sim, RetryPolicy::default());
    let start = Instant::now();
    client
        .invoke_raw("Get-MobileDevice", Default::default())
        .await
        .expect("retried after the maximum");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= ALLOWED && elapsed < ALLOWED + Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert_eq!(sim.request_count(), 2);
    // Fail fast: at once, with the Retry-After named.
    let sim = simulator(fault()).await;
    let client = http_client(
        &sim,
        RetryPolicy::default().with_fail_fast_on_long_retry_after(true),
    );
    let start = Instant::now();
    let err = client
        .invoke_raw("Get-MobileDevice", Default::default())
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(err.is_retry_after_too_long(), "{err:?}");
    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(HUGE));
    assert_eq!(sim.request_count(), 1, "not retried");
}

#[tokio::test(start_paused = true)]
async fn the_client_backs_off_after_a_zero_retry_after() {
    let sim = simulator(FaultPlan::new().step(FaultStep::new(
        Some("Get-ActiveSyncOrganizationSettings"),
        Fault::Fail(Failure::throttled(Some(0.0))),
        FaultTimes::N(2),
    )))
    .await;
    let policy = RetryPolicy::default()
        .with_max_attempts(3)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(10))
        .with_jitter(0.0);
    let client = http_client(&sim, policy);
    let start = Instant::now();
    client
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Default::default())
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(sim.request_count(), 3);
}

#[tokio::test(start_paused = true)]
async fn one_huge_retry_after_in_an_inventory_costs_the_maximum_and_loses_nothing() {
    let fault = || {
        FaultPlan::new().step(FaultStep::new(
            Some("Get-MobileDeviceStatistics"),
            Fault::Fail(Failure::throttled(Some(99_999_999.0))),
            FaultTimes::N(1),
        ))
    };
    // Wait, then retry: every device with its statistics.
    let sim = simulator(fault()).await;
    let client = http_client(&sim, RetryPolicy::default());
    let start = Instant::now();
    let report = InventorySync::new(&client)
        .with_statistics(true)
        .run(|_| {})
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed <= ALLOWED + Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(report.devices, 60);
    assert_eq!(report.with_statistics, 60, "{report:?}");
    assert!(report.failed_mailboxes.is_empty(), "{report:?}");
    assert!(report.is_complete());
    assert_eq!(report.throttled, 1);
    // Fail fast: the run ends within seconds and says which mailbox and which pause.
    let sim = simulator(fault()).await;
    let client = http_client(
        &sim,
        RetryPolicy::default().with_fail_fast_on_long_retry_after(true),
    );
    let start = Instant::now();
    let report = InventorySync::new(&client)
        .with_statistics(true)
        .run(|_| {})
        .await
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(!report.failed_mailboxes.is_empty(), "{report:?}");
    let text = &report.failed_mailboxes[0].1;
    assert!(text.contains("86400s") && text.contains("120s"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_on_a_page_waits_or_fails_the_sync_with_a_typed_error() {
    let fault = || {
        FaultPlan::new().step(FaultStep::new(
            Some("Get-MobileDevice"),
            Fault::Fail(Failure::throttled(Some(99_999_999.0))),
            FaultTimes::N(1),
        ))
    };
    let sim = simulator(fault()).await;
    let report = InventorySync::new(&http_client(&sim, RetryPolicy::default()))
        .run(|_| {})
        .await
        .expect("waits, then completes");
    assert_eq!(report.devices, 60);
    let sim = simulator(fault()).await;
    let store = Arc::new(MemoryStore::new());
    let start = Instant::now();
    let err = InventorySync::new(&http_client(
        &sim,
        RetryPolicy::default().with_fail_fast_on_long_retry_after(true),
    ))
    .state_store(store.clone())
    .run(|_| {})
    .await
    .unwrap_err();
    assert!(start.elapsed() < ALLOWED, "{:?}", start.elapsed());
    assert!(err.is_retry_after_too_long(), "{err:?}");
    assert!(err.is_throttled());
    assert!(!err.is_retryable());
    assert_eq!(err.retry_after(), Some(HUGE));
    assert_eq!(err.status(), Some(429));
    let text = err.to_string();
    assert!(text.contains("86400s") && text.contains("120s"), "{text}");
    assert_eq!(sim.request_count(), 1, "not retried");
    assert_eq!(store.load(StateMark::SyncedThrough).await.unwrap(), None);
    // The client's policy sets the maximum, for the call and for the gate.
    let sim = simulator(FaultPlan::new().step(FaultStep::new(
        Some("Get-MobileDevice"),
        Fault::Fail(Failure::throttled(Some(30.0))),
        FaultTimes::N(1),
    )))
    .await;
    let client = http_client(
        &sim,
        RetryPolicy::default()
            .with_max_retry_after(Duration::from_secs(10))
            .with_fail_fast_on_long_retry_after(true),
    );
    let throttle = client.throttle().clone();
    assert_eq!(throttle.max_retry_after(), Duration::from_secs(10));
    let err = InventorySync::new(&client).run(|_| {}).await.unwrap_err();
    assert!(err.to_string().contains("10s"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_zero_or_negative_retry_after_waits_the_backoff() {
    let sim = simulator(
        FaultPlan::new()
            .step(FaultStep::new(
                Some("Get-MobileDevice"),
                Fault::Fail(Failure::throttled(Some(0.0))),
                FaultTimes::N(2),
            ))
            .step(FaultStep::new(
                Some("Get-MobileDeviceStatistics"),
                Fault::Fail(Failure::throttled(Some(-5.0))),
                FaultTimes::N(2),
            )),
    )
    .await;
    let policy = RetryPolicy::default()
        .with_backoff(Duration::from_secs(1), Duration::from_secs(10))
        .with_jitter(0.0);
    let start = Instant::now();
    let report = InventorySync::new(&http_client(&sim, policy))
        .with_statistics(true)
        .run(|_| {})
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    // Two page retries by the client (1 s + 2 s), then the statistics retries.
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(report.throttled, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_state_is_kept_per_tenant_and_concurrent_saves_all_survive() {
    use exchange_activesync::connector::{ConnectionValidator, ConnectorProfile, JsonFileStore};
    let dir = std::env::temp_dir().join(format!("eas-sync-state-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let endpoint = "https://outlook.office365.com";
    let stores = [
        JsonFileStore::for_tenant(&dir, "tenant-a.onmicrosoft.com", endpoint),
        JsonFileStore::for_tenant(&dir, "tenant-b.onmicrosoft.com", endpoint),
        JsonFileStore::for_tenant(&dir, "tenant-a.onmicrosoft.com", "https://other.example"),
    ];
    let base = chrono::Utc::now();
    // Many concurrent saves of the three keys, interleaved.
    let mut tasks = Vec::new();
    for round in 0..20i64 {
        for (i, store) in stores.iter().enumerate() {
            let store = store.clone();
            let at = base + chrono::Duration::seconds(round * 10 + i as i64);
            tasks.push(tokio::spawn(async move {
                store.save(StateMark::SyncedThrough, at).await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for (i, store) in stores.iter().enumerate() {
        let got = store
            .load(StateMark::SyncedThrough)
            .await
            .unwrap()
            .expect("state kept");
        let own = (got - base).num_seconds() % 10;
        assert_eq!(own, i as i64, "store {i} holds another key's state");
    }
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "one file per key, no temp file left: {names:?}"
    );
    // The same key, spelled differently, is the same file.
    let same = JsonFileStore::for_tenant(
        &dir,
        "Tenant-A.onmicrosoft.com",
        "https://outlook.office365.com/",
    );
    assert_eq!(same.path(), stores[0].path());
    // A failed check of tenant C shows no other tenant's last sync.
    let fake = FakeExchangeClient::new(TenantBuilder::new().seed(1).build());
    fake.fail(None, Failure::Unauthorized, Times::Always);
    let c = JsonFileStore::for_tenant(&dir, "tenant-c.onmicrosoft.com", endpoint);
    let report = ConnectionValidator::new(&fake, ConnectorProfile::ExchangeOnline)
        .store(Arc::new(c))
        .validate()
        .await;
    assert_eq!(report.status.as_str(), "failed");
    assert_eq!(report.last_successful_sync, None);
    // A file of tenant A is refused by a store keyed to tenant B.
    let wrong = JsonFileStore::new(stores[0].path()).with_key("tenant-b.onmicrosoft.com", endpoint);
    let err = wrong
        .load(StateMark::SyncedThrough)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("tenant-a.onmicrosoft.com"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
