//! Building an `InvokeCommand` request without doing any I/O (docs/protocol.md §1, §2).

use std::fmt;

use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::params::Parameters;
use crate::catalog::{CmdletKind, is_cmdlet_name, is_enumeration};
use crate::environment::{AsTenantId, TenantId};
use crate::error::{Error, Result};

/// The header that routes a request to a mailbox's server.
pub const ANCHOR_HEADER: &str = "X-AnchorMailbox";
/// The well-known system mailbox used as the routing hint of app-only calls.
pub const APP_ONLY_SYSTEM_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";
/// Largest page size the service accepts in `Prefer: odata.maxpagesize`.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Value of the `X-ClientApplication` header the module sends.
pub const CLIENT_APPLICATION: &str = "ExoManagementModule";

/// The value of `X-AnchorMailbox` (docs/protocol.md §2.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RoutingHint {
    /// Delegated token: `UPN:<user principal name>`.
    User(String),
    /// App-only token: `APP:SystemMailbox{bb558c35-…}@<tenant id>`.
    App {
        /// Tenant GUID or domain.
        tenant: String,
    },
    /// Mailbox-scoped call: `SMTP:<address>` for an address, `MBX:<guid>@<tenant>` for a GUID;
    /// also sends `parameter-based-routing: true`.
    Mailbox {
        /// The mailbox as given in the cmdlet parameter.
        mailbox: String,
        /// Tenant GUID or domain, used for GUID mailboxes.
        tenant: String,
    },
    /// Any other literal value.
    Raw(String),
}

impl RoutingHint {
    /// The header value.
    pub fn header_value(&self) -> String {
        match self {
            RoutingHint::User(upn) => format!("UPN:{upn}"),
            RoutingHint::App { tenant } => format!("APP:{APP_ONLY_SYSTEM_MAILBOX}@{tenant}"),
            RoutingHint::Mailbox { mailbox, tenant } => {
                if Uuid::parse_str(mailbox.trim()).is_ok() {
                    format!("MBX:{}@{tenant}", mailbox.trim())
                } else {
                    format!("SMTP:{}", mailbox.trim())
                }
            }
            RoutingHint::Raw(v) => v.clone(),
        }
    }

    /// Whether the hint came from a cmdlet parameter (`parameter-based-routing: true`).
    pub fn is_parameter_based(&self) -> bool {
        matches!(self, RoutingHint::Mailbox { .. })
    }
}

/// Whether a mailbox value can serve as a routing hint (an SMTP address or a GUID).
pub fn is_routable_mailbox(mailbox: &str) -> bool {
    let m = mailbox.trim();
    Uuid::parse_str(m).is_ok()
        || (m.contains('@') && !m.contains(char::is_whitespace) && !m.starts_with('@'))
}

/// An `@odata.nextLink`: where to POST the same body for the next page.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct NextLink(String);

impl NextLink {
    /// Wrap a link as received from the service.
    pub fn new(link: impl Into<String>) -> Self {
        NextLink(link.into())
    }

    /// The link text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NextLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Skiptokens are opaque and can be long; keep Debug output short.
        let shown: String = self.0.chars().take(80).collect();
        if shown.len() < self.0.len() {
            write!(f, "NextLink({shown:?}…)")
        } else {
            write!(f, "NextLink({shown:?})")
        }
    }
}

impl fmt::Display for NextLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One cmdlet invocation: name, parameters, projection and paging preferences.
///
/// The same `Invocation` (and so the same `client-request-id`) is used for every page and
/// every retry of one call.
///
/// It is checked once, by [`validated`](Self::validated) (typed requests: when they are
/// prepared, [`PreparedCmdlet::new`](crate::PreparedCmdlet::new)); the pages and attempts of
/// the call then only read that mark ([`validate`](Self::validate) does no work for a
/// validated invocation). Changing the parameters ([`parameters_mut`](Self::parameters_mut))
/// clears the mark.
#[derive(Clone, Debug)]
pub struct Invocation {
    cmdlet: String,
    kind: CmdletKind,
    parameters: Parameters,
    select: Vec<String>,
    page_size: Option<u32>,
    routing: Option<RoutingHint>,
    request_id: Uuid,
    /// Whether [`Invocation::validated`] checked it (and nothing it checks changed since).
    validated: bool,
}

