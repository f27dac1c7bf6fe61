//! The fleet: many tenants at once, isolated, over fakes and over HTTP (wiremock).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exchange_activesync::connector::ConnectorProfile;
use exchange_activesync::fleet::{
    Fleet, FleetItem, FleetTenant, SyncOutcome, TenantErrorKind, TenantList, TenantListError,
    TenantSyncSummary,
};
use exchange_activesync::permissions::Profile;
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};
use exchange_activesync::throttle::TenantThrottle;
use exchange_activesync::{ApiError, Error, ExchangeClient, Result, RetryPolicy, async_trait};
use exchange_activesync_testkit::{Failure, FakeExchangeClient, TenantBuilder, Times};
use futures::StreamExt;
use tokio::sync::Semaphore;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn fake(seed: u64, devices: usize, mailboxes: usize) -> FakeExchangeClient {
    FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(seed)
            .mailboxes(mailboxes)
            .devices(devices)
            .build(),
    )
}

fn as_client(c: impl ExchangeClient + 'static) -> Arc<dyn ExchangeClient> {
    Arc::new(c)
}

// --- tenants file -----------------------------------------------------------------------

#[test]
fn tenants_file_skips_blanks_and_comments_and_names_the_bad_line() {
    let list = TenantList::parse(
        "# fleet\n\n  contoso.onmicrosoft.com  \n2f6c0000-0000-0000-0000-000000000001 # fabrikam\n\t\n#x\nlitware.com\n",
    )
    .unwrap();
    let got: Vec<(&str, usize, usize)> = list
        .iter()
        .map(|t| (t.as_str(), t.line(), t.index()))
        .collect();
    assert_eq!(
        got,
        [
            ("contoso.onmicrosoft.com", 3, 0),
            ("2f6c0000-0000-0000-0000-000000000001", 4, 1),
            ("litware.com", 7, 2),
        ]
    );

    match TenantList::parse("a.com\n\nb.com\nA.COM\n").unwrap_err() {
        TenantListError::Duplicate {
            line,
            first_line,
            tenant,
        } => assert_eq!((line, first_line, tenant.as_str()), (4, 1, "A.COM")),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    let e = TenantList::parse("a.com\nnot a tenant\n").unwrap_err();
    assert!(
        matches!(e, TenantListError::Invalid { line: 2, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("line 2"), "{e}");
    assert!(TenantList::parse("a.com/evil\n").is_err());
    assert!(TenantList::parse("\n# only comments\n").unwrap().is_empty());
    let e = TenantList::from_ids(["a.com", "b.com", "a.com"]).unwrap_err();
    assert!(
        matches!(e, TenantListError::Duplicate { line: 3, .. }),
        "{e:?}"
    );
    assert!(TenantList::from_ids(["a.com\nb.com"]).is_err());
}

// --- isolation over fakes ---------------------------------------------------------------

/// Fails every call with an error the HTTP client would give.
struct Failing(fn(&str) -> Error);

#[async_trait]
impl ExchangeClient for Failing {
    async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
        Err((self.0)(inv.cmdlet()))
    }
}

/// Panics on the first call.
struct Panicking;

#[async_trait]
impl ExchangeClient for Panicking {
    async fn invoke_page(&self, _: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
        panic!("a bug in one tenant's client")
    }
}

fn throttled_too_long(cmdlet: &str) -> Error {
    let mut answer = ApiError::new(429, "throttled");
    answer.retry_after = Some(Duration::from_secs(3600));
    let _ = cmdlet;
    Error::RetryAfterTooLong {
        requested: Duration::from_secs(3600),
        max: Duration::from_secs(120),
        last: Box::new(answer.into()),
    }
}

fn not_consented(_: &str) -> Error {
    Error::Auth(exchange_activesync::AuthError::Rejected {
        status: 400,
        error: "unauthorized_client".into(),
        description:
            "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'."
                .into(),
    })
}

fn refused(cmdlet: &str) -> Error {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let source = std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                reqwest::Client::new()
                    .get(format!("http://127.0.0.1:{port}/"))
                    .send()
                    .await
                    .unwrap_err()
            })
    })
    .join()
    .unwrap();
    Error::Transport {
        cmdlet: cmdlet.into(),
        send_state: exchange_activesync::error::SendState::NotSent,
        source,
    }
}

