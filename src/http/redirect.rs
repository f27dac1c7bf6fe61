//! Manual redirect handling (docs/protocol.md §1.3).
//!
//! Automatic redirects are disabled on the HTTP client: many stacks drop `Authorization` on
//! cross-host redirects, some would send it to any host. Here a 301/302/307/308 is followed
//! by re-sending the same method and body, with the token only when the target is on the
//! environment's allow-list; any other target is refused with [`Error::Redirect`].

use url::Url;

use crate::error::{Error, Result};

/// Largest number of redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// Whether `status` is a redirect this client follows.
pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 307 | 308)
}

/// `host[:port]` of a URL, for messages (never the path, query string or credentials).
pub(crate) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => "(no host)".to_string(),
    }
}

/// Resolve a `Location` header against the request URL and normalise the regional port:
/// `https://host:446/…` becomes `https://host/…` (443), as the module's clients do.
pub(crate) fn resolve_location(request_url: &Url, location: Option<&str>) -> Result<Url> {
    let location = location
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            Error::Redirect(format!(
                "redirect from {} without a Location header",
                host_of(request_url)
            ))
        })?;
    let mut target = request_url.join(location).map_err(|e| {
        Error::Redirect(format!(
            "redirect from {} to an invalid Location: {e}",
            host_of(request_url)
        ))
    })?;
    if target.scheme() == "https" && target.port() == Some(446) {
        // Setting the scheme's default port stores no explicit port.
        let _ = target.set_port(Some(443));
    }
    // Credentials in a Location are never used.
    let _ = target.set_username("");
    let _ = target.set_password(None);
    Ok(target)
}

/// The base URL to remember after a redirect from `request_url` (built on `base`) to
/// `target`: the target with the part of the path below the base removed, when the target
/// keeps that part (`https://a/adminapi/beta/t/InvokeCommand` → `https://emea.a/adminapi/beta/t/InvokeCommand`
/// pins `https://emea.a/`). `None` when the target's path does not keep it.
pub(crate) fn pinned_base(base: &Url, request_url: &Url, target: &Url) -> Option<Url> {
    let base_path = base.path().trim_end_matches('/');
    let suffix = request_url.path().strip_prefix(base_path)?;
    if suffix.is_empty() || !suffix.starts_with('/') {
        return None;
    }
    let prefix = target.path().strip_suffix(suffix)?;
    let mut pinned = target.clone();
    pinned.set_query(None);
    pinned.set_fragment(None);
    pinned.set_path(if prefix.is_empty() { "/" } else { prefix });
    Some(pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn resolves_relative_and_rewrites_port_446() {
        let req = u("https://outlook.office365.com/adminapi/beta/t/InvokeCommand?x=1");
        assert_eq!(
            resolve_location(&req, Some("/other/path"))
                .unwrap()
                .as_str(),
            "https://outlook.office365.com/other/path"
        );
        assert_eq!(
            resolve_location(&req, Some("https://emea.outlook.office365.com:446/a"))
                .unwrap()
                .as_str(),
            "https://emea.outlook.office365.com/a"
        );
        assert!(matches!(
            resolve_location(&req, None),
            Err(Error::Redirect(_))
        ));
        assert!(is_redirect(307) && is_redirect(301) && !is_redirect(304));
    }

    #[test]
    fn pins_the_base_below_the_request_path() {
        let base = u("https://outlook.office365.com");
        let req = u("https://outlook.office365.com/adminapi/beta/t/InvokeCommand");
        let target = u("https://emea.outlook.office365.com/adminapi/beta/t/InvokeCommand?a=b");
        assert_eq!(
            pinned_base(&base, &req, &target).unwrap().as_str(),
            "https://emea.outlook.office365.com/"
        );
        let target = u("http://127.0.0.1:9/region/adminapi/beta/t/InvokeCommand");
        assert_eq!(
            pinned_base(&base, &req, &target).unwrap().as_str(),
            "http://127.0.0.1:9/region"
        );
        let target = u("https://emea.outlook.office365.com/elsewhere");
        assert!(pinned_base(&base, &req, &target).is_none());
        assert_eq!(
            host_of(&u("https://user:pw@h.example:8443/p?q=s")),
            "h.example:8443"
        );
    }
}
