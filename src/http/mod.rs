//! The HTTPS implementation of [`ExchangeClient`]: [`HttpExchangeClient`].
//!
//! Every attempt asks the [`TokenProvider`] for a token (long enumerations outlive tokens),
//! builds the request with [`protocol::prepare_invoke`](crate::protocol::prepare_invoke),
//! attaches the token as a sensitive `Authorization` header, and only when the target URL is
//! on the environment's allow-list ([`Environment::may_receive_token`]); that includes
//! `@odata.nextLink` URLs and redirect targets. Redirects are followed by hand (see
//! [`MAX_REDIRECTS`]); failed attempts are retried according to the [`RetryPolicy`]. Every
//! attempt (its redirects and its 401 refresh included) holds a permit of the tenant's
//! [`TenantThrottle`], which adapts the concurrency to the service's throttling answers.
//!
//! ```no_run
//! # async fn demo() -> exchange_activesync::Result<()> {
//! use std::sync::Arc;
//! use exchange_activesync::ExchangeClientExt;
//! use exchange_activesync::auth::StaticToken;
//! use exchange_activesync::http::HttpExchangeClient;
//! use exchange_activesync::protocol::Parameters;
//! use exchange_activesync::ExchangeClient;
//!
//! let client = HttpExchangeClient::builder()
//!     .tenant("2f6c0000-0000-0000-0000-000000000001")
//!     .token_provider(Arc::new(StaticToken::new("eyJ...")))
//!     .build()?;
//! let settings = client
//!     .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
//!     .await?;
//! println!("{:?}", settings.items);
//! # Ok(()) }
//! ```

#[cfg(feature = "tracing")]
macro_rules! event {
    ($level:ident, $($arg:tt)*) => { tracing::$level!($($arg)*) };
}
#[cfg(not(feature = "tracing"))]
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {{}};
}

mod body;
mod builder;
mod env_config;
mod redirect;
mod retry;

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, WWW_AUTHENTICATE};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;
use uuid::Uuid;

use body::{read_body, read_body_limited};
pub use builder::{ClientBuilder, DEFAULT_USER_AGENT, TimeoutConfig};
pub use env_config::{
    VAR_ENDPOINT, builder_from_env, builder_from_lookup, client_from_env, client_from_lookup,
};
pub use redirect::MAX_REDIRECTS;
pub use retry::RetryPolicy;

use crate::auth::{AccessToken, TokenClaims, TokenProvider, TokenRequest};
use crate::client::{ExchangeClient, ModuleFile, ModuleFileEntry};
use crate::environment::{Environment, TenantId};
use crate::error::{AuthError, Error, Result, SendState, TimeoutKind, body_snippet, origin_only};
use crate::protocol::{
    ANCHOR_HEADER, CLIENT_APPLICATION, CmdletKind, Invocation, MAX_ERROR_BODY_BYTES, NextLink,
    RawPage, RequestContext, ResponseMeta, RoutingHint, decode_body, decode_body_prefix,
    decode_error, decode_page_owned, is_gzip, module_file_url, prepare_invoke,
};
use crate::throttle::{Permit, TenantThrottle};

/// Module version announced to `EXOModuleFile` (`?Version=`).
pub const MODULE_VERSION: &str = "3.9.2";

/// Name used for the `EXOModuleFile` call in errors and logs.
const MODULE_FILE_CALL: &str = "EXOModuleFile";

