//! A loopback HTTP simulator of the Exchange Online admin API (axum), backed by the tenant
//! model: `InvokeCommand` with paging, `EXOModuleFile`, bearer-token checks, RBAC, and
//! deterministic fault injection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::serve::ListenerExt as _;
use serde_json::{Map, Value};
use url::Url;

use super::continuation::{self, TokenKey};
use super::engine::{Call, execute};
use super::entra::{self, DirectoryTenant, TokenCheck};
pub use super::entra::{DEFAULT_CLIENT_SECRET, EXCHANGE_SCOPE, SimulatedApp};
use super::failure::{Failure, HttpAnswer};
use super::module;
use super::tenant::{Tenant, TenantBuilder};
use super::token::{
    ISSUED_TOKEN_LIFETIME_SECS, is_issued_token, issue_token, tid_of, token_of_generation,
};
pub use super::token::{TOKEN_APP_ID, TOKEN_OBJECT_ID, simulator_token};
use crate::faults::chaos::{ChaosDecider, ChaosPlan, ChaosRequest};
pub use crate::faults::fault::Fault;
pub use crate::faults::plan::{FaultPlan, FaultProfile, FaultStep, FaultTimes};
use exchange_activesync::error::{Error, Result};
use exchange_activesync::protocol::{CmdletKind, MAX_PAGE_SIZE};

/// The URL of a loopback port that refuses connections (bound, then closed again): an
/// endpoint to test how a client handles a service it cannot reach. Another process could
/// bind the port in between; tests should not depend on the exact port.
pub fn refused_endpoint() -> Result<Url> {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::Config(format!("could not reserve a loopback port: {e}")))?
        .port();
    Url::parse(&format!("http://127.0.0.1:{port}/"))
        .map_err(|e| Error::Config(format!("loopback URL: {e}")))
}

/// Per-tenant settings of a served tenant: its own concurrency cap, latency, faults and
/// consent. Unset values fall back to the simulator's [`FaultPlan`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantSettings {
    /// This tenant's in-flight cap (`None`: the plan's [`FaultPlan::max_in_flight`]).
    pub max_in_flight: Option<usize>,
    /// This tenant's latency (`None`: the plan's [`FaultPlan::latency`]).
    pub latency: Option<Duration>,
    /// Scripted faults of this tenant only, checked before the plan's script.
    pub script: Vec<FaultStep>,
    /// Seeded random faults of this tenant only, decided after the plan's.
    pub chaos: Option<ChaosPlan>,
    /// The registered application is not consented in this tenant: its token endpoint answers
    /// `AADSTS700016` and its admin API answers 401 to every token.
    pub unconsented: bool,
}

impl TenantSettings {
    /// No per-tenant settings.
    pub fn new() -> Self {
        TenantSettings::default()
    }

    /// Cap this tenant's concurrent requests.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = Some(n);
        self
    }

    /// Delay every request of this tenant.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Append a scripted fault of this tenant.
    pub fn step(mut self, step: FaultStep) -> Self {
        self.script.push(step);
        self
    }

    /// Seeded random faults of this tenant.
    pub fn chaos(mut self, chaos: ChaosPlan) -> Self {
        self.chaos = Some(chaos);
        self
    }

    /// Mark the application as not consented in this tenant.
    pub fn unconsented(mut self, unconsented: bool) -> Self {
        self.unconsented = unconsented;
        self
    }
}

/// A tenant served next to the primary one ([`SimulatorConfig::add_tenant`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServedTenant {
    /// The tenant's data.
    pub tenant: Tenant,
    /// Its settings.
    pub settings: TenantSettings,
}

impl ServedTenant {
    /// A tenant with these settings.
    pub fn new(tenant: Tenant, settings: TenantSettings) -> Self {
        ServedTenant { tenant, settings }
    }
}

/// The domain of the `index`-th (0-based) generated tenant of [`SimulatorConfig::tenants`]:
/// `tenant01.onmicrosoft.com`, `tenant02.onmicrosoft.com`, …
pub fn generated_tenant_domain(index: usize) -> String {
    format!("tenant{:02}.onmicrosoft.com", index + 1)
}

