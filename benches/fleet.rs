//! Fleet throughput: 20 tenants of 600 devices and 240 mailboxes each, every tenant capped at
//! 2 concurrent requests (beyond it the simulator answers the plain-text concurrency 429)
//! with 200 ms latency per answered request plus the simulator's row cost (by default 1/75 of
//! the latency per row on the page: a 600-row page costs 1.8 s), all served by one in-process
//! `Simulator` over loopback HTTP; tokens come from the simulator's token endpoint through the
//! fleet's client-credentials code. The fleet runs the inventory with statistics with default
//! settings (tenant concurrency 32, global budget 256, each tenant's throttle starting at 4,
//! or at the cap the fleet's tenants have shown so far).
//!
//! Run with `cargo bench --bench fleet` (a custom `main`, not criterion: one run takes tens
//! of seconds); `cargo bench --bench fleet -- --small` runs 200 tenants of 50 devices and 20
//! mailboxes at 50 ms instead. Prints:
//!
//! * the measured time of the whole fleet, and the concurrency 429s as a share of the
//!   answered requests;
//! * the ideal time: the slowest tenant's Σ service time ÷ its cap (or, when more tenants
//!   than the default tenant concurrency of 32 run, the fleet's Σ service time ÷ (cap × 32),
//!   if longer), where the service time of a tenant is what the simulator spent on the
//!   requests it admitted (latency plus row cost; the concurrency 429s cost no service time);
//! * the efficiency `ideal ÷ measured`;
//! * the sequential baseline: one tenant synced alone, measured in the same run, × the number
//!   of tenants (the tenants are alike in size, cap and latency; their seeded data differ
//!   only in how many mailboxes hold devices), and the speed-up over it;
//! * (large fleet) the same fleet run again with the global budget set to exactly tenants ×
//!   cap: about the same time shows that the default budget (256) is not what limits the run.
//!
//! Every run is checked: every device of every tenant delivered once, with its statistics; a
//! run that is fast but wrong panics instead of printing numbers.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use exchange_activesync::fleet::{
    DEFAULT_TENANT_CONCURRENCY, Fleet, FleetItem, SyncOutcome, TenantList,
};
use exchange_activesync_testkit::{
    FaultPlan, Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder,
};
use futures::StreamExt;

const CAP: usize = 2;

/// The fleet measured: `cargo bench --bench fleet` runs the large one, `… -- --small` the
/// small one.
#[derive(Clone, Copy)]
struct Scenario {
    tenants: usize,
    devices: usize,
    mailboxes: usize,
    latency: Duration,
    /// Also run the fleet with a global budget of exactly tenants × cap.
    budget_run: bool,
}

const LARGE: Scenario = Scenario {
    tenants: 20,
    devices: 600,
    mailboxes: 240,
    latency: Duration::from_millis(200),
    budget_run: true,
};

const SMALL: Scenario = Scenario {
    tenants: 200,
    devices: 50,
    mailboxes: 20,
    latency: Duration::from_millis(50),
    budget_run: false,
};

/// Requests a tenant's server answered with its latency: all of them but the concurrency
/// 429s.
fn answered(sim: &SimulatorHandle) -> Vec<u64> {
    sim.tenants()
        .iter()
        .map(|t| t.request_count() - t.concurrency_rejections())
        .collect()
}

struct Run {
    elapsed: Duration,
    /// Per tenant: answered requests, concurrency 429s, service time (latency and row cost
    /// of the answered requests, counted by the simulator).
    answered: Vec<u64>,
    rejections: Vec<u64>,
    service: Vec<Duration>,
    tokens: u64,
}

impl Run {
    /// The shortest possible time: the slowest tenant's Σ service time ÷ its cap, or the
    /// whole fleet's Σ service time ÷ (cap × the tenants worked at once), if longer.
    fn ideal(&self) -> Duration {
        let max = self.service.iter().copied().max().unwrap_or_default();
        let total: Duration = self.service.iter().sum();
        let at_once = self.service.len().clamp(1, DEFAULT_TENANT_CONCURRENCY) as u32;
        (max / CAP as u32).max(total / (CAP as u32 * at_once))
    }
}

