//! A standalone, local Exchange Online admin API (`InvokeCommand`, `EXOModuleFile`) backed by a
//! seeded, deterministic tenant: something any tool, in any language, can test against.
//!
//! ```text
//! cargo run --example simulator -- --port 8080 --devices 1000 --seed 7
//! ```
//!
//! Once listening it prints exactly three shell assignments on stdout (and, with
//! `--ready-file`, writes them atomically to that file):
//!
//! ```text
//! EXO_ENDPOINT=http://127.0.0.1:8080
//! EXO_TENANT_ID=<tenant guid>
//! EXO_ACCESS_TOKEN=<token>
//! ```
//!
//! The token is an unsigned (`"alg":"none"`) app-only JWT for the simulated tenant
//! (`aud` `https://outlook.office365.com`, `roles` `["Exchange.ManageAsApp"]`); every other
//! token is answered 401 unless `--accept-any-token` is given. Logs go to stderr. Ctrl-C or
//! SIGTERM stops it gracefully (in-flight requests are finished).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use exchange_activesync::testing::{
    FaultProfile, RbacProfile, Simulator, SimulatorConfig, TenantBuilder,
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
#[command(name = "simulator")]
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
    /// RBAC of the caller (reflected in EXOModuleFile and in 403 answers).
    #[arg(long, value_enum, default_value_t = Rbac::Full)]
    rbac: Rbac,
    /// Write the three EXO_* lines to this file (atomically) once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Accept any bearer token instead of only the printed one.
    #[arg(long)]
    accept_any_token: bool,
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
    let args = Args::parse();
    let started = Instant::now();
    let tenant = TenantBuilder::new()
        .seed(args.seed)
        .devices(args.devices)
        .mailboxes(args.mailboxes.unwrap_or((args.devices / 5).max(10)))
        .rbac_profile(match args.rbac {
            Rbac::Full => RbacProfile::Full,
            Rbac::ExchangeOnlineMinusWrites => RbacProfile::ExchangeOnlineMinusWrites,
            Rbac::ReadOnly => RbacProfile::ReadOnly,
        })
        .build();
    let built = started.elapsed();
    let profile = match args.faults {
        Faults::None => FaultProfile::Calm,
        Faults::Transient => FaultProfile::Transient,
        Faults::Storm => FaultProfile::Storm,
    };
    let mut plan = profile.plan_seeded(args.seed);
    if args.latency_ms > 0 {
        plan = plan.latency(Duration::from_millis(args.latency_ms));
    }
    if let Some(cap) = args.cap {
        plan = plan.max_in_flight(cap);
    }
    let config = SimulatorConfig::new(tenant)
        .faults(plan)
        .port(args.port)
        .key_seed(Some(args.seed))
        .accept_any_token(args.accept_any_token);
    let handle = match Simulator::start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("simulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let endpoint = handle.base_url().as_str().trim_end_matches('/').to_string();
    let lines = format!(
        "EXO_ENDPOINT={endpoint}\nEXO_TENANT_ID={}\nEXO_ACCESS_TOKEN={}\n",
        handle.tenant_id(),
        handle.token()
    );
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
        return ExitCode::FAILURE;
    }
    eprintln!(
        "simulator: tenant {} ({}) with {} devices and {} mailboxes built in {:.0?}; listening on {endpoint} (faults {:?}, rbac {:?}, cap {:?}, latency {} ms)",
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
