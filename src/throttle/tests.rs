//! Unit tests of the throttle (paused time, scripted answers).
use super::*;

fn concurrency() -> Error {
    ApiError::new(429, format!("{TENANT_CONCURRENCY_MESSAGE}.")).into()
}

/// Take `n` permits at once.
async fn take(l: &TenantThrottle, n: usize) -> Vec<Permit<'_>> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(l.acquire().await);
    }
    v
}

/// Whether a permit is available within a millisecond of paused time.
async fn admits(l: &TenantThrottle) -> Option<Permit<'_>> {
    tokio::time::timeout(Duration::from_millis(1), l.acquire())
        .await
        .ok()
}

#[tokio::test]
async fn additive_growth_and_halving_before_a_cap_is_known() {
    let l = TenantThrottle::new(8, 8);
    assert_eq!(l.limit(), 8);
    l.on_throttled(None);
    assert_eq!(l.limit(), 4);
    // Within the cooldown a second 429 of the same burst does not halve again.
    l.on_throttled(None);
    assert_eq!(l.limit(), 4);
    // About one step per `limit` successes: 4 successes are not quite enough at 4.
    for _ in 0..4 {
        l.on_success();
    }
    assert_eq!(l.limit(), 4);
    l.on_success();
    assert_eq!(l.limit(), 5);
    for _ in 0..1000 {
        l.on_success();
    }
    assert_eq!(l.limit(), 8, "never above max");
    assert_eq!(l.throttled_count(), 2);
    assert_eq!(l.known_cap(), None);
}

#[tokio::test(start_paused = true)]
async fn limit_never_below_one_and_caps_in_flight() {
    let l = TenantThrottle::new(2, 4);
    for _ in 0..5 {
        l.on_throttled(None);
        tokio::time::advance(DECREASE_COOLDOWN).await;
    }
    assert_eq!(l.limit(), 1);
    let p = l.acquire().await;
    assert_eq!(l.in_flight(), 1);
    assert!(
        admits(&l).await.is_none(),
        "a second slot must wait at limit 1"
    );
    drop(p);
    let _p2 = l.acquire().await;
    assert_eq!(l.in_flight(), 1);
}

#[tokio::test(start_paused = true)]
async fn discovery_names_the_cap_with_the_first_refusal_in_any_order() {
    // Starting at 4 against a cap of 2, two calls of the first burst are refused: which
    // two depends on the order they reach the service, not on the order they started.
    for refused in [[2, 3], [3, 2], [0, 1], [1, 3]] {
        let l = TenantThrottle::new(4, 64);
        let mut permits: Vec<Option<Permit<'_>>> =
            take(&l, 4).await.into_iter().map(Some).collect();
        permits[refused[0]].take().unwrap().failed(&concurrency());
        assert_eq!(l.known_cap(), Some(3), "{refused:?}");
        permits[refused[1]].take().unwrap().failed(&concurrency());
        assert_eq!(l.known_cap(), Some(2), "{refused:?}");
        assert_eq!(l.limit(), 2);
        // The others succeed; the cap stays.
        for p in permits.into_iter().flatten() {
            p.success();
        }
        assert_eq!(l.known_cap(), Some(2));
        assert_eq!(l.throttled_count(), 2, "two refusals in all");
    }
}

