//! Print the tenant's ActiveSync organization settings (`Get-ActiveSyncOrganizationSettings`).
//!
//! Configuration comes from the environment:
//!
//! * `EXO_TENANT_ID` (required): tenant GUID or domain;
//! * `EXO_ACCESS_TOKEN` (required): a bearer token for the Exchange Online resource;
//! * `EXO_ENVIRONMENT` (optional): `commercial` (default), `gcc-high`, `dod` or `china`;
//! * `EXO_ENDPOINT` (optional): base URL override (plain `http` only for loopback).
//!
//! ```text
//! cargo run --example org_settings -- --format json
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use exchange_activesync::auth::StaticToken;
use exchange_activesync::environment::check_endpoint;
use exchange_activesync::protocol::Parameters;
use exchange_activesync::{Environment, ExchangeClient, HttpExchangeClient};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Print the ActiveSync organization settings of a tenant.
#[derive(Debug, Parser)]
struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn environment() -> Result<Environment, String> {
    let cloud: Environment = match var("EXO_ENVIRONMENT") {
        Some(name) => name.parse().map_err(|e| format!("EXO_ENVIRONMENT: {e}"))?,
        None => Environment::Commercial,
    };
    let Some(endpoint) = var("EXO_ENDPOINT") else {
        return Ok(cloud);
    };
    let base_url = url::Url::parse(&endpoint).map_err(|e| format!("EXO_ENDPOINT: {e}"))?;
    check_endpoint(&base_url).map_err(|e| format!("EXO_ENDPOINT: {e}"))?;
    Ok(Environment::Custom {
        base_url,
        scope: cloud.scope(),
        authority: cloud.authority(),
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let tenant = var("EXO_TENANT_ID");
    let token = var("EXO_ACCESS_TOKEN");
    let missing: Vec<&str> = [
        ("EXO_TENANT_ID", tenant.is_none()),
        ("EXO_ACCESS_TOKEN", token.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    let (Some(tenant), Some(token)) = (tenant, token) else {
        eprintln!(
            "missing environment variable(s): {} (optional: EXO_ENVIRONMENT, EXO_ENDPOINT)",
            missing.join(", ")
        );
        return ExitCode::from(1);
    };
    let environment = match environment() {
        Ok(e) => e,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(1);
        }
    };
    let client = match HttpExchangeClient::builder()
        .tenant(tenant)
        .environment(environment)
        .token_provider(Arc::new(StaticToken::new(token)))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let listing = match client
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    for warning in &listing.warnings {
        eprintln!("warning: {warning}");
    }
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&listing.items) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        },
        Format::Text => {
            for (i, row) in listing.items.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                let width = row.keys().map(String::len).max().unwrap_or(0);
                for (key, value) in row {
                    let shown = match value {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    println!("{key:<width$} : {shown}");
                }
            }
        }
    }
    ExitCode::SUCCESS
}
