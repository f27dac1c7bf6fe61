//! A standalone, local Exchange Online admin API (`InvokeCommand`, `EXOModuleFile`) backed by a
//! seeded, deterministic tenant: something any tool, in any language, can test against.
//!
//! ```text
//! cargo run --example simulator -- --port 8080 --devices 1000 --seed 7
//! ```
//!
//! Once listening it prints these shell assignments on stdout (and, with `--ready-file`,
//! writes them atomically to that file):
//!
//! ```text
//! EXO_ENDPOINT=http://127.0.0.1:8080
//! EXO_TENANT_ID=<guid of the first tenant>
//! EXO_ACCESS_TOKEN=<token of the first tenant>
//! EXO_AUTHORITY=http://127.0.0.1:8080
//! EXO_CLIENT_ID=<client id of the registered application>
//! EXO_CLIENT_SECRET=<its client secret>
//! EXO_TENANTS_FILE=<path>          (only with --tenants-file)
//! ```
//!
//! The token is an unsigned (`"alg":"none"`) app-only JWT for the simulated tenant
//! (`aud` `https://outlook.office365.com`, `roles` `["Exchange.ManageAsApp"]`); every other
//! token is answered 401 unless `--accept-any-token` is given. The same port serves an
//! Entra-like token endpoint, `POST /{tenant}/oauth2/v2.0/token` (client credentials with the
//! printed client id and secret, or a JWT client assertion), whose tokens are valid on that
//! tenant's URLs only.
//!
//! `--tenants N` serves N generated tenants (`tenant01.onmicrosoft.com`, …, seeds `--seed`,
//! `--seed`+1, …, each with `--devices` devices, its own cap and counters);
//! `--tenants-file PATH` writes their GUIDs there, one a line after a `#` comment. Tenants are
//! numbered from 1 for `--unconsented-tenant`, `--limited-tenant`, `--hard-throttle-tenant`
//! and `--tenant-cap`. Logs go to stderr. Ctrl-C or SIGTERM stops it gracefully (in-flight
//! requests are finished).

#[path = "common/mod.rs"]
mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use exchange_activesync_testkit::{
    ChaosMode, ChaosPlan, Failure, Fault, FaultProfile, FaultStep, FaultTimes, RbacProfile,
    SimulatedApp, Simulator, SimulatorConfig, TOKEN_APP_ID, TenantBuilder,
};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Faults {
    /// No injected faults.
    None,
    /// A few percent of reads fail once (429/503/500/reset) and one continuation expires.
    Transient,
    /// Sustained throttling (429 with Retry-After, the per-tenant concurrency 429).
    Storm,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum AfterRun {
    /// 503 with an HTML page.
    Unavailable,
    /// 500 naming StorageTransientException.
    Transient,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Rbac {
    /// Organization Management: every cmdlet.
    Full,
    /// Read cmdlets a connector needs, no writes.
    ExchangeOnlineMinusWrites,
    /// View-Only Organization Management.
    ReadOnly,
}

/// Serve a simulated Exchange Online admin API on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "simulator", after_help = common::exit_help(
    "  0   stopped by Ctrl-C or SIGTERM after serving
  1   could not start: the port is taken, the tenants or ready file cannot be written
  64  usage error: an unknown option, a bad value, a tenant number that is not served"
))]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Number of mobile device partnerships.
    #[arg(long, default_value_t = 200)]
    devices: usize,
    /// Number of mailboxes (default: devices / 5, at least 10).
    #[arg(long)]
    mailboxes: Option<usize>,
    /// Seed of the tenant, the skiptoken key and the fault schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer requests beyond this many in flight with the plain-text concurrency 429.
    #[arg(long)]
    cap: Option<usize>,
    /// Injected faults.
    #[arg(long, value_enum, default_value_t = Faults::None)]
    faults: Faults,
    /// Run every destructive cmdlet (Clear-/Remove-MobileDevice), then answer it 503 (or,
    /// with `transient`, 500 naming StorageTransientException): the change is made, the
    /// answer proves nothing.
    #[arg(long, value_enum, value_name = "ANSWER")]
    fault_after_destructive: Option<AfterRun>,
    /// From request N+1 on, answer every request with a proxy's HTML 404 page (a lost route).
    #[arg(long, value_name = "N")]
    fault_proxy_404_after: Option<u32>,
    /// Answer every Get-MobileDevice continuation with the first page's rows again under a
    /// fresh next link (a listing that never ends).
    #[arg(long)]
    fault_repeat_rows: bool,
    /// RBAC of the caller (reflected in EXOModuleFile and in 403 answers).
    #[arg(long, value_enum, default_value_t = Rbac::Full)]
    rbac: Rbac,
    /// Write the EXO_* lines to this file (atomically) once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Accept any bearer token instead of only the simulator's own (a token naming another
    /// served tenant is still refused).
    #[arg(long)]
    accept_any_token: bool,
    /// Serve this many generated tenants on the same port (1: the single `--seed` tenant).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    tenants: u16,
    /// Write the served tenants' GUIDs to this file (one a line, after a `#` comment) and list
    /// it in the ready file as EXO_TENANTS_FILE.
    #[arg(long)]
    tenants_file: Option<PathBuf>,
    /// The application is not consented in tenant K (1-based; repeatable): its token endpoint
    /// answers AADSTS700016 and its admin API 401.
    #[arg(long, value_name = "K")]
    unconsented_tenant: Vec<usize>,
    /// Tenant K (1-based; repeatable) grants the application only View-Only Organization
    /// Management: reads work, every write is answered 403.
    #[arg(long, value_name = "K")]
    limited_tenant: Vec<usize>,
    /// Tenant K (1-based; repeatable) throttles hard: one request in flight at a time and
    /// sustained 429s (every request still succeeds by its third attempt).
    #[arg(long, value_name = "K")]
    hard_throttle_tenant: Vec<usize>,
    /// Tenant K (1-based; repeatable) answers every request 429 with `Retry-After`
    /// (`--throttle-retry-after`, default 1 s): nothing of it can be read.
    #[arg(long, value_name = "K")]
    throttle_tenant: Vec<usize>,
    /// The `Retry-After` of `--throttle-tenant`'s answers, in seconds (e.g. `0.2`).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_seconds)]
    throttle_retry_after: String,
    /// Cap of one tenant, as K=N (1-based tenant K allows N requests in flight; repeatable);
    /// overrides --cap for that tenant.
    #[arg(long, value_name = "K=N", value_parser = parse_tenant_cap)]
    tenant_cap: Vec<(usize, usize)>,
    /// Client id of the application registered for the token endpoint.
    #[arg(long, default_value = TOKEN_APP_ID)]
    client_id: String,
    /// Client secret of that application (default: a fixed test value, printed).
    #[arg(long)]
    client_secret: Option<String>,
}

