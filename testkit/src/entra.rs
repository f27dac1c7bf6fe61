//! The simulator's token endpoint: the client-credentials grant of the Microsoft identity
//! platform (`POST /{tenant}/oauth2/v2.0/token`) for one registered multi-tenant
//! application, with Entra ID's answers and error bodies.
//!
//! What a request is checked for, in order (each failure answers as Entra ID does):
//!
//! 1. the tenant (GUID or domain, case-insensitive) is served: else `400 invalid_request`
//!    `AADSTS90002`;
//! 2. `grant_type=client_credentials`: missing `400 invalid_request` `AADSTS900144`, other
//!    `400 unsupported_grant_type` `AADSTS70003`;
//! 3. `client_id` is the registered application and the tenant consented to it: else
//!    `400 unauthorized_client` `AADSTS700016`;
//! 4. the credential: `client_secret` equal to the registered secret (else `401
//!    invalid_client` `AADSTS7000215`), or `client_assertion_type` = JWT bearer with a
//!    `client_assertion` that is a well-formed JWT (three segments, JSON header with `alg`,
//!    JSON claims; else `AADSTS50027`) whose `iss` and `sub` are the client id (else
//!    `AADSTS700021`), whose `aud` is this token endpoint's URL for the tenant (by GUID or
//!    domain, case-insensitive; else `AADSTS50012`), and whose `nbf`/`exp` hold the current time
//!    with five minutes of skew (else `AADSTS700024`). The assertion's **signature is not
//!    verified**. Neither credential: `401 invalid_client` `AADSTS7000218`;
//! 5. `scope` is one of the accepted scopes (default `https://outlook.office365.com/.default`):
//!    missing or other, `400 invalid_scope` `AADSTS70011`.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::Value;

use super::token::TOKEN_APP_ID;
use exchange_activesync::auth::JWT_BEARER_ASSERTION_TYPE;

/// The client secret of the simulator's registered application unless configured otherwise.
/// It is a test value, printed in the standalone simulator's ready file.
pub const DEFAULT_CLIENT_SECRET: &str = "simulator-client-secret";

/// The Exchange Online scope accepted by default.
pub const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

/// The one multi-tenant application registered in the simulator: the client id and secret its
/// token endpoint accepts. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatedApp {
    /// Application (client) id (default [`TOKEN_APP_ID`]).
    pub client_id: String,
    /// Client secret (default [`DEFAULT_CLIENT_SECRET`]).
    pub client_secret: String,
}

impl SimulatedApp {
    /// An application with this client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        SimulatedApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

impl Default for SimulatedApp {
    fn default() -> Self {
        SimulatedApp::new(TOKEN_APP_ID, DEFAULT_CLIENT_SECRET)
    }
}

impl fmt::Debug for SimulatedApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatedApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// An Entra ID error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EntraError {
    pub status: u16,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

impl EntraError {
    fn new(status: u16, error: &'static str, code: u32, message: impl Into<String>) -> Self {
        EntraError {
            status,
            error,
            code,
            message: message.into(),
        }
    }

    /// The JSON body, shaped like Entra ID's: the description carries the AADSTS code and the
    /// trace, correlation and time lines.
    pub fn body(&self, now: SystemTime) -> Vec<u8> {
        let timestamp = chrono::DateTime::<chrono::Utc>::from(now)
            .format("%Y-%m-%d %H:%M:%SZ")
            .to_string();
        let trace_id = uuid::Uuid::new_v4().to_string();
        let correlation_id = uuid::Uuid::new_v4().to_string();
        serde_json::json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.code, self.message
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        })
        .to_string()
        .into_bytes()
    }
}

/// The served tenant a token request names, as the endpoint needs it.
pub(super) struct DirectoryTenant<'a> {
    pub tenant_id: &'a str,
    pub domain: &'a str,
    pub consented: bool,
}

/// What a token request is checked against.
pub(super) struct TokenCheck<'a> {
    /// The tenant segment of the path, as sent.
    pub segment: &'a str,
    /// The served tenant it names, if any.
    pub tenant: Option<DirectoryTenant<'a>>,
    pub app: &'a SimulatedApp,
    pub scopes: &'a [String],
    /// `http://127.0.0.1:PORT` (the authority).
    pub base: &'a str,
    pub now: SystemTime,
}

