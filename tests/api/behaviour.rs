//! One behaviour suite, two backends.
//!
//! Every scenario below is written once against `&dyn ExchangeClient` and runs twice, on the
//! same deterministic tenant (same seed):
//!
//! * `fake`: [`FakeExchangeClient`], in process;
//! * `http`: [`HttpExchangeClient`] talking to the loopback [`Simulator`] over real HTTP.
//!
//! A scenario asserts its expectations on each backend and returns what it observed; the two
//! observations must be equal, and so must the two tenants afterwards (every object the Get
//! cmdlets list, plus every device's wipe state). The per-backend [`Backend`] adapter only
//! does setup, inspection and fault scripting.
//!
//! Throttling is where the backends legitimately differ: the HTTP client honours
//! `Retry-After` and retries on its own, so a single 429 is invisible to its caller, while the
//! fake hands the throttled error to the caller. The throttling scenario therefore asks the
//! adapter whether the backend retries by itself; without built-in retries it expects the
//! throttled error (with its `Retry-After`), waits that long and calls again. Either way the
//! backend must have been asked exactly twice and both end with the same data.

use exchange_activesync::ExchangeClientExt;
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::cmdlets::*;
use exchange_activesync::models::*;
use exchange_activesync::types::*;
use exchange_activesync::{
    Environment, Error, ExchangeClient, HttpExchangeClient, RetryPolicy, TimeoutConfig,
};
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, Fault, FaultStep, FaultTimes, RbacProfile, Simulator,
    SimulatorConfig, SimulatorHandle, Tenant, TenantBuilder, Times, tenant_json,
};
use futures::StreamExt;
use uuid::Uuid;

/// The `Retry-After` scripted for the throttling scenario (seconds).
const RETRY_AFTER_SECS: f64 = 0.05;

// ---- backends ------------------------------------------------------------------------------

enum Kind {
    Fake(Arc<FakeExchangeClient>),
    Http(SimulatorHandle),
}

/// A backend under test: the client the scenarios use, plus setup, inspection and faults.
struct Backend {
    name: &'static str,
    client: Arc<dyn ExchangeClient>,
    kind: Kind,
}

impl Backend {
    fn fake(tenant: Tenant) -> Backend {
        let fake = Arc::new(FakeExchangeClient::new(tenant));
        Backend {
            name: "fake",
            client: fake.clone(),
            kind: Kind::Fake(fake),
        }
    }

    async fn http(tenant: Tenant) -> Backend {
        let sim = Simulator::start(SimulatorConfig::new(tenant))
            .await
            .expect("simulator starts");
        let client = HttpExchangeClient::builder()
            .tenant(sim.tenant_id())
            .environment(Environment::custom(sim.base_url().as_str()).expect("loopback URL"))
            .token_provider(Arc::new(StaticToken::new(sim.token())))
            .timeouts(TimeoutConfig::none())
            .retry_policy(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
                    .with_jitter(0.0),
            )
            .build()
            .expect("client builds");
        Backend {
            name: "http",
            client: Arc::new(client),
            kind: Kind::Http(sim),
        }
    }

    /// The client, as every scenario sees it.
    fn client(&self) -> &dyn ExchangeClient {
        self.client.as_ref()
    }

    /// A copy of the backend's tenant.
    fn snapshot(&self) -> Tenant {
        match &self.kind {
            Kind::Fake(f) => f.snapshot(),
            Kind::Http(s) => s.tenant().clone(),
        }
    }

    /// The next call of `cmdlet` is answered 429 with `Retry-After: {secs}`.
    fn throttle_once(&self, cmdlet: &str, secs: f64) {
        let failure = Failure::throttled(Some(secs));
        match &self.kind {
            Kind::Fake(f) => f.fail(Some(cmdlet), failure, Times::Once),
            Kind::Http(s) => s.push_fault(FaultStep::new(
                Some(cmdlet),
                Fault::Fail(failure),
                FaultTimes::Once,
            )),
        }
    }

    /// Whether the backend retries a throttled call by itself.
    fn retries_throttling(&self) -> bool {
        matches!(self.kind, Kind::Http(_))
    }

    /// Requests (pages and retries) the backend has received so far.
    fn requests(&self) -> u64 {
        match &self.kind {
            Kind::Fake(f) => f.calls().len() as u64,
            Kind::Http(s) => s.request_count(),
        }
    }
}