/// A client of the Exchange Online admin API over HTTPS.
///
/// Cheap to clone (an `Arc` inside); clones share the HTTP connection pool, the cookie store,
/// the base URL pinned after a regional redirect and the tenant's throttling authority
/// ([`TenantThrottle`], see [`throttle`](Self::throttle)). Build one with
/// [`HttpExchangeClient::builder`].
///
/// Here against the embedded simulator (the test kit, `exchange-activesync-testkit`), reached through the endpoint
/// override [`Environment::custom`](crate::Environment::custom) (a loopback URL; `EXO_ENDPOINT`
/// does the same for [`client_from_env`]):
///
/// ```
/// use std::sync::Arc;
/// use exchange_activesync::auth::StaticToken;
/// use exchange_activesync::cmdlets::GetMobileDevice;
/// use exchange_activesync_testkit::{Simulator, SimulatorConfig, TenantBuilder};
/// use exchange_activesync::{Environment, ExchangeClientExt, HttpExchangeClient};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sim = Simulator::start(SimulatorConfig::new(TenantBuilder::new().seed(3).devices(30).build())).await?;
/// let client = HttpExchangeClient::builder()
///     .tenant(sim.tenant_id())
///     .environment(Environment::custom(sim.base_url().as_str())?)
///     .token_provider(Arc::new(StaticToken::new(sim.token())))
///     .page_size(10)
///     .build()?;
/// let devices = client.get_mobile_device(GetMobileDevice::new()).await?;
/// assert_eq!((devices.items.len(), devices.pages), (30, 3));
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpExchangeClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) tenant: TenantId,
    pub(crate) environment: Environment,
    pub(crate) token_provider: Arc<dyn TokenProvider>,
    pub(crate) timeouts: TimeoutConfig,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent: String,
    pub(crate) page_size: Option<u32>,
    pub(crate) connection_id: Uuid,
    pub(crate) pinned_base: Mutex<Option<Url>>,
    pub(crate) throttle: Arc<TenantThrottle>,
}

impl fmt::Debug for HttpExchangeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("HttpExchangeClient")
            .field("tenant", &i.tenant.as_str())
            .field("environment", &i.environment)
            .field("base_url", &self.base_url().as_str())
            .field("timeouts", &i.timeouts)
            .field("retry", &i.retry)
            .field("user_agent", &i.user_agent)
            .field("connection_id", &i.connection_id)
            .field("throttle_limit", &i.throttle.limit())
            .finish_non_exhaustive()
    }
}

/// What one logical request is about.
enum Target<'a> {
    Invoke {
        invocation: &'a Invocation,
        continuation: Option<&'a NextLink>,
    },
    ModuleFile {
        client_request_id: Uuid,
    },
}

impl Target<'_> {
    fn name(&self) -> &str {
        match self {
            Target::Invoke { invocation, .. } => invocation.cmdlet(),
            Target::ModuleFile { .. } => MODULE_FILE_CALL,
        }
    }

    fn kind(&self) -> CmdletKind {
        match self {
            Target::Invoke { invocation, .. } => invocation.kind(),
            Target::ModuleFile { .. } => CmdletKind::Read,
        }
    }

    fn client_request_id(&self) -> String {
        match self {
            Target::Invoke { invocation, .. } => invocation.request_id().to_string(),
            Target::ModuleFile { client_request_id } => client_request_id.to_string(),
        }
    }
}

/// One HTTP request, before the token is attached.
struct OutgoingRequest {
    method: Method,
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    /// The base URL `url` was built on (`None` for a continuation link or after an
    /// unpinnable redirect).
    base: Option<Url>,
}