/// Equal when everything sent is equal (whether it was validated yet is not compared).
impl PartialEq for Invocation {
    fn eq(&self, other: &Self) -> bool {
        self.cmdlet == other.cmdlet
            && self.kind == other.kind
            && self.parameters == other.parameters
            && self.select == other.select
            && self.page_size == other.page_size
            && self.routing == other.routing
            && self.request_id == other.request_id
    }
}

impl Invocation {
    /// A new invocation; the kind is inferred from the verb. For destructive cmdlets
    /// `Confirm: false` is added unless the caller set `Confirm` explicitly.
    pub fn new(cmdlet: impl Into<String>, parameters: Parameters) -> Self {
        let cmdlet = cmdlet.into();
        let kind = CmdletKind::from_cmdlet_name(&cmdlet);
        Self::with_kind(cmdlet, kind, parameters)
    }

    /// A new invocation with an explicit kind. The kind can only make the call stricter: a
    /// cmdlet the catalog (or its verb) says writes or destroys is never sent as a read
    /// (which would skip the identity guard and be retried after a timeout).
    pub fn with_kind(
        cmdlet: impl Into<String>,
        kind: CmdletKind,
        mut parameters: Parameters,
    ) -> Self {
        let cmdlet = cmdlet.into();
        let kind = CmdletKind::stricter(kind, CmdletKind::from_cmdlet_name(&cmdlet));
        if kind == CmdletKind::Destructive && !parameters.contains("Confirm") {
            parameters.switch("Confirm", false);
        }
        Invocation {
            cmdlet,
            kind,
            parameters,
            select: Vec::new(),
            page_size: None,
            routing: None,
            request_id: Uuid::new_v4(),
            validated: false,
        }
    }

    /// Server-side property projection (`$select`).
    pub fn select<I, S>(mut self, properties: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select = properties.into_iter().map(Into::into).collect();
        self
    }

    /// Page size (`Prefer: odata.maxpagesize`), capped at 1000.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size.clamp(1, MAX_PAGE_SIZE));
        self
    }

    /// Route by a mailbox parameter (`SMTP:`/`MBX:` plus `parameter-based-routing`).
    pub fn routing(mut self, hint: RoutingHint) -> Self {
        self.routing = Some(hint);
        self
    }

    /// Cmdlet name as it will be sent.
    pub fn cmdlet(&self) -> &str {
        &self.cmdlet
    }

    /// Read, write or destructive.
    pub fn kind(&self) -> CmdletKind {
        self.kind
    }

    /// The parameters.
    pub fn parameters(&self) -> &Parameters {
        &self.parameters
    }

    /// Mutable access to the parameters (the invocation counts as not validated again).
    pub fn parameters_mut(&mut self) -> &mut Parameters {
        self.validated = false;
        &mut self.parameters
    }

    /// The `$select` list (empty = all properties).
    pub fn selected(&self) -> &[String] {
        &self.select
    }

    /// Explicit routing hint, if any.
    pub fn routing_hint(&self) -> Option<&RoutingHint> {
        self.routing.as_ref()
    }

    /// The `client-request-id` shared by every page and retry of this invocation.
    pub fn request_id(&self) -> Uuid {
        self.request_id
    }

    /// Use a fresh `client-request-id` (for a new, independent call with the same input).
    pub fn renew_request_id(&mut self) {
        self.request_id = Uuid::new_v4();
    }

    /// The `ResultSize` parameter as sent: `None` if absent, `Some(None)` for `Unlimited`,
    /// `Some(Some(n))` for a number.
    pub fn result_size(&self) -> Option<Option<u64>> {
        match self.parameters.get("ResultSize")? {
            Value::String(s) if s.eq_ignore_ascii_case("unlimited") => Some(None),
            Value::String(s) => s.trim().parse().ok().map(Some),
            Value::Number(n) => n.as_u64().map(Some),
            _ => None,
        }
    }

    /// The page size that goes into `Prefer: odata.maxpagesize`: the explicit page size (or
    /// 1000), lowered to a numeric `ResultSize`, as the module computes it.
    pub fn effective_page_size(&self) -> u32 {
        let base = self.page_size.unwrap_or(MAX_PAGE_SIZE);
        match self.result_size() {
            Some(Some(n)) if n > 0 && n < u64::from(base) => n as u32,
            _ => base,
        }
    }

    /// Whether the cmdlet enumerates objects (see [`is_enumeration`]): only then is an
    /// `@odata.nextLink` on its answer followed.
    pub fn is_enumeration(&self) -> bool {
        is_enumeration(&self.cmdlet)
    }

    /// Check that the invocation may be sent: a cmdlet name that is exactly `Verb-Noun`
    /// (checked first, untrimmed: see [`is_cmdlet_name`]), and for destructive cmdlets a
    /// non-empty, non-wildcard `Identity` and `Confirm: false`. Does no work for an invocation
    /// [`validated`](Self::validated) before.
    pub fn validate(&self) -> Result<()> {
        if self.validated {
            return Ok(());
        }
        #[cfg(test)]
        tests::FULL_VALIDATIONS.with(|n| n.set(n.get() + 1));
        if !is_cmdlet_name(&self.cmdlet) {
            return Err(Error::invalid_input(format!(
                "{:?} is not a cmdlet name of the form Verb-Noun (ASCII letters and digits \
                 around one hyphen, no whitespace)",
                self.cmdlet
            )));
        }
        if self.kind == CmdletKind::Destructive {
            check_destructive_identity(&self.cmdlet, self.parameters.get("Identity"))?;
        }
        Ok(())
    }

    /// [`validate`](Self::validate) once and keep the result: every later page and attempt
    /// of the call finds the invocation validated and checks nothing again.
    pub fn validated(mut self) -> Result<Self> {
        self.validate()?;
        self.validated = true;
        Ok(self)
    }

    /// Whether the invocation was [`validated`](Self::validated) (and its parameters have not
    /// been changed since).
    pub fn is_validated(&self) -> bool {
        self.validated
    }

    /// The JSON body: `{"CmdletInput":{"CmdletName":…,"Parameters":{…}}}` as UTF-8 bytes.
    pub fn body(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Envelope<'a> {
            #[serde(rename = "CmdletInput")]
            input: Input<'a>,
        }
        #[derive(serde::Serialize)]
        struct Input<'a> {
            #[serde(rename = "CmdletName")]
            name: &'a str,
            #[serde(rename = "Parameters")]
            parameters: &'a Parameters,
        }
        serde_json::to_vec(&Envelope {
            input: Input {
                name: &self.cmdlet,
                parameters: &self.parameters,
            },
        })
        .expect("a JSON map always serializes")
    }
}

