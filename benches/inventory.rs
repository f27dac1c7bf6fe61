//! Inventory throughput: every device of a 10,000-device, 4,000-mailbox tenant joined with its
//! statistics, through `HttpExchangeClient` + `InventorySync`, against the in-process
//! `Simulator` over loopback HTTP with 100 ms latency per request plus the simulator's row
//! cost (by default 1/75 of the latency per row on the page: a 1,000-row page costs 1.43 s)
//! and a per-tenant cap of 12 concurrent requests (beyond it the simulator answers the
//! plain-text concurrency 429).
//!
//! Run with `cargo bench --bench inventory` (a custom `main`, not criterion: one run takes
//! about 40 s). Prints, for the adaptive sync (a client with default settings: its throttle
//! starts at 4 and may go up to 64, so it has to find the cap by itself) and for a reference
//! client capped at exactly 12 (nothing to discover):
//!
//! * requests counted at the simulator, the measured time, and the efficiency
//!   `ideal ÷ measured`, where the ideal is the simulator's Σ service time of the admitted
//!   requests (latency plus row cost) ÷ 12;
//! * the number of 429s, also as a share of the useful requests;
//! * the speed-up over a strictly sequential enumeration measured in the same run: one
//!   `Get-MobileDevice` enumeration, then one `Get-MobileDeviceStatistics -Mailbox` call per
//!   mailbox, one at a time (about 6.5 minutes at 100 ms).
//!
//! `cargo bench --bench inventory -- --no-sequential` skips the sequential run (no speed-up);
//! `-- --reference-first` runs the reference before the adaptive sync.
//!
//! Both runs are checked: every device delivered once and joined with its statistics; a run
//! that is fast but wrong panics instead of printing numbers.

use exchange_activesync::ExchangeClientExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use exchange_activesync::auth::StaticToken;
use exchange_activesync::cmdlets::{GetMobileDevice, GetMobileDeviceStatistics};
use exchange_activesync::connector::{InventorySync, SyncReport, device_mailbox};
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};
use exchange_activesync::throttle::TenantThrottle;
use exchange_activesync::types::MailboxIdentity;
use exchange_activesync::{Environment, ExchangeClient, HttpExchangeClient, Result, async_trait};
use exchange_activesync_testkit::{
    FaultPlan, Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder,
};
use futures::TryStreamExt;
use uuid::Uuid;

const DEVICES: usize = 10_000;
const MAILBOXES: usize = 4_000;
const LATENCY: Duration = Duration::from_millis(100);
const CAP: usize = 12;
/// An HTTP client for the simulator with default settings (retry policy, throttle), or
/// with a hard ceiling of `max_concurrency` concurrent requests.
fn client(sim: &SimulatorHandle, max_concurrency: Option<usize>) -> Arc<Timed> {
    let mut builder = HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).expect("loopback URL"))
        .tenant(sim.tenant_id())
        .token_provider(Arc::new(StaticToken::new(sim.token())));
    if let Some(n) = max_concurrency {
        builder = builder.max_concurrency(n);
    }
    let client = builder.build().expect("client builds");
    Arc::new(Timed {
        inner: client,
        calls: AtomicU64::new(0),
        busy_micros: AtomicU64::new(0),
    })
}

/// Measures how long the calls take as the caller sees them: their summed duration over the
/// wall time is the mean number of requests in flight.
struct Timed {
    inner: HttpExchangeClient,
    calls: AtomicU64,
    busy_micros: AtomicU64,
}

impl Timed {
    fn summary(&self, wall: Duration) -> String {
        let calls = self.calls.load(Ordering::Relaxed).max(1);
        let busy = self.busy_micros.load(Ordering::Relaxed) as f64 / 1e6;
        format!(
            "mean {:.1} requests in flight, {:.1} ms per request as the client sees it",
            busy / wall.as_secs_f64(),
            busy * 1000.0 / calls as f64
        )
    }
}

