//! Inventory sync against the tenant model, with faults injected.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exchange_activesync::connector::{DeviceRecord, InventorySync};
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};
use exchange_activesync::types::MobileDeviceIdentity;
use exchange_activesync::{
    Environment, Error, ExchangeClient, HttpExchangeClient, Result, RetryPolicy, async_trait,
};
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, Fault, FaultPlan, FaultStep, FaultTimes, RbacProfile, Scripted,
    Simulator, SimulatorConfig, TenantBuilder, Times,
};
use futures::StreamExt;
use tokio::time::Instant;
use uuid::Uuid;

/// Wraps the fake: small pages, scripted failures on continuations, one mailbox whose
/// statistics always fail, and a log of (cmdlet, start time, mailbox) per call.
struct Chaos {
    inner: FakeExchangeClient,
    page_size: u32,
    /// Fail the n-th continuation request (1-based) with an expired-pagination error.
    expire_continuation: Mutex<Vec<usize>>,
    continuations: Mutex<usize>,
    bad_mailbox: Option<String>,
    log: Mutex<Vec<(String, Instant, Option<String>)>>,
}

impl Chaos {
    fn new(inner: FakeExchangeClient) -> Self {
        Chaos {
            inner,
            page_size: 40,
            expire_continuation: Mutex::new(Vec::new()),
            continuations: Mutex::new(0),
            bad_mailbox: None,
            log: Mutex::new(Vec::new()),
        }
    }
    fn starts(&self, cmdlet: &str) -> Vec<Instant> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _, _)| c == cmdlet)
            .map(|(_, t, _)| *t)
            .collect()
    }
}

fn api(f: Failure, cmdlet: &str) -> Error {
    Error::from(f.to_api_error(Some(cmdlet), None))
}

#[async_trait]
impl ExchangeClient for Chaos {
    async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
        let mailbox = inv
            .parameters()
            .get("Mailbox")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        self.log
            .lock()
            .unwrap()
            .push((inv.cmdlet().to_string(), Instant::now(), mailbox));
        if next.is_some() {
            let n = {
                let mut c = self.continuations.lock().unwrap();
                *c += 1;
                *c
            };
            if self.expire_continuation.lock().unwrap().contains(&n) {
                return Err(api(Failure::PaginationExpired, inv.cmdlet()));
            }
        }
        if let Some(bad) = &self.bad_mailbox
            && inv.cmdlet() == "Get-MobileDeviceStatistics"
            && inv.parameters().get("Mailbox").and_then(|v| v.as_str()) == Some(bad.as_str())
        {
            return Err(api(Failure::Unavailable, inv.cmdlet()));
        }
        let inv = inv.clone().page_size(self.page_size);
        self.inner.invoke_page(&inv, next).await
    }
}

fn tenant_guids(fake: &FakeExchangeClient) -> HashSet<Uuid> {
    fake.tenant().devices().map(|d| d.guid).collect()
}

fn mailbox_of_first_device(fake: &FakeExchangeClient) -> String {
    let t = fake.tenant();
    let d = t.devices().next().unwrap();
    let id = MobileDeviceIdentity::new(t.device_identity(d)).unwrap();
    id.mailbox().unwrap().to_string()
}

fn fake(devices: usize, mailboxes: usize) -> FakeExchangeClient {
    FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(7)
            .mailboxes(mailboxes)
            .devices(devices)
            .rbac_profile(RbacProfile::Full)
            .build(),
    )
}

fn guids(records: &[DeviceRecord]) -> Vec<Uuid> {
    records.iter().map(|r| r.device.guid.unwrap()).collect()
}

#[tokio::test]
async fn exact_tenant_devices_despite_expired_continuations_and_a_failing_mailbox() {
    let mut chaos = Chaos::new(fake(300, 60));
    let expected = tenant_guids(&chaos.inner);
    let bad = mailbox_of_first_device(&chaos.inner);
    let bad_devices = {
        let t = chaos.inner.tenant();
        t.devices()
            .filter(|d| {
                MobileDeviceIdentity::new(t.device_identity(d))
                    .unwrap()
                    .mailbox()
                    == Some(bad.as_str())
            })
            .count()
    };
    chaos.bad_mailbox = Some(bad.clone());
    *chaos.expire_continuation.lock().unwrap() = vec![2, 5];
    let client: Arc<dyn ExchangeClient> = Arc::new(chaos);
    let mut records = Vec::new();
    let progress = Arc::new(Mutex::new(Vec::new()));
    let p = progress.clone();
    let report = InventorySync::new(&*client)
        .with_statistics(true)
        .on_progress(move |s| p.lock().unwrap().push(s.clone()))
        .run(|r| records.push(r))
        .await
        .unwrap();

    let got = guids(&records);
    let unique: HashSet<Uuid> = got.iter().copied().collect();
    assert_eq!(got.len(), unique.len(), "a device was delivered twice");
    assert_eq!(unique, expected, "devices lost or invented");
    assert_eq!(report.devices, expected.len());
    assert_eq!(report.restarts, 2);
    assert!(
        report.duplicates_skipped > 0,
        "restart re-read rows must be skipped"
    );
    assert_eq!(report.failed_mailboxes.len(), 1);
    assert_eq!(report.failed_mailboxes[0].0, bad);
    assert!(report.failed_mailboxes[0].1.contains("503"));
    assert_eq!(report.with_statistics, expected.len() - bad_devices);
    assert!(!report.is_complete());
    // Every record with statistics has the statistics of that very device.
    for r in &records {
        if let Some(s) = &r.statistics {
            assert_eq!(s.guid, r.device.guid);
        }
    }
    let progress = progress.lock().unwrap();
    assert!(!progress.is_empty());
    assert_eq!(progress.last().unwrap().records_delivered, expected.len());
}