/// Simulator settings.
///
/// One simulator serves one tenant ([`SimulatorConfig::new`]) or several on the same port
/// ([`SimulatorConfig::add_tenant`], [`SimulatorConfig::tenants`]); requests are routed by the
/// tenant segment of the path (GUID or domain, case-insensitive). Each tenant has its own data,
/// RBAC, token, in-flight cap, latency and counters; a path naming no served tenant is
/// answered 401 with the bearer challenge, as the service answers a token that is not valid
/// for the tenant in the path. The same port serves an Entra-like token endpoint,
/// `POST /{tenant}/oauth2/v2.0/token`, for one registered multi-tenant application
/// ([`SimulatedApp`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use exchange_activesync::auth::ClientCredentials;
/// use exchange_activesync_testkit::{Simulator, SimulatorConfig, TenantSettings};
/// use exchange_activesync::{Environment, ExchangeClientExt as _, HttpExchangeClient};
/// use exchange_activesync::cmdlets::GetMobileDevice;
///
/// // Three generated tenants (tenant01..tenant03.onmicrosoft.com); the third has not
/// // consented to the application, the second allows one request at a time.
/// let config = SimulatorConfig::tenants(3, 7)
///     .configure_tenant(1, |s| s.max_in_flight = Some(1))
///     .configure_tenant(2, |s| s.unconsented = true);
/// let sim = Simulator::start(config).await?;
/// assert_eq!(sim.tenant_ids().len(), 3);
///
/// let second = sim.tenant_state("tenant02.onmicrosoft.com").expect("served");
/// let env = Environment::custom(sim.base_url().as_str())?;
/// let credentials = ClientCredentials::with_secret(
///     &env,
///     second.tenant_id(),
///     sim.app().client_id.clone(),
///     sim.app().client_secret.clone(),
/// )?
/// .with_authority(&sim.authority())?;
/// let client = HttpExchangeClient::builder()
///     .environment(env)
///     .tenant(second.tenant_id())
///     .token_provider(std::sync::Arc::new(credentials.cached()))
///     .build()?;
/// let devices = client.get_mobile_device(GetMobileDevice::new()).await?;
/// assert_eq!(devices.items.len(), second.tenant().devices().count());
/// // The other tenants saw nothing of it.
/// assert_eq!(sim.tenant_at(0).expect("primary").request_count(), 0);
/// assert_eq!(second.tokens_issued(), 1);
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimulatorConfig {
    /// The tenant served (the primary one when several are).
    pub tenant: Tenant,
    /// Per-tenant settings of [`tenant`](Self::tenant).
    pub settings: TenantSettings,
    /// Further tenants served on the same port, after the primary one.
    pub more_tenants: Vec<ServedTenant>,
    /// The application registered for the token endpoint.
    pub app: SimulatedApp,
    /// Scopes the token endpoint accepts (default only `https://outlook.office365.com/.default`).
    pub scopes: Vec<String>,
    /// Lifetime of continuation links (default 30 minutes, like the service).
    pub continuation_expiry: Duration,
    /// Faults (the latency and the in-flight cap apply to each tenant separately).
    pub faults: FaultPlan,
    /// Seed of the skiptoken key (`None`: random).
    pub key_seed: Option<u64>,
    /// Port on `127.0.0.1` (0 = a free port).
    pub port: u16,
    /// Accept any bearer token, not only the tenant's (see [`SimulatorHandle::token`] and the
    /// token endpoint). A JWT whose `tid` is another served tenant's is still refused.
    pub accept_any_token: bool,
    /// Service time each row of an answered page adds, as a share of the tenant's latency
    /// (default [`DEFAULT_ROW_COST`]; 0: every answer costs the latency alone). A page of
    /// `n` rows then costs `latency × (1 + n × row_cost)`, so large pages are not free and
    /// page sizes and critical paths are measured honestly. No latency, no row cost.
    pub row_cost: f64,
}

