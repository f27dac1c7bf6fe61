//! Many tenants at once with one multi-tenant app: check every tenant, or stream every
//! device of every tenant.
//!
//! ```text
//! cargo run --example fleet -- check                        # embedded demo, table
//! cargo run --example fleet -- check --tenants tenants.txt --format json
//! cargo run --example fleet -- inventory --tenants tenants.txt --with-statistics --format csv
//! cargo run --example fleet -- cleanup-plan --tenants tenants.txt --older-than 45d
//! ```
//!
//! * Tenants file (`--tenants FILE`, or `EXO_TENANTS_FILE`): one tenant GUID or domain per
//!   line; blank lines and `#` comments are ignored; a bad or repeated line is that line's own
//!   result (kind `invalid_tenant`, with its number and text) and the other tenants run;
//!   `--strict` refuses the whole file instead (exit 1).
//! * Credentials (`FleetBuilder::from_env`): `EXO_CLIENT_ID` with `EXO_CLIENT_SECRET`, or
//!   `EXO_CLIENT_CERTIFICATE` (+ `EXO_CLIENT_CERTIFICATE_KEY`), of a multi-tenant app, or
//!   `EXO_CREDENTIAL` (feature `azure-identity`); each tenant gets its own token.
//!   `EXO_ENVIRONMENT` picks the cloud, `EXO_AUTHORITY` overrides the login host and
//!   `EXO_ENDPOINT` the API's base URL (plain http only for loopback; any other https host
//!   needs `EXO_ALLOW_CUSTOM_ENDPOINT=1`). `EXO_ACCESS_TOKEN` is refused (one token belongs to
//!   one tenant), and `EXO_TENANT_ID`'s value is not used (but setting it turns the embedded
//!   demo off).
//! * With none of `EXO_TENANT_ID`, `EXO_ENDPOINT` and `EXO_CLIENT_ID` set, it runs against an
//!   embedded simulator serving five tenants (one not consented, one with missing
//!   permissions, one throttling hard), through the same OAuth code, and says so on stderr.
//!
//! Results go to stdout; per-tenant progress, the summary and logs go to stderr (no colour
//! codes when stderr is not a terminal). Exit codes: the table shared by every example (in
//! `--help`): 0 all healthy / complete, 1 configuration, 2 some tenant not, 64 usage.

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Parser, Subcommand};
use exchange_activesync::auth::{VAR_CLIENT_ID, VAR_TENANT_ID};
use exchange_activesync::connector::{
    ConnectionStatus, ConnectorProfile, DeviceRecord, StaleCriteria, plan_stale_cleanup,
};
use exchange_activesync::fleet::{
    Fleet, FleetBuilder, FleetItem, RejectedLine, SyncOutcome, TenantCheck, TenantList,
    TenantSyncSummary, VAR_TENANTS_FILE,
};
use exchange_activesync::http::VAR_ENDPOINT;
use exchange_activesync_testkit::{
    Failure, Fault, FaultStep, FaultTimes, RbacProfile, Simulator, SimulatorConfig,
    SimulatorHandle, TenantBuilder,
};
use futures::StreamExt;
use serde_json::json;

/// Work many tenants at once with one multi-tenant app.
#[derive(Debug, Parser)]
#[command(name = "fleet", after_help = exit_codes())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn exit_codes() -> String {
    common::exit_help(
        "  0   check: every tenant is healthy; inventory / cleanup-plan: every tenant
      read completely
  1   could not run: configuration (missing or conflicting credentials, a bad EXO_*
      value, no valid tenant, with --strict a bad or repeated tenants file line), or
      stdout could not be written
  2   check: some tenant is degraded or failed, or a tenants file line names no
      tenant; inventory / cleanup-plan: some tenant failed or is partial (the other
      tenants still run in full)
  64  usage error: an unknown option or subcommand, no --tenants FILE (or
      EXO_TENANTS_FILE) outside the embedded demo, a bad --profile, --format or
      --older-than

Credentials: EXO_CLIENT_ID with EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE
(+ EXO_CLIENT_CERTIFICATE_KEY), or EXO_CREDENTIAL; EXO_ENVIRONMENT, EXO_AUTHORITY,
EXO_ENDPOINT and EXO_ALLOW_CUSTOM_ENDPOINT as for the other examples. EXO_ACCESS_TOKEN
is refused (each tenant needs its own token), and EXO_TENANT_ID's value is not used:
the tenants come from --tenants or EXO_TENANTS_FILE. With none of EXO_TENANT_ID,
EXO_ENDPOINT and EXO_CLIENT_ID set, an embedded simulator serving five tenants is used
(so setting EXO_TENANT_ID alone turns the demo off and asks for --tenants).",
    )
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check every tenant: connection status, permissions and device count.
    #[command(after_help = exit_codes())]
    Check(CheckArgs),
    /// Stream every device of every tenant, tagged with its tenant.
    #[command(after_help = exit_codes())]
    Inventory(InventoryArgs),
    /// Plan a stale-device cleanup in every tenant (reads only): one JSON line per
    /// candidate, with a `Tenant` key, then one summary line per tenant.
    #[command(after_help = exit_codes())]
    CleanupPlan(CleanupPlanArgs),
}