#[tokio::test]
async fn statistics_are_read_once_per_mailbox_across_pages() {
    // 40-device pages over 60 mailboxes: most mailboxes have devices on several pages.
    let run = |pending: Option<usize>| async move {
        let chaos = Arc::new(Chaos::new(fake(300, 60)));
        let (expected, mailboxes) = {
            let t = chaos.inner.tenant();
            let expected: HashSet<Uuid> = t.devices().map(|d| d.guid).collect();
            let mailboxes = (0..t.mailboxes().len())
                .filter(|i| t.has_devices(*i))
                .count();
            (expected, mailboxes)
        };
        let client: Arc<dyn ExchangeClient> = chaos.clone();
        let mut sync = InventorySync::new(&*client).with_statistics(true);
        if let Some(rows) = pending {
            sync = sync.max_pending_statistics(rows);
        }
        let mut records = Vec::new();
        let report = sync.run(|r| records.push(r)).await.unwrap();
        assert_eq!(
            records
                .iter()
                .map(|r| r.device.guid.unwrap())
                .collect::<HashSet<_>>(),
            expected
        );
        for r in &records {
            let s = r.statistics.as_ref().expect("every device joined");
            assert_eq!(s.guid, r.device.guid);
        }
        assert_eq!(report.with_statistics, expected.len());
        let calls = chaos.starts("Get-MobileDeviceStatistics").len();
        assert_eq!(calls, report.statistics_calls);
        (calls, mailboxes)
    };
    let (calls, mailboxes) = run(None).await;
    assert_eq!(calls, mailboxes, "one statistics call per mailbox");
    // Without pending rows, a mailbox is asked again on every page that has its devices.
    let (calls, mailboxes) = run(Some(0)).await;
    assert!(calls > mailboxes, "{calls} calls for {mailboxes} mailboxes");
    // A small budget still joins everything, with calls in between.
    let (small, _) = run(Some(30)).await;
    assert!(small >= mailboxes && small <= calls, "{small}");
}

#[tokio::test]
async fn stream_delivers_every_device_once() {
    let client: Arc<dyn ExchangeClient> = Arc::new(Chaos::new(fake(120, 30)));
    let (stream, handle) = InventorySync::new(&*client).stream();
    let records: Vec<DeviceRecord> = stream.collect().await;
    let report = handle.await.unwrap().unwrap();
    assert_eq!(records.len(), 120);
    assert_eq!(report.devices, 120);
    assert_eq!(report.pages, 3);
    assert!(records.iter().all(|r| r.statistics.is_none()));
}

