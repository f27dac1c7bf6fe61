//! Building a token provider from environment variables (for examples and command-line tools).
//!
//! The variables are listed in the [`auth` module documentation](crate::auth#environment-variables).

use std::fmt;
use std::sync::Arc;

use url::Url;

use super::certificate::ClientCertificate;
use super::client_credentials::{ClientCredential, ClientCredentials};
use super::{StaticToken, TokenProvider};
use crate::environment::{AsTenantId, Environment, TenantId, TenantIdError};
use crate::error::AuthError;

/// `EXO_TENANT_ID`.
pub const VAR_TENANT_ID: &str = "EXO_TENANT_ID";
/// `EXO_ENVIRONMENT`.
pub const VAR_ENVIRONMENT: &str = "EXO_ENVIRONMENT";
/// `EXO_ACCESS_TOKEN`.
pub const VAR_ACCESS_TOKEN: &str = "EXO_ACCESS_TOKEN";
/// `EXO_CLIENT_ID`.
pub const VAR_CLIENT_ID: &str = "EXO_CLIENT_ID";
/// `EXO_CLIENT_SECRET`.
pub const VAR_CLIENT_SECRET: &str = "EXO_CLIENT_SECRET";
/// `EXO_CLIENT_CERTIFICATE`.
pub const VAR_CLIENT_CERTIFICATE: &str = "EXO_CLIENT_CERTIFICATE";
/// `EXO_CLIENT_CERTIFICATE_KEY`.
pub const VAR_CLIENT_CERTIFICATE_KEY: &str = "EXO_CLIENT_CERTIFICATE_KEY";
/// `EXO_CREDENTIAL`: an Azure SDK credential instead of a token or client credentials:
/// `managed-identity`, `workload-identity`, `azure-cli` or `developer-tools` (feature
/// `azure-identity`).
pub const VAR_CREDENTIAL: &str = "EXO_CREDENTIAL";
/// `AZURE_CLIENT_ID`: with `EXO_CREDENTIAL=managed-identity`, the client id of a
/// user-assigned identity (also read by the Azure SDK for workload identity).
pub const VAR_AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `EXO_AUTHORITY`: the login host for the client-credentials flow (token URL
/// `{authority}/{tenant}/oauth2/v2.0/token`).
pub const VAR_AUTHORITY: &str = "EXO_AUTHORITY";
/// `EXO_ALLOW_CUSTOM_ENDPOINT`: `1` to let `EXO_ENDPOINT` and `EXO_AUTHORITY` name an
/// `https` host outside the cloud (credentials are then sent to that host).
pub const VAR_ALLOW_CUSTOM_ENDPOINT: &str = "EXO_ALLOW_CUSTOM_ENDPOINT";

/// Why no provider could be built from the environment. `Display` names variables, never
/// their values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FromEnvError {
    /// Required variables are not set. Alternatives are listed as one entry, e.g.
    /// `"EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE"`.
    #[error("missing environment variable(s): {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    /// A variable is set to something unusable.
    #[error("invalid {variable}: {message}")]
    Invalid {
        /// The variable's name.
        variable: &'static str,
        /// What is wrong (never the value of a secret; a bad tenant or host is named).
        message: String,
    },
    /// The credential could not be loaded (unreadable or malformed certificate, ...).
    #[error(transparent)]
    Credential(AuthError),
}

impl FromEnvError {
    /// The missing variables, if that is the problem.
    pub fn missing(&self) -> &[&'static str] {
        match self {
            FromEnvError::Missing(v) => v,
            _ => &[],
        }
    }
}

impl From<FromEnvError> for AuthError {
    fn from(e: FromEnvError) -> Self {
        match e {
            FromEnvError::Credential(e) => e,
            other => AuthError::InvalidCredential(other.to_string()),
        }
    }
}

impl From<FromEnvError> for crate::error::Error {
    fn from(e: FromEnvError) -> Self {
        crate::error::Error::Auth(e.into())
    }
}

/// Environment, tenant and token provider read from the environment.
#[non_exhaustive]
pub struct EnvSettings {
    /// The cloud (`EXO_ENVIRONMENT`, default commercial).
    pub environment: Environment,
    /// The tenant (`EXO_TENANT_ID`).
    pub tenant: TenantId,
    /// The token provider (a [`StaticToken`] or a cached [`ClientCredentials`]).
    pub provider: Arc<dyn TokenProvider>,
}

impl fmt::Debug for EnvSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvSettings")
            .field("environment", &self.environment)
            .field("tenant", &self.tenant)
            .field("provider", &self.provider)
            .finish()
    }
}

