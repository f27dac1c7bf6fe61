//! Refused endpoints and invalid tenants: the configuration errors that keep a token from
//! going where it must not.

use url::Url;

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