/// A response with its (decompressed) body.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl HttpExchangeClient {
    /// A builder; `tenant` and `token_provider` are required.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The tenant (GUID or domain) as configured.
    pub fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }

    /// The tenant as validated when the client was built.
    pub fn tenant_id(&self) -> &TenantId {
        &self.inner.tenant
    }

    /// The configured environment.
    pub fn environment(&self) -> &Environment {
        &self.inner.environment
    }

    /// The base URL requests go to: the environment's, or the one pinned after a redirect.
    pub fn base_url(&self) -> Url {
        self.inner
            .pinned_base
            .lock()
            .ok()
            .and_then(|g| g.clone())
            .unwrap_or_else(|| self.inner.environment.base_url())
    }

    /// The `connection-id` sent with every request of this client.
    pub fn connection_id(&self) -> Uuid {
        self.inner.connection_id
    }

    /// The tenant's throttling authority: every attempt of every call of this client (and
    /// of its clones) takes a permit from it. Read its [`limit`](TenantThrottle::limit),
    /// [`in_flight`](TenantThrottle::in_flight),
    /// [`throttled_count`](TenantThrottle::throttled_count) and
    /// [`not_before`](TenantThrottle::not_before).
    pub fn throttle(&self) -> &Arc<TenantThrottle> {
        &self.inner.throttle
    }

    fn pin_base(&self, base: Url) {
        if let Ok(mut g) = self.inner.pinned_base.lock() {
            *g = Some(base);
        }
    }

    fn token_request(&self) -> TokenRequest {
        TokenRequest::new(self.inner.environment.scope())
    }

    /// Apply the client's default page size to an invocation that does not ask for less.
    fn with_default_page_size<'a>(&self, invocation: &'a Invocation) -> Cow<'a, Invocation> {
        match self.inner.page_size {
            // Also below an explicit size larger than the default (the inventory's small
            // first page must not exceed a smaller default).
            Some(size) if invocation.effective_page_size() > size => {
                Cow::Owned(invocation.clone().page_size(size))
            }
            _ => Cow::Borrowed(invocation),
        }
    }

    /// The routing hint used when the invocation has none (docs/protocol.md §2.4): `UPN:<user>`
    /// for delegated tokens, `APP:SystemMailbox{…}@<tenant>` for app-only tokens and for
    /// tokens whose claims cannot be read. The tenant GUID is preferred: the configured
    /// tenant when it is one, else the token's `tid`.
    fn default_routing(&self, token: &AccessToken) -> RoutingHint {
        let claims = TokenClaims::decode(token.expose());
        if let Some(c) = &claims
            && !c.is_app_only()
            && let Some(user) = c.user()
        {
            return RoutingHint::User(user.to_string());
        }
        let tenant = &self.inner.tenant;
        let tenant = if tenant.is_guid() {
            tenant.to_string()
        } else {
            // The token's `tid` goes into a header: only a GUID is used (the header check of
            // `prepare_invoke` validates it as a tenant).
            claims
                .and_then(|c| c.tid)
                .filter(|t| t.len() == 36 && Uuid::try_parse(t).is_ok())
                .unwrap_or_else(|| tenant.to_string())
        };
        RoutingHint::App { tenant }
    }

    fn prepare(&self, target: &Target<'_>, token: &AccessToken) -> Result<OutgoingRequest> {
        let base = self.base_url();
        let routing = self.default_routing(token);
        match target {
            Target::Invoke {
                invocation,
                continuation,
            } => {
                let ctx = RequestContext {
                    connection_id: self.inner.connection_id,
                    default_routing: Some(routing),
                    user_agent: self.inner.user_agent.clone(),
                };
                let p = prepare_invoke(&base, &self.inner.tenant, invocation, &ctx, *continuation)?;
                Ok(OutgoingRequest {
                    method: Method::POST,
                    url: p.url,
                    headers: p.headers,
                    body: Some(p.body),
                    base: continuation.is_none().then_some(base),
                })
            }
            Target::ModuleFile { client_request_id } => {
                let url = module_file_url(&base, &self.inner.tenant, MODULE_VERSION)?;
                let routing = routing.header_value();
                let headers = vec![
                    ("Accept", "application/json".to_string()),
                    ("Accept-Encoding", "gzip".to_string()),
                    ("Accept-Language", "en-US".to_string()),
                    ("CommandName", "*".to_string()),
                    (ANCHOR_HEADER, routing),
                    ("connection-id", self.inner.connection_id.to_string()),
                    ("client-request-id", client_request_id.to_string()),
                    ("X-ClientApplication", CLIENT_APPLICATION.to_string()),
                    ("User-Agent", self.inner.user_agent.clone()),
                ];
                Ok(OutgoingRequest {
                    method: Method::GET,
                    url,
                    headers,
                    body: None,
                    base: Some(base),
                })
            }
        }
    }

    /// Run a request with retries and the whole-call timeout; returns the body of the 2xx
    /// answer.
    async fn execute(&self, target: &Target<'_>) -> Result<Vec<u8>> {
        let started = Instant::now();
        // `checked_add`: a limit too large for the clock (`Duration::MAX`) means no deadline.
        let deadline = self
            .inner
            .timeouts
            .call
            .and_then(|t| started.checked_add(t));
        let fut = self.retry_loop(target, deadline);
        match self.inner.timeouts.call {
            Some(limit) => match tokio::time::timeout(limit, fut).await {
                Ok(result) => result,
                Err(_) => Err(Error::Timeout {
                    cmdlet: target.name().to_string(),
                    kind: TimeoutKind::Call,
                    elapsed: started.elapsed(),
                }),
            },
            None => fut.await,
        }
    }

    async fn timed_attempt(
        &self,
        target: &Target<'_>,
        token_request: &TokenRequest,
    ) -> Result<Answer> {
        let fut = self.attempt(target, token_request);
        match self.inner.timeouts.attempt {
            Some(limit) => tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
                Err(Error::Timeout {
                    cmdlet: target.name().to_string(),
                    kind: TimeoutKind::Attempt,
                    elapsed: limit,
                })
            }),
            None => fut.await,
        }
    }

    /// One attempt: token, request, redirects, body.
    async fn attempt(&self, target: &Target<'_>, token_request: &TokenRequest) -> Result<Answer> {
        let token = self.inner.token_provider.token(token_request).await?;
        let mut request = self.prepare(target, &token)?;
        let env = &self.inner.environment;
        if !env.may_receive_token(&request.url) {
            return Err(Error::Redirect(format!(
                "refusing to send the token to {}: not on the allow-list of the {env} environment \
                 (a continuation link or endpoint pointing elsewhere)",
                redirect::host_of(&request.url)
            )));
        }
        let mut hops = 0;
        loop {
            let response = self.send(target, &request, &token).await?;
            let status = response.status().as_u16();
            if redirect::is_redirect(status) {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(Error::Redirect(format!(
                        "more than {MAX_REDIRECTS} redirects, last from {}",
                        redirect::host_of(&request.url)
                    )));
                }
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok());
                let next = redirect::resolve_location(&request.url, location)?;
                if !env.may_receive_token(&next) {
                    return Err(Error::Redirect(format!(
                        "{} redirected to {}, which is not on the allow-list of the {env} environment",
                        redirect::host_of(&request.url),
                        redirect::host_of(&next)
                    )));
                }
                let pinned = request
                    .base
                    .as_ref()
                    .and_then(|base| redirect::pinned_base(base, &request.url, &next));
                if let Some(p) = &pinned {
                    self.pin_base(p.clone());
                }
                event!(
                    debug,
                    status,
                    to = %redirect::host_of(&next),
                    "following redirect"
                );
                request.base = pinned;
                request.url = next;
                continue;
            }
            let headers = response.headers().clone();
            if !(200..300).contains(&status) {
                // Only a bounded prefix of an error body is read and decoded.
                let raw = read_body_limited(target.name(), response, MAX_ERROR_BODY_BYTES).await?;
                let body = decode_body_prefix(&raw, MAX_ERROR_BODY_BYTES);
                return Ok(Answer {
                    status,
                    headers,
                    body,
                });
            }
            let raw = read_body(target.name(), response).await?;
            // Only a body that really is gzip is decompressed; any other is used as read,
            // without a copy (pages can be megabytes). A large one is decompressed off the
            // async runtime's threads.
            let body = if !is_gzip(&raw) {
                raw
            } else {
                let (raw, decoded) = if raw.len() > INLINE_GUNZIP_BYTES {
                    tokio::task::spawn_blocking(move || {
                        let decoded = decode_body(&raw);
                        (raw, decoded)
                    })
                    .await
                    .map_err(|e| Error::Decode {
                        cmdlet: target.name().to_string(),
                        message: format!("gzip decompression did not complete: {e}"),
                        body_snippet: String::new(),
                    })?
                } else {
                    let decoded = decode_body(&raw);
                    (raw, decoded)
                };
                match decoded {
                    Ok(b) => b,
                    Err(e) => {
                        return Err(Error::Decode {
                            cmdlet: target.name().to_string(),
                            message: format!("gzip body could not be decompressed: {e}"),
                            body_snippet: body_snippet(&raw[..raw.len().min(256)]),
                        });
                    }
                }
            };
            return Ok(Answer {
                status,
                headers,
                body,
            });
        }
    }

    async fn send(
        &self,
        target: &Target<'_>,
        request: &OutgoingRequest,
        token: &AccessToken,
    ) -> Result<reqwest::Response> {
        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", token.expose())).map_err(|_| {
                Error::Auth(AuthError::InvalidCredential(
                    "the token contains characters that are not allowed in a header".into(),
                ))
            })?;
        auth.set_sensitive(true);
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.as_str());
        }
        builder = builder.header(AUTHORIZATION, auth);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        builder
            .send()
            .await
            .map_err(|e| transport_error(target.name(), e))
    }
}