/// Tenants `good-N.com` have N×10 devices; the others fail their own way.
fn mixed_fleet() -> (
    TenantList,
    impl Fn(&FleetTenant) -> Result<Arc<dyn ExchangeClient>>,
) {
    let tenants = TenantList::from_ids([
        "good-1.com",
        "noclient.com",
        "unauthorized.com",
        "good-2.com",
        "throttled.com",
        "notconsented.com",
        "panics.com",
        "unreachable.com",
        "good-3.com",
    ])
    .unwrap();
    let factory = |t: &FleetTenant| -> Result<Arc<dyn ExchangeClient>> {
        let name = t.as_str();
        if let Some(n) = name
            .strip_prefix("good-")
            .and_then(|r| r.strip_suffix(".com"))
        {
            let n: usize = n.parse().unwrap();
            return Ok(as_client(fake(n as u64, n * 10, n * 3)));
        }
        Ok(match name {
            "noclient.com" => return Err(Error::Config("no credential for this tenant".into())),
            "unauthorized.com" => {
                let f = fake(9, 10, 3);
                f.fail(None, Failure::Unauthorized, Times::Always);
                as_client(f)
            }
            "throttled.com" => as_client(Failing(throttled_too_long)),
            "notconsented.com" => as_client(Failing(not_consented)),
            "panics.com" => as_client(Panicking),
            "unreachable.com" => as_client(Failing(refused)),
            other => panic!("unexpected tenant {other}"),
        })
    };
    (tenants, factory)
}

