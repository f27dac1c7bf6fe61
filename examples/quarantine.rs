//! The quarantine inbox: list the quarantined partnerships (of one tenant or a fleet), and
//! allow or block them through their mailboxes' device id lists.
//!
//! ```text
//! cargo run --example quarantine -- list
//! cargo run --example quarantine -- list --tenants tenants.txt --format json
//! cargo run --example quarantine -- allow --identity '<mailbox>\ExchangeActiveSyncDevices\<type>§<id>'
//! cargo run --example quarantine -- block --all --model 'SM-A515F' --yes
//! ```
//!
//! `allow` / `block` add the device ids to the mailbox's allowed (or blocked) list and remove
//! them from the other, with ONE `Set-CASMailbox` per mailbox (the add/remove form: no list
//! is replaced). Without `--yes` they print the plan and send nothing. `--identity` must name
//! a quarantined device; `--all` takes every quarantined device, narrowed by `--model` and
//! `--type`. Without `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded simulator
//! (`list --tenants FILE`: a simulator serving three tenants, the file naming some of them).
//! Exit codes are in `--help`.

#[path = "common/mod.rs"]
mod common;
use common::ListFormat;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Parser, Subcommand};
use exchange_activesync::connector::{
    QuarantineConfirmation, QuarantineDecision, QuarantineOutcome, QuarantineSelection,
    QuarantinedDevice, apply_quarantine, list_quarantined, plan_quarantine,
};
use exchange_activesync::fleet::{Fleet, FleetBuilder, TenantList, VAR_TENANTS_FILE};
use exchange_activesync_testkit::{RbacProfile, Simulator, SimulatorConfig, TenantBuilder};
use futures::StreamExt;
use serde_json::json;

/// List, allow or block quarantined mobile devices.
#[derive(Debug, Parser)]
#[command(after_help = exit_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn exit_help() -> String {
    common::exit_help(
        "  0   done: the list or the plan was printed, or every device was allowed/blocked
  1   could not run: configuration, authentication, connection, a tenants file
  2   list --tenants: some tenant failed (the others are listed); allow/block: some
      device was skipped (gone, or no longer quarantined, since the plan)
  3   refused by the service; or no device has the identity, it is not quarantined,
      or the account lacks the role a step needs (named): nothing was sent
  4   outcome unknown: a mailbox's lists may have been changed; check before retrying
  64  usage error: a missing or malformed identity, a wildcard, an unknown option",
    )
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every partnership in state Quarantined, with why.
    #[command(after_help = exit_help())]
    List(ListArgs),
    /// Allow quarantined devices (the mailbox's allowed list).
    #[command(after_help = exit_help())]
    Allow(DecideArgs),
    /// Block quarantined devices (the mailbox's blocked list).
    #[command(after_help = exit_help())]
    Block(DecideArgs),
}

