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

use super::chaos::{ChaosDecider, ChaosRequest};
use super::continuation::{self, TokenKey};
use super::engine::{Call, execute};
use super::failure::{Failure, HttpAnswer};
pub use super::fault::Fault;
pub use super::fault_plan::{FaultPlan, FaultProfile, FaultStep, FaultTimes};
use super::module;
use super::tenant::Tenant;
use super::token::token_of_generation;
pub use super::token::{TOKEN_APP_ID, TOKEN_OBJECT_ID, simulator_token};
use crate::error::{Error, Result};
use crate::protocol::{CmdletKind, MAX_PAGE_SIZE};

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

/// Simulator settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimulatorConfig {
    /// The tenant served.
    pub tenant: Tenant,
    /// Lifetime of continuation links (default 30 minutes, like the service).
    pub continuation_expiry: Duration,
    /// Faults.
    pub faults: FaultPlan,
    /// Seed of the skiptoken key (`None`: random).
    pub key_seed: Option<u64>,
    /// Port on `127.0.0.1` (0 = a free port).
    pub port: u16,
    /// Accept any bearer token, not only [`SimulatorHandle::token`].
    pub accept_any_token: bool,
}

impl SimulatorConfig {
    /// Serve `tenant` with no faults.
    pub fn new(tenant: Tenant) -> Self {
        SimulatorConfig {
            tenant,
            continuation_expiry: Duration::from_secs(30 * 60),
            faults: FaultPlan::default(),
            key_seed: None,
            port: 0,
            accept_any_token: false,
        }
    }

    /// Listen on this port of `127.0.0.1` (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Accept any bearer token (default: only the simulator's own token).
    pub fn accept_any_token(mut self, accept: bool) -> Self {
        self.accept_any_token = accept;
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
}

struct SimState {
    tenant: Arc<RwLock<Tenant>>,
    /// The token issued at start ([`SimulatorHandle::token`]).
    token: String,
    /// The token accepted now (changed by [`SimulatorHandle::rotate_token`]).
    current_token: RwLock<String>,
    /// How many times the token was rotated.
    token_generation: AtomicU64,
    tenant_id: String,
    domain: String,
    base: String,
    key: TokenKey,
    expiry: Mutex<Duration>,
    latency: Mutex<Option<Duration>>,
    max_in_flight: Mutex<Option<usize>>,
    script: Mutex<Vec<Step>>,
    chaos: Option<Mutex<ChaosDecider>>,
    accept_any_token: bool,
    expire_next: AtomicBool,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// Answers sent, by HTTP status.
    statuses: Mutex<HashMap<u16, u64>>,
    /// Scripted faults that fired.
    faults_fired: AtomicU64,
    /// `InvokeCommand` requests received, in order.
    calls: Mutex<Vec<SimulatedCall>>,
}

/// One `InvokeCommand` request the simulator received (see [`SimulatorHandle::calls`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatedCall {
    /// `CmdletInput.CmdletName` as sent.
    pub cmdlet: String,
    /// Whether the request followed an `@odata.nextLink` (carried a `$skiptoken`).
    pub continuation: bool,
}

/// Entry point: [`Simulator::start`].
#[derive(Debug)]
pub struct Simulator;