/// Default of [`SimulatorConfig::row_cost`]: 1/75 of the latency per row, calibrated on
/// Exchange Online: a 600-row `Get-MobileDevice` page took 1.8 s where the base latency was
/// 200 ms, i.e. about 2.67 ms per row on top of it (9 times the latency).
pub const DEFAULT_ROW_COST: f64 = 1.0 / 75.0;

impl SimulatorConfig {
    /// Serve `tenant` with no faults.
    pub fn new(tenant: Tenant) -> Self {
        SimulatorConfig {
            tenant,
            settings: TenantSettings::default(),
            more_tenants: Vec::new(),
            app: SimulatedApp::default(),
            scopes: vec![EXCHANGE_SCOPE.to_string()],
            continuation_expiry: Duration::from_secs(30 * 60),
            faults: FaultPlan::default(),
            key_seed: None,
            port: 0,
            accept_any_token: false,
            row_cost: DEFAULT_ROW_COST,
        }
    }

    /// Serve `n` (at least one) generated tenants: the `i`-th (0-based) from seed
    /// `seed + i`, with domain [`generated_tenant_domain(i)`](generated_tenant_domain), 20
    /// devices and 10 mailboxes.
    pub fn tenants(n: usize, seed: u64) -> Self {
        Self::tenants_from(n, |i| {
            TenantBuilder::new()
                .seed(seed.wrapping_add(i as u64))
                .devices(20)
                .mailboxes(10)
        })
    }

    /// Serve `n` (at least one) tenants built from `builder(i)` for `i` in `0..n`; each gets
    /// the domain [`generated_tenant_domain(i)`](generated_tenant_domain). Give each builder
    /// its own seed, or the tenants share their GUID.
    pub fn tenants_from(n: usize, mut builder: impl FnMut(usize) -> TenantBuilder) -> Self {
        let mut build = |i: usize| builder(i).domain(generated_tenant_domain(i)).build();
        let mut config = SimulatorConfig::new(build(0));
        for i in 1..n {
            config = config.add_tenant(build(i));
        }
        config
    }

    /// Serve `tenant` too, with default settings.
    pub fn add_tenant(self, tenant: Tenant) -> Self {
        self.add_tenant_with(tenant, TenantSettings::default())
    }

    /// Serve `tenant` too, with `settings`.
    pub fn add_tenant_with(mut self, tenant: Tenant, settings: TenantSettings) -> Self {
        self.more_tenants.push(ServedTenant::new(tenant, settings));
        self
    }

    /// Change the settings of the `index`-th tenant (0 = the primary one, then in the order
    /// added); an index beyond the served tenants changes nothing.
    pub fn configure_tenant(mut self, index: usize, f: impl FnOnce(&mut TenantSettings)) -> Self {
        let settings = match index {
            0 => Some(&mut self.settings),
            i => self.more_tenants.get_mut(i - 1).map(|t| &mut t.settings),
        };
        if let Some(s) = settings {
            f(s);
        }
        self
    }

    /// How many tenants are served.
    pub fn tenant_count(&self) -> usize {
        1 + self.more_tenants.len()
    }

    /// Register this application for the token endpoint (default [`SimulatedApp::default`]).
    pub fn app(mut self, app: SimulatedApp) -> Self {
        self.app = app;
        self
    }

