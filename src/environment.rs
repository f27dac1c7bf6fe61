//! Cloud environments: hosts, token scopes, authorities and the bearer-token allow-list.

use std::fmt;
use std::str::FromStr;

use url::Url;

pub use crate::error::{EndpointError, EndpointRefusal, TenantIdError};
use crate::error::{Error, Result};

/// An Exchange Online cloud (docs/protocol.md §1.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// Commercial and GCC: `outlook.office365.com`.
    Commercial,
    /// GCC High: `outlook.office365.us`.
    GccHigh,
    /// DoD: `outlook-dod.office365.us` (the legacy `webmail.apps.mil` vanity host is not used
    /// by REST clients; see docs/protocol.md §1.4).
    Dod,
    /// 21Vianet: `partner.outlook.cn`. Sources conflict (the 2025 Admin API table lists
    /// `outlook.office365.cn`); both hosts are on the allow-list, and [`Environment::Custom`]
    /// can pin either.
    China,
    /// A custom endpoint (a regional host, a proxy, the simulator). Plain `http` is accepted
    /// only for loopback addresses.
    Custom {
        /// Base URL, e.g. `http://127.0.0.1:8080`.
        base_url: Url,
        /// Token scope to request, e.g. `https://outlook.office365.com/.default`.
        scope: String,
        /// Authority host for client-credential flows.
        authority: Url,
    },
}

impl Environment {
    /// A custom endpoint with the **commercial** cloud's token scope
    /// (`https://outlook.office365.com/.default`) and authority
    /// (`https://login.microsoftonline.com`). For a proxy or regional host of another cloud,
    /// use [`custom_in`](Self::custom_in), which keeps that cloud's scope and authority.
    pub fn custom(base_url: &str) -> Result<Environment> {
        Self::custom_in(&Environment::Commercial, base_url)
    }

    /// A custom endpoint that takes `cloud`'s token scope and authority (a proxy in front of
    /// GCC High keeps GCC High's scope, say).
    pub fn custom_in(cloud: &Environment, base_url: &str) -> Result<Environment> {
        let base_url = Url::parse(base_url)
            .map_err(|e| Error::Config(format!("invalid endpoint {base_url:?}: {e}")))?;
        check_endpoint(&base_url)?;
        Ok(Environment::Custom {
            base_url,
            scope: cloud.scope(),
            authority: cloud.authority(),
        })
    }

    /// The base URL requests are sent to.
    pub fn base_url(&self) -> Url {
        match self {
            Environment::Custom { base_url, .. } => base_url.clone(),
            other => Url::parse(&format!("https://{}", other.host())).expect("static host"),
        }
    }

    /// The InvokeCommand host.
    pub fn host(&self) -> &str {
        match self {
            Environment::Commercial => "outlook.office365.com",
            Environment::GccHigh => "outlook.office365.us",
            Environment::Dod => "outlook-dod.office365.us",
            Environment::China => "partner.outlook.cn",
            Environment::Custom { base_url, .. } => base_url.host_str().unwrap_or(""),
        }
    }

    /// The OAuth scope of the Exchange Online resource in this cloud.
    pub fn scope(&self) -> String {
        match self {
            Environment::Custom { scope, .. } => scope.clone(),
            other => format!("https://{}/.default", other.host()),
        }
    }

    /// The Entra ID authority (login host) of this cloud.
    pub fn authority(&self) -> Url {
        let s = match self {
            Environment::Commercial => "https://login.microsoftonline.com",
            Environment::GccHigh | Environment::Dod => "https://login.microsoftonline.us",
            Environment::China => "https://login.chinacloudapi.cn",
            Environment::Custom { authority, .. } => return authority.clone(),
        };
        Url::parse(s).expect("static URL")
    }

