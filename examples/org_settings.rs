//! Print the tenant's ActiveSync organization settings (`Get-ActiveSyncOrganizationSettings`),
//! typed, with every property the service sent (unknown ones included).
//!
//! ```text
//! cargo run --example org_settings [-- --format json]
//! ```
//!
//! Connection from the `EXO_*` variables (see the README); with neither `EXO_TENANT_ID` nor
//! `EXO_ENDPOINT` set it runs against the embedded simulator and says so on stderr.

#[path = "common/mod.rs"]
mod common;

use exchange_activesync::ExchangeClientExt;
use std::process::ExitCode;

use clap::Parser;
use common::Format;
use exchange_activesync::cmdlets::GetActiveSyncOrganizationSettings;

/// Print the ActiveSync organization settings of a tenant.
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   the settings were printed
  1   could not run, or the call failed: configuration, authentication, connection,
      or the service refused it (a read: nothing changes either way)
  64  usage error: an unknown option or --format"
))]
struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let connection = match common::connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let response = match connection
        .client
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    for warning in &response.warnings {
        eprintln!("warning: {warning}");
    }
    // The models serialize back with the service's PascalCase names (and unknown properties).
    let row = match serde_json::to_value(&response.value) {
        Ok(serde_json::Value::Object(map)) => map,
        Ok(_) | Err(_) => {
            eprintln!("error: the settings could not be rendered");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&row) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                common::report("error", &e);
                return ExitCode::from(common::EXIT_FAILED);
            }
        },
        Format::Text => {
            let width = row.keys().map(String::len).max().unwrap_or(0);
            for (key, value) in &row {
                let shown = match value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                println!("{key:<width$} : {shown}");
            }
        }
    }
    ExitCode::SUCCESS
}
