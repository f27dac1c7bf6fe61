//! Wire tests of `HttpExchangeClient`: request encoding, paging, warnings, errors, module file.

use exchange_activesync::ExchangeClientExt;
use std::sync::Arc;

use crate::http_support::*;
use exchange_activesync::auth::StaticToken;
use exchange_activesync::http::RetryPolicy;
use exchange_activesync::protocol::{Invocation, Parameters};
use exchange_activesync::{Error, ExchangeClient};
use serde_json::json;
use wiremock::matchers::{body_json, header as header_is, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn ok_empty() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(envelope(json!([]), None, &[]))
}

#[tokio::test]
async fn requests_encode_every_parameter_kind() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .and(header_is("X-CmdletName", "New-MobileDeviceMailboxPolicy"))
        .and(body_json(
            json!({"CmdletInput":{"CmdletName":"New-MobileDeviceMailboxPolicy","Parameters":{
            "Name":"Strict-Phones","PasswordEnabled":true,"MinPasswordLength":6,
            "MaxAttachmentSize":"Unlimited"}}}),
        ))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .and(body_json(json!({"CmdletInput":{"CmdletName":"Set-CASMailbox","Parameters":{
            "Identity":"alice@contoso.com",
            "ActiveSyncAllowedDeviceIDs":{"@odata.type":"#Exchange.GenericHashTable","Add":["ABC123"],"Remove":["OLD1"]}}}})))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .and(query_param("$select", "Identity,RecipientTypeDetails"))
        .and(header_is("Prefer", "odata.maxpagesize=5"))
        .and(body_json(json!({"CmdletInput":{"CmdletName":"Get-Recipient","Parameters":{
            "RecipientTypeDetails":["UserMailbox","SharedMailbox"],"ResultSize":5}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            json!([{"Identity":"alice","RecipientTypeDetails":"UserMailbox","Guid@data.type":"System.Guid"}]),
            None,
            &[],
        )))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let mut p = Parameters::new();
    p.string("Name", "Strict-Phones")
        .switch("PasswordEnabled", true)
        .int("MinPasswordLength", 6)
        .string("MaxAttachmentSize", "Unlimited");
    client
        .invoke_raw("New-MobileDeviceMailboxPolicy", p)
        .await
        .unwrap();

    let mut p = Parameters::new();
    p.string("Identity", "alice@contoso.com").add_remove(
        "ActiveSyncAllowedDeviceIDs",
        ["ABC123"],
        ["OLD1"],
    );
    client.invoke_raw("Set-CASMailbox", p).await.unwrap();

    let mut p = Parameters::new();
    p.strings("RecipientTypeDetails", ["UserMailbox", "SharedMailbox"])
        .int("ResultSize", 5);
    let inv = Invocation::new("Get-Recipient", p).select(["Identity", "RecipientTypeDetails"]);
    let listing = client.invoke_invocation(inv).await.unwrap();
    assert_eq!(listing.items.len(), 1);
    assert_eq!(listing.items[0]["Identity"], "alice");

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    for req in &received {
        assert_eq!(
            header(req, "authorization").unwrap(),
            format!("Bearer {SECRET}")
        );
        assert_eq!(
            header(req, "content-type").as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(header(req, "x-responseformat").as_deref(), Some("json"));
        assert_eq!(header(req, "accept-language").as_deref(), Some("en-US"));
        assert!(
            header(req, "user-agent")
                .unwrap()
                .starts_with("exchange-activesync/")
        );
        assert!(uuid::Uuid::parse_str(&header(req, "client-request-id").unwrap()).is_ok());
        assert_eq!(
            header(req, "connection-id").unwrap(),
            client.connection_id().to_string()
        );
        // An opaque token has no readable claims: app routing with the configured tenant.
        assert_eq!(
            header(req, "x-anchormailbox").unwrap(),
            format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}")
        );
    }
    assert_ne!(
        header(&received[0], "client-request-id"),
        header(&received[1], "client-request-id")
    );
}

#[tokio::test]
async fn paging_reposts_the_same_body_id_and_anchor_and_keeps_warnings() {
    let server = server().await;
    let link = |n: u32| format!("{}{INVOKE_PATH}?%24skiptoken=page{n}", server.uri());
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .and(query_param("$skiptoken", "page2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            json!([{"DeviceId":"C"},{"DeviceId":"D"}]),
            Some(link(3)),
            &["Device D is in quarantine."],
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .and(query_param("$skiptoken", "page3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            json!([{"DeviceId":"E"}]),
            None,
            &[],
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            json!([{"DeviceId":"A"},{"DeviceId":"B"}]),
            Some(link(2)),
            &[],
        )))
        .with_priority(10)
        .expect(1)
        .mount(&server)
        .await;

    let token = jwt(json!({"upn":"admin@contoso.com","scp":"Exchange.Manage","tid":TENANT_ID}));
    let client = builder(&server)
        .token_provider(Arc::new(StaticToken::new(token.clone())))
        .page_size(2)
        .build()
        .unwrap();
    let mut p = Parameters::new();
    p.string("ResultSize", "Unlimited");
    let listing = client.invoke_raw("Get-MobileDevice", p).await.unwrap();
    let ids: Vec<_> = listing
        .items
        .iter()
        .map(|r| r["DeviceId"].clone())
        .collect();
    assert_eq!(ids, ["A", "B", "C", "D", "E"]);
    assert_eq!(listing.pages, 3);
    assert_eq!(listing.warnings.len(), 1);
    assert_eq!(listing.warnings[0].message, "Device D is in quarantine.");

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    let first = &received[0];
    assert!(first.url.query().is_none());
    for req in &received {
        assert_eq!(req.method.as_str(), "POST");
        assert_eq!(req.body, first.body, "every page re-sends the same body");
        assert_eq!(
            header(req, "client-request-id"),
            header(first, "client-request-id")
        );
        assert_eq!(
            header(req, "x-anchormailbox").as_deref(),
            Some("UPN:admin@contoso.com")
        );
        assert_eq!(
            header(req, "prefer").as_deref(),
            Some("odata.maxpagesize=2")
        );
        assert_eq!(
            header(req, "authorization").unwrap(),
            format!("Bearer {token}")
        );
    }
}

#[tokio::test]
async fn app_only_token_routes_to_the_tenant_guid_from_its_claims() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(INVOKE_PATH))
        .and(header_is(
            "X-AnchorMailbox",
            format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT_ID}")
                .as_str(),
        ))
        .respond_with(ok_empty())
        .expect(1)
        .mount(&server)
        .await;
    let token = jwt(json!({"tid":TENANT_ID,"roles":["Exchange.ManageAsApp"],"idtyp":"app"}));
    let client = builder(&server)
        .token_provider(Arc::new(StaticToken::new(token)))
        .build()
        .unwrap();
    let listing = client
        .invoke_raw("Get-ActiveSyncOrganizationSettings", Parameters::new())
        .await
        .unwrap();
    assert!(listing.items.is_empty());
    let claims = client.token_claims().await.unwrap().unwrap();
    assert!(claims.is_app_only());
    assert_eq!(claims.tid.as_deref(), Some(TENANT_ID));
}