/// Everything observable about a tenant: what the Get cmdlets list, and each device's wipe
/// state (which the listing does not show).
fn state(tenant: &Tenant) -> (String, Vec<String>) {
    let wipes = tenant
        .devices()
        .map(|d| format!("{} {:?}", d.guid, d.wipe))
        .collect();
    let json = tenant_json(&RwLock::new(tenant.clone())).expect("tenant lists");
    (String::from_utf8(json).expect("UTF-8"), wipes)
}

fn tenant(seed: u64, devices: usize, profile: RbacProfile) -> Tenant {
    TenantBuilder::new()
        .seed(seed)
        .mailboxes(40)
        .devices(devices)
        .rbac_profile(profile)
        .build()
}

/// Start both backends on the same generated tenant and check that they start equal.
async fn backends(seed: u64, devices: usize, profile: RbacProfile) -> (Backend, Backend) {
    let fake = Backend::fake(tenant(seed, devices, profile));
    let http = Backend::http(tenant(seed, devices, profile)).await;
    assert!(
        state(&fake.snapshot()) == state(&http.snapshot()),
        "the same seed must give the same tenant"
    );
    (fake, http)
}

/// Run `$scenario` on both backends; each run asserts its own expectations, then the two
/// observations and the two final tenants must agree.
macro_rules! on_both_backends {
    ($(#[$meta:meta])* $test:ident, $scenario:ident, seed = $seed:expr, devices = $devices:expr, rbac = $profile:expr) => {
        $(#[$meta])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            let (fake, http) = backends($seed, $devices, $profile).await;
            let from_fake = $scenario(&fake).await;
            let from_http = $scenario(&http).await;
            assert_eq!(
                from_fake, from_http,
                "{}: the fake and the simulator disagree",
                stringify!($scenario)
            );
            assert!(
                state(&fake.snapshot()) == state(&http.snapshot()),
                "{}: the tenants differ after the scenario",
                stringify!($scenario)
            );
        }
    };
}

// ---- helpers ---------------------------------------------------------------------------------

fn messages(warnings: &[exchange_activesync::protocol::Warning]) -> Vec<String> {
    warnings.iter().map(|w| w.message.clone()).collect()
}

/// What a caller can see of an error: status, exception type, message and predicates (not the
/// request ids, which differ on every call).
#[derive(Debug, PartialEq)]
struct ErrorView {
    status: Option<u16>,
    exception_type: Option<String>,
    message: String,
    cmdlet: Option<String>,
    not_found: bool,
    already_exists: bool,
    permission_denied: bool,
    retryable: bool,
}

fn view(e: &Error) -> ErrorView {
    let api = e.api();
    ErrorView {
        status: e.status(),
        exception_type: api.and_then(|a| a.exception_type.clone()),
        message: api
            .map(|a| a.message.clone())
            .unwrap_or_else(|| e.to_string()),
        cmdlet: api.and_then(|a| a.cmdlet.clone()),
        not_found: e.is_not_found(),
        already_exists: e.is_already_exists(),
        permission_denied: e.is_permission_denied(),
        retryable: e.is_retryable(),
    }
}

fn policy(name: &str) -> PolicyIdentity {
    PolicyIdentity::new(name).expect("policy identity")
}

fn rule(name: &str) -> AccessRuleIdentity {
    AccessRuleIdentity::new(name).expect("rule identity")
}

fn device(guid: Uuid) -> MobileDeviceIdentity {
    MobileDeviceIdentity::from_guid(guid)
}

fn expect_err<T: std::fmt::Debug>(b: &Backend, what: &str, r: Result<T, Error>) -> Error {
    match r {
        Ok(v) => panic!("{}: {what} should fail, got {v:?}", b.name),
        Err(e) => e,
    }
}

/// A device of the tenant that a full wipe applies to (EAS, remote wipe supported, no wipe
/// under way), and one more for the account-only wipe.
fn wipe_targets(b: &Backend) -> (Uuid, Uuid) {
    let t = b.snapshot();
    let mut eas = t
        .devices()
        .filter(|d| d.client_type == "EAS" && d.remote_wipe_supported && !d.wipe.is_pending())
        .filter(|d| d.wipe.status() == "DeviceOk")
        .map(|d| d.guid);
    let full = eas.next().expect("an EAS device");
    let account = eas.next().expect("a second EAS device");
    (full, account)
}

// ---- scenarios -------------------------------------------------------------------------------

mod reads;
mod wipes_and_errors;
mod writes;