fn transport_error(cmdlet: &str, e: reqwest::Error) -> Error {
    // A builder error (an invalid header value, say) fails before any byte is written; a
    // connect error before the request could be written.
    let send_state = if e.is_connect() || e.is_builder() {
        SendState::NotSent
    } else {
        SendState::Ambiguous
    };
    Error::Transport {
        cmdlet: cmdlet.to_string(),
        send_state,
        source: origin_only(e),
    }
}

fn give_up(attempts: u32, error: Error) -> Error {
    if attempts >= 2 {
        Error::RetriesExhausted {
            attempts,
            last: Box::new(error),
        }
    } else {
        error
    }
}

/// Compressed bodies larger than this are decompressed on a blocking thread.
const INLINE_GUNZIP_BYTES: usize = 64 * 1024;

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn response_meta(headers: &HeaderMap, client_request_id: String) -> ResponseMeta {
    ResponseMeta {
        request_id: header_text(headers, "request-id")
            .or_else(|| header_text(headers, "x-ms-request-id")),
        exception_type: header_text(headers, "x-exceptiontype"),
        retry_after: header_text(headers, "retry-after"),
        date: header_text(headers, "date"),
        client_request_id: Some(client_request_id),
        content_type: header_text(headers, "content-type"),
    }
}

/// The `claims` parameter of a `WWW-Authenticate` challenge, decoded from base64 to its JSON
/// text when it is encoded (as Entra ID sends it), else as given.
fn claims_challenge(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Ok(text) = value.to_str() else { continue };
        let lower = text.to_ascii_lowercase();
        let Some(pos) = lower.find("claims=") else {
            continue;
        };
        let rest = &text[pos + "claims=".len()..];
        let raw = match rest.strip_prefix('"') {
            Some(q) => q.split('"').next().unwrap_or(""),
            None => rest.split([',', ' ']).next().unwrap_or(""),
        };
        if raw.is_empty() {
            continue;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|s| s.trim_start().starts_with('{'));
        return Some(decoded.unwrap_or_else(|| raw.to_string()));
    }
    None
}

