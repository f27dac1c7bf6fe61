//! Security properties of what exists: the bearer-token allow-list, the endpoint check, local
//! refusal of destructive calls, and secrets kept out of Debug, Display and `tracing` output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use exchange_activesync::Environment;
use exchange_activesync::auth::{
    AccessToken, CachingTokenProvider, ClientCertificate, ClientCredentials, ManualClock,
    StaticToken, TokenProvider, TokenRequest,
};
use exchange_activesync::environment::check_endpoint;
use exchange_activesync::protocol::{Invocation, Parameters};
use serde_json::{Value, json};
use url::Url;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn token_goes_only_to_allow_listed_https_hosts() {
    let clouds = [
        (
            Environment::Commercial,
            vec!["outlook.office365.com", "outlook.office.com"],
        ),
        (Environment::GccHigh, vec!["outlook.office365.us"]),
        (Environment::Dod, vec!["outlook-dod.office365.us"]),
        (
            Environment::China,
            vec!["partner.outlook.cn", "outlook.office365.cn"],
        ),
    ];
    for (env, hosts) in &clouds {
        for host in hosts {
            for ok in [
                format!("https://{host}/adminapi/beta/t/InvokeCommand"),
                format!("https://{}/x", host.to_ascii_uppercase()),
                format!("https://eur03.{host}/adminapi/beta/t/InvokeCommand?$skiptoken=1"),
                format!("https://{host}:443/"),
            ] {
                assert!(env.may_receive_token(&url(&ok)), "{env}: {ok} refused");
            }
            for bad in [
                format!("http://{host}/adminapi"),
                format!("https://{host}.evil.example/"),
                format!("https://evil-{host}/"),
                format!("https://evil{host}/"),
                format!("https://{host}@evil.example/"),
                format!("https://user:pw@evil.example/{host}"),
                format!("https://evil.example/?host={host}"),
                format!("https://evil.example/#{host}"),
                format!("https://{host}%2eevil.example/"),
                format!("https://{host}.:443/"),
                format!("wss://{host}/"),
                format!("ftp://{host}/"),
                "https://127.0.0.1/".to_string(),
                "https://login.microsoftonline.com/".to_string(),
            ] {
                if let Ok(u) = Url::parse(&bad) {
                    assert!(!env.may_receive_token(&u), "{env}: {bad} accepted");
                }
            }
        }
        // Hosts of the other clouds are refused.
        for (other, other_hosts) in &clouds {
            if other != env {
                for host in other_hosts.iter().filter(|h| !hosts.contains(h)) {
                    assert!(!env.may_receive_token(&url(&format!("https://{host}/"))));
                }
            }
        }
    }
}

#[test]
fn custom_loopback_endpoint_is_pinned_to_its_origin() {
    for base in ["http://127.0.0.1:8080", "http://[::1]:8080"] {
        let env = Environment::custom(base).unwrap();
        assert!(env.may_receive_token(&url(&format!("{base}/adminapi/beta/t/InvokeCommand"))));
        let host = url(base).host_str().unwrap().to_string();
        for bad in [
            format!("http://{host}:8081/"),
            format!("http://{host}/"),
            "http://127.0.0.2:8080/".to_string(),
            "http://10.0.0.1:8080/".to_string(),
            "http://evil.example:8080/".to_string(),
            format!("http://evil.example@{host}:9999/"),
        ] {
            assert!(!env.may_receive_token(&url(&bad)), "{base}: {bad} accepted");
        }
    }
    let env = Environment::custom("https://exo.contoso.example").unwrap();
    assert!(env.may_receive_token(&url("https://exo.contoso.example/x")));
    assert!(!env.may_receive_token(&url("http://exo.contoso.example/x")));
    assert!(!env.may_receive_token(&url("https://exo.contoso.example.evil.example/x")));
    assert!(!env.may_receive_token(&url("https://outlook.office365.com/x")));
}

#[test]
fn plain_http_only_for_loopback() {
    for ok in [
        "https://outlook.office365.com",
        "https://10.0.0.1",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://[::1]:9000",
    ] {
        assert!(check_endpoint(&url(ok)).is_ok(), "{ok} refused");
        assert!(Environment::custom(ok).is_ok());
    }
    for bad in [
        "http://10.0.0.1",
        "http://192.168.1.10:8080",
        "http://172.16.0.1",
        "http://outlook.office365.com",
        "http://localhost",
        "http://LOCALHOST:1",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://[::2]",
        "http://0.0.0.0",
        "ftp://127.0.0.1",
        "file:///etc/passwd",
        "ws://127.0.0.1",
    ] {
        assert!(check_endpoint(&url(bad)).is_err(), "{bad} accepted");
        assert!(Environment::custom(bad).is_err(), "{bad} accepted");
    }
    assert!(Environment::custom("not a url").is_err());
}

