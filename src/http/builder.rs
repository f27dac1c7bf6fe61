//! [`ClientBuilder`] and [`TimeoutConfig`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use super::retry::RetryPolicy;
use super::{HttpExchangeClient, Inner};
use crate::auth::TokenProvider;
use crate::environment::{Environment, TenantId};
use crate::error::{Error, Result};
use crate::protocol::{MAX_PAGE_SIZE, invoke_url};
use crate::throttle::{DEFAULT_INITIAL_CONCURRENCY, TenantThrottle};

/// The default `User-Agent`: `exchange-activesync/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("exchange-activesync/", env!("CARGO_PKG_VERSION"));

/// Time limits of a call. `None` means unbounded.
///
/// Defaults: 10 s to connect, 16 min per attempt (the service aborts a cmdlet after 15 min,
/// docs/protocol.md §2.3; the module waits one more minute) and 30 min for a whole call including
/// retries and their pauses. One call is one page of an enumeration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeoutConfig {
    /// Establishing the TCP/TLS connection (only applied to the HTTP client this crate
    /// builds; configure an injected `reqwest::Client` yourself).
    pub connect: Option<Duration>,
    /// One attempt: sending the request and reading the whole response body.
    pub attempt: Option<Duration>,
    /// The whole call, across retries and the pauses between them.
    pub call: Option<Duration>,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            connect: Some(Duration::from_secs(10)),
            attempt: Some(Duration::from_secs(960)),
            call: Some(Duration::from_secs(30 * 60)),
        }
    }
}

impl TimeoutConfig {
    /// No time limits at all.
    pub fn none() -> Self {
        TimeoutConfig {
            connect: None,
            attempt: None,
            call: None,
        }
    }

    /// Set the connect timeout.
    pub fn with_connect(mut self, timeout: Option<Duration>) -> Self {
        self.connect = timeout;
        self
    }

    /// Set the per-attempt timeout.
    pub fn with_attempt(mut self, timeout: Option<Duration>) -> Self {
        self.attempt = timeout;
        self
    }

    /// Set the whole-call timeout.
    pub fn with_call(mut self, timeout: Option<Duration>) -> Self {
        self.call = timeout;
        self
    }
}

/// Builds an [`HttpExchangeClient`]; obtained from [`HttpExchangeClient::builder`].
///
/// Building sends nothing, so this runs without a tenant; a bad setting is a typed error:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use exchange_activesync::auth::StaticToken;
/// use exchange_activesync::http::{HttpExchangeClient, RetryPolicy, TimeoutConfig};
/// use exchange_activesync::Environment;
///
/// # fn main() -> exchange_activesync::Result<()> {
/// let client = HttpExchangeClient::builder()
///     .tenant("contoso.onmicrosoft.com")
///     .environment(Environment::Commercial)
///     .token_provider(Arc::new(StaticToken::new("eyJ...")))
///     .retry_policy(RetryPolicy::default().with_max_attempts(3))
///     .timeouts(TimeoutConfig::default().with_call(Some(Duration::from_secs(60))))
///     .build()?;
/// assert!(client.throttle().limit() >= 1);
///
/// // Without a tenant, or with one that is neither a GUID nor a DNS name: refused.
/// let missing = HttpExchangeClient::builder()
///     .token_provider(Arc::new(StaticToken::new("eyJ...")))
///     .build();
/// assert!(missing.is_err());
/// let bad = HttpExchangeClient::builder()
///     .tenant("contoso/../other")
///     .token_provider(Arc::new(StaticToken::new("eyJ...")))
///     .build();
/// assert!(matches!(bad, Err(exchange_activesync::Error::InvalidTenant(_))));
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    tenant: Option<TenantSetting>,
    environment: Environment,
    token_provider: Option<Arc<dyn TokenProvider>>,
    timeouts: TimeoutConfig,
    retry: RetryPolicy,
    user_agent: Option<String>,
    page_size: Option<u32>,
    http: Option<reqwest::Client>,
    allow_custom_endpoint: bool,
    throttle: Option<Arc<TenantThrottle>>,
    max_concurrency: Option<usize>,
    fail_fast_on_long_retry_after: bool,
}