    /// The module's `ExchangeEnvironmentName` for this cloud.
    pub fn module_name(&self) -> &'static str {
        match self {
            Environment::Commercial | Environment::Custom { .. } => "O365Default",
            Environment::GccHigh => "O365USGovGCCHigh",
            Environment::Dod => "O365USGovDoD",
            Environment::China => "O365China",
        }
    }

    /// Host suffixes the bearer token may be sent to (after a redirect, for instance).
    pub fn allowed_host_suffixes(&self) -> Vec<String> {
        match self {
            Environment::Commercial => {
                vec!["outlook.office365.com".into(), "outlook.office.com".into()]
            }
            Environment::GccHigh => vec!["outlook.office365.us".into()],
            Environment::Dod => vec!["outlook-dod.office365.us".into()],
            Environment::China => vec!["partner.outlook.cn".into(), "outlook.office365.cn".into()],
            Environment::Custom { base_url, .. } => base_url
                .host_str()
                .map(|h| vec![h.to_string()])
                .unwrap_or_default(),
        }
    }

    /// Whether the bearer token may be sent to `url`: `https` to an allow-listed host (the
    /// host itself or a subdomain of it), or the exact loopback origin of a custom endpoint.
    pub fn may_receive_token(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        if let Environment::Custom { base_url, .. } = self {
            let base_host = base_url.host_str().map(str::to_ascii_lowercase);
            let same_origin = base_url.scheme() == url.scheme()
                && base_host.as_deref() == Some(host.as_str())
                && base_url.port_or_known_default() == url.port_or_known_default();
            if same_origin {
                return url.scheme() == "https" || is_loopback(url);
            }
            // A custom https endpoint on a known cloud's host may follow that cloud's regional
            // redirects (default https port only); anything else must be the same origin.
            if url.scheme() != "https" || url.port_or_known_default() != Some(443) {
                return false;
            }
            let Some(base_host) = base_host else {
                return false;
            };
            return [
                Environment::Commercial,
                Environment::GccHigh,
                Environment::Dod,
                Environment::China,
            ]
            .iter()
            .any(|cloud| cloud.host_allowed(&base_host) && cloud.host_allowed(&host));
        }
        url.scheme() == "https"
            && url.port_or_known_default() == Some(443)
            && self.host_allowed(&host)
    }

    /// Whether `host` (lower-case) is one of this cloud's hosts or a subdomain of one.
    fn host_allowed(&self, host: &str) -> bool {
        self.allowed_host_suffixes().iter().any(|suffix| {
            let suffix = suffix.to_ascii_lowercase();
            host == suffix || host.ends_with(&format!(".{suffix}"))
        })
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Environment::Commercial => f.write_str("commercial"),
            Environment::GccHigh => f.write_str("gcc-high"),
            Environment::Dod => f.write_str("dod"),
            Environment::China => f.write_str("china"),
            Environment::Custom { base_url, .. } => write!(f, "custom ({base_url})"),
        }
    }
}

impl FromStr for Environment {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "commercial" | "gcc" | "o365default" | "global" => Ok(Environment::Commercial),
            "gcc-high" | "gcchigh" | "o365usgovgcchigh" => Ok(Environment::GccHigh),
            "dod" | "o365usgovdod" => Ok(Environment::Dod),
            "china" | "o365china" | "21vianet" => Ok(Environment::China),
            other => Err(Error::Config(format!(
                "unknown environment {other:?} (expected commercial, gcc-high, dod or china)"
            ))),
        }
    }
}

/// Whether the URL's host is a literal loopback address (`127.0.0.0/8` or `[::1]`).
///
/// The name `localhost` is not treated as loopback: it is resolved like any other name, and
/// a resolver (or a hosts file) may map it anywhere.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(_)) | None => false,
    }
}

/// Reject endpoints that would leak a token: anything but `https`, except `http` to a literal
/// loopback address. Fails with [`Error::Endpoint`].
pub fn check_endpoint(url: &Url) -> Result<()> {
    check_scheme(url, "endpoint").map_err(Error::from)
}

fn check_scheme(url: &Url, setting: &'static str) -> std::result::Result<(), EndpointError> {
    let refuse = |reason| Err(EndpointError::new(setting, url, reason));
    match url.scheme() {
        "https" | "http" if url.host_str().is_none_or(str::is_empty) => {
            refuse(EndpointRefusal::NoHost)
        }
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => refuse(EndpointRefusal::PlainHttp),
        other => refuse(EndpointRefusal::UnsupportedScheme(other.to_string())),
    }
}

impl Environment {
    /// The known cloud this environment belongs to: itself for a built-in cloud; for
    /// [`Environment::Custom`], the cloud whose token scope it requests, if any.
    fn cloud(&self) -> Option<Environment> {
        match self {
            Environment::Custom { scope, .. } => [
                Environment::Commercial,
                Environment::GccHigh,
                Environment::Dod,
                Environment::China,
            ]
            .into_iter()
            .find(|cloud| cloud.scope().eq_ignore_ascii_case(scope.trim())),
            other => Some(other.clone()),
        }
    }

