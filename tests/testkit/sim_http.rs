//! The loopback simulator over real HTTP (reqwest).

use std::collections::BTreeSet;
use std::time::Duration;

use exchange_activesync::protocol::TRUNCATION_WARNING;
use exchange_activesync_testkit::{
    Failure, Fault, FaultPlan, FaultStep, FaultTimes, RbacProfile, Simulator, SimulatorConfig,
    SimulatorHandle, TenantBuilder,
};
use serde_json::{Value, json};

async fn sim(devices: usize, profile: RbacProfile) -> SimulatorHandle {
    let tenant = TenantBuilder::new()
        .seed(11)
        .mailboxes(40)
        .devices(devices)
        .rbac_profile(profile)
        .build();
    Simulator::start(SimulatorConfig::new(tenant))
        .await
        .unwrap()
}

fn body(cmdlet: &str, params: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}}))
        .unwrap()
}

async fn post(s: &SimulatorHandle, url: &str, body: &[u8], page: Option<u32>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(url)
        .bearer_auth(s.token())
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(n) = page {
        req = req.header("Prefer", format!("odata.maxpagesize={n}"));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn bad_token_is_401_with_www_authenticate() {
    let s = sim(3, RbacProfile::Full).await;
    let r = reqwest::Client::new()
        .post(s.invoke_url())
        .bearer_auth("not-the-token")
        .body(body("Get-MobileDevice", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );
    let r = reqwest::Client::new()
        .post(s.invoke_url())
        .body(body("Get-MobileDevice", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The domain works as the tenant segment too; another tenant does not.
    let by_domain = s.invoke_url().replace(s.tenant_id(), s.domain());
    assert_eq!(
        post(
            &s,
            &by_domain,
            &body("Get-ActiveSyncOrganizationSettings", json!({})),
            None
        )
        .await
        .status(),
        200
    );
    let other = s
        .invoke_url()
        .replace(s.tenant_id(), "fabrikam.onmicrosoft.com");
    assert_eq!(
        post(
            &s,
            &other,
            &body("Get-ActiveSyncOrganizationSettings", json!({})),
            None
        )
        .await
        .status(),
        401
    );
    s.shutdown().await;
}

#[tokio::test]
async fn withheld_cmdlet_is_403_with_nul_body() {
    let s = sim(3, RbacProfile::ReadOnly).await;
    for cmdlet in ["Clear-MobileDevice", "Get-Mailbox"] {
        let r = post(
            &s,
            &s.invoke_url(),
            &body(cmdlet, json!({"Identity": "x", "Confirm": false})),
            None,
        )
        .await;
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["content-encoding"], "gzip");
        let bytes = r.bytes().await.unwrap();
        assert!(!bytes.is_empty() && bytes.iter().all(|b| *b == 0));
    }
}

#[tokio::test]
async fn unknown_parameter_is_400_envelope() {
    let s = sim(3, RbacProfile::Full).await;
    let r = post(
        &s,
        &s.invoke_url(),
        &body("Get-MobileDevice", json!({"BogusParameter": 1})),
        None,
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().contains_key("request-id"));
    let v: Value = r.json().await.unwrap();
    let details = v["error"]["details"][0]["message"].as_str().unwrap();
    assert!(details.starts_with(
        "|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|"
    ));
    assert!(details.ends_with("Invalid cmdlet parameters specified. BogusParameter"));
    assert_eq!(v["@adminapi.warnings"], json!([]));
}

#[tokio::test]
async fn paging_by_reposting_same_body() {
    let s = sim(2_500, RbacProfile::Full).await;
    let b = body("Get-MobileDevice", json!({"ResultSize": "Unlimited"}));
    let mut url = format!("{}?$select=Guid,Identity", s.invoke_url());
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    let mut total = 0;
    loop {
        let r = post(&s, &url, &b, Some(700)).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["@odata.context"]
                .as_str()
                .unwrap()
                .contains("$metadata#Collection")
        );
        assert_eq!(v["adminapi.warnings@odata.type"], "#Collection(String)");
        for row in v["value"].as_array().unwrap() {
            assert!(
                row.get("DeviceModel").is_none(),
                "$select is kept across pages"
            );
            seen.insert(row["Guid"].as_str().unwrap().to_string());
            total += 1;
        }
        pages += 1;
        match v["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.contains("/InvokeCommand?%24skiptoken="));
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(total, 2_500);
    assert_eq!(seen.len(), 2_500);
}

#[tokio::test]
async fn continuation_bound_to_body_and_expiry() {
    let s = sim(50, RbacProfile::Full).await;
    let b = body("Get-MobileDevice", json!({"ResultSize": "Unlimited"}));
    let v: Value = post(&s, &s.invoke_url(), &b, Some(10))
        .await
        .json()
        .await
        .unwrap();
    let next = v["@odata.nextLink"].as_str().unwrap().to_string();
    let other = body(
        "Get-MobileDevice",
        json!({"ResultSize": "Unlimited", "ActiveSync": true}),
    );
    let r = post(&s, &next, &other, Some(10)).await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Expired or Invalid pagination request. Default Expiry time is 00:30:00")
    );
    // The switch expires the next continuation, once.
    s.expire_next_continuation();
    assert_eq!(post(&s, &next, &b, Some(10)).await.status(), 400);
    assert_eq!(post(&s, &next, &b, Some(10)).await.status(), 200);
    // A real expiry.
    s.set_continuation_expiry(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(post(&s, &next, &b, Some(10)).await.status(), 400);
}

#[tokio::test]
async fn truncation_warning_without_result_size() {
    let s = sim(1_200, RbacProfile::Full).await;
    let v: Value = post(
        &s,
        &s.invoke_url(),
        &body("Get-MobileDevice", json!({})),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 1000);
    assert_eq!(v["@adminapi.warnings"], json!([TRUNCATION_WARNING]));
    assert!(v.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn destructive_without_confirm_false_only_previews() {
    let s = sim(5, RbacProfile::Full).await;
    let guid = s.tenant().devices().next().unwrap().guid;
    for params in [
        json!({"Identity": guid.to_string()}),
        json!({"Identity": guid.to_string(), "Confirm": true}),
    ] {
        let v: Value = post(
            &s,
            &s.invoke_url(),
            &body("Clear-MobileDevice", params),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert!(
            v["@adminapi.confirmationmessage"]
                .as_str()
                .unwrap()
                .contains("Wiping mobile device")
        );
    }
    assert!(s.tenant().device(&guid).unwrap().wipe.request.is_none());
    let r = post(
        &s,
        &s.invoke_url(),
        &body(
            "Clear-MobileDevice",
            json!({"Identity": guid.to_string(), "Confirm": false}),
        ),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(s.tenant().device(&guid).unwrap().wipe.request.is_some());
}

#[tokio::test]
async fn concurrency_cap_answers_plain_text_429() {
    let s = sim(5, RbacProfile::Full).await;
    s.set_latency(Some(Duration::from_millis(300)));
    s.set_max_in_flight(Some(1));
    let b = body("Get-ActiveSyncOrganizationSettings", json!({}));
    let url = s.invoke_url();
    let (a, c) = tokio::join!(post(&s, &url, &b, None), post(&s, &url, &b, None));
    let mut statuses = [a.status().as_u16(), c.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 429]);
    let limited = if a.status() == 429 { a } else { c };
    assert_eq!(
        limited.text().await.unwrap(),
        "You have reached the maximum number of concurrent requests per tenant. Please wait and try again"
    );
}

#[tokio::test]
async fn scripted_faults_and_reset() {
    let tenant = TenantBuilder::new().seed(3).mailboxes(5).devices(5).build();
    let plan = FaultPlan::new()
        .step(FaultStep::new(
            Some("Get-MobileDevice"),
            Fault::Fail(Failure::throttled(Some(2.0))),
            FaultTimes::Once,
        ))
        .step(FaultStep::new(
            None,
            Fault::Fail(Failure::throttled(None)),
            FaultTimes::Once,
        ))
        .step(FaultStep::new(
            None,
            Fault::Fail(Failure::Unavailable),
            FaultTimes::Once,
        ))
        .step(FaultStep::new(
            None,
            Fault::ConnectionReset,
            FaultTimes::Once,
        ));
    let s = Simulator::start(SimulatorConfig::new(tenant).faults(plan))
        .await
        .unwrap();
    let b = body("Get-MobileDevice", json!({}));
    let r = post(&s, &s.invoke_url(), &b, None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    let r = post(&s, &s.invoke_url(), &b, None).await;
    assert_eq!(r.status(), 429);
    assert!(!r.headers().contains_key("retry-after"));
    assert_eq!(post(&s, &s.invoke_url(), &b, None).await.status(), 503);
    let reset = reqwest::Client::new()
        .post(s.invoke_url())
        .bearer_auth(s.token())
        .body(b.clone())
        .send()
        .await;
    match reset {
        Err(_) => {}
        Ok(r) => assert!(
            r.bytes().await.is_err(),
            "the reset must not deliver a body"
        ),
    }
    assert_eq!(post(&s, &s.invoke_url(), &b, None).await.status(), 200);
}

#[tokio::test]
async fn module_file_follows_rbac() {
    let s = sim(0, RbacProfile::ExchangeOnlineMinusWrites).await;
    let url = s.module_file_url().replace("/adminapi/", "/AdminApi/");
    let v: Value = reqwest::Client::new()
        .get(format!("{url}?Version=3.9.2"))
        .bearer_auth(s.token())
        .header("CommandName", "*")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = &v["value"][0];
    assert_eq!(file["fileName"], "ExchangeOnline.psm1");
    let exported: Vec<&str> = file["exportedCmdlets"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    assert!(exported.contains(&"get-MobileDeviceMailboxPolicy"));
    assert!(exported.contains(&"Get-MobileDevice"));
    assert!(
        !exported
            .iter()
            .any(|c| c.starts_with("Set-") || c.starts_with("Clear-"))
    );
    let content = file["fileContent"].as_str().unwrap();
    assert!(content.contains("function script:Get-MobileDevice {"));
    assert!(content.contains("Export-ModuleMember -Function @("));
}

#[test]
fn blocking_simulator_serves_sync_code() {
    use std::io::{Read as _, Write as _};
    let tenant = TenantBuilder::new().seed(2).mailboxes(2).devices(2).build();
    let s = Simulator::start_blocking(SimulatorConfig::new(tenant)).unwrap();
    let url = url::Url::parse(&s.invoke_url()).unwrap();
    let payload = body("Get-ActiveSyncOrganizationSettings", json!({}));
    let mut conn =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    write!(
        conn,
        "POST {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        url.path(),
        s.token(),
        payload.len()
    )
    .unwrap();
    conn.write_all(&payload).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Mobile Mailbox Settings"));
}

/// The dashboard summary over the wire: one row per device type, counts adding up to the
/// tenant's devices; paged like any listing; an undeclared parameter is a 400.
#[tokio::test]
async fn dashboard_summary_over_http() {
    let s = sim(30, RbacProfile::Full).await;
    let cmdlet = "Get-MobileDeviceDashboardSummaryReport";
    let r = post(
        &s,
        &s.invoke_url(),
        &body(cmdlet, json!({"StartDate": "2020-01-01T00:00:00"})),
        Some(1),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert!(v["@odata.nextLink"].is_string(), "{v}");
    let r = post(&s, &s.invoke_url(), &body(cmdlet, json!({})), None).await;
    let v: Value = r.json().await.unwrap();
    let rows = v["value"].as_array().unwrap();
    let total: i64 = rows
        .iter()
        .map(|r| r["TotalDevices"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 30);
    let r = post(
        &s,
        &s.invoke_url(),
        &body(cmdlet, json!({"ResultSize": "Unlimited"})),
        None,
    )
    .await;
    assert_eq!(r.status(), 400);
}