const SKEW_SECS: i64 = 300;

fn missing(name: &str) -> EntraError {
    EntraError::new(
        400,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// Check a token request's form body; `Ok(())` means a token is issued.
pub(super) fn check(ask: &TokenCheck<'_>, body: &[u8]) -> Result<(), EntraError> {
    let Some(tenant) = &ask.tenant else {
        return Err(EntraError::new(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are \
                 signing into the correct cloud. Check with your subscription administrator, this \
                 may happen if there are no active subscriptions for the tenant.",
                ask.segment
            ),
        ));
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    match field("grant_type") {
        None => return Err(missing("grant_type")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(EntraError::new(
                400,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    }
    let Some(client_id) = field("client_id") else {
        return Err(missing("client_id"));
    };
    if !client_id.eq_ignore_ascii_case(&ask.app.client_id) || !tenant.consented {
        return Err(EntraError::new(
            400,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. \
                 This can happen if the application has not been installed by the administrator \
                 of the tenant or consented to by any user in the tenant. You may have sent your \
                 authentication request to the wrong tenant.",
                ask.segment
            ),
        ));
    }
    match (field("client_secret"), field("client_assertion")) {
        (Some(secret), _) => {
            if secret != ask.app.client_secret {
                return Err(EntraError::new(
                    401,
                    "invalid_client",
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the \
                         request is the client secret value, not the client secret ID, for a \
                         secret added to app '{}'.",
                        ask.app.client_id
                    ),
                ));
            }
        }
        (None, Some(assertion))
            if field("client_assertion_type") == Some(JWT_BEARER_ASSERTION_TYPE) =>
        {
            check_assertion(ask, tenant, &ask.app.client_id, assertion)?;
        }
        _ => {
            return Err(EntraError::new(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or \
                 'client_secret'.",
            ));
        }
    }
    match field("scope") {
        Some(scope) if ask.scopes.iter().any(|s| s.eq_ignore_ascii_case(scope)) => Ok(()),
        None => Err(EntraError::new(
            400,
            "invalid_scope",
            70011,
            "The provided request must include a 'scope' input parameter.",
        )),
        Some(scope) => Err(EntraError::new(
            400,
            "invalid_scope",
            70011,
            format!(
                "The provided value for the input parameter 'scope' is not valid. The scope \
                 {scope} is not valid."
            ),
        )),
    }
}

fn segment_json(segment: &str) -> Option<Value> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

fn check_assertion(
    ask: &TokenCheck<'_>,
    tenant: &DirectoryTenant<'_>,
    client_id: &str,
    assertion: &str,
) -> Result<(), EntraError> {
    let malformed = || {
        EntraError::new(
            401,
            "invalid_client",
            50027,
            "JWT token is invalid or malformed.",
        )
    };
    let parts: Vec<&str> = assertion.trim().split('.').collect();
    let [header, claims, _signature] = parts.as_slice() else {
        return Err(malformed());
    };
    let header = segment_json(header).ok_or_else(malformed)?;
    if header.get("alg").and_then(Value::as_str).is_none() {
        return Err(malformed());
    }
    let claims = segment_json(claims).ok_or_else(malformed)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    if !text("iss").eq_ignore_ascii_case(client_id) || !text("sub").eq_ignore_ascii_case(client_id)
    {
        return Err(EntraError::new(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    let aud = text("aud").trim_end_matches('/');
    let audience_ok = [ask.segment, tenant.tenant_id, tenant.domain]
        .iter()
        .any(|t| aud.eq_ignore_ascii_case(&format!("{}/{t}/oauth2/v2.0/token", ask.base)));
    if !audience_ok {
        return Err(EntraError::new(
            401,
            "invalid_client",
            50012,
            "Client assertion audience claim does not match Realm issuer.",
        ));
    }
    let now = ask
        .now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    let in_range = number("exp").is_some_and(|exp| exp + SKEW_SECS > now)
        && number("nbf").is_none_or(|nbf| nbf - SKEW_SECS <= now);
    if !in_range {
        return Err(EntraError::new(
            401,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    Ok(())
}

/// The body of a successful answer.
pub(super) fn token_body(access_token: &str, expires_in: u64) -> Vec<u8> {
    serde_json::json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    })
    .to_string()
    .into_bytes()
}