#[tokio::test(start_paused = true)]
async fn the_cap_is_held_and_probed_rarely() {
    let l = TenantThrottle::new(3, 64);
    let mut permits = take(&l, 3).await;
    permits.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(2));
    // Thousands of successes do not raise it, and no third call is let through before
    // a probe interval has passed.
    drop(permits);
    let mut permits = take(&l, 2).await;
    for _ in 0..5_000 {
        l.on_success();
    }
    assert_eq!(l.limit(), 2);
    tokio::time::advance(PROBE_INTERVAL - Duration::from_millis(10)).await;
    assert!(admits(&l).await.is_none(), "no probe within the interval");
    // At most half an interval later a single probe goes above the cap.
    tokio::time::advance(PROBE_INTERVAL / 2).await;
    let probe = admits(&l)
        .await
        .expect("a probe once the interval has passed");
    assert!(probe.is_probe());
    assert_eq!(l.in_flight(), 3);
    assert!(admits(&l).await.is_none(), "one probe at a time");
    // A refused probe returns to the cap, not below it, and does not count against it.
    probe.failed(&concurrency());
    assert_eq!(l.limit(), 2);
    assert_eq!(l.known_cap(), Some(2));
    // The calls at the cap go on: a released slot is taken again at once.
    drop(permits.pop());
    let again = admits(&l).await.expect("the cap stays usable");
    assert!(!again.is_probe());
    permits.push(again);
    assert!(
        admits(&l).await.is_none(),
        "the next probe waits an interval"
    );
    tokio::time::advance(PROBE_INTERVAL * 3 / 2).await;
    // A successful probe raises the cap by one; the next probe may follow at once.
    let probe = admits(&l).await.expect("probe");
    assert!(probe.is_probe());
    probe.success();
    assert_eq!(l.known_cap(), Some(3));
    assert_eq!(l.limit(), 3);
    let third = admits(&l).await.expect("the raised cap");
    assert!(!third.is_probe());
    assert!(
        admits(&l).await.is_none(),
        "the next probe waits an interval"
    );
    // The service may have let the probe through only because one of the other calls
    // had just ended there: one refusal at the raised level returns to the level before.
    third.failed(&concurrency());
    assert_eq!(l.known_cap(), Some(2));
    assert_eq!(l.limit(), 2);
    assert_eq!(l.throttled_count(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_displaced_a_call_holds_its_slot_and_raises_nothing() {
    let l = TenantThrottle::new(4, 64);
    let mut permits = take(&l, 4).await;
    permits.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(3));
    drop(permits);
    let mut permits = take(&l, 3).await;
    tokio::time::advance(PROBE_INTERVAL * 3 / 2).await;
    let probe = admits(&l)
        .await
        .expect("a probe once the interval has passed");
    assert!(probe.is_probe());
    // One of the calls at the cap ends at the service just before the probe arrives:
    // the probe takes its place and the call admitted next is refused.
    drop(permits.pop());
    let next = admits(&l).await.expect("the slot of the call that ended");
    assert!(!next.is_probe());
    next.failed(&concurrency());
    assert_eq!(l.known_cap(), Some(3), "no evidence about the cap");
    // The displaced slot is not handed to the next waiting call while the probe runs.
    assert_eq!(l.in_flight(), 3);
    assert!(admits(&l).await.is_none(), "the displaced slot is held");
    assert!(admits(&l).await.is_none(), "still held");
    // The probe's success says only that a call had ended: the cap stays.
    probe.success();
    assert_eq!(l.known_cap(), Some(3));
    assert_eq!(l.limit(), 3);
    let third = admits(&l)
        .await
        .expect("the slot is free again once the probe is answered");
    assert!(!third.is_probe());
    permits.push(third);
    assert!(admits(&l).await.is_none(), "the cap is held");
    assert_eq!(l.throttled_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_refused_calls_slot_is_not_handed_to_the_next_waiting_call() {
    // The burst of 4 overshoots a cap of 2, but one of its calls has ended before the
    // refusal arrives: the cap is named 3, one too high, with 2 calls at the service.
    let l = TenantThrottle::new(4, 64);
    let mut burst = take(&l, 4).await;
    burst.remove(0).success();
    burst.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(3));
    assert_eq!(l.in_flight(), 2);
    // The next waiting call would be refused at once, its slot handed on, and so on
    // through every waiting call: the slot stays free until a call ends.
    assert!(
        admits(&l).await.is_none(),
        "the refused call's slot is held"
    );
    // The burst's second refusal names the cap 2; slots are held one per refusal but
    // never more than the calls in flight.
    burst.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(2));
    assert_eq!(l.in_flight(), 1);
    assert!(admits(&l).await.is_none(), "one slot held, one in flight");
    // A call that ends frees one held slot (and its own).
    burst.pop().unwrap().success();
    assert_eq!(l.in_flight(), 0);
    let again = take(&l, 2).await;
    assert_eq!(l.in_flight(), 2);
    drop(again);
    // A call dropped unanswered frees a held slot too.
    let mut more = take(&l, 2).await;
    more.pop().unwrap().failed(&concurrency());
    assert!(admits(&l).await.is_none(), "held");
    drop(more);
    assert!(
        admits(&l).await.is_some(),
        "nothing in flight: nothing held"
    );
}

#[tokio::test(start_paused = true)]
async fn only_repeated_refusals_at_the_cap_lower_it() {
    let l = TenantThrottle::new(5, 64);
    let mut permits = take(&l, 5).await;
    permits.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(4));
    drop(permits);
    tokio::time::advance(Duration::from_secs(1)).await;
    // One refusal at the cap (another client took a slot) is not enough.
    let mut permits = take(&l, 4).await;
    permits.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(4));
    // A round of successes forgets it.
    for p in permits.drain(..) {
        p.success();
    }
    permits = take(&l, 4).await;
    for p in permits.drain(1..) {
        p.success();
    }
    permits.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(4), "refusals separated by a round");
    // Two in a row lower it by one.
    let mut permits = take(&l, 4).await;
    permits.pop().unwrap().failed(&concurrency());
    permits.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(3));
    assert_eq!(l.limit(), 3);
    drop(permits);
    // Never below one.
    let l = TenantThrottle::new(2, 64);
    l.on_concurrency_limited(2);
    assert_eq!(l.known_cap(), Some(1));
    for _ in 0..10 {
        tokio::time::advance(DECREASE_COOLDOWN).await;
        l.on_concurrency_limited(1);
    }
    assert_eq!(l.limit(), 1);
}

