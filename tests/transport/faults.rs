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
    assert!(
        report.failed_mailboxes.is_empty(),
        "statistics not read: {:?}",
        report.failed_mailboxes
    );
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

mod outcomes;
mod profiles;
mod resets_and_skiptokens;
mod storms;
mod tokens_and_slow;
