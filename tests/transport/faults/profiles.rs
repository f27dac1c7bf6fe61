//! Fault profiles end to end through `InventorySync`, failures the sync cannot absorb,
//! and a service that never advances.

use super::*;

// ---- fault profiles end to end through InventorySync --------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transient_profile_through_inventory_sync() {
    bounded(async {
        let s = sim_with(DEVICES, MAILBOXES, FaultProfile::Transient.plan_seeded(5)).await;
        let (report, rows) = sync(client(&s), |sync| sync).await;
        assert_sync_exact(&rows, &report, &s);
        // The profile expires the first continuation: one restart, one page re-read.
        assert_eq!(report.restarts, 1, "{report:?}");
        assert_eq!(report.duplicates_skipped, PAGE);
        assert_eq!(report.pages, DEVICES.div_ceil(PAGE) + 1);
        // Everything else was absorbed by the client's retries; its throttle saw the 429s.
        assert_eq!(report.throttled, s.status_count(429));
        let faulted: u64 = [429, 500, 503]
            .iter()
            .map(|st| s.status_count(*st))
            .sum::<u64>()
            + s.status_count(400);
        assert!(faulted >= 2, "the profile injected {faulted} faults");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storm_profile_through_inventory_sync() {
    bounded(async {
        // Every first attempt waits its Retry-After (0.5 s) and holds back the others, so the
        // case lasts about half a second per request: two pages and three mailboxes (five
        // requests) are the smallest tenant that still pages and joins across pages.
        const STORM_DEVICES: usize = 60;
        const STORM_MAILBOXES: usize = 3;
        let s = sim_with(
            STORM_DEVICES,
            STORM_MAILBOXES,
            FaultProfile::Storm.plan_seeded(5),
        )
        .await;
        let (report, rows) = sync(client(&s), |sync| sync).await;
        assert_sync_exact(&rows, &report, &s);
        assert_eq!(report.restarts, 0);
        assert_eq!(report.duplicates_skipped, 0);
        assert_eq!(report.pages, STORM_DEVICES.div_ceil(PAGE));
        assert_eq!(
            report.statistics_calls, STORM_MAILBOXES,
            "one call per mailbox"
        );
        // The client absorbed the storm; its throttle saw every 429.
        assert_eq!(report.throttled, s.status_count(429));
        // The first attempt of every request was throttled.
        let answered = s.status_count(200);
        assert_eq!(
            answered,
            (report.pages + report.statistics_calls) as u64,
            "one 200 per page and per statistics call"
        );
        assert!(s.status_count(429) >= answered, "{}", s.status_count(429));
    })
    .await;
}

// ---- failures the sync cannot absorb are errors, not short reports ------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_gives_up_with_a_typed_error_when_skiptokens_keep_expiring() {
    bounded(async {
        let s = sim().await;
        s.expire_next_continuation();
        let h = s.handle.clone();
        let client: Arc<dyn ExchangeClient> = Arc::new(client(&s));
        let mut delivered = HashSet::new();
        let e = InventorySync::new(&*client)
            .max_restarts(2)
            // Every continuation the sync is about to follow expires.
            .on_progress(move |_| h.expire_next_continuation())
            .run(|r| {
                assert!(delivered.insert(r.device.guid), "delivered twice");
            })
            .await
            .expect_err("the sync must fail, not report success with fewer devices");
        assert!(e.is_pagination_expired(), "{e:?}");
        assert_eq!(s.status_count(400), 3, "the first try and two restarts");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_stream_reports_the_failure_through_its_handle() {
    bounded(async {
        let s = sim().await;
        let h = s.handle.clone();
        let client: Arc<dyn ExchangeClient> = Arc::new(client(&s));
        let (stream, handle) = InventorySync::new(&*client)
            .on_progress(move |_| {
                h.push_fault(step(
                    GET,
                    Fault::Fail(Failure::Unavailable),
                    FaultTimes::Always,
                ))
            })
            .stream();
        let records: Vec<_> = stream.collect().await;
        let e = handle
            .await
            .expect("the sync ran to its end")
            .expect_err("the failure reaches the handle");
        assert_eq!(e.status(), Some(503), "{e:?}");
        assert!(records.len() < DEVICES, "{} records", records.len());
        let unique: HashSet<_> = records.iter().map(|r| r.device.guid).collect();
        assert_eq!(unique.len(), records.len());
    })
    .await;
}

// ---- a service that never advances --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_that_never_advances_is_a_decode_error_not_an_endless_enumeration() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(GET, Fault::StaleNextLink, FaultTimes::Always));
        let c = client(&s);
        let stuck = |e: &Error| {
            assert!(matches!(e, Error::Paging { .. }), "{e:?}");
            assert!(e.to_string().contains("already"), "{e}");
        };
        // The second page comes back pointing at itself.
        stuck(
            &c.get_mobile_device(GetMobileDevice::new())
                .await
                .unwrap_err(),
        );
        stuck(&c.call(GetMobileDevice::new()).await.unwrap_err());
        for d in [
            drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {}).await,
            drain(c.stream(GetMobileDevice::new()), || {}).await,
        ] {
            let e = d.error.as_ref().expect("the stream must end with an error");
            stuck(e);
            assert_eq!(
                d.rows.len(),
                PAGE,
                "rows of the repeated page were not yielded"
            );
            assert!(!d.report.complete, "{:?}", d.report);
        }
        let client: Arc<dyn ExchangeClient> = Arc::new(c);
        stuck(
            &InventorySync::new(&*client)
                .run(|_| {})
                .await
                .expect_err("the sync must fail"),
        );
    })
    .await;
}