/// A token provider for `env` and `tenant` from the process environment; `Ok(None)` when no
/// credential variable is set at all. See [environment variables](crate::auth#environment-variables).
///
/// The tenant: a [`TenantId`] is used as it is; text is checked (empty text counts as a
/// missing `EXO_TENANT_ID`).
pub fn provider_from_env<T: AsTenantId + ?Sized>(
    env: &Environment,
    tenant: &T,
) -> Result<Option<Arc<dyn TokenProvider>>, FromEnvError> {
    provider_from_lookup(env, tenant, |name| std::env::var(name).ok())
}

/// Like [`provider_from_env`], reading variables through `lookup`.
pub fn provider_from_lookup<T: AsTenantId + ?Sized>(
    env: &Environment,
    tenant: &T,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<Arc<dyn TokenProvider>>, FromEnvError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    // Checked only once a credential is configured (as the variable is).
    let tenant = || {
        (!tenant.is_blank()).then(|| {
            tenant
                .as_tenant_id()
                .map(std::borrow::Cow::into_owned)
                .map_err(invalid_tenant)
        })
    };
    Ok(build(env, &tenant, &get)?.map(|(provider, _)| provider))
}

/// Whether `EXO_ALLOW_CUSTOM_ENDPOINT` opts in to hosts outside the cloud: `1`, `true` or
/// `yes` (any case) mean yes; unset, empty, `0`, `false` or `no` mean no; anything else is
/// an error.
pub fn allow_custom_endpoint_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<bool, FromEnvError> {
    match lookup(VAR_ALLOW_CUSTOM_ENDPOINT)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("" | "0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(_) => Err(FromEnvError::Invalid {
            variable: VAR_ALLOW_CUSTOM_ENDPOINT,
            message: "expected 1 or 0".into(),
        }),
    }
}

fn invalid_tenant(e: TenantIdError) -> FromEnvError {
    FromEnvError::Invalid {
        variable: VAR_TENANT_ID,
        message: e.to_string(),
    }
}

/// Environment, tenant and provider from the process environment; `Ok(None)` when no
/// credential variable is set at all. See [environment variables](crate::auth#environment-variables).
pub fn settings_from_env() -> Result<Option<EnvSettings>, FromEnvError> {
    settings_from_lookup(|name| std::env::var(name).ok())
}

/// Like [`settings_from_env`], reading variables through `lookup`.
pub fn settings_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<EnvSettings>, FromEnvError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let environment = match get(VAR_ENVIRONMENT) {
        None => Environment::Commercial,
        Some(v) => v.parse().map_err(|_| FromEnvError::Invalid {
            variable: VAR_ENVIRONMENT,
            message: "expected commercial, gcc-high, dod or china".into(),
        })?,
    };
    let tenant = || get(VAR_TENANT_ID).map(|t| TenantId::parse(&t).map_err(invalid_tenant));
    // `build` refuses a missing or invalid tenant once a credential is configured.
    let Some((provider, tenant)) = build(&environment, &tenant, &get)? else {
        return Ok(None);
    };
    Ok(Some(EnvSettings {
        environment,
        tenant,
        provider,
    }))
}

/// A provider and the tenant it is for.
type Built = (Arc<dyn TokenProvider>, TenantId);

