//! A token that expires mid-enumeration, and slow responses.

use super::*;

// ---- 5. a token that expires mid-enumeration ----------------------------------------------

/// Hands out its cached token; on `force_refresh` fetches the simulator's current one (or,
/// when it cannot refresh, keeps the old one).
#[derive(Debug)]
struct RotatingTokens {
    sim: Arc<SimulatorHandle>,
    can_refresh: bool,
    cached: Mutex<String>,
    refreshes: AtomicUsize,
    handed_out: Mutex<Vec<String>>,
}

impl RotatingTokens {
    fn new(sim: &Sim, can_refresh: bool) -> Arc<Self> {
        Arc::new(RotatingTokens {
            sim: sim.handle.clone(),
            can_refresh,
            cached: Mutex::new(sim.token().to_string()),
            refreshes: AtomicUsize::new(0),
            handed_out: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl TokenProvider for RotatingTokens {
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let mut cached = self.cached.lock().unwrap();
        if request.force_refresh {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            if self.can_refresh {
                *cached = self.sim.current_token();
            }
        }
        self.handed_out.lock().unwrap().push(cached.clone());
        Ok(AccessToken::new(cached.clone(), None))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_enumeration_is_refreshed_once() {
    bounded(async {
        let s = sim().await;
        let tokens = RotatingTokens::new(&s, true);
        let c = client_with(&s, fast_retry(), TimeoutConfig::default(), tokens.clone());
        let old = s.token().to_string();
        let new = Arc::new(Mutex::new(String::new()));
        let n = new.clone();
        let handed_before_rotation = Arc::new(AtomicUsize::new(0));
        let hb = handed_before_rotation.clone();
        let t2 = tokens.clone();
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            hb.store(t2.handed_out.lock().unwrap().len(), Ordering::SeqCst);
            *n.lock().unwrap() = s.rotate_token();
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
        assert_eq!(s.status_count(401), 1);
        let new = new.lock().unwrap().clone();
        assert_ne!(new, old);
        let handed = tokens.handed_out.lock().unwrap().clone();
        let before = handed_before_rotation.load(Ordering::SeqCst);
        // Page 1 with the old token; page 2 once with the old token (401), then every
        // request carries the new one.
        assert_eq!(before, 1);
        assert_eq!(
            handed.len(),
            1 + 1 + 1 + 1,
            "{} token requests",
            handed.len()
        );
        assert!(handed[..2].iter().all(|t| *t == old));
        assert!(handed[2..].iter().all(|t| *t == new));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_be_refreshed_is_a_typed_401() {
    bounded(async {
        let s = sim().await;
        let tokens = RotatingTokens::new(&s, false);
        let c = client_with(&s, fast_retry(), TimeoutConfig::default(), tokens.clone());
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.rotate_token();
        })
        .await;
        let e = assert_cut_after_first_page(&d);
        assert_eq!(e.status(), Some(401), "{e:?}");
        assert!(e.api().is_some_and(|a| a.is_unauthorized()));
        assert_eq!(
            tokens.refreshes.load(Ordering::SeqCst),
            1,
            "one refresh try"
        );
        assert_eq!(s.status_count(401), 2);
        // collect, from the start: the same typed error, not Ok.
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("no partial listing");
        assert_eq!(e.status(), Some(401));
        assert_eq!(s.status_count(401), 4);
    })
    .await;
}

// ---- 6. slow responses --------------------------------------------------------------------

fn short_attempts() -> TimeoutConfig {
    TimeoutConfig::default().with_attempt(Some(Duration::from_millis(100)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_slower_than_the_attempt_timeout_are_retried_and_complete() {
    bounded(async {
        let s = sim().await;
        let slow = Fault::Delay(Duration::from_millis(400));
        s.push_fault(step(GET, slow.clone(), FaultTimes::N(2)));
        let c = client_with(
            &s,
            fast_retry(),
            short_attempts(),
            Arc::new(StaticToken::new(s.token())),
        );
        let listing = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("slow reads are retried");
        assert_exact(&listing.items, &s.expected);
        assert_eq!(s.faults_fired(), 2);
        assert_eq!(s.request_count(), 3 + 2);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(GET, slow, FaultTimes::Once))
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(s.faults_fired(), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_write_times_out_once_and_is_ambiguous() {
    bounded(async {
        let s = sim().await;
        let before = s.tenant().org_settings().default_access_level.clone();
        let (target, name) = if before == "Block" {
            (DeviceAccessLevel::Quarantine, "Quarantine")
        } else {
            (DeviceAccessLevel::Block, "Block")
        };
        s.push_fault(step(
            "Set-ActiveSyncOrganizationSettings",
            Fault::Delay(Duration::from_millis(400)),
            FaultTimes::Always,
        ));
        let c = client_with(
            &s,
            fast_retry(),
            short_attempts(),
            Arc::new(StaticToken::new(s.token())),
        );
        let requests = s.request_count();
        let e = c
            .set_active_sync_organization_settings(
                SetActiveSyncOrganizationSettings::new().default_access_level(target),
            )
            .await
            .expect_err("the timeout is returned");
        assert!(
            matches!(
                e,
                Error::Timeout {
                    kind: TimeoutKind::Attempt,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.send_state(), SendState::Ambiguous);
        assert_eq!(s.request_count() - requests, 1, "the write was re-sent");
        // It was ambiguous indeed: the service applied it.
        assert_eq!(s.tenant().org_settings().default_access_level, name);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_call_timeout_bounds_a_call_whose_every_attempt_is_slow() {
    bounded(async {
        let s = sim().await;
        s.set_latency(Some(Duration::from_secs(3)));
        let c = client_with(
            &s,
            fast_retry(),
            TimeoutConfig::default()
                .with_attempt(Some(Duration::from_millis(150)))
                .with_call(Some(Duration::from_millis(400))),
            Arc::new(StaticToken::new(s.token())),
        );
        let started = Instant::now();
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("every attempt is slow");
        let took = started.elapsed();
        assert!(
            matches!(
                e,
                Error::Timeout {
                    kind: TimeoutKind::Call,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(took < Duration::from_millis(1500), "{took:?}");
        assert!(
            (2..=3).contains(&s.request_count()),
            "attempts: {}",
            s.request_count()
        );
        assert!(!e.is_retryable());
    })
    .await;
}
