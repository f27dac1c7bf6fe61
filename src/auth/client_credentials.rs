//! App-only tokens: the OAuth 2.0 client-credentials flow against the Microsoft identity
//! platform (`{authority}/{tenant}/oauth2/v2.0/token`), with a client secret or a certificate.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::cache::CachingTokenProvider;
use super::certificate::ClientCertificate;
use super::clock::{Clock, SystemClock};
use super::{AccessToken, TokenProvider, TokenRequest};
use crate::environment::{AsTenantId, Environment, TenantId, is_loopback};
use crate::error::{AuthError, body_snippet};

/// The `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the application proves its identity.
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientCredential {
    /// A client secret (application password).
    Secret(SecretString),
    /// A certificate; the token request carries a JWT assertion signed with its key.
    Certificate(ClientCertificate),
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.debug_tuple("Secret").field(&"[redacted]").finish(),
            ClientCredential::Certificate(c) => f.debug_tuple("Certificate").field(c).finish(),
        }
    }
}

/// Largest token-endpoint response body read (64 KiB); a larger one is refused with
/// [`AuthError::ResponseTooLarge`].
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// App-only token provider (OAuth 2.0 client-credentials flow).
///
/// It asks the identity platform for a new token on every call; wrap it with
/// [`ClientCredentials::cached`] to reuse tokens until shortly before they expire.
///
/// ```no_run
/// # use exchange_activesync::{Environment, auth::ClientCredentials};
/// # fn f() -> Result<(), exchange_activesync::AuthError> {
/// let provider = ClientCredentials::with_secret(
///     &Environment::Commercial,
///     "contoso.onmicrosoft.com",
///     "00000000-0000-0000-0000-000000000000",
///     std::env::var("EXO_CLIENT_SECRET").unwrap_or_default(),
/// )?
/// .cached();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    tenant: TenantId,
    token_url: Url,
    default_scope: String,
    client_id: String,
    credential: ClientCredential,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl ClientCredentials {
    /// A provider for `client_id` in `tenant` (a tenant id or verified domain) of `env`.
    ///
    /// Fails with [`AuthError::InvalidTenant`] unless `tenant` is a GUID or a DNS name
    /// ([`TenantId`]); a `TenantId` is used as it is.
    ///
    /// The authority and the default scope come from [`Environment::authority`] and
    /// [`Environment::scope`]. `http` defaults to a client without redirects and with a 10 s
    /// connect timeout and a 30 s request timeout.
    pub fn new<T: AsTenantId + ?Sized>(
        env: &Environment,
        tenant: &T,
        client_id: impl Into<String>,
        credential: ClientCredential,
        http: Option<reqwest::Client>,
    ) -> Result<Self, AuthError> {
        let tenant = tenant.as_tenant_id()?.into_owned();
        let client_id = client_id.into();
        if client_id.trim().is_empty() {
            return Err(AuthError::InvalidCredential(
                "the client id is empty".into(),
            ));
        }
        if let ClientCredential::Secret(s) = &credential
            && s.expose_secret().is_empty()
        {
            return Err(AuthError::InvalidCredential(
                "the client secret is empty".into(),
            ));
        }
        let http = match http {
            Some(http) => http,
            None => default_http_client()?,
        };
        Ok(ClientCredentials {
            token_url: token_url(&env.authority(), &tenant)?,
            tenant,
            default_scope: env.scope(),
            client_id,
            credential,
            http,
            clock: Arc::new(SystemClock),
        })
    }

    /// A provider that authenticates with a client secret.
    pub fn with_secret<T: AsTenantId + ?Sized>(
        env: &Environment,
        tenant: &T,
        client_id: impl Into<String>,
        secret: impl Into<SecretString>,
    ) -> Result<Self, AuthError> {
        Self::new(
            env,
            tenant,
            client_id,
            ClientCredential::Secret(secret.into()),
            None,
        )
    }

    /// A provider that authenticates with a certificate (JWT client assertion, RS256).
    pub fn with_certificate<T: AsTenantId + ?Sized>(
        env: &Environment,
        tenant: &T,
        client_id: impl Into<String>,
        certificate: ClientCertificate,
    ) -> Result<Self, AuthError> {
        Self::new(
            env,
            tenant,
            client_id,
            ClientCredential::Certificate(certificate),
            None,
        )
    }

    /// Send token requests to another authority (a sovereign cloud's login host, or a local
    /// test server). Only `https`, or plain `http` to a loopback address, is accepted.
    pub fn with_authority(mut self, authority: &Url) -> Result<Self, AuthError> {
        self.token_url = token_url(authority, &self.tenant)?;
        Ok(self)
    }

    /// Use `http` for token requests.
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Read the time from `clock` (assertion timestamps and token expiry).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Wrap in a [`CachingTokenProvider`] with the default refresh margin.
    pub fn cached(self) -> CachingTokenProvider<ClientCredentials> {
        let clock = self.clock.clone();
        CachingTokenProvider::new(self).with_clock(clock)
    }

    /// The token endpoint, `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// The application (client) id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The form body of a token request for `scope`, and the client assertion it carries
    /// (kept so it can be scrubbed from error text).
    fn form(
        &self,
        scope: &str,
        claims: Option<&str>,
    ) -> Result<(String, Option<String>), AuthError> {
        let mut sent_assertion = None;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", scope);
        match &self.credential {
            ClientCredential::Secret(secret) => {
                form.append_pair("client_secret", secret.expose_secret());
            }
            ClientCredential::Certificate(certificate) => {
                let assertion = certificate.assertion(
                    &self.client_id,
                    self.token_url.as_str(),
                    self.clock.now(),
                )?;
                form.append_pair("client_assertion_type", JWT_BEARER_ASSERTION_TYPE)
                    .append_pair("client_assertion", &assertion);
                sent_assertion = Some(assertion);
            }
        }
        if let Some(claims) = claims {
            form.append_pair("claims", claims);
        }
        Ok((form.finish(), sent_assertion))
    }

    /// Remove any occurrence of the client secret or the assertion (plain or form-encoded)
    /// from text that came back from the server.
    fn scrub(&self, text: &str, assertion: Option<&str>) -> String {
        let secret = match &self.credential {
            ClientCredential::Secret(secret) => Some(secret.expose_secret()),
            ClientCredential::Certificate(_) => None,
        };
        let mut out = text.to_string();
        for sensitive in [secret, assertion].into_iter().flatten() {
            if sensitive.is_empty() {
                continue;
            }
            let encoded: String =
                url::form_urlencoded::byte_serialize(sensitive.as_bytes()).collect();
            out = out
                .replace(sensitive, "[redacted]")
                .replace(&encoded, "[redacted]");
        }
        out
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("tenant", &self.tenant.as_str())
            .field("token_url", &self.token_url.as_str())
            .field("default_scope", &self.default_scope)
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

#[async_trait]
impl TokenProvider for ClientCredentials {
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let scope = if request.scope.trim().is_empty() {
            self.default_scope.as_str()
        } else {
            request.scope.as_str()
        };
        let (body, assertion) = self.form(scope, request.claims.as_deref())?;
        let scrub = |text: &str| self.scrub(text, assertion.as_deref());
        let response = self
            .http
            .post(self.token_url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| AuthError::Transport(crate::error::origin_only(e)))?;
        let status = response.status();
        let bytes = read_bounded(response, MAX_TOKEN_RESPONSE_BYTES).await?;

        if !status.is_success() {
            return Err(match serde_json::from_slice::<OAuthError>(&bytes) {
                Ok(err) => AuthError::Rejected {
                    status: status.as_u16(),
                    error: scrub(&err.error),
                    description: scrub(err.error_description.as_deref().unwrap_or("")),
                },
                Err(_) => AuthError::Decode(format!(
                    "token endpoint answered {status} with a non-OAuth body: {}",
                    scrub(&body_snippet(&bytes))
                )),
            });
        }

        let parsed: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
            AuthError::Decode(format!(
                "token response is not the expected JSON object: {e}"
            ))
        })?;
        let access_token = parsed
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AuthError::Decode("token response has no access_token".into()))?;
        if let Some(kind) = parsed.token_type.as_deref()
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(AuthError::Decode(format!(
                "unexpected token_type {kind:?} (expected Bearer)"
            )));
        }
        let expires_at = match parsed.expires_in {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(self.clock.now() + expires_in(&value)?),
        };
        Ok(AccessToken::new(access_token, expires_at))
    }
}

