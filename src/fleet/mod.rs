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
//!   [`Semaphore`] (default [`DEFAULT_GLOBAL_BUDGET`] slots).
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

mod env;
mod error;
mod factory;
mod prior;
mod tenants;

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::Stream;
use futures::future::BoxFuture;
use secrecy::SecretString;
use tokio::sync::{Semaphore, mpsc};
use url::Url;

pub use env::VAR_TENANTS_FILE;
pub use error::{TenantError, TenantErrorKind};
pub use factory::ClientFactory;
pub use prior::CapPrior;
pub use tenants::{FleetTenant, RejectedLine, TenantList, TenantListError};

use crate::auth::{ClientCertificate, TokenClaims, TokenProvider};
use crate::client::{ExchangeClient, ModuleFile};
use crate::connector::{
    ConnectionReport, ConnectionStatus, ConnectionValidator, ConnectorProfile, DeviceRecord,
    InventorySync, PermissionCheck, PermissionSummary, SyncReport,
};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::http::{RetryPolicy, TimeoutConfig};
use crate::permissions::{PermissionChecker, PermissionReport, Profile, Status};
use crate::protocol::{Invocation, NextLink, RawPage};
use factory::{FleetCredential, HttpFactory, ProviderFn};

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

/// Builds a [`Fleet`]; from [`Fleet::builder`].
///
/// Either give a [`client_factory`](Self::client_factory), or configure the HTTP way: a
/// multi-tenant app's [`client_secret`](Self::client_secret) or
/// [`client_certificate`](Self::client_certificate) (or a
/// [`token_provider_per_tenant`](Self::token_provider_per_tenant)), with the
/// [`environment`](Self::environment) and optional [`endpoint`](Self::endpoint) and
/// [`authority`](Self::authority) overrides.
#[must_use]
pub struct FleetBuilder {
    tenants: TenantList,
    environment: Environment,
    endpoint: Option<Url>,
    authority: Option<Url>,
    allow_custom_endpoint: bool,
    client_id: Option<String>,
    credential: Option<FleetCredential>,
    http: Option<reqwest::Client>,
    token_http: Option<reqwest::Client>,
    budget: Option<Arc<Semaphore>>,
    max_concurrency: Option<usize>,
    retry: RetryPolicy,
    timeouts: TimeoutConfig,
    page_size: Option<u32>,
    fail_fast_on_long_retry_after: bool,
    cap_prior: Option<Arc<CapPrior>>,
    tenant_concurrency: usize,
    factory: Option<Arc<dyn ClientFactory>>,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for FleetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The credential shows its kind only.
        f.debug_struct("FleetBuilder")
            .field("tenants", &self.tenants.len())
            .field("environment", &self.environment)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("authority", &self.authority.as_ref().map(Url::as_str))
            .field("allow_custom_endpoint", &self.allow_custom_endpoint)
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .field("tenant_concurrency", &self.tenant_concurrency)
            .field("custom_factory", &self.factory.is_some())
            .finish_non_exhaustive()
    }
}

impl FleetBuilder {
    fn new(tenants: TenantList) -> Self {
        FleetBuilder {
            tenants,
            environment: Environment::Commercial,
            endpoint: None,
            authority: None,
            allow_custom_endpoint: false,
            client_id: None,
            credential: None,
            http: None,
            token_http: None,
            budget: None,
            max_concurrency: None,
            retry: RetryPolicy::default(),
            timeouts: TimeoutConfig::default(),
            page_size: None,
            fail_fast_on_long_retry_after: false,
            cap_prior: None,
            tenant_concurrency: DEFAULT_TENANT_CONCURRENCY,
            factory: None,
            progress: None,
        }
    }

    /// Make each tenant's client with `factory` instead of the HTTP way (the HTTP settings
    /// of this builder are then ignored).
    pub fn client_factory(mut self, factory: impl ClientFactory + 'static) -> Self {
        self.factory = Some(Arc::new(factory));
        self
    }

    /// The cloud (default [`Environment::Commercial`]).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Send the API calls to this base URL instead of the cloud's (the cloud's token scope
    /// is kept). A host outside the cloud needs [`allow_custom_endpoint`](Self::allow_custom_endpoint);
    /// plain `http` is accepted for loopback addresses only.
    pub fn endpoint(mut self, base_url: Url) -> Self {
        self.endpoint = Some(base_url);
        self
    }

