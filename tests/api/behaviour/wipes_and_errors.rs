//! Wipes, and the errors both backends must give alike: not found, permission denied and
//! throttling.

use super::*;

#[derive(Debug, PartialEq)]
struct Wiped {
    full: MobileDeviceStatistics,
    account_only: MobileDeviceStatistics,
    cancelled: MobileDeviceStatistics,
    second_cancel_warnings: Vec<String>,
}

async fn wipe(b: &Backend) -> Wiped {
    let c = b.client();
    let (full_guid, account_guid) = wipe_targets(b);
    let stats = |guid: Uuid| async move {
        let l = c
            .get_mobile_device_statistics(GetMobileDeviceStatistics::for_device(device(guid)))
            .await
            .unwrap();
        assert_eq!(l.items.len(), 1);
        l.items.into_iter().next().unwrap()
    };
    let caller = b.snapshot().caller().to_string();

    // Full wipe: pending, with the request time and the requestor.
    let out = c
        .clear_mobile_device(
            ClearMobileDevice::full_wipe(device(full_guid)).notify(["helpdesk@contoso.com"]),
        )
        .await
        .unwrap();
    assert!(out.warnings.is_empty(), "{}: {:?}", b.name, out.warnings);
    let requested_at = b
        .snapshot()
        .device(&full_guid)
        .unwrap()
        .wipe
        .request
        .expect("a wipe request time");
    let full = stats(full_guid).await;
    assert_eq!(full.status, Some(DeviceRemoteWipeStatus::DeviceWipePending));
    assert_eq!(full.device_wipe_request_time, Some(requested_at));
    assert_eq!(full.device_wipe_sent_time, None);
    assert_eq!(
        full.last_device_wipe_requestor.as_deref(),
        Some(caller.as_str())
    );

    // Account-only wipe.
    c.clear_mobile_device(ClearMobileDevice::account_only(device(account_guid)))
        .await
        .unwrap();
    let account_only = stats(account_guid).await;
    assert_eq!(
        account_only.status,
        Some(DeviceRemoteWipeStatus::AccountOnlyDeviceWipePending)
    );
    assert!(account_only.account_only_device_wipe_request_time.is_some());
    assert_eq!(account_only.device_wipe_request_time, None);

    // Cancel the full wipe; a second cancel has nothing to cancel and only warns.
    let out = c
        .clear_mobile_device(ClearMobileDevice::cancel(device(full_guid)))
        .await
        .unwrap();
    assert!(out.warnings.is_empty(), "{}: {:?}", b.name, out.warnings);
    let cancelled = stats(full_guid).await;
    assert_eq!(cancelled.status, Some(DeviceRemoteWipeStatus::DeviceOk));
    let again = c
        .clear_mobile_device(ClearMobileDevice::cancel(device(full_guid)))
        .await
        .unwrap();
    assert_eq!(again.warnings.len(), 1, "{}: {:?}", b.name, again.warnings);

    Wiped {
        full,
        account_only,
        cancelled,
        second_cancel_warnings: messages(&again.warnings),
    }
}
on_both_backends!(
    wipe_account_only_and_cancel,
    wipe,
    seed = 105,
    devices = 60,
    rbac = RbacProfile::Full
);

async fn not_found(b: &Backend) -> Vec<(&'static str, ErrorView)> {
    let c = b.client();
    let unknown = device(Uuid::from_u128(0x0bad_0000_0000_4000_8000_0000_0000_0001));
    let results: Vec<(&'static str, Result<Outcome, Error>)> = vec![
        (
            "Set-MobileDeviceMailboxPolicy",
            c.set_mobile_device_mailbox_policy(
                SetMobileDeviceMailboxPolicy::new(policy("No such policy")).password_enabled(true),
            )
            .await,
        ),
        (
            "Remove-MobileDeviceMailboxPolicy",
            c.remove_mobile_device_mailbox_policy(RemoveMobileDeviceMailboxPolicy::new(policy(
                "No such policy",
            )))
            .await,
        ),
        (
            "Set-ActiveSyncDeviceAccessRule",
            c.set_active_sync_device_access_rule(SetActiveSyncDeviceAccessRule::new(
                rule("Nothing (DeviceModel)"),
                DeviceAccessLevel::Allow,
            ))
            .await,
        ),
        (
            "Remove-ActiveSyncDeviceAccessRule",
            c.remove_active_sync_device_access_rule(RemoveActiveSyncDeviceAccessRule::new(rule(
                "Nothing (DeviceModel)",
            )))
            .await,
        ),
        (
            "Clear-MobileDevice",
            c.clear_mobile_device(ClearMobileDevice::full_wipe(unknown.clone()))
                .await,
        ),
        (
            "Remove-MobileDevice",
            c.remove_mobile_device(RemoveMobileDevice::new(unknown.clone()))
                .await,
        ),
    ];
    results
        .into_iter()
        .map(|(cmdlet, r)| {
            let e = expect_err(b, cmdlet, r);
            assert!(e.is_not_found(), "{} {cmdlet}: {e}", b.name);
            assert_eq!(e.api().and_then(|a| a.cmdlet.as_deref()), Some(cmdlet));
            (cmdlet, view(&e))
        })
        .collect()
}
on_both_backends!(
    unknown_identities_are_not_found,
    not_found,
    seed = 106,
    devices = 5,
    rbac = RbacProfile::Full
);

