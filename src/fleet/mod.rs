//! Many tenants at once: one multi-tenant app registration, a [`Fleet`] of tenants worked in
//! parallel and isolated from each other.
//!
//! * **Tenants**: a [`TenantList`], usually from a tenants file (one tenant GUID or domain a
//!   line; blank lines and `#` comments ignored; duplicates refused, naming the line).
//! * **Clients**: made per tenant when that tenant's work starts, and dropped when it ends,
//!   by a [`ClientFactory`]: the HTTP one of [`FleetBuilder`] (below), or any closure
//!   `Fn(&FleetTenant) -> Result<Arc<dyn ExchangeClient>>` (fakes in tests).
//! * **Operations**, each a [`FleetStream`] of per-tenant results in order of completion:
//!   [`Fleet::check`] (the connection report, the permission report and the device count of
//!   every tenant, [`TenantCheck`]), [`Fleet::permissions`] ([`TenantPermissions`]) and
//!   [`Fleet::inventory`] (every device record tagged with its tenant, then one
//!   [`TenantSyncSummary`] per tenant, [`FleetItem`]). Progress per tenant and overall:
//!   [`FleetBuilder::on_progress`] and [`FleetStream::progress`].
//!
//! # Scheduling
//!
//! * At most [`tenant_concurrency`](FleetBuilder::tenant_concurrency) tenants (default
//!   [`DEFAULT_TENANT_CONCURRENCY`]) are worked at once, in the order of the list; the next
//!   one starts when one ends. 10,000 tenants never mean 10,000 live clients: a tenant's
//!   client, token cache and throttle exist only while its work runs, and what is kept of a
//!   finished tenant is its (small) result, handed to the stream.
//! * Every request of the HTTP clients first takes a slot of its tenant's
//!   [`TenantThrottle`](crate::throttle::TenantThrottle) (each tenant's own concurrency
//!   cap, found adaptively), then a slot of the fleet's one global budget, a Tokio
//!   [`Semaphore`](tokio::sync::Semaphore) (default [`DEFAULT_GLOBAL_BUDGET`] slots).
//! * **Fairness**: Tokio's semaphore is FIFO, and a tenant can hold at most its own cap of the
//!   global budget (it asks for a global slot only once it holds one of its own). So a
//!   tenant of 100,000 devices queues for the budget like any other: a small tenant's request
//!   waits behind at most one round of the requests already queued, never behind the big
//!   tenant's whole backlog, and the small tenants finish early while the big one goes on.
//!
//! # Isolation
//!
//! Every failure of a tenant (its client cannot be made, the app is not consented there
//! (`AADSTS700016`), 401/403, throttled beyond the retry policy, unreachable, even a panic
//! of its work) becomes that tenant's result with a classified [`TenantError`]; the stream
//! goes on with the others. A tenant's throttling only slows that tenant: its `Retry-After`
//! gate and its cap are its own.
//!
//! # Tokens
//!
//! With the HTTP factory each tenant gets its own cached client-credentials provider
//! ([`ClientCredentials`](crate::auth::ClientCredentials)`::cached()`), bound to
//! `{authority}/{tenant}/oauth2/v2.0/token` and handed only to that tenant's client, whose
//! requests go only to that tenant's URLs (`/adminapi/beta/{tenant}/InvokeCommand`, and
//! `/adminapi/v1.0/{tenant}/EXOModuleFile` for the permission check). Tokens are requested
//! lazily (the first call of the tenant's work asks for it; a tenant never reached never
//! asks), cached for the tenant's work, and refreshed before expiry.
//!
//! # Example
//!
//! A fleet over fakes (of the test kit, `exchange-activesync-testkit`):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use futures::StreamExt;
//! use exchange_activesync::ExchangeClient;
//! use exchange_activesync::fleet::{Fleet, FleetItem, FleetTenant, TenantList};
//! use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
//!
//! let tenants = TenantList::parse("contoso.onmicrosoft.com\n# comment\nfabrikam.onmicrosoft.com\n")?;
//! let fleet = Fleet::builder(tenants)
//!     .client_factory(|t: &FleetTenant| {
//!         let tenant = TenantBuilder::new().seed(t.index() as u64).devices(30).build();
//!         Ok(Arc::new(FakeExchangeClient::new(tenant)) as Arc<dyn ExchangeClient>)
//!     })
//!     .build()?;
//! let mut items = fleet.inventory(true);
//! let mut records = 0;
//! while let Some(item) = items.next().await {
//!     match item {
//!         FleetItem::Record { tenant, record } => {
//!             records += 1;
//!             let _ = (tenant.as_str(), &record.device.identity);
//!         }
//!         FleetItem::TenantDone(summary) => {
//!             println!("{}: {} ({} devices)", summary.tenant, summary.outcome.as_str(), summary.devices);
//!         }
//!         _ => {}
//!     }
//! }
//! assert_eq!(records, 60);
//! assert_eq!(items.progress().tenants_done, 2);
//! # Ok(()) }
//! ```

