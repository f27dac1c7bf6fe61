//! Check whether an account may run every cmdlet a connector needs.
//!
//! ```text
//! cargo run --example check_permissions -- --profile exchange-online [--probe] [--format json]
//! ```
//!
//! Connection from the environment (see the `auth` module documentation): `EXO_TENANT_ID`,
//! `EXO_ENVIRONMENT`, `EXO_ENDPOINT` (base-URL override; plain http only for loopback), and
//! `EXO_ACCESS_TOKEN` or `EXO_CLIENT_ID` + `EXO_CLIENT_SECRET` / `EXO_CLIENT_CERTIFICATE`.
//! With neither `EXO_TENANT_ID` nor `EXO_ENDPOINT` set, an embedded simulator is started (and
//! stderr says so).
//!
//! Exit codes (the table shared by every example, also in `--help`): 0 when everything is
//! granted, 2 when something is not (or could not be determined), 1 when nothing could be
//! checked (configuration, connection, authentication), 64 usage error. The report goes to
//! stdout; diagnostics to stderr.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use clap::Parser;
use common::Format;
use exchange_activesync::permissions::{EXIT_ERROR, OutputFormat, Profile, run_check};

// The library's codes are the examples' own.
const _: () = assert!(EXIT_ERROR == common::EXIT_FAILED);

/// Can this account run every cmdlet the connector needs?
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   every cmdlet the profile needs is granted
  1   nothing could be checked: configuration, authentication, connection (no
      evidence layer could be used)
  2   some cmdlet is not (fully) granted, or could not be determined
  64  usage error: an unknown --profile, option or --format"
))]
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

#[tokio::main]
async fn main() -> ExitCode {
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let profile: Profile = match args.profile.parse() {
        Ok(p) => p,
        Err(e) => {
            common::report("error: --profile", &e);
            return ExitCode::from(common::EXIT_USAGE);
        }
    };
    common::init_logging();
    let connection = match common::connect().await {
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
    let out = run_check(connection.client.as_ref(), &profile, args.probe, format).await;
    for line in &out.stderr {
        eprintln!("{line}");
    }
    if !out.stdout.is_empty() {
        println!("{}", out.stdout);
    }
    // No layer could gather any evidence (the service was unreachable, or refused every
    // question): nothing was checked, which is not the same as "not granted".
    let nothing_checked = out.report.as_ref().is_some_and(|r| {
        r.layers
            .iter()
            .all(|l| l.state != exchange_activesync::permissions::LayerState::Used)
    });
    if nothing_checked {
        eprintln!("error: no evidence could be gathered; nothing was checked");
        return ExitCode::from(common::EXIT_FAILED);
    }
    ExitCode::from(out.exit_code)
}