    /// Accept `scope` at the token endpoint too (for example a custom environment's).
    pub fn accept_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Listen on this port of `127.0.0.1` (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Accept any bearer token (default: only the simulator's own tokens).
    pub fn accept_any_token(mut self, accept: bool) -> Self {
        self.accept_any_token = accept;
        self
    }

    /// Service time per row of a page, as a share of the latency (see
    /// [`row_cost`](Self::row_cost); negative values count as 0).
    pub fn row_cost(mut self, share_of_latency: f64) -> Self {
        self.row_cost = share_of_latency.max(0.0);
        self
    }

    /// Seed of the key that authenticates skiptokens (`None`, the default: random).
    pub fn key_seed(mut self, seed: Option<u64>) -> Self {
        self.key_seed = seed;
        self
    }

    /// Set the fault plan.
    pub fn faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }

    /// Set the continuation lifetime.
    pub fn continuation_expiry(mut self, expiry: Duration) -> Self {
        self.continuation_expiry = expiry;
        self
    }
}

struct Step {
    step: FaultStep,
    remaining: Option<u32>,
    skip: u32,
}

fn steps(script: Vec<FaultStep>) -> Vec<Step> {
    script
        .into_iter()
        .map(|step| Step {
            remaining: match step.times {
                FaultTimes::Once => Some(1),
                FaultTimes::N(n) => Some(n),
                FaultTimes::Always => None,
            },
            skip: step.skip,
            step,
        })
        .collect()
}

/// The state of one served tenant: plain data and counters, no task of its own.
struct TenantState {
    tenant: RwLock<Tenant>,
    tenant_id: String,
    domain: String,
    /// The token issued at start ([`SimulatedTenant::token`]).
    token: String,
    /// The token accepted now (changed by [`SimulatedTenant::rotate_token`]).
    current_token: RwLock<String>,
    /// How many times the token was rotated.
    token_generation: AtomicU64,
    latency: Mutex<Option<Duration>>,
    max_in_flight: Mutex<Option<usize>>,
    script: Mutex<Vec<Step>>,
    chaos: Option<Mutex<ChaosDecider>>,
    consented: AtomicBool,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    requests: AtomicU64,
    concurrency_rejections: AtomicU64,
    /// Service time of the requests answered within the cap (latency and row cost), ns.
    service_nanos: AtomicU64,
    token_requests: AtomicU64,
    tokens_issued: AtomicU64,
}

impl TenantState {
    fn new(tenant: Tenant, settings: TenantSettings, plan: &FaultPlan) -> TenantState {
        let tenant_id = tenant.tenant_id().to_string();
        let domain = tenant.domain().to_string();
        let token = simulator_token(&tenant_id);
        TenantState {
            current_token: RwLock::new(token.clone()),
            token,
            token_generation: AtomicU64::new(0),
            latency: Mutex::new(settings.latency.or(plan.latency)),
            max_in_flight: Mutex::new(settings.max_in_flight.or(plan.max_in_flight)),
            script: Mutex::new(steps(settings.script)),
            chaos: settings.chaos.map(|c| Mutex::new(ChaosDecider::new(c))),
            consented: AtomicBool::new(!settings.unconsented),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            concurrency_rejections: AtomicU64::new(0),
            service_nanos: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            tokens_issued: AtomicU64::new(0),
            tenant: RwLock::new(tenant),
            tenant_id,
            domain,
        }
    }
}

struct SimState {
    /// Served tenants; the first is the primary one.
    tenants: Vec<TenantState>,
    /// Lower-case tenant GUID and domain → index in `tenants`.
    by_name: HashMap<String, usize>,
    app: SimulatedApp,
    scopes: Vec<String>,
    base: String,
    key: TokenKey,
    expiry: Mutex<Duration>,
    script: Mutex<Vec<Step>>,
    chaos: Option<Mutex<ChaosDecider>>,
    accept_any_token: bool,
    row_cost: f64,
    expire_next: AtomicBool,
    requests: AtomicU64,
    /// Answers sent, by HTTP status.
    statuses: Mutex<HashMap<u16, u64>>,
    /// Scripted faults that fired.
    faults_fired: AtomicU64,
    /// Counter that makes each repeated page's next link fresh ([`Fault::RepeatRows`]).
    repeat_links: AtomicU64,
    /// `InvokeCommand` requests received, in order.
    calls: Mutex<Vec<SimulatedCall>>,
}

impl SimState {
    fn primary(&self) -> &TenantState {
        &self.tenants[0]
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }
}

/// One `InvokeCommand` request the simulator received (see [`SimulatorHandle::calls`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatedCall {
    /// `CmdletInput.CmdletName` as sent.
    pub cmdlet: String,
    /// Whether the request followed an `@odata.nextLink` (carried a `$skiptoken`).
    pub continuation: bool,
    /// The GUID of the tenant whose URL received it.
    pub tenant_id: String,
}

