//! The crate's error type and its classification predicates.
//!
//! Every fallible operation returns [`Result<T>`](crate::Result). [`Error`] keeps what a caller
//! needs to decide what to do next (HTTP status, Exchange exception type, request id, a bounded
//! snippet of the raw body) and offers predicates such as [`Error::is_not_found`],
//! [`Error::is_throttled`], [`Error::is_permission_denied`] and [`Error::is_retryable`].
//!
//! No variant ever contains a bearer token, a client secret or a private key: errors are built
//! from response bodies, status codes and our own messages only, and URLs are stripped of their
//! query strings before they are stored.

use std::fmt;
use std::time::Duration;
use url::Url;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maximum length in bytes of the snippet of a raw response body kept in an error.
pub const BODY_SNIPPET_LIMIT: usize = 2048;

/// Exchange exception type names (or fragments) that the service reports for transient
/// back-end conditions; a call failing with one of them may be retried (docs/protocol.md §5.3).
pub const TRANSIENT_EXCEPTIONS: &[&str] = &[
    "DCOverloadedException",
    "SuitabilityDirectoryException",
    "ServerInMMException",
    "ADServerSettingsChangedException",
    "StorageTransientException",
];

/// The text the service answers with when the per-tenant concurrency limit is reached.
pub const TENANT_CONCURRENCY_MESSAGE: &str =
    "You have reached the maximum number of concurrent requests per tenant";

/// Whether `text` is the per-tenant concurrency sentence and nothing else (trailing
/// punctuation and the service's "Please wait and try again" allowed).
fn is_concurrency_sentence(text: &str) -> bool {
    let Some(rest) = text.trim().strip_prefix(TENANT_CONCURRENCY_MESSAGE) else {
        return false;
    };
    let rest = rest.trim_start_matches(['.', ' ', '!']);
    let rest = rest.trim_end_matches(['.', ' ', '!']);
    rest.is_empty() || rest.eq_ignore_ascii_case("Please wait and try again")
}

/// Text of the error returned when a pagination continuation expired or lost its affinity.
pub const PAGINATION_EXPIRED_MESSAGE: &str = "Expired or Invalid pagination request";

/// Whether a failed request may have been processed by the service.
///
/// Mutating cmdlets are only retried when the request provably was not processed, and a
/// destructive caller must not report an [`Ambiguous`](SendState::Ambiguous) failure as a
/// refusal (see [`Error::may_have_acted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendState {
    /// The request never left the client: it could not be built, the connection could not be
    /// established (refused, DNS failure, TLS failure), or it was rejected locally.
    NotSent,
    /// The request may or may not have been processed: a timeout or a connection lost
    /// after the request was written, any 5xx (503 and transient exceptions included), a
    /// gateway's or proxy's page, or a success status whose body is not the expected JSON
    /// (the [`Unknown`](crate::outcome::CallOutcome::Unknown) rows of [`crate::outcome`]).
    Ambiguous,
    /// The service answered with a definite outcome: its error envelope on a 4xx,
    /// throttling, a rejected token, or `@adminapi.errors` on a 200.
    Answered,
}

impl SendState {
    /// Whether the service may have carried out the request (only
    /// [`Ambiguous`](SendState::Ambiguous)).
    pub fn may_have_acted(self) -> bool {
        self == SendState::Ambiguous
    }
}