fn parse_tenant_cap(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected K=N, got {s:?}"))?;
    let k = k
        .trim()
        .parse()
        .map_err(|_| format!("bad tenant number in {s:?}"))?;
    let n = n.trim().parse().map_err(|_| format!("bad cap in {s:?}"))?;
    Ok((k, n))
}

/// Write `contents` to `path` through a temporary file in the same directory and a rename, so
/// a reader never sees a partial file.
fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ready".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Wait for Ctrl-C or (on Unix) SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let started = Instant::now();
    let rbac = match args.rbac {
        Rbac::Full => RbacProfile::Full,
        Rbac::ExchangeOnlineMinusWrites => RbacProfile::ExchangeOnlineMinusWrites,
        Rbac::ReadOnly => RbacProfile::ReadOnly,
    };
    let n = usize::from(args.tenants);
    for k in args
        .unconsented_tenant
        .iter()
        .chain(&args.limited_tenant)
        .chain(&args.hard_throttle_tenant)
        .chain(&args.throttle_tenant)
        .chain(args.tenant_cap.iter().map(|(k, _)| k))
    {
        if *k == 0 || *k > n {
            eprintln!("simulator: tenant {k} does not exist (tenants are numbered 1 to {n})");
            return ExitCode::from(common::EXIT_USAGE);
        }
    }
    let builder = |i: usize| {
        let limited = args.limited_tenant.contains(&(i + 1));
        TenantBuilder::new()
            .seed(args.seed.wrapping_add(i as u64))
            .devices(args.devices)
            .mailboxes(args.mailboxes.unwrap_or((args.devices / 5).max(10)))
            .rbac_profile(if limited { RbacProfile::ReadOnly } else { rbac })
    };
    let config = if n == 1 {
        SimulatorConfig::new(builder(0).build())
    } else {
        SimulatorConfig::tenants_from(n, builder)
    };
    let built = started.elapsed();
    let profile = match args.faults {
        Faults::None => FaultProfile::Calm,
        Faults::Transient => FaultProfile::Transient,
        Faults::Storm => FaultProfile::Storm,
    };
    let mut plan = profile.plan_seeded(args.seed);
    if let Some(after) = args.fault_after_destructive {
        let failure = match after {
            AfterRun::Unavailable => Failure::Unavailable,
            AfterRun::Transient => Failure::TransientException {
                exception: "StorageTransientException".into(),
            },
        };
        for cmdlet in ["Clear-MobileDevice", "Remove-MobileDevice"] {
            plan = plan.step(FaultStep::new(
                Some(cmdlet),
                Fault::AfterRun(failure.clone()),
                FaultTimes::Always,
            ));
        }
    }
    if let Some(n) = args.fault_proxy_404_after {
        plan = plan.step(
            FaultStep::new(None, Fault::Fail(Failure::NotFoundPage), FaultTimes::Always).after(n),
        );
    }
    if args.fault_repeat_rows {
        plan = plan.step(FaultStep::new(
            Some("Get-MobileDevice"),
            Fault::RepeatRows,
            FaultTimes::Always,
        ));
    }
    if args.latency_ms > 0 {
        plan = plan.latency(Duration::from_millis(args.latency_ms));
    }
    if let Some(cap) = args.cap {
        plan = plan.max_in_flight(cap);
    }
    let secret = args
        .client_secret
        .clone()
        .unwrap_or_else(|| exchange_activesync_testkit::DEFAULT_CLIENT_SECRET.to_string());
    let mut config = config
        .faults(plan)
        .port(args.port)
        .key_seed(Some(args.seed))
        .accept_any_token(args.accept_any_token)
        .app(SimulatedApp::new(args.client_id.clone(), secret));
    for k in &args.unconsented_tenant {
        config = config.configure_tenant(k - 1, |s| s.unconsented = true);
    }
    for k in &args.hard_throttle_tenant {
        let seed = args.seed.wrapping_add(*k as u64);
        config = config.configure_tenant(k - 1, |s| {
            s.max_in_flight = Some(1);
            s.chaos = Some(ChaosPlan::new(ChaosMode::Storm, seed));
        });
    }
    for k in &args.throttle_tenant {
        config = config.configure_tenant(k - 1, |s| {
            s.script.push(FaultStep::new(
                None,
                Fault::Fail(Failure::Throttled {
                    retry_after: Some(args.throttle_retry_after.clone()),
                }),
                FaultTimes::Always,
            ))
        });
    }
    for (k, cap) in &args.tenant_cap {
        config = config.configure_tenant(k - 1, |s| s.max_in_flight = Some(*cap));
    }
    let handle = match Simulator::start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("simulator: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let endpoint = handle.base_url().as_str().trim_end_matches('/').to_string();
    if let Some(path) = &args.tenants_file {
        let mut text = format!(
            "# {} tenants served by the simulator at {endpoint}: one tenant id a line\n",
            handle.tenant_ids().len()
        );
        for id in handle.tenant_ids() {
            text.push_str(&id);
            text.push('\n');
        }
        if let Err(e) = write_atomically(path, &text) {
            eprintln!(
                "simulator: cannot write tenants file {}: {e}",
                path.display()
            );
            handle.shutdown().await;
            return ExitCode::from(common::EXIT_FAILED);
        }
    }
    let mut lines = format!(
        "EXO_ENDPOINT={endpoint}\nEXO_TENANT_ID={}\nEXO_ACCESS_TOKEN={}\nEXO_AUTHORITY={endpoint}\nEXO_CLIENT_ID={}\nEXO_CLIENT_SECRET={}\n",
        handle.tenant_id(),
        handle.token(),
        handle.app().client_id,
        handle.app().client_secret,
    );
    if let Some(path) = &args.tenants_file {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        lines.push_str(&format!("EXO_TENANTS_FILE={}\n", absolute.display()));
    }
    {
        let mut out = std::io::stdout().lock();
        if out
            .write_all(lines.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            eprintln!("simulator: cannot write to stdout");
        }
    }
    if let Some(path) = &args.ready_file
        && let Err(e) = write_atomically(path, &lines)
    {
        eprintln!("simulator: cannot write ready file {}: {e}", path.display());
        handle.shutdown().await;
        return ExitCode::from(common::EXIT_FAILED);
    }
    eprintln!(
        "simulator: {} tenant(s), the first {} ({}), each with {} devices and {} mailboxes, built in {:.0?}; listening on {endpoint} (faults {:?}, rbac {:?}, cap {:?}, latency {} ms)",
        handle.tenant_ids().len(),
        handle.tenant_id(),
        handle.domain(),
        args.devices,
        handle.tenant().mailboxes().len(),
        built,
        args.faults,
        args.rbac,
        args.cap,
        args.latency_ms,
    );
    interrupted().await;
    eprintln!(
        "simulator: shutting down after {} requests",
        handle.request_count()
    );
    handle.shutdown().await;
    ExitCode::SUCCESS
}

/// A non-negative number of seconds, kept as the text sent in `Retry-After`.
fn parse_seconds(text: &str) -> Result<String, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(text.to_string()),
        _ => Err(format!("not a number of seconds: {text:?}")),
    }
}
