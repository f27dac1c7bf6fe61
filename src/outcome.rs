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
use crate::error::{ApiError, BodyKind, Error, SendState, TimeoutKind};

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

/// The predicates of [`ApiError`] that read the table.
impl ApiError {
    /// Whether this answer leaves the outcome of the request unknown (the service may have
    /// acted): [`classify_answer`] says
    /// [`Unknown`](CallOutcome::Unknown).
    pub fn outcome_unknown(&self) -> bool {
        classify_answer(self) == CallOutcome::Unknown
    }

    /// Whether the service certainly did not execute the cmdlet (throttled at the front door,
    /// token rejected): [`classify_answer`] says
    /// [`NotProcessed`](CallOutcome::NotProcessed). Only such failures are
    /// retried for mutating cmdlets.
    pub fn provably_not_processed(&self) -> bool {
        classify_answer(self) == CallOutcome::NotProcessed
    }
}

/// The predicates of [`Error`] that read the table.
impl Error {
    /// Whether the same request may succeed if retried later (for a read-only cmdlet; see
    /// [`should_retry`] for what may be sent again).
    pub fn is_retryable(&self) -> bool {
        if self.is_retry_after_too_long() || self.is_outcome_unknown_wipe() {
            return false;
        }
        is_transient(self.root())
    }

    /// Whether the failed request may have been processed by the service (see
    /// [`SendState`]): [`Ambiguous`](SendState::Ambiguous) exactly when
    /// [`classify`] says [`Unknown`](CallOutcome::Unknown).
    /// Mutating calls are retried only after failures that were not processed, so the last
    /// attempt's state is the state of the whole call.
    pub fn send_state(&self) -> SendState {
        if self.outcome() == CallOutcome::Unknown {
            return SendState::Ambiguous;
        }
        match self.root() {
            Error::Transport { send_state, .. } => *send_state,
            Error::Timeout { .. } => SendState::NotSent,
            Error::Api(_) | Error::Cmdlet(_) => SendState::Answered,
            _ => SendState::NotSent,
        }
    }

    /// What this failure proves about what the service did (the crate's one outcome table,
    /// [`classify`]).
    pub fn outcome(&self) -> CallOutcome {
        classify(self)
    }