/// The provider and the tenant it is for; `tenant` is read (and checked) only once a
/// credential variable is set: `None` when it is missing.
fn build(
    env: &Environment,
    tenant: &dyn Fn() -> Option<Result<TenantId, FromEnvError>>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Built>, FromEnvError> {
    let token = get(VAR_ACCESS_TOKEN);
    let client_id = get(VAR_CLIENT_ID);
    let secret = get(VAR_CLIENT_SECRET);
    let certificate = get(VAR_CLIENT_CERTIFICATE);
    let key = get(VAR_CLIENT_CERTIFICATE_KEY);
    let azure = get(VAR_CREDENTIAL);

    if token.is_none()
        && azure.is_none()
        && client_id.is_none()
        && secret.is_none()
        && certificate.is_none()
        && key.is_none()
    {
        return Ok(None);
    }

    let mut missing = Vec::new();
    let tenant = tenant().transpose()?;
    if tenant.is_none() {
        missing.push(VAR_TENANT_ID);
    }
    if let Some(kind) = azure {
        if token.is_some() || client_id.is_some() || secret.is_some() || certificate.is_some() {
            return Err(FromEnvError::Invalid {
                variable: VAR_CREDENTIAL,
                message: "set either EXO_CREDENTIAL or EXO_ACCESS_TOKEN / EXO_CLIENT_*, not both"
                    .into(),
            });
        }
        let Some(tenant) = tenant else {
            return Err(FromEnvError::Missing(missing));
        };
        return azure_provider(env, &tenant, &kind, get).map(|p| Some((p, tenant)));
    }
    if let Some(token) = token {
        let Some(tenant) = tenant.filter(|_| missing.is_empty()) else {
            return Err(FromEnvError::Missing(missing));
        };
        return Ok(Some((Arc::new(StaticToken::new(token.trim())), tenant)));
    }

    if client_id.is_none() {
        missing.push(VAR_CLIENT_ID);
    }
    if secret.is_none() && certificate.is_none() {
        missing.push(if key.is_some() {
            VAR_CLIENT_CERTIFICATE
        } else {
            "EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE"
        });
    }
    if !missing.is_empty() {
        return Err(FromEnvError::Missing(missing));
    }
    let (Some(client_id), Some(tenant)) = (client_id, tenant) else {
        return Err(FromEnvError::Missing(vec![VAR_CLIENT_ID, VAR_TENANT_ID]));
    };

    let credential = match (secret, certificate) {
        (Some(_), Some(_)) => {
            return Err(FromEnvError::Invalid {
                variable: VAR_CLIENT_SECRET,
                message: "set either EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE, not both".into(),
            });
        }
        (Some(secret), None) => {
            if key.is_some() {
                return Err(FromEnvError::Invalid {
                    variable: VAR_CLIENT_CERTIFICATE_KEY,
                    message: "set only together with EXO_CLIENT_CERTIFICATE".into(),
                });
            }
            ClientCredential::Secret(secret.into())
        }
        (None, Some(certificate)) => {
            let loaded = match key {
                Some(key) => ClientCertificate::from_pem_files(certificate.trim(), key.trim()),
                None => ClientCertificate::from_pem_file(certificate.trim()),
            };
            ClientCredential::Certificate(loaded.map_err(FromEnvError::Credential)?)
        }
        (None, None) => {
            return Err(FromEnvError::Missing(vec![
                "EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE",
            ]));
        }
    };
    let mut provider = ClientCredentials::new(env, &tenant, client_id.trim(), credential, None)
        .map_err(FromEnvError::Credential)?;
    if let Some(authority) = get(VAR_AUTHORITY) {
        let invalid = |message: String| FromEnvError::Invalid {
            variable: VAR_AUTHORITY,
            message,
        };
        let authority = Url::parse(authority.trim()).map_err(|e| invalid(e.to_string()))?;
        let allow = allow_custom_endpoint_from_lookup(get)?;
        env.check_authority(&authority, allow, VAR_AUTHORITY)
            .map_err(|e| invalid(e.to_string()))?;
        provider = provider
            .with_authority(&authority)
            .map_err(FromEnvError::Credential)?;
    }
    let provider = provider.cached();
    Ok(Some((Arc::new(provider), tenant)))
}

#[cfg(feature = "azure-identity")]
fn azure_provider(
    env: &Environment,
    tenant: &TenantId,
    kind: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn TokenProvider>, FromEnvError> {
    use super::azure::{AzureCredential, AzureCredentialKind};
    let kind: AzureCredentialKind = kind.parse().map_err(|e: AuthError| FromEnvError::Invalid {
        variable: VAR_CREDENTIAL,
        message: e.to_string(),
    })?;
    let user_assigned = get(VAR_AZURE_CLIENT_ID).map(|id| id.trim().to_string());
    let credential = AzureCredential::of_kind(kind, env, tenant, user_assigned)
        .map_err(FromEnvError::Credential)?;
    Ok(Arc::new(super::CachingTokenProvider::new(credential)))
}

#[cfg(not(feature = "azure-identity"))]
fn azure_provider(
    _env: &Environment,
    _tenant: &TenantId,
    _kind: &str,
    _get: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn TokenProvider>, FromEnvError> {
    Err(FromEnvError::Invalid {
        variable: VAR_CREDENTIAL,
        message: "this build lacks the azure-identity feature".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            list.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_tenant_is_a_tenant_id_or_text_checked_once_a_credential_is_set() {
        let env = Environment::Commercial;
        let token = vars(&[(VAR_ACCESS_TOKEN, "token-value")]);
        let tenant = TenantId::parse("contoso.onmicrosoft.com").unwrap();
        assert!(
            provider_from_lookup(&env, &tenant, &token)
                .unwrap()
                .is_some()
        );
        assert!(
            provider_from_lookup(&env, "contoso.com", &token)
                .unwrap()
                .is_some()
        );
        let err = provider_from_lookup(&env, "a/b", &token).err().unwrap();
        assert!(
            matches!(
                err,
                FromEnvError::Invalid {
                    variable: VAR_TENANT_ID,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = provider_from_lookup(&env, " \t", &token).err().unwrap();
        assert!(matches!(err, FromEnvError::Missing(_)), "{err:?}");
        // No credential: the tenant is not looked at.
        assert!(
            provider_from_lookup(&env, "a/b", vars(&[]))
                .unwrap()
                .is_none()
        );
        let settings = settings_from_lookup(vars(&[
            (VAR_ACCESS_TOKEN, "token-value"),
            (VAR_TENANT_ID, "contoso.onmicrosoft.com"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(settings.tenant, tenant);
    }
}
