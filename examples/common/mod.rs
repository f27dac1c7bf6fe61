//! Plumbing shared by the connector examples (included with
//! `#[path = "common/mod.rs"] mod common;`).
//!
//! * With neither `EXO_TENANT_ID` nor `EXO_ENDPOINT` set, an embedded simulator (a seeded
//!   tenant with a few hundred devices) is started on loopback, and stderr says so.
//! * Otherwise: `EXO_TENANT_ID`, `EXO_ENVIRONMENT` (commercial, gcc-high, dod, china),
//!   `EXO_ENDPOINT` (base URL override: one of the cloud's hosts or a literal loopback
//!   address, plain http only for loopback), `EXO_AUTHORITY` (login host override, same
//!   rules), `EXO_ALLOW_CUSTOM_ENDPOINT=1` (accept any other https host for either: the
//!   credentials are sent there), and `EXO_ACCESS_TOKEN` or `EXO_CLIENT_ID` +
//!   `EXO_CLIENT_SECRET` / `EXO_CLIENT_CERTIFICATE`, or `EXO_CREDENTIAL` (`managed-identity`,
//!   `workload-identity`, `azure-cli`, `developer-tools`; build with
//!   `--features azure-identity`).
//!
//! Results go to stdout (text by default, `--format json` for machines); logs and progress go
//! to stderr (`RUST_LOG` controls the level), never with colour codes when stderr is not a
//! terminal.
//!
//! Every example exits with one of the codes of [`EXIT_CODES`] (printed by each `--help`,
//! followed by what each code means for that example; the README has the same table).
#![allow(dead_code)]

use std::sync::Arc;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::{ClientBuilder, Environment, ExchangeClient, HttpExchangeClient};
use exchange_activesync_testkit::{
    RbacProfile, Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder,
};

/// Output format of the examples that print text or JSON (`--format` accepts only these;
/// clap lists them in `--help` and refuses anything else).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

/// Output format of the examples that print an aligned table or JSON lines (the admin
/// workflow examples).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// An aligned table.
    Table,
    /// One JSON object per line.
    Json,
}

/// Output format of the examples that also print CSV (the inventory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// An aligned table.
    Text,
    /// CSV with a header line.
    Csv,
    /// JSON lines.
    Json,
}

/// Done, and all is well.
pub const EXIT_OK: u8 = 0;
/// Could not run, or failed: configuration, authentication, connection (and, for the
/// examples that only read, any failure of the service).
pub const EXIT_FAILED: u8 = 1;
/// Done, but not everything is well: degraded, missing permissions, some tenants or items
/// failed, partial data.
pub const EXIT_PARTIAL: u8 = 2;
/// Refused by the service: nothing changed.
pub const EXIT_REFUSED: u8 = 3;
/// Outcome unknown: the service may have acted.
pub const EXIT_UNKNOWN: u8 = 4;
/// A usage error: an unknown option, a missing or malformed value (sysexits' `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;

/// The exit-code table of every example (each `--help` prints it, then what each code means
/// for that example; the README's "Exit codes" section is the same table).
pub const EXIT_CODES: &str = "Exit codes (the same for every example):
  0   done, and all is well
  1   could not run, or failed: configuration, authentication, connection
  2   done, but not everything is well: degraded, missing permissions, some tenants
      or items failed, partial data
  3   refused by the service: nothing changed
  4   outcome unknown: the service may have acted; check before retrying
  64  usage error: an unknown option, a missing or malformed value; nothing was sent";

/// The `--help` text after the options: [`EXIT_CODES`], then `notes` (what the codes mean
/// for this example, one `  N   ...` line each).
pub fn exit_help(notes: &str) -> String {
    format!("{EXIT_CODES}\n\nIn this example:\n{notes}")
}

/// The exit code of a failed call: [`EXIT_UNKNOWN`] when the service may have acted,
/// [`EXIT_REFUSED`] when it answered with a refusal (an error, not found, throttling beyond
/// the retry policy), [`EXIT_FAILED`] when nothing reached it or the token was rejected
/// (connection, configuration, authentication).
pub fn exit_code_of(e: &exchange_activesync::Error) -> u8 {
    use exchange_activesync::error::SendState;
    if e.may_have_acted() {
        EXIT_UNKNOWN
    } else if e.send_state() == SendState::Answered && !e.api().is_some_and(|a| a.is_unauthorized())
    {
        EXIT_REFUSED
    } else {
        EXIT_FAILED
    }
}

/// Parse the command line; a usage error is printed and exits with [`EXIT_USAGE`],
/// `--help` / `--version` exit 0.
pub fn parse_args<T: clap::Parser>() -> Result<T, std::process::ExitCode> {
    T::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            std::process::ExitCode::from(EXIT_USAGE)
        } else {
            std::process::ExitCode::SUCCESS
        }
    })
}

/// Parse a duration such as `30s`, `10m`, `36h`, `90d` or `12w` (for clap's `value_parser`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    exchange_activesync::connector::parse_age(s).map_err(|e| e.to_string())
}

/// A notification address (`--notify`): `local@domain`, checked before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyAddress(String);

