//! The one outcome table: what a failed call proves about what the service did.
//!
//! Every part of the crate that must say whether a call acted (the retry loop, the remote
//! wipe, the stale cleanup, the device-access change, the fleet reports) reads
//! [`classify`]; nothing else classifies. A failure is one of three [`CallOutcome`]s:
//!
//! * [`NotProcessed`](CallOutcome::NotProcessed): provably not acted on (never sent, the
//!   connection was never established, throttled at the front door, token rejected). Safe
//!   to send again, also for a write or a destructive cmdlet.
//! * [`Answered`](CallOutcome::Answered): the service's own definite answer, in its error
//!   envelope (a refusal, "not found", a bad parameter, `@adminapi.errors` on a 200). Nothing
//!   to guess: the call did what the answer says.
//! * [`Unknown`](CallOutcome::Unknown): the service may have acted. A 503 or a 5xx naming a
//!   transient exception (the service can run a cmdlet and then fail to answer), a gateway's
//!   or proxy's page (HTML, empty, plain text) on any status, a success status whose body is
//!   not the expected JSON, a connection reset or a timeout after the request was sent. A
//!   write with this outcome is never sent again by the crate, and every report says
//!   "unknown", never "refused" or "gone".
//!
//! | How far the call got | The answer | Outcome | Transient (a read is retried) |
//! |---|---|---|---|
//! | not sent: invalid input, configuration, endpoint refused, no token | none | `NotProcessed` | no |
//! | connection not established (refused, DNS, TLS, connect timeout) | none | `NotProcessed` | yes |
//! | sent, no complete answer (reset, attempt timeout) | none | `Unknown` | yes |
//! | whole-call timeout | none | `Unknown` | no |
//! | answered | 429, any body | `NotProcessed` | yes |
//! | answered | the per-tenant concurrency sentence as the whole message, any status | `NotProcessed` | yes |
//! | answered | 401 without an RBAC message (token rejected) | `NotProcessed` | once, after a token refresh |
//! | answered | 3xx refused by the redirect rules (not followed) | `NotProcessed` | no |
//! | answered | 5xx (500, 502, 503, 504, …), with or without a transient exception | `Unknown` | 503, 504 and transient exceptions |
//! | answered | 2xx whose body is not the JSON envelope (HTML, empty, cut) | `Unknown` | no |
//! | answered | 2xx with `@adminapi.errors` | `Answered` | no |
//! | answered | 4xx with the Exchange error envelope (400, 401 "not allowed to call", 403, 404 not-found, …) | `Answered` | 408 only |
//! | answered | 403 with an empty or NUL body (cmdlet not granted) | `Answered` | no |
//! | answered | any other 4xx body (a proxy's HTML 404 page, plain text, empty) | `Unknown` | 408 only |
//!
//! The retry loop sends a call again only when its failure is transient **and** either
//! the outcome is `NotProcessed` or the cmdlet only reads ([`should_retry`]).

use crate::catalog::CmdletKind;
use crate::error::{ApiError, BodyKind, Error, TimeoutKind};

/// What a failed call proves about what the service did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallOutcome {
    /// Provably not acted on: safe to send again.
    NotProcessed,
    /// The service's definite answer (its refusal, its "not found", its error list).
    Answered,
    /// The service may have acted: check before sending a write again.
    Unknown,
}

impl CallOutcome {
    /// Whether the service may have carried out the call ([`Unknown`](Self::Unknown)).
    pub fn may_have_acted(self) -> bool {
        self == CallOutcome::Unknown
    }

    /// A short lower-case label (`not_processed`, `answered`, `unknown`).
    pub fn label(self) -> &'static str {
        match self {
            CallOutcome::NotProcessed => "not_processed",
            CallOutcome::Answered => "answered",
            CallOutcome::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The outcome of a call that failed with `error` (see the module's table).
///
/// ```
/// use exchange_activesync::ApiError;
/// use exchange_activesync::outcome::{CallOutcome, classify};
///
/// // The service answered 503 after the cmdlet may have run.
/// let unavailable = ApiError::new(503, "Service Unavailable").into();
/// assert_eq!(classify(&unavailable), CallOutcome::Unknown);
/// // Throttled at the front door: nothing ran.
/// let throttled = ApiError::new(429, "Too many requests").into();
/// assert_eq!(classify(&throttled), CallOutcome::NotProcessed);
/// // The service's own "not found".
/// let gone = ApiError::not_found("alice@contoso.com\\ExchangeActiveSyncDevices\\x").into();
/// assert_eq!(classify(&gone), CallOutcome::Answered);
/// ```
pub fn classify(error: &Error) -> CallOutcome {
    match error {
        Error::Wipe {
            outcome_unknown: true,
            ..
        } => return CallOutcome::Unknown,
        Error::RetriesExhausted { last, .. } | Error::RetryAfterTooLong { last, .. } => {
            return classify(last);
        }
        Error::Wipe { failure, .. } => return classify(failure),
        _ => {}
    }
    match error {
        Error::Api(e) => classify_answer(e),
        Error::Cmdlet(_) | Error::Paging { .. } => CallOutcome::Answered,
        Error::Transport { send_state, .. } => match send_state {
            crate::error::SendState::NotSent => CallOutcome::NotProcessed,
            _ => CallOutcome::Unknown,
        },
        Error::Timeout { kind, .. } => match kind {
            TimeoutKind::Connect => CallOutcome::NotProcessed,
            _ => CallOutcome::Unknown,
        },
        // A success status whose body could not be understood: the cmdlet may have run.
        Error::Decode { .. } => CallOutcome::Unknown,
        // Rejected before sending (input, configuration, endpoint, token, redirect rules).
        _ => CallOutcome::NotProcessed,
    }
}

/// The outcome of an error answer from the service (the answered rows of the table).
pub fn classify_answer(e: &ApiError) -> CallOutcome {
    // Turned away at the front door, whatever the status or body.
    if e.is_throttled() {
        return CallOutcome::NotProcessed;
    }
    if (200..300).contains(&e.status) || e.status >= 500 {
        return CallOutcome::Unknown;
    }
    if e.status == 401 && !e.is_rbac_refusal() {
        return CallOutcome::NotProcessed;
    }
    match e.body_kind {
        BodyKind::Envelope => CallOutcome::Answered,
        BodyKind::Empty if e.status == 403 => CallOutcome::Answered,
        _ => CallOutcome::Unknown,
    }
}

/// Whether the same request may succeed if sent again later (throttling, 408, 503, 504, a
/// transient Exchange exception, a connection or attempt failure). Whether it *may* be sent
/// again is [`should_retry`]'s business.
pub fn is_transient(error: &Error) -> bool {
    match error {
        Error::RetryAfterTooLong { .. } => false,
        Error::Wipe { .. } => false,
        Error::RetriesExhausted { last, .. } => is_transient(last),
        Error::Api(e) => e.is_retryable(),
        // A request that could not be built fails the same way every time.
        Error::Transport { source, .. } => !source.is_builder(),
        Error::Timeout { kind, .. } => *kind != TimeoutKind::Call,
        _ => false,
    }
}

/// Whether a call of `kind` that failed with `error` is sent again: the failure is
/// transient, and either nothing was processed or the cmdlet only reads. (A 401 is retried
/// once after a token refresh by the client, before this is asked.)
pub fn should_retry(kind: CmdletKind, error: &Error) -> bool {
    is_transient(error)
        && (kind == CmdletKind::Read || classify(error) == CallOutcome::NotProcessed)
}
