//! Wire facts a client in another language relies on, checked with a raw HTTP client against
//! a simulator configured like the `simulator` example; plus the fault profiles end to end.

use exchange_activesync::ExchangeClientExt;
use std::collections::HashSet;
use std::sync::Arc;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::cmdlets::GetMobileDevice;
use exchange_activesync::protocol::TRUNCATION_WARNING;
use exchange_activesync::{Environment, HttpExchangeClient};
use exchange_activesync_testkit::{
    FaultProfile, RbacProfile, Simulator, SimulatorConfig, SimulatorHandle, TenantBuilder,
};
use serde_json::{Value, json};

/// What `simulator --devices N --seed S --rbac R --faults F` serves.
async fn like_the_example(devices: usize, rbac: RbacProfile, faults: &str) -> SimulatorHandle {
    let seed = 7;
    let tenant = TenantBuilder::new()
        .seed(seed)
        .devices(devices)
        .mailboxes((devices / 5).max(10))
        .rbac_profile(rbac)
        .build();
    let profile: FaultProfile = faults.parse().expect("profile");
    Simulator::start(
        SimulatorConfig::new(tenant)
            .faults(profile.plan_seeded(seed))
            .key_seed(Some(seed)),
    )
    .await
    .expect("simulator")
}

fn body(cmdlet: &str, params: Value) -> String {
    json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}}).to_string()
}

async fn post(url: &str, token: &str, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("answer")
}

