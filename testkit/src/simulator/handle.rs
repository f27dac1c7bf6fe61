//! The running simulator: its handle, each served tenant's handle, and the blocking
//! variant for synchronous tests.

use super::*;

/// One served tenant of a running simulator ([`SimulatorHandle::tenant_state`]): its data,
/// token, cap, latency and counters. Cheap to clone; valid while the simulator runs (and
/// readable after).
#[derive(Clone)]
pub struct SimulatedTenant {
    pub(super) state: Arc<SimState>,
    pub(super) index: usize,
}

impl std::fmt::Debug for SimulatedTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedTenant")
            .field("tenant_id", &self.t().tenant_id)
            .field("domain", &self.t().domain)
            .finish_non_exhaustive()
    }
}

fn invoke_url(base: &str, t: &TenantState) -> String {
    format!("{base}/adminapi/beta/{}/InvokeCommand", t.tenant_id)
}

fn module_file_url(base: &str, t: &TenantState) -> String {
    format!("{base}/adminapi/v1.0/{}/EXOModuleFile", t.tenant_id)
}

fn rotate(t: &TenantState) -> String {
    let generation = t.token_generation.fetch_add(1, Ordering::SeqCst) + 1;
    let token = token_of_generation(&t.tenant_id, generation);
    *t.current_token.write().unwrap_or_else(|e| e.into_inner()) = token.clone();
    token
}

fn push_step(script: &Mutex<Vec<Step>>, step: FaultStep) {
    script
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(steps(vec![step]));
}

impl SimulatedTenant {
    fn t(&self) -> &TenantState {
        &self.state.tenants[self.index]
    }

    /// Position among the served tenants (0 = the primary one).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Tenant id (GUID).
    pub fn tenant_id(&self) -> &str {
        &self.t().tenant_id
    }

    /// Tenant domain (also accepted in the path).
    pub fn domain(&self) -> &str {
        &self.t().domain
    }

    /// Read access to the tenant's data.
    pub fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        self.t().tenant.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the tenant's data.
    pub fn tenant_mut(&self) -> RwLockWriteGuard<'_, Tenant> {
        self.t().tenant.write().unwrap_or_else(|e| e.into_inner())
    }

    /// This tenant's fixed bearer token (as [`SimulatorHandle::token`] is the primary's),
    /// accepted on this tenant's URLs only, until [`rotate_token`](Self::rotate_token).
    pub fn token(&self) -> &str {
        &self.t().token
    }

    /// This tenant's fixed token accepted now.
    pub fn current_token(&self) -> String {
        self.t()
            .current_token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Expire this tenant's tokens (the fixed one and every one its token endpoint issued)
    /// and return a new fixed token.
    pub fn rotate_token(&self) -> String {
        rotate(self.t())
    }

    /// `{base}/adminapi/beta/{tenant}/InvokeCommand`.
    pub fn invoke_url(&self) -> String {
        invoke_url(&self.state.base, self.t())
    }

    /// `{base}/adminapi/v1.0/{tenant}/EXOModuleFile`.
    pub fn module_file_url(&self) -> String {
        module_file_url(&self.state.base, self.t())
    }

    /// `{base}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.state.base,
            self.t().tenant_id
        )
    }

    /// Set this tenant's per-request latency.
    pub fn set_latency(&self, latency: Option<Duration>) {
        *self.t().latency.lock().unwrap_or_else(|e| e.into_inner()) = latency;
    }

    /// Set this tenant's in-flight cap (other tenants' requests never count against it).
    pub fn set_max_in_flight(&self, max: Option<usize>) {
        *self
            .t()
            .max_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = max;
    }

    /// This tenant's in-flight cap.
    pub fn max_in_flight(&self) -> Option<usize> {
        *self
            .t()
            .max_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Mark the registered application as consented in this tenant, or not.
    pub fn set_consented(&self, consented: bool) {
        self.t().consented.store(consented, Ordering::SeqCst);
    }

    /// Whether the registered application is consented in this tenant.
    pub fn consented(&self) -> bool {
        self.t().consented.load(Ordering::SeqCst)
    }

    /// Append a scripted fault for this tenant's requests only.
    pub fn push_fault(&self, step: FaultStep) {
        push_step(&self.t().script, step);
    }

    /// Admin API requests (`InvokeCommand`, `EXOModuleFile`) received on this tenant's URLs.
    pub fn request_count(&self) -> u64 {
        self.t().requests.load(Ordering::SeqCst)
    }

    /// The most admin API requests of this tenant in flight at once so far.
    pub fn peak_in_flight(&self) -> usize {
        self.t().peak_in_flight.load(Ordering::SeqCst)
    }

    /// Requests of this tenant answered with the concurrency 429 of its cap.
    pub fn concurrency_rejections(&self) -> u64 {
        self.t().concurrency_rejections.load(Ordering::SeqCst)
    }

    /// The service time this tenant spent on the requests it admitted within its cap: their
    /// latency and the cost of their rows ([`SimulatorConfig::row_cost`]). Divided by the
    /// cap, it is the shortest time any client could have taken for the same requests.
    pub fn service_time(&self) -> Duration {
        Duration::from_nanos(self.t().service_nanos.load(Ordering::SeqCst))
    }

    /// Token endpoint requests naming this tenant.
    pub fn token_requests(&self) -> u64 {
        self.t().token_requests.load(Ordering::SeqCst)
    }

    /// Tokens this tenant's token endpoint issued.
    pub fn tokens_issued(&self) -> u64 {
        self.t().tokens_issued.load(Ordering::SeqCst)
    }

    /// `InvokeCommand` requests received on this tenant's URLs, in order.
    pub fn calls(&self) -> Vec<SimulatedCall> {
        self.state
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|c| c.tenant_id == self.t().tenant_id)
            .cloned()
            .collect()
    }
}