/// Refuse a destructive call whose identity is missing, empty, whitespace or a wildcard.
pub fn check_destructive_identity(cmdlet: &str, identity: Option<&Value>) -> Result<()> {
    let problem = match identity {
        None | Some(Value::Null) => Some("is required for a destructive cmdlet"),
        Some(Value::String(s)) if s.trim().is_empty() => Some("must not be empty or whitespace"),
        Some(Value::String(s)) if s.contains('*') || s.contains('?') => {
            Some("must name exactly one object (wildcards are refused)")
        }
        Some(Value::String(_)) => None,
        Some(_) => Some("must be a single identity string"),
    };
    match problem {
        Some(p) => Err(Error::invalid_parameter(
            Some(cmdlet.to_string()),
            "Identity",
            p,
        )),
        None => Ok(()),
    }
}

/// Per-client and per-call context that goes into the headers.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// `connection-id`: one per client.
    pub connection_id: Uuid,
    /// Routing hint derived from the token (used unless the invocation has its own).
    pub default_routing: Option<RoutingHint>,
    /// `User-Agent`.
    pub user_agent: String,
}

/// A fully built request, ready to be sent by any HTTP stack. The `Authorization` header is
/// not part of it: the transport adds it, marked sensitive, just before sending.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedRequest {
    /// Target URL (the InvokeCommand URL, or the continuation link).
    pub url: Url,
    /// Headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// UTF-8 JSON body.
    pub body: Vec<u8>,
}

