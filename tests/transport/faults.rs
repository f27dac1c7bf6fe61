//! Fault suite: the simulator over real loopback HTTP, driven through `HttpExchangeClient`
//! (typed collect and streams) and through `connector::InventorySync`.
//!
//! Every case asserts the exact outcome: either the complete, duplicate-free set of the
//! tenant's device Guids, or a typed error that says what happened (never a partial result
//! presented as complete). Every case runs under [`BOUND`], so a hang fails instead of
//! stalling CI.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exchange_activesync::auth::{AccessToken, StaticToken, TokenProvider, TokenRequest};
use exchange_activesync::client::{ExchangeClientExt, ObjectStream, StreamReport};
use exchange_activesync::cmdlets::{
    ClearMobileDevice, GetMobileDevice, SetActiveSyncOrganizationSettings,
};
use exchange_activesync::connector::{InventorySync, SyncReport};
use exchange_activesync::error::{SendState, TimeoutKind};
use exchange_activesync::models::{DeviceAccessLevel, MobileDevice};
use exchange_activesync::types::MobileDeviceIdentity;
use exchange_activesync::{
    AuthError, Environment, Error, ExchangeClient, HttpExchangeClient, RetryPolicy, TimeoutConfig,
    async_trait,
};
use exchange_activesync_testkit::{
    Failure, Fault, FaultPlan, FaultProfile, FaultStep, FaultTimes, RbacProfile, Simulator,
    SimulatorConfig, SimulatorHandle, TenantBuilder,
};
use futures::StreamExt;
use uuid::Uuid;

/// Upper bound of every case: far above what any case needs, far below a CI stall.
const BOUND: Duration = Duration::from_secs(25);
/// Page size of every enumeration (so a 120-device tenant has 3 pages).
const PAGE: usize = 50;
const DEVICES: usize = 120;
const MAILBOXES: usize = 24;
const GET: &str = "Get-MobileDevice";

async fn bounded<F: Future>(case: F) -> F::Output {
    tokio::time::timeout(BOUND, case)
        .await
        .expect("the case hung: no result within the bound")
}

/// A running simulator and the Guids of its tenant's devices (from the tenant model).
struct Sim {
    handle: Arc<SimulatorHandle>,
    expected: HashSet<Uuid>,
}

impl std::ops::Deref for Sim {
    type Target = SimulatorHandle;
    fn deref(&self) -> &SimulatorHandle {
        &self.handle
    }
}

async fn sim_with(devices: usize, mailboxes: usize, plan: FaultPlan) -> Sim {
    let tenant = TenantBuilder::new()
        .seed(11)
        .devices(devices)
        .mailboxes(mailboxes)
        .rbac_profile(RbacProfile::Full)
        .build();
    let expected: HashSet<Uuid> = tenant.devices().map(|d| d.guid).collect();
    assert_eq!(expected.len(), devices);
    let handle = Simulator::start(SimulatorConfig::new(tenant).faults(plan).key_seed(Some(11)))
        .await
        .expect("simulator starts");
    Sim {
        handle: Arc::new(handle),
        expected,
    }
}

async fn sim() -> Sim {
    sim_with(DEVICES, MAILBOXES, FaultPlan::new()).await
}

/// Small delays, so the suite stays fast; enough attempts for every scripted burst.
fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(6)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(40))
}

fn client_with(
    sim: &SimulatorHandle,
    retry: RetryPolicy,
    timeouts: TimeoutConfig,
    tokens: Arc<dyn TokenProvider>,
) -> HttpExchangeClient {
    HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).expect("loopback endpoint"))
        .tenant(sim.tenant_id())
        .token_provider(tokens)
        .page_size(PAGE as u32)
        .retry_policy(retry)
        .timeouts(timeouts)
        .build()
        .expect("client")
}

fn client(sim: &SimulatorHandle) -> HttpExchangeClient {
    client_with(
        sim,
        fast_retry(),
        TimeoutConfig::default(),
        Arc::new(StaticToken::new(sim.token())),
    )
}

fn step(cmdlet: &str, fault: Fault, times: FaultTimes) -> FaultStep {
    FaultStep::new(Some(cmdlet), fault, times)
}

/// Exactly the tenant's devices, each once.
fn assert_exact(devices: &[MobileDevice], expected: &HashSet<Uuid>) {
    let guids: Vec<Uuid> = devices
        .iter()
        .map(|d| d.guid.expect("every device row has a Guid"))
        .collect();
    let unique: HashSet<Uuid> = guids.iter().copied().collect();
    assert_eq!(guids.len(), unique.len(), "a device was returned twice");
    assert_eq!(&unique, expected, "devices lost or invented");
}

/// What draining a stream gave: the rows, the error that ended it (if any), the report.
struct Drained {
    rows: Vec<MobileDevice>,
    error: Option<Error>,
    report: StreamReport,
}

/// Drain `stream`; `after_first_page` runs once the first page's rows have all been taken
/// (before the second page is requested). An error must be the stream's last item.
async fn drain(
    mut stream: ObjectStream<'_, MobileDevice>,
    after_first_page: impl FnOnce(),
) -> Drained {
    let mut hook = Some(after_first_page);
    let mut rows = Vec::new();
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(row) => {
                assert!(error.is_none(), "a row followed the error");
                rows.push(row);
                if rows.len() == PAGE
                    && let Some(h) = hook.take()
                {
                    h();
                }
            }
            Err(e) => {
                assert!(error.is_none(), "two errors in one stream");
                error = Some(e);
            }
        }
    }
    Drained {
        rows,
        error,
        report: stream.report(),
    }
}