    /// Request tokens from this login host instead of the cloud's (token URL
    /// `{authority}/{tenant}/oauth2/v2.0/token`).
    pub fn authority(mut self, authority: Url) -> Self {
        self.authority = Some(authority);
        self
    }

    /// Accept an `https` endpoint or authority outside the cloud. **The tenants' tokens and
    /// the app's credentials are then sent to those hosts.** Default `false`.
    pub fn allow_custom_endpoint(mut self, allow: bool) -> Self {
        self.allow_custom_endpoint = allow;
        self
    }

    /// The multi-tenant app's client id and secret.
    pub fn client_secret(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<SecretString>,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.credential = Some(FleetCredential::Secret(secret.into()));
        self
    }

    /// The multi-tenant app's client id and certificate.
    pub fn client_certificate(
        mut self,
        client_id: impl Into<String>,
        certificate: ClientCertificate,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.credential = Some(FleetCredential::Certificate(certificate));
        self
    }

    /// Make each tenant's token provider with `f` (called when the tenant's work starts),
    /// e.g. an Azure SDK credential for that tenant. The provider must give tokens for that
    /// tenant only.
    pub fn token_provider_per_tenant(
        mut self,
        f: impl Fn(&FleetTenant) -> Result<Arc<dyn TokenProvider>> + Send + Sync + 'static,
    ) -> Self {
        let f: ProviderFn = Arc::new(f);
        self.credential = Some(FleetCredential::Provider(f));
        self
    }

