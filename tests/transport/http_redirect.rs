//! Redirects, the bearer-token allow-list, build-time validation and secret hygiene.

use exchange_activesync::ExchangeClientExt;
use std::sync::Arc;

use crate::http_support::*;
use exchange_activesync::auth::StaticToken;
use exchange_activesync::http::HttpExchangeClient;
use exchange_activesync::protocol::{Invocation, Parameters};
use exchange_activesync::{Environment, Error, ExchangeClient};
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_json, header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REGION_PATH: &str = "/emea/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";

fn ok_rows() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(envelope(json!([{"Identity":"org"}]), None, &[]))
}

#[tokio::test]
async fn redirect_to_an_allowed_target_keeps_token_and_body_and_pins_the_base() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{REGION_PATH}?a=b").as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(REGION_PATH))
        .and(header_is("Authorization", format!("Bearer {SECRET}").as_str()))
        .and(body_json(json!({"CmdletInput":{"CmdletName":"Set-ActiveSyncOrganizationSettings","Parameters":{"DefaultAccessLevel":"Block"}}})))
        .respond_with(ok_rows())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(REGION_PATH))
        .and(header_is(
            "Authorization",
            format!("Bearer {SECRET}").as_str(),
        ))
        .and(header_is("X-CmdletName", "Get-MobileDevice"))
        .respond_with(ok_rows())
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut p = Parameters::new();
    p.string("DefaultAccessLevel", "Block");
    client
        .invoke_raw("Set-ActiveSyncOrganizationSettings", p)
        .await
        .unwrap();
    assert_eq!(client.base_url().path(), "/emea");
    // Later calls (and clones) go straight to the pinned base.
    client
        .clone()
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn module_file_follows_a_302() {
    let server = server().await;
    let moved = "/emea/adminapi/v1.0/contoso.onmicrosoft.com/EXOModuleFile";
    Mock::given(method("GET"))
        .and(path("/adminapi/v1.0/contoso.onmicrosoft.com/EXOModuleFile"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("{}{moved}?Version=3.9.2", server.uri()).as_str(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(moved))
        .and(header_is("CommandName", "*"))
        .and(header_is(
            "Authorization",
            format!("Bearer {SECRET}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value":[{"exportedCmdlets":"Get-MobileDevice"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let module = client(&server).module_file().await.unwrap();
    assert_eq!(module.exported_cmdlets, ["Get-MobileDevice"]);
}

async fn assert_foreign_redirect_refused(location: String, foreign: &MockServer) {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", location.as_str()))
        .mount(&server)
        .await;
    let err = client(&server)
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .unwrap_err();
    let Error::Redirect(message) = &err else {
        panic!("expected Error::Redirect, got {err:?}");
    };
    let foreign_port = Url::parse(&location).unwrap().port().unwrap();
    assert!(message.contains(&foreign_port.to_string()), "{message}");
    assert!(
        !message.contains("skiptoken") && !message.contains(SECRET),
        "{message}"
    );
    let received = foreign.received_requests().await.unwrap();
    assert!(
        received.is_empty(),
        "the foreign host received {} request(s)",
        received.len()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn redirect_to_another_origin_is_refused_without_sending_anything() {
    let foreign = server().await;
    let port = Url::parse(&foreign.uri()).unwrap().port().unwrap();
    assert_foreign_redirect_refused(
        format!("http://127.0.0.1:{port}/adminapi/beta/t/InvokeCommand?skiptoken=x"),
        &foreign,
    )
    .await;
    assert_foreign_redirect_refused(format!("http://localhost:{port}/steal"), &foreign).await;
}

#[tokio::test]
async fn next_link_to_a_foreign_host_is_refused() {
    let server = server().await;
    let foreign = crate::http_support::server().await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            json!([{"DeviceId":"A"}]),
            Some(format!("{}{INVOKE_PATH}?%24skiptoken=p2", foreign.uri())),
            &[],
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let inv = Invocation::new("Get-MobileDevice", Parameters::new());
    let err = client.invoke_invocation(inv).await.unwrap_err();
    assert!(matches!(err, Error::Redirect(_)), "{err:?}");
    assert!(foreign.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn redirect_loops_stop_after_five_hops() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(308).insert_header("Location", INVOKE_PATH))
        .mount(&server)
        .await;
    let err = client(&server)
        .invoke_raw("Get-MobileDevice", Parameters::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Redirect(m) if m.contains("more than 5")),
        "{err:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
}

#[test]
fn build_validates_the_configuration() {
    let token = || Arc::new(StaticToken::new(SECRET));
    let plain_http = Environment::Custom {
        base_url: Url::parse("http://exchange.example.com").unwrap(),
        scope: "https://outlook.office365.com/.default".into(),
        authority: Url::parse("https://login.microsoftonline.com").unwrap(),
    };
    let err = HttpExchangeClient::builder()
        .tenant(TENANT)
        .environment(plain_http)
        .token_provider(token())
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Endpoint(_)) && err.to_string().contains("loopback"),
        "{err:?}"
    );
    assert!(Environment::custom("http://10.1.2.3:8080").is_err());

    let err = HttpExchangeClient::builder()
        .token_provider(token())
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("tenant")),
        "{err:?}"
    );
    let err = HttpExchangeClient::builder()
        .tenant(TENANT)
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("token provider")),
        "{err:?}"
    );
    let err = HttpExchangeClient::builder()
        .tenant("a/b")
        .token_provider(token())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTenant(_)));

    let client = HttpExchangeClient::builder()
        .tenant(TENANT)
        .token_provider(token())
        .build()
        .unwrap();
    assert_eq!(client.base_url().as_str(), "https://outlook.office365.com/");
}

#[test]
fn debug_output_never_shows_the_token() {
    let builder = HttpExchangeClient::builder()
        .tenant(TENANT)
        .environment(Environment::GccHigh)
        .token_provider(Arc::new(StaticToken::new(SECRET)));
    let shown = format!("{builder:?}");
    assert!(shown.contains(TENANT) && shown.contains("[set]"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    let client = builder.build().unwrap();
    let shown = format!("{client:?}");
    assert!(shown.contains("outlook.office365.us"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
}
