//! The `http_*` wire tests' helpers: a mock server with a loud catch-all, a client pointed
//! at it, tokens and response envelopes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use exchange_activesync::auth::{AccessToken, TokenProvider, TokenRequest};
use exchange_activesync::http::{ClientBuilder, HttpExchangeClient, RetryPolicy, TimeoutConfig};
use exchange_activesync::{AuthError, Environment};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const TENANT: &str = "contoso.onmicrosoft.com";
pub const TENANT_ID: &str = "2f6c0000-0000-0000-0000-000000000001";
pub const INVOKE_PATH: &str = "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";
pub const SECRET: &str = "opaque-secret-token-value";

/// A mock server whose unmatched requests get a loud 599 answer.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(599).set_body_string("UNEXPECTED REQUEST (no mock matched)"),
        )
        .with_priority(u8::MAX)
        .named("catch-all")
        .mount(&server)
        .await;
    server
}

/// A builder pointed at `server`, with a static opaque token, no timeouts and fast,
/// deterministic retries.
pub fn builder(server: &MockServer) -> ClientBuilder {
    HttpExchangeClient::builder()
        .tenant(TENANT)
        .environment(Environment::custom(&server.uri()).unwrap())
        .token_provider(Arc::new(exchange_activesync::auth::StaticToken::new(
            SECRET,
        )))
        .timeouts(TimeoutConfig::none())
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
                .with_jitter(0.0),
        )
}

pub fn client(server: &MockServer) -> HttpExchangeClient {
    builder(server).build().unwrap()
}

/// An unsigned JWT with the given payload.
pub fn jwt(payload: Value) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        e.encode(r#"{"alg":"none","typ":"JWT"}"#),
        e.encode(payload.to_string())
    )
}

/// A success envelope.
pub fn envelope(rows: Value, next: Option<String>, warnings: &[&str]) -> Value {
    let mut v = json!({
        "@odata.context": "http://x/$metadata#Collection(Exchange.GenericHashTable)",
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": warnings,
        "value": rows,
    });
    if let Some(n) = next {
        v["@odata.nextLink"] = Value::String(n);
    }
    v
}

/// A token provider that counts calls and hands out `token-2` when asked to refresh.
#[derive(Debug, Default)]
pub struct CountingProvider {
    pub requests: Mutex<Vec<TokenRequest>>,
}

#[exchange_activesync::async_trait]
impl TokenProvider for CountingProvider {
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let mut seen = self.requests.lock().unwrap();
        seen.push(request.clone());
        let refreshed = seen.iter().any(|r| r.force_refresh);
        Ok(AccessToken::new(
            if refreshed { "token-2" } else { "token-1" },
            None,
        ))
    }
}

/// Header value of a received request.
pub fn header(req: &wiremock::Request, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
