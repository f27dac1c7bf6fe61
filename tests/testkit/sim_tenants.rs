//! One simulator serving several tenants, and its Entra-like token endpoint, used through the
//! crate's own `ClientCredentials` and `HttpExchangeClient` and through plain HTTP.

use std::sync::Arc;
use std::time::Duration;

use exchange_activesync::auth::{
    ClientCertificate, ClientCredentials, TokenClaims, TokenProvider, TokenRequest,
};
use exchange_activesync::cmdlets::GetMobileDevice;
use exchange_activesync::{AuthError, Environment, Error, ExchangeClientExt, HttpExchangeClient};
use exchange_activesync_testkit::{
    FaultPlan, RbacProfile, Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder,
    TenantSettings,
};

const GET_DEVICES: &str = r#"{"CmdletInput":{"CmdletName":"Get-MobileDevice","Parameters":{}}}"#;

async fn three() -> SimulatorHandle {
    Simulator::start(SimulatorConfig::tenants(3, 40))
        .await
        .expect("simulator")
}

fn env(sim: &SimulatorHandle) -> Environment {
    Environment::custom(sim.base_url().as_str()).expect("loopback endpoint")
}

fn credentials(sim: &SimulatorHandle, tenant: &str, secret: &str) -> ClientCredentials {
    ClientCredentials::with_secret(&env(sim), tenant, sim.app().client_id.clone(), secret)
        .expect("provider")
        .with_authority(&sim.authority())
        .expect("loopback authority")
}

async fn token_of(sim: &SimulatorHandle, tenant: &str) -> String {
    let token = credentials(sim, tenant, &sim.app().client_secret)
        .token(&TokenRequest::new(""))
        .await
        .expect("token");
    token.secret().expose_secret_for_test()
}

/// Reads the secret of an `AccessToken` (tests only).
trait ExposeForTest {
    fn expose_secret_for_test(&self) -> String;
}

impl ExposeForTest for secrecy::SecretString {
    fn expose_secret_for_test(&self) -> String {
        use secrecy::ExposeSecret as _;
        self.expose_secret().to_string()
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn invoke(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(GET_DEVICES)
        .send()
        .await
        .expect("answer")
}

async fn rejected(provider: &ClientCredentials, scope: &str) -> AuthError {
    provider
        .token(&TokenRequest::new(scope))
        .await
        .expect_err("the token endpoint refuses")
}

#[tokio::test]
async fn routes_by_guid_and_by_domain_case_insensitive_each_tenant_its_own_data() {
    let sim = three().await;
    let ids = sim.tenant_ids();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], sim.tenant_id(), "the primary tenant comes first");
    let mut counts = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let t = sim.tenant_state(id).expect("served");
        assert_eq!(t.index(), i);
        assert_eq!(t.domain(), format!("tenant{:02}.onmicrosoft.com", i + 1));
        let expected = t.tenant().devices().count();
        for segment in [id.to_uppercase(), t.domain().to_uppercase()] {
            let url = format!("{}adminapi/beta/{segment}/InvokeCommand", sim.base_url());
            let answer = invoke(&url, t.token()).await;
            assert_eq!(answer.status(), 200, "{segment}");
            let body: serde_json::Value = answer.json().await.expect("json");
            assert_eq!(body["value"].as_array().map(Vec::len), Some(expected));
            let first = body["value"][0]["Guid"].as_str().unwrap_or_default();
            assert!(
                t.tenant().devices().any(|d| d.guid.to_string() == first),
                "{segment}: a device of another tenant"
            );
        }
        assert_eq!(t.request_count(), 2);
        assert!(t.calls().iter().all(|c| c.tenant_id == *id));
        counts.push(t.tenant().devices().next().map(|d| d.guid));
    }
    counts.dedup();
    assert_eq!(counts.len(), 3, "each tenant has its own seeded data");
    assert_eq!(sim.calls().len(), 6);
}

