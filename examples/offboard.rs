//! Offboard a user's mobile devices: wipe the company data, wait for each device to
//! acknowledge the wipe, and only then remove the partnership (or block the device).
//!
//! ```text
//! cargo run --example offboard -- --user megan@contoso.com
//! cargo run --example offboard -- --user megan@contoso.com --yes --format json
//! cargo run --example offboard -- --user megan@contoso.com --wipe full --then block --ack-timeout 30m --yes
//! ```
//!
//! Without `--yes` it prints the plan (the user's partnerships and the steps for each) and
//! sends nothing. With `--yes`, per device: one `Clear-MobileDevice` by Guid (account-only by
//! default; Outlook / REST partnerships always account-only), the statistics read every
//! `--poll-interval` until the device acknowledges the wipe or `--ack-timeout` passes, and
//! only then one `Remove-MobileDevice` by Guid (`--then remove`) or the device id added to
//! the mailbox's blocked list (`--then block`). A wipe not acknowledged in time: nothing
//! further for that device (`pending`). One line per device. Without
//! `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded simulator whose devices
//! acknowledge a wipe two seconds after it. Exit codes are in `--help`.

#[path = "common/mod.rs"]
mod common;
use common::ListFormat;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use exchange_activesync::connector::{
    OffboardConfirmation, OffboardOptions, OffboardReport, OffboardThen, OffboardWipe,
    apply_offboarding, plan_offboarding,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum WipeArg {
    /// Wipe the company account only.
    AccountOnly,
    /// Wipe the whole device (Outlook / REST partnerships: account only).
    Full,
    /// Do not wipe.
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ThenArg {
    /// Remove the partnership (Remove-MobileDevice).
    Remove,
    /// Add the device id to the mailbox's blocked list.
    Block,
    /// Nothing after the wipe.
    None,
}

/// Offboard a user's mobile devices: wipe, wait for the acknowledgement, then remove or block.
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   every step of every device was done (without --yes: the plan was printed)
  1   could not run: configuration, authentication, connection
  2   some wipe was not acknowledged within --ack-timeout (nothing further was
      done for that device), or a device disappeared since the plan
  3   refused by the service; or the mailbox is unknown, has no partnerships, or the
      account lacks the role a step needs (named): nothing was sent
  4   some outcome is unknown: a wipe or a removal may have been applied; check
      before retrying
  64  usage error: no --user, a wildcard, an unknown option or value"
))]
struct Args {
    /// The user's mailbox (exactly one: no wildcard).
    #[arg(long)]
    user: String,
    /// The wipe to send.
    #[arg(long, value_enum, default_value_t = WipeArg::AccountOnly)]
    wipe: WipeArg,
    /// What to do once the wipe is acknowledged.
    #[arg(long, value_enum, default_value_t = ThenArg::Remove)]
    then: ThenArg,
    /// How long to wait for each device's acknowledgement (e.g. 90s, 10m, 2h).
    #[arg(long, default_value = "10m", value_parser = common::parse_duration)]
    ack_timeout: Duration,
    /// Time between two reads of a device's statistics while waiting.
    #[arg(long, default_value = "30s", value_parser = common::parse_duration)]
    poll_interval: Duration,
    /// Really wipe, then remove or block.
    #[arg(long)]
    yes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

fn demo() -> exchange_activesync_testkit::Tenant {
    let mut tenant = common::demo_tenant();
    tenant.acknowledge_wipes_after(Some(Duration::from_secs(2)));
    tenant
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn print_report(report: &OffboardReport, format: ListFormat) {
    if format == ListFormat::Json {
        for r in &report.results {
            println!(
                "{}",
                serde_json::json!({
                    "identity": r.device.identity,
                    "guid": r.device.guid,
                    "mailbox": r.device.mailbox,
                    "device_id": r.device.device_id,
                    "client_type": r.device.client_type,
                    "wipe_kind": r.device.wipe,
                    "wipe": r.wipe,
                    "wipe_requested_at": r.wipe_requested_at,
                    "wipe_acknowledged_at": r.wipe_acknowledged_at,
                    "then_kind": r.device.then,
                    "then": r.then,
                    "then_at": r.then_at,
                    "note": r.note,
                })
            );
        }
        return;
    }
    let mut table = common::Table::new(&[
        "IDENTITY",
        "GUID",
        "DEVICE_ID",
        "WIPE",
        "ACKNOWLEDGED",
        "THEN",
        "NOTE",
    ]);
    for r in &report.results {
        let wipe = serde_json::to_value(r.wipe).unwrap_or_default();
        let then = serde_json::to_value(r.then).unwrap_or_default();
        table.row(vec![
            r.device.identity.clone(),
            r.device.guid.to_string(),
            r.device.device_id.clone().unwrap_or_default(),
            format!("{} {}", r.device.wipe, wipe.as_str().unwrap_or("")),
            time(r.wipe_acknowledged_at),
            format!("{} {}", r.device.then, then.as_str().unwrap_or("")),
            r.note.clone().unwrap_or_default(),
        ]);
    }
    let _ = table.write(&mut std::io::stdout());
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    if args.user.contains('*') || args.user.contains('?') || args.user.trim().is_empty() {
        eprintln!(
            "error: --user: name exactly one mailbox (no wildcard): {:?}",
            args.user
        );
        return ExitCode::from(common::EXIT_USAGE);
    }
    let wipe = match args.wipe {
        WipeArg::AccountOnly => OffboardWipe::AccountOnly,
        WipeArg::Full => OffboardWipe::Full,
        WipeArg::None => OffboardWipe::None,
    };
    let then = match args.then {
        ThenArg::Remove => OffboardThen::Remove,
        ThenArg::Block => OffboardThen::Block,
        ThenArg::None => OffboardThen::None,
    };
    let options =
        OffboardOptions::new(wipe, then).ack_timeout(args.ack_timeout, args.poll_interval);
    let conn = match common::connect_to(demo, |b| b).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let client = conn.client.as_ref();
    // An unknown mailbox, one without partnerships, a missing role: said plainly, 3.
    let fail = |e: &exchange_activesync::Error| {
        common::report("error", e);
        if e.is_invalid_input() {
            ExitCode::from(common::EXIT_REFUSED)
        } else {
            ExitCode::from(common::exit_code_of(e))
        }
    };
    let plan = match plan_offboarding(client, &args.user, options).await {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    if !args.yes {
        if args.format == ListFormat::Json {
            for d in &plan.devices {
                println!(
                    "{}",
                    serde_json::json!({
                        "identity": d.identity,
                        "guid": d.guid,
                        "mailbox": d.mailbox,
                        "device_id": d.device_id,
                        "device_type": d.device_type,
                        "device_model": d.device_model,
                        "client_type": d.client_type,
                        "wipe": d.wipe,
                        "then": d.then,
                        "dry_run": true,
                    })
                );
            }
        } else {
            let mut table =
                common::Table::new(&["IDENTITY", "GUID", "DEVICE_ID", "CLIENT", "WIPE", "THEN"]);
            for d in &plan.devices {
                table.row(vec![
                    d.identity.clone(),
                    d.guid.to_string(),
                    d.device_id.clone().unwrap_or_default(),
                    d.client_type.clone().unwrap_or_default(),
                    d.wipe.to_string(),
                    d.then.to_string(),
                ]);
            }
            let _ = table.write(&mut std::io::stdout());
            println!(
                "{} device(s) of {}. Nothing was sent. Add --yes to wipe them, wait for each \
                 acknowledgement (up to {}s), then {}.",
                plan.devices.len(),
                plan.mailbox,
                options.ack_timeout.as_secs(),
                then.as_str()
            );
        }
        return ExitCode::SUCCESS;
    }
    let report = match apply_offboarding(
        client,
        &plan,
        OffboardConfirmation::i_understand_this_wipes(&plan),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    print_report(&report, args.format);
    if report.any_unknown() {
        eprintln!("warning: some outcome is unknown: check those devices before retrying");
        ExitCode::from(common::EXIT_UNKNOWN)
    } else if report.any_refused() {
        ExitCode::from(common::EXIT_REFUSED)
    } else if !report.all_done() {
        eprintln!(
            "warning: not every step was done (a wipe not acknowledged in time, or a device \
             gone since the plan)"
        );
        ExitCode::from(common::EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    }
}