    /// Use the Azure SDK credential of `kind` for each tenant
    /// ([`AzureCredential::of_kind`](crate::auth::azure::AzureCredential::of_kind) with the
    /// tenant; workload identity and the Azure CLI ask for a token of that tenant).
    ///
    /// A managed identity (and often a developer credential) signs in to its **home tenant
    /// only**, whatever tenant is asked for. Every token's `tid` is checked against the
    /// tenant worked, and a token for another tenant is refused before it is used; that check
    /// needs the tenant's GUID, so list tenants by GUID with these kinds (a warning is logged
    /// at build time for tenants named by domain).
    #[cfg(feature = "azure-identity")]
    #[cfg_attr(docsrs, doc(cfg(feature = "azure-identity")))]
    pub fn azure_credential(mut self, kind: crate::auth::azure::AzureCredentialKind) -> Self {
        use crate::auth::azure::AzureCredentialKind as K;
        if matches!(kind, K::ManagedIdentity | K::DeveloperTools) {
            let by_domain = self
                .tenants
                .iter()
                .filter(|t| uuid::Uuid::try_parse(t.as_str()).is_err())
                .count();
            if by_domain > 0 {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    credential = kind.as_str(),
                    tenants = by_domain,
                    "this credential signs in to its home tenant only; tenants named by domain \
                     cannot have their tokens checked offline: list them by GUID"
                );
            }
        }
        self.credential = Some(FleetCredential::Azure(kind));
        self
    }

    /// The one `reqwest::Client` of every tenant's API calls (default: one built here, with
    /// redirects off and no cookie store). Redirects must be off on it (see
    /// [`ClientBuilder::http_client`](crate::ClientBuilder::http_client)); a cookie store
    /// would share one tenant's cookies with the others.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The one `reqwest::Client` of every tenant's token requests (default: one built here,
    /// redirects off, 10 s to connect, 30 s a request).
    pub fn token_http_client(mut self, client: reqwest::Client) -> Self {
        self.token_http = Some(client);
        self
    }

    /// Requests in flight over the whole fleet (at least 1; default
    /// [`DEFAULT_GLOBAL_BUDGET`]).
    pub fn global_budget(mut self, permits: usize) -> Self {
        self.budget = Some(Arc::new(Semaphore::new(permits.max(1))));
        self
    }

    /// Share this semaphore as the global budget (with other fleets or clients).
    pub fn global_budget_semaphore(mut self, budget: Arc<Semaphore>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Hard ceiling of each tenant's concurrent requests (at least 1; default
    /// [`DEFAULT_MAX_CONCURRENCY`](crate::throttle::DEFAULT_MAX_CONCURRENCY)); each tenant's
    /// throttle finds the tenant's cap below it.
    pub fn max_concurrency_per_tenant(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n.max(1));
        self
    }

    /// The retry policy of every tenant's client.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The time limits of every tenant's client.
    pub fn timeouts(mut self, timeouts: TimeoutConfig) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The default page size of every tenant's client.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Fail a tenant's waiting calls at once when one of its answers asks for a
    /// `Retry-After` beyond the retry policy's maximum (default `false`: they wait at the
    /// tenant's gate, closed for the maximum); see
    /// [`TenantThrottle::fail_fast_on_long_retry_after`](crate::throttle::TenantThrottle::fail_fast_on_long_retry_after).
    pub fn fail_fast_on_long_retry_after(mut self, fail_fast: bool) -> Self {
        self.fail_fast_on_long_retry_after = fail_fast;
        self
    }

    /// Share `prior` between the tenants' throttles (default: a fresh one per
    /// [`build`](Self::build), shared by every run of the built fleet): each tenant's
    /// throttle starts from the cap the fleet's tenants have shown so far instead of the
    /// fixed initial limit. Give one prior to several fleets of the same partner to carry
    /// it over.
    pub fn cap_prior(mut self, prior: Arc<CapPrior>) -> Self {
        self.cap_prior = Some(prior);
        self
    }

    /// Tenants worked at once (at least 1; default [`DEFAULT_TENANT_CONCURRENCY`]).
    pub fn tenant_concurrency(mut self, n: usize) -> Self {
        self.tenant_concurrency = n.max(1);
        self
    }

    /// Called with the tenant's and the overall progress whenever a tenant starts, delivers
    /// a page of records, or ends. Called from the tenants' tasks: keep it short.
    pub fn on_progress(
        mut self,
        f: impl Fn(&TenantProgress, &FleetProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Validate the configuration and build the fleet. Nothing is sent.
    ///
    /// Without a [`client_factory`](Self::client_factory), fails with [`Error::Config`]
    /// when no credential is set, and with [`Error::Endpoint`] when the endpoint or the
    /// authority is not acceptable (see [`endpoint`](Self::endpoint)).
    pub fn build(self) -> Result<Fleet> {
        let factory: Arc<dyn ClientFactory> = match self.factory {
            Some(f) => f,
            None => {
                let credential = self.credential.ok_or_else(|| {
                    Error::Config(
                        "a fleet needs a client factory or the app's credential \
                         (client_secret, client_certificate, token_provider_per_tenant)"
                            .into(),
                    )
                })?;
                let needs_client_id = matches!(
                    credential,
                    FleetCredential::Secret(_) | FleetCredential::Certificate(_)
                );
                let client_id = self.client_id.unwrap_or_default();
                if needs_client_id && client_id.trim().is_empty() {
                    return Err(Error::Config("the client id is empty".into()));
                }
                let authority = self
                    .authority
                    .unwrap_or_else(|| self.environment.authority());
                self.environment.check_authority(
                    &authority,
                    self.allow_custom_endpoint,
                    "authority",
                )?;
                let environment = match self.endpoint {
                    None => self.environment,
                    Some(base_url) => {
                        self.environment.check_token_endpoint(
                            &base_url,
                            self.allow_custom_endpoint,
                            "endpoint",
                        )?;
                        Environment::Custom {
                            base_url,
                            scope: self.environment.scope(),
                            authority: authority.clone(),
                        }
                    }
                };
                let api_http = match self.http {
                    Some(h) => h,
                    None => factory::api_http_client(&self.timeouts)?,
                };
                let token_http = match self.token_http {
                    Some(h) => h,
                    None => factory::token_http_client()?,
                };
                Arc::new(HttpFactory {
                    environment,
                    authority,
                    allow_custom_endpoint: self.allow_custom_endpoint,
                    client_id,
                    credential,
                    api_http,
                    token_http,
                    budget: self
                        .budget
                        .unwrap_or_else(|| Arc::new(Semaphore::new(DEFAULT_GLOBAL_BUDGET))),
                    max_concurrency: self.max_concurrency.unwrap_or(factory::DEFAULT_TENANT_MAX),
                    retry: self.retry,
                    timeouts: self.timeouts,
                    page_size: self.page_size,
                    fail_fast_on_long_retry_after: self.fail_fast_on_long_retry_after,
                    prior: self.cap_prior.unwrap_or_default(),
                })
            }
        };
        Ok(Fleet {
            tenants: self.tenants,
            factory,
            tenant_concurrency: self.tenant_concurrency,
            progress: self.progress,
        })
    }
}

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
    /// [`ConnectionValidator`] for `profile` (organization settings,
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

// --- for_each ---------------------------------------------------------------------------

/// The result of [`Fleet::for_each`] for one tenant.
#[derive(Debug)]
#[non_exhaustive]
pub struct TenantResult<T> {
    /// The tenant.
    pub tenant: FleetTenant,
    /// What the operation returned, or why it (or the tenant's client) failed.
    pub result: std::result::Result<T, TenantError>,
}

impl<T: Send + 'static> TenantOutcome for TenantResult<T> {
    fn failed(tenant: FleetTenant, error: TenantError) -> Self {
        TenantResult {
            tenant,
            result: Err(error),
        }
    }
    fn end(&self) -> Option<(bool, u64)> {
        Some((self.result.is_err(), 0))
    }
}

