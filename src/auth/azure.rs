//! Token providers over the Azure SDK's credentials (feature `azure-identity`).
//!
//! [`AzureCredential`] adapts any `azure_core` [`TokenCredential`] to this crate's
//! [`TokenProvider`], asking for the Exchange Online scope of the configured cloud
//! ([`Environment::scope`], the resource followed by `/.default`). Constructors cover the
//! credentials that suit an Exchange admin tool:
//!
//! * [`AzureCredential::managed_identity`]: the managed identity of an Azure host (App
//!   Service, Functions, VM, Arc);
//! * [`AzureCredential::workload_identity`]: workload identity federation (Kubernetes; reads
//!   `AZURE_CLIENT_ID` and `AZURE_FEDERATED_TOKEN_FILE`);
//! * [`AzureCredential::azure_cli`]: the signed-in Azure CLI (`az account get-access-token`);
//! * [`AzureCredential::developer_tools`]: the developer-tools chain (Azure CLI, then Azure
//!   Developer CLI).
//!
//! From the environment, `EXO_CREDENTIAL` selects one (see the
//! [`auth` module documentation](crate::auth#environment-variables)).
//!
//! The Azure SDK has no "bypass the cache" switch: [`TokenRequest::force_refresh`] and
//! claims challenges are not passed on.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::cloud::CloudConfiguration;
use azure_core::credentials::TokenCredential;
use azure_core::http::ClientOptions;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use chrono::DateTime;

use super::{AccessToken, TokenProvider, TokenRequest};
use crate::environment::{Environment, TenantId};
use crate::error::AuthError;

/// Which Azure SDK credential to use (the values of `EXO_CREDENTIAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AzureCredentialKind {
    /// `managed-identity`.
    ManagedIdentity,
    /// `workload-identity`.
    WorkloadIdentity,
    /// `azure-cli`.
    AzureCli,
    /// `developer-tools`.
    DeveloperTools,
}

impl AzureCredentialKind {
    /// The `EXO_CREDENTIAL` value of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            AzureCredentialKind::ManagedIdentity => "managed-identity",
            AzureCredentialKind::WorkloadIdentity => "workload-identity",
            AzureCredentialKind::AzureCli => "azure-cli",
            AzureCredentialKind::DeveloperTools => "developer-tools",
        }
    }
}

impl fmt::Display for AzureCredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AzureCredentialKind {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, AuthError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "managed-identity" => Ok(AzureCredentialKind::ManagedIdentity),
            "workload-identity" => Ok(AzureCredentialKind::WorkloadIdentity),
            "azure-cli" => Ok(AzureCredentialKind::AzureCli),
            "developer-tools" => Ok(AzureCredentialKind::DeveloperTools),
            _ => Err(AuthError::InvalidCredential(
                "expected managed-identity, workload-identity, azure-cli or developer-tools".into(),
            )),
        }
    }
}

/// A [`TokenProvider`] over an Azure SDK [`TokenCredential`].
///
/// `Debug` shows the credential's name and the scope, never a token.
#[derive(Clone)]
pub struct AzureCredential {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    name: &'static str,
}

impl AzureCredential {
    /// Wrap any Azure SDK credential; tokens are asked for `env`'s Exchange Online scope
    /// unless a request names another one.
    pub fn new(credential: Arc<dyn TokenCredential>, env: &Environment) -> Self {
        crate::crypto::install_default_crypto_provider();
        AzureCredential {
            credential,
            scope: env.scope(),
            name: "TokenCredential",
        }
    }

    /// The credential of `kind` for `tenant` in `env` (see the constructors of each kind).
    pub fn of_kind(
        kind: AzureCredentialKind,
        env: &Environment,
        tenant: &TenantId,
        user_assigned_client_id: Option<String>,
    ) -> Result<Self, AuthError> {
        match kind {
            AzureCredentialKind::ManagedIdentity => {
                Self::managed_identity(env, user_assigned_client_id)
            }
            AzureCredentialKind::WorkloadIdentity => Self::workload_identity(env, tenant),
            AzureCredentialKind::AzureCli => Self::azure_cli(env, Some(tenant)),
            AzureCredentialKind::DeveloperTools => Self::developer_tools(env),
        }
    }

