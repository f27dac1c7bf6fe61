//! Stream every mobile device of the tenant to stdout.
//!
//! ```text
//! cargo run --example inventory                       # table
//! cargo run --example inventory -- --format csv
//! cargo run --example inventory -- --format json --with-statistics   # one object per line
//! ```
//!
//! JSON lines use the service's PascalCase property names; with `--with-statistics` each has
//! a nested `Statistics` object. A progress bar goes to stderr when it is a terminal. Without
//! `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded simulator.

#[path = "common/mod.rs"]
mod common;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use common::TableFormat as Format;
use exchange_activesync::connector::{DeviceRecord, InventorySync};

/// Stream the device inventory.
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   every device was listed (with --with-statistics: with its statistics)
  1   could not run, or the inventory failed: configuration, authentication,
      connection, the service refused or stopped answering, or stdout failed
  2   the inventory is incomplete: some mailboxes' statistics failed (the devices are
      listed, those mailboxes' without statistics; each is named on stderr)
  64  usage error: an unknown option or --format, a bad --max-concurrency

The text table is printed once every device is read, so that its columns fit every cell;
csv and json stream one line per device."
))]
struct Args {
    /// Output format: text (aligned table), csv or json (JSON lines).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Join each device with its statistics (one call per mailbox).
    #[arg(long)]
    with_statistics: bool,
    /// Hard ceiling of concurrent calls (default: the client finds the tenant's cap by
    /// itself, up to 64).
    #[arg(long)]
    max_concurrency: Option<usize>,
}

const COLUMNS: &[&str] = &[
    "Identity",
    "Guid",
    "DeviceType",
    "DeviceModel",
    "DeviceOS",
    "DeviceAccessState",
    "LastSuccessSync",
];

fn cells(r: &DeviceRecord) -> Vec<String> {
    let d = &r.device;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        s(&d.identity),
        d.guid.map(|g| g.to_string()).unwrap_or_default(),
        s(&d.device_type),
        s(&d.device_model),
        s(&d.device_os),
        d.device_access_state
            .as_ref()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        r.statistics
            .as_ref()
            .and_then(|st| st.last_success_sync)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
    ]
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn json_line(r: &DeviceRecord) -> serde_json::Result<String> {
    let mut v = serde_json::to_value(&r.device)?;
    if let (Some(stats), Some(obj)) = (&r.statistics, v.as_object_mut()) {
        obj.insert("Statistics".into(), serde_json::to_value(stats)?);
    }
    serde_json::to_string(&v)
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    // The client adapts its concurrency to the tenant's throttling and retries; the sync
    // only fans the calls out.
    let ceiling = args.max_concurrency;
    let conn = match common::connect_with(|b| match ceiling {
        Some(n) => b.max_concurrency(n),
        None => b,
    })
    .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        Some(b)
    } else {
        None
    };
    let progress_bar = bar.clone();
    let format = args.format;
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let mut write_error: Option<std::io::Error> = None;
    let header = match format {
        Format::Csv => Some(COLUMNS.join(",")),
        Format::Text | Format::Json => None,
    };
    let mut table = common::Table::new(&["DeviceType", "DeviceModel", "AccessState", "Identity"]);
    let table_ref = &mut table;
    if let Some(h) = header
        && let Err(e) = writeln!(out, "{h}")
    {
        write_error = Some(e);
    }
    let result = InventorySync::new(&*conn.client)
        .with_statistics(args.with_statistics)
        .on_progress(move |p| {
            if let Some(b) = &progress_bar {
                b.set_message(format!(
                    "{} devices, {} mailboxes, concurrency {}, throttled {}",
                    p.devices_seen, p.mailboxes_done, p.concurrency, p.throttled
                ));
                b.tick();
            }
        })
        .run(|r| {
            if write_error.is_some() {
                return;
            }
            let line = match format {
                Format::Text => {
                    let c = cells(&r);
                    table_ref.row(vec![c[2].clone(), c[3].clone(), c[5].clone(), c[0].clone()]);
                    return;
                }
                Format::Json => json_line(&r).map_err(std::io::Error::other),
                Format::Csv => Ok(cells(&r)
                    .iter()
                    .map(|c| csv_field(c))
                    .collect::<Vec<_>>()
                    .join(",")),
            };
            if let Err(e) = line.and_then(|l| writeln!(out, "{l}")) {
                write_error = Some(e);
            }
        })
        .await;
    if format == Format::Text
        && write_error.is_none()
        && let Err(e) = table.write(&mut out)
    {
        write_error = Some(e);
    }
    if let Err(e) = out.flush()
        && write_error.is_none()
    {
        write_error = Some(e);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(e) = write_error {
        // A reader that stopped early (`| head`) is not an error of ours.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return ExitCode::SUCCESS;
        }
        eprintln!("error writing output: {e}");
        return ExitCode::from(common::EXIT_FAILED);
    }
    match result {
        Ok(report) => {
            eprintln!(
                "{} devices ({} with statistics), {} pages, {} restarts, {} throttled, {} failed mailboxes",
                report.devices,
                report.with_statistics,
                report.pages,
                report.restarts,
                report.throttled,
                report.failed_mailboxes.len()
            );
            for (mailbox, error) in &report.failed_mailboxes {
                eprintln!("  statistics failed for {mailbox}: {error}");
            }
            if report.is_complete() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(common::EXIT_PARTIAL)
            }
        }
        Err(e) => {
            common::report("error", &e);
            ExitCode::from(common::EXIT_FAILED)
        }
    }
}
