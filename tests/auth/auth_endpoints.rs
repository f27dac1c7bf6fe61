//! Where credentials may go: the endpoint and login-host policy (`EXO_ENDPOINT`,
//! `EXO_AUTHORITY`, `EXO_ALLOW_CUSTOM_ENDPOINT`, [`ClientBuilder::allow_custom_endpoint`]),
//! tenant validation wherever a tenant is used, and the bounded token response.

use std::sync::Arc;

use exchange_activesync::auth::{
    ClientCredentials, FromEnvError, StaticToken, TokenProvider, TokenRequest, settings_from_lookup,
};
use exchange_activesync::environment::{EndpointRefusal, TenantId, check_endpoint, is_loopback};
use exchange_activesync::http::client_from_lookup;
use exchange_activesync::protocol::{
    Invocation, Parameters, RequestContext, RoutingHint, invoke_url, prepare_invoke,
};
use exchange_activesync::{AuthError, ClientBuilder, Environment, Error, HttpExchangeClient};
use secrecy::ExposeSecret as _;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::lookup;

const TENANT: &str = "11111111-2222-3333-4444-555555555555";

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn builder(env: Environment) -> ClientBuilder {
    HttpExchangeClient::builder()
        .tenant(TENANT)
        .environment(env)
        .token_provider(Arc::new(StaticToken::new("token-value")))
}

#[test]
fn custom_https_endpoint_outside_the_cloud_needs_an_opt_in() {
    for host in [
        "https://proxy.example",
        "https://10.0.0.1",
        "https://outlook.office365.com.evil.example",
        "https://localhost:8443",
        "https://outlook.office365.com:8443",
    ] {
        let env = Environment::custom(host).unwrap();
        let err = builder(env.clone()).build().unwrap_err();
        match &err {
            Error::Endpoint(e) => {
                assert!(
                    matches!(e.reason, EndpointRefusal::NotAllowed { .. }),
                    "{host}: {e:?}"
                );
                let text = err.to_string();
                assert!(text.contains("allow_custom_endpoint"), "{text}");
                assert!(text.contains("EXO_ALLOW_CUSTOM_ENDPOINT"), "{text}");
            }
            other => panic!("{host}: expected an endpoint error, got {other:?}"),
        }
        let client = builder(env).allow_custom_endpoint(true).build();
        assert!(client.is_ok(), "{host}: {client:?}");
    }
    // The cloud's own hosts (and regional subdomains) and literal loopback need no opt-in.
    for ok in [
        "https://outlook.office365.com",
        "https://emea.outlook.office365.com",
        "http://127.0.0.1:8080",
        "http://127.3.4.5:1",
        "http://[::1]:9000",
        "https://127.0.0.1:8443",
    ] {
        let client = builder(Environment::custom(ok).unwrap()).build();
        assert!(client.is_ok(), "{ok}: {client:?}");
    }
    // A custom endpoint belongs to the cloud whose scope it requests.
    let gcc_scope_on_commercial_host = Environment::Custom {
        base_url: url("https://outlook.office365.com"),
        scope: Environment::GccHigh.scope(),
        authority: Environment::GccHigh.authority(),
    };
    assert!(matches!(
        builder(gcc_scope_on_commercial_host).build(),
        Err(Error::Endpoint(_))
    ));
    // Plain http stays loopback-only, even with the opt-in.
    let plain = Environment::Custom {
        base_url: url("http://proxy.example"),
        scope: Environment::Commercial.scope(),
        authority: Environment::Commercial.authority(),
    };
    let err = builder(plain)
        .allow_custom_endpoint(true)
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Endpoint(e) if e.reason == EndpointRefusal::PlainHttp),
        "{err:?}"
    );
}

#[test]
fn localhost_is_not_loopback() {
    assert!(!is_loopback(&url("http://localhost:8080")));
    assert!(!is_loopback(&url("http://LOCALHOST")));
    assert!(is_loopback(&url("http://127.0.0.1")));
    assert!(is_loopback(&url("http://[::1]")));
    let err = check_endpoint(&url("http://localhost:8080")).unwrap_err();
    assert!(matches!(err, Error::Endpoint(_)), "{err:?}");
    assert!(Environment::custom("http://localhost:8080").is_err());
    let cc = ClientCredentials::with_secret(&Environment::Commercial, TENANT, "cid", "s").unwrap();
    assert!(cc.with_authority(&url("http://localhost:8080")).is_err());
}

