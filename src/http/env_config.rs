//! Building an [`HttpExchangeClient`] from the `EXO_*` environment variables that every example
//! of this crate (and any tool built on it) understands.

use url::Url;

use super::{ClientBuilder, HttpExchangeClient};
use crate::auth::{
    FromEnvError, VAR_ENVIRONMENT, VAR_TENANT_ID, allow_custom_endpoint_from_lookup,
    provider_from_lookup,
};
use crate::environment::Environment;
use crate::environment::TenantId;
use crate::error::{Error, Result};

/// Base URL override (e.g. `http://127.0.0.1:8080`; plain http only for loopback).
pub const VAR_ENDPOINT: &str = "EXO_ENDPOINT";

/// Build a client from the process environment:
///
/// * `EXO_TENANT_ID`: tenant GUID or domain (required once anything is configured);
/// * `EXO_ENVIRONMENT`: `commercial` (default), `gcc-high`, `dod` or `china`;
/// * `EXO_ENDPOINT`: base URL override; the cloud's token scope and authority are kept. It
///   must be one of the cloud's hosts or a literal loopback address (`127.0.0.0/8`, `[::1]`;
///   plain `http` only there); any other `https` host needs `EXO_ALLOW_CUSTOM_ENDPOINT=1`,
///   which sends the bearer token to that host;
/// * `EXO_AUTHORITY`: login host override for client credentials, same rules;
/// * `EXO_ACCESS_TOKEN`, or `EXO_CLIENT_ID` with `EXO_CLIENT_SECRET` or
///   `EXO_CLIENT_CERTIFICATE` (+ `EXO_CLIENT_CERTIFICATE_KEY`): see [`crate::auth`].
///
/// Returns `Ok(None)` when neither `EXO_TENANT_ID` nor `EXO_ENDPOINT` is set (nothing is
/// configured), and an [`Error::Config`] naming the missing or invalid variables otherwise.
pub fn client_from_env() -> Result<Option<HttpExchangeClient>> {
    client_from_lookup(|name| std::env::var(name).ok())
}

/// Like [`client_from_env`], reading variables through `lookup` (for tests and for hosts that
/// keep their configuration elsewhere).
pub fn client_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<HttpExchangeClient>> {
    builder_from_lookup(lookup)?
        .map(ClientBuilder::build)
        .transpose()
}

/// Like [`client_from_env`], but returns the configured [`ClientBuilder`] so that the caller can
/// still adjust it (retry policy, timeouts, user agent) before building.
pub fn builder_from_env() -> Result<Option<ClientBuilder>> {
    builder_from_lookup(|name| std::env::var(name).ok())
}

/// Like [`builder_from_env`], reading variables through `lookup`.
pub fn builder_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<ClientBuilder>> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let tenant = get(VAR_TENANT_ID);
    let endpoint = get(VAR_ENDPOINT);
    if tenant.is_none() && endpoint.is_none() {
        return Ok(None);
    }
    let cloud: Environment = match get(VAR_ENVIRONMENT) {
        None => Environment::Commercial,
        Some(v) => v.parse().map_err(|_| {
            Error::Config(format!(
                "{VAR_ENVIRONMENT}: expected commercial, gcc-high, dod or china, not {v:?}"
            ))
        })?,
    };
    let Some(tenant) = tenant else {
        return Err(Error::Config(format!(
            "{VAR_TENANT_ID} is required when {VAR_ENDPOINT} is set"
        )));
    };
    let tenant = TenantId::parse(&tenant)?;
    let allow_custom =
        allow_custom_endpoint_from_lookup(get).map_err(|e| Error::Config(e.to_string()))?;
    let environment = match endpoint {
        None => cloud.clone(),
        Some(endpoint) => {
            let base_url = Url::parse(endpoint.trim())
                .map_err(|e| Error::Config(format!("{VAR_ENDPOINT}: {e}")))?;
            cloud.check_token_endpoint(&base_url, allow_custom, VAR_ENDPOINT)?;
            Environment::Custom {
                base_url,
                scope: cloud.scope(),
                authority: cloud.authority(),
            }
        }
    };
    let provider = match provider_from_lookup(&cloud, &tenant, get) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(Error::Config(
                "no credential: set EXO_ACCESS_TOKEN, or EXO_CLIENT_ID with EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE".into(),
            ));
        }
        Err(e @ FromEnvError::Credential(_)) => return Err(Error::Auth(e.into())),
        Err(e) => return Err(Error::Config(e.to_string())),
    };
    Ok(Some(
        HttpExchangeClient::builder()
            .tenant_id(tenant)
            .environment(environment)
            .allow_custom_endpoint(allow_custom)
            .token_provider(provider),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn nothing_configured_is_none() {
        assert!(client_from_lookup(lookup(&[])).unwrap().is_none());
        assert!(
            client_from_lookup(lookup(&[("EXO_ACCESS_TOKEN", "t")]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn endpoint_keeps_the_cloud_scope() {
        let c = client_from_lookup(lookup(&[
            ("EXO_TENANT_ID", "contoso.onmicrosoft.com"),
            ("EXO_ENVIRONMENT", "gcc-high"),
            ("EXO_ENDPOINT", "http://127.0.0.1:8080"),
            ("EXO_ACCESS_TOKEN", "token-value"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            c.environment().scope(),
            "https://outlook.office365.us/.default"
        );
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:8080/");
        assert!(!format!("{c:?}").contains("token-value"));
    }

    #[test]
    fn errors_name_the_variables() {
        let e = client_from_lookup(lookup(&[("EXO_ENDPOINT", "http://127.0.0.1:1")])).unwrap_err();
        assert!(e.to_string().contains("EXO_TENANT_ID"), "{e}");
        let e = client_from_lookup(lookup(&[("EXO_TENANT_ID", "t")])).unwrap_err();
        assert!(e.to_string().contains("EXO_ACCESS_TOKEN"), "{e}");
        let e = client_from_lookup(lookup(&[
            ("EXO_TENANT_ID", "t"),
            ("EXO_ENDPOINT", "http://10.1.2.3:8080"),
            ("EXO_ACCESS_TOKEN", "x"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        let e = client_from_lookup(lookup(&[
            ("EXO_TENANT_ID", "t"),
            ("EXO_ENVIRONMENT", "mars"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("EXO_ENVIRONMENT"), "{e}");
    }
}
