//! How a fleet makes each tenant's client: [`ClientFactory`], and the HTTP factory of
//! [`FleetBuilder`](super::FleetBuilder).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Semaphore;
use url::Url;

use super::{CapPrior, FleetTenant};
use crate::auth::{ClientCertificate, ClientCredential, ClientCredentials, TokenProvider};
use crate::client::ExchangeClient;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::http::{
    ClientBuilder, DEFAULT_USER_AGENT, HttpExchangeClient, RetryPolicy, TimeoutConfig,
};
use crate::throttle::{DEFAULT_INITIAL_CONCURRENCY, DEFAULT_MAX_CONCURRENCY, TenantThrottle};

/// Makes the client of one tenant, when that tenant's work starts.
///
/// Any `Fn(&FleetTenant) -> Result<Arc<dyn ExchangeClient>>` is one, so a fleet can run over
/// fakes in tests. An error is reported as that tenant's result; the other tenants go on.
pub trait ClientFactory: Send + Sync {
    /// The client for `tenant`. Called once per operation and tenant, lazily; the client is
    /// dropped when the tenant's work ends.
    fn client(&self, tenant: &FleetTenant) -> Result<Arc<dyn ExchangeClient>>;
}

impl<F> ClientFactory for F
where
    F: Fn(&FleetTenant) -> Result<Arc<dyn ExchangeClient>> + Send + Sync,
{
    fn client(&self, tenant: &FleetTenant) -> Result<Arc<dyn ExchangeClient>> {
        self(tenant)
    }
}

/// A token provider per tenant (e.g. an Azure SDK credential for that tenant).
pub(crate) type ProviderFn =
    Arc<dyn Fn(&FleetTenant) -> Result<Arc<dyn TokenProvider>> + Send + Sync>;

/// How the multi-tenant application proves its identity.
#[derive(Clone)]
pub(crate) enum FleetCredential {
    Secret(SecretString),
    Certificate(ClientCertificate),
    Provider(ProviderFn),
    #[cfg(feature = "azure-identity")]
    Azure(crate::auth::azure::AzureCredentialKind),
}

impl fmt::Debug for FleetCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FleetCredential::Secret(_) => f.write_str("Secret([redacted])"),
            FleetCredential::Certificate(c) => f.debug_tuple("Certificate").field(c).finish(),
            FleetCredential::Provider(_) => f.write_str("Provider"),
            #[cfg(feature = "azure-identity")]
            FleetCredential::Azure(k) => f.debug_tuple("Azure").field(k).finish(),
        }
    }
}

/// The HTTP factory: one shared connection pool for the API, one for token requests, one
/// global budget, and per tenant a throttle and a cached client-credentials provider.
pub(crate) struct HttpFactory {
    pub(crate) environment: Environment,
    pub(crate) authority: Url,
    pub(crate) allow_custom_endpoint: bool,
    pub(crate) client_id: String,
    pub(crate) credential: FleetCredential,
    pub(crate) api_http: reqwest::Client,
    pub(crate) token_http: reqwest::Client,
    pub(crate) budget: Arc<Semaphore>,
    pub(crate) max_concurrency: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeouts: TimeoutConfig,
    pub(crate) page_size: Option<u32>,
    pub(crate) fail_fast_on_long_retry_after: bool,
    /// The caps the fleet's tenants have shown: each new tenant's throttle starts there.
    pub(crate) prior: Arc<CapPrior>,
}

impl fmt::Debug for HttpFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpFactory")
            .field("environment", &self.environment)
            .field("authority", &self.authority.as_str())
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .field("max_concurrency", &self.max_concurrency)
            .finish_non_exhaustive()
    }
}

/// A token provider whose tokens must belong to one tenant: a token whose `tid` claim names
/// another tenant is refused before anything is sent with it (a managed identity or a
/// developer credential that ignores the tenant would otherwise work the home tenant under
/// every customer's name). The check applies when the tenant is a GUID; a tenant named by
/// domain cannot be compared offline and is not checked.
#[derive(Debug)]
pub(crate) struct TenantBound {
    inner: Arc<dyn TokenProvider>,
    tenant: Option<uuid::Uuid>,
    name: String,
}

