//! `EXO_*` variables → token provider, read through an injected lookup.

use exchange_activesync::auth::{
    FromEnvError, TokenRequest, provider_from_lookup, settings_from_lookup,
};
use exchange_activesync::{AuthError, Environment};
use secrecy::ExposeSecret;

use crate::support::lookup as vars;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth");
const SECRET: &str = "env-s3cr3t-value";

fn missing_of(pairs: &[(&str, &str)]) -> Vec<&'static str> {
    match settings_from_lookup(vars(pairs)) {
        Err(FromEnvError::Missing(m)) => m,
        other => panic!("expected Missing, got {other:?}"),
    }
}

#[test]
fn nothing_set_is_none() {
    assert!(settings_from_lookup(vars(&[])).unwrap().is_none());
    // Tenant and environment alone are not a credential; empty values count as unset.
    assert!(
        settings_from_lookup(vars(&[
            ("EXO_TENANT_ID", "contoso.com"),
            ("EXO_ENVIRONMENT", "dod"),
            ("EXO_CLIENT_SECRET", " "),
        ]))
        .unwrap()
        .is_none()
    );
    assert!(
        provider_from_lookup(&Environment::Commercial, "t", vars(&[]))
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn access_token_becomes_a_static_token() {
    let s = settings_from_lookup(vars(&[
        ("EXO_TENANT_ID", "contoso.com"),
        ("EXO_ACCESS_TOKEN", "eyJ.static.sig"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(s.environment, Environment::Commercial);
    assert_eq!(s.tenant, "contoso.com");
    let token = s
        .provider
        .token(&TokenRequest::new(Environment::Commercial.scope()))
        .await
        .unwrap();
    assert_eq!(token.secret().expose_secret(), "eyJ.static.sig");
    assert!(!format!("{s:?}").contains("eyJ.static.sig"));

    assert_eq!(
        missing_of(&[("EXO_ACCESS_TOKEN", "eyJ.static.sig")]),
        vec!["EXO_TENANT_ID"]
    );
}

#[test]
fn missing_variables_are_named() {
    assert_eq!(
        missing_of(&[("EXO_CLIENT_ID", "app")]),
        vec![
            "EXO_TENANT_ID",
            "EXO_CLIENT_SECRET or EXO_CLIENT_CERTIFICATE"
        ]
    );
    assert_eq!(
        missing_of(&[("EXO_TENANT_ID", "t"), ("EXO_CLIENT_SECRET", SECRET)]),
        vec!["EXO_CLIENT_ID"]
    );
    assert_eq!(
        missing_of(&[
            ("EXO_TENANT_ID", "t"),
            ("EXO_CLIENT_ID", "app"),
            ("EXO_CLIENT_CERTIFICATE_KEY", "/k.pem"),
        ]),
        vec!["EXO_CLIENT_CERTIFICATE"]
    );
    let err = settings_from_lookup(vars(&[("EXO_CLIENT_SECRET", SECRET)])).unwrap_err();
    assert_eq!(err.missing(), ["EXO_TENANT_ID", "EXO_CLIENT_ID"]);
    let text = err.to_string();
    assert_eq!(
        text,
        "missing environment variable(s): EXO_TENANT_ID, EXO_CLIENT_ID"
    );
    assert!(!format!("{text} {err:?}").contains(SECRET));
    // Converts into the crate's errors.
    let auth: AuthError = err.into();
    assert!(matches!(auth, AuthError::InvalidCredential(m) if m.contains("EXO_CLIENT_ID")));

    // provider_from_lookup: an empty tenant argument is reported as EXO_TENANT_ID.
    let err = provider_from_lookup(
        &Environment::Commercial,
        "",
        vars(&[("EXO_CLIENT_ID", "app"), ("EXO_CLIENT_SECRET", SECRET)]),
    )
    .unwrap_err();
    assert_eq!(err.missing(), ["EXO_TENANT_ID"]);
}

#[test]
fn invalid_combinations_and_values() {
    let err = settings_from_lookup(vars(&[
        ("EXO_TENANT_ID", "t"),
        ("EXO_CLIENT_ID", "app"),
        ("EXO_CLIENT_SECRET", SECRET),
        ("EXO_CLIENT_CERTIFICATE", "/c.pem"),
    ]))
    .unwrap_err();
    assert!(matches!(err, FromEnvError::Invalid { .. }), "{err:?}");
    assert!(!err.to_string().contains(SECRET));

    let err = settings_from_lookup(vars(&[
        ("EXO_ENVIRONMENT", "mars"),
        ("EXO_ACCESS_TOKEN", "x"),
    ]))
    .unwrap_err();
    assert!(matches!(
        err,
        FromEnvError::Invalid {
            variable: "EXO_ENVIRONMENT",
            ..
        }
    ));

    let err = settings_from_lookup(vars(&[
        ("EXO_TENANT_ID", "t"),
        ("EXO_CLIENT_ID", "app"),
        ("EXO_CLIENT_CERTIFICATE", "/nonexistent/cert.pem"),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, FromEnvError::Credential(AuthError::InvalidCredential(m)) if m.contains("/nonexistent/cert.pem")),
        "{err:?}"
    );
}

#[test]
fn client_secret_from_env() {
    let s = settings_from_lookup(vars(&[
        ("EXO_TENANT_ID", "contoso.onmicrosoft.com"),
        ("EXO_ENVIRONMENT", "gcc-high"),
        ("EXO_CLIENT_ID", "app-id"),
        ("EXO_CLIENT_SECRET", SECRET),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(s.environment, Environment::GccHigh);
    let debug = format!("{s:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("CachingTokenProvider"), "{debug}");
    assert!(
        debug
            .contains("https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token"),
        "{debug}"
    );
    assert!(debug.contains("app-id"));
}

#[test]
fn certificate_from_env_in_one_or_two_files() {
    let one = settings_from_lookup(vars(&[
        ("EXO_TENANT_ID", "t"),
        ("EXO_CLIENT_ID", "app"),
        (
            "EXO_CLIENT_CERTIFICATE",
            &format!("{FIXTURES}/combined.pem"),
        ),
    ]))
    .unwrap()
    .unwrap();
    let two = provider_from_lookup(
        &Environment::Commercial,
        "t",
        vars(&[
            ("EXO_CLIENT_ID", "app"),
            ("EXO_CLIENT_CERTIFICATE", &format!("{FIXTURES}/cert.pem")),
            (
                "EXO_CLIENT_CERTIFICATE_KEY",
                &format!("{FIXTURES}/key-pkcs1.pem"),
            ),
        ]),
    )
    .unwrap()
    .unwrap();
    for debug in [format!("{one:?}"), format!("{two:?}")] {
        assert!(
            debug.contains("ECCC3F4D46EA17FF3C3565E0311546845FBD7454"),
            "{debug}"
        );
        assert!(!debug.contains("PRIVATE KEY"));
    }
}