#[tokio::test]
async fn inventory_isolates_every_failing_tenant_and_tags_each_record() {
    let (tenants, factory) = mixed_fleet();
    let fleet = Fleet::builder(tenants)
        .client_factory(factory)
        .tenant_concurrency(3)
        .build()
        .unwrap();
    let mut stream = fleet.inventory(true);
    let mut records: HashMap<String, usize> = HashMap::new();
    let mut ends: HashMap<String, TenantSyncSummary> = HashMap::new();
    while let Some(item) = stream.next().await {
        match item {
            FleetItem::Record { tenant, record } => {
                assert!(
                    !ends.contains_key(tenant.as_str()),
                    "a record of {tenant} after its end"
                );
                assert!(record.statistics.is_some(), "statistics were asked for");
                *records.entry(tenant.as_str().to_string()).or_default() += 1;
            }
            FleetItem::TenantDone(s) => {
                assert!(ends.insert(s.tenant.as_str().to_string(), s).is_none());
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(ends.len(), 9, "every tenant has its end: {:?}", ends.keys());
    for n in 1..=3 {
        let name = format!("good-{n}.com");
        assert_eq!(records.get(&name), Some(&(n * 10)), "{name}");
        let s = &ends[&name];
        assert_eq!(s.outcome, SyncOutcome::Complete, "{s:?}");
        assert_eq!(s.devices, (n * 10) as u64);
        assert!(s.error.is_none());
    }
    let kind = |t: &str| {
        let s = &ends[t];
        assert_eq!(s.outcome, SyncOutcome::Failed, "{s:?}");
        assert_eq!(s.devices, 0);
        s.error.as_ref().unwrap().kind
    };
    assert_eq!(kind("noclient.com"), TenantErrorKind::Config);
    assert_eq!(
        kind("unauthorized.com"),
        TenantErrorKind::InvalidCredentials
    );
    assert_eq!(kind("throttled.com"), TenantErrorKind::Throttled);
    assert_eq!(kind("notconsented.com"), TenantErrorKind::NotConsented);
    assert_eq!(kind("panics.com"), TenantErrorKind::Other);
    assert_eq!(kind("unreachable.com"), TenantErrorKind::Unreachable);
    assert_eq!(
        ends["unauthorized.com"].error.as_ref().unwrap().status,
        Some(401)
    );
    let p = stream.progress();
    assert_eq!(
        (p.tenants_total, p.tenants_done, p.tenants_failed),
        (9, 9, 6)
    );
    assert_eq!(p.devices, 60);
}

#[tokio::test]
async fn check_reports_each_tenant_and_serializes_the_fields_reports_need() {
    let (tenants, factory) = mixed_fleet();
    let fleet = Fleet::builder(tenants)
        .client_factory(factory)
        .build()
        .unwrap();
    let checks: Vec<_> = fleet
        .check(ConnectorProfile::ExchangeOnline)
        .collect()
        .await;
    assert_eq!(checks.len(), 9);
    let by: HashMap<&str, _> = checks.iter().map(|c| (c.tenant.as_str(), c)).collect();
    let good = by["good-2.com"];
    assert!(good.error.is_none(), "{:?}", good.error);
    assert_eq!(good.devices_total, Some(20));
    let connection = good.connection.as_ref().unwrap();
    assert_ne!(connection.status.as_str(), "failed");
    let permissions = good.permissions.as_ref().unwrap();
    assert_eq!(
        permissions.cmdlets.len(),
        ConnectorProfile::ExchangeOnline
            .permission_profile()
            .requirements
            .len()
    );
    let json = serde_json::to_value(good).unwrap();
    assert_eq!(json["tenant"], "good-2.com");
    assert_eq!(json["connection"]["status"], connection.status.as_str());
    assert_eq!(json["permissions"]["all_granted"], permissions.all_granted);
    assert_eq!(json["devices"]["total"], 20);
    assert!(json["error"].is_null());

    let bad = by["unauthorized.com"];
    let error = bad.error.as_ref().unwrap();
    assert_eq!(error.kind, TenantErrorKind::InvalidCredentials);
    assert_eq!(bad.connection.as_ref().unwrap().status.as_str(), "failed");
    assert_eq!(bad.devices_total, None);
    let json = serde_json::to_value(bad).unwrap();
    assert_eq!(json["error"]["kind"], "invalid_credentials");
    assert_eq!(json["connection"]["status"], "failed");
    assert!(json["connection"]["error"].is_string());
    assert!(json["devices"].is_null());

    let none = by["noclient.com"];
    assert!(none.connection.is_err() && none.permissions.is_err());
    assert_eq!(none.error.as_ref().unwrap().kind, TenantErrorKind::Config);
    assert!(serde_json::to_value(none).unwrap()["connection"].is_null());
    assert_eq!(
        by["notconsented.com"].error.as_ref().unwrap().kind,
        TenantErrorKind::NotConsented
    );
    assert_eq!(
        by["panics.com"].error.as_ref().unwrap().kind,
        TenantErrorKind::Other
    );
}

#[tokio::test]
async fn permissions_per_tenant() {
    let tenants = TenantList::from_ids(["a.com", "b.com", "noclient.com"]).unwrap();
    let fleet = Fleet::builder(tenants)
        .client_factory(|t: &FleetTenant| -> Result<Arc<dyn ExchangeClient>> {
            if t.as_str() == "noclient.com" {
                return Err(Error::Config("no client".into()));
            }
            Ok(as_client(fake(t.index() as u64, 5, 2)))
        })
        .build()
        .unwrap();
    let results: Vec<_> = fleet
        .permissions(Profile::exchange_online())
        .collect()
        .await;
    assert_eq!(results.len(), 3);
    for r in &results {
        match r.tenant.as_str() {
            "noclient.com" => assert!(r.report.is_err()),
            _ => assert!(!r.report.as_ref().unwrap().cmdlets.is_empty()),
        }
    }
}

// --- bounds and fairness ----------------------------------------------------------------

/// Counts the clients alive at once.
struct Counted {
    inner: FakeExchangeClient,
    live: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl ExchangeClient for Counted {
    async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.inner.invoke_page(inv, next).await
    }
}

#[tokio::test(start_paused = true)]
async fn at_most_tenant_concurrency_clients_live_and_each_is_dropped_at_its_end() {
    let tenants = TenantList::from_ids((0..40).map(|i| format!("t{i}.com"))).unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let made = Arc::new(AtomicUsize::new(0));
    let (l, p, m) = (live.clone(), peak.clone(), made.clone());
    let fleet = Fleet::builder(tenants)
        .client_factory(move |t: &FleetTenant| -> Result<Arc<dyn ExchangeClient>> {
            m.fetch_add(1, Ordering::SeqCst);
            let now = l.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            Ok(as_client(Counted {
                inner: fake(t.index() as u64, 3, 1),
                live: l.clone(),
            }))
        })
        .tenant_concurrency(4)
        .build()
        .unwrap();
    let items: Vec<_> = fleet.inventory(false).collect().await;
    assert_eq!(items.len(), 40 * 3 + 40);
    assert_eq!(made.load(Ordering::SeqCst), 40);
    assert!(
        peak.load(Ordering::SeqCst) <= 4,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert_eq!(peak.load(Ordering::SeqCst), 4, "the bound is used");
    assert_eq!(live.load(Ordering::SeqCst), 0, "every client dropped");
}

/// A fake behind a per-tenant throttle wired to a global budget, each call taking 200 ms.
struct Throttled {
    inner: FakeExchangeClient,
    throttle: Arc<TenantThrottle>,
}

#[async_trait]
impl ExchangeClient for Throttled {
    async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
        let permit = self.throttle.acquire().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = self.inner.invoke_page(inv, next).await;
        permit.success();
        r
    }
    fn throttle(&self) -> Option<Arc<TenantThrottle>> {
        Some(self.throttle.clone())
    }
}

#[tokio::test(start_paused = true)]
async fn a_big_tenant_does_not_starve_the_small_ones() {
    // The big tenant is listed first and has ~100 times the work of each small one; every
    // tenant is capped at 2 concurrent calls; the global budget (3) is smaller than the
    // sum of the caps, so the tenants compete for it.
    let tenants =
        TenantList::from_ids(["big.com", "s1.com", "s2.com", "s3.com", "s4.com"]).unwrap();
    let budget = Arc::new(Semaphore::new(3));
    let fleet = Fleet::builder(tenants)
        .client_factory(move |t: &FleetTenant| -> Result<Arc<dyn ExchangeClient>> {
            let inner = if t.as_str() == "big.com" {
                fake(1, 2000, 400)
            } else {
                fake(t.index() as u64 + 10, 20, 4)
            };
            Ok(as_client(Throttled {
                inner,
                throttle: Arc::new(TenantThrottle::new(2, 2).with_global_budget(budget.clone())),
            }))
        })
        .build()
        .unwrap();
    let mut stream = fleet.inventory(true);
    let mut big_records = 0usize;
    let mut order = Vec::new();
    let mut big_records_when_small_done = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            FleetItem::Record { tenant, .. } if tenant.as_str() == "big.com" => big_records += 1,
            FleetItem::Record { .. } => {}
            FleetItem::TenantDone(s) => {
                assert_eq!(s.outcome, SyncOutcome::Complete, "{s:?}");
                if s.tenant.as_str() != "big.com" {
                    big_records_when_small_done.push(big_records);
                }
                order.push(s.tenant.as_str().to_string());
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(order.len(), 5);
    assert_eq!(
        order.last().map(String::as_str),
        Some("big.com"),
        "{order:?}"
    );
    assert_eq!(big_records, 2000);
    assert!(
        big_records_when_small_done.iter().all(|&n| n < 200),
        "the small tenants finished before a tenth of the big one: {big_records_when_small_done:?}"
    );
}

#[tokio::test]
async fn progress_per_tenant_and_overall() {
    let tenants = TenantList::from_ids(["a.com", "b.com"]).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let fleet = Fleet::builder(tenants)
        .client_factory(|t: &FleetTenant| -> Result<Arc<dyn ExchangeClient>> {
            Ok(as_client(fake(t.index() as u64, 15, 3)))
        })
        .on_progress(move |t, all| {
            s.lock().unwrap().push((
                t.tenant.as_str().to_string(),
                t.devices,
                t.done,
                all.clone(),
            ))
        })
        .build()
        .unwrap();
    let items: Vec<_> = fleet.inventory(false).collect().await;
    assert_eq!(items.len(), 32);
    let seen = seen.lock().unwrap();
    let ends: Vec<_> = seen.iter().filter(|(_, _, done, _)| *done).collect();
    assert_eq!(ends.len(), 2);
    assert!(ends.iter().all(|(_, devices, _, _)| *devices == 15));
    let last = &seen.last().unwrap().3;
    assert_eq!(
        (last.tenants_done, last.tenants_total, last.devices),
        (2, 2, 30)
    );
}

// --- HTTP: tokens per tenant ------------------------------------------------------------

const REFUSED: &str = "refused.example.com";
const HANGS: &str = "hangs.example.com";

/// The token endpoint: a distinct token per tenant, and AADSTS700016 for one.
struct Tokens;

impl Respond for Tokens {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let tenant = req.url.path().split('/').nth(1).unwrap_or_default();
        if tenant == REFUSED {
            return ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application with identifier '11111111-1111-1111-1111-111111111111' was not found in the directory 'refused.example.com'.",
                "error_codes": [700016]
            }));
        }
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": format!("tok-{tenant}")
        }))
    }
}

