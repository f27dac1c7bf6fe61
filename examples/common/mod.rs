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
//! to stderr (`RUST_LOG` controls the level).
#![allow(dead_code)]

use std::sync::Arc;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::testing::{
    RbacProfile, Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder,
};
use exchange_activesync::{ClientBuilder, Environment, ExchangeClient, HttpExchangeClient};

/// Output format of the examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
    /// CSV (where the example supports it).
    Csv,
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

/// The device an example acts on: `--identity` when given; against the embedded simulator
/// without it, the simulated tenant's first device. The error is printed as it is.
pub fn device_identity(
    identity: Option<&str>,
    conn: &Connection,
) -> Result<exchange_activesync::types::MobileDeviceIdentity, String> {
    let text = match (identity, &conn.simulator) {
        (Some(i), _) => i.to_string(),
        (None, Some(sim)) => {
            let t = sim.tenant();
            match t.devices().next() {
                Some(d) => t.device_identity(d),
                None => return Err("error: the simulated tenant has no device".into()),
            }
        }
        (None, None) => return Err("error: --identity is required".into()),
    };
    exchange_activesync::types::MobileDeviceIdentity::new(text)
        .map_err(|e| format!("error: {}", error_chain(&e)))
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

/// Log to stderr (`RUST_LOG`, default `warn`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The tenant the embedded simulator serves.
pub fn demo_tenant() -> exchange_activesync::testing::Tenant {
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
    let tenant = var("EXO_TENANT_ID");
    let endpoint = var("EXO_ENDPOINT");
    if tenant.is_none() && endpoint.is_none() {
        let sim = Simulator::start(SimulatorConfig::new(demo_tenant()))
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
