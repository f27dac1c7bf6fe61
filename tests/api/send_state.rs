//! Send-state and outcome classification: what a failed (destructive) call tells the caller
//! about whether the service acted, end to end against the simulator and the fake.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use exchange_activesync::Cmdlet as _;
use exchange_activesync::ExchangeClientExt;
use exchange_activesync::auth::{AccessToken, StaticToken, TokenProvider, TokenRequest};
use exchange_activesync::connector::{WipeConfirmation, WipeError, WipeRequest, remote_wipe};
use exchange_activesync::error::{AuthError, SendState};
use exchange_activesync::http::{HttpExchangeClient, RetryPolicy, TimeoutConfig};
use exchange_activesync::protocol::{Parameters, RoutingHint};
use exchange_activesync::types::MobileDeviceIdentity;
use exchange_activesync::{Environment, Error, ExchangeClient, async_trait};
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, Fault, FaultStep, FaultTimes, RbacProfile, Scripted, Simulator,
    SimulatorConfig, SimulatorHandle, Tenant, TenantBuilder, Times, refused_endpoint,
};
use uuid::Uuid;

fn tenant() -> Tenant {
    TenantBuilder::new()
        .seed(7)
        .mailboxes(4)
        .devices(6)
        .rbac_profile(RbacProfile::Full)
        .build()
}

/// A token provider that counts its calls: one per attempt.
#[derive(Debug)]
struct Counting {
    token: String,
    calls: AtomicU32,
}

#[async_trait]
impl TokenProvider for Counting {
    async fn token(&self, _: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        StaticToken::new(self.token.clone())
            .token(&TokenRequest::new("scope"))
            .await
    }
}

fn client_for(base: &str, tenant_id: &str, tokens: Arc<dyn TokenProvider>) -> HttpExchangeClient {
    HttpExchangeClient::builder()
        .environment(Environment::custom(base).expect("loopback endpoint"))
        .tenant(tenant_id)
        .token_provider(tokens)
        .retry_policy(RetryPolicy::default().with_jitter(0.0))
        .timeouts(TimeoutConfig::none())
        .build()
        .expect("client")
}

fn sim_client(sim: &SimulatorHandle) -> HttpExchangeClient {
    client_for(
        sim.base_url().as_str(),
        sim.tenant_id(),
        Arc::new(StaticToken::new(sim.token())),
    )
}

fn first_device(t: &Tenant) -> (Uuid, MobileDeviceIdentity) {
    let d = t.devices().next().expect("a device");
    (
        d.guid,
        MobileDeviceIdentity::new(t.device_identity(d)).expect("identity"),
    )
}

async fn wipe(client: &dyn ExchangeClient, id: &MobileDeviceIdentity) -> Result<(), WipeError> {
    remote_wipe(
        client,
        &WipeRequest::full(id.clone()),
        WipeConfirmation::i_understand_this_erases(id),
    )
    .await
    .map(|_| ())
}