mod builder;
mod env;
mod error;
mod factory;
mod results;
mod tenants;

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::Stream;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

pub use crate::throttle::CapPrior;
pub use builder::FleetBuilder;
pub use env::VAR_TENANTS_FILE;
pub use error::{TenantError, TenantErrorKind};
pub use factory::ClientFactory;
pub use results::{
    FleetItem, SyncOutcome, TenantCheck, TenantPermissions, TenantResult, TenantSyncSummary,
};
use results::{check_tenant, inventory_tenant};
pub use tenants::{FleetTenant, RejectedLine, TenantList, TenantListError};

use crate::client::ExchangeClient;
use crate::connector::ConnectorProfile;
use crate::error::Result;
use crate::permissions::{PermissionChecker, Profile};

/// Default of [`FleetBuilder::tenant_concurrency`]: 32 tenants worked at once. Enough to
/// keep the global budget busy with tenants capped at 2–8 concurrent requests each, while a
/// fleet of any size holds at most 32 live clients (and their token caches).
pub const DEFAULT_TENANT_CONCURRENCY: usize = 32;

/// Default of [`FleetBuilder::global_budget`]: 256 requests in flight over the whole fleet.
/// Far above what 20 tenants × 2 (or 32 tenants × 4, the throttle's starting level) can use,
/// so the tenants' own caps, not the budget, limit a fleet run; it only bounds sockets and
/// memory should many tenants find high caps at once.
pub const DEFAULT_GLOBAL_BUDGET: usize = 256;

/// Records (and results) buffered between the tenants' work and the consumer of a
/// [`FleetStream`]; a full buffer holds the tenants back.
const CHANNEL_CAPACITY: usize = 256;

type ProgressFn = Arc<dyn Fn(&TenantProgress, &FleetProgress) + Send + Sync>;

/// Tenants worked in parallel, each isolated from the others (see the
/// [module documentation](self)). Cheap to clone; every operation can be run many times.
#[derive(Clone)]
pub struct Fleet {
    tenants: TenantList,
    factory: Arc<dyn ClientFactory>,
    tenant_concurrency: usize,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("tenants", &self.tenants.len())
            .field("tenant_concurrency", &self.tenant_concurrency)
            .finish_non_exhaustive()
    }
}

/// Overall progress of a fleet operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetProgress {
    /// Tenants in the fleet.
    pub tenants_total: usize,
    /// Tenants whose work has started.
    pub tenants_started: usize,
    /// Tenants whose work has ended (failed ones included).
    pub tenants_done: usize,
    /// Tenants whose work failed.
    pub tenants_failed: usize,
    /// Device records delivered so far, all tenants together.
    pub devices: u64,
}

/// One tenant's progress.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantProgress {
    /// The tenant.
    pub tenant: FleetTenant,
    /// Device records of the tenant delivered so far.
    pub devices: u64,
    /// The tenant's work has ended.
    pub done: bool,
    /// ... and failed.
    pub failed: bool,
}

#[derive(Default)]
struct ProgressState {
    total: usize,
    started: AtomicUsize,
    done: AtomicUsize,
    failed: AtomicUsize,
    devices: AtomicU64,
    callback: Option<ProgressFn>,
}

impl ProgressState {
    fn snapshot(&self) -> FleetProgress {
        FleetProgress {
            tenants_total: self.total,
            tenants_started: self.started.load(Ordering::Relaxed),
            tenants_done: self.done.load(Ordering::Relaxed),
            tenants_failed: self.failed.load(Ordering::Relaxed),
            devices: self.devices.load(Ordering::Relaxed),
        }
    }

    fn report(&self, tenant: &FleetTenant, devices: u64, done: bool, failed: bool) {
        if let Some(cb) = &self.callback {
            let t = TenantProgress {
                tenant: tenant.clone(),
                devices,
                done,
                failed,
            };
            cb(&t, &self.snapshot());
        }
    }
}

/// A per-tenant result of a fleet operation.
trait TenantOutcome: Send + 'static {
    /// The result of a tenant whose work could not run (its client could not be made, or
    /// its task panicked).
    fn failed(tenant: FleetTenant, error: TenantError) -> Self;
    /// Whether the tenant failed, and how many devices it delivered (for progress).
    fn end(&self) -> Option<(bool, u64)>;
}

