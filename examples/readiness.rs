//! EAS readiness: the Exchange ActiveSync partnerships on a protocol older than a minimum
//! (Exchange Online blocks EAS clients older than 16.1 from March 2026; Outlook mobile is not
//! affected), to contact their users before they stop syncing.
//!
//! ```text
//! cargo run --example readiness
//! cargo run --example readiness -- --min-version 16.1 --format json
//! cargo run --example readiness -- --tenants tenants.txt --format json
//! ```
//!
//! Lists every EAS partnership whose `ClientVersion` is below `--min-version` (compared as
//! numbers: 12.1 < 14.1 < 16.0 < 16.1), with its identity, Guid, mailbox, model, OS, version
//! and last successful sync, then a summary by version and by model. A version that cannot be
//! read is listed too (`unparsable`, or `missing`). REST partnerships (Outlook for iOS /
//! Android) and other non-EAS clients are left out and counted. Reads only.
//!
//! `--tenants FILE` runs it in every tenant of the file (one tenant GUID or domain a line)
//! with a multi-tenant app, configured as for the `fleet` example (`EXO_CLIENT_ID` with
//! `EXO_CLIENT_SECRET` or `EXO_CLIENT_CERTIFICATE`, …); every row and summary then carries its
//! `Tenant`. Without `EXO_TENANT_ID`/`EXO_ENDPOINT` (and without `--tenants`) it runs against
//! an embedded simulator. Exit codes are in `--help`.

#[path = "common/mod.rs"]
mod common;
use common::ListFormat;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use exchange_activesync::connector::{EasVersion, ReadinessReport, eas_readiness};
use exchange_activesync::fleet::fleet_readiness;
use exchange_activesync::fleet::{FleetBuilder, TenantList, VAR_TENANTS_FILE};
use futures::StreamExt;
use serde_json::json;

/// List the EAS partnerships below a protocol version.
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   the list was printed and every partnership's statistics were read (listing
      partnerships below the minimum is not an error)
  1   could not run: configuration, connection, the inventory failed, a bad tenants
      file
  2   partial data: some mailboxes' statistics could not be read (their partnerships
      are listed without a last sync), or with --tenants some tenant failed
  64  usage error (a bad --min-version such as 16.x, a bad --format, an unknown
      option)"
))]
struct Args {
    /// The oldest EAS protocol version that is fine (numbers: 16.1, 14.1).
    #[arg(long, value_name = "VERSION", default_value = "16.1", value_parser = parse_version)]
    min_version: EasVersion,
    /// Run in every tenant of FILE (one tenant GUID or domain a line, `#` comments) with a
    /// multi-tenant app (EXO_CLIENT_ID with EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE).
    #[arg(long, value_name = "FILE")]
    tenants: Option<PathBuf>,
    /// Output format: table (aligned, then the summary) or json (one object per
    /// partnership a line, then one summary line per tenant).
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

fn parse_version(s: &str) -> Result<EasVersion, String> {
    EasVersion::parse(s).map_err(|e| e.to_string())
}

fn ts(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "never".into())
}

