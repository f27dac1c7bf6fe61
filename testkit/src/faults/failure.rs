//! Failures of the simulated service, and the exact HTTP answers (status, headers, body) the
//! service sends for them (docs/protocol.md §5).

use exchange_activesync::error::ApiError;
use exchange_activesync::protocol::{ResponseMeta, decode_error};

/// The plain-text body of the per-tenant concurrency 429.
pub const CONCURRENCY_BODY: &str = "You have reached the maximum number of concurrent requests per tenant. Please wait and try again";

/// The pagination failure text.
pub const PAGINATION_BODY_MESSAGE: &str =
    "Expired or Invalid pagination request. Default Expiry time is 00:30:00";

/// A failure of the simulated service.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// 404 `ManagementObjectNotFoundException`.
    NotFound {
        /// Identity as given.
        identity: String,
        /// Where it was looked for (tenant domain or DN).
        scope: String,
    },
    /// 400 `ADObjectAlreadyExistsException`.
    AlreadyExists {
        /// Name of the colliding object.
        name: String,
    },
    /// 400 `AmbiguousParameterSetException` (undeclared or RBAC-withheld parameters).
    UnknownParameters {
        /// The offending parameter names.
        names: Vec<String>,
    },
    /// 400 `AmbiguousParameterSetException` for conflicting parameter sets.
    AmbiguousParameterSet,
    /// 400 `ParameterBindingException`: a mandatory parameter is missing.
    MissingParameter {
        /// The parameter.
        name: String,
    },
    /// 400 `ParameterTransformationException`: a bad value.
    InvalidValue {
        /// The message.
        message: String,
    },
    /// 400 with an arbitrary Exchange exception type (invalid filter, policy in use, …).
    InvalidOperation {
        /// Exchange exception type.
        exception: String,
        /// The message.
        message: String,
    },
    /// 403 with a NUL body declared as gzip (unknown or withheld cmdlet).
    PermissionDenied,
    /// 400 "Expired or Invalid pagination request".
    PaginationExpired,
    /// 429, with an optional `Retry-After` value (seconds, may be fractional).
    Throttled {
        /// `Retry-After` header value.
        retry_after: Option<String>,
    },
    /// 429 with the plain-text tenant concurrency message.
    ConcurrencyLimit,
    /// 503.
    Unavailable,
    /// 401 with `WWW-Authenticate`.
    Unauthorized,
    /// 500 carrying a transient Exchange exception (e.g. `DCOverloadedException`).
    TransientException {
        /// Exception type name.
        exception: String,
    },
    /// 500 with a generic HTML error page (no Exchange exception): the outcome is unknown.
    InternalServerError,
    /// 502 from a gateway, with an HTML page: the outcome is unknown.
    BadGateway,
    /// 504 from a gateway, with an HTML page: the outcome is unknown.
    GatewayTimeout,
    /// 200 with an HTML error page instead of the JSON envelope (a proxy's error page).
    HtmlPage,
    /// 404 with a proxy's HTML page (`404 Not Found`, nginx): a route that was lost, not the
    /// service's "not found". The request may or may not have reached the service.
    NotFoundPage,
}

/// A complete HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// Headers (besides `request-id`).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

fn envelope(code: &str, string_id: &str, exception: &str, message: &str, outer: &str) -> Vec<u8> {
    let details = format!("{string_id}|{exception}|{message}");
    serde_json::to_vec(&serde_json::json!({
        "error": {
            "code": code,
            "message": outer,
            "details": [{"code": "Client", "target": "", "message": details}],
            "innererror": {
                "message": outer,
                "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                "internalexception": {
                    "message": message,
                    "type": "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException"
                }
            }
        },
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": []
    }))
    .expect("JSON serializes")
}

fn html(status: u16, title: &str) -> HttpAnswer {
    HttpAnswer {
        status,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: format!("<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>")
            .into_bytes(),
    }
}

