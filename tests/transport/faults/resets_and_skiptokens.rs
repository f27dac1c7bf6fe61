//! Connection resets mid-body and expired skiptokens.

use super::*;

// ---- 3. connection resets mid-body --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mid_body_sends_headers_and_part_of_the_body_then_aborts() {
    bounded(async {
        let s = sim().await;
        s.push_fault(FaultStep::new(None, Fault::ResetMidBody, FaultTimes::Once));
        let body = serde_json::json!({"CmdletInput": {
            "CmdletName": GET, "Parameters": {"ResultSize": "Unlimited"}}})
        .to_string();
        let mut r = reqwest::Client::new()
            .post(s.invoke_url())
            .bearer_auth(s.token())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("status line and headers arrive");
        assert_eq!(r.status(), 200);
        let mut got = Vec::new();
        let failed = loop {
            match r.chunk().await {
                Ok(Some(chunk)) => got.extend_from_slice(&chunk),
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        assert!(failed, "the body must fail, not end cleanly");
        assert!(
            got.starts_with(b"{\"@odata.context\":"),
            "part of the body arrived: {:?}",
            String::from_utf8_lossy(&got[..got.len().min(40)])
        );
        assert!(serde_json::from_slice::<serde_json::Value>(&got).is_err());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_reset_mid_body_are_retried_and_complete() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(GET, Fault::ResetMidBody, FaultTimes::N(2)));
        let listing = client(&s)
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("resets are retried for reads");
        assert_exact(&listing.items, &s.expected);
        assert_eq!(s.faults_fired(), 2);
        let c = client(&s);
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {
            s.push_fault(step(GET, Fault::ResetMidBody, FaultTimes::N(2)))
        })
        .await;
        assert_complete(&d, &s.expected);
        assert_eq!(s.faults_fired(), 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wipe_reset_mid_body_is_not_retried_and_is_ambiguous() {
    bounded(async {
        let s = sim().await;
        let (guid, identity) = {
            let t = s.tenant();
            let d = t
                .devices()
                .find(|d| !d.wipe.is_pending())
                .expect("a device");
            (d.guid, t.device_identity(d))
        };
        s.push_fault(step(
            "Clear-MobileDevice",
            Fault::ResetMidBody,
            FaultTimes::Always,
        ));
        let requests = s.request_count();
        let e = client(&s)
            .clear_mobile_device(ClearMobileDevice::full_wipe(
                MobileDeviceIdentity::new(identity).expect("identity"),
            ))
            .await
            .expect_err("the reset is returned");
        assert_eq!(s.request_count() - requests, 1, "the wipe was re-sent");
        assert!(matches!(e, Error::Transport { .. }), "{e:?}");
        assert_eq!(e.send_state(), SendState::Ambiguous);
        // Ambiguous indeed: the service did run the wipe before the connection broke.
        assert!(s.tenant().device(&guid).expect("device").wipe.is_pending());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_restarts_after_a_reset_the_client_does_not_retry() {
    bounded(async {
        let s = sim().await;
        // No HTTP retries: the reset on the second page reaches the sync, which restarts.
        let c = client_with(
            &s,
            RetryPolicy::disabled(),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        // The second page request is reset (the first goes through): the sync fetches the
        // next page while it joins the one before, so the fault is armed up front rather
        // than after the first page's delivery.
        s.handle
            .push_fault(step(GET, Fault::ResetMidBody, FaultTimes::Once).after(1));
        let (report, rows) = sync(c, |sync| sync.page_size(50)).await;
        assert_sync_exact(&rows, &report, &s);
        assert_eq!(s.faults_fired(), 1);
        assert_eq!(report.restarts, 1, "{report:?}");
    })
    .await;
}

// ---- 4. expired skiptokens ----------------------------------------------------------------

/// An expired continuation restarts collect and streams from the first page (a listing with
/// a row key): every device exactly once, one restart counted, no partial listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_skiptoken_restarts_collect_and_streams_without_duplicates() {
    bounded(async {
        let s = sim().await;
        let c = client(&s);

        s.expire_next_continuation();
        let l = c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
        assert_exact(&l.items, &s.expected);
        assert_eq!(l.restarts, 1);

        s.expire_next_continuation();
        let l = c.call(GetMobileDevice::new()).await.unwrap();
        assert_exact(&l.items, &s.expected);
        assert_eq!(l.restarts, 1);

        s.expire_next_continuation();
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {}).await;
        assert!(d.error.is_none(), "{:?}", d.error);
        assert_exact(&d.rows, &s.expected);
        assert_eq!(d.report.restarts, 1);

        s.expire_next_continuation();
        let d = drain(c.stream(GetMobileDevice::new()), || {}).await;
        assert!(d.error.is_none(), "{:?}", d.error);
        assert_exact(&d.rows, &s.expected);
        assert_eq!((d.report.restarts, d.report.complete), (1, true));
        assert_eq!(s.status_count(400), 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_on_a_wipe_answer_does_not_send_the_wipe_twice() {
    bounded(async {
        let s = sim().await;
        let identity = {
            let t = s.tenant();
            let d = t
                .devices()
                .find(|d| !d.wipe.is_pending())
                .expect("a device");
            t.device_identity(d)
        };
        s.push_fault(step(
            "Clear-MobileDevice",
            Fault::NextLinkOnWrite,
            FaultTimes::Always,
        ));
        let outcome = client(&s)
            .clear_mobile_device(ClearMobileDevice::full_wipe(
                MobileDeviceIdentity::new(identity).expect("identity"),
            ))
            .await
            .expect("the wipe is accepted");
        assert_eq!(s.calls_to("Clear-MobileDevice"), 1, "{:?}", s.calls());
        assert!(s.calls().iter().all(|c| !c.continuation));
        assert!(
            outcome
                .warnings
                .iter()
                .any(|w| w.message.contains("@odata.nextLink")),
            "the offered continuation is surfaced: {outcome:?}"
        );
        // Reads pass the step by: a listing is unaffected.
        let l = client(&s).get_mobile_device(GetMobileDevice::new()).await;
        assert_exact(&l.expect("listing").items, &s.expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_restarts_after_an_expired_skiptoken_and_delivers_each_device_once() {
    bounded(async {
        let s = sim().await;
        s.expire_next_continuation();
        let (report, rows) = sync(client(&s), |sync| sync).await;
        assert_sync_exact(&rows, &report, &s);
        assert_eq!(report.restarts, 1, "{report:?}");
        assert_eq!(
            report.duplicates_skipped, PAGE,
            "the first page was re-read"
        );
        assert_eq!(report.pages, DEVICES.div_ceil(PAGE) + 1);
        assert_eq!(s.status_count(400), 1);
    })
    .await;
}
