//! [`FleetBuilder`]: the tenants, the cloud, the app's credential and the limits of a fleet.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use tokio::sync::Semaphore;
use url::Url;

use super::factory::{self, FleetCredential, HttpFactory, ProviderFn};
use super::{
    CapPrior, ClientFactory, DEFAULT_GLOBAL_BUDGET, DEFAULT_TENANT_CONCURRENCY, Fleet,
    FleetProgress, FleetTenant, ProgressFn, TenantList, TenantProgress,
};
use crate::auth::{ClientCertificate, TokenProvider};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::http::{RetryPolicy, TimeoutConfig};

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
    pub(super) fn new(tenants: TenantList) -> Self {
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