// --- check ------------------------------------------------------------------------------

/// The result of [`Fleet::check`] for one tenant.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TenantCheck {
    /// The tenant.
    pub tenant: FleetTenant,
    /// The connection report (its `status` is healthy, degraded or failed), or why the
    /// tenant's client could not be made.
    pub connection: std::result::Result<ConnectionReport, TenantError>,
    /// The permission report, or why it could not be made.
    pub permissions: std::result::Result<PermissionReport, TenantError>,
    /// The number of devices, when they could be counted.
    pub devices_total: Option<u64>,
    /// What stopped the tenant: its client could not be made, or its connection failed.
    pub error: Option<TenantError>,
}

impl TenantOutcome for TenantCheck {
    fn failed(tenant: FleetTenant, error: TenantError) -> Self {
        TenantCheck {
            tenant,
            connection: Err(error.clone()),
            permissions: Err(error.clone()),
            devices_total: None,
            error: Some(error),
        }
    }
    fn end(&self) -> Option<(bool, u64)> {
        Some((self.error.is_some(), 0))
    }
}

impl serde::Serialize for TenantCheck {
    /// `{"tenant", "connection", "permissions", "devices": {"total"}, "error"}`; a part that
    /// could not be made is `null` (the `error` says why). The connection report's status is
    /// flattened: `connection.status` is `healthy`, `degraded` or `failed`, with
    /// `connection.reasons` or `connection.error` beside it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Devices {
            total: u64,
        }
        #[derive(serde::Serialize)]
        struct Shape<'a> {
            tenant: &'a str,
            connection: Option<serde_json::Value>,
            permissions: Option<&'a PermissionReport>,
            devices: Option<Devices>,
            error: Option<&'a TenantError>,
        }
        Shape {
            tenant: self.tenant.as_str(),
            connection: match &self.connection {
                Ok(report) => Some(flat_connection(report).map_err(serde::ser::Error::custom)?),
                Err(_) => None,
            },
            permissions: self.permissions.as_ref().ok(),
            devices: self.devices_total.map(|total| Devices { total }),
            error: self.error.as_ref(),
        }
        .serialize(s)
    }
}

/// The connection report with its status flattened: `"status": "degraded"` next to its
/// `"reasons"` (or `"error"` when failed), instead of a nested `{"status": ...}` object.
fn flat_connection(report: &ConnectionReport) -> serde_json::Result<serde_json::Value> {
    let mut value = serde_json::to_value(report)?;
    if let Some(map) = value.as_object_mut()
        && let Some(serde_json::Value::Object(status)) = map.remove("status")
    {
        for (k, v) in status {
            map.insert(k, v);
        }
    }
    Ok(value)
}

/// The validator's permission check: [`PermissionChecker`], keeping the full report.
#[derive(Default)]
struct KeepReport {
    report: Mutex<Option<std::result::Result<PermissionReport, TenantError>>>,
}