/// An error answered by the Exchange Online admin API, decoded from the status, headers and body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// `error.code` from the envelope (for example `NotFound`, `BadRequest`).
    pub code: Option<String>,
    /// The most useful human-readable message found (see docs/protocol.md §5.1 for the precedence).
    pub message: String,
    /// Exchange exception type, e.g. `Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException`.
    pub exception_type: Option<String>,
    /// Localisation string id of the exception (e.g. `Ex6F9304`), when present.
    pub string_id: Option<String>,
    /// `error.details[0].target`, when present and non-empty.
    pub target: Option<String>,
    /// Request id reported by the service (`request-id` header or the error envelope).
    pub request_id: Option<String>,
    /// Client request id this client sent (`client-request-id`), for correlation.
    pub client_request_id: Option<String>,
    /// Delay the service asked for (`Retry-After`), when present.
    pub retry_after: Option<Duration>,
    /// Cmdlet that was invoked, when known.
    pub cmdlet: Option<String>,
    /// A bounded, printable snippet of the raw body (NUL bytes and control characters escaped).
    pub body_snippet: String,
    /// Warnings the service returned alongside the error (`@adminapi.warnings`).
    pub warnings: Vec<String>,
    /// What the body was: the Exchange error envelope, other JSON, an HTML page, text or
    /// nothing. Only the envelope is the service's own word (see [`crate::outcome`]).
    pub body_kind: BodyKind,
    /// The `Content-Type` header of the answer, when present.
    pub content_type: Option<String>,
}

/// What the body of an error answer was (decided from the `Content-Type` header and the
/// bytes themselves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyKind {
    /// The Exchange error envelope: a JSON object with an `error` object
    /// (docs/protocol.md §5.1). The service itself answered.
    Envelope,
    /// JSON that is not the Exchange error envelope.
    Json,
    /// An HTML page (a gateway's, a proxy's or a load balancer's error page).
    Html,
    /// Plain text (the per-tenant concurrency sentence, say).
    Text,
    /// No body, or only NUL bytes and white space (the service's 403 for a cmdlet the
    /// caller may not run).
    Empty,
}

/// Exchange exception types (the last part of the type name) that mean "the object named in
/// the call does not exist". Only an error envelope naming one of them is read as "not found"
/// ([`ApiError::is_not_found`]).
pub const NOT_FOUND_EXCEPTIONS: &[&str] = &[
    "ManagementObjectNotFoundException",
    "ADNoSuchObjectException",
    "RecipientNotFoundException",
    "MailboxNotFoundException",
    "ObjectNotFoundException",
];