/// InvokeCommand: two devices per tenant (the one that hangs never answers in time).
struct Invoke;

impl Respond for Invoke {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let tenant = req
            .url
            .path()
            .split('/')
            .nth(3)
            .unwrap_or_default()
            .to_string();
        let body = serde_json::json!({"value": (0..2).map(|i| serde_json::json!({
            "Guid": uuid::Uuid::new_v4().to_string(),
            "Identity": format!("user{i}@{tenant}\\ExchangeActiveSyncDevices\\dev{i}"),
            "DeviceId": format!("dev{i}"),
        })).collect::<Vec<_>>()});
        let r = ResponseTemplate::new(200).set_body_json(body);
        if tenant == HANGS {
            r.set_delay(Duration::from_secs(120))
        } else {
            r
        }
    }
}

async fn token_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/[^/]+/oauth2/v2\.0/token$"))
        .respond_with(Tokens)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/adminapi/beta/[^/]+/InvokeCommand$"))
        .respond_with(Invoke)
        .mount(&server)
        .await;
    server
}

fn http_fleet(server: &MockServer, tenants: TenantList, concurrency: usize) -> Fleet {
    let base = url::Url::parse(&server.uri()).unwrap();
    Fleet::builder(tenants)
        .endpoint(base.clone())
        .authority(base)
        .client_secret("11111111-1111-1111-1111-111111111111", "s3cret-value")
        .retry_policy(RetryPolicy::default().with_max_attempts(1))
        .tenant_concurrency(concurrency)
        .build()
        .unwrap()
}