/// The tenant as given: text (validated by `build`) or a [`TenantId`] (validated already).
#[derive(Clone)]
enum TenantSetting {
    Text(String),
    Valid(TenantId),
}

impl TenantSetting {
    fn as_str(&self) -> &str {
        match self {
            TenantSetting::Text(t) => t,
            TenantSetting::Valid(t) => t.as_str(),
        }
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            tenant: None,
            environment: Environment::Commercial,
            token_provider: None,
            timeouts: TimeoutConfig::default(),
            retry: RetryPolicy::default(),
            user_agent: None,
            page_size: None,
            http: None,
            allow_custom_endpoint: false,
            throttle: None,
            max_concurrency: None,
            fail_fast_on_long_retry_after: false,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token provider is never formatted: it may hold a secret.
        f.debug_struct("ClientBuilder")
            .field("tenant", &self.tenant.as_ref().map(TenantSetting::as_str))
            .field("environment", &self.environment)
            .field(
                "token_provider",
                &self.token_provider.as_ref().map(|_| "[set]"),
            )
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("page_size", &self.page_size)
            .field("custom_http_client", &self.http.is_some())
            .field("allow_custom_endpoint", &self.allow_custom_endpoint)
            .field("shared_throttle", &self.throttle.is_some())
            .field("max_concurrency", &self.max_concurrency)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder with the defaults (commercial cloud, default timeouts and retry policy).
    pub fn new() -> Self {
        Self::default()
    }

    /// The tenant: its GUID (preferred, docs/protocol.md §1.1) or a domain such as
    /// `contoso.onmicrosoft.com`. Required.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(TenantSetting::Text(tenant.into()));
        self
    }

    /// The tenant, validated already: [`build`](Self::build) does not parse it again.
    pub fn tenant_id(mut self, tenant: TenantId) -> Self {
        self.tenant = Some(TenantSetting::Valid(tenant));
        self
    }

    /// The cloud (default [`Environment::Commercial`]); use [`Environment::custom`] for any
    /// other endpoint.
    ///
    /// A custom endpoint must be one of the cloud's hosts (the cloud whose token scope it
    /// requests) or a literal loopback address (`127.0.0.0/8`, `[::1]`); any other host
    /// needs [`ClientBuilder::allow_custom_endpoint`].
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Accept a custom `https` endpoint outside the cloud's hosts (a proxy, a gateway).
    ///
    /// **This sends the bearer token to that host**: enable it only for a host you trust
    /// with the tenant's admin token. Default `false`. Plain `http` stays limited to
    /// loopback addresses either way.
    pub fn allow_custom_endpoint(mut self, allow: bool) -> Self {
        self.allow_custom_endpoint = allow;
        self
    }