    /// Check that the bearer token of this environment may be sent to the base URL `url`:
    /// `https` to one of the cloud's hosts (default port), or a literal loopback address
    /// (`http` or `https`). Any other `https` host is accepted only with `allow_custom`
    /// (which sends the bearer token to that host). `setting` names what is checked in the
    /// error (`"endpoint"`, `"EXO_ENDPOINT"`).
    pub fn check_token_endpoint(
        &self,
        url: &Url,
        allow_custom: bool,
        setting: &'static str,
    ) -> std::result::Result<(), EndpointError> {
        check_scheme(url, setting)?;
        if is_loopback(url) || allow_custom {
            return Ok(());
        }
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let cloud = self.cloud();
        let on_cloud = cloud.as_ref().is_some_and(|cloud| {
            url.port_or_known_default() == Some(443) && cloud.host_allowed(&host)
        });
        if on_cloud {
            Ok(())
        } else {
            Err(EndpointError::new(
                setting,
                url,
                EndpointRefusal::NotAllowed {
                    cloud: cloud.map_or_else(|| "custom".to_string(), |c| c.to_string()),
                },
            ))
        }
    }

    /// Check that client credentials of this environment may be sent to the login host
    /// `authority`: `https` to the cloud's login host (default port), or a literal loopback
    /// address (`http` or `https`). Any other `https` host is accepted only with
    /// `allow_custom`. `setting` names what is checked in the error (`"EXO_AUTHORITY"`).
    pub fn check_authority(
        &self,
        authority: &Url,
        allow_custom: bool,
        setting: &'static str,
    ) -> std::result::Result<(), EndpointError> {
        check_scheme(authority, setting)?;
        if is_loopback(authority) || allow_custom {
            return Ok(());
        }
        let cloud = self.cloud().unwrap_or_else(|| self.clone());
        let expected = cloud.authority();
        let same_host = authority.scheme() == "https"
            && authority.port_or_known_default() == Some(443)
            && authority
                .host_str()
                .zip(expected.host_str())
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
        if same_host {
            Ok(())
        } else {
            Err(EndpointError::new(
                setting,
                authority,
                EndpointRefusal::NotAllowed {
                    cloud: cloud.to_string(),
                },
            ))
        }
    }
}

/// A validated tenant: a GUID (`2f6c0000-0000-0000-0000-000000000001`) or a DNS name
/// (`contoso.onmicrosoft.com`).
///
/// Parsed once and then used wherever a tenant goes: the URL path of the admin API, the token
/// URL and the `X-AnchorMailbox` header. A DNS name is made of labels of ASCII letters, digits
/// and hyphens (no empty label, no leading or trailing hyphen, at most 63 characters a label
/// and 253 in all); whitespace, control characters, `/`, `?`, `#`, `%` and anything else are
/// refused. Nothing is trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    /// Validate `input` as a tenant GUID or DNS name (the same as [`parse`](Self::parse),
    /// named like the identity types' constructors).
    pub fn new(input: &str) -> std::result::Result<TenantId, TenantIdError> {
        Self::parse(input)
    }

    /// Validate `input` as a tenant GUID or DNS name.
    pub fn parse(input: &str) -> std::result::Result<TenantId, TenantIdError> {
        let fail = |reason: &str| Err(TenantIdError::new(input, reason));
        if input.is_empty() {
            return fail("the tenant is empty");
        }
        if input.len() == 36 && uuid::Uuid::try_parse(input).is_ok() {
            return Ok(TenantId(input.to_string()));
        }
        if input.len() > 253 {
            return fail("longer than 253 characters");
        }
        if let Some(c) = input
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
        {
            let what = if c.is_control() {
                "a control character".to_string()
            } else if c.is_whitespace() {
                "whitespace".to_string()
            } else {
                format!("{:?}", c)
            };
            return fail(&format!(
                "contains {what}; expected a GUID or a DNS name (letters, digits, hyphens, dots)"
            ));
        }
        for label in input.split('.') {
            if label.is_empty() {
                return fail("has an empty DNS label");
            }
            if label.len() > 63 {
                return fail("has a DNS label longer than 63 characters");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return fail("has a DNS label starting or ending with a hyphen");
            }
        }
        Ok(TenantId(input.to_string()))
    }

    /// The tenant as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the tenant is a GUID (rather than a domain name).
    pub fn is_guid(&self) -> bool {
        self.0.len() == 36 && uuid::Uuid::try_parse(&self.0).is_ok()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for TenantId {
    type Err = TenantIdError;
    fn from_str(s: &str) -> std::result::Result<Self, TenantIdError> {
        TenantId::parse(s)
    }
}

impl PartialEq<str> for TenantId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TenantId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::TenantId {}
    impl Sealed for str {}
    impl Sealed for String {}
}