#[test]
fn destructive_calls_are_refused_locally_without_a_single_identity() {
    let cmdlets = [
        "Clear-MobileDevice",
        "Remove-MobileDevice",
        "Remove-MobileDeviceMailboxPolicy",
        "Remove-ActiveSyncDeviceAccessRule",
        "clear-mobiledevice",
        "remove-MobileDevice",
        "REMOVE-ACTIVESYNCDEVICEACCESSRULE",
    ];
    let bad_identities: Vec<Option<Value>> = vec![
        None,
        Some(Value::Null),
        Some(json!("")),
        Some(json!("   ")),
        Some(json!("\t\n\u{a0}\u{3000}")),
        Some(json!("*")),
        Some(json!("user*")),
        Some(json!("*\\ExchangeActiveSyncDevices\\*")),
        Some(json!("a?c")),
        Some(json!(["a", "b"])),
        Some(json!(42)),
        Some(json!(true)),
        Some(json!({"Identity": "a"})),
    ];
    for cmdlet in cmdlets {
        for identity in &bad_identities {
            let mut p = Parameters::new();
            if let Some(v) = identity {
                // Any casing of the parameter name is found.
                p.insert_json("identity", v.clone());
            }
            let inv = Invocation::new(cmdlet, p);
            let err = inv.validate().expect_err(&format!("{cmdlet} {identity:?}"));
            assert!(err.is_invalid_input());
            assert!(err.to_string().contains("Identity"), "{err}");
            assert_eq!(inv.parameters().get("Confirm"), Some(&json!(false)));
        }
        let mut p = Parameters::new();
        p.string(
            "Identity",
            "Ann\\ExchangeActiveSyncDevices\\iPhone§ApplC39XYZ",
        );
        let inv = Invocation::new(cmdlet, p);
        inv.validate().unwrap();
        let body: Value = serde_json::from_slice(&inv.body()).unwrap();
        assert_eq!(body["CmdletInput"]["Parameters"]["Confirm"], json!(false));
    }
}

const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJTRUNSRVQtVE9LRU4ifQ.c2lnLVNFQ1JFVA";
const CLIENT_SECRET: &str = "Zq8~client.secret-VALUE_42";

fn cert_pem() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/auth/combined.pem"
    ))
    .unwrap()
}

fn assert_hidden(text: &str, what: &str) {
    for secret in [TOKEN, CLIENT_SECRET, "SECRET-TOKEN", "PRIVATE KEY"] {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}

#[test]
fn secrets_absent_from_debug_and_display() {
    let token = AccessToken::new(TOKEN, None);
    assert_hidden(&format!("{token:?} {:#?}", token), "AccessToken");
    let st = StaticToken::new(TOKEN);
    assert_hidden(&format!("{st:?} {st:#?}"), "StaticToken");
    let cc = ClientCredentials::with_secret(
        &Environment::Commercial,
        "contoso.example",
        "app-id",
        CLIENT_SECRET,
    )
    .unwrap();
    let shown = format!("{cc:?} {cc:#?}");
    assert_hidden(&shown, "ClientCredentials (secret)");
    assert!(shown.contains("app-id"));
    let key_text = cert_pem();
    let cert = ClientCertificate::from_pem(&key_text).unwrap();
    let cc = ClientCredentials::with_certificate(
        &Environment::Commercial,
        "contoso.example",
        "app-id",
        cert.clone(),
    )
    .unwrap();
    let shown = format!("{cc:?} {cc:#?} {cert:?}");
    assert_hidden(&shown, "ClientCredentials (certificate)");
    // No line of the private key shows up either.
    let key_lines = key_text
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .or_else(|| key_text.split("-----BEGIN RSA PRIVATE KEY-----").nth(1))
        .unwrap();
    for line in key_lines
        .lines()
        .filter(|l| l.len() > 16 && !l.starts_with("-----"))
    {
        assert!(!shown.contains(line), "key material in Debug");
    }
    // The cached provider too.
    let cached = cc.cached();
    assert_hidden(&format!("{cached:?}"), "CachingTokenProvider");
}

/// A `MakeWriter` that appends everything into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[test]
fn secrets_absent_from_tracing_output() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let server = MockServer::start().await;
            let start = chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap();
            let clock = Arc::new(ManualClock::new(start));
            let provider = ClientCredentials::with_secret(&Environment::Commercial, "contoso.example", "app-id", CLIENT_SECRET)
                .unwrap()
                .with_authority(&Url::parse(&server.uri()).unwrap())
                .unwrap()
                .with_clock(clock.clone());
            let cached = CachingTokenProvider::new(provider).with_clock(clock.clone());
            // First: a token. Then: the endpoint fails, echoing the form it received (which
            // holds the client secret) as a misconfigured proxy might.
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600
                })))
                .up_to_n_times(1)
                .mount(&server)
                .await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(500).set_body_string(format!(
                    "{{\"error\":\"server_error\",\"error_description\":\"bad client_secret={CLIENT_SECRET}\"}}"
                )))
                .mount(&server)
                .await;
            let request = TokenRequest::new("https://outlook.office365.com/.default");
            let first = cached.token(&request).await.unwrap();
            tracing::info!(token = ?first, provider = ?cached, "got a token");
            // Near expiry, the refresh fails and the cached token is used (a warning is logged).
            clock.advance(chrono::Duration::seconds(3500));
            let again = cached.token(&request).await.unwrap();
            assert_eq!(again.expires_at(), first.expires_at());
            let err = cached.token(&request.clone().force_refresh(true)).await.unwrap_err();
            tracing::error!(error = %err, debug = ?err, "refresh failed");
        });
    });
    let logged = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("got a token"), "{logged}");
    assert!(
        logged.contains("token refresh failed"),
        "the cache's warning was captured: {logged}"
    );
    assert!(logged.contains("refresh failed"));
    assert_hidden(&logged, "tracing output");
}