    /// Where bearer tokens come from. Required. The provider is asked before every request.
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.token_provider = Some(provider);
        self
    }

    /// Time limits (see [`TimeoutConfig`]).
    pub fn timeouts(mut self, timeouts: TimeoutConfig) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Retry policy (see [`RetryPolicy`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// `User-Agent` (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Default page size (`Prefer: odata.maxpagesize`, 1..=1000) for invocations that do not
    /// ask for a smaller one.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size.clamp(1, MAX_PAGE_SIZE));
        self
    }

    /// Use this `reqwest::Client` instead of building one.
    ///
    /// **Automatic redirects must be disabled on it** (`redirect(reqwest::redirect::Policy::none())`):
    /// this client handles redirects itself so that the token only follows allow-listed
    /// targets. A cookie store (server affinity) and a connect timeout are recommended.
    /// With the `ring` feature alone, call [`crate::crypto::install_default_crypto_provider`]
    /// (or install a rustls provider yourself) before building it.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Share this throttling authority (see [`TenantThrottle`]): every attempt of every
    /// call of the client takes a permit from it. Give the same one to several clients of
    /// one tenant so that they adapt together, or keep a clone to observe it. Without it the
    /// client makes its own ([`TenantThrottle::default`], or bounded by
    /// [`max_concurrency`](Self::max_concurrency)), with the retry policy's
    /// `max_retry_after` as the longest its `Retry-After` gate closes for. A shared one
    /// keeps its own settings: `max_concurrency` does not change it.
    pub fn throttle(mut self, throttle: Arc<TenantThrottle>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Hard ceiling of concurrent requests to the tenant (at least 1; default
    /// [`DEFAULT_MAX_CONCURRENCY`](crate::throttle::DEFAULT_MAX_CONCURRENCY)). The client
    /// finds the tenant's cap below it by itself, starting at
    /// [`DEFAULT_INITIAL_CONCURRENCY`] (or the ceiling, if lower).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n.max(1));
        self
    }

    /// Fail fast when an answer asks for a `Retry-After` beyond the retry policy's
    /// `max_retry_after` (default `false`: the calls wait at the tenant's gate, closed for
    /// that maximum, and retry). With `true`, every call waiting at the gate fails at once
    /// with [`Error::RetryAfterTooLong`] naming the `Retry-After`; see
    /// [`TenantThrottle::fail_fast_on_long_retry_after`]. Applies to the client's own
    /// throttle; a shared one ([`throttle`](Self::throttle)) keeps its own setting.
    pub fn fail_fast_on_long_retry_after(mut self, fail_fast: bool) -> Self {
        self.fail_fast_on_long_retry_after = fail_fast;
        self
    }

    /// Validate the configuration and build the client.
    ///
    /// Fails with [`Error::Config`] when the tenant or the token provider is missing, with
    /// [`Error::InvalidTenant`] when the tenant is not a GUID or DNS name, and with
    /// [`Error::Endpoint`] when the endpoint is not `https` (plain `http` is only accepted for
    /// loopback addresses) or is outside the cloud without
    /// [`ClientBuilder::allow_custom_endpoint`].
    pub fn build(self) -> Result<HttpExchangeClient> {
        let tenant = match self.tenant {
            Some(TenantSetting::Valid(t)) => t,
            Some(TenantSetting::Text(t)) if !t.is_empty() => TenantId::parse(&t)?,
            _ => {
                return Err(Error::Config(
                    "a tenant (GUID or domain) is required".into(),
                ));
            }
        };
        let token_provider = self
            .token_provider
            .ok_or_else(|| Error::Config("a token provider is required".into()))?;
        let base = self.environment.base_url();
        self.environment
            .check_token_endpoint(&base, self.allow_custom_endpoint, "endpoint")?;
        if !self.environment.may_receive_token(&base) {
            return Err(Error::Config(format!(
                "the endpoint {} is not on the environment's token allow-list",
                super::redirect::host_of(&base)
            )));
        }
        invoke_url(&base, &tenant, &[])?;
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| DEFAULT_USER_AGENT.to_string());
        let http = match self.http {
            Some(client) => client,
            None => {
                crate::crypto::install_default_crypto_provider();
                let mut b = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .cookie_store(true)
                    .user_agent(user_agent.clone());
                if let Some(t) = self.timeouts.connect {
                    b = b.connect_timeout(t);
                }
                b.build().map_err(|e| {
                    Error::Config(format!(
                        "could not build the HTTP client: {}",
                        e.without_url()
                    ))
                })?
            }
        };
        let throttle = match self.throttle {
            Some(shared) => shared,
            None => {
                let throttle = match self.max_concurrency {
                    Some(max) => TenantThrottle::new(DEFAULT_INITIAL_CONCURRENCY, max),
                    None => TenantThrottle::default(),
                };
                Arc::new(
                    throttle
                        .with_max_retry_after(self.retry.max_retry_after)
                        .fail_fast_on_long_retry_after(
                            self.fail_fast_on_long_retry_after
                                || self.retry.fail_fast_on_long_retry_after,
                        ),
                )
            }
        };
        Ok(HttpExchangeClient {
            inner: Arc::new(Inner {
                http,
                tenant,
                environment: self.environment,
                token_provider,
                timeouts: self.timeouts,
                retry: self.retry,
                user_agent,
                page_size: self.page_size,
                connection_id: Uuid::new_v4(),
                pinned_base: Mutex::new(None),
                throttle,
            }),
        })
    }
}