/// The stream of a fleet operation: per-tenant results in order of completion.
///
/// Memory is bounded by the records and pages in flight, not by the fleet's size. The work
/// runs on background Tokio tasks (so it needs a Tokio runtime) and goes on while the
/// consumer handles an item, up to a small buffer; dropping the stream stops all of it (no
/// further tenant is started, no further request sent).
#[must_use = "a fleet operation runs only while its stream is polled or alive"]
pub struct FleetStream<T> {
    rx: mpsc::Receiver<T>,
    progress: Arc<ProgressState>,
    driver: tokio::task::AbortHandle,
}

impl<T> fmt::Debug for FleetStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetStream")
            .field("progress", &self.progress())
            .finish_non_exhaustive()
    }
}

impl<T> FleetStream<T> {
    /// The overall progress so far.
    pub fn progress(&self) -> FleetProgress {
        self.progress.snapshot()
    }
}

impl<T> Stream for FleetStream<T> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }
}

impl<T> Drop for FleetStream<T> {
    fn drop(&mut self) {
        // The driver owns the tenants' tasks (a JoinSet): aborting it aborts them.
        self.driver.abort();
    }
}

/// The work of one tenant: its client (already made) and where to send records.
type TenantWork<T> = Arc<
    dyn Fn(
            FleetTenant,
            Arc<dyn ExchangeClient>,
            mpsc::Sender<T>,
            Arc<ProgressState>,
        ) -> BoxFuture<'static, T>
        + Send
        + Sync,
>;

impl Fleet {
    /// A builder over `tenants`.
    pub fn builder(tenants: TenantList) -> FleetBuilder {
        FleetBuilder::new(tenants)
    }

    /// The tenants.
    pub fn tenants(&self) -> &TenantList {
        &self.tenants
    }

    /// The client of `tenant`, made as the fleet's operations make it: it shares the
    /// fleet's connection pool, token pool and global budget, with a throttle and a token
    /// cache of its own. For one tenant's work outside an operation (a tool's own calls);
    /// see [`for_each`](Self::for_each) to run an operation on every tenant.
    pub fn client(&self, tenant: &FleetTenant) -> Result<Arc<dyn ExchangeClient>> {
        self.factory.client(tenant)
    }

