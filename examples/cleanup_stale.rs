//! Remove device partnerships that have not synced for a while: plan, review, remove.
//!
//! ```text
//! cargo run --example cleanup_stale -- --older-than 90d
//! cargo run --example cleanup_stale -- --older-than 12w --include-never-synced --max 500 --yes --format json
//! ```
//!
//! Without `--yes` it prints the plan (a table, or one JSON line per candidate) and sends
//! nothing. With `--yes` it removes the candidates (one `Remove-MobileDevice` per device, by
//! its Guid), re-reading each device's statistics first and skipping one that synced since
//! the plan was made. Devices without a statistics row are never candidates (their last sync
//! is unknown): such a plan is not complete, and the run exits 2 even when every candidate
//! was removed. Removing a partnership does not block the phone: it re-creates its
//! partnership at its next sync (block it with `device_access` for that). Without
//! `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded simulator. Exit codes are in
//! `--help`.

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use clap::Parser;
use common::Format;
use exchange_activesync::connector::{
    ApplyOptions, CandidateResult, CleanupConfirmation, StaleCandidate, StaleCriteria,
    apply_cleanup_with, plan_stale_cleanup,
};

/// Remove stale mobile device partnerships.
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   the plan covers every device and (with --yes) every candidate was removed or
      already gone; without --yes: the complete plan was printed
  1   could not run: configuration, connection, the inventory failed, or more
      candidates than --max (nothing was sent)
  2   the plan is not complete (devices without statistics, mailboxes whose statistics
      failed: stale devices may be missing from it; the plan is still printed and
      applied), or some candidates were skipped (synced since the plan) or refused
      while others were removed
  3   every removal sent was refused by the service: nothing was removed
  4   the outcome of some removal is unknown (timeout, lost connection, gateway error):
      it was not sent again; check Get-MobileDevice before retrying
  64  usage error (no --older-than, a bad age such as 90x, an unknown option)"
))]
struct Args {
    /// Devices whose last successful sync is older than this: 90d, 12w, 36h, 45m.
    #[arg(long, value_parser = common::parse_duration)]
    older_than: Duration,
    /// Also EAS partnerships that synced for the first time but never successfully and were
    /// created longer ago than that (never Outlook partnerships: their sync times are blank).
    #[arg(long)]
    include_never_synced: bool,
    /// Also Outlook (REST) partnerships whose activity is unknown (no sync times), judged by
    /// when they last changed; shown in the plan as such. Without it they are left out and
    /// counted.
    #[arg(long)]
    include_unknown_activity: bool,
    /// Only this DeviceType (repeatable).
    #[arg(long)]
    device_type: Vec<String>,
    /// Only this DeviceModel (repeatable).
    #[arg(long)]
    device_model: Vec<String>,
    /// Only devices of this mailbox (repeatable).
    #[arg(long)]
    mailbox: Vec<String>,
    /// The most devices to remove; a larger plan is an error and nothing is sent.
    #[arg(long, default_value_t = 100)]
    max: usize,
    /// Removals handed to the client at once; the tenant's throttle decides how many run
    /// (1: one device at a time).
    #[arg(long, default_value_t = exchange_activesync::connector::DEFAULT_CLEANUP_FAN_OUT)]
    fan_out: usize,
    /// Really remove the devices (otherwise: the plan only).
    #[arg(long)]
    yes: bool,
    /// With --yes: append one JSON line per device to FILE as soon as its result is known
    /// (flushed each time), so a run stopped part-way leaves a record of what it did.
    #[arg(long, value_name = "FILE")]
    journal: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Print a line on stdout; a closed pipe (`| head`) is not an error worth a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn ts(t: Option<chrono::DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "never".into())
}