impl Failure {
    /// The HTTP answer the service gives for this failure.
    pub fn answer(&self) -> HttpAnswer {
        let json = |status: u16, exception: &str, body: Vec<u8>| HttpAnswer {
            status,
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                ),
                (
                    "x-ExceptionType".into(),
                    exception
                        .rsplit('.')
                        .next()
                        .unwrap_or(exception)
                        .to_string(),
                ),
            ],
            body,
        };
        match self {
            Failure::NotFound { identity, scope } => {
                let ex = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException";
                let msg = format!(
                    "The operation couldn't be performed because object '{identity}' couldn't be found on '{scope}'."
                );
                json(404, ex, envelope("NotFound", "Ex6F9304", ex, &msg, "Error executing cmdlet"))
            }
            Failure::AlreadyExists { name } => {
                let ex = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException";
                let msg = format!("The object '{name}' already exists.");
                json(400, ex, envelope("BadRequest", "Ex5BA3D6", ex, &msg, "Error executing cmdlet"))
            }
            Failure::UnknownParameters { names } => {
                let ex = "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException";
                let msg = format!(
                    "Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet parameters specified. {}",
                    names.join(", ")
                );
                json(400, ex, envelope("BadRequest", "", ex, &msg, "Invalid Operation"))
            }
            Failure::AmbiguousParameterSet => {
                let ex = "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException";
                let msg = "Parameter set cannot be resolved using the specified named parameters.";
                json(400, ex, envelope("BadRequest", "", ex, msg, "Invalid Operation"))
            }
            Failure::MissingParameter { name } => {
                let ex = "System.Management.Automation.ParameterBindingException";
                let msg = format!(
                    "Cannot process command because of one or more missing mandatory parameters: {name}."
                );
                json(400, ex, envelope("BadRequest", "", ex, &msg, "Invalid Operation"))
            }
            Failure::InvalidValue { message } => {
                let ex = "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException";
                json(400, ex, envelope("BadRequest", "", ex, message, "Invalid Operation"))
            }
            Failure::InvalidOperation { exception, message } => json(
                400,
                exception,
                envelope("BadRequest", "", exception, message, "Error executing cmdlet"),
            ),
            Failure::PermissionDenied => HttpAnswer {
                status: 403,
                headers: vec![("Content-Encoding".into(), "gzip".into())],
                body: vec![0u8; 32],
            },
            Failure::PaginationExpired => {
                let ex = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException";
                json(
                    400,
                    ex,
                    envelope("BadRequest", "", ex, PAGINATION_BODY_MESSAGE, PAGINATION_BODY_MESSAGE),
                )
            }
            Failure::Throttled { retry_after } => {
                let mut headers = vec![("Content-Type".into(), "application/json".into())];
                if let Some(r) = retry_after {
                    headers.push(("Retry-After".into(), r.clone()));
                }
                HttpAnswer {
                    status: 429,
                    headers,
                    body: br#"{"error":{"code":"TooManyRequests","message":"Too many requests. Please retry later."}}"#.to_vec(),
                }
            }
            Failure::ConcurrencyLimit => HttpAnswer {
                status: 429,
                headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
                body: CONCURRENCY_BODY.as_bytes().to_vec(),
            },
            Failure::Unavailable => HttpAnswer {
                status: 503,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html><body>Service Unavailable</body></html>".to_vec(),
            },
            Failure::Unauthorized => HttpAnswer {
                status: 401,
                headers: vec![(
                    "WWW-Authenticate".into(),
                    "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"invalid_token\"".into(),
                )],
                body: Vec::new(),
            },
            Failure::TransientException { exception } => {
                let ex = format!("Microsoft.Exchange.Data.Directory.{exception}");
                let msg = format!("{exception}: the directory is busy. Please retry.");
                json(500, &ex, envelope("InternalServerError", "", &ex, &msg, "Error executing cmdlet"))
            }
            Failure::InternalServerError => html(500, "Internal Server Error"),
            Failure::BadGateway => html(502, "Bad Gateway"),
            Failure::GatewayTimeout => html(504, "Gateway Timeout"),
            Failure::HtmlPage => html(200, "Sorry, something went wrong"),
            Failure::NotFoundPage => HttpAnswer {
                status: 404,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_vec(),
            },
        }
    }

    /// The [`ApiError`] the HTTP client decodes from [`Failure::answer`] (the same
    /// `decode_error` call on the same status and body).
    pub fn to_api_error(&self, cmdlet: Option<&str>, request_id: Option<&str>) -> ApiError {
        let answer = self.answer();
        let header = |name: &str| {
            answer
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let meta = ResponseMeta {
            request_id: request_id.map(str::to_string),
            exception_type: header("x-ExceptionType"),
            retry_after: header("Retry-After"),
            content_type: header("Content-Type"),
            ..ResponseMeta::default()
        };
        decode_error(answer.status, &meta, cmdlet, &answer.body)
    }
}