    /// Whether the service may have carried out the failed request, so that a destructive
    /// caller must report "outcome unknown" (and check before sending it again) rather than
    /// "refused". `false` means the service definitely did not act: the request was never
    /// sent, or the service refused it with a definite answer.
    pub fn may_have_acted(&self) -> bool {
        self.outcome().may_have_acted()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::protocol::{ResponseMeta, decode_error};

    /// The error the HTTP client decodes from `status`, `content_type` and `body`.
    fn answer(status: u16, content_type: Option<&str>, body: &[u8]) -> Error {
        let meta = ResponseMeta {
            content_type: content_type.map(str::to_string),
            ..ResponseMeta::default()
        };
        decode_error(status, &meta, Some("Remove-MobileDevice"), body).into()
    }

    fn envelope(exception: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"error": {
            "code": "BadRequest", "message": "Error executing cmdlet",
            "details": [{"code": "Client", "target": "", "message": format!("|{exception}|{message}")}]
        }}))
        .unwrap()
    }

    const JSON: Option<&str> = Some("application/json; charset=utf-8");
    const HTML: Option<&str> = Some("text/html");

    fn timeout(kind: TimeoutKind) -> Error {
        Error::Timeout {
            cmdlet: "Remove-MobileDevice".into(),
            kind,
            elapsed: Duration::from_secs(1),
        }
    }

    /// Every row of the module's table, for a destructive cmdlet: (case, error, outcome,
    /// sent again).
    fn rows() -> Vec<(&'static str, Error, CallOutcome, bool)> {
        use CallOutcome::*;
        let not_found = envelope(
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            "The operation couldn't be performed because object 'x' couldn't be found.",
        );
        vec![
            ("invalid input", Error::invalid_input("bad"), NotProcessed, false),
            ("configuration", Error::Config("no tenant".into()), NotProcessed, false),
            ("connect timeout", timeout(TimeoutKind::Connect), NotProcessed, true),
            ("attempt timeout", timeout(TimeoutKind::Attempt), Unknown, false),
            ("whole-call timeout", timeout(TimeoutKind::Call), Unknown, false),
            ("429 JSON", answer(429, JSON, br#"{"error":{"code":"TooManyRequests","message":"x"}}"#), NotProcessed, true),
            ("429 empty", answer(429, None, b""), NotProcessed, true),
            (
                "concurrency sentence on a 500",
                answer(500, Some("text/plain"), crate::error::TENANT_CONCURRENCY_MESSAGE.as_bytes()),
                NotProcessed,
                true,
            ),
            ("401 token rejected", answer(401, None, b""), NotProcessed, false),
            (
                "401 RBAC",
                answer(401, JSON, br#"{"error":{"code":"Unauthorized","message":"User is not allowed to call Remove-MobileDevice"}}"#),
                Answered,
                false,
            ),
            ("503 HTML", answer(503, HTML, b"<html><body>Service Unavailable</body></html>"), Unknown, false),
            ("503 empty", answer(503, None, b""), Unknown, false),
            (
                "500 transient exception",
                answer(500, JSON, &envelope("Microsoft.Exchange.Data.Storage.StorageTransientException", "busy")),
                Unknown,
                false,
            ),
            ("500 HTML", answer(500, HTML, b"<html>oops</html>"), Unknown, false),
            ("502", answer(502, HTML, b"<html>Bad Gateway</html>"), Unknown, false),
            ("504", answer(504, HTML, b"<html>Gateway Timeout</html>"), Unknown, false),
            ("200 HTML", answer(200, HTML, b"<html>Sorry</html>"), Unknown, false),
            (
                "200 undecodable",
                Error::Decode { cmdlet: "x".into(), message: "bad".into(), body_snippet: String::new() },
                Unknown,
                false,
            ),
            ("400 envelope", answer(400, JSON, &envelope("Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException", "bad value")), Answered, false),
            ("404 not-found envelope", answer(404, JSON, &not_found), Answered, false),
            ("400 not-found envelope", answer(400, JSON, &not_found), Answered, false),
            ("403 NUL body", answer(403, None, &[0u8; 16]), Answered, false),
            ("403 envelope", answer(403, JSON, &envelope("Microsoft.Exchange.Configuration.Tasks.CmdletAccessDeniedException", "denied")), Answered, false),
            ("404 proxy page", answer(404, HTML, b"<html><head><title>404 Not Found</title></head><body>nginx</body></html>"), Unknown, false),
            ("404 empty", answer(404, None, b""), Unknown, false),
            ("400 plain text", answer(400, Some("text/plain"), b"Bad Request"), Unknown, false),
            ("408 HTML", answer(408, HTML, b"<html>Request Timeout</html>"), Unknown, false),
        ]
    }

    #[test]
    fn every_row_of_the_table() {
        for (case, error, outcome, retried) in rows() {
            assert_eq!(classify(&error), outcome, "{case}: {error:?}");
            assert_eq!(
                should_retry(CmdletKind::Destructive, &error),
                retried,
                "{case}: destructive retried?"
            );
            assert_eq!(
                should_retry(CmdletKind::Write, &error),
                retried,
                "{case}: write retried?"
            );
            assert_eq!(
                error.may_have_acted(),
                outcome == CallOutcome::Unknown,
                "{case}"
            );
            // Wrapped by the retry loop, the outcome is the last attempt's.
            let wrapped = Error::RetriesExhausted {
                attempts: 2,
                last: Box::new(error),
            };
            assert_eq!(classify(&wrapped), outcome, "{case} (wrapped)");
        }
    }

    #[test]
    fn reads_are_retried_on_transient_failures_whatever_the_outcome() {
        for (case, status, ct, body) in [
            ("503", 503u16, HTML, &b"<html>x</html>"[..]),
            ("504", 504, HTML, b"<html>x</html>"),
            (
                "transient",
                500,
                JSON,
                br#"{"error":{"code":"x","message":"DCOverloadedException"}}"#,
            ),
            ("408", 408, HTML, b"<html>x</html>"),
        ] {
            let e = answer(status, ct, body);
            assert!(should_retry(CmdletKind::Read, &e), "{case}");
            assert!(!should_retry(CmdletKind::Destructive, &e), "{case}");
        }
        assert!(should_retry(
            CmdletKind::Read,
            &timeout(TimeoutKind::Attempt)
        ));
        assert!(!should_retry(
            CmdletKind::Read,
            &answer(404, HTML, b"<html>x</html>")
        ));
    }

    #[test]
    fn only_the_services_envelope_says_not_found() {
        let proxy = answer(404, HTML, b"<html><title>404 Not Found</title></html>");
        assert!(!proxy.is_not_found());
        let text = answer(404, Some("text/plain"), b"The object couldn't be found");
        assert!(!text.is_not_found());
        let other = answer(
            404,
            JSON,
            &envelope("Some.OtherException", "couldn't be found"),
        );
        assert!(
            !other.is_not_found(),
            "an envelope without the not-found type"
        );
        let real = answer(
            404,
            JSON,
            &envelope(
                "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                "The operation couldn't be performed because object 'x' couldn't be found.",
            ),
        );
        assert!(real.is_not_found());
        assert!(Error::from(ApiError::not_found("x")).is_not_found());
        assert!(!Error::from(ApiError::new(404, "gone")).is_not_found());
    }
}