#[tokio::test(start_paused = true)]
async fn refusals_the_client_may_have_caused_itself_do_not_lower_the_cap() {
    let l = TenantThrottle::new(4, 64);
    let mut burst: Vec<_> = take(&l, 4).await.into_iter().map(Some).collect();
    burst[3].take().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(3));
    // The refused call's slot stays free until another call ends.
    assert!(
        admits(&l).await.is_none(),
        "the refused call's slot is held"
    );
    burst[0].take().unwrap().success();
    // Admitted while the burst is still in flight: its refusal is no evidence.
    let shadowed = admits(&l).await.expect("a call ended");
    assert!(!shadowed.is_probe());
    burst[2].take().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(2));
    shadowed.failed(&concurrency());
    drop(burst);
    tokio::time::advance(Duration::from_secs(1)).await;
    // Two calls at the cap refused together (the second maybe because the service
    // still counted the first) count once.
    let mut pair = take(&l, 2).await;
    pair.pop().unwrap().failed(&concurrency());
    pair.pop().unwrap().failed(&concurrency());
    assert_eq!(l.known_cap(), Some(2));
    // A refusal of a call started after those were answered is the second one.
    l.acquire().await.failed(&concurrency());
    assert_eq!(l.known_cap(), Some(1));
    assert_eq!(l.throttled_count(), 6);
}