impl TenantBound {
    pub(crate) fn new(inner: Arc<dyn TokenProvider>, tenant: &str) -> Self {
        TenantBound {
            inner,
            tenant: uuid::Uuid::try_parse(tenant.trim()).ok(),
            name: tenant.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl TokenProvider for TenantBound {
    async fn token(
        &self,
        request: &crate::auth::TokenRequest,
    ) -> std::result::Result<crate::auth::AccessToken, crate::error::AuthError> {
        let token = self.inner.token(request).await?;
        if let Some(want) = self.tenant
            && let Some(tid) = crate::auth::TokenClaims::decode(token.expose())
                .and_then(|c| c.tid)
                .and_then(|t| uuid::Uuid::try_parse(t.trim()).ok())
            && tid != want
        {
            return Err(crate::error::AuthError::InvalidCredential(format!(
                "the credential returned a token for tenant {tid}, not for {}; it was not used \
                 (a managed identity or developer credential signs in to its home tenant only)",
                self.name
            )));
        }
        Ok(token)
    }
}

impl HttpFactory {
    fn provider(&self, tenant: &FleetTenant) -> Result<Arc<dyn TokenProvider>> {
        let inner = self.unchecked_provider(tenant)?;
        Ok(Arc::new(TenantBound::new(inner, tenant.as_str())))
    }

    fn unchecked_provider(&self, tenant: &FleetTenant) -> Result<Arc<dyn TokenProvider>> {
        let credential = match &self.credential {
            FleetCredential::Secret(s) => ClientCredential::Secret(s.clone()),
            FleetCredential::Certificate(c) => ClientCredential::Certificate(c.clone()),
            FleetCredential::Provider(f) => return f(tenant),
            #[cfg(feature = "azure-identity")]
            FleetCredential::Azure(kind) => {
                return Ok(Arc::new(crate::auth::azure::AzureCredential::of_kind(
                    *kind,
                    &self.environment,
                    tenant.id(),
                    None,
                )?));
            }
        };
        // Bound to this tenant: its token URL is `{authority}/{tenant}/oauth2/v2.0/token`,
        // and the provider is only ever handed to this tenant's client. Creating it sends
        // nothing: the first token is requested by the tenant's first call.
        let provider = ClientCredentials::new(
            &self.environment,
            tenant.id(),
            self.client_id.clone(),
            credential,
            Some(self.token_http.clone()),
        )?
        .with_authority(&self.authority)?
        .cached();
        Ok(Arc::new(provider))
    }
}

impl ClientFactory for HttpFactory {
    fn client(&self, tenant: &FleetTenant) -> Result<Arc<dyn ExchangeClient>> {
        let throttle = TenantThrottle::new(DEFAULT_INITIAL_CONCURRENCY, self.max_concurrency)
            .with_max_retry_after(self.retry.max_retry_after)
            .with_global_budget(self.budget.clone())
            .fail_fast_on_long_retry_after(self.fail_fast_on_long_retry_after)
            .with_cap_prior(self.prior.clone());
        let mut builder = ClientBuilder::new()
            .tenant_id(tenant.id().clone())
            .environment(self.environment.clone())
            .allow_custom_endpoint(self.allow_custom_endpoint)
            .token_provider(self.provider(tenant)?)
            .http_client(self.api_http.clone())
            .throttle(Arc::new(throttle))
            .retry_policy(self.retry.clone())
            .timeouts(self.timeouts);
        if let Some(size) = self.page_size {
            builder = builder.page_size(size);
        }
        let client: HttpExchangeClient = builder.build()?;
        Ok(Arc::new(client))
    }
}

/// The shared client of the API calls: no automatic redirects (the client follows them
/// itself, token allow-list checked), and no cookie store: one store shared by every tenant
/// would send one tenant's affinity cookies with another tenant's requests.
pub(crate) fn api_http_client(timeouts: &TimeoutConfig) -> Result<reqwest::Client> {
    crate::crypto::install_default_crypto_provider();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(DEFAULT_USER_AGENT);
    if let Some(t) = timeouts.connect {
        b = b.connect_timeout(t);
    }
    b.build().map_err(|e| {
        Error::Config(format!(
            "could not build the HTTP client: {}",
            e.without_url()
        ))
    })
}

/// The shared client of token requests (as [`ClientCredentials`] builds by default).
pub(crate) fn token_http_client() -> Result<reqwest::Client> {
    crate::crypto::install_default_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| {
            Error::Config(format!(
                "could not build the token HTTP client: {}",
                e.without_url()
            ))
        })
}

/// The per-tenant ceiling when none is set.
pub(crate) const DEFAULT_TENANT_MAX: usize = DEFAULT_MAX_CONCURRENCY;
