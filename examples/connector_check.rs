//! Validate the connection for a connector profile and print a report.
//!
//! ```text
//! cargo run --example connector_check
//! cargo run --example connector_check -- --profile hosted-exchange --format json
//! ```
//!
//! Without `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded simulator.
//!
//! The last successful sync is kept per tenant and endpoint: one small JSON file each in
//! `--state-dir` (default: the system temp dir), written atomically (temporary file and
//! rename), so checks of different tenants, also running at the same time, never show or
//! overwrite each other's state. `--state-file` names the file instead; it records its
//! tenant and endpoint, and a file of another tenant is refused (reported as degraded).
//!
//! Exit codes (the table shared by every example, also in `--help`): 0 healthy, 2 degraded,
//! 1 failed (the tenant cannot be read: token, connection, configuration), 64 usage error.
//! What `healthy`, `degraded` and `failed` mean exactly is in the README's Reference section.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use common::Format;
use exchange_activesync::connector::{
    ConnectionReport, ConnectionStatus, ConnectorProfile, JsonFileStore, validate_connection,
};
use serde_json::json;

/// Check that the connector can work with a tenant.
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   the connection is healthy: every check passed and the sync state was saved
  1   the connection failed: the tenant cannot be read (token, connection,
      configuration)
  2   the connection is degraded: readable, but a permission is missing, a check
      failed, or the sync state file could not be read or written (see the reasons)
  64  usage error: an unknown --profile, option or --format"
))]
struct Args {
    /// Connector profile: exchange-online or hosted-exchange.
    #[arg(long, default_value = "exchange-online")]
    profile: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Directory of the per-tenant sync state files (default: the system temp dir).
    #[arg(long, conflicts_with = "state_file")]
    state_dir: Option<std::path::PathBuf>,
    /// Sync state file of this tenant (instead of one named after it in `--state-dir`).
    #[arg(long)]
    state_file: Option<std::path::PathBuf>,
}

fn to_json(r: &ConnectionReport) -> serde_json::Value {
    json!({
        "profile": r.profile,
        "connection": {
            "status": r.status.as_str(),
            "reasons": match &r.status {
                ConnectionStatus::Degraded { reasons } => json!(reasons),
                _ => json!([]),
            },
            "error": match &r.status {
                ConnectionStatus::Failed { error } => json!(error),
                _ => json!(null),
            },
            "last_successful_sync": r.last_successful_sync,
            "checked_at": r.checked_at,
        },
        "permissions": {
            "all_granted": r.permissions.as_ref().is_some_and(|p| p.all_granted),
            "granted": r.permissions.as_ref().map(|p| p.granted.clone()),
            "missing": r.permissions.as_ref().map(|p| p.missing.clone()),
            "undetermined": r.permissions.as_ref().and_then(|p| p.undetermined.clone()),
        },
        "organization": { "default_access_level": r.default_access_level },
        "policies": r.policies,
        "access_rules": r.access_rules,
        "device_classes": r.device_classes,
        "devices": {
            "total": r.devices.as_ref().map(|d| d.total),
            "by_access_state": r.devices.as_ref().map(|d| d.by_access_state.clone()),
        },
    })
}

fn print_text(r: &ConnectionReport) {
    let opt = |v: Option<usize>| v.map_or("unknown".to_string(), |n| n.to_string());
    println!("Connector check (profile {})", r.profile);
    println!(
        "  Connection:            {}",
        r.status.as_str().to_uppercase()
    );
    match &r.status {
        ConnectionStatus::Degraded { reasons } => {
            for reason in reasons {
                println!("    - {reason}");
            }
        }
        ConnectionStatus::Failed { error } => println!("    error: {error}"),
        _ => {}
    }
    match &r.permissions {
        Some(p) if p.all_granted => {
            println!(
                "  Permissions:           all {} cmdlets granted",
                p.granted.len()
            )
        }
        Some(p) if p.undetermined.is_some() => println!(
            "  Permissions:           undetermined ({})",
            p.undetermined.as_deref().unwrap_or_default()
        ),
        Some(p) => println!("  Permissions:           MISSING {}", p.missing.join(", ")),
        None => println!("  Permissions:           not checked"),
    }
    println!(
        "  Default access level:  {}",
        r.default_access_level.as_deref().unwrap_or("unknown")
    );
    println!("  Mailbox policies:      {}", opt(r.policies));
    println!("  Device access rules:   {}", opt(r.access_rules));
    println!("  Device classes:        {}", opt(r.device_classes));
    match &r.devices {
        Some(d) => {
            println!("  Devices:               {}", d.total);
            let width = d
                .by_access_state
                .keys()
                .map(|s| s.to_string().chars().count())
                .max()
                .unwrap_or(0);
            for (state, n) in &d.by_access_state {
                let state = state.to_string();
                println!("    {state:<width$}  {n}");
            }
        }
        None => println!("  Devices:               unknown"),
    }
    println!(
        "  Last successful sync:  {}",
        r.last_successful_sync
            .map_or("never".to_string(), |t| t.to_rfc3339())
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let profile = match ConnectorProfile::parse(&args.profile) {
        Ok(p) => p,
        Err(e) => {
            common::report("error: --profile", &e);
            return ExitCode::from(common::EXIT_USAGE);
        }
    };
    let conn = match common::connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let store = Arc::new(match args.state_file {
        Some(file) => JsonFileStore::new(file).with_key(&conn.tenant, &conn.endpoint),
        None => JsonFileStore::for_tenant(
            args.state_dir.unwrap_or_else(std::env::temp_dir),
            &conn.tenant,
            &conn.endpoint,
        ),
    });
    let report = validate_connection(&*conn.client, profile, store).await;
    match args.format {
        Format::Json => println!("{}", to_json(&report)),
        Format::Text => print_text(&report),
    }
    drop(conn);
    match report.status {
        ConnectionStatus::Healthy => ExitCode::SUCCESS,
        ConnectionStatus::Degraded { .. } => ExitCode::from(common::EXIT_PARTIAL),
        _ => ExitCode::from(common::EXIT_FAILED),
    }
}
