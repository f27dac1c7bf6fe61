//! [`FleetBuilder::from_env`]: a fleet configured by the `EXO_*` environment variables.

use url::Url;

use super::{FleetBuilder, TenantList};
use crate::auth::{
    ClientCertificate, VAR_ACCESS_TOKEN, VAR_AUTHORITY, VAR_CLIENT_CERTIFICATE,
    VAR_CLIENT_CERTIFICATE_KEY, VAR_CLIENT_ID, VAR_CLIENT_SECRET, VAR_CREDENTIAL, VAR_ENVIRONMENT,
    allow_custom_endpoint_from_lookup,
};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::http::VAR_ENDPOINT;

/// `EXO_TENANTS_FILE`: the fleet's tenants file (one tenant GUID or domain a line).
pub const VAR_TENANTS_FILE: &str = "EXO_TENANTS_FILE";

fn config(variable: &str, message: impl std::fmt::Display) -> Error {
    Error::Config(format!("{variable}: {message}"))
}

impl FleetBuilder {
    /// A fleet builder configured by the environment, as every example reads it:
    ///
    /// * `EXO_TENANTS_FILE` (required): the tenants, read leniently (a bad or repeated line
    ///   is kept in [`TenantList::rejected`] and the others run; use
    ///   [`TenantList::from_file`] and [`Fleet::builder`](super::Fleet::builder) to refuse
    ///   the whole file instead);
    /// * `EXO_CLIENT_ID` with `EXO_CLIENT_SECRET`, or with `EXO_CLIENT_CERTIFICATE` (and
    ///   `EXO_CLIENT_CERTIFICATE_KEY`): the multi-tenant app; or `EXO_CREDENTIAL` for an
    ///   Azure SDK credential (feature `azure-identity`);
    /// * `EXO_ENVIRONMENT`, `EXO_ENDPOINT`, `EXO_AUTHORITY`, `EXO_ALLOW_CUSTOM_ENDPOINT`,
    ///   as for one tenant.
    ///
    /// `EXO_ACCESS_TOKEN` is refused: one token belongs to one tenant.
    ///
    /// ```no_run
    /// # async fn demo() -> exchange_activesync::Result<()> {
    /// use exchange_activesync::fleet::FleetBuilder;
    /// let fleet = FleetBuilder::from_env()?.build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<FleetBuilder> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<FleetBuilder> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let path = get(VAR_TENANTS_FILE).ok_or_else(|| {
            config(
                VAR_TENANTS_FILE,
                "not set: name the tenants file (one tenant GUID or domain a line)",
            )
        })?;
        let tenants =
            TenantList::from_file_lenient(path.trim()).map_err(|e| config(VAR_TENANTS_FILE, e))?;
        let environment = match get(VAR_ENVIRONMENT) {
            None => Environment::Commercial,
            Some(v) => v.parse().map_err(|_| {
                config(
                    VAR_ENVIRONMENT,
                    "expected commercial, gcc-high, dod or china",
                )
            })?,
        };
        let allow = allow_custom_endpoint_from_lookup(get).map_err(|e| Error::Auth(e.into()))?;
        let mut builder = super::Fleet::builder(tenants)
            .environment(environment)
            .allow_custom_endpoint(allow);
        if let Some(endpoint) = get(VAR_ENDPOINT) {
            let url = Url::parse(endpoint.trim()).map_err(|e| config(VAR_ENDPOINT, e))?;
            builder = builder.endpoint(url);
        }
        if let Some(authority) = get(VAR_AUTHORITY) {
            let url = Url::parse(authority.trim()).map_err(|e| config(VAR_AUTHORITY, e))?;
            builder = builder.authority(url);
        }
        if get(VAR_ACCESS_TOKEN).is_some() {
            return Err(config(
                VAR_ACCESS_TOKEN,
                "a fleet cannot use one access token (it belongs to one tenant): set \
                 EXO_CLIENT_ID with EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE, or EXO_CREDENTIAL",
            ));
        }
        let client_id = get(VAR_CLIENT_ID);
        let secret = get(VAR_CLIENT_SECRET);
        let certificate = get(VAR_CLIENT_CERTIFICATE);
        let key = get(VAR_CLIENT_CERTIFICATE_KEY);
        if let Some(kind) = get(VAR_CREDENTIAL) {
            if client_id.is_some() || secret.is_some() || certificate.is_some() {
                return Err(config(
                    VAR_CREDENTIAL,
                    "set either EXO_CREDENTIAL or EXO_CLIENT_*, not both",
                ));
            }
            return azure(builder, &kind);
        }
        let client_id = client_id.ok_or_else(|| {
            config(
                VAR_CLIENT_ID,
                "not set: a fleet needs the multi-tenant app's client id (with EXO_CLIENT_SECRET \
                 or EXO_CLIENT_CERTIFICATE), or EXO_CREDENTIAL",
            )
        })?;
        match (secret, certificate) {
            (Some(_), Some(_)) => Err(config(
                VAR_CLIENT_SECRET,
                "set either EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE, not both",
            )),
            (Some(secret), None) => Ok(builder.client_secret(client_id.trim(), secret)),
            (None, Some(certificate)) => {
                let loaded = match key {
                    Some(key) => ClientCertificate::from_pem_files(certificate.trim(), key.trim()),
                    None => ClientCertificate::from_pem_file(certificate.trim()),
                }
                .map_err(|e| config(VAR_CLIENT_CERTIFICATE, e))?;
                Ok(builder.client_certificate(client_id.trim(), loaded))
            }
            (None, None) => Err(config(
                VAR_CLIENT_SECRET,
                "not set: give EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE with EXO_CLIENT_ID",
            )),
        }
    }
}