/// What the URL and request builders of [`protocol`](crate::protocol) take as a tenant: a
/// [`TenantId`], used as it is (validated once, where it was made), or text, validated
/// first. Sealed.
pub trait AsTenantId: sealed::Sealed {
    /// The tenant: borrowed from a [`TenantId`], parsed from text.
    fn as_tenant_id(&self) -> std::result::Result<std::borrow::Cow<'_, TenantId>, TenantIdError>;
    /// Whether the value is empty or whitespace (read as "no tenant given" where the tenant
    /// may be missing).
    #[doc(hidden)]
    fn is_blank(&self) -> bool {
        false
    }
}

impl AsTenantId for TenantId {
    fn as_tenant_id(&self) -> std::result::Result<std::borrow::Cow<'_, TenantId>, TenantIdError> {
        Ok(std::borrow::Cow::Borrowed(self))
    }
}

impl AsTenantId for str {
    fn as_tenant_id(&self) -> std::result::Result<std::borrow::Cow<'_, TenantId>, TenantIdError> {
        TenantId::parse(self).map(std::borrow::Cow::Owned)
    }
    fn is_blank(&self) -> bool {
        self.trim().is_empty()
    }
}

impl AsTenantId for String {
    fn as_tenant_id(&self) -> std::result::Result<std::borrow::Cow<'_, TenantId>, TenantIdError> {
        self.as_str().as_tenant_id()
    }
    fn is_blank(&self) -> bool {
        self.as_str().is_blank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_cloud_values() {
        assert_eq!(
            Environment::Commercial.scope(),
            "https://outlook.office365.com/.default"
        );
        assert_eq!(
            Environment::GccHigh.authority().as_str(),
            "https://login.microsoftonline.us/"
        );
        assert_eq!(
            Environment::Dod.base_url().as_str(),
            "https://outlook-dod.office365.us/"
        );
        assert_eq!(
            Environment::China.scope(),
            "https://partner.outlook.cn/.default"
        );
        assert_eq!(
            "gcc-high".parse::<Environment>().unwrap(),
            Environment::GccHigh
        );
        assert!("mars".parse::<Environment>().is_err());
    }

    #[test]
    fn token_allow_list() {
        let env = Environment::Commercial;
        let ok = |s: &str| env.may_receive_token(&Url::parse(s).unwrap());
        assert!(ok("https://outlook.office365.com/adminapi"));
        assert!(ok("https://emea.outlook.office365.com/adminapi"));
        assert!(!ok("http://outlook.office365.com/adminapi"));
        assert!(!ok("https://outlook.office365.com.evil.example/adminapi"));
        assert!(!ok("https://evil.example/outlook.office365.com"));
        let local = Environment::custom("http://127.0.0.1:8080").unwrap();
        assert!(local.may_receive_token(&Url::parse("http://127.0.0.1:8080/x").unwrap()));
        assert!(!local.may_receive_token(&Url::parse("http://127.0.0.1:9090/x").unwrap()));
        assert!(Environment::custom("http://10.0.0.1:8080").is_err());
        // `localhost` is a name, not a loopback address.
        assert!(Environment::custom("http://localhost:1").is_err());
        // https on another port of a custom endpoint, or another host, gets no token.
        assert!(!local.may_receive_token(&Url::parse("https://127.0.0.1:9999/x").unwrap()));
        let proxy = Environment::custom("https://proxy.example:8443").unwrap();
        assert!(proxy.may_receive_token(&Url::parse("https://proxy.example:8443/a").unwrap()));
        assert!(!proxy.may_receive_token(&Url::parse("https://proxy.example/a").unwrap()));
        assert!(!proxy.may_receive_token(&Url::parse("https://sub.proxy.example:8443/a").unwrap()));
        let pinned = Environment::custom("https://outlook.office365.com").unwrap();
        assert!(
            pinned.may_receive_token(&Url::parse("https://emea.outlook.office365.com/a").unwrap())
        );
        assert!(!pinned.may_receive_token(&Url::parse("https://outlook.office365.us/a").unwrap()));
        assert!(
            !Environment::Commercial
                .may_receive_token(&Url::parse("https://outlook.office365.com:8443/a").unwrap())
        );
    }
}