/// A running simulator. Shut down with [`SimulatorHandle::shutdown`] or by dropping it.
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
            .field("tenant_id", &self.state.tenant_id)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Start a simulator on `127.0.0.1` with an ephemeral port.
    pub async fn start(config: SimulatorConfig) -> Result<SimulatorHandle> {
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
        let tenant_id = config.tenant.tenant_id().to_string();
        let domain = config.tenant.domain().to_string();
        let token = simulator_token(&tenant_id);
        let state = Arc::new(SimState {
            current_token: RwLock::new(token.clone()),
            token_generation: AtomicU64::new(0),
            token,
            tenant_id,
            domain,
            base: format!("http://{addr}"),
            key: TokenKey::new(config.key_seed),
            expiry: Mutex::new(config.continuation_expiry),
            latency: Mutex::new(config.faults.latency),
            max_in_flight: Mutex::new(config.faults.max_in_flight),
            script: Mutex::new(
                config
                    .faults
                    .script
                    .into_iter()
                    .map(|step| Step {
                        remaining: match step.times {
                            FaultTimes::Once => Some(1),
                            FaultTimes::N(n) => Some(n),
                            FaultTimes::Always => None,
                        },
                        step,
                    })
                    .collect(),
            ),
            chaos: config
                .faults
                .chaos
                .map(|c| Mutex::new(ChaosDecider::new(c))),
            accept_any_token: config.accept_any_token,
            tenant: Arc::new(RwLock::new(config.tenant)),
            expire_next: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            statuses: Mutex::new(HashMap::new()),
            faults_fired: AtomicU64::new(0),
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

impl SimulatorHandle {
    /// Base URL, e.g. `http://127.0.0.1:40123` (use as a custom environment's base URL).
    pub fn base_url(&self) -> Url {
        Url::parse(&self.state.base).expect("valid loopback URL")
    }

    /// Tenant id (GUID).
    pub fn tenant_id(&self) -> &str {
        &self.state.tenant_id
    }

    /// Tenant domain (also accepted in the path).
    pub fn domain(&self) -> &str {
        &self.state.domain
    }

    /// The bearer token issued at start (JWT-shaped, app-only, `Exchange.ManageAsApp`). It is
    /// accepted until [`rotate_token`](Self::rotate_token) is called; see
    /// [`current_token`](Self::current_token).
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// The bearer token accepted now.
    pub fn current_token(&self) -> String {
        self.state
            .current_token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Expire the accepted token and issue a new one (same caller and claims, a later issue
    /// time), returned here and by [`current_token`](Self::current_token). Every request
    /// still carrying an earlier token is answered 401 with a `WWW-Authenticate` challenge,
    /// as the service answers a token that expired mid-enumeration.
    pub fn rotate_token(&self) -> String {
        let generation = self.state.token_generation.fetch_add(1, Ordering::SeqCst) + 1;
        let token = token_of_generation(&self.state.tenant_id, generation);
        *self
            .state
            .current_token
            .write()
            .unwrap_or_else(|e| e.into_inner()) = token.clone();
        token
    }

    /// `{base}/adminapi/beta/{tenant}/InvokeCommand`.
    pub fn invoke_url(&self) -> String {
        format!(
            "{}/adminapi/beta/{}/InvokeCommand",
            self.state.base, self.state.tenant_id
        )
    }

    /// `{base}/adminapi/v1.0/{tenant}/EXOModuleFile`.
    pub fn module_file_url(&self) -> String {
        format!(
            "{}/adminapi/v1.0/{}/EXOModuleFile",
            self.state.base, self.state.tenant_id
        )
    }

    /// Read access to the tenant.
    pub fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        self.state.tenant.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the tenant.
    pub fn tenant_mut(&self) -> RwLockWriteGuard<'_, Tenant> {
        self.state.tenant.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The next continuation request fails with "Expired or Invalid pagination request".
    pub fn expire_next_continuation(&self) {
        self.state.expire_next.store(true, Ordering::SeqCst);
    }

    /// Append a scripted fault.
    pub fn push_fault(&self, step: FaultStep) {
        let remaining = match step.times {
            FaultTimes::Once => Some(1),
            FaultTimes::N(n) => Some(n),
            FaultTimes::Always => None,
        };
        self.state
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Step { step, remaining });
    }

    /// Set the per-request latency.
    pub fn set_latency(&self, latency: Option<Duration>) {
        *self.state.latency.lock().unwrap_or_else(|e| e.into_inner()) = latency;
    }

    /// Set the in-flight cap.
    pub fn set_max_in_flight(&self, max: Option<usize>) {
        *self
            .state
            .max_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = max;
    }

    /// Set the continuation lifetime.
    pub fn set_continuation_expiry(&self, expiry: Duration) {
        *self.state.expiry.lock().unwrap_or_else(|e| e.into_inner()) = expiry;
    }

    /// Requests received so far.
    pub fn request_count(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Answers sent so far with this HTTP status (a [`Fault::ResetMidBody`] answer counts
    /// under the status its headers announced; a [`Fault::ConnectionReset`] under 200).
    pub fn status_count(&self, status: u16) -> u64 {
        self.state
            .statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&status)
            .copied()
            .unwrap_or(0)
    }

    /// Scripted faults (from the [`FaultPlan`] script or [`push_fault`](Self::push_fault))
    /// that fired so far.
    pub fn faults_fired(&self) -> u64 {
        self.state.faults_fired.load(Ordering::SeqCst)
    }

    /// Every `InvokeCommand` request with a readable cmdlet name received so far, in order
    /// (also those answered with a fault).
    pub fn calls(&self) -> Vec<SimulatedCall> {
        self.state
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests of one cmdlet (case-insensitive) received so far.
    pub fn calls_to(&self, cmdlet: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.cmdlet.eq_ignore_ascii_case(cmdlet))
            .count()
    }

    /// Stop serving and wait (at most one second) for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A simulator running on its own runtime, for synchronous tests.
#[derive(Debug)]
pub struct BlockingSimulator {
    handle: Option<SimulatorHandle>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::ops::Deref for BlockingSimulator {
    type Target = SimulatorHandle;
    fn deref(&self) -> &SimulatorHandle {
        self.handle.as_ref().expect("present until drop")
    }
}

impl Drop for BlockingSimulator {
    fn drop(&mut self) {
        if let (Some(handle), Some(rt)) = (self.handle.take(), self.runtime.take()) {
            rt.block_on(handle.shutdown());
            rt.shutdown_background();
        }
    }
}

// ---- request handling ---------------------------------------------------------------------

/// How much earlier than the configured latency the simulator's timer is set (see `route`).
const TIMER_SLACK: Duration = Duration::from_millis(2);

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn answer(a: HttpAnswer) -> Response {
    let mut r = Response::new(Body::from(a.body));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in a.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            r.headers_mut().append(k, v);
        }
    }
    with_request_id(r)
}

fn with_request_id(mut r: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        r.headers_mut().insert("request-id", v);
    }
    r
}

fn reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

async fn dispatch(State(state): State<Arc<SimState>>, request: Request) -> Response {
    let response = route(&state, request).await;
    *state
        .statuses
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(response.status().as_u16())
        .or_default() += 1;
    response
}

async fn route(state: &Arc<SimState>, request: Request) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let count = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(&state.in_flight);
    let cap = *state
        .max_in_flight
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let latency = *state.latency.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = latency {
        // tokio's timer fires on a millisecond tick after the deadline (on this kind of machine
        // about 1.8 ms late on average, measured), so aim `TIMER_SLACK` early: the delay a client sees then
        // matches the configured latency on average instead of exceeding it.
        tokio::time::sleep(l.saturating_sub(TIMER_SLACK)).await;
    }
    if cap.is_some_and(|c| count > c) {
        return answer(Failure::ConcurrencyLimit.answer());
    }
    let path = request.uri().path().to_string();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let route = match segs.as_slice() {
        [a, v, t, op] if a.eq_ignore_ascii_case("adminapi") => Some((
            v.to_ascii_lowercase(),
            t.to_string(),
            op.to_ascii_lowercase(),
        )),
        _ => None,
    };
    let Some((version, tenant, op)) = route else {
        return answer(HttpAnswer {
            status: 404,
            headers: Vec::new(),
            body: Vec::new(),
        });
    };
    if !authorized(state, request.headers()) {
        return answer(Failure::Unauthorized.answer());
    }
    let tenant = percent_decode(&tenant);
    if !tenant.eq_ignore_ascii_case(&state.tenant_id) && !tenant.eq_ignore_ascii_case(&state.domain)
    {
        return answer(Failure::Unauthorized.answer());
    }
    match (request.method(), version.as_str(), op.as_str()) {
        (&Method::POST, "beta", "invokecommand") => invoke(state, request).await,
        (&Method::POST, "v1.0", "invokecommand") => answer(HttpAnswer {
            status: 405,
            headers: Vec::new(),
            body: Vec::new(),
        }),
        (&Method::GET, _, "exomodulefile") => module_file(state, request.headers()),
        _ => answer(HttpAnswer {
            status: 404,
            headers: Vec::new(),
            body: Vec::new(),
        }),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn authorized(state: &SimState, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|t| {
            let t = t.trim();
            (state.accept_any_token && !t.is_empty())
                || *state
                    .current_token
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    == t
        })
}

fn bad_request(message: &str) -> Response {
    answer(
        Failure::InvalidOperation {
            exception: "Microsoft.Exchange.Admin.OData.Core.ODataServiceException".into(),
            message: message.into(),
        }
        .answer(),
    )
}

fn next_fault(state: &SimState, cmdlet: &str) -> Option<Fault> {
    let mut script = state.script.lock().unwrap_or_else(|e| e.into_inner());
    let write = CmdletKind::from_cmdlet_name(cmdlet).is_mutating();
    let step = script.iter_mut().find(|s| {
        s.remaining != Some(0)
            && (write || s.step.fault != Fault::NextLinkOnWrite)
            && s.step
                .cmdlet
                .as_deref()
                .is_none_or(|c| c.eq_ignore_ascii_case(cmdlet))
    })?;
    if let Some(n) = step.remaining.as_mut() {
        *n -= 1;
    }
    state.faults_fired.fetch_add(1, Ordering::SeqCst);
    Some(step.step.fault.clone())
}

async fn invoke(state: &Arc<SimState>, request: Request) -> Response {
    let (response, late) = answer_invoke(state, request).await;
    match late {
        Some(Fault::ResetMidBody) => cut_mid_body(response).await,
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            response
        }
        Some(Fault::AfterRun(f)) => answer(f.answer()),
        _ => response,
    }
}

/// Send the status line, the headers and the first half of `response`'s body, then abort
/// the connection (the body stream fails; hyper closes the connection mid-message).
async fn cut_mid_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len().div_ceil(2));
    parts.headers.remove("content-length");
    use futures::StreamExt as _;
    let stream = futures::stream::iter([Ok::<Bytes, std::io::Error>(half)]).chain(
        futures::stream::once(async {
            // Let the first half reach the client before the connection is aborted.
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated connection reset mid-body",
            ))
        }),
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The answer to an `InvokeCommand` request, and a fault to apply to it once the cmdlet ran
/// ([`Fault::ResetMidBody`], [`Fault::Delay`], [`Fault::AfterRun`]).
async fn answer_invoke(state: &Arc<SimState>, request: Request) -> (Response, Option<Fault>) {
    let mut late = None;
    let response = answer_invoke_inner(state, request, &mut late).await;
    (response, late)
}

async fn answer_invoke_inner(
    state: &Arc<SimState>,
    request: Request,
    late: &mut Option<Fault>,
) -> Response {
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let page_size = request
        .headers()
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|p| {
            p.trim()
                .strip_prefix("odata.maxpagesize=")
                .and_then(|n| n.trim().parse::<usize>().ok())
        })
        .unwrap_or(MAX_PAGE_SIZE as usize)
        .clamp(1, MAX_PAGE_SIZE as usize);
    let client_request_id = request
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match axum::body::to_bytes(request.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return bad_request("The request body could not be read."),
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return bad_request("The request body is not valid JSON."),
    };
    let input = parsed.get("CmdletInput");
    let Some(cmdlet) = input
        .and_then(|i| i.get("CmdletName"))
        .and_then(Value::as_str)
    else {
        return bad_request("CmdletInput.CmdletName is required.");
    };
    let parameters: Map<String, Value> = match input.and_then(|i| i.get("Parameters")) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return bad_request("CmdletInput.Parameters must be an object."),
    };
    let skiptoken = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$skiptoken"))
        .map(|(_, v)| v.clone());
    state
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(SimulatedCall {
            cmdlet: cmdlet.to_string(),
            continuation: skiptoken.is_some(),
        });
    match next_fault(state, cmdlet) {
        Some(Fault::Fail(f)) => return answer(f.answer()),
        Some(Fault::ConnectionReset) => return reset(),
        Some(late_fault) => *late = Some(late_fault),
        None => {}
    }
    let stale_link = skiptoken
        .clone()
        .filter(|_| matches!(late, Some(Fault::StaleNextLink)));
    if let Some(chaos) = &state.chaos {
        let facts = ChaosRequest::new(CmdletKind::from_cmdlet_name(cmdlet), &body)
            .client_request_id(client_request_id.as_deref())
            .skiptoken(skiptoken.as_deref());
        let fault = chaos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .decide(&facts, SystemTime::now());
        match fault {
            Some(Fault::Fail(f)) => return answer(f.answer()),
            Some(Fault::ConnectionReset) => return reset(),
            Some(late_fault) => *late = Some(late_fault),
            None => {}
        }
    }
    let mut select: Vec<String> = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$select"))
        .map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let cursor = match skiptoken {
        None => None,
        Some(tok) => {
            if state.expire_next.swap(false, Ordering::SeqCst) {
                return answer(Failure::PaginationExpired.answer());
            }
            let expiry = *state.expiry.lock().unwrap_or_else(|e| e.into_inner());
            match continuation::decode(&state.key, &tok, &body, SystemTime::now(), expiry) {
                Ok((c, s)) => {
                    if select.is_empty() {
                        select = s;
                    }
                    Some(c)
                }
                Err(f) => return answer(f.answer()),
            }
        }
    };
    let call = Call::new(cmdlet, &parameters)
        .select(&select)
        .page_size(page_size)
        .cursor(cursor.as_ref());
    let outcome = match execute(&state.tenant, &call) {
        Ok(o) => o,
        Err(f) => return answer(f.answer()),
    };
    let tenant_path = &state.tenant_id;
    let mut out = Vec::with_capacity(outcome.rows_json.len() + 512);
    out.extend_from_slice(b"{\"@odata.context\":");
    let context = format!(
        "{}/adminapi/beta/{tenant_path}/$metadata#Collection(Exchange.GenericHashTable)",
        state.base
    );
    let _ = serde_json::to_writer(&mut out, &context);
    out.extend_from_slice(
        b",\"adminapi.warnings@odata.type\":\"#Collection(String)\",\"@adminapi.warnings\":",
    );
    let _ = serde_json::to_writer(&mut out, &outcome.warnings);
    if let Some(c) = &outcome.confirmation_message {
        out.extend_from_slice(b",\"@adminapi.confirmationmessage\":");
        let _ = serde_json::to_writer(&mut out, c);
    }
    let next_on_write =
        matches!(late, Some(Fault::NextLinkOnWrite)).then(super::continuation::Cursor::default);
    let next_token = match (stale_link, outcome.next.as_ref().or(next_on_write.as_ref())) {
        (Some(stale), _) => Some(stale),
        (None, Some(next)) => Some(continuation::encode(
            &state.key,
            &body,
            next,
            &select,
            SystemTime::now(),
        )),
        (None, None) => None,
    };
    if let Some(token) = next_token {
        let mut link = Url::parse(&format!(
            "{}/adminapi/beta/{tenant_path}/InvokeCommand",
            state.base
        ))
        .expect("valid loopback URL");
        link.query_pairs_mut().append_pair("$skiptoken", &token);
        out.extend_from_slice(b",\"@odata.nextLink\":");
        let _ = serde_json::to_writer(&mut out, link.as_str());
    }
    out.extend_from_slice(b",\"value\":");
    out.extend_from_slice(&outcome.rows_json);
    out.push(b'}');
    let mut r = Response::new(Body::from(out));
    let h = r.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
    );
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    h.insert("rate-limit-limit", HeaderValue::from_static("30000"));
    with_request_id(r)
}

fn module_file(state: &SimState, headers: &HeaderMap) -> Response {
    let wanted: Vec<String> = headers
        .get("commandname")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let (content, mut exported) = {
        let t = state.tenant.read().unwrap_or_else(|e| e.into_inner());
        module::generate(t.rbac())
    };
    if !wanted.iter().any(|w| w == "*") {
        exported.retain(|e| wanted.iter().any(|w| w.eq_ignore_ascii_case(e)));
    }
    let body = serde_json::json!({
        "value": [{
            "fileName": module::MODULE_FILE_NAME,
            "fileContent": content,
            "exportedCmdlets": exported.join(","),
        }]
    });
    let mut r = Response::new(Body::from(body.to_string()));
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    with_request_id(r)
}