#[cfg(feature = "azure-identity")]
fn azure(builder: FleetBuilder, kind: &str) -> Result<FleetBuilder> {
    let kind: crate::auth::azure::AzureCredentialKind =
        kind.parse().map_err(|e| config(VAR_CREDENTIAL, e))?;
    Ok(builder.azure_credential(kind))
}

#[cfg(not(feature = "azure-identity"))]
fn azure(_builder: FleetBuilder, _kind: &str) -> Result<FleetBuilder> {
    Err(config(
        VAR_CREDENTIAL,
        "this build lacks the azure-identity feature",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_fleet_from_the_environment() {
        let dir = std::env::temp_dir().join(format!("eas-fleet-env-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tenants.txt");
        std::fs::write(&file, "contoso.onmicrosoft.com\nnot valid!\nfabrikam.com\n").unwrap();
        let path = file.to_string_lossy().into_owned();
        let vars = [
            (VAR_TENANTS_FILE, path.clone()),
            (VAR_CLIENT_ID, "app".to_string()),
            (VAR_CLIENT_SECRET, "s3cret".to_string()),
            ("EXO_ENDPOINT", "http://127.0.0.1:9".to_string()),
        ];
        let builder = FleetBuilder::from_lookup(lookup(&vars)).unwrap();
        assert!(!format!("{builder:?}").contains("s3cret"));
        let fleet = builder.build().unwrap();
        assert_eq!(fleet.tenants().len(), 2);
        assert_eq!(fleet.tenants().rejected()[0].line, 2);
        // A token is refused, and so is a missing file or credential.
        let token = [
            (VAR_TENANTS_FILE, path.clone()),
            (VAR_ACCESS_TOKEN, "t".to_string()),
        ];
        let e = FleetBuilder::from_lookup(lookup(&token)).unwrap_err();
        assert!(e.to_string().contains("EXO_ACCESS_TOKEN"), "{e}");
        let e = FleetBuilder::from_lookup(lookup(&[])).unwrap_err();
        assert!(e.to_string().contains("EXO_TENANTS_FILE"), "{e}");
        let no_secret = [(VAR_TENANTS_FILE, path), (VAR_CLIENT_ID, "app".to_string())];
        let e = FleetBuilder::from_lookup(lookup(&no_secret)).unwrap_err();
        assert!(e.to_string().contains("EXO_CLIENT_SECRET"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