impl ApiError {
    /// A new error with only a status and a message; the other fields are empty.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: None,
            message: message.into(),
            exception_type: None,
            string_id: None,
            target: None,
            request_id: None,
            client_request_id: None,
            retry_after: None,
            cmdlet: None,
            body_snippet: String::new(),
            warnings: Vec::new(),
            body_kind: BodyKind::Envelope,
            content_type: None,
        }
    }

    /// The service's "not found" answer for `identity`: a 404 Exchange error envelope naming
    /// `ManagementObjectNotFoundException` (for test doubles; the HTTP client decodes the
    /// real one).
    pub fn not_found(identity: &str) -> Self {
        let mut e = ApiError::new(
            404,
            format!(
                "The operation couldn't be performed because object '{identity}' couldn't be found."
            ),
        );
        e.code = Some("NotFound".into());
        e.exception_type =
            Some("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException".into());
        e
    }

    fn haystacks(&self) -> impl Iterator<Item = &str> {
        [
            Some(self.message.as_str()),
            self.exception_type.as_deref(),
            Some(self.body_snippet.as_str()),
        ]
        .into_iter()
        .flatten()
    }

    fn mentions(&self, needle: &str) -> bool {
        self.haystacks().any(|h| h.contains(needle))
    }

    /// The object named in the call does not exist: the service said so in its error
    /// envelope, with a not-found exception type ([`NOT_FOUND_EXCEPTIONS`], e.g.
    /// `ManagementObjectNotFoundException`), whatever the status (404, sometimes 400).
    ///
    /// Any other 404 (a proxy's or gateway's page, an envelope without that type) is not
    /// "not found": it proves nothing about the object, and [`crate::outcome::classify`]
    /// decides what it means for the call.
    pub fn is_not_found(&self) -> bool {
        if self.body_kind != BodyKind::Envelope {
            return false;
        }
        self.exception_type.as_deref().is_some_and(|t| {
            let last = t.rsplit(['.', '+']).next().unwrap_or(t).trim();
            NOT_FOUND_EXCEPTIONS
                .iter()
                .any(|n| last.eq_ignore_ascii_case(n))
        })
    }

    /// The object to create already exists.
    pub fn is_already_exists(&self) -> bool {
        self.mentions("AlreadyExistsException") || self.mentions("already exists")
    }

    /// The service throttled the call (429, or the per-tenant concurrency answer, see
    /// [`is_concurrency_limit`](Self::is_concurrency_limit)).
    pub fn is_throttled(&self) -> bool {
        self.status == 429 || self.is_concurrency_limit()
    }

    /// The per-tenant concurrency answer ("You have reached the maximum number of concurrent
    /// requests per tenant"): a 429 mentioning it, or any answer whose whole message is that
    /// sentence. The sentence quoted somewhere inside a larger 5xx body does not count: such
    /// an answer does not prove that the request was turned away.
    pub fn is_concurrency_limit(&self) -> bool {
        (self.status == 429 && self.mentions(TENANT_CONCURRENCY_MESSAGE))
            || is_concurrency_sentence(&self.message)
            || is_concurrency_sentence(&self.body_snippet)
    }

    /// A 401 whose text says the account may not run the cmdlet (an RBAC refusal, not a
    /// rejected token).
    pub fn is_rbac_refusal(&self) -> bool {
        self.status == 401 && self.mentions("is not allowed to call")
    }

    /// The account may not run this cmdlet or parameter (403, 401 "not allowed to call",
    /// `CmdletAccessDeniedException`).
    pub fn is_permission_denied(&self) -> bool {
        self.status == 403
            || self.mentions("CmdletAccessDeniedException")
            || self.mentions("is not allowed to call")
            || self.mentions("write scope")
    }

    /// The token was rejected (401 without an RBAC message).
    pub fn is_unauthorized(&self) -> bool {
        self.status == 401 && !self.is_rbac_refusal()
    }

    /// A pagination continuation expired or lost its server affinity.
    pub fn is_pagination_expired(&self) -> bool {
        self.mentions(PAGINATION_EXPIRED_MESSAGE)
    }

    /// A parameter was rejected (unknown parameter, bad enum value, failed validation).
    pub fn is_invalid_parameter(&self) -> bool {
        self.status == 400
            && (self.mentions("ParameterTransformationException")
                || self.mentions("AmbiguousParameterSetException")
                || self.mentions("ParameterBindingException")
                || self.mentions("ValidationException")
                || self.mentions("Invalid cmdlet parameters"))
    }

    /// A transient Exchange back-end exception (docs/protocol.md §5.3).
    pub fn is_transient_exception(&self) -> bool {
        TRANSIENT_EXCEPTIONS.iter().any(|t| self.mentions(t))
    }

    /// Whether retrying the same request later can succeed.
    pub fn is_retryable(&self) -> bool {
        self.is_throttled()
            || matches!(self.status, 408 | 503 | 504)
            || self.is_transient_exception()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(cmdlet) = &self.cmdlet {
            write!(f, " from {cmdlet}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(t) = &self.exception_type {
            write!(f, " ({t})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request-id {id}]")?;
        }
        Ok(())
    }
}

/// Non-terminating errors the service returned on an otherwise successful (HTTP 200) response.
///
/// The real module marks such a run as failed; so does this crate. The rows that came with the
/// page are kept so that nothing is lost.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CmdletErrors {
    /// Cmdlet that was invoked.
    pub cmdlet: Option<String>,
    /// The `@adminapi.errors` entries, rendered as text.
    pub errors: Vec<String>,
    /// Warnings returned on the same response.
    pub warnings: Vec<String>,
    /// The result rows that came with the errors, as raw JSON objects.
    pub rows: Vec<serde_json::Value>,
}