/// `(kind, tenant in the path, bearer token)` of every request the server received.
async fn requests(server: &MockServer) -> Vec<(&'static str, String, Option<String>)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let segments: Vec<&str> = r.url.path().split('/').collect();
            let bearer = r
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim_start_matches("Bearer ").to_string());
            if r.url.path().ends_with("/oauth2/v2.0/token") {
                ("token", segments[1].to_string(), bearer)
            } else {
                ("invoke", segments[3].to_string(), bearer)
            }
        })
        .collect()
}

#[tokio::test]
async fn each_tenant_gets_its_own_token_once_and_a_refusing_tenant_stops_no_other() {
    let server = token_server().await;
    let names = ["a.example.com", REFUSED, "b.example.com", "c.example.com"];
    let fleet = http_fleet(&server, TenantList::from_ids(names).unwrap(), 4);
    let items: Vec<_> = fleet.inventory(false).collect().await;
    let mut records: HashMap<String, usize> = HashMap::new();
    let mut ends = HashMap::new();
    for item in items {
        match item {
            FleetItem::Record { tenant, record } => {
                let identity = record.device.identity.clone().unwrap_or_default();
                assert!(
                    identity.contains(tenant.as_str()),
                    "{identity} tagged {tenant}"
                );
                *records.entry(tenant.as_str().to_string()).or_default() += 1;
            }
            FleetItem::TenantDone(s) => {
                ends.insert(s.tenant.as_str().to_string(), s);
            }
            _ => unreachable!(),
        }
    }
    for t in ["a.example.com", "b.example.com", "c.example.com"] {
        assert_eq!(records.get(t), Some(&2), "{t}");
        assert_eq!(ends[t].outcome, SyncOutcome::Complete);
    }
    let refused = &ends[REFUSED];
    assert_eq!(refused.outcome, SyncOutcome::Failed);
    let error = refused.error.as_ref().unwrap();
    assert_eq!(error.kind, TenantErrorKind::NotConsented, "{error}");
    assert!(!error.message.contains("s3cret"), "{error}");

    let requests = requests(&server).await;
    let mut tokens: HashMap<String, usize> = HashMap::new();
    for (kind, tenant, bearer) in &requests {
        match *kind {
            "token" => *tokens.entry(tenant.clone()).or_default() += 1,
            _ => assert_eq!(
                bearer.as_deref(),
                Some(format!("tok-{tenant}").as_str()),
                "a request to {tenant}'s URL carried another token"
            ),
        }
    }
    for t in ["a.example.com", "b.example.com", "c.example.com"] {
        assert_eq!(tokens.get(t), Some(&1), "one token request for {t}");
    }
    assert!(tokens.get(REFUSED).copied().unwrap_or(0) >= 1);
    assert!(
        !requests
            .iter()
            .any(|(k, t, _)| *k == "invoke" && t == REFUSED),
        "nothing is sent to the refusing tenant's API without a token"
    );
}

