//! [`ApiError`]: an error answered by the service, decoded, with its classification
//! predicates (the outcome predicates live beside the outcome table, [`crate::outcome`]).

use std::fmt;
use std::time::Duration;

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