#[derive(Debug, ClapArgs)]
struct Common {
    /// Tenants file: one tenant GUID or domain per line, `#` comments (required unless
    /// the embedded simulator runs, whose tenants are used then).
    #[arg(long, value_name = "FILE")]
    tenants: Option<PathBuf>,
    /// Refuse the whole tenants file when a line names no valid tenant or repeats one
    /// (default: that line is its own failed result and the others run).
    #[arg(long)]
    strict: bool,
    /// Tenants worked at once (default 32).
    #[arg(long, value_name = "N")]
    tenant_concurrency: Option<usize>,
    /// Requests in flight over all tenants (default 256).
    #[arg(long, value_name = "N")]
    global_budget: Option<usize>,
}

#[derive(Debug, ClapArgs)]
struct CheckArgs {
    #[command(flatten)]
    common: Common,
    /// Connector profile: exchange-online or hosted-exchange.
    #[arg(long, default_value = "exchange-online")]
    profile: String,
    /// Output format: text (aligned table) or json (one object per tenant a line).
    #[arg(long, value_enum, default_value_t = common::Format::Text)]
    format: common::Format,
}

#[derive(Debug, ClapArgs)]
struct InventoryArgs {
    #[command(flatten)]
    common: Common,
    /// Join each device with its statistics (one call per mailbox).
    #[arg(long)]
    with_statistics: bool,
    /// Output format: text (aligned table), csv (Tenant column first) or json (JSON lines,
    /// the `inventory` example's objects with a `Tenant` key).
    #[arg(long, value_enum, default_value_t = common::TableFormat::Text)]
    format: common::TableFormat,
}

#[derive(Debug, ClapArgs)]
struct CleanupPlanArgs {
    #[command(flatten)]
    common: Common,
    /// Devices whose last successful sync is older than this (`45d`, `12w`, `36h`).
    #[arg(long, value_name = "AGE", value_parser = common::parse_duration)]
    older_than: std::time::Duration,
    /// Also plan devices that have a first sync but no successful one.
    #[arg(long)]
    include_never_synced: bool,
}

/// Why a run stopped before its end: its exit code (1 configuration, 64 usage) and message.
struct Stop(u8, String);

/// A configuration error (tenants file, credentials, endpoint; stdout failing): exit 1.
fn config_error(message: impl Into<String>) -> Stop {
    Stop(common::EXIT_FAILED, message.into())
}