#[async_trait]
impl ExchangeClient for Timed {
    async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
        let t = Instant::now();
        let res = self.inner.invoke_page(inv, next).await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.busy_micros
            .fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
        res
    }

    fn throttle(&self) -> Option<Arc<TenantThrottle>> {
        Some(self.inner.throttle().clone())
    }
}

struct Measured {
    requests: u64,
    elapsed: Duration,
    throttled: u64,
    timing: String,
    /// The simulator's service time for the requests it admitted (latency and row cost).
    service: Duration,
}

impl Measured {
    /// Σ service ÷ cap: the shortest time any client could take for the same requests.
    fn ideal(&self) -> Duration {
        self.service / CAP as u32
    }
}

fn service_time(sim: &SimulatorHandle) -> Duration {
    sim.tenant_at(0).expect("primary tenant").service_time()
}

/// The adaptive sync; asserts that the result is complete and correct.
async fn adaptive(
    sim: &SimulatorHandle,
    expected: &HashSet<Uuid>,
    max_concurrency: Option<usize>,
) -> (Measured, SyncReport) {
    let client = client(sim, max_concurrency);
    let before = sim.request_count();
    let service_before = service_time(sim);
    let started = Instant::now();
    let mut seen: HashSet<Uuid> = HashSet::with_capacity(expected.len());
    let mut joined = 0usize;
    let mut duplicates = 0usize;
    let report = InventorySync::new(&*client)
        .with_statistics(true)
        .run(|record| {
            if record
                .statistics
                .as_ref()
                .is_some_and(|s| s.guid.is_some() && s.guid == record.device.guid)
            {
                joined += 1;
            }
            match record.device.guid {
                Some(g) if seen.insert(g) => {}
                _ => duplicates += 1,
            }
        })
        .await
        .expect("inventory sync succeeds");
    let elapsed = started.elapsed();
    let requests = sim.request_count() - before;
    assert_eq!(duplicates, 0, "devices delivered twice or without Guid");
    assert_eq!(
        &seen, expected,
        "every device of the tenant, and only those"
    );
    assert_eq!(report.devices, expected.len());
    assert_eq!(
        joined,
        expected.len(),
        "every device joined with its statistics"
    );
    assert_eq!(report.with_statistics, expected.len());
    assert!(report.is_complete(), "{:?}", report.failed_mailboxes);
    (
        Measured {
            requests,
            elapsed,
            throttled: report.throttled,
            timing: client.summary(elapsed),
            service: service_time(sim) - service_before,
        },
        report,
    )
}

/// What a script piping Get-MobileDevice into Get-MobileDeviceStatistics does: one
/// enumeration, then one statistics call per mailbox, one at a time.
async fn sequential(sim: &SimulatorHandle, expected: &HashSet<Uuid>) -> Measured {
    let client = client(sim, None);
    let before = sim.request_count();
    let service_before = service_time(sim);
    let started = Instant::now();
    let devices: Vec<_> = client
        .get_mobile_device_stream(GetMobileDevice::new())
        .try_collect()
        .await
        .expect("enumeration succeeds");
    let mut mailboxes: Vec<String> = Vec::new();
    let mut known: HashSet<String> = HashSet::new();
    for d in &devices {
        if let Some(m) = device_mailbox(d)
            && known.insert(m.clone())
        {
            mailboxes.push(m);
        }
    }
    let mut statistics: HashMap<Uuid, ()> = HashMap::with_capacity(devices.len());
    for m in &mailboxes {
        let rows = client
            .get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(
                MailboxIdentity::new(m).expect("mailbox identity"),
            ))
            .await
            .expect("statistics succeed");
        for s in rows.items {
            if let Some(g) = s.guid {
                statistics.insert(g, ());
            }
        }
    }
    let elapsed = started.elapsed();
    let requests = sim.request_count() - before;
    let seen: HashSet<Uuid> = devices.iter().filter_map(|d| d.guid).collect();
    assert_eq!(devices.len(), expected.len());
    assert_eq!(&seen, expected);
    assert!(
        seen.iter().all(|g| statistics.contains_key(g)),
        "every device joined with its statistics"
    );
    Measured {
        requests,
        elapsed,
        throttled: 0,
        timing: client.summary(elapsed),
        service: service_time(sim) - service_before,
    }
}