/// A complete stream: every device once, no error, the report says complete.
fn assert_complete(d: &Drained, expected: &HashSet<Uuid>) {
    if let Some(e) = &d.error {
        panic!("the stream ended with an error: {e}");
    }
    assert_exact(&d.rows, expected);
    assert!(d.report.complete, "{:?}", d.report);
    assert_eq!(d.report.pages, expected.len().div_ceil(PAGE));
    assert_eq!(d.report.items, expected.len());
}

/// A stream cut short: the first page, then the error, and a report that is not complete.
fn assert_cut_after_first_page(d: &Drained) -> &Error {
    let e = d.error.as_ref().expect("the stream must end with an error");
    assert_eq!(d.rows.len(), PAGE, "only the first page was delivered");
    assert!(!d.report.complete, "{:?}", d.report);
    assert_eq!(d.report.pages, 1);
    assert!(d.report.next_link.is_some(), "the checkpoint is kept");
    e
}

// ---- 1. throttling storms -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_with_and_without_retry_after_completes() {
    bounded(async {
        let s = sim().await;
        // The first page: 429 Retry-After 0.1 s twice, then 429 without Retry-After twice.
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::throttled(Some(0.1))),
            FaultTimes::N(2),
        ));
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::throttled(None)),
            FaultTimes::N(2),
        ));
        let started = Instant::now();
        let listing = client(&s)
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("throttling is retried");
        assert_exact(&listing.items, &s.expected);
        assert_eq!(s.status_count(429), 4);
        assert_eq!(s.faults_fired(), 4);
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "Retry-After was not honoured: {:?}",
            started.elapsed()
        );
        // Mid-enumeration too, through a stream.
        let c = client(&s);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(
                GET,
                Fault::Fail(Failure::throttled(Some(0.05))),
                FaultTimes::Once,
            ));
            s.push_fault(step(
                GET,
                Fault::Fail(Failure::throttled(None)),
                FaultTimes::Once,
            ));
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(s.status_count(429), 6);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_tenant_concurrency_429_is_retried_by_concurrent_enumerations() {
    bounded(async {
        let s = sim_with(
            DEVICES,
            MAILBOXES,
            FaultPlan::new()
                .max_in_flight(2)
                .latency(Duration::from_millis(30)),
        )
        .await;
        let c = client_with(
            &s,
            fast_retry().with_max_attempts(40),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let runs =
            futures::future::join_all((0..4).map(|_| c.get_mobile_device(GetMobileDevice::new())))
                .await;
        for run in runs {
            assert_exact(
                &run.expect("the concurrency 429 is retried").items,
                &s.expected,
            );
        }
        assert!(
            s.status_count(429) >= 1,
            "four concurrent callers never exceeded a cap of two"
        );
        assert_eq!(s.status_count(200), 4 * 3, "one 200 per page per caller");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_gets_through_the_in_flight_cap_with_statistics() {
    bounded(async {
        let s = sim_with(
            DEVICES,
            MAILBOXES,
            FaultPlan::new()
                .max_in_flight(2)
                .latency(Duration::from_millis(10)),
        )
        .await;
        let c = client_with(
            &s,
            fast_retry().with_max_attempts(20),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let (report, rows) = sync(c, |sync| sync).await;
        assert_sync_exact(&rows, &report, &s);
        assert!(s.status_count(429) >= 1, "the cap never bit");
    })
    .await;
}

// ---- 2. 503 bursts ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_503_are_retried_for_reads() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::Unavailable),
            FaultTimes::N(3),
        ));
        let listing = client(&s)
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("503 is retried for reads");
        assert_exact(&listing.items, &s.expected);
        assert_eq!(s.status_count(503), 3);
        // A burst mid-enumeration.
        let c = client(&s);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(
                GET,
                Fault::Fail(Failure::Unavailable),
                FaultTimes::N(4),
            ))
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(s.status_count(503), 7);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_longer_than_the_policy_is_a_typed_error_not_a_partial_listing() {
    bounded(async {
        let s = sim().await;
        let c = client(&s);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(
                GET,
                Fault::Fail(Failure::Unavailable),
                FaultTimes::Always,
            ))
        })
        .await;
        let e = assert_cut_after_first_page(&d);
        assert!(
            matches!(e, Error::RetriesExhausted { attempts: 6, .. }),
            "{e:?}"
        );
        assert_eq!(e.status(), Some(503));
        // collect: an error, never Ok with fewer rows.
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("collect must fail");
        assert_eq!(e.status(), Some(503));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_hit_by_503_is_not_retried() {
    bounded(async {
        let s = sim().await;
        let before = s.tenant().org_settings().default_access_level.clone();
        let target = if before == "Block" {
            DeviceAccessLevel::Quarantine
        } else {
            DeviceAccessLevel::Block
        };
        s.push_fault(step(
            "Set-ActiveSyncOrganizationSettings",
            Fault::Fail(Failure::Unavailable),
            FaultTimes::N(5),
        ));
        let requests = s.request_count();
        let e = client(&s)
            .set_active_sync_organization_settings(
                SetActiveSyncOrganizationSettings::new().default_access_level(target),
            )
            .await
            .expect_err("the 503 is returned");
        assert_eq!(s.request_count() - requests, 1, "the write was retried");
        assert!(matches!(e, Error::Api(_)), "{e:?}");
        assert_eq!(e.status(), Some(503));
        // A 503 proves nothing about a write: its outcome is unknown.
        assert_eq!(e.send_state(), SendState::Ambiguous);
        assert!(e.may_have_acted());
        assert_eq!(s.tenant().org_settings().default_access_level, before);
    })
    .await;
}

// ---- 3. connection resets mid-body --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mid_body_sends_headers_and_part_of_the_body_then_aborts() {
    bounded(async {
        let s = sim().await;
        s.push_fault(FaultStep::new(None, Fault::ResetMidBody, FaultTimes::Once));
        let body = serde_json::json!({"CmdletInput": {
            "CmdletName": GET, "Parameters": {"ResultSize": "Unlimited"}}})
        .to_string();
        let mut r = reqwest::Client::new()
            .post(s.invoke_url())
            .bearer_auth(s.token())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("status line and headers arrive");
        assert_eq!(r.status(), 200);
        let mut got = Vec::new();
        let failed = loop {
            match r.chunk().await {
                Ok(Some(chunk)) => got.extend_from_slice(&chunk),
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        assert!(failed, "the body must fail, not end cleanly");
        assert!(
            got.starts_with(b"{\"@odata.context\":"),
            "part of the body arrived: {:?}",
            String::from_utf8_lossy(&got[..got.len().min(40)])
        );
        assert!(serde_json::from_slice::<serde_json::Value>(&got).is_err());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_reset_mid_body_are_retried_and_complete() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(GET, Fault::ResetMidBody, FaultTimes::N(2)));
        let listing = client(&s)
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("resets are retried for reads");
        assert_exact(&listing.items, &s.expected);
        assert_eq!(s.faults_fired(), 2);
        let c = client(&s);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(GET, Fault::ResetMidBody, FaultTimes::N(2)))
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(s.faults_fired(), 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wipe_reset_mid_body_is_not_retried_and_is_ambiguous() {
    bounded(async {
        let s = sim().await;
        let (guid, identity) = {
            let t = s.tenant();
            let d = t
                .devices()
                .find(|d| !d.wipe.is_pending())
                .expect("a device");
            (d.guid, t.device_identity(d))
        };
        s.push_fault(step(
            "Clear-MobileDevice",
            Fault::ResetMidBody,
            FaultTimes::Always,
        ));
        let requests = s.request_count();
        let e = client(&s)
            .clear_mobile_device(ClearMobileDevice::full_wipe(
                MobileDeviceIdentity::new(identity).expect("identity"),
            ))
            .await
            .expect_err("the reset is returned");
        assert_eq!(s.request_count() - requests, 1, "the wipe was re-sent");
        assert!(matches!(e, Error::Transport { .. }), "{e:?}");
        assert_eq!(e.send_state(), SendState::Ambiguous);
        // Ambiguous indeed: the service did run the wipe before the connection broke.
        assert!(s.tenant().device(&guid).expect("device").wipe.is_pending());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_restarts_after_a_reset_the_client_does_not_retry() {
    bounded(async {
        let s = sim().await;
        // No HTTP retries: the reset on the second page reaches the sync, which restarts.
        let c = client_with(
            &s,
            RetryPolicy::disabled(),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let h = s.handle.clone();
        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        let (report, rows) = sync(c, move |sync| {
            sync.on_progress(move |_| {
                if f.fetch_add(1, Ordering::SeqCst) == 0 {
                    h.push_fault(step(GET, Fault::ResetMidBody, FaultTimes::Once));
                }
            })
        })
        .await;
        assert_sync_exact(&rows, &report, &s);
        assert_eq!(s.faults_fired(), 1);
        assert_eq!(report.restarts, 1, "{report:?}");
    })
    .await;
}

// ---- 4. expired skiptokens ----------------------------------------------------------------

/// An expired continuation restarts collect and streams from the first page (a listing with
/// a row key): every device exactly once, one restart counted, no partial listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_skiptoken_restarts_collect_and_streams_without_duplicates() {
    bounded(async {
        let s = sim().await;
        let c = client(&s);

        s.expire_next_continuation();
        let l = c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
        assert_exact(&l.items, &s.expected);
        assert_eq!(l.restarts, 1);

        s.expire_next_continuation();
        let l = c.call(GetMobileDevice::new()).await.unwrap();
        assert_exact(&l.items, &s.expected);
        assert_eq!(l.restarts, 1);

        s.expire_next_continuation();
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {}).await;
        assert!(d.error.is_none(), "{:?}", d.error);
        assert_exact(&d.rows, &s.expected);
        assert_eq!(d.report.restarts, 1);

        s.expire_next_continuation();
        let d = drain(c.stream(GetMobileDevice::new()), || {}).await;
        assert!(d.error.is_none(), "{:?}", d.error);
        assert_exact(&d.rows, &s.expected);
        assert_eq!((d.report.restarts, d.report.complete), (1, true));
        assert_eq!(s.status_count(400), 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_on_a_wipe_answer_does_not_send_the_wipe_twice() {
    bounded(async {
        let s = sim().await;
        let identity = {
            let t = s.tenant();
            let d = t
                .devices()
                .find(|d| !d.wipe.is_pending())
                .expect("a device");
            t.device_identity(d)
        };
        s.push_fault(step(
            "Clear-MobileDevice",
            Fault::NextLinkOnWrite,
            FaultTimes::Always,
        ));
        let outcome = client(&s)
            .clear_mobile_device(ClearMobileDevice::full_wipe(
                MobileDeviceIdentity::new(identity).expect("identity"),
            ))
            .await
            .expect("the wipe is accepted");
        assert_eq!(s.calls_to("Clear-MobileDevice"), 1, "{:?}", s.calls());
        assert!(s.calls().iter().all(|c| !c.continuation));
        assert!(
            outcome
                .warnings
                .iter()
                .any(|w| w.message.contains("@odata.nextLink")),
            "the offered continuation is surfaced: {outcome:?}"
        );
        // Reads pass the step by: a listing is unaffected.
        let l = client(&s).get_mobile_device(GetMobileDevice::new()).await;
        assert_exact(&l.expect("listing").items, &s.expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_restarts_after_an_expired_skiptoken_and_delivers_each_device_once() {
    bounded(async {
        let s = sim().await;
        s.expire_next_continuation();
        let (report, rows) = sync(client(&s), |sync| sync).await;
        assert_sync_exact(&rows, &report, &s);
        assert_eq!(report.restarts, 1, "{report:?}");
        assert_eq!(
            report.duplicates_skipped, PAGE,
            "the first page was re-read"
        );
        assert_eq!(report.pages, DEVICES.div_ceil(PAGE) + 1);
        assert_eq!(s.status_count(400), 1);
    })
    .await;
}

// ---- 5. a token that expires mid-enumeration ----------------------------------------------

/// Hands out its cached token; on `force_refresh` fetches the simulator's current one (or,
/// when it cannot refresh, keeps the old one).
#[derive(Debug)]
struct RotatingTokens {
    sim: Arc<SimulatorHandle>,
    can_refresh: bool,
    cached: Mutex<String>,
    refreshes: AtomicUsize,
    handed_out: Mutex<Vec<String>>,
}

impl RotatingTokens {
    fn new(sim: &Sim, can_refresh: bool) -> Arc<Self> {
        Arc::new(RotatingTokens {
            sim: sim.handle.clone(),
            can_refresh,
            cached: Mutex::new(sim.token().to_string()),
            refreshes: AtomicUsize::new(0),
            handed_out: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl TokenProvider for RotatingTokens {
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let mut cached = self.cached.lock().unwrap();
        if request.force_refresh {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            if self.can_refresh {
                *cached = self.sim.current_token();
            }
        }
        self.handed_out.lock().unwrap().push(cached.clone());
        Ok(AccessToken::new(cached.clone(), None))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_enumeration_is_refreshed_once() {
    bounded(async {
        let s = sim().await;
        let tokens = RotatingTokens::new(&s, true);
        let c = client_with(&s, fast_retry(), TimeoutConfig::default(), tokens.clone());
        let old = s.token().to_string();
        let new = Arc::new(Mutex::new(String::new()));
        let n = new.clone();
        let handed_before_rotation = Arc::new(AtomicUsize::new(0));
        let hb = handed_before_rotation.clone();
        let t2 = tokens.clone();
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            hb.store(t2.handed_out.lock().unwrap().len(), Ordering::SeqCst);
            *n.lock().unwrap() = s.rotate_token();
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
        assert_eq!(s.status_count(401), 1);
        let new = new.lock().unwrap().clone();
        assert_ne!(new, old);
        let handed = tokens.handed_out.lock().unwrap().clone();
        let before = handed_before_rotation.load(Ordering::SeqCst);
        // Page 1 with the old token; page 2 once with the old token (401), then every
        // request carries the new one.
        assert_eq!(before, 1);
        assert_eq!(
            handed.len(),
            1 + 1 + 1 + 1,
            "{} token requests",
            handed.len()
        );
        assert!(handed[..2].iter().all(|t| *t == old));
        assert!(handed[2..].iter().all(|t| *t == new));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_be_refreshed_is_a_typed_401() {
    bounded(async {
        let s = sim().await;
        let tokens = RotatingTokens::new(&s, false);
        let c = client_with(&s, fast_retry(), TimeoutConfig::default(), tokens.clone());
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.rotate_token();
        })
        .await;
        let e = assert_cut_after_first_page(&d);
        assert_eq!(e.status(), Some(401), "{e:?}");
        assert!(e.api().is_some_and(|a| a.is_unauthorized()));
        assert_eq!(
            tokens.refreshes.load(Ordering::SeqCst),
            1,
            "one refresh try"
        );
        assert_eq!(s.status_count(401), 2);
        // collect, from the start: the same typed error, not Ok.
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("no partial listing");
        assert_eq!(e.status(), Some(401));
        assert_eq!(s.status_count(401), 4);
    })
    .await;
}

// ---- 6. slow responses --------------------------------------------------------------------

fn short_attempts() -> TimeoutConfig {
    TimeoutConfig::default().with_attempt(Some(Duration::from_millis(100)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_slower_than_the_attempt_timeout_are_retried_and_complete() {
    bounded(async {
        let s = sim().await;
        let slow = Fault::Delay(Duration::from_millis(400));
        s.push_fault(step(GET, slow.clone(), FaultTimes::N(2)));
        let c = client_with(
            &s,
            fast_retry(),
            short_attempts(),
            Arc::new(StaticToken::new(s.token())),
        );
        let listing = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("slow reads are retried");
        assert_exact(&listing.items, &s.expected);
        assert_eq!(s.faults_fired(), 2);
        assert_eq!(s.request_count(), 3 + 2);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(GET, slow, FaultTimes::Once))
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(s.faults_fired(), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_write_times_out_once_and_is_ambiguous() {
    bounded(async {
        let s = sim().await;
        let before = s.tenant().org_settings().default_access_level.clone();
        let (target, name) = if before == "Block" {
            (DeviceAccessLevel::Quarantine, "Quarantine")
        } else {
            (DeviceAccessLevel::Block, "Block")
        };
        s.push_fault(step(
            "Set-ActiveSyncOrganizationSettings",
            Fault::Delay(Duration::from_millis(400)),
            FaultTimes::Always,
        ));
        let c = client_with(
            &s,
            fast_retry(),
            short_attempts(),
            Arc::new(StaticToken::new(s.token())),
        );
        let requests = s.request_count();
        let e = c
            .set_active_sync_organization_settings(
                SetActiveSyncOrganizationSettings::new().default_access_level(target),
            )
            .await
            .expect_err("the timeout is returned");
        assert!(
            matches!(
                e,
                Error::Timeout {
                    kind: TimeoutKind::Attempt,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.send_state(), SendState::Ambiguous);
        assert_eq!(s.request_count() - requests, 1, "the write was re-sent");
        // It was ambiguous indeed: the service applied it.
        assert_eq!(s.tenant().org_settings().default_access_level, name);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_call_timeout_bounds_a_call_whose_every_attempt_is_slow() {
    bounded(async {
        let s = sim().await;
        s.set_latency(Some(Duration::from_secs(3)));
        let c = client_with(
            &s,
            fast_retry(),
            TimeoutConfig::default()
                .with_attempt(Some(Duration::from_millis(150)))
                .with_call(Some(Duration::from_millis(400))),
            Arc::new(StaticToken::new(s.token())),
        );
        let started = Instant::now();
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("every attempt is slow");
        let took = started.elapsed();
        assert!(
            matches!(
                e,
                Error::Timeout {
                    kind: TimeoutKind::Call,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(took < Duration::from_millis(1500), "{took:?}");
        assert!(
            (2..=3).contains(&s.request_count()),
            "attempts: {}",
            s.request_count()
        );
        assert!(!e.is_retryable());
    })
    .await;
}

// ---- fault profiles end to end through InventorySync --------------------------------------

/// Run an inventory sync with statistics over `client` (small backoff), collecting records.
async fn sync(
    client: HttpExchangeClient,
    configure: impl FnOnce(InventorySync) -> InventorySync,
) -> (
    SyncReport,
    Vec<exchange_activesync::connector::DeviceRecord>,
) {
    let client: Arc<dyn ExchangeClient> = Arc::new(client);
    let mut rows = Vec::new();
    let sync = InventorySync::new(&*client).with_statistics(true);
    let report = configure(sync)
        .run(|r| rows.push(r))
        .await
        .expect("the sync completes");
    (report, rows)
}

/// Every device once, each joined with its own statistics, and counters that add up.
fn assert_sync_exact(
    rows: &[exchange_activesync::connector::DeviceRecord],
    report: &SyncReport,
    s: &Sim,
) {
    let devices: Vec<MobileDevice> = rows.iter().map(|r| r.device.clone()).collect();
    assert_exact(&devices, &s.expected);
    for r in rows {
        let st = r.statistics.as_ref().expect("statistics joined");
        assert_eq!(st.guid, r.device.guid, "statistics of another device");
    }
    assert!(report.is_complete(), "{:?}", report.failed_mailboxes);
    assert_eq!(report.devices, s.expected.len());
    assert_eq!(report.with_statistics, s.expected.len());
    assert_eq!(report.unroutable_devices, 0);
    assert_eq!(report.skipped_unchanged, 0);
    let mailboxes: HashSet<usize> = s.tenant().devices().map(|d| d.mailbox).collect();
    assert!(
        report.statistics_calls >= mailboxes.len(),
        "{} statistics calls for {} mailboxes",
        report.statistics_calls,
        mailboxes.len()
    );
    // A restart re-reads whole pages; every re-read row is skipped as a duplicate.
    assert_eq!(report.duplicates_skipped % PAGE, 0, "{report:?}");
    assert_eq!(
        report.pages,
        s.expected.len().div_ceil(PAGE) + report.duplicates_skipped / PAGE,
        "{report:?}"
    );
    assert!(report.finished_at >= report.started_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transient_profile_through_inventory_sync() {
    bounded(async {
        let s = sim_with(DEVICES, MAILBOXES, FaultProfile::Transient.plan_seeded(5)).await;
        let (report, rows) = sync(client(&s), |sync| sync).await;
        assert_sync_exact(&rows, &report, &s);
        // The profile expires the first continuation: one restart, one page re-read.
        assert_eq!(report.restarts, 1, "{report:?}");
        assert_eq!(report.duplicates_skipped, PAGE);
        assert_eq!(report.pages, DEVICES.div_ceil(PAGE) + 1);
        // Everything else was absorbed by the client's retries; its throttle saw the 429s.
        assert_eq!(report.throttled, s.status_count(429));
        let faulted: u64 = [429, 500, 503]
            .iter()
            .map(|st| s.status_count(*st))
            .sum::<u64>()
            + s.status_count(400);
        assert!(faulted >= 2, "the profile injected {faulted} faults");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storm_profile_through_inventory_sync() {
    bounded(async {
        let s = sim_with(DEVICES, MAILBOXES, FaultProfile::Storm.plan_seeded(5)).await;
        let (report, rows) = sync(client(&s), |sync| sync).await;
        assert_sync_exact(&rows, &report, &s);
        assert_eq!(report.restarts, 0);
        assert_eq!(report.duplicates_skipped, 0);
        assert_eq!(report.pages, DEVICES.div_ceil(PAGE));
        // The client absorbed the storm; its throttle saw every 429.
        assert_eq!(report.throttled, s.status_count(429));
        // The first attempt of every request was throttled.
        let answered = s.status_count(200);
        assert_eq!(
            answered,
            (report.pages + report.statistics_calls) as u64,
            "one 200 per page and per statistics call"
        );
        assert!(s.status_count(429) >= answered, "{}", s.status_count(429));
    })
    .await;
}

// ---- failures the sync cannot absorb are errors, not short reports ------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_gives_up_with_a_typed_error_when_skiptokens_keep_expiring() {
    bounded(async {
        let s = sim().await;
        s.expire_next_continuation();
        let h = s.handle.clone();
        let client: Arc<dyn ExchangeClient> = Arc::new(client(&s));
        let mut delivered = HashSet::new();
        let e = InventorySync::new(&*client)
            .max_restarts(2)
            // Every continuation the sync is about to follow expires.
            .on_progress(move |_| h.expire_next_continuation())
            .run(|r| {
                assert!(delivered.insert(r.device.guid), "delivered twice");
            })
            .await
            .expect_err("the sync must fail, not report success with fewer devices");
        assert!(e.is_pagination_expired(), "{e:?}");
        assert_eq!(s.status_count(400), 3, "the first try and two restarts");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_stream_reports_the_failure_through_its_handle() {
    bounded(async {
        let s = sim().await;
        let h = s.handle.clone();
        let client: Arc<dyn ExchangeClient> = Arc::new(client(&s));
        let (stream, handle) = InventorySync::new(&*client)
            .on_progress(move |_| {
                h.push_fault(step(
                    GET,
                    Fault::Fail(Failure::Unavailable),
                    FaultTimes::Always,
                ))
            })
            .stream();
        let records: Vec<_> = stream.collect().await;
        let e = handle
            .await
            .expect("the sync ran to its end")
            .expect_err("the failure reaches the handle");
        assert_eq!(e.status(), Some(503), "{e:?}");
        assert!(records.len() < DEVICES, "{} records", records.len());
        let unique: HashSet<_> = records.iter().map(|r| r.device.guid).collect();
        assert_eq!(unique.len(), records.len());
    })
    .await;
}

// ---- a service that never advances --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_that_never_advances_is_a_decode_error_not_an_endless_enumeration() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(GET, Fault::StaleNextLink, FaultTimes::Always));
        let c = client(&s);
        let stuck = |e: &Error| {
            assert!(matches!(e, Error::Paging { .. }), "{e:?}");
            assert!(e.to_string().contains("already"), "{e}");
        };
        // The second page comes back pointing at itself.
        stuck(
            &c.get_mobile_device(GetMobileDevice::new())
                .await
                .unwrap_err(),
        );
        stuck(&c.call(GetMobileDevice::new()).await.unwrap_err());
        for d in [
            drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {}).await,
            drain(c.stream(GetMobileDevice::new()), || {}).await,
        ] {
            let e = d.error.as_ref().expect("the stream must end with an error");
            stuck(e);
            assert_eq!(
                d.rows.len(),
                PAGE,
                "rows of the repeated page were not yielded"
            );
            assert!(!d.report.complete, "{:?}", d.report);
        }
        let client: Arc<dyn ExchangeClient> = Arc::new(c);
        stuck(
            &InventorySync::new(&*client)
                .run(|_| {})
                .await
                .expect_err("the sync must fail"),
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Truthful outcomes: a service that answers badly gives "unknown", never "refused" or "gone".
// ---------------------------------------------------------------------------------------

/// A device of the simulator that has no wipe pending: (Guid, identity).
fn idle_device(s: &SimulatorHandle) -> (Uuid, MobileDeviceIdentity) {
    let t = s.tenant();
    let d = t
        .devices()
        .find(|d| !d.wipe.is_pending())
        .expect("a device");
    (
        d.guid,
        MobileDeviceIdentity::new(t.device_identity(d)).expect("identity"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wipe_that_ran_and_was_answered_503_or_500_transient_is_unknown_and_sent_once() {
    use exchange_activesync::connector::{WipeConfirmation, WipeError, WipeRequest, remote_wipe};
    bounded(async {
        for failure in [
            Failure::Unavailable,
            Failure::TransientException {
                exception: "StorageTransientException".into(),
            },
        ] {
            let s = sim().await;
            let (guid, device) = idle_device(&s);
            s.push_fault(step(
                "Clear-MobileDevice",
                Fault::AfterRun(failure.clone()),
                FaultTimes::Always,
            ));
            let err = remote_wipe(
                &client(&s),
                &WipeRequest::account_only(device.clone()),
                WipeConfirmation::i_understand_this_erases(&device),
            )
            .await
            .expect_err("the answer is an error");
            assert!(
                matches!(err, WipeError::OutcomeUnknown { .. }),
                "{failure:?}: reported as {err:?}"
            );
            assert_eq!(s.calls_to("Clear-MobileDevice"), 1, "{failure:?}: re-sent");
            // Unknown indeed: the service ran it.
            assert!(s.tenant().device(&guid).expect("device").wipe.is_pending());
            let err = Error::from(err);
            assert!(err.may_have_acted());
            assert_eq!(
                err.outcome(),
                exchange_activesync::outcome::CallOutcome::Unknown
            );
        }
    })
    .await;
}

/// Plan a cleanup of the stale devices of `s` (as of the tenant's clock).
async fn stale_plan(
    c: &dyn ExchangeClient,
    s: &SimulatorHandle,
) -> exchange_activesync::connector::CleanupPlan {
    use exchange_activesync::connector::{StaleCriteria, plan_stale_cleanup};
    let now = s.tenant().now();
    let plan = plan_stale_cleanup(
        c,
        StaleCriteria::older_than(Duration::from_secs(45 * 86_400)),
        now,
    )
    .await
    .expect("plan");
    assert!(
        !plan.candidates.is_empty(),
        "the seeded tenant has stale devices"
    );
    assert!(plan.is_complete());
    plan
}

async fn apply(
    c: &dyn ExchangeClient,
    plan: &exchange_activesync::connector::CleanupPlan,
    recheck: bool,
) -> exchange_activesync::connector::CleanupReport {
    use exchange_activesync::connector::{
        ApplyOptions, CleanupConfirmation, Recheck, apply_cleanup,
    };
    let recheck = if recheck {
        Recheck::Always
    } else {
        Recheck::WhenPlanOlderThan(Duration::from_secs(3600))
    };
    apply_cleanup(
        c,
        plan,
        CleanupConfirmation::i_reviewed(plan),
        ApplyOptions::new(1000)
            .recheck(recheck)
            .now(plan.created_at),
    )
    .await
    .expect("applied")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_answered_503_after_they_ran_are_unknown_unless_a_read_back_proves_them() {
    use exchange_activesync::connector::CleanupVerdict;
    bounded(async {
        // Read-back possible: every removal ran, so each one is proved removed.
        let s = sim().await;
        let c = client(&s);
        let plan = stale_plan(&c, &s).await;
        s.push_fault(step(
            "Remove-MobileDevice",
            Fault::AfterRun(Failure::Unavailable),
            FaultTimes::Always,
        ));
        let report = apply(&c, &plan, false).await;
        assert_eq!(s.calls_to("Remove-MobileDevice"), plan.candidates.len());
        assert_eq!(report.count("removed"), plan.candidates.len(), "{report:?}");
        assert_eq!(report.verdict(), CleanupVerdict::Done);
        for cand in &plan.candidates {
            assert!(
                s.tenant().device(&cand.guid.unwrap()).is_none(),
                "not removed"
            );
        }

        // No read-back possible (every Get-MobileDevice answers 503 too): unknown, never
        // refused, each sent once.
        let s = sim().await;
        let c = client(&s);
        let plan = stale_plan(&c, &s).await;
        s.push_fault(step(
            "Remove-MobileDevice",
            Fault::AfterRun(Failure::TransientException {
                exception: "DCOverloadedException".into(),
            }),
            FaultTimes::Always,
        ));
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::Unavailable),
            FaultTimes::Always,
        ));
        let report = apply(&c, &plan, false).await;
        assert_eq!(s.calls_to("Remove-MobileDevice"), plan.candidates.len());
        assert_eq!(report.count("unknown"), plan.candidates.len(), "{report:?}");
        assert_eq!(report.count("refused"), 0);
        assert_eq!(report.verdict(), CleanupVerdict::Unknown);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_404_after_planning_is_never_gone() {
    use exchange_activesync::connector::{CandidateResult, CleanupVerdict};
    bounded(async {
        for recheck in [false, true] {
            let s = sim().await;
            let c = client(&s);
            let plan = stale_plan(&c, &s).await;
            // The route is lost: every request from now on gets a proxy's 404 page.
            s.push_fault(FaultStep::new(
                None,
                Fault::Fail(Failure::NotFoundPage),
                FaultTimes::Always,
            ));
            let report = apply(&c, &plan, recheck).await;
            assert_eq!(report.count("gone"), 0, "{report:?}");
            assert_eq!(report.count("removed"), 0, "{report:?}");
            assert_ne!(report.verdict(), CleanupVerdict::Done, "recheck {recheck}");
            for o in &report.outcomes {
                assert!(
                    matches!(
                        o.result,
                        CandidateResult::Unknown(_) | CandidateResult::Skipped(_)
                    ),
                    "{:?}",
                    o.result
                );
            }
            // Nothing was removed.
            for cand in &plan.candidates {
                assert!(s.tenant().device(&cand.guid.unwrap()).is_some());
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_that_repeat_rows_forever_end_with_an_error_naming_the_pages() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(GET, Fault::RepeatRows, FaultTimes::Always));
        let c = client(&s);
        let started = Instant::now();
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("the listing cannot end");
        assert!(matches!(e, Error::Paging { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("pages 2 to") && text.contains("no new row"),
            "{text}"
        );
        assert!(
            s.calls_to(GET) <= 2 + 5,
            "{} pages fetched",
            s.calls_to(GET)
        );
        assert!(started.elapsed() < BOUND);
        // The stream yields the first page once, then the error.
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {}).await;
        assert_eq!(d.rows.len(), PAGE);
        assert!(
            matches!(d.error, Some(Error::Paging { .. })),
            "{:?}",
            d.error
        );
        // So does the inventory.
        let client: Arc<dyn ExchangeClient> = Arc::new(c);
        let e = InventorySync::new(&*client)
            .run(|_| {})
            .await
            .expect_err("the sync must fail");
        assert!(matches!(e, Error::Paging { .. }), "{e:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_the_maximum_waits_at_the_gate_then_succeeds() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::Throttled {
                retry_after: Some("99999999".into()),
            }),
            FaultTimes::Once,
        ));
        let retry = fast_retry().with_max_retry_after(Duration::from_millis(300));
        let c = client_with(
            &s,
            retry.clone(),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let started = Instant::now();
        let all = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("waits the maximum, then completes");
        assert_exact(&all.items, &s.expected);
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "it did not wait"
        );
        // Fail fast: the call that received it fails at once, naming the Retry-After.
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::Throttled {
                retry_after: Some("99999999".into()),
            }),
            FaultTimes::Once,
        ));
        let c = client_with(
            &s,
            retry.with_fail_fast_on_long_retry_after(true),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("fails fast");
        assert!(e.is_retry_after_too_long(), "{e:?}");
        assert!(e.to_string().contains("86400s"), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_from_a_checkpoint_never_repeats_rows_from_before_it() {
    use exchange_activesync::PreparedCmdlet;
    bounded(async {
        let s = sim().await;
        let c = client(&s);
        // Read the first page and keep its continuation as a checkpoint.
        let mut first = c.get_mobile_device_stream(GetMobileDevice::new());
        let mut before = HashSet::new();
        for _ in 0..PAGE {
            let d = first.next().await.expect("a row").expect("ok");
            before.insert(d.guid.expect("guid"));
        }
        let checkpoint = first.report().next_link.expect("more pages");
        drop(first);
        // The continuation expires before the resumed stream uses it.
        s.expire_next_continuation();
        let prepared = PreparedCmdlet::new(&GetMobileDevice::new()).expect("prepared");
        let d = drain(c.stream_prepared(prepared, Some(checkpoint)), || {}).await;
        for row in &d.rows {
            assert!(
                !before.contains(&row.guid.expect("guid")),
                "a row from before the checkpoint came again"
            );
        }
        let e = d
            .error
            .expect("cannot resume without repeating: an error says so");
        assert!(e.is_pagination_expired(), "{e:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_from_a_checkpoint_after_an_expired_continuation_loses_and_repeats_nothing()
 {
    use exchange_activesync::{Checkpoint, PreparedCmdlet};
    bounded(async {
        let s = sim().await;
        let c = client(&s);
        // Read one page and a part of the next, then stop.
        let mut first = c.get_mobile_device_stream(GetMobileDevice::new());
        let mut before = Vec::new();
        for _ in 0..(PAGE + 7) {
            let d = first.next().await.expect("a row").expect("ok");
            before.push(d.guid.expect("guid"));
        }
        let checkpoint = first.checkpoint().expect("not finished");
        drop(first);
        // It survives a trip through JSON (another process can resume).
        let json = serde_json::to_string(&checkpoint).unwrap();
        let checkpoint: Checkpoint = serde_json::from_str(&json).unwrap();
        assert_eq!(checkpoint.returned.len(), PAGE + 7);
        // The continuation expires before the resumed stream uses it.
        s.expire_next_continuation();
        let prepared = PreparedCmdlet::new(&GetMobileDevice::new()).expect("prepared");
        let d = drain(c.stream_from(prepared, checkpoint), || {}).await;
        assert!(d.error.is_none(), "{:?}", d.error);
        assert_eq!(d.report.restarts, 1, "{:?}", d.report);
        let mut all: Vec<MobileDevice> = d.rows;
        let after: HashSet<Uuid> = all.iter().map(|r| r.guid.unwrap()).collect();
        for g in &before {
            assert!(
                !after.contains(g),
                "a row from before the checkpoint came again"
            );
        }
        // Together: every device exactly once.
        let mut guids: Vec<Uuid> = before;
        guids.extend(all.drain(..).map(|r| r.guid.unwrap()));
        let set: HashSet<Uuid> = guids.iter().copied().collect();
        assert_eq!(guids.len(), set.len(), "a row was returned twice");
        assert_eq!(set, s.expected, "a row was lost");
    })
    .await;
}