impl fmt::Display for CmdletErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Show a few errors only: a page can carry any number of them.
        const SHOWN: usize = 5;
        write!(
            f,
            "{} reported {} error(s) on a successful response: {}",
            self.cmdlet.as_deref().unwrap_or("cmdlet"),
            self.errors.len(),
            self.errors
                .iter()
                .take(SHOWN)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        )?;
        if self.errors.len() > SHOWN {
            write!(f, "; … and {} more", self.errors.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// A parameter or request that was rejected locally, before anything was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidInput {
    /// Cmdlet concerned, when known.
    pub cmdlet: Option<String>,
    /// Parameter concerned, when known.
    pub parameter: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.cmdlet, &self.parameter) {
            (Some(c), Some(p)) => write!(f, "{c} -{p}: {}", self.message),
            (None, Some(p)) => write!(f, "-{p}: {}", self.message),
            (Some(c), None) => write!(f, "{c}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Why a token could not be obtained. Never contains the secret or the token itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The identity platform answered with an OAuth error.
    #[error("token request rejected ({status}): {error}: {description}")]
    Rejected {
        /// HTTP status of the token endpoint's answer.
        status: u16,
        /// OAuth `error` code (for example `invalid_client`).
        error: String,
        /// OAuth `error_description`, without secrets.
        description: String,
    },
    /// The token endpoint could not be reached.
    #[error("token endpoint unreachable: {}", transport_cause(.0))]
    Transport(#[source] reqwest::Error),
    /// The token endpoint's answer could not be understood.
    #[error("token response could not be decoded: {0}")]
    Decode(String),
    /// The credential is unusable (bad certificate, missing key, bad configuration).
    #[error("invalid credential: {0}")]
    InvalidCredential(String),
    /// The tenant is neither a GUID nor a valid DNS name.
    #[error("{0}")]
    InvalidTenant(#[from] TenantIdError),
    /// The private key does not belong to the certificate (their public keys differ).
    #[error(
        "the private key does not match the certificate (thumbprint {thumbprint}): \
         its public key differs from the certificate's"
    )]
    CertificateKeyMismatch {
        /// SHA-1 thumbprint of the certificate, upper-case hex.
        thumbprint: String,
    },
    /// The token endpoint answered with a body larger than the limit (in bytes).
    #[error("token response larger than {limit} bytes")]
    ResponseTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Any other failure of a custom token provider.
    #[error("token provider failed: {0}")]
    Other(String),
}

impl AuthError {
    /// The Entra ID error code of a [`Rejected`](AuthError::Rejected) answer: the number of
    /// the `AADSTS<code>:` its description starts with (for example `7000215` for a wrong
    /// client secret, `700016` for an application not found in the directory, `90002` for an
    /// unknown tenant).
    pub fn aadsts_code(&self) -> Option<u32> {
        let AuthError::Rejected { description, .. } = self else {
            return None;
        };
        let digits: String = description
            .trim_start()
            .strip_prefix("AADSTS")?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }
}

/// The error type of this crate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error status (or a non-JSON body where JSON was expected).
    Api(Box<ApiError>),
    /// The service answered 200 but reported non-terminating errors in `@adminapi.errors`.
    Cmdlet(Box<CmdletErrors>),
    /// The request could not be completed at the transport level.
    Transport {
        /// Cmdlet being invoked.
        cmdlet: String,
        /// Whether the request may have been processed.
        send_state: SendState,
        /// The underlying transport error (its URL is stripped).
        source: reqwest::Error,
    },
    /// A time limit was exceeded.
    Timeout {
        /// Cmdlet being invoked.
        cmdlet: String,
        /// Which limit was hit.
        kind: TimeoutKind,
        /// How long the call had been running.
        elapsed: Duration,
    },
    /// A token could not be obtained.
    Auth(AuthError),
    /// A successful response could not be decoded.
    Decode {
        /// Cmdlet being invoked.
        cmdlet: String,
        /// What failed to decode.
        message: String,
        /// A bounded, printable snippet of the body.
        body_snippet: String,
    },
    /// Input rejected locally; nothing was sent.
    InvalidInput(Box<InvalidInput>),
    /// A listing was stopped because the service's pages made no progress: a next link it
    /// had returned before, or several pages in a row that added no new row (see
    /// [`crate::paging`]). The message names the pages.
    Paging {
        /// Cmdlet being listed.
        cmdlet: String,
        /// What was seen, naming the pages.
        message: String,
    },
    /// A redirect was refused (target outside the environment's allow-list, or too many hops).
    Redirect(String),
    /// The client is misconfigured (missing tenant or token provider, bad variable, ...).
    Config(String),
    /// An endpoint the bearer token must not be sent to (plain http to a non-loopback host,
    /// a host outside the cloud without an explicit opt-in, ...).
    Endpoint(EndpointError),
    /// The tenant is neither a GUID nor a valid DNS name.
    InvalidTenant(TenantIdError),
    /// The retry policy gave up; the last error is kept.
    RetriesExhausted {
        /// Number of attempts made.
        attempts: u32,
        /// The error of the last attempt.
        last: Box<Error>,
    },
    /// The service asked for a longer pause (`Retry-After`) than the retry policy allows, so
    /// the call failed at once instead of sleeping. The service's answer is kept in `last`:
    /// [`is_throttled`](Error::is_throttled), [`status`](Error::status) and
    /// [`retry_after`](Error::retry_after) (the requested pause) look through to it, while
    /// [`is_retryable`](Error::is_retryable) is `false` (retrying before `requested` has
    /// passed only draws more throttling).
    RetryAfterTooLong {
        /// The pause the service asked for.
        requested: Duration,
        /// The largest pause the policy allows.
        max: Duration,
        /// The throttled answer.
        last: Box<Error>,
    },
    /// The client implementation does not support this operation (for example a hand-written
    /// test double that did not implement a method).
    Unsupported(String),
    /// A remote wipe that failed or whose outcome is unknown (what a
    /// `connector::WipeError` becomes with `?`). The failure is kept in `failure`:
    /// [`status`](Error::status), [`api`](Error::api) and the other accessors look through to
    /// it. With `outcome_unknown`, [`send_state`](Error::send_state) is
    /// [`SendState::Ambiguous`] and [`may_have_acted`](Error::may_have_acted) is `true`: check
    /// the device's statistics before sending the wipe again.
    Wipe {
        /// The device.
        identity: String,
        /// The service may have queued the wipe.
        outcome_unknown: bool,
        /// The failure.
        failure: Box<Error>,
    },
}

/// How [`Error`] and its wrappers print: a wrapper that shows its inner error's text in its
/// own message (`RetriesExhausted`, `Auth`) reports the inner error's *source* as its source,
/// so that printing the chain (`e`, `e.source()`, …) never shows the same line twice.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => e.fmt(f),
            Error::Cmdlet(e) => e.fmt(f),
            Error::Transport {
                cmdlet,
                send_state,
                source,
            } => {
                let state = match send_state {
                    SendState::NotSent => "not sent",
                    SendState::Ambiguous => "the service may have received it",
                    SendState::Answered => "answered",
                };
                write!(f, "{} calling {cmdlet} ({state})", transport_cause(source))
            }
            Error::Timeout {
                cmdlet,
                kind,
                elapsed,
            } => write!(f, "timed out after {elapsed:?} calling {cmdlet} ({kind})"),
            Error::Auth(e) => write!(f, "authentication failed: {e}"),
            Error::Decode {
                cmdlet,
                message,
                body_snippet,
            } => write!(
                f,
                "could not decode the response of {cmdlet}: {message}; body starts: {body_snippet}"
            ),
            Error::InvalidInput(e) => write!(f, "invalid input: {e}"),
            Error::Paging { cmdlet, message } => {
                write!(f, "listing {cmdlet} stopped: {message}")
            }
            Error::Redirect(m) => write!(f, "redirect refused: {m}"),
            Error::Config(m) => write!(f, "configuration error: {m}"),
            Error::Endpoint(e) => write!(f, "configuration error: {e}"),
            Error::InvalidTenant(e) => write!(f, "configuration error: {e}"),
            Error::RetriesExhausted { attempts, last } => {
                write!(f, "gave up after {attempts} attempt(s): {last}")
            }
            Error::RetryAfterTooLong {
                requested,
                max,
                last,
            } => write!(
                f,
                "the service asked to wait {}s before retrying (Retry-After), more than the allowed \
                 maximum of {}s; not retried: {last}",
                requested.as_secs_f64(),
                max.as_secs_f64()
            ),
            Error::Unsupported(m) => write!(f, "operation not supported by this client: {m}"),
            Error::Wipe {
                identity,
                outcome_unknown: true,
                failure,
            } => write!(
                f,
                "the wipe of {identity} may or may not have been queued ({failure}); check the \
                 device statistics (DeviceWipeRequestTime / AccountOnlyDeviceWipeRequestTime) \
                 before retrying"
            ),
            Error::Wipe {
                identity, failure, ..
            } => write!(f, "the wipe of {identity} failed: {failure}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => Some(source),
            // Their text is part of this error's message: continue below it.
            Error::Auth(e) => e.source(),
            Error::RetriesExhausted { last, .. } | Error::RetryAfterTooLong { last, .. } => {
                last.source()
            }
            Error::Wipe { failure, .. } => failure.source(),
            _ => None,
        }
    }
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        Error::Endpoint(e)
    }
}