#[tokio::test]
async fn a_tenant_never_reached_never_requests_a_token() {
    let server = token_server().await;
    let names = ["first.example.com", HANGS, "never.example.com"];
    let fleet = http_fleet(&server, TenantList::from_ids(names).unwrap(), 1);
    let mut stream = fleet.inventory(false);
    // The first tenant ends.
    loop {
        match stream.next().await.unwrap() {
            FleetItem::TenantDone(s) => {
                assert_eq!(s.tenant.as_str(), "first.example.com");
                break;
            }
            _ => continue,
        }
    }
    // The second has sent its call (which does not answer), the third waits for its turn.
    for _ in 0..500 {
        if requests(&server)
            .await
            .iter()
            .any(|(k, t, _)| *k == "invoke" && t == HANGS)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(stream);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let requests = requests(&server).await;
    let tenants_asking: Vec<&str> = requests
        .iter()
        .filter(|(k, _, _)| *k == "token")
        .map(|(_, t, _)| t.as_str())
        .collect();
    assert_eq!(tenants_asking, ["first.example.com", HANGS]);
    // Lazily: the second tenant's token was asked for after the first tenant's last call.
    let first_token_of_hangs = requests
        .iter()
        .position(|(k, t, _)| *k == "token" && t == HANGS)
        .unwrap();
    let last_call_of_first = requests
        .iter()
        .rposition(|(k, t, _)| *k == "invoke" && t == "first.example.com")
        .unwrap();
    assert!(last_call_of_first < first_token_of_hangs, "{requests:?}");
}

#[test]
fn the_http_way_is_checked_when_built_and_never_shows_the_secret() {
    let tenants = || TenantList::from_ids(["a.com"]).unwrap();
    let e = Fleet::builder(tenants()).build().unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    let e = Fleet::builder(tenants())
        .client_secret("  ", "s3cret-value")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    let e = Fleet::builder(tenants())
        .endpoint(url::Url::parse("http://proxy.example.com").unwrap())
        .client_secret("11111111-1111-1111-1111-111111111111", "s3cret-value")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Endpoint(_)), "{e:?}");
    let e = Fleet::builder(tenants())
        .authority(url::Url::parse("https://login.example.com").unwrap())
        .client_secret("11111111-1111-1111-1111-111111111111", "s3cret-value")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Endpoint(_)), "{e:?}");
    let builder = Fleet::builder(tenants())
        .client_secret("11111111-1111-1111-1111-111111111111", "s3cret-value");
    assert!(!format!("{builder:?}").contains("s3cret"));
    let fleet = builder.build().unwrap();
    assert!(!format!("{fleet:?}").contains("s3cret"));
    assert_eq!(fleet.tenants().len(), 1);
}