#[tokio::test(start_paused = true)]
async fn other_throttling_halves_below_the_cap_and_grows_back_to_it_only() {
    let l = TenantThrottle::new(9, 64);
    l.on_concurrency_limited(9);
    assert_eq!(l.known_cap(), Some(8));
    tokio::time::advance(DECREASE_COOLDOWN).await;
    let mut with_delay = ApiError::new(429, TENANT_CONCURRENCY_MESSAGE);
    with_delay.retry_after = Some(Duration::from_millis(1));
    let with_delay: Error = with_delay.into();
    assert!(!is_concurrency_answer(&with_delay));
    l.acquire().await.failed(&with_delay);
    assert_eq!(l.limit(), 4);
    let other: Error = ApiError::new(503, "unavailable").into();
    l.acquire().await.failed(&other);
    assert_eq!(l.limit(), 4);
    for _ in 0..1_000 {
        l.on_success();
    }
    assert_eq!(l.limit(), 8, "back to the cap, not above it");
    assert_eq!(l.throttled_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_fleet_prior_sets_the_start_and_a_refusal_there_names_the_cap() {
    let prior = Arc::new(CapPrior::new());
    let first = TenantThrottle::new(4, 64).with_cap_prior(prior.clone());
    assert_eq!(first.known_cap(), None);
    let mut permits = take(&first, 4).await;
    permits.pop().unwrap().failed(&concurrency());
    assert_eq!(prior.cap(), Some(3));
    drop(permits);
    // A tenant made now starts at the fleet's cap.
    let second = TenantThrottle::new(4, 64).with_cap_prior(prior.clone());
    assert_eq!(second.limit(), 3);
    assert_eq!(second.known_cap(), Some(3));
    // A tenant made before the fleet knew takes it at its next admission.
    let late_prior = Arc::new(CapPrior::new());
    let early = TenantThrottle::new(4, 64).with_cap_prior(late_prior.clone());
    assert_eq!(early.limit(), 4);
    let mut burst: Vec<_> = take(&early, 4).await.into_iter().map(Some).collect();
    late_prior.record(None, 2);
    assert!(admits(&early).await.is_none());
    assert_eq!(early.limit(), 2, "taken at the next admission");
    // The burst admitted before it overshoots a cap of 2: its two refusals name 2, not
    // one below the assumed cap.
    burst[0].take().unwrap().failed(&concurrency());
    burst[1].take().unwrap().failed(&concurrency());
    assert_eq!(early.known_cap(), Some(2));
    drop(burst);
    // An assumed cap is lowered by the first refusal at it (this tenant's own cap).
    let mut permits = take(&second, 3).await;
    permits.pop().unwrap().failed(&concurrency());
    assert_eq!(second.known_cap(), Some(2));
    drop(permits);
    assert_eq!(prior.cap(), Some(3), "ties go to the larger cap");
    let third = TenantThrottle::new(4, 64).with_cap_prior(prior.clone());
    third.on_concurrency_limited(3);
    assert_eq!(prior.cap(), Some(2), "two tenants of three showed 2");
    // The first probe above an assumed cap comes sooner than above a named one.
    let fourth = TenantThrottle::new(4, 64).with_cap_prior(prior.clone());
    let _held = take(&fourth, 2).await;
    assert!(admits(&fourth).await.is_none());
    tokio::time::advance(ASSUMED_PROBE_AFTER).await;
    let probe = admits(&fourth).await.expect("probe above the assumed cap");
    assert!(probe.is_probe());
}

#[tokio::test(start_paused = true)]
async fn retry_after_gate_blocks_every_caller() {
    let l = TenantThrottle::new(4, 4);
    let start = Instant::now();
    l.on_throttled(Some(Duration::from_secs(3)));
    let (a, b) = tokio::join!(
        async {
            let _p = l.acquire().await;
            Instant::now()
        },
        async {
            let _p = l.acquire_checked().await.unwrap();
            Instant::now()
        }
    );
    assert!(a.duration_since(start) >= Duration::from_secs(3));
    assert!(b.duration_since(start) >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn fail_fast_fails_the_calls_at_the_gate_at_once() {
    let huge = Duration::from_secs(99_999_999);
    // Default: the gate closes for the maximum and the callers wait it out.
    let l = TenantThrottle::new(4, 4);
    assert!(!l.fail_fast());
    let start = Instant::now();
    l.on_throttled(Some(huge));
    assert!(l.acquire_checked().await.is_ok());
    assert_eq!(start.elapsed(), DEFAULT_MAX_RETRY_AFTER);

    let l = Arc::new(TenantThrottle::new(4, 4).fail_fast_on_long_retry_after(true));
    assert!(l.fail_fast());
    // A call waiting at a gate closed by an ordinary Retry-After …
    l.on_throttled(Some(Duration::from_secs(5)));
    let waiting = {
        let l = l.clone();
        tokio::spawn(async move {
            let r = l.acquire_checked().await.map(|_| ());
            (r, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    // … fails as soon as another call's answer asks for too long a pause.
    let start = Instant::now();
    l.on_throttled(Some(huge));
    let (result, at) = waiting.await.unwrap();
    match result {
        Err(e @ Error::RetryAfterTooLong { .. }) => {
            assert!(e.is_retry_after_too_long());
            assert!(e.to_string().contains("99999999"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(at, start, "at once");
    // A call arriving while the gate is closed fails too.
    assert!(l.acquire_checked().await.is_err());
    assert_eq!(start.elapsed(), Duration::ZERO);
    // Reported through a permit, the error names the answer that carried it.
    let l2 = TenantThrottle::new(4, 4).fail_fast_on_long_retry_after(true);
    let mut answer = ApiError::new(429, "Too many requests");
    answer.retry_after = Some(huge);
    l2.acquire().await.failed(&Error::from(answer));
    match l2.acquire_checked().await {
        Err(Error::RetryAfterTooLong {
            requested,
            max,
            last,
        }) => {
            assert_eq!(requested, huge);
            assert_eq!(max, DEFAULT_MAX_RETRY_AFTER);
            assert_eq!(last.retry_after(), Some(huge));
            assert!(last.to_string().contains("Too many requests"), "{last}");
        }
        other => panic!("{other:?}"),
    }
    // `acquire` never fails: it waits for the maximum.
    drop(l.acquire().await);
    assert_eq!(start.elapsed(), DEFAULT_MAX_RETRY_AFTER);
    // Once the gate has reopened, calls go again.
    assert!(l.acquire_checked().await.is_ok());
}

#[tokio::test]
async fn the_limit_grows_only_while_at_least_half_of_it_is_used() {
    let l = TenantThrottle::new(4, 64);
    // One call at a time, a thousand times: the limit is never used, so it does not grow
    // (it used to climb to the maximum, and the next burst overshot the cap by far).
    for _ in 0..1000 {
        l.acquire().await.success();
    }
    assert_eq!(l.limit(), 4);
    // Two at a time is half of 4: those successes count.
    for _ in 0..20 {
        let mut v = take(&l, 2).await;
        v.pop().expect("two permits").success();
        v.pop().expect("two permits").success();
    }
    assert!(l.limit() > 4, "limit {} did not grow", l.limit());
    // The whole limit in use: it keeps growing, one step per round.
    let before = l.limit();
    for _ in 0..10 {
        for p in take(&l, l.limit()).await {
            p.success();
        }
    }
    assert!(l.limit() >= before + 5, "limit {} from {before}", l.limit());
}