impl From<TenantIdError> for Error {
    fn from(e: TenantIdError) -> Self {
        Error::InvalidTenant(e)
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

/// `e` with its URL cut down to the origin (scheme, host, port): enough to say which server
/// failed, without the path or query (continuation tokens) or credentials.
pub(crate) fn origin_only(e: reqwest::Error) -> reqwest::Error {
    let origin = e.url().and_then(|u| {
        let mut o = u.clone();
        o.set_path("/");
        o.set_query(None);
        o.set_fragment(None);
        o.set_username("").ok()?;
        o.set_password(None).ok()?;
        Some(o)
    });
    match origin {
        Some(o) => e.with_url(o),
        None => e.without_url(),
    }
}

/// A one-line description of a transport failure that names its cause ("connection refused
/// by 127.0.0.1:9", "could not resolve example.invalid", "TLS handshake with … failed") rather
/// than reqwest's generic "error sending request". It never contains a URL path or query.
pub(crate) fn transport_cause(e: &reqwest::Error) -> String {
    let addr = e.url().and_then(|u| {
        let host = u.host_str()?;
        Some(match u.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        })
    });
    let host = e
        .url()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "the server".to_string());
    let addr = addr.unwrap_or_else(|| "the server".to_string());
    let mut io_kind = None;
    let mut texts = Vec::new();
    let mut innermost = None;
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = next {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        let text = cause.to_string();
        texts.push(text.to_ascii_lowercase());
        innermost = Some(text);
        next = cause.source();
    }
    let mentions = |needles: &[&str]| texts.iter().any(|t| needles.iter().any(|n| t.contains(n)));
    let detail = innermost.unwrap_or_default();
    if e.is_builder() {
        return "the request could not be built (a header value or the URL is not valid)".into();
    }
    if e.is_connect() {
        return if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
            format!("connection refused by {addr}")
        } else if mentions(&["dns error", "failed to lookup", "name or service not known"]) {
            format!("could not resolve {host}")
        } else if mentions(&["tls", "certificate", "handshake"]) {
            format!("TLS handshake with {addr} failed: {detail}")
        } else if io_kind == Some(std::io::ErrorKind::TimedOut) || e.is_timeout() {
            format!("connecting to {addr} timed out")
        } else {
            format!("could not connect to {addr}: {detail}")
        };
    }
    if e.is_timeout() {
        return format!("no answer from {addr} in time");
    }
    if detail.is_empty() {
        format!("the connection to {addr} failed")
    } else {
        format!("the connection to {addr} failed: {detail}")
    }
}

