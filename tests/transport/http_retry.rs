//! Retry, throttling, timeout and token-refresh behaviour of `HttpExchangeClient`.

use exchange_activesync::ExchangeClientExt;
use std::sync::Arc;
use std::time::Duration;

use crate::http_support::*;
use exchange_activesync::error::{SendState, TimeoutKind};
use exchange_activesync::http::{HttpExchangeClient, RetryPolicy, TimeoutConfig};
use exchange_activesync::protocol::{Invocation, Parameters};
use exchange_activesync::{Environment, Error, ExchangeClient};
use serde_json::json;
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok_rows() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(envelope(json!([{"Identity":"org"}]), None, &[]))
}

/// Mount a first answer (once) followed by a 200.
async fn then_ok(server: &MockServer, first: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .respond_with(ok_rows())
        .mount(server)
        .await;
}

/// Run a read with paused time; return how much (virtual) time passed.
async fn timed_read(server: &MockServer, policy: RetryPolicy) -> Duration {
    // Paused time auto-advances while the test runtime waits for the mock server's
    // socket, so no attempt or call timeout is set here: only the retry pauses count.
    let client = builder(server)
        .retry_policy(policy)
        .timeouts(TimeoutConfig::none())
        .http_client(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let rows = client
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
        .unwrap();
    assert_eq!(rows.items.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn retry_after_in_seconds_is_honoured() {
    let server = server().await;
    then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "7"),
    )
    .await;
    let waited = timed_read(&server, RetryPolicy::default().with_jitter(0.0)).await;
    assert!(waited >= Duration::from_secs(7), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_in_fractional_seconds_is_honoured() {
    let server = server().await;
    then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "1.5"),
    )
    .await;
    let waited = timed_read(&server, RetryPolicy::default().with_jitter(0.0)).await;
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_http_date_is_honoured() {
    let server = server().await;
    then_ok(
        &server,
        ResponseTemplate::new(429)
            .insert_header("Date", "Tue, 01 Jul 2025 10:00:00 GMT")
            .insert_header("Retry-After", "Tue, 01 Jul 2025 10:00:09 GMT"),
    )
    .await;
    let waited = timed_read(&server, RetryPolicy::default().with_jitter(0.0)).await;
    assert!(waited >= Duration::from_secs(9), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn throttling_without_retry_after_backs_off() {
    let server = server().await;
    then_ok(&server, ResponseTemplate::new(429)).await;
    let policy = RetryPolicy::default()
        .with_backoff(Duration::from_secs(3), Duration::from_secs(60))
        .with_jitter(0.0);
    let waited = timed_read(&server, policy).await;
    assert!(waited >= Duration::from_secs(3), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn concurrency_limit_text_is_retried() {
    let server = server().await;
    then_ok(
        &server,
        ResponseTemplate::new(429).set_body_string(
            "You have reached the maximum number of concurrent requests per tenant. Please wait and try again",
        ),
    )
    .await;
    let waited = timed_read(
        &server,
        RetryPolicy::default()
            .with_backoff(Duration::from_secs(1), Duration::from_secs(1))
            .with_jitter(0.0),
    )
    .await;
    // `timed_read` asserts the call succeeded on its second request. How soon it went again is
    // not asserted: the throttle retries this answer without a backoff, and paused time jumps
    // ahead while the test waits for the mock server's socket, so only a lower bound on the
    // pause would be meaningful.
    let _ = waited;
}

#[tokio::test(start_paused = true)]
async fn retry_after_beyond_the_cap_waits_the_cap_or_fails_fast_on_request() {
    let server = server().await;
    then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
    )
    .await;
    let client = builder(&server).build().unwrap();
    client
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .expect("waited at the gate, then retried");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    drop(server);

    let server = crate::http_support::server().await;
    then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
    )
    .await;
    let client = builder(&server)
        .retry_policy(RetryPolicy::default().with_fail_fast_on_long_retry_after(true))
        .build()
        .unwrap();
    let err = client
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .unwrap_err();
    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn reads_are_retried_until_the_policy_gives_up_and_writes_are_not() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("request-id", "r-503"))
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let err = client
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .unwrap_err();
    match &err {
        Error::RetriesExhausted { attempts, .. } => assert_eq!(*attempts, 3),
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.api().unwrap().request_id.as_deref(), Some("r-503"));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    // A 503 may have run the cmdlet: a write is not repeated.
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let mut p = Parameters::new();
    p.string("DefaultAccessLevel", "Quarantine");
    let err = client
        .invoke_raw("Set-ActiveSyncOrganizationSettings", p)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn mutating_call_is_not_retried_after_an_attempt_timeout_but_a_read_is() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .respond_with(ok_rows().set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .respond_with(ok_rows())
        .mount(&server)
        .await;
    let client = builder(&server)
        .timeouts(TimeoutConfig::none().with_attempt(Some(Duration::from_millis(300))))
        .build()
        .unwrap();

    let mut p = Parameters::new();
    p.string("Identity", "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60");
    let err = client
        .invoke_raw("Clear-MobileDevice", p)
        .await
        .unwrap_err();
    match err {
        Error::Timeout { kind, .. } => assert_eq!(kind, TimeoutKind::Attempt),
        other => panic!("expected a per-attempt timeout, got {other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // The delayed answer is used up; make the next one slow again for the read.
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .respond_with(ok_rows().set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let rows = client
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .unwrap();
    assert_eq!(rows.items.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn whole_call_timeout_bounds_the_retries() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(50)
                .with_backoff(Duration::from_millis(100), Duration::from_millis(100))
                .with_jitter(0.0),
        )
        .timeouts(TimeoutConfig::none().with_call(Some(Duration::from_millis(350))))
        .build()
        .unwrap();
    let err = client
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .unwrap_err();
    let n = server.received_requests().await.unwrap().len();
    match &err {
        // The next retry would end after the deadline: the last answer.
        e if e.status() == Some(503) => assert!((2..=5).contains(&n), "{n} requests"),
        // A machine slow enough that an attempt was still running at the deadline.
        Error::Timeout {
            kind: TimeoutKind::Call,
            elapsed,
            ..
        } => {
            assert!(*elapsed >= Duration::from_millis(350), "{elapsed:?}");
            assert!((1..=5).contains(&n), "{n} requests");
        }
        other => panic!("neither the last answer nor the call timeout: {other:?}"),
    }
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_a_write() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = HttpExchangeClient::builder()
        .tenant(TENANT)
        .environment(Environment::custom(&format!("http://127.0.0.1:{port}")).unwrap())
        .token_provider(Arc::new(exchange_activesync::auth::StaticToken::new(
            SECRET,
        )))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let mut p = Parameters::new();
    p.string("Name", "p");
    let err = client
        .invoke_raw("New-MobileDeviceMailboxPolicy", p)
        .await
        .unwrap_err();
    match &err {
        Error::RetriesExhausted { attempts, last } => {
            assert_eq!(*attempts, 3);
            assert!(matches!(
                **last,
                Error::Transport {
                    send_state: SendState::NotSent,
                    ..
                }
            ));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(!format!("{err:?}").contains(SECRET));
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_with_the_claims_challenge() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(header_is("Authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "WWW-Authenticate",
            r#"Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ==""#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header_is("Authorization", "Bearer token-2"))
        .respond_with(ok_rows())
        .expect(2)
        .mount(&server)
        .await;
    let provider = Arc::new(CountingProvider::default());
    let client = builder(&server)
        .token_provider(provider.clone())
        .build()
        .unwrap();
    let mut p = Parameters::new();
    p.string("DefaultAccessLevel", "Allow");
    client
        .invoke_raw("Set-ActiveSyncOrganizationSettings", p)
        .await
        .unwrap();
    let inv = Invocation::new("Get-ActiveSyncOrganizationSettings", Parameters::new());
    client.invoke_page(&inv, None).await.unwrap();

    let seen = provider.requests.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "a token is requested before every request");
    assert!(!seen[0].force_refresh);
    assert!(seen[1].force_refresh);
    assert_eq!(seen[1].claims.as_deref(), Some(r#"{"access_token":{}}"#));
    assert!(!seen[2].force_refresh);
    assert_eq!(seen[0].scope, "https://outlook.office365.com/.default");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    assert_eq!(
        header(&received[1], "authorization").as_deref(),
        Some("Bearer token-2")
    );
    assert_eq!(
        header(&received[0], "client-request-id"),
        header(&received[1], "client-request-id")
    );
}

#[tokio::test]
async fn a_second_401_is_returned() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let err = client(&server)
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
