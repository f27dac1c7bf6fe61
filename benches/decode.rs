//! Typed decoding of a realistic 1,000-device `Get-MobileDevice` page versus an untyped
//! `serde_json::from_slice::<serde_json::Value>` of the same bytes.
//!
//! Run with `cargo bench --bench decode`. Besides criterion's own report (with MB/s), the bench
//! prints the ratio typed ÷ untyped measured in the same run, with the two interleaved so that
//! machine noise affects both alike. Target: ratio ≤ 1.0.

use std::hint::black_box;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use exchange_activesync::models::MobileDevice;
use exchange_activesync::protocol::decode_page;
use exchange_activesync_testkit::{Call, TenantBuilder, execute};

/// A full `InvokeCommand` response body: 1,000 devices as the simulator encodes them (annotation
/// keys on some objects, sizes, dates with 7 fractional digits, nulls, non-ASCII names).
fn page_bytes() -> Vec<u8> {
    let tenant = TenantBuilder::new()
        .seed(42)
        .mailboxes(400)
        .devices(1000)
        .build();
    let tenant = RwLock::new(tenant);
    let mut params = serde_json::Map::new();
    params.insert("ResultSize".into(), serde_json::json!("Unlimited"));
    let outcome = execute(&tenant, &Call::new("Get-MobileDevice", &params)).expect("engine runs");
    assert_eq!(outcome.row_count, 1000);
    let mut body = br##"{"@odata.context":"https://outlook.office365.com/adminapi/beta/t/$metadata#Collection(Exchange.GenericHashTable)","adminapi.warnings@odata.type":"#Collection(String)","@adminapi.warnings":[],"value":"##.to_vec();
    body.extend_from_slice(&outcome.rows_json);
    body.push(b'}');
    body
}

fn typed(body: &[u8]) -> usize {
    let page = decode_page("Get-MobileDevice", body).expect("valid page");
    let rows: Vec<MobileDevice> = page.rows().expect("typed rows");
    rows.len()
}

fn untyped(body: &[u8]) -> usize {
    let v: serde_json::Value = serde_json::from_slice(body).expect("valid JSON");
    v["value"].as_array().map_or(0, Vec::len)
}

fn bench_decode(c: &mut Criterion) {
    let body = page_bytes();
    assert_eq!(typed(&body), 1000);
    assert_eq!(untyped(&body), 1000);
    let mut group = c.benchmark_group("decode_1000_devices");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("typed_MobileDevice", |b| b.iter(|| typed(black_box(&body))));
    group.bench_function("untyped_serde_json_Value", |b| {
        b.iter(|| untyped(black_box(&body)))
    });
    group.finish();
}

/// Interleaved same-run comparison, printed as a ratio.
fn ratio_report() {
    let body = page_bytes();
    let rounds = 30;
    let mut typed_time = Duration::ZERO;
    let mut untyped_time = Duration::ZERO;
    for _ in 0..3 {
        typed(&body);
        untyped(&body);
    }
    for _ in 0..rounds {
        let t = Instant::now();
        black_box(typed(black_box(&body)));
        typed_time += t.elapsed();
        let t = Instant::now();
        black_box(untyped(black_box(&body)));
        untyped_time += t.elapsed();
    }
    let mb = body.len() as f64 * rounds as f64 / 1_000_000.0;
    println!(
        "decode ratio typed/untyped = {:.3} (typed {:.1} MB/s, untyped {:.1} MB/s, page {} bytes)",
        typed_time.as_secs_f64() / untyped_time.as_secs_f64(),
        mb / typed_time.as_secs_f64(),
        mb / untyped_time.as_secs_f64(),
        body.len()
    );
}

criterion_group!(benches, bench_decode);

fn main() {
    benches();
    ratio_report();
    Criterion::default().configure_from_args().final_summary();
}