#[tokio::test]
async fn admin_api_errors_on_200_are_cmdlet_errors() {
    let server = server().await;
    let mut body = envelope(json!([{"Identity":"x"}]), None, &["a warning"]);
    body["@adminapi.errors"] = json!(["Couldn't update device x."]);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let mut p = Parameters::new();
    p.string("Identity", "x");
    let err = client(&server)
        .invoke_raw("Set-CASMailbox", p)
        .await
        .unwrap_err();
    match err {
        Error::Cmdlet(e) => {
            assert_eq!(e.errors, ["Couldn't update device x."]);
            assert_eq!(e.warnings, ["a warning"]);
            assert_eq!(e.rows.len(), 1);
        }
        other => panic!("expected Error::Cmdlet, got {other:?}"),
    }
}

#[tokio::test]
async fn every_error_form_keeps_status_request_id_and_message() {
    let server = server().await;
    let json_details = json!({"error":{"code":"NotFound","message":"Error executing cmdlet","details":[{"code":"Client","target":"",
        "message":"{\"Message\":\"The operation couldn't be performed because object 'x' couldn't be found.\",\"ClassName\":\"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException\",\"localizedString\":{\"stringId\":\"Ex6F9304\"}}"}]}});
    let pipe = json!({"error":{"code":"NotFound","message":"Error executing cmdlet","details":[{"code":"Client","target":"",
        "message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found."}]}});
    let pipe_no_id = json!({"error":{"code":"BadRequest","message":"Invalid Operation","details":[{"code":"Client","target":"",
        "message":"|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|Parameter set cannot be resolved. Invalid cmdlet parameters specified. BogusParameter"}]}});
    let inner = json!({"error":{"code":"BadRequest","message":"Error executing cmdlet","innererror":{"message":"Error executing cmdlet",
        "type":"Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
        "internalexception":{"message":"Cannot process argument transformation on parameter 'DefaultAccessLevel'.",
        "type":"Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException"}}}});
    type Check = fn(&exchange_activesync::ApiError);
    let cases: Vec<(&str, ResponseTemplate, u16, Check)> = vec![
        ("json", ResponseTemplate::new(404).set_body_json(json_details), 404, |e| {
            assert!(e.is_not_found());
            assert_eq!(e.string_id.as_deref(), Some("Ex6F9304"));
            assert!(e.message.contains("couldn't be found"), "{}", e.message);
        }),
        ("pipe", ResponseTemplate::new(404).set_body_json(pipe), 404, |e| {
            assert!(e.message.starts_with("The operation couldn't be performed"), "{}", e.message);
            assert_eq!(
                e.exception_type.as_deref(),
                Some("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")
            );
        }),
        ("pipe-no-id", ResponseTemplate::new(400).set_body_json(pipe_no_id), 400, |e| {
            assert!(e.is_invalid_parameter());
            assert!(e.message.contains("BogusParameter"));
        }),
        ("inner", ResponseTemplate::new(400).set_body_json(inner), 400, |e| {
            assert!(e.message.starts_with("Cannot process argument transformation"));
            assert!(e.exception_type.as_deref().unwrap().ends_with("ParameterTransformationException"));
        }),
        (
            "nul",
            ResponseTemplate::new(403)
                .insert_header("Content-Encoding", "gzip")
                .set_body_bytes(vec![0u8; 16]),
            403,
            |e| {
                assert!(e.is_permission_denied());
                assert!(e.body_snippet.contains("\\u{0}"));
            },
        ),
        (
            "html",
            ResponseTemplate::new(502)
                .insert_header("Content-Type", "text/html")
                .set_body_string("<html><body>Bad Gateway</body></html>"),
            502,
            |e| assert!(e.body_snippet.contains("Bad Gateway")),
        ),
        (
            "concurrency",
            ResponseTemplate::new(429)
                .insert_header("Content-Type", "text/plain")
                .set_body_string("You have reached the maximum number of concurrent requests per tenant. Please wait and try again"),
            429,
            |e| {
                assert!(e.is_throttled());
                assert!(e.message.starts_with("You have reached the maximum"));
            },
        ),
    ];
    let client = builder(&server)
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    for (name, template, status, check) in cases {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(template.insert_header("request-id", format!("req-{name}").as_str()))
            .expect(1)
            .mount(&server)
            .await;
        let inv = Invocation::new("Get-MobileDevice", Parameters::new());
        let err = client.invoke_page(&inv, None).await.unwrap_err();
        let api = err
            .api()
            .unwrap_or_else(|| panic!("{name}: not an API error: {err:?}"));
        assert_eq!(api.status, status, "{name}");
        assert_eq!(
            api.request_id.as_deref(),
            Some(format!("req-{name}").as_str()),
            "{name}"
        );
        assert_eq!(
            api.client_request_id.as_deref(),
            Some(inv.request_id().to_string().as_str()),
            "{name}"
        );
        assert_eq!(api.cmdlet.as_deref(), Some("Get-MobileDevice"));
        check(api);
        assert!(!err.to_string().contains(SECRET));
        server.verify().await;
    }
}