/// Every line of the chain `e`, `e.source()`, … is distinct.
fn assert_chain_does_not_repeat(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut lines = Vec::new();
    let mut next = Some(e);
    while let Some(cause) = next {
        let line = cause.to_string();
        assert!(!lines.contains(&line), "{line:?} twice in {lines:#?}");
        lines.push(line);
        next = cause.source();
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_answers_after_the_wipe_ran_are_outcome_unknown() {
    let faults = [
        Fault::AfterRun(Failure::BadGateway),
        Fault::AfterRun(Failure::GatewayTimeout),
        Fault::AfterRun(Failure::InternalServerError),
        Fault::AfterRun(Failure::HtmlPage),
        Fault::ResetMidBody,
    ];
    for fault in faults {
        let sim = Simulator::start(SimulatorConfig::new(tenant()))
            .await
            .unwrap();
        let (guid, id) = first_device(&sim.tenant());
        sim.push_fault(FaultStep::new(
            Some("Clear-MobileDevice"),
            fault.clone(),
            FaultTimes::Always,
        ));
        let client = sim_client(&sim);
        let before = sim.request_count();
        let err = wipe(&client, &id)
            .await
            .expect_err("the wipe's answer is bad");
        assert!(
            matches!(err, WipeError::OutcomeUnknown { .. }),
            "{fault:?}: {err:?}"
        );
        // One statistics read and one wipe: never re-sent.
        assert_eq!(sim.request_count() - before, 2, "{fault:?}: re-sent");
        assert!(
            sim.tenant().device(&guid).unwrap().wipe.is_pending(),
            "{fault:?}: the wipe was applied"
        );
        assert_chain_does_not_repeat(&err);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definite_refusals_are_failed() {
    let refusals = [
        Failure::PermissionDenied,
        Failure::InvalidValue {
            message: "bad".into(),
        },
    ];
    for failure in refusals {
        let sim = Simulator::start(SimulatorConfig::new(tenant()))
            .await
            .unwrap();
        let (guid, id) = first_device(&sim.tenant());
        sim.push_fault(FaultStep::new(
            Some("Clear-MobileDevice"),
            Fault::Fail(failure.clone()),
            FaultTimes::Always,
        ));
        let err = wipe(&sim_client(&sim), &id).await.unwrap_err();
        assert!(
            matches!(err, WipeError::Failed { .. }),
            "{failure:?}: {err:?}"
        );
        assert!(!sim.tenant().device(&guid).unwrap().wipe.is_pending());
    }
}

#[tokio::test]
async fn fake_after_run_faults_are_outcome_unknown() {
    for failure in [Failure::BadGateway, Failure::HtmlPage] {
        let f = FakeExchangeClient::new(tenant());
        let (guid, id) = first_device(&f.tenant());
        f.fail(
            Some("Clear-MobileDevice"),
            Scripted::AfterRun(failure.clone()),
            Times::Always,
        );
        let err = wipe(&f, &id).await.unwrap_err();
        assert!(
            matches!(err, WipeError::OutcomeUnknown { .. }),
            "{failure:?}: {err:?}"
        );
        assert!(f.tenant().device(&guid).unwrap().wipe.is_pending());
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_fails_fast_names_its_cause_and_a_wipe_is_failed() {
    let url = refused_endpoint().unwrap();
    let port = url.port().unwrap();
    let tokens = Arc::new(Counting {
        token: "t".into(),
        calls: AtomicU32::new(0),
    });
    let client = client_for(url.as_str(), "contoso.onmicrosoft.com", tokens.clone());
    let started = tokio::time::Instant::now();
    let err = client
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
        .unwrap_err();
    assert_eq!(tokens.calls.load(Ordering::SeqCst), 3, "two retries only");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "backoff of connect retries is short: {:?}",
        started.elapsed()
    );
    assert_eq!(err.send_state(), SendState::NotSent);
    let top = err.to_string();
    assert!(
        top.contains(&format!("connection refused by 127.0.0.1:{port}")),
        "{top}"
    );
    assert_chain_does_not_repeat(&err);

    let id = MobileDeviceIdentity::from_guid(Uuid::nil());
    let err = wipe(&client, &id).await.unwrap_err();
    assert!(matches!(err, WipeError::Failed { .. }), "{err:?}");
    let lines = assert_chain_does_not_repeat(&err);
    assert!(lines[0].contains("connection refused by"), "{lines:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_request_that_cannot_be_built_is_not_sent_and_not_retried() {
    let sim = Simulator::start(SimulatorConfig::new(tenant()))
        .await
        .unwrap();
    let (guid, id) = first_device(&sim.tenant());
    let tokens = Arc::new(Counting {
        token: sim.token().to_string(),
        calls: AtomicU32::new(0),
    });
    let client = client_for(sim.base_url().as_str(), sim.tenant_id(), tokens.clone());
    let invocation = WipeRequest::full(id.clone())
        .to_cmdlet()
        .invocation()
        .unwrap()
        .routing(RoutingHint::Raw("APP:bad\nvalue".into()));
    let before = sim.request_count();
    let err = client.invoke_page(&invocation, None).await.unwrap_err();
    assert_eq!(tokens.calls.load(Ordering::SeqCst), 1, "not retried: {err}");
    assert_eq!(sim.request_count(), before, "nothing reached the service");
    assert_eq!(err.send_state(), SendState::NotSent, "{err:?}");
    assert!(!err.may_have_acted());
    assert!(!err.is_retryable());
    assert!(!sim.tenant().device(&guid).unwrap().wipe.is_pending());
}

#[test]
fn the_concurrency_sentence_inside_a_5xx_body_does_not_prove_not_processed() {
    use exchange_activesync::ApiError;
    let mut e = ApiError::new(500, "Error executing cmdlet");
    e.body_snippet = format!(
        "{{\"error\":{{\"message\":\"Error executing cmdlet\",\"details\":\"{} (while running Clear-MobileDevice)\"}}}}",
        exchange_activesync::error::TENANT_CONCURRENCY_MESSAGE
    );
    assert!(!e.provably_not_processed());
    let err: Error = e.into();
    assert!(err.may_have_acted());
    let whole = ApiError::new(
        500,
        "You have reached the maximum number of concurrent requests per tenant. Please wait and try again",
    );
    assert!(whole.provably_not_processed());
    let plain_429 = Failure::ConcurrencyLimit.to_api_error(None, None);
    assert!(plain_429.provably_not_processed());
}

#[tokio::test]
async fn only_a_bounded_prefix_of_a_huge_error_body_is_kept() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let huge = vec![b'x'; 4 * 1024 * 1024];
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_bytes(huge))
        .mount(&server)
        .await;
    let client = client_for(
        &server.uri(),
        "contoso.onmicrosoft.com",
        Arc::new(StaticToken::new("t")),
    );
    let err = client
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    let kept = exchange_activesync::protocol::MAX_ERROR_BODY_BYTES;
    assert!(
        api.body_snippet
            .ends_with(&format!("({kept} bytes in all)")),
        "{}",
        &api.body_snippet[api.body_snippet.len().saturating_sub(40)..]
    );
}
