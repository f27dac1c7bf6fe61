//! The Azure SDK adapter (feature `azure-identity`), tested without Azure: a fake `az` on
//! `PATH` answers `az account get-access-token --output json` like the real CLI does.
//!
//! This file holds a single test: it changes the process's `PATH`.
#![cfg(feature = "azure-identity")]

use std::path::{Path, PathBuf};

use exchange_activesync::Environment;
use exchange_activesync::auth::azure::{AzureCredential, AzureCredentialKind};
use exchange_activesync::auth::{FromEnvError, TokenProvider, TokenRequest, settings_from_lookup};
use exchange_activesync::environment::TenantId;
use secrecy::ExposeSecret as _;

#[path = "support/mod.rs"]
mod support;
use support::lookup;

const TENANT: &str = "11111111-2222-3333-4444-555555555555";
/// 2099-01-01T00:00:00Z.
const EXPIRES_ON: i64 = 4_070_908_800;

/// A directory with an executable `az` that logs its arguments (one per line, a `--` line
/// after each run) and prints what `az account get-access-token --output json` prints.
fn fake_az() -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("exo-fake-az-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("args.log");
    let _ = std::fs::remove_file(&log);
    let script = format!(
        r#"#!/bin/sh
printf '%s\n' "$@" >> '{log}'
echo -- >> '{log}'
case "$*" in
  *--tenant\ fail.example*) echo "ERROR: Please run 'az login' to setup account." >&2; exit 1 ;;
esac
cat <<'JSON'
{{
  "accessToken": "fake-cli-token",
  "expiresOn": "2099-01-01 00:00:00.000000",
  "expires_on": {EXPIRES_ON},
  "subscription": "00000000-0000-0000-0000-000000000000",
  "tenant": "{TENANT}",
  "tokenType": "Bearer"
}}
JSON
"#,
        log = log.display()
    );
    let az = dir.join("az");
    std::fs::write(&az, script).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, log)
}

fn runs(log: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.split("--\n")
        .filter(|run| !run.is_empty())
        .map(|run| run.lines().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn azure_cli_credential_through_exo_credential() {
    let (dir, log) = fake_az();
    let path = std::env::var("PATH").unwrap_or_default();
    // SAFETY: this test binary runs this one test; nothing else reads the environment
    // concurrently.
    unsafe { std::env::set_var("PATH", format!("{}:{path}", dir.display())) };

    // EXO_CREDENTIAL=azure-cli, GCC High: the cloud's Exchange scope and the tenant are
    // passed to `az`, the token and its expiry come back, and the token is cached.
    let settings = settings_from_lookup(lookup(&[
        ("EXO_TENANT_ID", TENANT),
        ("EXO_ENVIRONMENT", "gcc-high"),
        ("EXO_CREDENTIAL", "azure-cli"),
    ]))
    .unwrap()
    .unwrap();
    let request = TokenRequest::new(Environment::GccHigh.scope());
    let token = settings.provider.token(&request).await.unwrap();
    assert_eq!(token.secret().expose_secret(), "fake-cli-token");
    assert_eq!(token.expires_at().unwrap().timestamp(), EXPIRES_ON);
    let again = settings.provider.token(&request).await.unwrap();
    assert_eq!(again.secret().expose_secret(), "fake-cli-token");
    let seen = runs(&log);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let args = &seen[0];
    for expected in [
        "account",
        "get-access-token",
        "--scope",
        "https://outlook.office365.us/.default",
        "--tenant",
        TENANT,
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "{expected} not in {args:?}"
        );
    }
    assert!(!format!("{settings:?}").contains("fake-cli-token"));

    // The adapter on its own: the default scope is the configured cloud's.
    let cli = AzureCredential::azure_cli(&Environment::Commercial, None).unwrap();
    assert_eq!(cli.scope(), "https://outlook.office365.com/.default");
    let token = cli.token(&TokenRequest::new("")).await.unwrap();
    assert_eq!(token.secret().expose_secret(), "fake-cli-token");
    let seen = runs(&log);
    assert!(
        seen[1]
            .iter()
            .any(|a| a == "https://outlook.office365.com/.default"),
        "{seen:?}"
    );
    assert!(!seen[1].iter().any(|a| a == "--tenant"), "{seen:?}");

    // A failing CLI is an error, not a panic, and names the credential.
    let failing = AzureCredential::of_kind(
        AzureCredentialKind::AzureCli,
        &Environment::Commercial,
        &TenantId::parse("fail.example").unwrap(),
        None,
    )
    .unwrap();
    let err = failing
        .token(&TokenRequest::new(Environment::Commercial.scope()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AzureCliCredential"), "{err}");

    // Bad selections are refused with the variable named.
    for vars in [
        vec![("EXO_TENANT_ID", TENANT), ("EXO_CREDENTIAL", "browser")],
        vec![
            ("EXO_TENANT_ID", TENANT),
            ("EXO_CREDENTIAL", "azure-cli"),
            ("EXO_ACCESS_TOKEN", "t"),
        ],
    ] {
        let err = settings_from_lookup(lookup(&vars)).unwrap_err();
        assert!(
            matches!(
                &err,
                FromEnvError::Invalid {
                    variable: "EXO_CREDENTIAL",
                    ..
                }
            ),
            "{vars:?}: {err:?}"
        );
    }
    let err = settings_from_lookup(lookup(&[("EXO_CREDENTIAL", "azure-cli")])).unwrap_err();
    assert_eq!(err.missing(), ["EXO_TENANT_ID"]);
    // Every kind parses.
    for kind in [
        AzureCredentialKind::ManagedIdentity,
        AzureCredentialKind::WorkloadIdentity,
        AzureCredentialKind::AzureCli,
        AzureCredentialKind::DeveloperTools,
    ] {
        assert_eq!(kind.as_str().parse::<AzureCredentialKind>().unwrap(), kind);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