/// Run the fleet inventory with statistics over `tenants` (indices into the simulator's
/// tenants) and check it.
async fn run(sim: &SimulatorHandle, tenants: &[usize], budget: Option<usize>) -> Run {
    let all = sim.tenants();
    let before_answered = answered(sim);
    let before_rejections: Vec<u64> = all.iter().map(|t| t.concurrency_rejections()).collect();
    let before_tokens: u64 = all.iter().map(|t| t.tokens_issued()).sum();
    let before_service: Vec<Duration> = all.iter().map(|t| t.service_time()).collect();
    let list = TenantList::from_ids(tenants.iter().map(|&i| all[i].domain().to_string()))
        .expect("tenants");
    let mut builder = Fleet::builder(list)
        .endpoint(sim.base_url())
        .authority(sim.authority())
        .client_secret(sim.app().client_id.clone(), sim.app().client_secret.clone());
    if let Some(n) = budget {
        builder = builder.global_budget(n);
    }
    let fleet = builder.build().expect("fleet");
    let started = Instant::now();
    let mut stream = fleet.inventory(true);
    let mut seen: HashMap<String, HashSet<uuid::Uuid>> = HashMap::new();
    let mut done = 0;
    while let Some(item) = stream.next().await {
        match item {
            FleetItem::Record { tenant, record } => {
                assert!(record.statistics.is_some(), "a record without statistics");
                let fresh = seen
                    .entry(tenant.as_str().to_string())
                    .or_default()
                    .insert(record.device.guid.expect("guid"));
                assert!(fresh, "a device delivered twice");
            }
            FleetItem::TenantDone(s) => {
                assert_eq!(s.outcome, SyncOutcome::Complete, "{s:?}");
                done += 1;
            }
            _ => {}
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(done, tenants.len());
    for &i in tenants {
        let expected: HashSet<uuid::Uuid> = all[i].tenant().devices().map(|d| d.guid).collect();
        assert_eq!(seen[all[i].domain()], expected, "tenant {i}");
    }
    let after = answered(sim);
    Run {
        elapsed,
        answered: tenants
            .iter()
            .map(|&i| after[i] - before_answered[i])
            .collect(),
        rejections: tenants
            .iter()
            .map(|&i| all[i].concurrency_rejections() - before_rejections[i])
            .collect(),
        service: tenants
            .iter()
            .map(|&i| all[i].service_time() - before_service[i])
            .collect(),
        tokens: all.iter().map(|t| t.tokens_issued()).sum::<u64>() - before_tokens,
    }
}

fn print(name: &str, r: &Run) {
    let ideal = r.ideal();
    let total: u64 = r.answered.iter().sum();
    let rejected: u64 = r.rejections.iter().sum();
    println!(
        "{name}: {} tenants in {:.2?}; answered requests per tenant {}..{} ({total} in all), \
         {rejected} concurrency 429s ({:.2}% of answered), {} tokens issued",
        r.answered.len(),
        r.elapsed,
        r.answered.iter().min().unwrap_or(&0),
        r.answered.iter().max().unwrap_or(&0),
        rejected as f64 * 100.0 / total.max(1) as f64,
        r.tokens,
    );
    println!(
        "  ideal {:.2?} (slowest tenant's Σ service {:.2?} ÷ cap {CAP}, or all tenants' Σ \
         service {:.2?} ÷ (cap × {} tenants at once), the longer), efficiency {:.3}",
        ideal,
        r.service.iter().max().copied().unwrap_or_default(),
        r.service.iter().sum::<Duration>(),
        r.service.len().clamp(1, DEFAULT_TENANT_CONCURRENCY),
        ideal.as_secs_f64() / r.elapsed.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `--small` picks the small fleet.
    let sc = if std::env::args().any(|a| a == "--small") {
        SMALL
    } else {
        LARGE
    };
    let tenants = sc.tenants;
    let config = SimulatorConfig::tenants_from(tenants, |i| {
        TenantBuilder::new()
            .seed(9_000 + i as u64)
            .devices(sc.devices)
            .mailboxes(sc.mailboxes)
    })
    .faults(FaultPlan::new().max_in_flight(CAP).latency(sc.latency));
    let row_cost = config.row_cost;
    let sim = Simulator::start(config).await.expect("simulator");
    println!(
        "fleet bench: {tenants} tenants × {} devices / {} mailboxes, cap {CAP} each, {} ms \
         latency + {:.2} ms per row (simulator row cost {row_cost:.4} of the latency), \
         inventory with statistics, default settings",
        sc.devices,
        sc.mailboxes,
        sc.latency.as_millis(),
        sc.latency.as_secs_f64() * 1000.0 * row_cost,
    );

    let all: Vec<usize> = (0..tenants).collect();
    let fleet = run(&sim, &all, None).await;
    print("fleet (default budget 256)", &fleet);

    let alone = run(&sim, &[0], None).await;
    print("one tenant alone", &alone);
    let sequential = alone.elapsed * tenants as u32;
    println!(
        "sequential baseline: one tenant alone × {tenants} (the tenants are alike) = {:.1?} \
         (~{:.1} min); speed-up of the fleet {:.1}× (ideal {tenants}× at most, bounded by the \
         global budget and the tenant concurrency)",
        sequential,
        sequential.as_secs_f64() / 60.0,
        sequential.as_secs_f64() / fleet.elapsed.as_secs_f64()
    );

    if sc.budget_run {
        let budget = run(&sim, &all, Some(tenants * CAP)).await;
        print(&format!("fleet (global budget {})", tenants * CAP), &budget);
        println!(
            "budget {} vs 256: {:.2?} vs {:.2?} ({:+.1}%)",
            tenants * CAP,
            budget.elapsed,
            fleet.elapsed,
            (budget.elapsed.as_secs_f64() / fleet.elapsed.as_secs_f64() - 1.0) * 100.0
        );
    }
    sim.shutdown().await;
}
