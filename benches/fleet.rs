//! Fleet throughput: 20 tenants of 600 devices and 240 mailboxes each, every tenant capped at
//! 2 concurrent requests (beyond it the simulator answers the plain-text concurrency 429 at
//! once) with 200 ms latency per answered request, all served by one in-process `Simulator`
//! over loopback HTTP; tokens come from the simulator's token endpoint through the fleet's
//! client-credentials code. The fleet runs the inventory with statistics with default
//! settings (tenant concurrency 32, global budget 256, each tenant's throttle starting at 4
//! and finding the cap of 2 by itself).
//!
//! Run with `cargo bench --bench fleet` (a custom `main`, not criterion: one run takes tens
//! of seconds). Prints:
//!
//! * the measured time of the whole fleet;
//! * the ideal time: the slowest tenant's Σ service time ÷ its cap, i.e. the maximum over the
//!   tenants of `answered requests × 200 ms ÷ 2`, where a tenant's answered requests are its
//!   admin API requests counted by the simulator minus its concurrency 429s (those are
//!   answered at once, without the latency, and cost no service time);
//! * the efficiency `ideal ÷ measured` (target ≥ 0.85);
//! * the sequential baseline: one tenant synced alone, measured in the same run, × 20 (the
//!   20 tenants are identical in size, cap and latency, so syncing them one after another
//!   takes 20 times one of them; their seeded data differ only in how many of the 240
//!   mailboxes hold devices, hence a few percent more or fewer statistics calls), and the
//!   speed-up over it;
//! * the same fleet run again with the global budget set to exactly 40 (= 20 × 2, what the
//!   tenants' caps allow at most): about the same time shows that the default budget (256)
//!   is not what limits the run.
//!
//! Every run is checked: every device of every tenant delivered once, with its statistics; a
//! run that is fast but wrong panics instead of printing numbers.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use exchange_activesync::fleet::{Fleet, FleetItem, SyncOutcome, TenantList};
use exchange_activesync_testkit::{
    FaultPlan, Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder,
};
use futures::StreamExt;

const TENANTS: usize = 20;
const DEVICES: usize = 600;
const MAILBOXES: usize = 240;
const CAP: usize = 2;
const LATENCY: Duration = Duration::from_millis(200);

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
    /// Per tenant: answered requests, concurrency 429s.
    answered: Vec<u64>,
    rejections: Vec<u64>,
    tokens: u64,
}

impl Run {
    fn ideal(&self) -> Duration {
        let max = self.answered.iter().copied().max().unwrap_or(0);
        LATENCY.mul_f64(max as f64 / CAP as f64)
    }
}

/// Run the fleet inventory with statistics over `tenants` (indices into the simulator's
/// tenants) and check it.
async fn run(sim: &SimulatorHandle, tenants: &[usize], budget: Option<usize>) -> Run {
    let all = sim.tenants();
    let before_answered = answered(sim);
    let before_rejections: Vec<u64> = all.iter().map(|t| t.concurrency_rejections()).collect();
    let before_tokens: u64 = all.iter().map(|t| t.tokens_issued()).sum();
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
        tokens: all.iter().map(|t| t.tokens_issued()).sum::<u64>() - before_tokens,
    }
}

fn print(name: &str, r: &Run) {
    let ideal = r.ideal();
    let total: u64 = r.answered.iter().sum();
    let rejected: u64 = r.rejections.iter().sum();
    println!(
        "{name}: {} tenants in {:.2?}; answered requests per tenant {}..{} ({total} in all), \
         {rejected} concurrency 429s, {} tokens issued",
        r.answered.len(),
        r.elapsed,
        r.answered.iter().min().unwrap_or(&0),
        r.answered.iter().max().unwrap_or(&0),
        r.tokens,
    );
    println!(
        "  ideal {:.2?} (slowest tenant: {} answered × {} ms ÷ cap {CAP}), efficiency {:.3} (target ≥ 0.85)",
        ideal,
        r.answered.iter().max().unwrap_or(&0),
        LATENCY.as_millis(),
        ideal.as_secs_f64() / r.elapsed.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is read.
    let config = SimulatorConfig::tenants_from(TENANTS, |i| {
        TenantBuilder::new()
            .seed(9_000 + i as u64)
            .devices(DEVICES)
            .mailboxes(MAILBOXES)
    })
    .faults(FaultPlan::new().max_in_flight(CAP).latency(LATENCY));
    let sim = Simulator::start(config).await.expect("simulator");
    println!(
        "fleet bench: {TENANTS} tenants × {DEVICES} devices / {MAILBOXES} mailboxes, cap {CAP} \
         each, {} ms latency, inventory with statistics, default settings",
        LATENCY.as_millis()
    );

    let all: Vec<usize> = (0..TENANTS).collect();
    let fleet = run(&sim, &all, None).await;
    print("fleet (default budget 256)", &fleet);

    let alone = run(&sim, &[0], None).await;
    print("one tenant alone", &alone);
    let sequential = alone.elapsed * TENANTS as u32;
    println!(
        "sequential baseline: one tenant alone × {TENANTS} (the tenants are identical) = {:.1?} \
         (~{:.1} min); speed-up of the fleet {:.1}× (ideal {TENANTS}×)",
        sequential,
        sequential.as_secs_f64() / 60.0,
        sequential.as_secs_f64() / fleet.elapsed.as_secs_f64()
    );

    let budget = run(&sim, &all, Some(TENANTS * CAP)).await;
    print("fleet (global budget 40)", &budget);
    println!(
        "budget 40 vs 256: {:.2?} vs {:.2?} ({:+.1}%): the default budget is not the limit",
        budget.elapsed,
        fleet.elapsed,
        (budget.elapsed.as_secs_f64() / fleet.elapsed.as_secs_f64() - 1.0) * 100.0
    );
    sim.shutdown().await;
}