    /// The fleet's tenant whose id is `id` (compared case-insensitively).
    pub fn tenant(&self, id: &str) -> Option<&FleetTenant> {
        self.tenants
            .iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(id.trim()))
    }

    /// Run the caller's own operation on every tenant, with the fleet's isolation (one
    /// tenant's failure or panic stays its own), concurrency, budget and progress: one
    /// [`TenantResult`] per tenant, in order of completion, its error classified.
    ///
    /// ```
    /// use exchange_activesync::fleet::{Fleet, TenantList};
    /// use exchange_activesync::prelude::*;
    /// use exchange_activesync::cmdlets::GetMobileDevice;
    /// use exchange_activesync_testkit::{Simulator, SimulatorConfig, TenantBuilder};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> exchange_activesync::Result<()> {
    /// let sim = Simulator::start(SimulatorConfig::tenants_from(2, |i| {
    ///     TenantBuilder::new().seed(i as u64).devices(3 + i)
    /// }))
    /// .await?;
    /// let tenants = TenantList::from_ids(sim.tenants().iter().map(|t| t.domain().to_string()))
    ///     .expect("tenants");
    /// let fleet = Fleet::builder(tenants)
    ///     .endpoint(sim.base_url())
    ///     .authority(sim.authority())
    ///     .client_secret(sim.app().client_id.clone(), sim.app().client_secret.clone())
    ///     .build()?;
    /// let counts: Vec<_> = fleet
    ///     .for_each(|_tenant, client| async move {
    ///         let devices = client.get_mobile_device(GetMobileDevice::new()).await?;
    ///         Ok(devices.items.len())
    ///     })
    ///     .collect()
    ///     .await;
    /// let mut n: Vec<usize> = counts.into_iter().map(|r| r.result.expect("read")).collect();
    /// n.sort();
    /// assert_eq!(n, [3, 4]);
    /// # Ok(()) }
    /// ```
    pub fn for_each<T, F, Fut>(&self, operation: F) -> FleetStream<TenantResult<T>>
    where
        T: Send + 'static,
        F: Fn(FleetTenant, Arc<dyn ExchangeClient>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let operation = Arc::new(operation);
        self.drive(Arc::new(move |tenant, client, _tx, _progress| {
            let operation = operation.clone();
            Box::pin(async move {
                let result = operation(tenant.clone(), client)
                    .await
                    .map_err(|e| TenantError::from_error(&e));
                TenantResult { tenant, result }
            })
        }))
    }

    /// Run `work` for every tenant, at most `tenant_concurrency` at once.
    fn drive<T: TenantOutcome>(&self, work: TenantWork<T>) -> FleetStream<T> {
        let (tx, rx) = mpsc::channel::<T>(CHANNEL_CAPACITY);
        let progress = Arc::new(ProgressState {
            total: self.tenants.len(),
            callback: self.progress.clone(),
            ..Default::default()
        });
        let tenants: Vec<FleetTenant> = self.tenants.iter().cloned().collect();
        let factory = self.factory.clone();
        let limit = self.tenant_concurrency;
        let state = progress.clone();
        let driver = tokio::spawn(async move {
            let mut set = tokio::task::JoinSet::new();
            let mut running: HashMap<tokio::task::Id, FleetTenant> = HashMap::new();
            let mut next = tenants.into_iter();
            loop {
                while set.len() < limit {
                    let Some(tenant) = next.next() else { break };
                    state.started.fetch_add(1, Ordering::Relaxed);
                    state.report(&tenant, 0, false, false);
                    let factory = factory.clone();
                    let work = work.clone();
                    let tx = tx.clone();
                    let st = state.clone();
                    let t = tenant.clone();
                    let handle = set.spawn(async move {
                        // The client is made here, when the tenant's work starts, and
                        // dropped when it ends.
                        match factory.client(&t) {
                            Ok(client) => work(t, client, tx, st).await,
                            Err(e) => T::failed(t, TenantError::from_error(&e)),
                        }
                    });
                    running.insert(handle.id(), tenant);
                }
                let (tenant, outcome) = match set.join_next_with_id().await {
                    None => break,
                    Some(Ok((id, outcome))) => (running.remove(&id), outcome),
                    Some(Err(e)) => {
                        let Some(tenant) = running.remove(&e.id()) else {
                            continue;
                        };
                        let why = if e.is_panic() {
                            "the tenant's work panicked"
                        } else {
                            "the tenant's work was cancelled"
                        };
                        let outcome = T::failed(
                            tenant.clone(),
                            TenantError::new(TenantErrorKind::Other, why),
                        );
                        (Some(tenant), outcome)
                    }
                };
                if let (Some(tenant), Some((failed, devices))) = (tenant, outcome.end()) {
                    state.done.fetch_add(1, Ordering::Relaxed);
                    if failed {
                        state.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    state.report(&tenant, devices, true, failed);
                }
                if tx.send(outcome).await.is_err() {
                    // The consumer is gone.
                    return;
                }
            }
        });
        FleetStream {
            rx,
            progress,
            driver: driver.abort_handle(),
        }
    }

    /// Check every tenant: the connection report of
    /// [`ConnectionValidator`](crate::connector::ConnectionValidator) for `profile` (organization settings,
    /// policies, rules, device classes, devices by access state), with the full permission
    /// report of [`PermissionChecker`] for the profile's permission profile (run once, as
    /// the validator's permission check) and the device count. One [`TenantCheck`] per
    /// tenant.
    pub fn check(&self, profile: ConnectorProfile) -> FleetStream<TenantCheck> {
        self.drive(Arc::new(move |tenant, client, _tx, _progress| {
            Box::pin(check_tenant(tenant, client, profile))
        }))
    }

    /// The permission report of every tenant for `profile`.
    pub fn permissions(&self, profile: Profile) -> FleetStream<TenantPermissions> {
        let profile = Arc::new(profile);
        self.drive(Arc::new(move |tenant, client, _tx, _progress| {
            let profile = profile.clone();
            Box::pin(async move {
                let report = PermissionChecker::new(&*client)
                    .check(&profile)
                    .await
                    .map_err(|e| TenantError::from_error(&e));
                TenantPermissions { tenant, report }
            })
        }))
    }

    /// Every device of every tenant (joined with its statistics when `with_statistics`),
    /// each record tagged with its tenant and streamed as its page arrives, then one
    /// [`TenantSyncSummary`] per tenant. A tenant's devices are never collected in memory.
    pub fn inventory(&self, with_statistics: bool) -> FleetStream<FleetItem> {
        self.drive(Arc::new(move |tenant, client, tx, progress| {
            Box::pin(inventory_tenant(
                tenant,
                client,
                tx,
                progress,
                with_statistics,
            ))
        }))
    }
}

/// [`eas_readiness`](crate::connector::eas_readiness) in every tenant of a fleet, with the fleet's isolation, concurrency and
/// budget: one result per tenant, in order of completion, each report (and row) tagged with
/// its tenant.
pub fn fleet_readiness(
    fleet: &Fleet,
    minimum: crate::connector::EasVersion,
) -> FleetStream<TenantResult<crate::connector::ReadinessReport>> {
    fleet.for_each(move |tenant, client| {
        let minimum = minimum.clone();
        async move {
            Ok(crate::connector::eas_readiness(&*client, minimum)
                .await?
                .with_tenant(tenant.as_str()))
        }
    })
}