    /// The managed identity of the Azure host: the system-assigned one, or the user-assigned
    /// identity with `user_assigned_client_id`.
    pub fn managed_identity(
        env: &Environment,
        user_assigned_client_id: Option<String>,
    ) -> Result<Self, AuthError> {
        let options = ManagedIdentityCredentialOptions {
            user_assigned_id: user_assigned_client_id.map(UserAssignedId::ClientId),
            ..Default::default()
        };
        crate::crypto::install_default_crypto_provider();
        let credential = ManagedIdentityCredential::new(Some(options)).map_err(failed)?;
        Ok(Self::named(credential, env, "ManagedIdentityCredential"))
    }

    /// Workload identity federation against `tenant`, with the login host of `env`'s cloud;
    /// the client id and the federated token file come from `AZURE_CLIENT_ID` and
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn workload_identity(env: &Environment, tenant: &TenantId) -> Result<Self, AuthError> {
        let options = WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: ClientOptions {
                    cloud: cloud_configuration(env).map(Arc::new),
                    ..Default::default()
                },
            },
            tenant_id: Some(tenant.to_string()),
            ..Default::default()
        };
        crate::crypto::install_default_crypto_provider();
        let credential = WorkloadIdentityCredential::new(Some(options)).map_err(failed)?;
        Ok(Self::named(credential, env, "WorkloadIdentityCredential"))
    }

    /// The signed-in Azure CLI (`az account get-access-token --scope … [--tenant …]`).
    pub fn azure_cli(env: &Environment, tenant: Option<&TenantId>) -> Result<Self, AuthError> {
        let options = AzureCliCredentialOptions {
            tenant_id: tenant.map(TenantId::to_string),
            ..Default::default()
        };
        let credential = AzureCliCredential::new(Some(options)).map_err(failed)?;
        Ok(Self::named(credential, env, "AzureCliCredential"))
    }

    /// The developer-tools chain: Azure CLI, then Azure Developer CLI.
    pub fn developer_tools(env: &Environment) -> Result<Self, AuthError> {
        let credential = DeveloperToolsCredential::new(None).map_err(failed)?;
        Ok(Self::named(credential, env, "DeveloperToolsCredential"))
    }

    /// The scope asked for when a request names none.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    fn named(credential: Arc<dyn TokenCredential>, env: &Environment, name: &'static str) -> Self {
        // The Azure SDK builds its HTTP client lazily, after this.
        crate::crypto::install_default_crypto_provider();
        AzureCredential {
            name,
            ..Self::new(credential, env)
        }
    }
}

/// The Azure SDK's cloud of an environment (its login host); `None` keeps the SDK default.
fn cloud_configuration(env: &Environment) -> Option<CloudConfiguration> {
    match env {
        Environment::Commercial => Some(CloudConfiguration::AzurePublic),
        Environment::GccHigh | Environment::Dod => Some(CloudConfiguration::AzureGovernment),
        Environment::China => Some(CloudConfiguration::AzureChina),
        _ => None,
    }
}

fn failed(e: azure_core::Error) -> AuthError {
    AuthError::Other(e.to_string())
}

impl fmt::Debug for AzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureCredential")
            .field("credential", &self.name)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenProvider for AzureCredential {
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let scope = if request.scope.trim().is_empty() {
            self.scope.as_str()
        } else {
            request.scope.as_str()
        };
        let token = self
            .credential
            .get_token(&[scope], None)
            .await
            .map_err(|e| AuthError::Other(format!("{}: {e}", self.name)))?;
        let expires_at = DateTime::from_timestamp(token.expires_on.unix_timestamp(), 0);
        let secret = token.token.secret();
        if secret.is_empty() {
            return Err(AuthError::Other(format!(
                "{} returned an empty token",
                self.name
            )));
        }
        Ok(AccessToken::new(secret, expires_at))
    }
}