#[tokio::test]
async fn one_tenants_load_never_counts_against_anothers_cap() {
    // Every tenant allows two requests at a time; each answer takes 400 ms, so the five
    // concurrent requests sent to the first tenant overlap.
    let plan = FaultPlan::new()
        .max_in_flight(2)
        .latency(Duration::from_millis(400));
    let sim = Simulator::start(SimulatorConfig::tenants(3, 41).faults(plan))
        .await
        .expect("simulator");
    let a = sim.tenant_at(0).expect("first");
    let b = sim.tenant_at(1).expect("second");
    let mut tasks = Vec::new();
    for (t, n) in [(&a, 5), (&b, 2)] {
        for _ in 0..n {
            let (url, token) = (t.invoke_url(), t.token().to_string());
            tasks.push(tokio::spawn(async move {
                invoke(&url, &token).await.status().as_u16()
            }));
        }
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let (of_a, of_b) = statuses.split_at(5);
    assert_eq!(of_a.iter().filter(|s| **s == 429).count(), 3, "{of_a:?}");
    assert_eq!(a.concurrency_rejections(), 3);
    assert_eq!(
        of_b,
        [200, 200],
        "the second tenant is not throttled by the first's load"
    );
    assert_eq!(b.concurrency_rejections(), 0);
    assert_eq!(b.peak_in_flight(), 2);
    assert_eq!(a.max_in_flight(), Some(2));
    // A cap set on one tenant leaves the others alone.
    b.set_max_in_flight(Some(1));
    assert_eq!(a.max_in_flight(), Some(2));
    assert_eq!(sim.tenant_at(2).and_then(|t| t.max_in_flight()), Some(2));
}

#[tokio::test]
async fn unknown_tenant_is_401_on_the_admin_api_and_aadsts90002_at_the_token_endpoint() {
    let sim = three().await;
    let unknown = "99999999-0000-4000-8000-000000000000";
    let url = format!("{}adminapi/beta/{unknown}/InvokeCommand", sim.base_url());
    let answer = invoke(&url, sim.token()).await;
    assert_eq!(answer.status(), 401);
    assert!(answer.headers().contains_key("www-authenticate"));

    let err = rejected(&credentials(&sim, unknown, &sim.app().client_secret), "").await;
    match &err {
        AuthError::Rejected {
            status,
            error,
            description,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(error, "invalid_request");
            assert!(
                description.starts_with(&format!("AADSTS90002: Tenant '{unknown}' not found.")),
                "{description}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(err.aadsts_code(), Some(90002));
}

#[tokio::test]
async fn token_endpoint_errors_are_entra_s_and_typed_without_the_secret() {
    let sim = three().await;
    let id = sim.tenant_ids()[1].clone();

    // Wrong secret.
    let wrong = "Not-The-S3cret";
    let err = rejected(&credentials(&sim, &id, wrong), "").await;
    assert!(
        matches!(&err, AuthError::Rejected { status: 401, error, .. } if error == "invalid_client")
    );
    assert_eq!(err.aadsts_code(), Some(7000215));
    for rendered in [err.to_string(), format!("{err:?}")] {
        assert!(!rendered.contains(wrong), "{rendered}");
        assert!(!rendered.contains(&sim.app().client_secret), "{rendered}");
    }

    // An application the directory does not know.
    let stranger = ClientCredentials::with_secret(
        &env(&sim),
        &id,
        "00000000-1111-4222-8333-444444444444",
        sim.app().client_secret.clone(),
    )
    .and_then(|c| c.with_authority(&sim.authority()))
    .expect("provider");
    let err = rejected(&stranger, "").await;
    assert!(
        matches!(&err, AuthError::Rejected { status: 400, error, description }
        if error == "unauthorized_client"
            && description.contains("Application with identifier '00000000-1111-4222-8333-444444444444' was not found in the directory"))
    );
    assert_eq!(err.aadsts_code(), Some(700016));

    // A scope that is not Exchange's.
    let good = credentials(&sim, &id, &sim.app().client_secret);
    let err = rejected(&good, "https://graph.microsoft.com/.default").await;
    assert!(
        matches!(&err, AuthError::Rejected { status: 400, error, .. } if error == "invalid_scope")
    );
    assert_eq!(err.aadsts_code(), Some(70011));

    // The whole body, as another client sees it.
    let answer = reqwest::Client::new()
        .post(sim.tenant_at(1).expect("second").token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sim.app().client_id.as_str()),
            ("scope", "https://outlook.office365.com/.default"),
        ]))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 401);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], serde_json::json!([7000218]));
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(
            body[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS7000218: ") && d.contains("\r\nTrace ID: ")),
        "{body}"
    );
    assert_eq!(sim.tenant_at(1).expect("second").tokens_issued(), 0);
}