#[tokio::test]
async fn the_sync_makes_no_retries_of_its_own() {
    // Admission and retries are the client's job: a failing call is made once by the sync.
    let chaos = Chaos::new(fake(200, 50));
    let bad = mailbox_of_first_device(&chaos.inner);
    chaos.inner.fail(
        Some("Get-MobileDeviceStatistics"),
        Scripted::Service(Failure::throttled(Some(3.0))),
        Times::N(2),
    );
    chaos.inner.fail(
        Some("Get-MobileDevice"),
        Scripted::Service(Failure::Unavailable),
        Times::Once,
    );
    let chaos = Arc::new(chaos);
    let client: Arc<dyn ExchangeClient> = chaos.clone();
    let err = InventorySync::new(&*client)
        .with_statistics(true)
        .run(|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");
    assert_eq!(
        chaos.starts("Get-MobileDevice").len(),
        1,
        "the page was retried"
    );
    let report = InventorySync::new(&*client)
        .with_statistics(true)
        .run(|_| {})
        .await
        .unwrap();
    // The two throttled mailboxes fail (the fake has no retries); every mailbox is asked
    // exactly once.
    assert_eq!(report.failed_mailboxes.len(), 2, "{report:?}");
    assert_eq!(
        report.throttled, 2,
        "throttled errors are counted without a throttle"
    );
    let mut per_mailbox: HashMap<String, usize> = HashMap::new();
    for (cmdlet, _, mailbox) in chaos.log.lock().unwrap().iter() {
        if cmdlet == "Get-MobileDeviceStatistics" {
            *per_mailbox.entry(mailbox.clone().unwrap()).or_default() += 1;
        }
    }
    assert!(per_mailbox.contains_key(&bad));
    assert!(
        per_mailbox.values().all(|n| *n == 1),
        "a mailbox was asked more than once: {per_mailbox:?}"
    );
    assert_eq!(report.statistics_calls, per_mailbox.len());
}

#[tokio::test]
async fn incremental_filters_on_when_changed_and_saves_the_mark() {
    use exchange_activesync::connector::{MemoryStore, StateMark, SyncStateStore};
    let chaos = Chaos::new(fake(50, 20));
    let cutoff = chaos.inner.tenant().now();
    let changed: Uuid = {
        let mut t = chaos.inner.tenant_mut();
        let g = t.devices().nth(3).unwrap().guid;
        t.set_now(cutoff + chrono::Duration::hours(1));
        // A wipe request changes the device object (WhenChanged moves on).
        let id = g;
        t.advance_wipe(&id);
        g
    };
    let _ = changed;
    let store = Arc::new(MemoryStore::with(cutoff));
    let client: Arc<dyn ExchangeClient> = Arc::new(chaos);
    let full = InventorySync::new(&*client).run(|_| {}).await.unwrap();
    assert_eq!(full.devices, 50);
    let mut delivered = Vec::new();
    let report = InventorySync::new(&*client)
        .state_store(store.clone())
        .incremental()
        .run(|r| delivered.push(r))
        .await
        .unwrap();
    assert_eq!(report.devices + report.skipped_unchanged, 50);
    assert!(
        delivered
            .iter()
            .all(|r| r.device.when_changed_utc.unwrap() > cutoff)
    );
    let mark = store.load(StateMark::SyncedThrough).await.unwrap().unwrap();
    assert!(mark > cutoff, "a complete sync moves the mark");
}

#[tokio::test]
async fn over_http_with_throttling_resets_and_expiring_skiptokens() {
    let tenant = TenantBuilder::new()
        .seed(3)
        .mailboxes(60)
        .devices(250)
        .rbac_profile(RbacProfile::Full)
        .build();
    let expected: HashSet<Uuid> = tenant.devices().map(|d| d.guid).collect();
    let plan = FaultPlan::new()
        .step(FaultStep::new(
            Some("Get-MobileDeviceStatistics"),
            Fault::Fail(Failure::throttled(Some(0.2))),
            FaultTimes::N(3),
        ))
        .step(FaultStep::new(
            Some("Get-MobileDeviceStatistics"),
            Fault::Fail(Failure::throttled(None)),
            FaultTimes::N(2),
        ))
        .step(FaultStep::new(
            Some("Get-MobileDeviceStatistics"),
            Fault::Fail(Failure::Unavailable),
            FaultTimes::N(2),
        ))
        .step(FaultStep::new(
            Some("Get-MobileDeviceStatistics"),
            Fault::ConnectionReset,
            FaultTimes::N(2),
        ))
        .max_in_flight(4);
    let sim = Simulator::start(SimulatorConfig::new(tenant).faults(plan))
        .await
        .unwrap();
    let client = HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).unwrap())
        .tenant(sim.tenant_id())
        .token_provider(Arc::new(exchange_activesync::auth::StaticToken::new(
            sim.token(),
        )))
        .page_size(50)
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(50)),
        )
        .build()
        .unwrap();
    let client: Arc<dyn ExchangeClient> = Arc::new(client);
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    let sim = Arc::new(sim);
    let s2 = sim.clone();
    let pages = Arc::new(Mutex::new(0usize));
    let p2 = pages.clone();
    let report = InventorySync::new(&*client)
        .with_statistics(true)
        .on_progress(move |_| {
            let mut p = p2.lock().unwrap();
            *p += 1;
            // Expire the continuation the sync is about to follow, twice.
            if *p == 1 || *p == 3 {
                s2.expire_next_continuation();
            }
        })
        .run(|r| *seen.entry(r.device.guid.unwrap()).or_default() += 1)
        .await
        .unwrap();
    assert!(seen.values().all(|n| *n == 1), "duplicates delivered");
    assert_eq!(seen.keys().copied().collect::<HashSet<_>>(), expected);
    assert!(report.restarts >= 1, "{report:?}");
    assert!(report.throttled >= 1, "{report:?}");
    assert!(report.is_complete(), "{:?}", report.failed_mailboxes);
    assert_eq!(report.with_statistics, expected.len());
}
