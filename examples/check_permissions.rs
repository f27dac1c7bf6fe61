//! Check whether an account may run every cmdlet a connector needs.
//!
//! ```text
//! cargo run --features test-util --example check_permissions -- --profile exchange-online [--probe] [--format json]
//! ```
//!
//! Connection from the environment (see the `auth` module documentation): `EXO_TENANT_ID`,
//! `EXO_ENVIRONMENT`, `EXO_ENDPOINT` (base-URL override; plain http only for loopback), and
//! `EXO_ACCESS_TOKEN` or `EXO_CLIENT_ID` + `EXO_CLIENT_SECRET` / `EXO_CLIENT_CERTIFICATE`.
//! With neither `EXO_TENANT_ID` nor `EXO_ENDPOINT` set, an embedded simulator is started (and
//! stderr says so).
//!
//! Exit code: 0 when everything is granted, 2 when something is not, 1 on error. The report
//! goes to stdout; diagnostics to stderr.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use exchange_activesync::auth::{StaticToken, settings_from_env};
use exchange_activesync::environment::check_endpoint;
use exchange_activesync::permissions::{EXIT_ERROR, OutputFormat, Profile, run_check};
use exchange_activesync::testing::{Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder};
use exchange_activesync::{Environment, HttpExchangeClient};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Can this account run every cmdlet the connector needs?
#[derive(Debug, Parser)]
struct Args {
    /// Connector profile: exchange-online or hosted-exchange.
    #[arg(long, default_value = "exchange-online")]
    profile: String,
    /// Also run read-only probes of the Get-* cmdlets (never a write).
    #[arg(long)]
    probe: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The client from the EXO_* variables, or one talking to a freshly started simulator.
async fn connect() -> Result<(HttpExchangeClient, Option<SimulatorHandle>), String> {
    if var("EXO_TENANT_ID").is_none() && var("EXO_ENDPOINT").is_none() {
        eprintln!(
            "EXO_TENANT_ID and EXO_ENDPOINT are not set: checking against the embedded simulator"
        );
        let tenant = TenantBuilder::new().seed(1).mailboxes(3).devices(3).build();
        let sim = Simulator::start(SimulatorConfig::new(tenant))
            .await
            .map_err(|e| e.to_string())?;
        let client = HttpExchangeClient::builder()
            .tenant(sim.tenant_id())
            .environment(Environment::Custom {
                base_url: sim.base_url(),
                scope: Environment::Commercial.scope(),
                authority: Environment::Commercial.authority(),
            })
            .token_provider(Arc::new(StaticToken::new(sim.token())))
            .build()
            .map_err(|e| e.to_string())?;
        return Ok((client, Some(sim)));
    }
    let settings = settings_from_env()
        .map_err(|e| e.to_string())?
        .ok_or("no credential: set EXO_ACCESS_TOKEN or EXO_CLIENT_ID + EXO_CLIENT_SECRET")?;
    let mut environment = settings.environment;
    if let Some(endpoint) = var("EXO_ENDPOINT") {
        let base_url = url::Url::parse(&endpoint).map_err(|e| format!("EXO_ENDPOINT: {e}"))?;
        check_endpoint(&base_url).map_err(|e| format!("EXO_ENDPOINT: {e}"))?;
        environment = Environment::Custom {
            base_url,
            scope: environment.scope(),
            authority: environment.authority(),
        };
    }
    let client = HttpExchangeClient::builder()
        .tenant(settings.tenant)
        .environment(environment)
        .token_provider(settings.provider)
        .build()
        .map_err(|e| e.to_string())?;
    Ok((client, None))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let profile: Profile = match args.profile.parse() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let (client, _simulator) = match connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let format = match args.format {
        Format::Text => OutputFormat::Text,
        Format::Json => OutputFormat::Json,
    };
    let out = run_check(&client, &profile, args.probe, format).await;
    for line in &out.stderr {
        eprintln!("{line}");
    }
    if !out.stdout.is_empty() {
        println!("{}", out.stdout);
    }
    ExitCode::from(out.exit_code)
}