#[tokio::test]
async fn client_credentials_token_of_one_tenant_works_there_and_only_there() {
    let sim = three().await;
    let ids = sim.tenant_ids();
    let (x, other) = (&ids[2], &ids[0]);
    let first = token_of(&sim, x).await;
    let second = token_of(&sim, x).await;
    assert_ne!(first, second, "every issue gives a different token");
    let claims = TokenClaims::decode(&first).expect("a JWT");
    assert_eq!(claims.tid.as_deref(), Some(x.as_str()));
    let of_other = token_of(&sim, other).await;
    assert_eq!(
        TokenClaims::decode(&of_other)
            .and_then(|c| c.tid)
            .as_deref(),
        Some(other.as_str())
    );

    // The crate's own client, built with the provider and the endpoint override.
    let provider = credentials(&sim, x, &sim.app().client_secret).cached();
    let client = HttpExchangeClient::builder()
        .environment(env(&sim))
        .tenant(x.clone())
        .token_provider(Arc::new(provider))
        .build()
        .expect("client");
    let listing = client
        .get_mobile_device(GetMobileDevice::new())
        .await
        .expect("enumeration");
    let t = sim.tenant_state(x).expect("served");
    assert_eq!(listing.items.len(), t.tenant().devices().count());
    assert_eq!(t.tokens_issued(), 3);

    // Tenant X's token on another tenant's URLs: 401 with the challenge, as the service.
    let o = sim.tenant_state(other).expect("served");
    let answer = invoke(&o.invoke_url(), &first).await;
    assert_eq!(answer.status(), 401);
    assert!(answer.headers().contains_key("www-authenticate"));
    let answer = reqwest::Client::new()
        .get(o.module_file_url())
        .bearer_auth(&first)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 401);
    // The fixed token of one tenant is refused on another too.
    assert_eq!(invoke(&o.invoke_url(), t.token()).await.status(), 401);
    assert_eq!(invoke(&t.invoke_url(), &first).await.status(), 200);

    // Rotating a tenant's tokens expires the issued ones as well.
    t.rotate_token();
    assert_eq!(invoke(&t.invoke_url(), &first).await.status(), 401);
    assert_eq!(
        invoke(&t.invoke_url(), &token_of(&sim, x).await)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_forged_or_foreign_token_is_refused_even_with_accept_any_token() {
    let config = SimulatorConfig::tenants(2, 42).accept_any_token(true);
    let sim = Simulator::start(config).await.expect("simulator");
    let (a, b) = (sim.tenant_at(0).expect("a"), sim.tenant_at(1).expect("b"));
    assert_eq!(invoke(&a.invoke_url(), "anything").await.status(), 200);
    assert_eq!(invoke(&a.invoke_url(), b.token()).await.status(), 401);
    assert_eq!(invoke(&b.invoke_url(), a.token()).await.status(), 401);
    assert_eq!(invoke(&b.invoke_url(), b.token()).await.status(), 200);
}

#[tokio::test]
async fn an_unconsented_tenant_issues_no_token_and_refuses_every_request() {
    let sim = Simulator::start(
        SimulatorConfig::tenants(3, 43).configure_tenant(1, |s| s.unconsented = true),
    )
    .await
    .expect("simulator");
    let t = sim.tenant_at(1).expect("second");
    assert!(!t.consented());
    let err = rejected(&credentials(&sim, t.domain(), &sim.app().client_secret), "").await;
    assert!(
        matches!(&err, AuthError::Rejected { status: 400, error, description }
        if error == "unauthorized_client"
            && description.contains(&format!("was not found in the directory '{}'", t.domain())))
    );
    assert_eq!(err.aadsts_code(), Some(700016));
    assert_eq!(t.token_requests(), 1);
    assert_eq!(invoke(&t.invoke_url(), t.token()).await.status(), 401);

    // The client sees the typed auth error.
    let client = HttpExchangeClient::builder()
        .environment(env(&sim))
        .tenant(t.tenant_id())
        .token_provider(Arc::new(credentials(
            &sim,
            t.tenant_id(),
            &sim.app().client_secret,
        )))
        .build()
        .expect("client");
    let err = client
        .get_mobile_device(GetMobileDevice::new())
        .await
        .expect_err("no token");
    assert!(
        matches!(&err, Error::Auth(a) if a.aadsts_code() == Some(700016)),
        "{err:?}"
    );

    // Consent granted: tokens are issued and accepted.
    t.set_consented(true);
    let token = token_of(&sim, t.tenant_id()).await;
    assert_eq!(invoke(&t.invoke_url(), &token).await.status(), 200);
    // The others were never affected.
    let other = sim.tenant_at(2).expect("third");
    assert_eq!(
        invoke(&other.invoke_url(), other.token()).await.status(),
        200
    );
}

#[tokio::test]
async fn a_certificate_assertion_is_checked_for_shape_issuer_and_audience() {
    let sim = three().await;
    let id = sim.tenant_ids()[0].clone();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth");
    let cert = ClientCertificate::from_pem_file(format!("{fixtures}/combined.pem")).expect("cert");
    let provider =
        ClientCredentials::with_certificate(&env(&sim), &id, sim.app().client_id.clone(), cert)
            .and_then(|c| c.with_authority(&sim.authority()))
            .expect("provider");
    let token = provider.token(&TokenRequest::new("")).await.expect("token");
    let claims = TokenClaims::decode(&token.secret().expose_secret_for_test()).expect("JWT");
    assert_eq!(claims.tid.as_deref(), Some(id.as_str()));

    let post = |assertion: String| {
        let url = sim.tenant_at(0).expect("first").token_url();
        let client_id = sim.app().client_id.clone();
        async move {
            let answer = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("scope", "https://outlook.office365.com/.default"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ]))
                .send()
                .await
                .expect("answer");
            let status = answer.status().as_u16();
            let body: serde_json::Value = answer.json().await.expect("json");
            (status, body["error_codes"][0].as_u64())
        }
    };
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = chrono::Utc::now().timestamp();
    let jwt = |aud: String, iss: &str| {
        format!(
            "{}.{}.c2ln",
            b64(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
            b64(
                serde_json::json!({"aud": aud, "iss": iss, "sub": iss, "nbf": now, "exp": now + 600})
            )
        )
    };
    let client_id = sim.app().client_id.clone();
    let own = format!("{}{id}/oauth2/v2.0/token", sim.base_url());
    assert_eq!(post("not-a-jwt".into()).await, (401, Some(50027)));
    assert_eq!(
        post(jwt(own.clone(), "someone-else")).await,
        (401, Some(700021))
    );
    let foreign = format!(
        "{}{}/oauth2/v2.0/token",
        sim.base_url(),
        sim.tenant_ids()[1]
    );
    assert_eq!(post(jwt(foreign, &client_id)).await, (401, Some(50012)));
    assert_eq!(post(jwt(own, &client_id)).await.0, 200);
}