#[async_trait]
impl PermissionCheck for KeepReport {
    async fn check(
        &self,
        client: &dyn ExchangeClient,
        profile: &ConnectorProfile,
    ) -> Result<PermissionSummary> {
        let result = PermissionChecker::new(client)
            .check(&profile.permission_profile())
            .await;
        let kept = match &result {
            Ok(r) => Ok(r.clone()),
            Err(e) => Err(TenantError::from_error(e)),
        };
        if let Ok(mut slot) = self.report.lock() {
            *slot = Some(kept);
        }
        let report = result?;
        let mut summary = PermissionSummary {
            all_granted: report.all_granted,
            ..Default::default()
        };
        for c in &report.cmdlets {
            if c.status == Status::Granted {
                summary.granted.push(c.cmdlet.clone());
            } else {
                summary
                    .missing
                    .push(format!("{} ({})", c.cmdlet, c.status.as_str()));
            }
        }
        Ok(summary)
    }
}

/// Forwards to the tenant's client and keeps the last error it answered, so a failed
/// connection is reported with its classified error rather than only its text.
struct LastError {
    inner: Arc<dyn ExchangeClient>,
    last: Mutex<Option<TenantError>>,
}

impl LastError {
    fn keep<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && let Ok(mut last) = self.last.lock()
        {
            *last = Some(TenantError::from_error(e));
        }
        r
    }
}

#[async_trait]
impl ExchangeClient for LastError {
    async fn invoke_page(
        &self,
        invocation: &Invocation,
        continuation: Option<&NextLink>,
    ) -> Result<RawPage> {
        self.keep(self.inner.invoke_page(invocation, continuation).await)
    }
    async fn module_file(&self) -> Result<ModuleFile> {
        match self.inner.module_file().await {
            // Not a failure of the tenant: the client cannot list its cmdlets.
            Err(Error::Unsupported(what)) => Err(Error::Unsupported(what)),
            other => self.keep(other),
        }
    }
    async fn token_claims(&self) -> Result<Option<TokenClaims>> {
        self.keep(self.inner.token_claims().await)
    }
    fn throttle(&self) -> Option<Arc<crate::throttle::TenantThrottle>> {
        self.inner.throttle()
    }
}

async fn check_tenant(
    tenant: FleetTenant,
    client: Arc<dyn ExchangeClient>,
    profile: ConnectorProfile,
) -> TenantCheck {
    let tap = Arc::new(LastError {
        inner: client,
        last: Mutex::new(None),
    });
    let client: Arc<dyn ExchangeClient> = tap.clone();
    let permissions = Arc::new(KeepReport::default());
    let report = ConnectionValidator::new(&*client, profile)
        .permission_check(permissions.clone())
        .validate()
        .await;
    let error = match &report.status {
        ConnectionStatus::Failed { error } => Some(
            tap.last
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_else(|| TenantError::new(TenantErrorKind::Other, error.clone())),
        ),
        _ => None,
    };
    let permissions = permissions
        .report
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .unwrap_or_else(|| {
            Err(error.clone().unwrap_or_else(|| {
                TenantError::new(TenantErrorKind::Other, "the permissions were not checked")
            }))
        });
    TenantCheck {
        tenant,
        devices_total: report.devices.as_ref().map(|d| d.total as u64),
        connection: Ok(report),
        permissions,
        error,
    }
}

// --- permissions ------------------------------------------------------------------------

/// The result of [`Fleet::permissions`] for one tenant.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct TenantPermissions {
    /// The tenant.
    pub tenant: FleetTenant,
    /// The permission report, or why there is none.
    pub report: std::result::Result<PermissionReport, TenantError>,
}

impl TenantOutcome for TenantPermissions {
    fn failed(tenant: FleetTenant, error: TenantError) -> Self {
        TenantPermissions {
            tenant,
            report: Err(error),
        }
    }
    fn end(&self) -> Option<(bool, u64)> {
        Some((self.report.is_err(), 0))
    }
}

// --- inventory --------------------------------------------------------------------------

/// An item of [`Fleet::inventory`]: a device record of a tenant, or the end of a tenant.
// Nearly every item is a record: boxing it would cost an allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FleetItem {
    /// One device of `tenant`, with its statistics when they were asked for.
    Record {
        /// The tenant.
        tenant: FleetTenant,
        /// The device.
        record: DeviceRecord,
    },
    /// The tenant's work ended; every record of it came before.
    TenantDone(TenantSyncSummary),
}