/// A usage error (a bad or missing option): exit 64.
fn usage(message: impl Into<String>) -> Stop {
    Stop(common::EXIT_USAGE, message.into())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Tenants in the embedded demo.
const DEMO_TENANTS: usize = 5;

/// The embedded demo: five tenants of 40 devices; the third grants only View-Only
/// Organization Management, the fourth has not consented to the app, the fifth throttles
/// every request (429, `Retry-After: 0.1`), so its retries run out and it fails as throttled.
async fn start_demo() -> Result<SimulatorHandle, Stop> {
    let config = SimulatorConfig::tenants_from(DEMO_TENANTS, |i| {
        TenantBuilder::new()
            .seed(2024 + i as u64)
            .devices(40)
            .mailboxes(20)
            .rbac_profile(if i == 2 {
                RbacProfile::ReadOnly
            } else {
                RbacProfile::Full
            })
    })
    .configure_tenant(3, |s| s.unconsented = true)
    .configure_tenant(4, |s| {
        s.script.push(FaultStep::new(
            None,
            Fault::Fail(Failure::Throttled {
                retry_after: Some("0.1".into()),
            }),
            FaultTimes::Always,
        ))
    });
    let sim = Simulator::start(config)
        .await
        .map_err(|e| config_error(format!("could not start the embedded simulator: {e}")))?;
    let domains: Vec<String> = sim
        .tenants()
        .iter()
        .map(|t| t.domain().to_string())
        .collect();
    eprintln!(
        "note: EXO_TENANT_ID, EXO_ENDPOINT and EXO_CLIENT_ID are not set; using the embedded \
         simulator at {} serving {} tenants ({}); {} grants only read roles (missing \
         permissions), {} has not consented to the app, {} throttles hard; tokens come from \
         its token endpoint",
        sim.base_url(),
        domains.len(),
        domains.join(", "),
        domains[2],
        domains[3],
        domains[4],
    );
    Ok(sim)
}

fn read_tenants(path: &PathBuf, strict: bool) -> Result<TenantList, Stop> {
    let list = if strict {
        TenantList::from_file(path)
    } else {
        TenantList::from_file_lenient(path)
    }
    .map_err(|e| config_error(format!("{}: {}", path.display(), common::error_chain(&e))))?;
    if list.is_empty() {
        return Err(config_error(format!(
            "{}: no tenant listed",
            path.display()
        )));
    }
    Ok(list)
}

/// The fleet (and the embedded simulator, kept alive while it runs).
async fn configure(common: &Common) -> Result<(FleetBuilder, Option<SimulatorHandle>), Stop> {
    let embedded =
        var(VAR_TENANT_ID).is_none() && var(VAR_ENDPOINT).is_none() && var(VAR_CLIENT_ID).is_none();
    let (mut builder, sim) = if embedded {
        // A bad tenants file is refused before anything starts.
        let listed = common
            .tenants
            .as_ref()
            .map(|p| read_tenants(p, common.strict))
            .transpose()?;
        let sim = start_demo().await?;
        let tenants = match listed {
            Some(list) => list,
            None => TenantList::from_ids(sim.tenants().iter().map(|t| t.domain().to_string()))
                .map_err(|e| config_error(common::error_chain(&e)))?,
        };
        let builder = Fleet::builder(tenants)
            .endpoint(sim.base_url())
            .authority(sim.authority())
            .client_secret(sim.app().client_id.clone(), sim.app().client_secret.clone());
        (builder, Some(sim))
    } else {
        let path = match (&common.tenants, var(VAR_TENANTS_FILE)) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => PathBuf::from(p.trim()),
            (None, None) => {
                return Err(usage(format!(
                    "--tenants FILE (or {VAR_TENANTS_FILE}) is required"
                )));
            }
        };
        // Refused whole (strict) or read leniently, then configured by the library from the
        // EXO_* variables, the tenants file being the one named here.
        let listed = read_tenants(&path, common.strict)?;
        let file = path.to_string_lossy().into_owned();
        let builder = FleetBuilder::from_lookup(|name| {
            if name == VAR_TENANTS_FILE {
                Some(file.clone())
            } else {
                var(name)
            }
        })
        .map_err(|e| config_error(common::error_chain(&e)))?;
        drop(listed);
        (builder, None)
    };
    if let Some(n) = common.tenant_concurrency {
        builder = builder.tenant_concurrency(n);
    }
    if let Some(n) = common.global_budget {
        builder = builder.global_budget(n);
    }
    Ok((builder, sim))
}

fn build(builder: FleetBuilder) -> Result<Fleet, Stop> {
    builder
        .build()
        .map_err(|e| config_error(common::error_chain(&e)))
}

// --- check ------------------------------------------------------------------------------

/// The first line of an error's text (the identity platform's descriptions go on with trace
/// and correlation ids on further lines), for the table and the progress lines.
fn first_line(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

fn status_of(c: &TenantCheck) -> &'static str {
    match (&c.connection, &c.error) {
        (Ok(r), None) => r.status.as_str(),
        _ => "failed",
    }
}