impl SimulatorHandle {
    /// Base URL, e.g. `http://127.0.0.1:40123` (use as a custom environment's base URL).
    pub fn base_url(&self) -> Url {
        Url::parse(&self.state.base).expect("valid loopback URL")
    }

    /// The authority of the token endpoint (the base URL): pass it to
    /// [`ClientCredentials::with_authority`](exchange_activesync::auth::ClientCredentials::with_authority).
    pub fn authority(&self) -> Url {
        self.base_url()
    }

    /// The application the token endpoint accepts.
    pub fn app(&self) -> &SimulatedApp {
        &self.state.app
    }

    /// The GUIDs of the served tenants, the primary one first.
    pub fn tenant_ids(&self) -> Vec<String> {
        self.state
            .tenants
            .iter()
            .map(|t| t.tenant_id.clone())
            .collect()
    }

    /// Every served tenant, the primary one first.
    pub fn tenants(&self) -> Vec<SimulatedTenant> {
        (0..self.state.tenants.len())
            .map(|index| SimulatedTenant {
                state: self.state.clone(),
                index,
            })
            .collect()
    }

    /// The served tenant with this GUID or domain (case-insensitive).
    pub fn tenant_state(&self, id_or_domain: &str) -> Option<SimulatedTenant> {
        self.state
            .lookup(id_or_domain)
            .map(|index| SimulatedTenant {
                state: self.state.clone(),
                index,
            })
    }

    /// The `index`-th served tenant (0 = the primary one).
    pub fn tenant_at(&self, index: usize) -> Option<SimulatedTenant> {
        (index < self.state.tenants.len()).then(|| SimulatedTenant {
            state: self.state.clone(),
            index,
        })
    }

    /// Tenant id (GUID) of the primary tenant.
    pub fn tenant_id(&self) -> &str {
        &self.state.primary().tenant_id
    }

    /// Domain of the primary tenant (also accepted in the path).
    pub fn domain(&self) -> &str {
        &self.state.primary().domain
    }

    /// The primary tenant's bearer token issued at start (JWT-shaped, app-only,
    /// `Exchange.ManageAsApp`). It is accepted on that tenant's URLs until
    /// [`rotate_token`](Self::rotate_token) is called; see
    /// [`current_token`](Self::current_token).
    pub fn token(&self) -> &str {
        &self.state.primary().token
    }

    /// The primary tenant's bearer token accepted now.
    pub fn current_token(&self) -> String {
        self.state
            .primary()
            .current_token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Expire the primary tenant's tokens and issue a new one (same caller and claims, a later
    /// issue time), returned here and by [`current_token`](Self::current_token). Every request
    /// still carrying an earlier token (also one from the token endpoint) is answered 401 with
    /// a `WWW-Authenticate` challenge, as the service answers a token that expired
    /// mid-enumeration.
    pub fn rotate_token(&self) -> String {
        rotate(self.state.primary())
    }

    /// `{base}/adminapi/beta/{tenant}/InvokeCommand` of the primary tenant.
    pub fn invoke_url(&self) -> String {
        invoke_url(&self.state.base, self.state.primary())
    }

    /// `{base}/adminapi/v1.0/{tenant}/EXOModuleFile` of the primary tenant.
    pub fn module_file_url(&self) -> String {
        module_file_url(&self.state.base, self.state.primary())
    }

    /// Read access to the primary tenant.
    pub fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        self.state
            .primary()
            .tenant
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the primary tenant.
    pub fn tenant_mut(&self) -> RwLockWriteGuard<'_, Tenant> {
        self.state
            .primary()
            .tenant
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The next continuation request (of any tenant) fails with "Expired or Invalid
    /// pagination request".
    pub fn expire_next_continuation(&self) {
        self.state.expire_next.store(true, Ordering::SeqCst);
    }

    /// Append a scripted fault (for every tenant's requests).
    pub fn push_fault(&self, step: FaultStep) {
        push_step(&self.state.script, step);
    }

    /// Set the primary tenant's per-request latency.
    pub fn set_latency(&self, latency: Option<Duration>) {
        *self
            .state
            .primary()
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = latency;
    }

    /// Set the primary tenant's in-flight cap.
    pub fn set_max_in_flight(&self, max: Option<usize>) {
        *self
            .state
            .primary()
            .max_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = max;
    }

    /// Set the continuation lifetime.
    pub fn set_continuation_expiry(&self, expiry: Duration) {
        *self.state.expiry.lock().unwrap_or_else(|e| e.into_inner()) = expiry;
    }

    /// Requests received so far (every path and tenant, token requests included).
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
    pub(super) handle: Option<SimulatorHandle>,
    pub(super) runtime: Option<tokio::runtime::Runtime>,
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
