//! [`TenantError`]: why a tenant's work failed, classified for reports.

use std::fmt;

use crate::error::{AuthError, Error};

/// What kind of failure stopped a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TenantErrorKind {
    /// The application is not registered or not consented in the tenant (`AADSTS700016`,
    /// `AADSTS65001`, `AADSTS90002`, `unauthorized_client`).
    NotConsented,
    /// The token request failed otherwise (bad secret or certificate, rejected assertion).
    Auth,
    /// The service refused the token (HTTP 401).
    Unauthorized,
    /// The account may not run what was asked (HTTP 403, missing roles).
    PermissionDenied,
    /// Throttled beyond the retry policy (`Retry-After` longer than allowed, or retries
    /// exhausted on throttling answers).
    Throttled,
    /// The service or the token endpoint could not be reached, or did not answer in time.
    Unreachable,
    /// The tenant's client could not be configured (endpoint, authority, tenant id).
    Config,
    /// Any other service answer.
    Service,
    /// Anything else (a panic of the tenant's work included).
    Other,
}

impl TenantErrorKind {
    /// The snake_case name (`not_consented`, `throttled`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TenantErrorKind::NotConsented => "not_consented",
            TenantErrorKind::Auth => "auth",
            TenantErrorKind::Unauthorized => "unauthorized",
            TenantErrorKind::PermissionDenied => "permission_denied",
            TenantErrorKind::Throttled => "throttled",
            TenantErrorKind::Unreachable => "unreachable",
            TenantErrorKind::Config => "config",
            TenantErrorKind::Service => "service",
            TenantErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for TenantErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a tenant's work (or one part of it) failed: a kind, the HTTP status when the service
/// answered, and the error's text (which never contains a token or a secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct TenantError {
    /// The kind of failure.
    pub kind: TenantErrorKind,
    /// The HTTP status of the service's (or the token endpoint's) answer, if any.
    pub status: Option<u16>,
    /// The error's text.
    pub message: String,
}

impl TenantError {
    /// A failure of `kind` with `message`.
    pub fn new(kind: TenantErrorKind, message: impl Into<String>) -> Self {
        TenantError {
            kind,
            status: None,
            message: message.into(),
        }
    }

    /// Classify `error`.
    pub fn from_error(error: &Error) -> Self {
        let (kind, status) = classify(error);
        TenantError {
            kind,
            status,
            message: error.to_string(),
        }
    }
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

/// Codes of the identity platform meaning "this app cannot get a token in this tenant".
const NOT_CONSENTED: [&str; 4] = ["AADSTS700016", "AADSTS65001", "AADSTS90002", "AADSTS500011"];

fn classify(error: &Error) -> (TenantErrorKind, Option<u16>) {
    if error.is_retry_after_too_long() || error.is_throttled() {
        return (TenantErrorKind::Throttled, error.status());
    }
    match error.root() {
        Error::Auth(a) => match a {
            AuthError::Rejected {
                status,
                error,
                description,
            } => {
                let not_consented = error == "unauthorized_client"
                    || NOT_CONSENTED.iter().any(|c| description.contains(c));
                let kind = if not_consented {
                    TenantErrorKind::NotConsented
                } else {
                    TenantErrorKind::Auth
                };
                (kind, Some(*status))
            }
            AuthError::Transport(_) => (TenantErrorKind::Unreachable, None),
            AuthError::InvalidTenant(_) => (TenantErrorKind::Config, None),
            _ => (TenantErrorKind::Auth, None),
        },
        Error::Api(a) => {
            let kind = if a.is_unauthorized() {
                TenantErrorKind::Unauthorized
            } else if a.is_permission_denied() || a.status == 403 {
                TenantErrorKind::PermissionDenied
            } else {
                TenantErrorKind::Service
            };
            (kind, Some(a.status))
        }
        Error::Transport { .. } | Error::Timeout { .. } => (TenantErrorKind::Unreachable, None),
        Error::Config(_) | Error::Endpoint(_) | Error::InvalidTenant(_) | Error::Redirect(_) => {
            (TenantErrorKind::Config, None)
        }
        _ => (TenantErrorKind::Other, error.status()),
    }
}