impl TenantOutcome for FleetItem {
    fn failed(tenant: FleetTenant, error: TenantError) -> Self {
        FleetItem::TenantDone(TenantSyncSummary {
            tenant,
            outcome: SyncOutcome::Failed,
            devices: 0,
            with_statistics: 0,
            failed_mailboxes: 0,
            reason: Some(format!("nothing could be read: {}", error.summary)),
            error: Some(error),
            report: None,
        })
    }
    fn end(&self) -> Option<(bool, u64)> {
        match self {
            FleetItem::TenantDone(s) => Some((s.outcome == SyncOutcome::Failed, s.devices)),
            FleetItem::Record { .. } => None,
        }
    }
}

/// How a tenant's inventory ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncOutcome {
    /// Every device was delivered, with every requested statistics.
    Complete,
    /// Some devices were delivered, but not all (the enumeration failed part way), or some
    /// mailboxes' statistics failed.
    Partial,
    /// Nothing was delivered: the tenant failed.
    Failed,
}

impl SyncOutcome {
    /// `complete`, `partial` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncOutcome::Complete => "complete",
            SyncOutcome::Partial => "partial",
            SyncOutcome::Failed => "failed",
        }
    }
}

/// The end of one tenant's inventory.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TenantSyncSummary {
    /// The tenant.
    pub tenant: FleetTenant,
    /// Complete, partial or failed.
    pub outcome: SyncOutcome,
    /// Records delivered.
    pub devices: u64,
    /// Records delivered with statistics.
    pub with_statistics: u64,
    /// Mailboxes whose statistics failed.
    pub failed_mailboxes: usize,
    /// What stopped the tenant's enumeration, if something did.
    pub error: Option<TenantError>,
    /// Why the tenant is not complete, in one sentence (`None` when it is): the mailboxes
    /// whose statistics failed (with the first error), a stopped consumer, or the error that
    /// ended the enumeration.
    pub reason: Option<String>,
    /// The sync's report, when the enumeration ran to its end.
    pub report: Option<SyncReport>,
}

async fn inventory_tenant(
    tenant: FleetTenant,
    client: Arc<dyn ExchangeClient>,
    tx: mpsc::Sender<FleetItem>,
    progress: Arc<ProgressState>,
    with_statistics: bool,
) -> FleetItem {
    let delivered = Arc::new(AtomicU64::new(0));
    let with_stats = AtomicU64::new(0);
    let (p, t, d) = (progress.clone(), tenant.clone(), delivered.clone());
    let sync = InventorySync::new(&*client)
        .with_statistics(with_statistics)
        .on_progress(move |_| p.report(&t, d.load(Ordering::Relaxed), false, false));
    let result = sync
        .run_async(|record| {
            delivered.fetch_add(1, Ordering::Relaxed);
            progress.devices.fetch_add(1, Ordering::Relaxed);
            if record.statistics.is_some() {
                with_stats.fetch_add(1, Ordering::Relaxed);
            }
            let tx = tx.clone();
            let tenant = tenant.clone();
            async move {
                // A closed channel means the consumer is gone; the driver stops then.
                let _ = tx.send(FleetItem::Record { tenant, record }).await;
            }
        })
        .await;
    drop(client);
    let devices = delivered.load(Ordering::Relaxed);
    let with_statistics = with_stats.load(Ordering::Relaxed);
    let summary = match result {
        Ok(report) => TenantSyncSummary {
            tenant,
            outcome: if report.is_complete() {
                SyncOutcome::Complete
            } else {
                SyncOutcome::Partial
            },
            devices,
            with_statistics,
            failed_mailboxes: report.failed_mailboxes.len(),
            error: None,
            reason: if let Some((mailbox, why)) = report.failed_mailboxes.first() {
                Some(format!(
                    "the statistics of {} mailbox(es) could not be read (first: {mailbox}: {})",
                    report.failed_mailboxes.len(),
                    why.lines().next().unwrap_or_default()
                ))
            } else if report.stopped_early {
                Some("the consumer stopped before the last record".to_string())
            } else {
                None
            },
            report: Some(report),
        },
        Err(e) => TenantSyncSummary {
            tenant,
            outcome: if devices > 0 {
                SyncOutcome::Partial
            } else {
                SyncOutcome::Failed
            },
            devices,
            with_statistics,
            failed_mailboxes: 0,
            reason: Some(format!(
                "the enumeration stopped after {devices} device(s): {}",
                TenantError::from_error(&e).summary
            )),
            error: Some(TenantError::from_error(&e)),
            report: None,
        },
    };
    FleetItem::TenantDone(summary)
}