fn print_adaptive(label: &str, m: &Measured, report: &SyncReport) {
    let useful = m.requests - m.throttled;
    println!(
        "{label}: {} devices ({} with statistics), {} pages, {} requests at the simulator \
         ({} answered 429, {} useful), {:.2} s",
        report.devices,
        report.with_statistics,
        report.pages,
        m.requests,
        m.throttled,
        useful,
        m.elapsed.as_secs_f64()
    );
    println!(
        "{label}: efficiency = ideal {:.2} s (Σ service {:.2} s of the admitted requests ÷ \
         cap {CAP}) ÷ measured = {:.3}; 429s {:.2}% of the useful requests",
        m.ideal().as_secs_f64(),
        m.service.as_secs_f64(),
        m.ideal().as_secs_f64() / m.elapsed.as_secs_f64(),
        m.throttled as f64 * 100.0 / useful.max(1) as f64,
    );
    println!("{label}: {}", m.timing);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then only check that it
    // runs (nothing to measure).
    if !std::env::args().any(|a| a == "--bench") {
        println!("inventory bench: run with `cargo bench --bench inventory`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let tenant = TenantBuilder::new()
            .seed(1)
            .mailboxes(MAILBOXES)
            .devices(DEVICES)
            .build();
        let expected: HashSet<Uuid> = tenant.devices().map(|d| d.guid).collect();
        let with_devices = (0..tenant.mailboxes().len())
            .filter(|i| tenant.has_devices(*i))
            .count();
        assert_eq!(expected.len(), DEVICES);
        let plan = FaultPlan::new().latency(LATENCY).max_in_flight(CAP);
        let sim = Simulator::start(SimulatorConfig::new(tenant).faults(plan))
            .await
            .expect("simulator starts");
        println!(
            "inventory: {DEVICES} devices, {MAILBOXES} mailboxes ({with_devices} with devices), \
             latency {} ms, cap {CAP} concurrent requests (plain-text 429 beyond), \
             {} worker threads",
            LATENCY.as_millis(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );

        // `--reference-first`: run the reference before the adaptive sync (to see whether
        // the order matters).
        let reference_first = std::env::args().any(|a| a == "--reference-first");
        let mut adaptive_elapsed = Duration::ZERO;
        for run in 0..2 {
            if (run == 0) != reference_first {
                let (m, report) = adaptive(&sim, &expected, None).await;
                adaptive_elapsed = m.elapsed;
                print_adaptive(
                    "adaptive (default client: starts at 4, max 64)",
                    &m,
                    &report,
                );
            } else {
                let (capped, capped_report) = adaptive(&sim, &expected, Some(CAP)).await;
                print_adaptive(
                    &format!("reference (max = cap = {CAP})"),
                    &capped,
                    &capped_report,
                );
            }
        }

        if std::env::args().any(|a| a == "--no-sequential") {
            sim.shutdown().await;
            return;
        }
        let seq = sequential(&sim, &expected).await;
        println!(
            "sequential: {} requests, {:.2} s ({:.1} ms per request)",
            seq.requests,
            seq.elapsed.as_secs_f64(),
            seq.elapsed.as_secs_f64() * 1000.0 / seq.requests as f64
        );
        println!("sequential: {}", seq.timing);
        println!(
            "speed-up adaptive over sequential = {:.1}× (target ≥ 10×)",
            seq.elapsed.as_secs_f64() / adaptive_elapsed.as_secs_f64()
        );
        sim.shutdown().await;
    });
}