impl PreparedRequest {
    /// Look up a header value (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `{base}/adminapi/beta/{tenant}/InvokeCommand[?$select=…]`.
///
/// A [`TenantId`] is used as it is; text fails with [`Error::InvalidTenant`] unless it is a
/// GUID or a DNS name.
pub fn invoke_url<T: AsTenantId + ?Sized>(
    base: &Url,
    tenant: &T,
    select: &[String],
) -> Result<Url> {
    let tenant = tenant.as_tenant_id()?;
    tenant_url(
        base,
        &["adminapi", "beta", tenant.as_str(), "InvokeCommand"],
        select,
    )
}

/// `base` with `segments` appended to its path, and `$select` when `select` is not empty.
fn tenant_url(base: &Url, segments: &[&str], select: &[String]) -> Result<Url> {
    let mut url = base.clone();
    {
        let mut segs = url
            .path_segments_mut()
            .map_err(|_| Error::Config(format!("{base} cannot be a base URL")))?;
        segs.pop_if_empty();
        segs.extend(segments);
    }
    if !select.is_empty() {
        url.query_pairs_mut()
            .append_pair("$select", &select.join(","));
    }
    Ok(url)
}

/// `{base}/adminapi/v1.0/{tenant}/EXOModuleFile?Version=…` (the tenant as for [`invoke_url`]).
pub fn module_file_url<T: AsTenantId + ?Sized>(
    base: &Url,
    tenant: &T,
    module_version: &str,
) -> Result<Url> {
    let tenant = tenant.as_tenant_id()?;
    let mut url = tenant_url(
        base,
        &["adminapi", "v1.0", tenant.as_str(), "EXOModuleFile"],
        &[],
    )?;
    url.query_pairs_mut().append_pair("Version", module_version);
    Ok(url)
}

/// Build the request for the first page (`continuation == None`) or a following page.
///
/// The tenant as for [`invoke_url`]: a [`TenantId`] is not parsed again. An invocation that
/// was [`validated`](Invocation::validated) is not checked again; any other is checked here.
pub fn prepare_invoke<T: AsTenantId + ?Sized>(
    base: &Url,
    tenant: &T,
    invocation: &Invocation,
    ctx: &RequestContext,
    continuation: Option<&NextLink>,
) -> Result<PreparedRequest> {
    invocation.validate()?;
    let tenant = tenant.as_tenant_id()?;
    let tenant: &TenantId = &tenant;
    let url = match continuation {
        None => invoke_url(base, tenant, invocation.selected())?,
        Some(link) => Url::parse(link.as_str()).map_err(|e| Error::Decode {
            cmdlet: invocation.cmdlet().to_string(),
            message: format!("@odata.nextLink is not a URL: {e}"),
            body_snippet: crate::error::body_snippet(link.as_str().as_bytes()),
        })?,
    };
    let mut headers: Vec<(&'static str, String)> = vec![
        ("Content-Type", "application/json; charset=utf-8".into()),
        ("Accept", "application/json".into()),
        ("Accept-Charset", "UTF-8".into()),
        ("Accept-Encoding", "gzip".into()),
        ("Accept-Language", "en-US".into()),
        ("X-CmdletName", invocation.cmdlet().to_string()),
        ("client-request-id", invocation.request_id().to_string()),
        ("connection-id", ctx.connection_id.to_string()),
        (
            "Prefer",
            format!("odata.maxpagesize={}", invocation.effective_page_size()),
        ),
        ("X-ResponseFormat", "json".into()),
        ("X-SerializationLevel", "Partial".into()),
        ("X-ClientApplication", CLIENT_APPLICATION.into()),
        ("User-Agent", ctx.user_agent.clone()),
    ];
    let routing = invocation.routing_hint().or(ctx.default_routing.as_ref());
    if let Some(hint) = routing {
        // A tenant goes into the header only when it is a GUID or a DNS name (the call's
        // tenant is one already).
        match hint {
            RoutingHint::App { tenant: t } | RoutingHint::Mailbox { tenant: t, .. }
                if !(t.is_empty() && hint.is_parameter_based()) && t != tenant.as_str() =>
            {
                TenantId::parse(t)?;
            }
            _ => {}
        }
        // A request type does not know the tenant: a GUID mailbox hint (`MBX:<guid>@<tenant>`)
        // built without one gets the tenant of the call.
        let value = match hint {
            RoutingHint::Mailbox {
                mailbox,
                tenant: hint_tenant,
            } if hint_tenant.is_empty() => RoutingHint::Mailbox {
                mailbox: mailbox.clone(),
                tenant: tenant.to_string(),
            }
            .header_value(),
            other => other.header_value(),
        };
        headers.push((ANCHOR_HEADER, value));
        if hint.is_parameter_based() {
            headers.push(("parameter-based-routing", "true".into()));
        }
    }
    Ok(PreparedRequest {
        url,
        headers,
        body: invocation.body(),
    })
}

#[cfg(test)]
#[path = "request_tests.rs"]
pub(crate) mod tests;