#[test]
fn exo_endpoint_outside_the_cloud_needs_exo_allow_custom_endpoint() {
    let base = [
        ("EXO_TENANT_ID", "contoso.onmicrosoft.com"),
        ("EXO_ACCESS_TOKEN", "token-value"),
        ("EXO_ENDPOINT", "https://exo-proxy.example"),
    ];
    let err = client_from_lookup(lookup(&base)).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Endpoint(_)), "{err:?}");
    assert!(text.contains("EXO_ENDPOINT"), "{text}");
    assert!(text.contains("EXO_ALLOW_CUSTOM_ENDPOINT=1"), "{text}");
    assert!(!text.contains("token-value"), "{text}");

    for yes in ["1", "true", "YES"] {
        let mut vars = base.to_vec();
        vars.push(("EXO_ALLOW_CUSTOM_ENDPOINT", yes));
        let client = client_from_lookup(lookup(&vars)).unwrap().unwrap();
        assert_eq!(client.base_url().as_str(), "https://exo-proxy.example/");
    }
    for no in ["0", "false"] {
        let mut vars = base.to_vec();
        vars.push(("EXO_ALLOW_CUSTOM_ENDPOINT", no));
        assert!(matches!(
            client_from_lookup(lookup(&vars)),
            Err(Error::Endpoint(_))
        ));
    }
    let mut vars = base.to_vec();
    vars.push(("EXO_ALLOW_CUSTOM_ENDPOINT", "maybe"));
    let err = client_from_lookup(lookup(&vars)).unwrap_err();
    assert!(
        err.to_string().contains("EXO_ALLOW_CUSTOM_ENDPOINT"),
        "{err}"
    );

    // The cloud's own host needs no opt-in; another cloud's host does.
    let client = client_from_lookup(lookup(&[
        ("EXO_TENANT_ID", "contoso.onmicrosoft.com"),
        ("EXO_ACCESS_TOKEN", "token-value"),
        ("EXO_ENDPOINT", "https://apac.outlook.office365.com"),
    ]));
    assert!(client.is_ok(), "{client:?}");
    let err = client_from_lookup(lookup(&[
        ("EXO_TENANT_ID", "contoso.onmicrosoft.com"),
        ("EXO_ENVIRONMENT", "gcc-high"),
        ("EXO_ACCESS_TOKEN", "token-value"),
        ("EXO_ENDPOINT", "https://outlook.office365.com"),
    ]))
    .unwrap_err();
    assert!(matches!(err, Error::Endpoint(_)), "{err:?}");
    // `localhost` is a name, not loopback: plain http to it is refused.
    let err = client_from_lookup(lookup(&[
        ("EXO_TENANT_ID", "contoso.onmicrosoft.com"),
        ("EXO_ACCESS_TOKEN", "token-value"),
        ("EXO_ENDPOINT", "http://localhost:8080"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}

fn cc_vars<'a>(authority: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("EXO_TENANT_ID", TENANT),
        ("EXO_CLIENT_ID", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        ("EXO_CLIENT_SECRET", "s3cr3t-value"),
        ("EXO_AUTHORITY", authority),
    ];
    vars.extend_from_slice(extra);
    vars
}

#[tokio::test]
async fn exo_authority_sets_the_login_host_with_the_same_rules() {
    // Refused: another https host without the opt-in, another cloud's login host, plain
    // http to a non-loopback host (even with the opt-in), `localhost`.
    for (bad, extra) in [
        ("https://login.evil.example", vec![]),
        ("https://login.microsoftonline.us", vec![]),
        ("http://login.microsoftonline.com", vec![]),
        (
            "http://10.0.0.1:8080",
            vec![("EXO_ALLOW_CUSTOM_ENDPOINT", "1")],
        ),
        ("http://localhost:8080", vec![]),
        ("not a url", vec![]),
    ] {
        let err = settings_from_lookup(lookup(&cc_vars(bad, &extra))).unwrap_err();
        assert!(
            matches!(
                &err,
                FromEnvError::Invalid {
                    variable: "EXO_AUTHORITY",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
        assert!(!err.to_string().contains("s3cr3t-value"));
    }
    // Accepted: the cloud's login host, or any https host with the opt-in.
    for (ok, extra) in [
        ("https://login.microsoftonline.com", vec![]),
        (
            "https://login.example",
            vec![("EXO_ALLOW_CUSTOM_ENDPOINT", "1")],
        ),
    ] {
        let settings = settings_from_lookup(lookup(&cc_vars(ok, &extra)));
        assert!(settings.is_ok(), "{ok}: {settings:?}");
    }
    let gcc = settings_from_lookup(lookup(&cc_vars(
        "https://login.microsoftonline.us",
        &[("EXO_ENVIRONMENT", "gcc-high")],
    )));
    assert!(gcc.is_ok(), "{gcc:?}");

    // A loopback authority receives the token request.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "from-loopback",
            "token_type": "Bearer",
            "expires_in": 3599
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings_from_lookup(lookup(&cc_vars(&server.uri(), &[])))
        .unwrap()
        .unwrap();
    let token = settings
        .provider
        .token(&TokenRequest::new(Environment::Commercial.scope()))
        .await
        .unwrap();
    assert_eq!(token.secret().expose_secret(), "from-loopback");
}

const BAD_TENANTS: &[&str] = &[
    "",
    " ",
    "contoso.com\r\nX-Injected: 1",
    "contoso.com\n",
    " contoso.com",
    "contoso com",
    "a..b",
    ".contoso.com",
    "contoso.com.",
    "-contoso.com",
    "contoso-.com",
    "contoso.-com",
    "con_toso.com",
    "a/b",
    "../x",
    "a?b",
    "a#b",
    "a%2fb",
    "contoso\u{7f}.com",
    "contoso\u{0}.com",
    "cöntoso.com",
    "{11111111-2222-3333-4444-555555555555}",
    "urn:uuid:11111111-2222-3333-4444-555555555555",
];

fn long_tenants() -> Vec<String> {
    vec![
        format!("{}.com", "a".repeat(64)),
        vec!["abcdefghi"; 26].join("."), // 259 characters
    ]
}

#[test]
fn tenant_ids_are_a_guid_or_a_dns_name() {
    for ok in [
        TENANT,
        "11111111-2222-3333-4444-5555555555AA",
        "contoso.onmicrosoft.com",
        "t",
        "xn--cntoso-wxa.example",
        "a-b.c-d.example",
    ] {
        assert_eq!(TenantId::parse(ok).unwrap().as_str(), ok);
    }
    assert!(TenantId::parse(TENANT).unwrap().is_guid());
    assert!(!TenantId::parse("contoso.com").unwrap().is_guid());
    assert!(TenantId::parse(&format!("{}.com", "a".repeat(63))).is_ok());
    let long = long_tenants();
    let bad = BAD_TENANTS
        .iter()
        .copied()
        .chain(long.iter().map(String::as_str));
    for bad in bad {
        let err = TenantId::parse(bad).unwrap_err();
        let text = err.to_string();
        assert!(
            !text.chars().any(char::is_control),
            "{bad:?}: control characters in {text:?}"
        );
        assert!(text.contains("tenant"), "{text}");
    }
    let err = TenantId::parse("contoso.com\r\nX-Injected: 1").unwrap_err();
    assert!(err.input.contains("\\r\\n"), "{err:?}");
}

#[test]
fn every_use_of_a_tenant_refuses_a_bad_one() {
    let base = url("https://outlook.office365.com");
    let long = long_tenants();
    let bad = BAD_TENANTS
        .iter()
        .copied()
        .chain(long.iter().map(String::as_str));
    for bad in bad {
        // The client builder (URL path and headers).
        let err = HttpExchangeClient::builder()
            .tenant(bad)
            .token_provider(Arc::new(StaticToken::new("t")))
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidTenant(_) | Error::Config(_)),
            "{bad:?}: {err:?}"
        );
        // The URL of the admin API.
        assert!(
            matches!(invoke_url(&base, bad, &[]), Err(Error::InvalidTenant(_))),
            "{bad:?}"
        );
        // The token URL.
        let err = ClientCredentials::with_secret(&Environment::Commercial, bad, "cid", "secret")
            .unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidTenant(_)),
            "{bad:?}: {err:?}"
        );
        // The environment variables.
        if !bad.trim().is_empty() {
            let err = settings_from_lookup(lookup(&[
                ("EXO_TENANT_ID", bad),
                ("EXO_ACCESS_TOKEN", "token-value"),
            ]))
            .unwrap_err();
            assert!(
                matches!(
                    &err,
                    FromEnvError::Invalid {
                        variable: "EXO_TENANT_ID",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
            let err = client_from_lookup(lookup(&[
                ("EXO_TENANT_ID", bad),
                ("EXO_ACCESS_TOKEN", "token-value"),
            ]))
            .unwrap_err();
            assert!(matches!(err, Error::InvalidTenant(_)), "{bad:?}: {err:?}");
        }
    }
    // A tenant in a routing header is checked too.
    let invocation =
        Invocation::new("Get-MobileDevice", Parameters::new()).routing(RoutingHint::App {
            tenant: "contoso.com\r\nX-Injected: 1".into(),
        });
    let ctx = RequestContext {
        connection_id: uuid::Uuid::nil(),
        default_routing: None,
        user_agent: "ua".into(),
    };
    let err = prepare_invoke(&base, "contoso.com", &invocation, &ctx, None).unwrap_err();
    assert!(matches!(err, Error::InvalidTenant(_)), "{err:?}");
}

#[tokio::test]
async fn oversized_token_response_is_refused() {
    let server = MockServer::start().await;
    let padding = "x".repeat(100 * 1024);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "big",
            "token_type": "Bearer",
            "expires_in": 3599,
            "padding": padding,
        })))
        .mount(&server)
        .await;
    let provider = ClientCredentials::with_secret(&Environment::Commercial, TENANT, "cid", "s")
        .unwrap()
        .with_authority(&url(&server.uri()))
        .unwrap();
    let err = provider
        .token(&TokenRequest::new(Environment::Commercial.scope()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthError::ResponseTooLarge { limit: 65536 }),
        "{err:?}"
    );
    // An error body is bounded the same way.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("e".repeat(70 * 1024)))
        .mount(&server)
        .await;
    let provider = ClientCredentials::with_secret(&Environment::Commercial, TENANT, "cid", "s")
        .unwrap()
        .with_authority(&url(&server.uri()))
        .unwrap();
    let err = provider
        .token(&TokenRequest::new(Environment::Commercial.scope()))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::ResponseTooLarge { .. }), "{err:?}");
}