fn json_line(c: &StaleCandidate, result: &str, reason: String) -> String {
    serde_json::json!({
        "identity": c.identity,
        "guid": c.guid,
        "mailbox": c.mailbox,
        "device_type": c.device_type,
        "device_model": c.device_model,
        "last_success_sync": c.last_success_sync,
        "created": c.created,
        "result": result,
        "reason": reason,
    })
    .to_string()
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let conn = match common::connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    // The simulated tenant lives at a fixed instant; a real tenant uses the system clock.
    let now = match &conn.simulator {
        Some(sim) => sim.tenant().now(),
        None => Utc::now(),
    };
    let mut criteria = StaleCriteria::older_than(args.older_than)
        .include_never_synced(args.include_never_synced)
        .include_unknown_activity(args.include_unknown_activity);
    for t in &args.device_type {
        criteria = criteria.device_type(t);
    }
    for m in &args.device_model {
        criteria = criteria.device_model(m);
    }
    for m in &args.mailbox {
        criteria = criteria.mailbox(m);
    }
    eprintln!("reading the inventory (devices and statistics)…");
    let plan = match plan_stale_cleanup(&*conn.client, criteria, now).await {
        Ok(p) => p,
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    eprintln!(
        "{} of {} devices have not synced since {} (plan {})",
        plan.candidates.len(),
        plan.devices_seen,
        plan.cutoff.format("%Y-%m-%d"),
        &plan.id[..12]
    );
    if plan.unknown_activity > 0 {
        eprintln!(
            "{} Outlook (REST) partnerships were left out: their activity is unknown (no sync \
             times); --include-unknown-activity judges them by when they last changed",
            plan.unknown_activity
        );
    }
    if !plan.is_complete() {
        eprintln!(
            "warning: the plan is not complete: {} devices without statistics and {} mailboxes \
             whose statistics failed are not in it (stale devices may be missing; exit 2)",
            plan.without_statistics,
            plan.failed_mailboxes.len()
        );
    }
    if !args.yes {
        if args.format == Format::Json {
            for c in &plan.candidates {
                out!("{}", json_line(c, "planned", c.reason.to_string()));
            }
        } else {
            let mut table =
                common::Table::new(&["LAST SUCCESS SYNC", "CREATED", "GUID", "IDENTITY", "REASON"]);
            for c in &plan.candidates {
                table.row(vec![
                    ts(c.last_success_sync),
                    ts(c.created),
                    c.guid.map(|g| g.to_string()).unwrap_or_else(|| "-".into()),
                    c.identity.to_string(),
                    c.reason.to_string(),
                ]);
            }
            let _ = table.write(&mut std::io::stdout().lock());
        }
        if plan.candidates.len() > args.max {
            eprintln!(
                "error: {} candidates, more than --max {}; raise --max or narrow the criteria",
                plan.candidates.len(),
                args.max
            );
            return ExitCode::from(common::EXIT_FAILED);
        }
        eprintln!("nothing was sent; add --yes to remove these devices");
        return if plan.is_complete() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(common::EXIT_PARTIAL)
        };
    }
    let options = ApplyOptions::new(args.max).fan_out(args.fan_out);
    let mut journal = match &args.journal {
        None => None,
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!(
                    "error: the journal {}: {e}; nothing was sent",
                    path.display()
                );
                return ExitCode::from(common::EXIT_FAILED);
            }
        },
    };
    let plan_id = plan.id.clone();
    let report = match apply_cleanup_with(
        conn.client.as_ref(),
        &plan,
        CleanupConfirmation::i_reviewed(&plan),
        options,
        |o| {
            if let Some(file) = journal.as_mut() {
                let line = serde_json::json!({
                    "at": Utc::now(),
                    "plan_id": plan_id,
                    "guid": o.candidate.guid,
                    "identity": o.candidate.identity,
                    "result": o.result.label(),
                    "detail": o.result.to_string(),
                });
                // Written and flushed per device: what was sent survives a stop.
                let _ = writeln!(file, "{line}").and_then(|()| file.flush());
            }
        },
    )
    .await
    {
        Ok(r) => r,
        // Another plan, an edited plan or more candidates than --max: nothing was sent.
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let mut table = common::Table::new(&["RESULT", "GUID", "IDENTITY", "REASON"]);
    for o in &report.outcomes {
        let reason = match &o.result {
            CandidateResult::Removed | CandidateResult::Gone => o.candidate.reason.to_string(),
            other => other.to_string(),
        };
        if args.format == Format::Json {
            out!("{}", json_line(&o.candidate, o.result.label(), reason));
        } else {
            table.row(vec![
                o.result.label().to_string(),
                o.candidate
                    .guid
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "-".into()),
                o.candidate.identity.to_string(),
                reason,
            ]);
        }
    }
    if args.format == Format::Text {
        let _ = table.write(&mut std::io::stdout().lock());
    }
    eprintln!(
        "{} removed, {} already gone, {} skipped, {} refused, {} unknown",
        report.count("removed"),
        report.count("gone"),
        report.count("skipped"),
        report.count("refused"),
        report.count("unknown")
    );
    let refused = report.count("refused");
    let acted = report.count("removed") + report.count("gone");
    if report.any_unknown() {
        ExitCode::from(common::EXIT_UNKNOWN)
    } else if refused > 0 && acted == 0 {
        ExitCode::from(common::EXIT_REFUSED)
    } else if report.all_removed() && plan.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(common::EXIT_PARTIAL)
    }
}