/// Parse an `EXOModuleFile` answer.
fn decode_module_file(body: &[u8]) -> Result<ModuleFile> {
    let decode_err = |message: String| Error::Decode {
        cmdlet: MODULE_FILE_CALL.to_string(),
        message,
        body_snippet: body_snippet(body),
    };
    let root: Value =
        serde_json::from_slice(body).map_err(|e| decode_err(format!("invalid JSON: {e}")))?;
    let entries = match root.get("value") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(Value::Null) | None => &[],
        Some(_) => return Err(decode_err("`value` is not an array".into())),
    };
    let mut module = ModuleFile::default();
    for entry in entries {
        let Some(obj) = entry.as_object() else {
            continue;
        };
        match obj.get("exportedCmdlets") {
            Some(Value::String(list)) => module.exported_cmdlets.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            Some(Value::Array(list)) => module.exported_cmdlets.extend(
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            _ => {}
        }
        let name = obj.get("fileName").and_then(Value::as_str);
        let content = obj.get("fileContent").and_then(Value::as_str);
        if name.is_some() || content.is_some() {
            module.files.push(ModuleFileEntry::new(
                name.unwrap_or_default(),
                content.unwrap_or_default(),
            ));
        }
    }
    Ok(module)
}

#[async_trait]
impl ExchangeClient for HttpExchangeClient {
    async fn invoke_page(
        &self,
        invocation: &Invocation,
        continuation: Option<&NextLink>,
    ) -> Result<RawPage> {
        // Validated once for every attempt of the page (a typed call's invocation was
        // validated when it was prepared: nothing is checked again).
        let invocation = self.with_default_page_size(invocation);
        let invocation = if invocation.is_validated() {
            invocation
        } else {
            Cow::Owned(invocation.into_owned().validated()?)
        };
        let target = Target::Invoke {
            invocation: &invocation,
            continuation,
        };
        #[cfg(feature = "tracing")]
        let body = {
            use tracing::Instrument as _;
            let span = tracing::info_span!(
                "exo.invoke",
                cmdlet = %invocation.cmdlet(),
                kind = %invocation.kind(),
                client_request_id = %invocation.request_id(),
                continuation = continuation.is_some(),
                attempt = tracing::field::Empty,
                status = tracing::field::Empty,
            );
            self.execute(&target).instrument(span).await?
        };
        #[cfg(not(feature = "tracing"))]
        let body = self.execute(&target).await?;
        decode_page_owned(invocation.cmdlet(), body)
    }