/// Which time limit was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Establishing the connection.
    Connect,
    /// One HTTP attempt.
    Attempt,
    /// The whole call, across retries.
    Call,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect timeout",
            TimeoutKind::Attempt => "per-attempt timeout",
            TimeoutKind::Call => "whole-call timeout",
        })
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Error::InvalidInput(Box::new(e))
    }
}

impl Error {
    /// Shorthand for an [`Error::InvalidInput`] naming a parameter.
    pub fn invalid_parameter(
        cmdlet: impl Into<Option<String>>,
        parameter: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::InvalidInput(Box::new(InvalidInput {
            cmdlet: cmdlet.into(),
            parameter: Some(parameter.into()),
            message: message.into(),
        }))
    }

    /// Shorthand for an [`Error::InvalidInput`] without a parameter name.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput(Box::new(InvalidInput {
            cmdlet: None,
            parameter: None,
            message: message.into(),
        }))
    }

    /// The innermost error (unwraps [`Error::RetriesExhausted`],
    /// [`Error::RetryAfterTooLong`] and [`Error::Wipe`]).
    pub fn root(&self) -> &Error {
        match self {
            Error::RetriesExhausted { last, .. } | Error::RetryAfterTooLong { last, .. } => {
                last.root()
            }
            Error::Wipe { failure, .. } => failure.root(),
            other => other,
        }
    }

    /// Whether the call failed at once because the service asked for a longer pause than
    /// allowed ([`Error::RetryAfterTooLong`], possibly inside [`Error::RetriesExhausted`]).
    pub fn is_retry_after_too_long(&self) -> bool {
        match self {
            Error::RetryAfterTooLong { .. } => true,
            Error::RetriesExhausted { last, .. } => last.is_retry_after_too_long(),
            _ => false,
        }
    }

    /// The decoded service error, if this is one (looking through [`Error::RetriesExhausted`]
    /// and [`Error::RetryAfterTooLong`]).
    pub fn api(&self) -> Option<&ApiError> {
        match self.root() {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// HTTP status of the service's answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// The object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.api().is_some_and(ApiError::is_not_found)
    }

    /// The object to create already exists.
    pub fn is_already_exists(&self) -> bool {
        self.api().is_some_and(ApiError::is_already_exists)
    }

    /// The service throttled the call.
    pub fn is_throttled(&self) -> bool {
        self.api().is_some_and(ApiError::is_throttled)
    }

    /// The account may not run this cmdlet or parameter.
    pub fn is_permission_denied(&self) -> bool {
        self.api().is_some_and(ApiError::is_permission_denied)
    }

    /// A pagination continuation expired.
    pub fn is_pagination_expired(&self) -> bool {
        self.api().is_some_and(ApiError::is_pagination_expired)
    }

    /// The input was rejected locally before anything was sent.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self.root(), Error::InvalidInput(_))
    }

    /// A wipe whose outcome is unknown (possibly inside a retry wrapper).
    pub(crate) fn is_outcome_unknown_wipe(&self) -> bool {
        match self {
            Error::Wipe {
                outcome_unknown, ..
            } => *outcome_unknown,
            Error::RetriesExhausted { last, .. } | Error::RetryAfterTooLong { last, .. } => {
                last.is_outcome_unknown_wipe()
            }
            _ => false,
        }
    }

    /// The delay the service asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|e| e.retry_after)
    }
}

