//! Throttling storms and 503 bursts.

use super::*;

// ---- 1. throttling storms -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_with_and_without_retry_after_completes() {
    bounded(async {
        let s = sim().await;
        // The first page: 429 Retry-After 0.1 s twice, then 429 without Retry-After twice.
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::throttled(Some(0.1))),
            FaultTimes::N(2),
        ));
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::throttled(None)),
            FaultTimes::N(2),
        ));
        let started = Instant::now();
        let listing = client(&s)
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("throttling is retried");
        assert_exact(&listing.items, &s.expected);
        assert_eq!(s.status_count(429), 4);
        assert_eq!(s.faults_fired(), 4);
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "Retry-After was not honoured: {:?}",
            started.elapsed()
        );
        // Mid-enumeration too, through a stream.
        let c = client(&s);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(
                GET,
                Fault::Fail(Failure::throttled(Some(0.05))),
                FaultTimes::Once,
            ));
            s.push_fault(step(
                GET,
                Fault::Fail(Failure::throttled(None)),
                FaultTimes::Once,
            ));
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(s.status_count(429), 6);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_tenant_concurrency_429_is_retried_by_concurrent_enumerations() {
    bounded(async {
        let s = sim_with(
            DEVICES,
            MAILBOXES,
            FaultPlan::new()
                .max_in_flight(2)
                .latency(Duration::from_millis(30)),
        )
        .await;
        let c = client_with(
            &s,
            fast_retry().with_max_attempts(40),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let runs =
            futures::future::join_all((0..4).map(|_| c.get_mobile_device(GetMobileDevice::new())))
                .await;
        for run in runs {
            assert_exact(
                &run.expect("the concurrency 429 is retried").items,
                &s.expected,
            );
        }
        assert!(
            s.status_count(429) >= 1,
            "four concurrent callers never exceeded a cap of two"
        );
        assert_eq!(s.status_count(200), 4 * 3, "one 200 per page per caller");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_gets_through_the_in_flight_cap_with_statistics() {
    bounded(async {
        let s = sim_with(
            DEVICES,
            MAILBOXES,
            FaultPlan::new()
                .max_in_flight(2)
                .latency(Duration::from_millis(10)),
        )
        .await;
        let c = client_with(
            &s,
            fast_retry().with_max_attempts(20),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let (report, rows) = sync(c, |sync| sync).await;
        assert_sync_exact(&rows, &report, &s);
        assert!(s.status_count(429) >= 1, "the cap never bit");
    })
    .await;
}

// ---- 2. 503 bursts ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_503_are_retried_for_reads() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::Unavailable),
            FaultTimes::N(3),
        ));
        let listing = client(&s)
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("503 is retried for reads");
        assert_exact(&listing.items, &s.expected);
        assert_eq!(s.status_count(503), 3);
        // A burst mid-enumeration.
        let c = client(&s);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(
                GET,
                Fault::Fail(Failure::Unavailable),
                FaultTimes::N(4),
            ))
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(s.status_count(503), 7);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_longer_than_the_policy_is_a_typed_error_not_a_partial_listing() {
    bounded(async {
        let s = sim().await;
        let c = client(&s);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(
                GET,
                Fault::Fail(Failure::Unavailable),
                FaultTimes::Always,
            ))
        })
        .await;
        let e = assert_cut_after_first_page(&d);
        assert!(
            matches!(e, Error::RetriesExhausted { attempts: 6, .. }),
            "{e:?}"
        );
        assert_eq!(e.status(), Some(503));
        // collect: an error, never Ok with fewer rows.
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("collect must fail");
        assert_eq!(e.status(), Some(503));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_hit_by_503_is_not_retried() {
    bounded(async {
        let s = sim().await;
        let before = s.tenant().org_settings().default_access_level.clone();
        let target = if before == "Block" {
            DeviceAccessLevel::Quarantine
        } else {
            DeviceAccessLevel::Block
        };
        s.push_fault(step(
            "Set-ActiveSyncOrganizationSettings",
            Fault::Fail(Failure::Unavailable),
            FaultTimes::N(5),
        ));
        let requests = s.request_count();
        let e = client(&s)
            .set_active_sync_organization_settings(
                SetActiveSyncOrganizationSettings::new().default_access_level(target),
            )
            .await
            .expect_err("the 503 is returned");
        assert_eq!(s.request_count() - requests, 1, "the write was retried");
        assert!(matches!(e, Error::Api(_)), "{e:?}");
        assert_eq!(e.status(), Some(503));
        // A 503 proves nothing about a write: its outcome is unknown.
        assert_eq!(e.send_state(), SendState::Ambiguous);
        assert!(e.may_have_acted());
        assert_eq!(s.tenant().org_settings().default_access_level, before);
    })
    .await;
}