#[tokio::test]
async fn module_file_is_fetched_and_parsed() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/adminapi/v1.0/contoso.onmicrosoft.com/EXOModuleFile"))
        .and(query_param("Version", "3.9.2"))
        .and(header_is("CommandName", "*"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value":[{
            "fileName":"ExchangeOnline.psm1",
            "fileContent":"function script:Get-MobileDevice { }",
            "exportedCmdlets":"Get-MobileDevice, Clear-MobileDevice,,get-MobileDeviceMailboxPolicy "}]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let module = client.module_file().await.unwrap();
    assert_eq!(
        module.exported_cmdlets,
        [
            "Get-MobileDevice",
            "Clear-MobileDevice",
            "get-MobileDeviceMailboxPolicy"
        ]
    );
    assert!(module.exports("Get-MobileDeviceMailboxPolicy"));
    assert_eq!(module.files.len(), 1);
    let req = &server.received_requests().await.unwrap()[0];
    assert!(
        header(req, "x-anchormailbox")
            .unwrap()
            .starts_with("APP:SystemMailbox")
    );
    assert!(header(req, "client-request-id").is_some());
    assert_eq!(
        header(req, "connection-id").unwrap(),
        client.connection_id().to_string()
    );
    assert_eq!(
        header(req, "authorization").unwrap(),
        format!("Bearer {SECRET}")
    );
}