#[tokio::test]
async fn tenants_have_their_own_rbac_and_duplicates_are_refused() {
    let primary = TenantBuilder::new().seed(1).devices(3).build();
    let limited = TenantBuilder::new()
        .seed(2)
        .devices(3)
        .domain("limited.onmicrosoft.com")
        .rbac_profile(RbacProfile::ReadOnly)
        .build();
    let sim = Simulator::start(
        SimulatorConfig::new(primary.clone())
            .add_tenant_with(limited, TenantSettings::new().max_in_flight(1)),
    )
    .await
    .expect("simulator");
    let t = sim.tenant_state("LIMITED.onmicrosoft.com").expect("served");
    assert_eq!(t.max_in_flight(), Some(1));
    let wipe =
        r#"{"CmdletInput":{"CmdletName":"Clear-MobileDevice","Parameters":{"Identity":"x"}}}"#;
    let send = |url: String, token: String| async move {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(wipe)
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16()
    };
    assert_eq!(send(t.invoke_url(), t.token().into()).await, 403);
    assert_ne!(send(sim.invoke_url(), sim.token().into()).await, 403);

    let err = Simulator::start(SimulatorConfig::new(primary.clone()).add_tenant(primary))
        .await
        .expect_err("two tenants with one GUID");
    assert!(
        err.to_string().contains("share the tenant id or domain"),
        "{err}"
    );
}