#[tokio::test]
async fn a_bad_token_gets_401_with_a_challenge() {
    let s = like_the_example(5, RbacProfile::Full, "none").await;
    let b = body("Get-ActiveSyncOrganizationSettings", json!({}));
    let r = post(&s.invoke_url(), "eyJhbGciOiJub25lIn0.e30.", &b).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    // No token at all: the same.
    let r = reqwest::Client::new()
        .post(s.invoke_url())
        .body(b.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The printed token works.
    assert_eq!(post(&s.invoke_url(), s.token(), &b).await.status(), 200);
}

#[tokio::test]
async fn accept_any_token_lets_every_bearer_in() {
    let tenant = TenantBuilder::new().seed(1).build();
    let s = Simulator::start(SimulatorConfig::new(tenant).accept_any_token(true))
        .await
        .unwrap();
    let b = body("Get-ActiveSyncOrganizationSettings", json!({}));
    assert_eq!(post(&s.invoke_url(), "anything", &b).await.status(), 200);
    let r = reqwest::Client::new()
        .post(s.invoke_url())
        .body(b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a bearer token is still required");
}

#[tokio::test]
async fn a_withheld_cmdlet_gets_403_with_a_non_json_body_and_is_absent_from_the_module() {
    let s = like_the_example(5, RbacProfile::ReadOnly, "none").await;
    let b = body(
        "Set-ActiveSyncOrganizationSettings",
        json!({"DefaultAccessLevel": "Block"}),
    );
    let r = post(&s.invoke_url(), s.token(), &b).await;
    assert_eq!(r.status(), 403);
    let bytes = r.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());
    assert!(bytes.iter().all(|b| *b == 0), "{bytes:?}");
    // Reads still work, and EXOModuleFile exports no Set-*.
    let ok = post(
        &s.invoke_url(),
        s.token(),
        &body("Get-ActiveSyncOrganizationSettings", json!({})),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let module: Value = reqwest::Client::new()
        .get(s.module_file_url())
        .bearer_auth(s.token())
        .header("CommandName", "*")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exported = module["value"][0]["exportedCmdlets"].as_str().unwrap();
    assert!(exported.contains("Get-MobileDevice"), "{exported}");
    assert!(!exported.contains("Set-ActiveSyncOrganizationSettings"));
}

#[tokio::test]
async fn an_unknown_parameter_gets_400_with_the_error_envelope() {
    let s = like_the_example(5, RbacProfile::Full, "none").await;
    let r = post(
        &s.invoke_url(),
        s.token(),
        &body("Get-MobileDevice", json!({"BogusParameter": 1})),
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    let details = v["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        details.contains("AmbiguousParameterSetException") && details.contains("BogusParameter"),
        "{details}"
    );
    assert_eq!(v["error"]["message"], "Invalid Operation");
    assert!(v["error"]["innererror"]["internalexception"]["message"].is_string());
}

#[tokio::test]
async fn next_link_continues_when_posted_the_same_body() {
    let s = like_the_example(1500, RbacProfile::Full, "none").await;
    let b = body("Get-MobileDevice", json!({"ResultSize": "Unlimited"}));
    let mut url = format!("{}?$select=Guid,DeviceId", s.invoke_url());
    let (mut guids, mut pages) = (HashSet::new(), 0);
    loop {
        let r = post(&url, s.token(), &b).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        pages += 1;
        for row in v["value"].as_array().unwrap() {
            // Annotation keys (`Guid@odata.type`) come and go, as on the service.
            let keys: Vec<&String> = row
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| !k.contains('@'))
                .collect();
            assert_eq!(keys, ["DeviceId", "Guid"], "$select is kept");
            assert!(guids.insert(row["Guid"].as_str().unwrap().to_string()));
        }
        assert_eq!(v["@adminapi.warnings"], json!([]));
        match v["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.contains("$skiptoken=") || next.contains("%24skiptoken="));
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!((pages, guids.len()), (2, 1500));
    // A continuation with a different body is refused.
    let first: Value = post(&s.invoke_url(), s.token(), &b)
        .await
        .json()
        .await
        .unwrap();
    let next = first["@odata.nextLink"].as_str().unwrap();
    let other = body("Get-MobileDevice", json!({"ResultSize": "5000"}));
    assert_eq!(post(next, s.token(), &other).await.status(), 400);
}

#[tokio::test]
async fn without_result_size_the_service_truncates_and_warns() {
    let s = like_the_example(1500, RbacProfile::Full, "none").await;
    let r = post(
        &s.invoke_url(),
        s.token(),
        &body("Get-MobileDevice", json!({})),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 1000);
    assert_eq!(v["@adminapi.warnings"], json!([TRUNCATION_WARNING]));
    assert!(v.get("@odata.nextLink").is_none());
}

fn client(s: &SimulatorHandle) -> HttpExchangeClient {
    HttpExchangeClient::builder()
        .environment(Environment::custom(s.base_url().as_str()).unwrap())
        .tenant(s.tenant_id())
        .token_provider(Arc::new(StaticToken::new(s.token())))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_still_lets_an_enumeration_complete_under_the_default_retry_policy() {
    let s = like_the_example(1500, RbacProfile::Full, "storm").await;
    let listing = client(&s)
        .get_mobile_device(GetMobileDevice::new())
        .await
        .expect("enumeration survives the storm");
    let guids: HashSet<_> = listing.items.iter().filter_map(|d| d.guid).collect();
    assert_eq!(guids.len(), 1500);
    // Every page was throttled at least once.
    assert!(s.request_count() >= 4, "{}", s.request_count());
}

#[tokio::test]
async fn transient_faults_spare_writes() {
    let s = like_the_example(20, RbacProfile::Full, "transient").await;
    for i in 0..40 {
        let level = if i % 2 == 0 { "Block" } else { "Allow" };
        let r = post(
            &s.invoke_url(),
            s.token(),
            &body(
                "Set-ActiveSyncOrganizationSettings",
                json!({"DefaultAccessLevel": level}),
            ),
        )
        .await;
        assert_eq!(r.status(), 200, "write {i} was faulted");
    }
    // Reads do meet faults (one in every 16), and a retry of the same request passes.
    let b = body("Get-ActiveSyncOrganizationSettings", json!({}));
    let mut faulted = 0;
    for _ in 0..32 {
        let r = reqwest::Client::new()
            .post(s.invoke_url())
            .bearer_auth(s.token())
            .header("content-type", "application/json")
            .body(b.clone())
            .send()
            .await;
        let ok = match r {
            Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
            Err(_) => false,
        };
        if !ok {
            faulted += 1;
            let retry = post(&s.invoke_url(), s.token(), &b).await;
            assert_eq!(retry.status(), 200, "a retried request failed again");
        }
    }
    assert!(faulted >= 1, "no read was faulted");
}