fn counts(map: &BTreeMap<String, usize>) -> String {
    map.iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary_json(r: &ReadinessReport) -> serde_json::Value {
    let mut v = json!({
        "summary": true,
        "minimum": r.minimum.to_string(),
        "listed": r.rows.len(),
        "below": r.below().count(),
        "devices_seen": r.devices_seen,
        "eas_partnerships": r.eas_partnerships,
        "rest_excluded": r.rest_excluded,
        "other_excluded": r.other_excluded,
        "by_version": r.by_version,
        "listed_by_version": r.listed_by_version(),
        "by_model": r.by_model,
        "complete": r.is_complete(),
        "failed_mailboxes": r.failed_mailboxes.len(),
    });
    if let (Some(t), Some(o)) = (&r.tenant, v.as_object_mut()) {
        o.insert("Tenant".into(), json!(t));
    }
    v
}

/// Print one tenant's report; returns whether stdout could be written.
fn print(r: &ReadinessReport, format: ListFormat, out: &mut impl Write) -> std::io::Result<()> {
    match format {
        ListFormat::Json => {
            for row in &r.rows {
                writeln!(out, "{}", serde_json::to_string(row)?)?;
            }
            writeln!(out, "{}", summary_json(r))?;
        }
        ListFormat::Table => {
            let mut header = vec![
                "VERSION",
                "LAST SUCCESS SYNC",
                "MODEL",
                "OS",
                "MAILBOX",
                "GUID",
                "IDENTITY",
            ];
            if r.tenant.is_some() {
                header.insert(0, "TENANT");
            }
            let mut table = common::Table::new(&header);
            for row in &r.rows {
                let version = match row.verdict {
                    exchange_activesync::connector::ReadinessVerdict::Below => {
                        row.client_version.clone().unwrap_or_default()
                    }
                    other => format!("{} ({other})", row.client_version.as_deref().unwrap_or("-")),
                };
                let mut cells = vec![
                    version,
                    ts(row.last_success_sync),
                    row.device_model.clone().unwrap_or_else(|| "-".into()),
                    row.device_os.clone().unwrap_or_else(|| "-".into()),
                    row.mailbox.clone().unwrap_or_else(|| "-".into()),
                    row.guid
                        .map(|g| g.to_string())
                        .unwrap_or_else(|| "-".into()),
                    row.identity.clone(),
                ];
                if let Some(t) = &row.tenant {
                    cells.insert(0, t.clone());
                }
                table.row(cells);
            }
            table.write(out)?;
            let tenant = r
                .tenant
                .as_deref()
                .map(|t| format!("{t}: "))
                .unwrap_or_default();
            writeln!(
                out,
                "\n{tenant}{} of {} EAS partnerships below {} ({} REST, {} other partnerships left out)",
                r.rows.len(),
                r.eas_partnerships,
                r.minimum,
                r.rest_excluded,
                r.other_excluded
            )?;
            writeln!(out, "listed by version: {}", counts(&r.listed_by_version()))?;
            writeln!(out, "listed by model:   {}", counts(&r.by_model))?;
            writeln!(out, "all EAS by version: {}", counts(&r.by_version))?;
        }
    }
    Ok(())
}

fn warn_incomplete(r: &ReadinessReport) {
    if !r.is_complete() {
        eprintln!(
            "warning: {}{} mailboxes' statistics could not be read: {} listed partnerships \
             have no last sync (exit 2)",
            r.tenant
                .as_deref()
                .map(|t| format!("{t}: "))
                .unwrap_or_default(),
            r.failed_mailboxes.len(),
            r.without_statistics
        );
    }
}

async fn run_fleet(args: &Args, path: &PathBuf) -> ExitCode {
    let listed = match TenantList::from_file_lenient(path) {
        Ok(l) if !l.is_empty() => l,
        Ok(_) => {
            eprintln!("error: {}: no tenant listed", path.display());
            return ExitCode::from(common::EXIT_FAILED);
        }
        Err(e) => {
            eprintln!("error: {}: {}", path.display(), common::error_chain(&e));
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let file = path.to_string_lossy().into_owned();
    let fleet = match FleetBuilder::from_lookup(|name| {
        if name == VAR_TENANTS_FILE {
            Some(file.clone())
        } else {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty())
        }
    })
    .and_then(|b| b.build())
    {
        Ok(f) => f,
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let mut not_complete = listed.rejected().len();
    for r in listed.rejected() {
        eprintln!(
            "line {}: {:?}: invalid_tenant: {}",
            r.line, r.text, r.reason
        );
    }
    let total = fleet.tenants().len();
    let mut stream = fleet_readiness(&fleet, args.min_version.clone());
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let mut reports = Vec::new();
    let mut done = 0;
    while let Some(r) = stream.next().await {
        done += 1;
        match r.result {
            Ok(report) => {
                eprintln!(
                    "[{done}/{total}] {}: {} of {} EAS partnerships below {}",
                    r.tenant.as_str(),
                    report.rows.len(),
                    report.eas_partnerships,
                    report.minimum
                );
                warn_incomplete(&report);
                if !report.is_complete() {
                    not_complete += 1;
                }
                reports.push((r.tenant.index(), report));
            }
            Err(e) => {
                not_complete += 1;
                eprintln!(
                    "[{done}/{total}] {}: failed: {} ({})",
                    r.tenant.as_str(),
                    e.summary,
                    e.kind
                );
                if args.format == ListFormat::Json {
                    let line = json!({
                        "Tenant": r.tenant.as_str(),
                        "summary": true,
                        "error": e.summary,
                        "error_kind": e.kind.as_str(),
                    });
                    let _ = writeln!(out, "{line}");
                }
            }
        }
    }
    // In the order of the tenants file.
    reports.sort_by_key(|(i, _)| *i);
    for (_, report) in &reports {
        if print(report, args.format, &mut out).is_err() {
            return ExitCode::SUCCESS; // stdout closed (`| head`)
        }
        if args.format == ListFormat::Table {
            let _ = writeln!(out);
        }
    }
    let _ = out.flush();
    if not_complete == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(common::EXIT_PARTIAL)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    if let Some(path) = args.tenants.clone() {
        return run_fleet(&args, &path).await;
    }
    let conn = match common::connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    eprintln!("reading the inventory (devices and statistics)…");
    let report = match eas_readiness(&*conn.client, args.min_version.clone()).await {
        Ok(r) => r,
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    eprintln!(
        "{} of {} EAS partnerships are below {}",
        report.rows.len(),
        report.eas_partnerships,
        report.minimum
    );
    warn_incomplete(&report);
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let _ = print(&report, args.format, &mut out).and_then(|()| out.flush());
    if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(common::EXIT_PARTIAL)
    }
}