    async fn module_file(&self) -> Result<ModuleFile> {
        let target = Target::ModuleFile {
            client_request_id: Uuid::new_v4(),
        };
        #[cfg(feature = "tracing")]
        let body = {
            use tracing::Instrument as _;
            let span = tracing::info_span!(
                "exo.module_file",
                client_request_id = %target.client_request_id(),
                attempt = tracing::field::Empty,
                status = tracing::field::Empty,
            );
            self.execute(&target).instrument(span).await?
        };
        #[cfg(not(feature = "tracing"))]
        let body = self.execute(&target).await?;
        decode_module_file(&body)
    }

    async fn token_claims(&self) -> Result<Option<TokenClaims>> {
        let token = self
            .inner
            .token_provider
            .token(&self.token_request())
            .await?;
        Ok(TokenClaims::decode(token.expose()))
    }

    fn throttle(&self) -> Option<Arc<TenantThrottle>> {
        Some(self.inner.throttle.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_challenge_is_decoded() {
        let mut h = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(r#"{"access_token":{"nbf":{"essential":true}}}"#);
        h.insert(
            WWW_AUTHENTICATE,
            HeaderValue::try_from(format!(
                r#"Bearer realm="", error="insufficient_claims", claims="{encoded}""#
            ))
            .unwrap(),
        );
        assert_eq!(
            claims_challenge(&h).as_deref(),
            Some(r#"{"access_token":{"nbf":{"essential":true}}}"#)
        );
        assert!(claims_challenge(&HeaderMap::new()).is_none());
    }

    #[test]
    fn module_file_lists_trimmed_cmdlets() {
        let m = decode_module_file(
            br#"{"value":[{"fileName":"ExchangeOnline.psm1","fileContent":"function script:Get-MobileDevice {}","exportedCmdlets":" Get-MobileDevice, ,get-MobileDeviceMailboxPolicy,"}]}"#,
        )
        .unwrap();
        assert_eq!(
            m.exported_cmdlets,
            ["Get-MobileDevice", "get-MobileDeviceMailboxPolicy"]
        );
        assert!(m.exports("Get-MobileDeviceMailboxPolicy"));
        assert_eq!(m.files[0].file_name, "ExchangeOnline.psm1");
        assert!(decode_module_file(b"<html>").is_err());
    }
}