/// Render bytes as a bounded, printable snippet: valid UTF-8 is kept, NUL and other control
/// characters are escaped, invalid bytes are replaced, and at most [`BODY_SNIPPET_LIMIT`]
/// bytes of text are kept, escapes included (with a note of how many bytes there were).
pub fn body_snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    for ch in text.chars() {
        if out.len() >= BODY_SNIPPET_LIMIT {
            out.push_str(&format!("… ({} bytes in all)", body.len()));
            return out;
        }
        match ch {
            '\n' | '\t' => out.push(ch),
            '\r' => {}
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_escapes_nul_and_bounds_length() {
        let s = body_snippet(&[0, 0, 0]);
        assert_eq!(s, "\\u{0}\\u{0}\\u{0}");
        let big = vec![b'a'; 10_000];
        let s = body_snippet(&big);
        assert!(s.starts_with("aaaa"));
        assert!(s.ends_with("(10000 bytes in all)"));
        assert!(s.chars().count() < BODY_SNIPPET_LIMIT + 40);
    }

    #[test]
    fn predicates_classify() {
        let mut e = ApiError::new(400, "Error executing cmdlet");
        e.exception_type =
            Some("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException".into());
        assert!(e.is_not_found());
        assert!(!e.is_retryable());
        let t = ApiError::new(429, "throttled");
        assert!(t.is_throttled() && t.is_retryable() && t.provably_not_processed());
        let c = ApiError::new(
            500,
            "You have reached the maximum number of concurrent requests per tenant. Please wait and try again",
        );
        assert!(c.is_throttled() && c.is_retryable());
        let d = ApiError::new(500, "x DCOverloadedException y");
        assert!(d.is_retryable() && !d.provably_not_processed());
        assert!(ApiError::new(403, "").is_permission_denied());
        let err: Error = ApiError::not_found("x").into();
        let wrapped = Error::RetriesExhausted {
            attempts: 3,
            last: Box::new(err),
        };
        assert!(wrapped.is_not_found());
        assert_eq!(wrapped.status(), Some(404));
    }
}

/// Why an endpoint or a login host was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointRefusal {
    /// The URL has no host.
    NoHost,
    /// A scheme other than `https` and `http`.
    UnsupportedScheme(String),
    /// Plain `http` to a host that is not a literal loopback address.
    PlainHttp,
    /// An `https` host outside the cloud that was not explicitly allowed.
    NotAllowed {
        /// The cloud whose hosts are accepted without an opt-in.
        cloud: String,
    },
}