fn check_json(c: &TenantCheck) -> serde_json::Value {
    let (reasons, conn_error) = match &c.connection {
        Ok(r) => match &r.status {
            ConnectionStatus::Degraded { reasons } => (json!(reasons), json!(null)),
            ConnectionStatus::Failed { error } => (json!([]), json!(error)),
            _ => (json!([]), json!(null)),
        },
        Err(e) => (json!([]), json!(e.to_string())),
    };
    let (all_granted, missing) = match &c.permissions {
        Ok(p) => (
            json!(p.all_granted),
            json!(
                p.cmdlets
                    .iter()
                    .filter(|x| x.status != exchange_activesync::permissions::Status::Granted)
                    .map(|x| format!("{} ({})", x.cmdlet, x.status.as_str()))
                    .collect::<Vec<_>>()
            ),
        ),
        Err(_) => (json!(false), json!(null)),
    };
    let verdict = c.permissions.as_ref().ok().map(|p| p.verdict.as_str());
    json!({
        "tenant": c.tenant.as_str(),
        "line": c.tenant.line(),
        "status": status_of(c),
        "connection": { "status": status_of(c), "reasons": reasons, "error": conn_error },
        "permissions": { "verdict": verdict, "all_granted": all_granted, "missing": missing },
        "devices": { "total": c.devices_total },
        "error": c.error.as_ref().map(|e| e.summary.clone()),
        "error_kind": c.error.as_ref().map(|e| e.kind.as_str()),
        "aadsts": c.error.as_ref().and_then(|e| e.aadsts),
        "http_status": c.error.as_ref().and_then(|e| e.status),
        "retry_after_secs": c.error.as_ref().and_then(|e| e.retry_after_secs),
    })
}

/// A tenants file line that names no tenant, as its own result.
fn rejected_json(r: &RejectedLine) -> serde_json::Value {
    json!({
        "tenant": null,
        "line": r.line,
        "text": r.text,
        "status": "failed",
        "error": r.reason,
        "error_kind": "invalid_tenant",
    })
}

/// Print the rejected lines (as results on stdout in JSON, on stderr otherwise).
fn report_rejected(list: &TenantList, json_out: bool, out: &mut impl Write) -> Result<usize, Stop> {
    for r in list.rejected() {
        if json_out {
            writeln!(out, "{}", rejected_json(r)).map_err(write_error)?;
        } else {
            eprintln!(
                "line {}: {:?}: invalid_tenant: {}",
                r.line, r.text, r.reason
            );
        }
    }
    Ok(list.rejected().len())
}

