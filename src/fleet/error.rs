//! [`TenantError`]: why a tenant's work failed, classified for reports.

use std::fmt;

use crate::error::{AuthError, Error};

/// What kind of failure stopped a tenant: what a tool branches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TenantErrorKind {
    /// No directory knows the tenant (`AADSTS90002`, `AADSTS900023`): a typo or a deleted
    /// tenant, not a customer's consent problem.
    TenantNotFound,
    /// The application is not registered or not consented in the tenant (`AADSTS700016`,
    /// `AADSTS65001`, `AADSTS500011`, `unauthorized_client`).
    NotConsented,
    /// The credential was refused: a wrong or expired secret, a bad certificate or
    /// assertion (`AADSTS7000215`, `AADSTS7000222`, `AADSTS700027`, …), a token the service
    /// rejected (HTTP 401), or a token for another tenant.
    InvalidCredentials,
    /// The account may not run what was asked (HTTP 403, an RBAC refusal, missing roles).
    PermissionDenied,
    /// Throttled beyond the retry policy (`Retry-After` longer than allowed, or retries
    /// exhausted on throttling answers).
    Throttled,
    /// The service failed in a way that may pass (503, 504, a transient Exchange exception,
    /// a 5xx), after the retries.
    Transient,
    /// The service or the token endpoint could not be reached (refused, DNS, TLS).
    Unreachable,
    /// No answer in time (connect, attempt or whole-call timeout).
    Timeout,
    /// A tenants-file line that names no valid tenant, or names one twice.
    InvalidTenant,
    /// The tenant's client could not be configured (endpoint, authority, credential).
    Config,
    /// Anything else (a panic of the tenant's work included).
    Other,
}

impl TenantErrorKind {
    /// The snake_case name (`tenant_not_found`, `not_consented`, `throttled`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TenantErrorKind::TenantNotFound => "tenant_not_found",
            TenantErrorKind::NotConsented => "not_consented",
            TenantErrorKind::InvalidCredentials => "invalid_credentials",
            TenantErrorKind::PermissionDenied => "permission_denied",
            TenantErrorKind::Throttled => "throttled",
            TenantErrorKind::Transient => "transient",
            TenantErrorKind::Unreachable => "unreachable",
            TenantErrorKind::Timeout => "timeout",
            TenantErrorKind::InvalidTenant => "invalid_tenant",
            TenantErrorKind::Config => "config",
            TenantErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for TenantErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a tenant's work (or one part of it) failed: a kind to branch on, the Entra ID code,
/// the HTTP status and the `Retry-After` when known, the message's first line, and the whole
/// text (which never contains a token or a secret).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct TenantError {
    /// The kind of failure.
    pub kind: TenantErrorKind,
    /// The HTTP status of the service's (or the token endpoint's) answer, if any.
    pub status: Option<u16>,
    /// The Entra ID error code (`AADSTS<code>`), for a refused token request.
    pub aadsts: Option<u32>,
    /// The pause the service asked for, in seconds, if it asked for one.
    pub retry_after_secs: Option<f64>,
    /// The first line of the message, without Entra ID's `Trace ID` / `Correlation ID` /
    /// `Timestamp` details.
    pub summary: String,
    /// The error's whole text.
    pub message: String,
}

impl TenantError {
    /// A failure of `kind` with `message`.
    pub fn new(kind: TenantErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        TenantError {
            kind,
            status: None,
            aadsts: None,
            retry_after_secs: None,
            summary: first_line(&message),
            message,
        }
    }

    /// Classify `error`.
    pub fn from_error(error: &Error) -> Self {
        let (kind, status) = classify(error);
        let message = error.to_string();
        let aadsts = match error.root() {
            Error::Auth(a) => a.aadsts_code(),
            _ => None,
        };
        TenantError {
            kind,
            status,
            aadsts,
            retry_after_secs: error.retry_after().map(|d| d.as_secs_f64()),
            summary: first_line(&message),
            message,
        }
    }
}

/// The first line of `message`, cut before Entra ID's trace details (`Trace ID:`,
/// `Correlation ID:`, `Timestamp:`), which are kept in the whole message only.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or("");
    let cut = ["Trace ID:", "Correlation ID:", "Timestamp:"]
        .iter()
        .filter_map(|m| line.find(m))
        .min()
        .unwrap_or(line.len());
    line[..cut]
        .trim_end_matches([' ', '.', ',', ';'])
        .to_string()
        + if cut < line.len() { "." } else { "" }
}

impl From<&Error> for TenantError {
    fn from(e: &Error) -> Self {
        TenantError::from_error(e)
    }
}

impl From<Error> for TenantError {
    fn from(e: Error) -> Self {
        TenantError::from_error(&e)
    }
}

impl fmt::Display for TenantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for TenantError {}

/// Entra ID codes meaning "no directory knows this tenant".
const TENANT_NOT_FOUND: [u32; 2] = [90002, 900023];
/// Entra ID codes meaning "this app cannot get a token in this tenant".
const NOT_CONSENTED: [u32; 4] = [700016, 65001, 500011, 50020];

