//! Authentication: where bearer tokens come from.
//!
//! [`TokenProvider`] is a small async, object-safe trait; the client asks it for a token before
//! every request (so long enumerations survive token expiry) and once more, with
//! [`TokenRequest::force_refresh`], after a 401.
//!
//! Providers in this module:
//!
//! * [`StaticToken`]: a token the caller already holds;
//! * [`ClientCredentials`]: app-only tokens (OAuth 2.0 client credentials) with a client
//!   secret or a certificate ([`ClientCertificate`]);
//! * [`CachingTokenProvider`]: wraps any provider, caches per scope, refreshes shortly before
//!   expiry, single-flight;
//! * [`provider_from_env`] / [`settings_from_env`]: pick one from `EXO_*` variables.
//!
//! # Environment variables
//!
//! Read by [`provider_from_env`] and [`settings_from_env`]:
//!
//! | Variable | Meaning |
//! |---|---|
//! | `EXO_TENANT_ID` | Tenant GUID or verified domain (required with any credential); see [`TenantId`](crate::environment::TenantId) |
//! | `EXO_ENVIRONMENT` | `commercial` (default), `gcc-high`, `dod` or `china` |
//! | `EXO_ACCESS_TOKEN` | A bearer token to use as is ([`StaticToken`]); wins over the rest |
//! | `EXO_CLIENT_ID` | Application (client) id for the client-credentials flow |
//! | `EXO_CLIENT_SECRET` | Client secret |
//! | `EXO_CLIENT_CERTIFICATE` | Path to a PEM file with the certificate (and the key, unless `EXO_CLIENT_CERTIFICATE_KEY` is set) |
//! | `EXO_CLIENT_CERTIFICATE_KEY` | Path to a separate PEM private key (optional) |
//! | `EXO_CREDENTIAL` | An Azure SDK credential (feature `azure-identity`, see [`azure`](crate::auth#azure-sdk-credentials)): `managed-identity`, `workload-identity`, `azure-cli` or `developer-tools`; not together with `EXO_ACCESS_TOKEN` or `EXO_CLIENT_*`. Unset: a token or client credentials as above |
//! | `AZURE_CLIENT_ID` | With `EXO_CREDENTIAL=managed-identity`: the client id of a user-assigned identity (optional) |
//! | `EXO_AUTHORITY` | Login host override for the client-credentials flow (token URL `{authority}/{tenant}/oauth2/v2.0/token`): the cloud's login host, a loopback address (`http` accepted), or any other `https` host with `EXO_ALLOW_CUSTOM_ENDPOINT=1` |
//! | `EXO_ALLOW_CUSTOM_ENDPOINT` | `1` to accept an `https` `EXO_ENDPOINT` or `EXO_AUTHORITY` outside the cloud: **credentials are sent to that host** |
//!
//! Empty values count as unset. [`provider_from_lookup`] and [`settings_from_lookup`] read the
//! variables through a lookup function instead of the process environment, so tests (and
//! callers with their own configuration source) need not touch the process environment.
//!
//! # Azure SDK credentials
//!
//! With the `azure-identity` feature, the `azure` module adapts the Azure SDK's credentials
//! (managed identity, workload identity federation, Azure CLI, developer tools) to
//! [`TokenProvider`], with the Exchange Online scope of the configured cloud.
//!
//! For other delegated (user) tokens, implement [`TokenProvider`] over the library of your
//! choice (MSAL, a token broker); it is one async method.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::error::AuthError;

#[cfg(feature = "azure-identity")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure-identity")))]
pub mod azure;
mod cache;
mod certificate;
mod claims;
mod client_credentials;
mod clock;
mod env_credential;

pub use cache::{CachingTokenProvider, DEFAULT_REFRESH_MARGIN, MIN_REFRESH_INTERVAL};
pub use certificate::ClientCertificate;
pub use claims::TokenClaims;
pub use client_credentials::{
    ClientCredential, ClientCredentials, JWT_BEARER_ASSERTION_TYPE, MAX_TOKEN_RESPONSE_BYTES,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use env_credential::{
    EnvSettings, FromEnvError, VAR_ACCESS_TOKEN, VAR_ALLOW_CUSTOM_ENDPOINT, VAR_AUTHORITY,
    VAR_AZURE_CLIENT_ID, VAR_CLIENT_CERTIFICATE, VAR_CLIENT_CERTIFICATE_KEY, VAR_CLIENT_ID,
    VAR_CLIENT_SECRET, VAR_CREDENTIAL, VAR_ENVIRONMENT, VAR_TENANT_ID,
    allow_custom_endpoint_from_lookup, provider_from_env, provider_from_lookup, settings_from_env,
    settings_from_lookup,
};

/// An access token and when it expires. `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: Option<DateTime<Utc>>,
}

impl AccessToken {
    /// Wrap a token; `expires_at` is `None` when unknown.
    pub fn new(token: impl Into<String>, expires_at: Option<DateTime<Utc>>) -> Self {
        AccessToken {
            secret: SecretString::from(token.into()),
            expires_at,
        }
    }

    /// The token itself. Send it only through a sensitive header.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Whether the token expires within `margin` of `now`.
    pub fn expires_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.expires_at.is_some_and(|at| at - margin <= now)
    }

    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What the client asks a [`TokenProvider`] for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequest {
    /// The scope, e.g. `https://outlook.office365.com/.default`.
    pub scope: String,
    /// Bypass any cache (set after the service answered 401).
    pub force_refresh: bool,
    /// Claims challenge from a `WWW-Authenticate` header (continuous access evaluation).
    pub claims: Option<String>,
}

impl TokenRequest {
    /// A request for `scope`, allowing cached tokens.
    pub fn new(scope: impl Into<String>) -> Self {
        TokenRequest {
            scope: scope.into(),
            force_refresh: false,
            claims: None,
        }
    }

    /// Ask for a fresh token.
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.force_refresh = force;
        self
    }

    /// Attach a claims challenge.
    pub fn claims(mut self, claims: Option<String>) -> Self {
        self.claims = claims;
        self
    }
}

/// A source of bearer tokens for the Exchange Online resource.
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// Return a token valid for `request.scope`.
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError>;
}

#[async_trait]
impl<T: TokenProvider + ?Sized> TokenProvider for std::sync::Arc<T> {
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        (**self).token(request).await
    }
}

/// A fixed token (for callers that already hold one, and for tests).
#[derive(Clone)]
pub struct StaticToken(AccessToken);

impl StaticToken {
    /// A provider that always returns `token`.
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken(AccessToken::new(token, None))
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StaticToken").field(&"[redacted]").finish()
    }
}

#[async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self, _request: &TokenRequest) -> Result<AccessToken, AuthError> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let t = StaticToken::new("eyJ.super-secret.sig");
        assert!(!format!("{t:?}").contains("super-secret"));
        let a = AccessToken::new("eyJ.super-secret.sig", None);
        assert!(!format!("{a:?}").contains("super-secret"));
        assert_eq!(a.expose(), "eyJ.super-secret.sig");
    }
}
