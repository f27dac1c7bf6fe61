//! Memory harness: streams every mobile device of a tenant into a sink that only counts them,
//! so that its peak resident memory shows what the client itself needs while enumerating.
//!
//! Needs `EXO_ENDPOINT` (or `EXO_ENVIRONMENT`), `EXO_TENANT_ID` and `EXO_ACCESS_TOKEN` (no
//! other `EXO_*` variable, and unlike the other examples no embedded simulator); it is
//! meant to run against `cargo run --release --example simulator` in another process, measured
//! with `/usr/bin/time -v` (see `benches/memory.sh`). Prints `devices=<n> pages=<p>` on stdout.

#[path = "common/mod.rs"]
mod common;

use clap::Parser;
use exchange_activesync::ExchangeClientExt;
use std::process::ExitCode;
use std::sync::Arc;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::cmdlets::GetMobileDevice;
use exchange_activesync::{Environment, HttpExchangeClient};
use futures::TryStreamExt;

/// Stream every mobile device into a counting sink (a memory harness).
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   every device was read; `devices=<n> pages=<p>` is printed on stdout
  1   could not run, or the enumeration failed: EXO_TENANT_ID or EXO_ACCESS_TOKEN not
      set, a bad EXO_ENDPOINT / EXO_ENVIRONMENT, connection, authentication, or the
      service refused it
  64  usage error: an unknown option

Reads EXO_TENANT_ID, EXO_ACCESS_TOKEN and EXO_ENDPOINT (or EXO_ENVIRONMENT); no other
EXO_* variable, and no embedded simulator: start `cargo run --release --example simulator`
first (benches/memory.sh does)."
))]
struct Args {}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if let Err(code) = common::parse_args::<Args>() {
        return code;
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let (Some(tenant), Some(token)) = (var("EXO_TENANT_ID"), var("EXO_ACCESS_TOKEN")) else {
        eprintln!(
            "stream_to_sink needs EXO_TENANT_ID and EXO_ACCESS_TOKEN (and EXO_ENDPOINT for a local server)"
        );
        return ExitCode::from(common::EXIT_FAILED);
    };
    let environment = match var("EXO_ENDPOINT") {
        Some(url) => Environment::custom(&url),
        None => var("EXO_ENVIRONMENT")
            .unwrap_or_default()
            .parse::<Environment>(),
    };
    let client = environment.and_then(|env| {
        HttpExchangeClient::builder()
            .tenant(tenant)
            .environment(env)
            .token_provider(Arc::new(StaticToken::new(token)))
            .build()
    });
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let mut stream = client.get_mobile_device_stream(GetMobileDevice::new());
    let mut count = 0u64;
    loop {
        match stream.try_next().await {
            Ok(Some(device)) => {
                std::hint::black_box(&device);
                count += 1;
            }
            Ok(None) => break,
            Err(e) => {
                common::report(&format!("error after {count} device(s)"), &e);
                return ExitCode::from(common::EXIT_FAILED);
            }
        }
    }
    let report = stream.report();
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    println!("devices={count} pages={}", report.pages);
    ExitCode::SUCCESS
}