#[derive(Debug, ClapArgs)]
struct ListArgs {
    /// A file of tenants (one per line): list across this fleet; rows carry `Tenant`.
    #[arg(long, value_name = "FILE")]
    tenants: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

#[derive(Debug, ClapArgs)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["identity", "all"])))]
struct DecideArgs {
    /// The quarantined device: `<mailbox>\ExchangeActiveSyncDevices\<type>§<id>` or its GUID.
    #[arg(long)]
    identity: Option<String>,
    /// Every quarantined device (narrowed by --model and --type).
    #[arg(long)]
    all: bool,
    /// With --all: only this DeviceModel (exact, case-insensitive).
    #[arg(long, requires = "all")]
    model: Option<String>,
    /// With --all: only this DeviceType (exact, case-insensitive).
    #[arg(long = "type", value_name = "TYPE", requires = "all")]
    device_type: Option<String>,
    /// Really send the changes.
    #[arg(long)]
    yes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

fn row_json(d: &QuarantinedDevice) -> serde_json::Value {
    json!({
        "identity": d.identity,
        "guid": d.guid,
        "mailbox": d.mailbox,
        "device_id": d.device_id,
        "device_model": d.device_model,
        "device_os": d.device_os,
        "device_type": d.device_type,
        "first_sync_time": d.first_sync_time,
        "reason": d.reason,
    })
}

fn row_cells(d: &QuarantinedDevice) -> Vec<String> {
    vec![
        d.identity.clone(),
        d.guid.to_string(),
        d.mailbox.clone(),
        d.device_id.clone(),
        d.device_model.clone().unwrap_or_default(),
        d.device_os.clone().unwrap_or_default(),
        d.device_type.clone().unwrap_or_default(),
        d.first_sync_time
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        d.reason.clone(),
    ]
}

const HEADER: [&str; 9] = [
    "IDENTITY",
    "GUID",
    "MAILBOX",
    "DEVICE_ID",
    "MODEL",
    "OS",
    "TYPE",
    "FIRST_SYNC",
    "REASON",
];

fn fail(e: &exchange_activesync::Error) -> ExitCode {
    common::report("error", e);
    if e.is_invalid_input() {
        ExitCode::from(common::EXIT_REFUSED)
    } else {
        ExitCode::from(common::exit_code_of(e))
    }
}

/// The embedded simulator's tenant: the examples' demo tenant with eight partnerships in
/// quarantine.
fn demo() -> exchange_activesync_testkit::Tenant {
    let mut tenant = common::demo_tenant();
    tenant.quarantine_devices(8);
    tenant
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

async fn list_fleet(path: PathBuf, format: ListFormat) -> ExitCode {
    let embedded = var("EXO_TENANT_ID").is_none() && var("EXO_ENDPOINT").is_none();
    let list = match TenantList::from_file(&path) {
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
    let mut _sim = None;
    let builder = if embedded {
        let tenant = |i: u64| {
            let mut t = TenantBuilder::new()
                .seed(2024 + i)
                .devices(40)
                .mailboxes(20)
                .domain(exchange_activesync_testkit::generated_tenant_domain(
                    i as usize,
                ))
                .rbac_profile(RbacProfile::Full)
                .build();
            t.quarantine_devices(3);
            t
        };
        let config = SimulatorConfig::new(tenant(0))
            .add_tenant(tenant(1))
            .add_tenant(tenant(2));
        let sim = match Simulator::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: could not start the embedded simulator: {e}");
                return ExitCode::from(common::EXIT_FAILED);
            }
        };
        eprintln!(
            "note: EXO_TENANT_ID and EXO_ENDPOINT are not set; using an embedded simulator \
             serving {}",
            sim.tenants()
                .iter()
                .map(|t| t.domain().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let b = Fleet::builder(list)
            .endpoint(sim.base_url())
            .authority(sim.authority())
            .client_secret(sim.app().client_id.clone(), sim.app().client_secret.clone());
        _sim = Some(sim);
        b
    } else {
        let file = path.to_string_lossy().into_owned();
        match FleetBuilder::from_lookup(|name| {
            if name == VAR_TENANTS_FILE {
                Some(file.clone())
            } else {
                var(name)
            }
        }) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {}", common::error_chain(&e));
                return ExitCode::from(common::EXIT_FAILED);
            }
        }
    };
    let fleet = match builder.build() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {}", common::error_chain(&e));
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let mut stream =
        fleet.for_each(|_tenant, client| async move { list_quarantined(&*client).await });
    let mut table = common::Table::new(&[
        "TENANT",
        "IDENTITY",
        "GUID",
        "MAILBOX",
        "DEVICE_ID",
        "MODEL",
        "OS",
        "TYPE",
        "FIRST_SYNC",
        "REASON",
    ]);
    let mut failed = 0;
    while let Some(r) = stream.next().await {
        let tenant = r.tenant.as_str().to_string();
        match r.result {
            Ok(devices) => {
                for d in &devices {
                    if format == ListFormat::Json {
                        let mut v = row_json(d);
                        v["Tenant"] = json!(tenant);
                        println!("{v}");
                    } else {
                        let mut cells = vec![tenant.clone()];
                        cells.extend(row_cells(d));
                        table.row(cells);
                    }
                }
                eprintln!("{tenant}: {} quarantined", devices.len());
            }
            Err(e) => {
                failed += 1;
                eprintln!("{tenant}: failed: {} ({})", e.summary, e.kind);
            }
        }
    }
    if format == ListFormat::Table {
        let _ = table.write(&mut std::io::stdout());
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(common::EXIT_PARTIAL)
    }
}

async fn list(args: ListArgs) -> ExitCode {
    if let Some(path) = args.tenants {
        return list_fleet(path, args.format).await;
    }
    let conn = match common::connect_to(demo, |b| b).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let devices = match list_quarantined(conn.client.as_ref()).await {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    if args.format == ListFormat::Json {
        for d in &devices {
            println!("{}", row_json(d));
        }
    } else {
        let mut table = common::Table::new(&HEADER);
        for d in &devices {
            table.row(row_cells(d));
        }
        let _ = table.write(&mut std::io::stdout());
        println!("{} quarantined device(s).", devices.len());
    }
    ExitCode::SUCCESS
}

async fn decide(decision: QuarantineDecision, args: DecideArgs) -> ExitCode {
    let selection = match &args.identity {
        Some(id) => match common::device_identity(id) {
            Ok(i) => QuarantineSelection::Identity(i),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(common::EXIT_USAGE);
            }
        },
        None => {
            for (flag, v) in [("--model", &args.model), ("--type", &args.device_type)] {
                if v.as_ref()
                    .is_some_and(|v| v.contains('*') || v.contains('?') || v.trim().is_empty())
                {
                    eprintln!("error: {flag}: an exact value, no wildcard");
                    return ExitCode::from(common::EXIT_USAGE);
                }
            }
            QuarantineSelection::All {
                model: args.model.clone(),
                device_type: args.device_type.clone(),
            }
        }
    };
    let conn = match common::connect_to(demo, |b| b).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let client = conn.client.as_ref();
    let plan = match plan_quarantine(client, &selection, decision).await {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    if !args.yes {
        if args.format == ListFormat::Json {
            for d in plan.devices() {
                let mut v = row_json(d);
                v["action"] = json!(decision.as_str());
                v["dry_run"] = json!(true);
                println!("{v}");
            }
        } else {
            let mut table = common::Table::new(&HEADER);
            for d in plan.devices() {
                table.row(row_cells(d));
            }
            let _ = table.write(&mut std::io::stdout());
            println!(
                "Would {} {} device(s) with {} Set-CASMailbox call(s) (one per mailbox). \
                 Nothing was sent. Add --yes to send it.",
                decision.as_str(),
                plan.devices().count(),
                plan.mailboxes.len()
            );
        }
        return ExitCode::SUCCESS;
    }
    let report = match apply_quarantine(
        client,
        &plan,
        QuarantineConfirmation::i_release_these_devices(&plan),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let mut table = common::Table::new(&[
        "IDENTITY",
        "GUID",
        "MAILBOX",
        "DEVICE_ID",
        "RESULT",
        "STATE",
        "NOTE",
    ]);
    for r in &report.results {
        let outcome = serde_json::to_value(r.outcome).unwrap_or_default();
        if args.format == ListFormat::Json {
            println!(
                "{}",
                json!({
                    "identity": r.device.identity,
                    "guid": r.device.guid,
                    "mailbox": r.device.mailbox,
                    "device_id": r.device.device_id,
                    "action": decision.as_str(),
                    "result": outcome,
                    "access_state_after": r.access_state_after,
                    "access_state_reason_after": r.access_state_reason_after,
                    "note": r.note,
                })
            );
        } else {
            table.row(vec![
                r.device.identity.clone(),
                r.device.guid.to_string(),
                r.device.mailbox.clone(),
                r.device.device_id.clone(),
                outcome.as_str().unwrap_or("").to_string(),
                format!(
                    "{}/{}",
                    r.access_state_after.as_deref().unwrap_or("?"),
                    r.access_state_reason_after.as_deref().unwrap_or("?")
                ),
                r.note.clone().unwrap_or_default(),
            ]);
        }
    }
    if args.format == ListFormat::Table {
        let _ = table.write(&mut std::io::stdout());
    }
    if report.any(QuarantineOutcome::Unknown) {
        ExitCode::from(common::EXIT_UNKNOWN)
    } else if report.any(QuarantineOutcome::Refused) {
        ExitCode::from(common::EXIT_REFUSED)
    } else if report.any(QuarantineOutcome::Skipped) {
        ExitCode::from(common::EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let cli = match common::parse_args::<Cli>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    match cli.command {
        Command::List(a) => list(a).await,
        Command::Allow(a) => decide(QuarantineDecision::Allow, a).await,
        Command::Block(a) => decide(QuarantineDecision::Block, a).await,
    }
}
