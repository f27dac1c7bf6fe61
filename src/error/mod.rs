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

mod api;
mod endpoint;

pub use api::{
    ApiError, BodyKind, NOT_FOUND_EXCEPTIONS, PAGINATION_EXPIRED_MESSAGE,
    TENANT_CONCURRENCY_MESSAGE, TRANSIENT_EXCEPTIONS,
};
pub use endpoint::{EndpointError, EndpointRefusal, TenantIdError};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maximum length in bytes of the snippet of a raw response body kept in an error.
pub const BODY_SNIPPET_LIMIT: usize = 2048;

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
