//! `CachingTokenProvider`: expiry margin with an injected clock, forced refresh, claims,
//! single-flight refresh, error handling.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use exchange_activesync::AuthError;
use exchange_activesync::async_trait;
use exchange_activesync::auth::{
    AccessToken, CachingTokenProvider, Clock, ManualClock, TokenProvider, TokenRequest,
};

const SCOPE: &str = "https://outlook.office365.com/.default";

#[derive(Debug)]
struct Counting {
    calls: AtomicUsize,
    clock: Arc<ManualClock>,
    lifetime: Option<Duration>,
    fail: AtomicBool,
    delay: Option<std::time::Duration>,
    requests: Mutex<Vec<TokenRequest>>,
}

impl Counting {
    fn new(clock: Arc<ManualClock>, lifetime: Option<Duration>) -> Self {
        Counting {
            calls: AtomicUsize::new(0),
            clock,
            lifetime,
            fail: AtomicBool::new(false),
            delay: None,
            requests: Mutex::new(Vec::new()),
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TokenProvider for Counting {
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.requests.lock().unwrap().push(request.clone());
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(AuthError::Other("identity platform down".into()));
        }
        let expires = self.lifetime.map(|l| self.clock.now() + l);
        Ok(AccessToken::new(format!("tok-{n}"), expires))
    }
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap()
}

fn setup(lifetime: Option<Duration>) -> (Arc<ManualClock>, CachingTokenProvider<Arc<Counting>>) {
    let clock = Arc::new(ManualClock::new(start()));
    let inner = Arc::new(Counting::new(clock.clone(), lifetime));
    let cache = CachingTokenProvider::new(inner).with_clock(clock.clone());
    (clock, cache)
}

async fn secret(p: &impl TokenProvider, req: &TokenRequest) -> String {
    use secrecy::ExposeSecret;
    p.token(req)
        .await
        .unwrap()
        .secret()
        .expose_secret()
        .to_string()
}

#[tokio::test]
async fn cached_until_the_margin_then_refreshed() {
    let (clock, cache) = setup(Some(Duration::hours(1)));
    let req = TokenRequest::new(SCOPE);
    assert_eq!(secret(&cache, &req).await, "tok-1");
    assert_eq!(secret(&cache, &req).await, "tok-1");
    assert_eq!(cache.inner().calls(), 1);

    // 6 minutes left: outside the default 5-minute margin, still cached.
    clock.advance(Duration::minutes(54));
    assert_eq!(secret(&cache, &req).await, "tok-1");
    assert_eq!(cache.inner().calls(), 1);

    // 4 minutes left: inside the margin, refreshed.
    clock.advance(Duration::minutes(2));
    assert_eq!(secret(&cache, &req).await, "tok-2");
    assert_eq!(cache.inner().calls(), 2);
    assert_eq!(secret(&cache, &req).await, "tok-2");
    assert_eq!(cache.inner().calls(), 2);
}

#[tokio::test]
async fn margin_is_configurable() {
    let (clock, cache) = setup(Some(Duration::hours(1)));
    let cache = cache.with_refresh_margin(Duration::minutes(15));
    assert_eq!(cache.refresh_margin(), Duration::minutes(15));
    let req = TokenRequest::new(SCOPE);
    assert_eq!(secret(&cache, &req).await, "tok-1");
    clock.advance(Duration::minutes(44)); // 16 minutes left
    assert_eq!(secret(&cache, &req).await, "tok-1");
    clock.advance(Duration::minutes(2)); // 14 minutes left
    assert_eq!(secret(&cache, &req).await, "tok-2");
}

#[tokio::test]
async fn force_refresh_and_claims_bypass_the_cache() {
    let (_clock, cache) = setup(Some(Duration::hours(1)));
    let req = TokenRequest::new(SCOPE);
    assert_eq!(secret(&cache, &req).await, "tok-1");
    let forced = TokenRequest::new(SCOPE).force_refresh(true);
    assert_eq!(secret(&cache, &forced).await, "tok-2");
    assert_eq!(secret(&cache, &forced).await, "tok-3");
    // The forced token replaced the cached one.
    assert_eq!(secret(&cache, &req).await, "tok-3");

    let challenge = TokenRequest::new(SCOPE).claims(Some(r#"{"access_token":{}}"#.into()));
    assert_eq!(secret(&cache, &challenge).await, "tok-4");
    assert_eq!(secret(&cache, &req).await, "tok-4");
    assert_eq!(cache.inner().calls(), 4);
    // The inner provider saw the flags.
    let seen = cache.inner().requests.lock().unwrap().clone();
    assert!(seen[1].force_refresh && seen[2].force_refresh);
    assert_eq!(seen[3].claims.as_deref(), Some(r#"{"access_token":{}}"#));
}

#[tokio::test]
async fn tokens_without_expiry_are_cached_until_forced() {
    let (clock, cache) = setup(None);
    let req = TokenRequest::new(SCOPE);
    assert_eq!(secret(&cache, &req).await, "tok-1");
    clock.advance(Duration::days(1000));
    assert_eq!(secret(&cache, &req).await, "tok-1");
    assert_eq!(cache.inner().calls(), 1);
    assert_eq!(
        secret(&cache, &TokenRequest::new(SCOPE).force_refresh(true)).await,
        "tok-2"
    );
}

#[tokio::test]
async fn one_token_per_scope() {
    let (_clock, cache) = setup(Some(Duration::hours(1)));
    assert_eq!(secret(&cache, &TokenRequest::new(SCOPE)).await, "tok-1");
    let other = TokenRequest::new("https://outlook.office365.us/.default");
    assert_eq!(secret(&cache, &other).await, "tok-2");
    assert_eq!(secret(&cache, &TokenRequest::new(SCOPE)).await, "tok-1");
    assert_eq!(secret(&cache, &other).await, "tok-2");
    assert_eq!(cache.inner().calls(), 2);
    cache.clear();
    assert_eq!(secret(&cache, &other).await, "tok-3");
}

fn slow_setup() -> CachingTokenProvider<Arc<Counting>> {
    let clock = Arc::new(ManualClock::new(start()));
    let mut inner = Counting::new(clock.clone(), Some(Duration::hours(1)));
    inner.delay = Some(std::time::Duration::from_millis(50));
    CachingTokenProvider::new(Arc::new(inner)).with_clock(clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_refresh() {
    let cache = Arc::new(slow_setup());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { secret(&*cache, &TokenRequest::new(SCOPE)).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), "tok-1");
    }
    assert_eq!(cache.inner().calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_forced_refreshes_share_one_request() {
    let cache = slow_setup();
    assert_eq!(secret(&cache, &TokenRequest::new(SCOPE)).await, "tok-1");
    let forced = TokenRequest::new(SCOPE).force_refresh(true);
    let results = futures::future::join_all((0..8).map(|_| secret(&cache, &forced))).await;
    assert!(results.iter().all(|t| t == "tok-2"), "{results:?}");
    assert_eq!(cache.inner().calls(), 2);
}

#[tokio::test]
async fn errors_are_not_cached_and_a_still_valid_token_survives_a_failed_refresh() {
    let (clock, cache) = setup(Some(Duration::hours(1)));
    let req = TokenRequest::new(SCOPE);
    cache.inner().fail.store(true, Ordering::SeqCst);
    assert!(matches!(cache.token(&req).await, Err(AuthError::Other(_))));
    cache.inner().fail.store(false, Ordering::SeqCst);
    assert_eq!(secret(&cache, &req).await, "tok-2");

    // Inside the margin, the refresh fails: the still-valid token is returned.
    clock.advance(Duration::minutes(57));
    cache.inner().fail.store(true, Ordering::SeqCst);
    assert_eq!(secret(&cache, &req).await, "tok-2");
    // A forced refresh reports the failure.
    assert!(cache.token(&req.clone().force_refresh(true)).await.is_err());
    // Once expired, the failure is reported.
    clock.advance(Duration::minutes(4));
    assert!(cache.token(&req).await.is_err());
    cache.inner().fail.store(false, Ordering::SeqCst);
    assert_eq!(secret(&cache, &req).await, "tok-6");
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_at_half_their_lifetime() {
    // Tokens that live 25 s, far less than the 5-minute margin: refreshed 12.5 s before
    // expiry, not on every call.
    let (clock, cache) = setup(Some(Duration::seconds(25)));
    let req = TokenRequest::new(SCOPE);
    assert_eq!(secret(&cache, &req).await, "tok-1");
    clock.advance(Duration::seconds(12));
    assert_eq!(secret(&cache, &req).await, "tok-1");
    clock.advance(Duration::seconds(1)); // 12 s left: due
    assert_eq!(secret(&cache, &req).await, "tok-2");
    assert_eq!(cache.inner().calls(), 2);
}

#[tokio::test]
async fn a_long_run_with_25_second_tokens_asks_for_few_and_never_uses_an_expired_one() {
    // 60 s of calls every 50 ms (1,200 calls), with a 401 forcing a refresh now and then,
    // against a provider whose tokens live 25 s.
    let (clock, cache) = setup(Some(Duration::seconds(25)));
    let req = TokenRequest::new(SCOPE);
    let mut used = std::collections::HashSet::new();
    for i in 0..1_200u32 {
        let forced = i == 410;
        let token = cache
            .token(&req.clone().force_refresh(forced))
            .await
            .unwrap();
        let now = clock.now();
        let expires = token.expires_at().unwrap();
        assert!(expires > now, "call {i} sent an expired token");
        used.insert(expires);
        clock.advance(Duration::milliseconds(50));
    }
    let asked = cache.inner().calls();
    assert!(asked <= 6, "{asked} token requests");
    assert_eq!(asked, used.len());
}

#[tokio::test]
async fn at_most_one_unforced_refresh_per_few_seconds() {
    // A provider that hands out tokens with 3 s left (a nearly expired cached token from
    // a managed identity or CLI): due at once, yet asked for at most once per
    // `MIN_REFRESH_INTERVAL` while the token stays valid, and never returned expired.
    let (clock, cache) = setup(Some(Duration::seconds(3)));
    let req = TokenRequest::new(SCOPE);
    for _ in 0..100 {
        let token = cache.token(&req).await.unwrap();
        assert!(token.expires_at().unwrap() > clock.now());
        clock.advance(Duration::milliseconds(100));
    }
    // 10 s: a token every 1.5 s would be 7; expired tokens force a request every 3 s.
    let asked = cache.inner().calls();
    assert!(asked <= 4, "{asked} token requests");
    // A forced refresh is never held back.
    let before = cache.inner().calls();
    cache.token(&req.clone().force_refresh(true)).await.unwrap();
    assert_eq!(cache.inner().calls(), before + 1);
}