fn classify(error: &Error) -> (TenantErrorKind, Option<u16>) {
    if error.is_retry_after_too_long() || error.is_throttled() {
        return (TenantErrorKind::Throttled, error.status());
    }
    match error.root() {
        Error::Auth(a) => match a {
            AuthError::Rejected { status, error, .. } => {
                let code = a.aadsts_code();
                let kind = if code.is_some_and(|c| TENANT_NOT_FOUND.contains(&c)) {
                    TenantErrorKind::TenantNotFound
                } else if code.is_some_and(|c| NOT_CONSENTED.contains(&c))
                    || error == "unauthorized_client"
                {
                    TenantErrorKind::NotConsented
                } else if (500..600).contains(status) || error == "temporarily_unavailable" {
                    TenantErrorKind::Transient
                } else {
                    TenantErrorKind::InvalidCredentials
                };
                (kind, Some(*status))
            }
            AuthError::Transport(e) if e.is_timeout() => (TenantErrorKind::Timeout, None),
            AuthError::Transport(_) => (TenantErrorKind::Unreachable, None),
            AuthError::InvalidTenant(_) => (TenantErrorKind::InvalidTenant, None),
            AuthError::InvalidCredential(_) | AuthError::CertificateKeyMismatch { .. } => {
                (TenantErrorKind::InvalidCredentials, None)
            }
            _ => (TenantErrorKind::Other, None),
        },
        Error::Api(a) => {
            let kind = if a.is_unauthorized() {
                TenantErrorKind::InvalidCredentials
            } else if a.is_permission_denied() {
                TenantErrorKind::PermissionDenied
            } else if a.status >= 500 || a.is_retryable() {
                TenantErrorKind::Transient
            } else {
                TenantErrorKind::Other
            };
            (kind, Some(a.status))
        }
        Error::Timeout { .. } => (TenantErrorKind::Timeout, None),
        Error::Transport { source, .. } if source.is_timeout() => (TenantErrorKind::Timeout, None),
        Error::Transport { .. } => (TenantErrorKind::Unreachable, None),
        Error::InvalidTenant(_) => (TenantErrorKind::InvalidTenant, None),
        Error::Config(_) | Error::Endpoint(_) | Error::Redirect(_) => {
            (TenantErrorKind::Config, None)
        }
        _ => (TenantErrorKind::Other, error.status()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16, error: &str, description: &str) -> Error {
        Error::Auth(AuthError::Rejected {
            status,
            error: error.into(),
            description: description.into(),
        })
    }

    #[test]
    fn entra_codes_are_told_apart() {
        let cases = [
            (
                rejected(
                    400,
                    "invalid_request",
                    "AADSTS90002: Tenant 'x' not found. Trace ID: 1 Correlation ID: 2 Timestamp: 3",
                ),
                TenantErrorKind::TenantNotFound,
                90002,
            ),
            (
                rejected(
                    400,
                    "unauthorized_client",
                    "AADSTS700016: Application with identifier 'a' was not found in the directory 'x'.",
                ),
                TenantErrorKind::NotConsented,
                700016,
            ),
            (
                rejected(
                    401,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided.",
                ),
                TenantErrorKind::InvalidCredentials,
                7000215,
            ),
            (
                rejected(
                    401,
                    "invalid_client",
                    "AADSTS7000222: The provided client secret keys are expired.",
                ),
                TenantErrorKind::InvalidCredentials,
                7000222,
            ),
        ];
        for (error, kind, code) in cases {
            let e = TenantError::from_error(&error);
            assert_eq!(e.kind, kind, "{error}");
            assert_eq!(e.aadsts, Some(code));
            assert!(!e.summary.contains("Trace ID"), "{}", e.summary);
            assert!(!e.summary.contains('\n'));
        }
        let e = TenantError::from_error(&cases_first());
        assert_eq!(
            e.summary,
            "authentication failed: token request rejected (400): invalid_request: AADSTS90002: Tenant 'x' not found."
        );
    }

    fn cases_first() -> Error {
        rejected(
            400,
            "invalid_request",
            "AADSTS90002: Tenant 'x' not found. Trace ID: 1 Correlation ID: 2 Timestamp: 3",
        )
    }

    #[test]
    fn service_failures_are_classified() {
        let e = |a: crate::error::ApiError| TenantError::from_error(&Error::from(a)).kind;
        assert_eq!(
            e(crate::error::ApiError::new(503, "x")),
            TenantErrorKind::Transient
        );
        assert_eq!(
            e(crate::error::ApiError::new(500, "x")),
            TenantErrorKind::Transient
        );
        assert_eq!(
            e(crate::error::ApiError::new(429, "x")),
            TenantErrorKind::Throttled
        );
        assert_eq!(
            e(crate::error::ApiError::new(403, "")),
            TenantErrorKind::PermissionDenied
        );
        assert_eq!(
            e(crate::error::ApiError::new(401, "")),
            TenantErrorKind::InvalidCredentials
        );
        let mut t = crate::error::ApiError::new(429, "x");
        t.retry_after = Some(std::time::Duration::from_secs(1));
        assert_eq!(
            TenantError::from_error(&Error::from(t)).retry_after_secs,
            Some(1.0)
        );
        let timeout = Error::Timeout {
            cmdlet: "x".into(),
            kind: crate::error::TimeoutKind::Call,
            elapsed: std::time::Duration::from_secs(1),
        };
        assert_eq!(
            TenantError::from_error(&timeout).kind,
            TenantErrorKind::Timeout
        );
    }
}