/// `expires_in` is a number of seconds, sent as a JSON number or a string.
fn expires_in(value: &serde_json::Value) -> Result<chrono::Duration, AuthError> {
    let seconds = match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if (0..=366 * 24 * 3600).contains(&s) => Ok(chrono::Duration::seconds(s)),
        _ => Err(AuthError::Decode(format!(
            "token response has an invalid expires_in: {value}"
        ))),
    }
}

/// Read a response body of at most `limit` bytes (checked against `Content-Length` first,
/// then while reading).
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, AuthError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(AuthError::ResponseTooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| AuthError::Transport(e.without_url()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(AuthError::ResponseTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `{authority}/{tenant}/oauth2/v2.0/token`, refusing plain http to anything but loopback.
fn token_url(authority: &Url, tenant: &TenantId) -> Result<Url, AuthError> {
    match authority.scheme() {
        "https" => {}
        "http" if is_loopback(authority) => {}
        "http" => {
            return Err(AuthError::InvalidCredential(format!(
                "plain http is accepted only for a loopback authority, not {}",
                authority.host_str().unwrap_or("?")
            )));
        }
        other => {
            return Err(AuthError::InvalidCredential(format!(
                "unsupported authority scheme {other:?}"
            )));
        }
    }
    let tenant = tenant.as_str();
    let mut url = authority.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|_| AuthError::InvalidCredential("the authority is not a base URL".into()))?
        .pop_if_empty()
        .extend([tenant, "oauth2", "v2.0", "token"]);
    Ok(url)
}

fn default_http_client() -> Result<reqwest::Client, AuthError> {
    crate::crypto::install_default_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| AuthError::Transport(crate::error::origin_only(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tid(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }

    #[test]
    fn token_url_per_cloud_and_checks() {
        let u = token_url(&Environment::Commercial.authority(), &tid("contoso.com")).unwrap();
        assert_eq!(
            u.as_str(),
            "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token"
        );
        let u = token_url(&Environment::GccHigh.authority(), &tid("t")).unwrap();
        assert_eq!(
            u.as_str(),
            "https://login.microsoftonline.us/t/oauth2/v2.0/token"
        );
        let local = Url::parse("http://127.0.0.1:9/base/").unwrap();
        assert_eq!(
            token_url(&local, &tid("t")).unwrap().as_str(),
            "http://127.0.0.1:9/base/t/oauth2/v2.0/token"
        );
        assert!(token_url(&Url::parse("http://login.example").unwrap(), &tid("t")).is_err());
        assert!(token_url(&Url::parse("http://localhost:9").unwrap(), &tid("t")).is_err());
        for bad in [
            "../x",
            "a/b",
            " ",
            "",
            "t\r\nX-Evil: 1",
            "a..b",
            "a_b",
            "%2e",
        ] {
            let err = ClientCredentials::with_secret(&Environment::Commercial, bad, "cid", "s")
                .unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidTenant(_)),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn expires_in_forms() {
        let n = serde_json::json!(3599);
        assert_eq!(expires_in(&n).unwrap(), chrono::Duration::seconds(3599));
        let s = serde_json::json!("3600");
        assert_eq!(expires_in(&s).unwrap(), chrono::Duration::seconds(3600));
        assert!(expires_in(&serde_json::json!("soon")).is_err());
        assert!(expires_in(&serde_json::json!(-1)).is_err());
        assert!(expires_in(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn with_authority_keeps_tenant() {
        let cc = ClientCredentials::with_secret(&Environment::Commercial, "tid", "cid", "s3cr3t")
            .unwrap()
            .with_authority(&Url::parse("http://127.0.0.1:8080").unwrap())
            .unwrap();
        assert_eq!(
            cc.token_url().as_str(),
            "http://127.0.0.1:8080/tid/oauth2/v2.0/token"
        );
        assert!(
            ClientCredentials::with_secret(&Environment::Commercial, "tid", "cid", "s")
                .unwrap()
                .with_authority(&Url::parse("http://10.1.2.3").unwrap())
                .is_err()
        );
    }
}