/// An endpoint (or login host) that credentials must not be sent to.
///
/// `Display` names the setting and the host (never a path, query string or user info), and
/// for [`EndpointRefusal::NotAllowed`] how to opt in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
#[non_exhaustive]
pub struct EndpointError {
    /// What was checked, e.g. `endpoint`, `EXO_ENDPOINT` or `EXO_AUTHORITY`.
    pub setting: &'static str,
    /// `host[:port]` of the refused URL.
    pub host: String,
    /// Why it was refused.
    pub reason: EndpointRefusal,
}

impl EndpointError {
    pub(crate) fn new(setting: &'static str, url: &Url, reason: EndpointRefusal) -> Self {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => "(no host)".to_string(),
        };
        EndpointError {
            setting,
            host,
            reason,
        }
    }

    fn describe(&self) -> String {
        let EndpointError { setting, host, .. } = self;
        match &self.reason {
            EndpointRefusal::NoHost => format!("{setting}: the URL has no host"),
            EndpointRefusal::UnsupportedScheme(s) => {
                format!("{setting}: unsupported URL scheme {s:?} for {host} (https expected)")
            }
            EndpointRefusal::PlainHttp => format!(
                "{setting}: plain http is accepted only for loopback addresses \
                 (127.0.0.0/8, [::1]), not {host}"
            ),
            EndpointRefusal::NotAllowed { cloud } => format!(
                "{setting}: {host} is neither a host of the {cloud} cloud nor a loopback \
                 address; credentials would be sent there, so it needs an explicit opt-in \
                 (ClientBuilder::allow_custom_endpoint(true) or EXO_ALLOW_CUSTOM_ENDPOINT=1)"
            ),
        }
    }
}

/// A tenant that is neither a GUID nor a valid DNS name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid tenant \"{input}\": {reason}")]
#[non_exhaustive]
pub struct TenantIdError {
    /// The rejected input, escaped (control characters and quotes as `\n`, `\u{7f}`, ...)
    /// and truncated to 100 characters.
    pub input: String,
    /// Why it was rejected.
    pub reason: String,
}

impl TenantIdError {
    pub(crate) fn new(input: &str, reason: &str) -> Self {
        TenantIdError {
            input: input
                .chars()
                .take(100)
                .flat_map(char::escape_default)
                .collect(),
            reason: reason.to_string(),
        }
    }
}