impl NotifyAddress {
    /// Check `text` (surrounding blanks are ignored): exactly one `@`, a local part of 1 to 64
    /// characters without blanks, quotes, commas, semicolons or angle brackets, and a domain
    /// of at least two dot-separated labels of letters, digits and inner hyphens.
    pub fn parse(text: &str) -> Result<NotifyAddress, String> {
        let t = text.trim();
        let bad = |why: &str| Err(format!("'{t}' is not an email address: {why}"));
        let Some((local, domain)) = t.split_once('@') else {
            return bad("no '@'");
        };
        if domain.contains('@') {
            return bad("more than one '@'");
        }
        if local.is_empty() || local.chars().count() > 64 {
            return bad("the part before '@' must have 1 to 64 characters");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return bad("misplaced '.' before '@'");
        }
        if local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"(),:;<>[]\\".contains(c))
        {
            return bad("a blank or one of \"(),:;<>[]\\ before '@'");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || domain.len() > 253
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return bad("the domain must be like contoso.com");
        }
        Ok(NotifyAddress(t.to_string()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NotifyAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A text table: every column as wide as its widest cell (by characters), the last one
/// unpadded; no cell is ever cut.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row (missing cells are empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Write the table, two spaces between columns.
    pub fn write(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, width) in widths.iter().enumerate() {
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                if i + 1 == n {
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.extend(std::iter::repeat_n(' ', width - c.chars().count() + 2));
                }
            }
            s.trim_end().to_string()
        };
        writeln!(out, "{}", line(&self.header))?;
        for r in &self.rows {
            writeln!(out, "{}", line(r))?;
        }
        Ok(())
    }
}

/// A connected client and, when the simulator was started, its handle (keep it alive).
pub struct Connection {
    /// The client.
    pub client: Arc<dyn ExchangeClient>,
    /// The embedded simulator, if one runs.
    pub simulator: Option<SimulatorHandle>,
    /// The tenant the client talks to.
    pub tenant: String,
    /// The service endpoint (base URL; `embedded-simulator` for the embedded simulator, whose
    /// port changes from run to run).
    pub endpoint: String,
}

/// The device an example acts on: exactly the `--identity` given (a destructive or
/// policy-changing example never picks its target by itself, not even in the simulator).
/// The error is printed as it is.
pub fn device_identity(
    identity: &str,
) -> Result<exchange_activesync::types::MobileDeviceIdentity, String> {
    exchange_activesync::types::MobileDeviceIdentity::new(identity)
        .map_err(|e| format!("error: --identity: {}", error_chain(&e)))
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// An error and its causes on one line, `error: <e>: <cause>: <cause>` style (the crate's
/// errors do not repeat their causes in their own text, so no part appears twice).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// Print `e` and its cause chain to stderr after `prefix` (`error`, `warning`).
pub fn report(prefix: &str, e: &(dyn std::error::Error + 'static)) {
    eprintln!("{prefix}: {}", error_chain(e));
}

/// Log to stderr (`RUST_LOG`, default `warn`), in colour only when stderr is a terminal
/// (and `NO_COLOR` is not set).
pub fn init_logging() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The tenant the embedded simulator serves.
pub fn demo_tenant() -> exchange_activesync_testkit::Tenant {
    TenantBuilder::new()
        .seed(2024)
        .mailboxes(120)
        .devices(300)
        .rbac_profile(RbacProfile::Full)
        .build()
}

/// Connect to the tenant named by the `EXO_*` variables, or to an embedded simulator.
pub async fn connect() -> Result<Connection, String> {
    connect_with(|builder| builder).await
}

/// [`connect`], letting the caller adjust the client (retry policy, timeouts) before it is built.
pub async fn connect_with(
    adjust: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Result<Connection, String> {
    connect_to(demo_tenant, adjust).await
}

/// [`connect_with`], with `demo` making the tenant the embedded simulator serves (when
/// neither `EXO_TENANT_ID` nor `EXO_ENDPOINT` is set).
pub async fn connect_to(
    demo: impl FnOnce() -> exchange_activesync_testkit::Tenant,
    adjust: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Result<Connection, String> {
    let tenant = var("EXO_TENANT_ID");
    let endpoint = var("EXO_ENDPOINT");
    if tenant.is_none() && endpoint.is_none() {
        let sim = Simulator::start(SimulatorConfig::new(demo()))
            .await
            .map_err(|e| format!("could not start the embedded simulator: {e}"))?;
        eprintln!(
            "note: EXO_TENANT_ID and EXO_ENDPOINT are not set; using the embedded simulator at {} ({} devices)",
            sim.base_url(),
            sim.tenant().device_count()
        );
        let builder = HttpExchangeClient::builder()
            .environment(Environment::custom(sim.base_url().as_str()).map_err(|e| error_chain(&e))?)
            .tenant(sim.tenant_id())
            .token_provider(Arc::new(StaticToken::new(sim.token())));
        let client = adjust(builder).build().map_err(|e| error_chain(&e))?;
        return Ok(Connection {
            tenant: client.tenant().to_string(),
            endpoint: "embedded-simulator".to_string(),
            client: Arc::new(client),
            simulator: Some(sim),
        });
    }
    let builder = exchange_activesync::http::builder_from_env()
        .map_err(|e| error_chain(&e))?
        .ok_or("EXO_TENANT_ID or EXO_ENDPOINT must be set")?;
    let client = adjust(builder).build().map_err(|e| error_chain(&e))?;
    Ok(Connection {
        tenant: client.tenant().to_string(),
        endpoint: client.base_url().to_string(),
        client: Arc::new(client),
        simulator: None,
    })
}
