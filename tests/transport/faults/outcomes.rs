//! Truthful outcomes (a service that answers badly gives "unknown", never "refused" or
//! "gone"), endless continuations, long `Retry-After`s and resumed streams.

use super::*;

// ---------------------------------------------------------------------------------------
// Truthful outcomes: a service that answers badly gives "unknown", never "refused" or "gone".
// ---------------------------------------------------------------------------------------

/// A device of the simulator that has no wipe pending: (Guid, identity).
fn idle_device(s: &SimulatorHandle) -> (Uuid, MobileDeviceIdentity) {
    let t = s.tenant();
    let d = t
        .devices()
        .find(|d| !d.wipe.is_pending())
        .expect("a device");
    (
        d.guid,
        MobileDeviceIdentity::new(t.device_identity(d)).expect("identity"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wipe_that_ran_and_was_answered_503_or_500_transient_is_unknown_and_sent_once() {
    use exchange_activesync::connector::{WipeConfirmation, WipeError, WipeRequest, remote_wipe};
    bounded(async {
        for failure in [
            Failure::Unavailable,
            Failure::TransientException {
                exception: "StorageTransientException".into(),
            },
        ] {
            let s = sim().await;
            let (guid, device) = idle_device(&s);
            s.push_fault(step(
                "Clear-MobileDevice",
                Fault::AfterRun(failure.clone()),
                FaultTimes::Always,
            ));
            let err = remote_wipe(
                &client(&s),
                &WipeRequest::account_only(device.clone()),
                WipeConfirmation::i_understand_this_erases(&device),
            )
            .await
            .expect_err("the answer is an error");
            assert!(
                matches!(err, WipeError::OutcomeUnknown { .. }),
                "{failure:?}: reported as {err:?}"
            );
            assert_eq!(s.calls_to("Clear-MobileDevice"), 1, "{failure:?}: re-sent");
            // Unknown indeed: the service ran it.
            assert!(s.tenant().device(&guid).expect("device").wipe.is_pending());
            let err = Error::from(err);
            assert!(err.may_have_acted());
            assert_eq!(
                err.outcome(),
                exchange_activesync::outcome::CallOutcome::Unknown
            );
        }
    })
    .await;
}

/// Plan a cleanup of the stale devices of `s` (as of the tenant's clock).
async fn stale_plan(
    c: &dyn ExchangeClient,
    s: &SimulatorHandle,
) -> exchange_activesync::connector::CleanupPlan {
    use exchange_activesync::connector::{StaleCriteria, plan_stale_cleanup};
    let now = s.tenant().now();
    let plan = plan_stale_cleanup(
        c,
        StaleCriteria::older_than(Duration::from_secs(45 * 86_400)),
        now,
    )
    .await
    .expect("plan");
    assert!(
        !plan.candidates.is_empty(),
        "the seeded tenant has stale devices"
    );
    assert!(plan.is_complete());
    plan
}

async fn apply(
    c: &dyn ExchangeClient,
    plan: &exchange_activesync::connector::CleanupPlan,
    recheck: bool,
) -> exchange_activesync::connector::CleanupReport {
    use exchange_activesync::connector::{
        ApplyOptions, CleanupConfirmation, Recheck, apply_cleanup,
    };
    let recheck = if recheck {
        Recheck::Always
    } else {
        Recheck::WhenPlanOlderThan(Duration::from_secs(3600))
    };
    apply_cleanup(
        c,
        plan,
        CleanupConfirmation::i_reviewed(plan),
        ApplyOptions::new(1000)
            .recheck(recheck)
            .now(plan.created_at),
    )
    .await
    .expect("applied")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_answered_503_after_they_ran_are_unknown_unless_a_read_back_proves_them() {
    use exchange_activesync::connector::CleanupVerdict;
    bounded(async {
        // Read-back possible: every removal ran, so each one is proved removed.
        let s = sim().await;
        let c = client(&s);
        let plan = stale_plan(&c, &s).await;
        s.push_fault(step(
            "Remove-MobileDevice",
            Fault::AfterRun(Failure::Unavailable),
            FaultTimes::Always,
        ));
        let report = apply(&c, &plan, false).await;
        assert_eq!(s.calls_to("Remove-MobileDevice"), plan.candidates.len());
        assert_eq!(report.count("removed"), plan.candidates.len(), "{report:?}");
        assert_eq!(report.verdict(), CleanupVerdict::Done);
        for cand in &plan.candidates {
            assert!(
                s.tenant().device(&cand.guid.unwrap()).is_none(),
                "not removed"
            );
        }

        // No read-back possible (every Get-MobileDevice answers 503 too): unknown, never
        // refused, each sent once.
        let s = sim().await;
        let c = client(&s);
        let plan = stale_plan(&c, &s).await;
        s.push_fault(step(
            "Remove-MobileDevice",
            Fault::AfterRun(Failure::TransientException {
                exception: "DCOverloadedException".into(),
            }),
            FaultTimes::Always,
        ));
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::Unavailable),
            FaultTimes::Always,
        ));
        let report = apply(&c, &plan, false).await;
        assert_eq!(s.calls_to("Remove-MobileDevice"), plan.candidates.len());
        assert_eq!(report.count("unknown"), plan.candidates.len(), "{report:?}");
        assert_eq!(report.count("refused"), 0);
        assert_eq!(report.verdict(), CleanupVerdict::Unknown);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_404_after_planning_is_never_gone() {
    use exchange_activesync::connector::{CandidateResult, CleanupVerdict};
    bounded(async {
        for recheck in [false, true] {
            let s = sim().await;
            let c = client(&s);
            let plan = stale_plan(&c, &s).await;
            // The route is lost: every request from now on gets a proxy's 404 page.
            s.push_fault(FaultStep::new(
                None,
                Fault::Fail(Failure::NotFoundPage),
                FaultTimes::Always,
            ));
            let report = apply(&c, &plan, recheck).await;
            assert_eq!(report.count("gone"), 0, "{report:?}");
            assert_eq!(report.count("removed"), 0, "{report:?}");
            assert_ne!(report.verdict(), CleanupVerdict::Done, "recheck {recheck}");
            for o in &report.outcomes {
                assert!(
                    matches!(
                        o.result,
                        CandidateResult::Unknown(_) | CandidateResult::Skipped(_)
                    ),
                    "{:?}",
                    o.result
                );
            }
            // Nothing was removed.
            for cand in &plan.candidates {
                assert!(s.tenant().device(&cand.guid.unwrap()).is_some());
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_that_repeat_rows_forever_end_with_an_error_naming_the_pages() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(GET, Fault::RepeatRows, FaultTimes::Always));
        let c = client(&s);
        let started = Instant::now();
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("the listing cannot end");
        assert!(matches!(e, Error::Paging { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("pages 2 to") && text.contains("no new row"),
            "{text}"
        );
        assert!(
            s.calls_to(GET) <= 2 + 5,
            "{} pages fetched",
            s.calls_to(GET)
        );
        assert!(started.elapsed() < BOUND);
        // The stream yields the first page once, then the error.
        let d = drain(c.get_mobile_device_stream(GetMobileDevice::new()), || {}).await;
        assert_eq!(d.rows.len(), PAGE);
        assert!(
            matches!(d.error, Some(Error::Paging { .. })),
            "{:?}",
            d.error
        );
        // So does the inventory.
        let client: Arc<dyn ExchangeClient> = Arc::new(c);
        let e = InventorySync::new(&*client)
            .run(|_| {})
            .await
            .expect_err("the sync must fail");
        assert!(matches!(e, Error::Paging { .. }), "{e:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_the_maximum_waits_at_the_gate_then_succeeds() {
    bounded(async {
        let s = sim().await;
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::Throttled {
                retry_after: Some("99999999".into()),
            }),
            FaultTimes::Once,
        ));
        let retry = fast_retry().with_max_retry_after(Duration::from_millis(300));
        let c = client_with(
            &s,
            retry.clone(),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let started = Instant::now();
        let all = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect("waits the maximum, then completes");
        assert_exact(&all.items, &s.expected);
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "it did not wait"
        );
        // Fail fast: the call that received it fails at once, naming the Retry-After.
        s.push_fault(step(
            GET,
            Fault::Fail(Failure::Throttled {
                retry_after: Some("99999999".into()),
            }),
            FaultTimes::Once,
        ));
        let c = client_with(
            &s,
            retry.with_fail_fast_on_long_retry_after(true),
            TimeoutConfig::default(),
            Arc::new(StaticToken::new(s.token())),
        );
        let e = c
            .get_mobile_device(GetMobileDevice::new())
            .await
            .expect_err("fails fast");
        assert!(e.is_retry_after_too_long(), "{e:?}");
        assert!(e.to_string().contains("86400s"), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_from_a_checkpoint_never_repeats_rows_from_before_it() {
    use exchange_activesync::PreparedCmdlet;
    bounded(async {
        let s = sim().await;
        let c = client(&s);
        // Read the first page and keep its continuation as a checkpoint.
        let mut first = c.get_mobile_device_stream(GetMobileDevice::new());
        let mut before = HashSet::new();
        for _ in 0..PAGE {
            let d = first.next().await.expect("a row").expect("ok");
            before.insert(d.guid.expect("guid"));
        }
        let checkpoint = first.report().next_link.expect("more pages");
        drop(first);
        // The continuation expires before the resumed stream uses it.
        s.expire_next_continuation();
        let prepared = PreparedCmdlet::new(&GetMobileDevice::new()).expect("prepared");
        let d = drain(c.stream_prepared(prepared, Some(checkpoint)), || {}).await;
        for row in &d.rows {
            assert!(
                !before.contains(&row.guid.expect("guid")),
                "a row from before the checkpoint came again"
            );
        }
        let e = d
            .error
            .expect("cannot resume without repeating: an error says so");
        assert!(e.is_pagination_expired(), "{e:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_from_a_checkpoint_after_an_expired_continuation_loses_and_repeats_nothing()
 {
    use exchange_activesync::{Checkpoint, PreparedCmdlet};
    bounded(async {
        let s = sim().await;
        let c = client(&s);
        // Read one page and a part of the next, then stop.
        let mut first = c.get_mobile_device_stream(GetMobileDevice::new());
        let mut before = Vec::new();
        for _ in 0..(PAGE + 7) {
            let d = first.next().await.expect("a row").expect("ok");
            before.push(d.guid.expect("guid"));
        }
        let checkpoint = first.checkpoint().expect("not finished");
        drop(first);
        // It survives a trip through JSON (another process can resume).
        let json = serde_json::to_string(&checkpoint).unwrap();
        let checkpoint: Checkpoint = serde_json::from_str(&json).unwrap();
        assert_eq!(checkpoint.returned.len(), PAGE + 7);
        // The keys of the rows returned (their Guids), sorted as `returned` documents.
        let mut expected: Vec<u128> = before.iter().map(|g| g.as_u128()).collect();
        expected.sort_unstable();
        assert_eq!(checkpoint.returned, expected);
        // The continuation expires before the resumed stream uses it.
        s.expire_next_continuation();
        let prepared = PreparedCmdlet::new(&GetMobileDevice::new()).expect("prepared");
        let d = drain(c.stream_from(prepared, checkpoint), || {}).await;
        assert!(d.error.is_none(), "{:?}", d.error);
        assert_eq!(d.report.restarts, 1, "{:?}", d.report);
        let mut all: Vec<MobileDevice> = d.rows;
        let after: HashSet<Uuid> = all.iter().map(|r| r.guid.unwrap()).collect();
        for g in &before {
            assert!(
                !after.contains(g),
                "a row from before the checkpoint came again"
            );
        }
        // Together: every device exactly once.
        let mut guids: Vec<Uuid> = before;
        guids.extend(all.drain(..).map(|r| r.guid.unwrap()));
        let set: HashSet<Uuid> = guids.iter().copied().collect();
        assert_eq!(guids.len(), set.len(), "a row was returned twice");
        assert_eq!(set, s.expected, "a row was lost");
    })
    .await;
}