/// Entry point: [`Simulator::start`] (or [`Simulator::start_blocking`] for synchronous
/// tests). One tenant, the real HTTP client, the simulator's own token:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use exchange_activesync::auth::StaticToken;
/// use exchange_activesync::cmdlets::GetMobileDevice;
/// use exchange_activesync_testkit::{Simulator, SimulatorConfig, TenantBuilder};
/// use exchange_activesync::{Environment, ExchangeClientExt as _, HttpExchangeClient};
///
/// let sim = Simulator::start(SimulatorConfig::new(
///     TenantBuilder::new().seed(2).devices(30).build(),
/// ))
/// .await?;
/// let client = HttpExchangeClient::builder()
///     .environment(Environment::custom(sim.base_url().as_str())?)
///     .tenant(sim.tenant_id())
///     .token_provider(Arc::new(StaticToken::new(sim.token())))
///     .page_size(10)
///     .build()?;
/// let devices = client.get_mobile_device(GetMobileDevice::new()).await?;
/// assert_eq!(devices.items.len(), 30);
/// assert_eq!(devices.pages, 3);
/// assert_eq!(sim.calls_to("Get-MobileDevice"), 3);
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Simulator;

/// A running simulator. Shut down with [`SimulatorHandle::shutdown`] or by dropping it.
///
/// The methods that name no tenant (`tenant`, `token`, `set_max_in_flight`, …) act on the
/// primary tenant; [`tenant_state`](Self::tenant_state) gives any served tenant's.
pub struct SimulatorHandle {
    state: Arc<SimState>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorHandle")
            .field("addr", &self.addr)
            .field("tenant_id", &self.state.primary().tenant_id)
            .field("tenants", &self.state.tenants.len())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Start a simulator on `127.0.0.1` with an ephemeral port.
    ///
    /// Fails with [`Error::Config`] when two served tenants share a GUID or a domain, or when
    /// the port cannot be bound.
    pub async fn start(config: SimulatorConfig) -> Result<SimulatorHandle> {
        let mut tenants = Vec::with_capacity(config.tenant_count());
        tenants.push(TenantState::new(
            config.tenant,
            config.settings,
            &config.faults,
        ));
        for served in config.more_tenants {
            tenants.push(TenantState::new(
                served.tenant,
                served.settings,
                &config.faults,
            ));
        }
        let mut by_name = HashMap::with_capacity(2 * tenants.len());
        for (i, t) in tenants.iter().enumerate() {
            for name in [&t.tenant_id, &t.domain] {
                if by_name.insert(name.to_ascii_lowercase(), i).is_some() {
                    return Err(Error::Config(format!(
                        "two simulated tenants share the tenant id or domain {name:?}"
                    )));
                }
            }
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|e| {
                Error::Config(format!(
                    "simulator cannot bind 127.0.0.1:{}: {e}",
                    config.port
                ))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Config(format!("simulator address: {e}")))?;
        let state = Arc::new(SimState {
            tenants,
            by_name,
            app: config.app,
            scopes: config.scopes,
            base: format!("http://{addr}"),
            key: TokenKey::new(config.key_seed),
            expiry: Mutex::new(config.continuation_expiry),
            script: Mutex::new(steps(config.faults.script)),
            chaos: config
                .faults
                .chaos
                .map(|c| Mutex::new(ChaosDecider::new(c))),
            accept_any_token: config.accept_any_token,
            row_cost: config.row_cost,
            expire_next: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            statuses: Mutex::new(HashMap::new()),
            faults_fired: AtomicU64::new(0),
            repeat_links: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(dispatch).with_state(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Answers go out at once (no Nagle delay on small writes), as a real front end does.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(SimulatorHandle {
            state,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Start a simulator on its own runtime thread, for synchronous code.
    pub fn start_blocking(config: SimulatorConfig) -> Result<BlockingSimulator> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("simulator runtime: {e}")))?;
        let handle = runtime.block_on(Simulator::start(config))?;
        Ok(BlockingSimulator {
            handle: Some(handle),
            runtime: Some(runtime),
        })
    }
}

mod handle;
mod routes;
pub use handle::{BlockingSimulator, SimulatedTenant};
use routes::dispatch;