async fn permission_denied(b: &Backend) -> (usize, Vec<(&'static str, ErrorView)>) {
    let c = b.client();
    // Reads work with a read-only role.
    let devices = c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
    assert_eq!(devices.items.len(), 8);
    let before = b.requests();
    let denied: Vec<(&'static str, Result<Outcome, Error>)> = vec![
        (
            "Set-MobileDeviceMailboxPolicy",
            c.set_mobile_device_mailbox_policy(
                SetMobileDeviceMailboxPolicy::new(PolicyIdentity::default_policy())
                    .password_enabled(true),
            )
            .await,
        ),
        (
            "Set-ActiveSyncOrganizationSettings",
            c.set_active_sync_organization_settings(
                SetActiveSyncOrganizationSettings::new()
                    .default_access_level(DeviceAccessLevel::Block),
            )
            .await,
        ),
    ];
    let out = denied
        .into_iter()
        .map(|(cmdlet, r)| {
            let e = expect_err(b, cmdlet, r);
            assert!(e.is_permission_denied(), "{} {cmdlet}: {e}", b.name);
            assert!(!e.is_retryable(), "{} {cmdlet}: a 403 is final", b.name);
            (cmdlet, view(&e))
        })
        .collect();
    assert_eq!(
        b.requests() - before,
        2,
        "{}: one request per call, no retry",
        b.name
    );
    (devices.items.len(), out)
}
on_both_backends!(
    read_only_role_cannot_set,
    permission_denied,
    seed = 107,
    devices = 8,
    rbac = RbacProfile::ReadOnly
);

#[derive(Debug, PartialEq)]
struct Throttled {
    devices: Vec<MobileDevice>,
    set_warnings: Vec<String>,
    policy: Vec<MobileDeviceMailboxPolicy>,
}

/// Run `call` once after scripting one 429 for `cmdlet`: a backend that retries by itself
/// must succeed at once; one that does not must return the throttled error with its
/// `Retry-After`, and succeed when called again after that pause. Either way exactly two
/// requests reach the backend.
async fn through_one_throttle<T, F, Fut>(b: &Backend, cmdlet: &str, call: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
    T: std::fmt::Debug,
{
    b.throttle_once(cmdlet, RETRY_AFTER_SECS);
    let before = b.requests();
    let value = if b.retries_throttling() {
        call()
            .await
            .unwrap_or_else(|e| panic!("{}: {cmdlet} should be retried: {e}", b.name))
    } else {
        let e = expect_err(b, cmdlet, call().await);
        assert!(e.is_throttled(), "{}: {e}", b.name);
        assert_eq!(e.status(), Some(429));
        let pause = e.retry_after().expect("Retry-After");
        assert_eq!(pause, Duration::from_secs_f64(RETRY_AFTER_SECS));
        tokio::time::sleep(pause).await;
        call().await.unwrap()
    };
    assert_eq!(b.requests() - before, 2, "{}: {cmdlet}", b.name);
    value
}

async fn throttled(b: &Backend) -> Throttled {
    let c = b.client();
    let devices = through_one_throttle(b, "Get-MobileDevice", || {
        c.get_mobile_device(GetMobileDevice::new())
    })
    .await;
    assert_eq!(devices.items.len(), 20);

    // A write throttled at the front door was not processed, so it is applied exactly once:
    // no "nothing changed" warning from a second application.
    let set = through_one_throttle(b, "Set-MobileDeviceMailboxPolicy", || {
        c.set_mobile_device_mailbox_policy(
            SetMobileDeviceMailboxPolicy::new(PolicyIdentity::default_policy()).password_history(7),
        )
    })
    .await;
    assert!(set.warnings.is_empty(), "{}: {:?}", b.name, set.warnings);
    let policy = c
        .get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(PolicyIdentity::default_policy()),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(policy[0].password_history, Some(7));
    Throttled {
        devices: devices.items,
        set_warnings: messages(&set.warnings),
        policy,
    }
}
on_both_backends!(
    throttled_once_then_success,
    throttled,
    seed = 108,
    devices = 20,
    rbac = RbacProfile::Full
);
