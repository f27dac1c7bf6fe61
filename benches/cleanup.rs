//! Stale cleanup throughput: 1,000 stale devices removed by `apply_cleanup` through
//! `HttpExchangeClient`, against the in-process `Simulator` over loopback HTTP with 5 ms
//! latency per request and a per-tenant cap of 12 concurrent requests (above the old fixed
//! bound of 8 of the cleanup, so the run shows that it reaches the tenant's cap) (beyond it the simulator
//! answers the concurrency 429, which the client retries: a throttled request was not
//! processed).
//!
//! Run with `cargo bench --bench cleanup` (a custom `main`: one run takes seconds). Each
//! device costs two requests (the statistics re-read, then `Remove-MobileDevice`). Prints
//! the time of `apply_cleanup` with fan-out 1 and with the default fan-out, their
//! ratio (expected close to the cap) and the 429s. Both runs are checked: every candidate
//! removed, exactly one `Remove-MobileDevice` per device, the tenant empty of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use exchange_activesync::auth::StaticToken;
use exchange_activesync::connector::{
    ApplyOptions, CleanupConfirmation, DEFAULT_CLEANUP_FAN_OUT, StaleCriteria, apply_cleanup,
    plan_stale_cleanup,
};
use exchange_activesync::{Environment, HttpExchangeClient, RetryPolicy};
use exchange_activesync_testkit::{
    RbacProfile, Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder,
};

const DEVICES: usize = 1_000;
const LATENCY: Duration = Duration::from_millis(5);
const CAP: usize = 12;

fn client(sim: &SimulatorHandle) -> Arc<HttpExchangeClient> {
    Arc::new(
        HttpExchangeClient::builder()
            .environment(Environment::custom(sim.base_url().as_str()).expect("loopback URL"))
            .tenant(sim.tenant_id())
            .token_provider(Arc::new(StaticToken::new(sim.token())))
            .retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(20)
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(100)),
            )
            .build()
            .expect("client builds"),
    )
}

async fn run(concurrency: usize) -> (Duration, u64, u64) {
    let mut tenant = TenantBuilder::new()
        .seed(7)
        .mailboxes(400)
        .devices(DEVICES)
        .rbac_profile(RbacProfile::Full)
        .build();
    let now = tenant.now();
    let all: Vec<_> = tenant.devices().cloned().collect();
    for mut d in all {
        d.last_success_sync = Some(now - TimeDelta::days(200));
        tenant.add_device(d);
    }
    let sim = Simulator::start(SimulatorConfig::new(tenant))
        .await
        .expect("simulator starts");
    let client = client(&sim);
    let plan = plan_stale_cleanup(&*client, StaleCriteria::older_than(days(90)), now)
        .await
        .expect("plan");
    assert_eq!(plan.candidates.len(), DEVICES);
    sim.set_latency(Some(LATENCY));
    sim.set_max_in_flight(Some(CAP));
    let before_429 = sim.status_count(429);
    let before = sim.request_count();
    let t = Instant::now();
    let report = apply_cleanup(
        client.as_ref(),
        &plan,
        CleanupConfirmation::i_reviewed(&plan),
        ApplyOptions::new(DEVICES).fan_out(concurrency),
    )
    .await
    .expect("apply");
    let elapsed = t.elapsed();
    assert!(report.all_removed(), "not all removed");
    assert_eq!(report.count("removed"), DEVICES);
    assert_eq!(sim.tenant().device_count(), 0);
    let requests = sim.request_count() - before;
    (elapsed, requests, sim.status_count(429) - before_429)
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!(
            "{DEVICES} stale devices, {} ms latency, per-tenant cap {CAP}",
            LATENCY.as_millis()
        );
        let (seq, seq_req, seq_429) = run(1).await;
        println!(
            "fan-out 1:  {:>7.2} s, {seq_req} requests, {seq_429} throttled",
            seq.as_secs_f64()
        );
        let (par, par_req, par_429) = run(DEFAULT_CLEANUP_FAN_OUT).await;
        println!(
            "fan-out {DEFAULT_CLEANUP_FAN_OUT} (default):  {:>7.2} s, {par_req} requests, {par_429} throttled",
            par.as_secs_f64()
        );
        // The ideal: every answered request (not the concurrency 429s, which the simulator
        // answers at once) at the cap, back to back.
        let answered = par_req - par_429;
        let ideal = LATENCY.mul_f64(answered as f64 / CAP as f64);
        println!(
            "speed-up {:.1}x (cap {CAP}); at-cap efficiency {:.2} (answered requests x latency / cap / measured)",
            seq.as_secs_f64() / par.as_secs_f64(),
            ideal.as_secs_f64() / par.as_secs_f64()
        );
    });
}