async fn run_check(args: CheckArgs) -> Result<ExitCode, Stop> {
    let profile = ConnectorProfile::parse(&args.profile)
        .map_err(|e| usage(format!("--profile: {}", common::error_chain(&e))))?;
    let (builder, sim) = configure(&args.common).await?;
    let fleet = build(builder)?;
    let total = fleet.tenants().len();
    let mut stream = fleet.check(profile);
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let rejected = report_rejected(
        fleet.tenants(),
        args.format == common::Format::Json,
        &mut out,
    )?;
    let mut results = Vec::new();
    let mut unhealthy = rejected;
    let mut done = 0usize;
    while let Some(c) = stream.next().await {
        let status = status_of(&c);
        if status != "healthy" {
            unhealthy += 1;
        }
        eprintln!(
            "[{}/{total}] {}: {status}{}",
            done + 1,
            c.tenant,
            c.error
                .as_ref()
                .map(|e| format!(" ({})", first_line(e)))
                .unwrap_or_default()
        );
        done += 1;
        match args.format {
            common::Format::Json => writeln!(out, "{}", check_json(&c)).map_err(write_error)?,
            // The table is printed at the end, in the order of the tenants file.
            common::Format::Text => results.push(c),
        }
    }
    if args.format == common::Format::Text {
        // In the order of the tenants file.
        results.sort_by_key(|c| c.tenant.index());
        let mut table =
            common::Table::new(&["TENANT", "STATUS", "PERMISSIONS", "DEVICES", "ERROR"]);
        for c in &results {
            table.row(vec![
                c.tenant.to_string(),
                status_of(c).to_string(),
                match &c.permissions {
                    Ok(p) if p.all_granted => "all granted".to_string(),
                    Ok(p) => format!(
                        "missing {}",
                        p.cmdlets
                            .iter()
                            .filter(
                                |x| x.status != exchange_activesync::permissions::Status::Granted
                            )
                            .count()
                    ),
                    Err(_) => "unknown".to_string(),
                },
                c.devices_total
                    .map_or_else(|| "-".to_string(), |n| n.to_string()),
                c.error.as_ref().map(first_line).unwrap_or_default(),
            ]);
        }
        table.write(&mut out).map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    eprintln!(
        "{} tenants: {} healthy, {unhealthy} not{}",
        total + rejected,
        total + rejected - unhealthy,
        if rejected > 0 {
            format!(" ({rejected} tenants file line(s) name no tenant)")
        } else {
            String::new()
        }
    );
    drop(sim);
    Ok(if unhealthy == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

// --- inventory --------------------------------------------------------------------------

const COLUMNS: &[&str] = &[
    "Tenant",
    "Identity",
    "Guid",
    "DeviceType",
    "DeviceModel",
    "DeviceOS",
    "DeviceAccessState",
    "LastSuccessSync",
];

fn cells(tenant: &str, r: &DeviceRecord) -> Vec<String> {
    let d = &r.device;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        tenant.to_string(),
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

/// The `inventory` example's object, with a `Tenant` key.
fn json_line(tenant: &str, r: &DeviceRecord) -> serde_json::Result<String> {
    let mut v = serde_json::to_value(&r.device)?;
    if let Some(obj) = v.as_object_mut() {
        if let Some(stats) = &r.statistics {
            obj.insert("Statistics".into(), serde_json::to_value(stats)?);
        }
        obj.insert("Tenant".into(), json!(tenant));
    }
    serde_json::to_string(&v)
}

fn summary_line(s: &TenantSyncSummary) -> String {
    let mut line = format!(
        "{}: {}, {} devices ({} with statistics)",
        s.tenant,
        s.outcome.as_str(),
        s.devices,
        s.with_statistics
    );
    if s.failed_mailboxes > 0 {
        line.push_str(&format!(", {} failed mailboxes", s.failed_mailboxes));
    }
    if let Some(why) = &s.reason {
        line.push_str(&format!(": {why}"));
    } else if let Some(e) = &s.error {
        line.push_str(&format!(": {}", first_line(e)));
    }
    line
}

async fn run_inventory(args: InventoryArgs) -> Result<ExitCode, Stop> {
    use common::TableFormat as Format;
    let (builder, sim) = configure(&args.common).await?;
    let fleet = build(builder)?;
    let total = fleet.tenants().len();
    let mut stream = fleet.inventory(args.with_statistics);
    let mut out = std::io::BufWriter::new(std::io::stdout());
    // Rejected lines go to stderr here: stdout holds device rows only.
    let rejected = report_rejected(fleet.tenants(), false, &mut out)?;
    if args.format == Format::Csv {
        writeln!(out, "{}", COLUMNS.join(",")).map_err(write_error)?;
    }
    let mut table = common::Table::new(&[
        "TENANT",
        "DEVICETYPE",
        "DEVICEMODEL",
        "ACCESSSTATE",
        "IDENTITY",
    ]);
    let mut incomplete: Vec<TenantSyncSummary> = Vec::new();
    let (mut finished, mut devices) = (0usize, 0u64);
    while let Some(item) = stream.next().await {
        match item {
            FleetItem::Record { tenant, record } => {
                let line = match args.format {
                    Format::Text => {
                        let c = cells(tenant.as_str(), &record);
                        table.row(vec![
                            c[0].clone(),
                            c[3].clone(),
                            c[4].clone(),
                            c[6].clone(),
                            c[1].clone(),
                        ]);
                        continue;
                    }
                    Format::Json => {
                        json_line(tenant.as_str(), &record).map_err(std::io::Error::other)
                    }
                    Format::Csv => Ok(cells(tenant.as_str(), &record)
                        .iter()
                        .map(|c| csv_field(c))
                        .collect::<Vec<_>>()
                        .join(",")),
                };
                line.and_then(|l| writeln!(out, "{l}"))
                    .map_err(write_error)?;
            }
            FleetItem::TenantDone(s) => {
                finished += 1;
                devices += s.devices;
                eprintln!("[{finished}/{total}] {}", summary_line(&s));
                // Only the tenants to list again at the end are kept: memory stays flat in
                // the number of tenants.
                if s.outcome != SyncOutcome::Complete {
                    incomplete.push(s);
                }
            }
            _ => {}
        }
    }
    if args.format == Format::Text {
        table.write(&mut out).map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    incomplete.sort_by_key(|s| s.tenant.index());
    let complete = finished - incomplete.len();
    eprintln!(
        "summary: {total} tenants, {complete} complete, {} not; {devices} devices",
        total - complete
    );
    for s in &incomplete {
        eprintln!("  {}", summary_line(s));
    }
    drop(sim);
    Ok(if complete == total && rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

// --- cleanup-plan -----------------------------------------------------------------------

async fn run_cleanup_plan(args: CleanupPlanArgs) -> Result<ExitCode, Stop> {
    let (builder, sim) = configure(&args.common).await?;
    let fleet = build(builder)?;
    let total = fleet.tenants().len();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let rejected = report_rejected(fleet.tenants(), true, &mut out)?;
    let criteria =
        StaleCriteria::older_than(args.older_than).include_never_synced(args.include_never_synced);
    // The caller's own operation, run per tenant with the fleet's isolation and budget.
    let mut stream = fleet.for_each(move |_tenant, client| {
        let criteria = criteria.clone();
        async move { plan_stale_cleanup(&*client, criteria, chrono::Utc::now()).await }
    });
    let (mut done, mut not_complete) = (0usize, rejected);
    while let Some(r) = stream.next().await {
        done += 1;
        let tenant = r.tenant.as_str().to_string();
        match r.result {
            Ok(plan) => {
                for c in &plan.candidates {
                    let mut v = serde_json::to_value(c).map_err(|e| write_error(e.into()))?;
                    if let Some(o) = v.as_object_mut() {
                        o.insert("Tenant".into(), json!(tenant));
                    }
                    writeln!(out, "{v}").map_err(write_error)?;
                }
                if !plan.is_complete() {
                    not_complete += 1;
                }
                let summary = json!({
                    "Tenant": tenant,
                    "summary": true,
                    "candidates": plan.candidates.len(),
                    "devices_seen": plan.devices_seen,
                    "complete": plan.is_complete(),
                    "without_statistics": plan.without_statistics,
                    "failed_mailboxes": plan.failed_mailboxes.len(),
                    "plan_id": plan.id,
                });
                writeln!(out, "{summary}").map_err(write_error)?;
                eprintln!(
                    "[{done}/{total}] {tenant}: {} candidates of {} devices{}",
                    plan.candidates.len(),
                    plan.devices_seen,
                    if plan.is_complete() {
                        ""
                    } else {
                        " (plan not complete)"
                    }
                );
            }
            Err(e) => {
                not_complete += 1;
                let line = json!({
                    "Tenant": tenant,
                    "summary": true,
                    "error": e.summary,
                    "error_kind": e.kind.as_str(),
                });
                writeln!(out, "{line}").map_err(write_error)?;
                eprintln!(
                    "[{done}/{total}] {tenant}: failed: {} ({})",
                    e.summary, e.kind
                );
            }
        }
    }
    out.flush().map_err(write_error)?;
    drop(sim);
    Ok(if not_complete == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn write_error(e: std::io::Error) -> Stop {
    config_error(format!("error writing output: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let cli = match common::parse_args::<Cli>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let result = match cli.command {
        Command::Check(a) => run_check(a).await,
        Command::Inventory(a) => run_inventory(a).await,
        Command::CleanupPlan(a) => run_cleanup_plan(a).await,
    };
    match result {
        Ok(code) => code,
        Err(Stop(_, e)) if e.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(Stop(code, e)) => {
            eprintln!("error: {e}");
            ExitCode::from(code)
        }
    }
}
