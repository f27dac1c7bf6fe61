//! Scenarios that write: create, update and delete.

use super::*;

#[derive(Debug, PartialEq)]
struct Created {
    policy: Option<MobileDeviceMailboxPolicy>,
    rule: Option<ActiveSyncDeviceAccessRule>,
    read_back: Vec<MobileDeviceMailboxPolicy>,
    errors: Vec<ErrorView>,
}

async fn create(b: &Backend) -> Created {
    let c = b.client();
    let policy_created = c
        .new_mobile_device_mailbox_policy(
            NewMobileDeviceMailboxPolicy::new("Kiosk Tablets")
                .unwrap()
                .password_enabled(true)
                .min_password_length(8)
                .max_inactivity_time_lock(ExchangeTimeSpan::from_minutes(15)),
        )
        .await
        .unwrap();
    let p = policy_created.value.clone().expect("the created policy");
    assert_eq!(p.name.as_deref(), Some("Kiosk Tablets"));
    assert_eq!(p.password_enabled, Some(true));
    assert_eq!(p.min_password_length, Some(8));
    assert_eq!(p.is_default, Some(false));

    let read_back = c
        .get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(policy("Kiosk Tablets")),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(read_back.len(), 1);
    assert_eq!(read_back[0].guid, p.guid, "{}", b.name);

    let request = NewActiveSyncDeviceAccessRule::new(
        "ContosoPhone",
        DeviceAccessCharacteristic::DeviceModel,
        DeviceAccessLevel::Quarantine,
    )
    .unwrap();
    let expected_name = request.expected_identity().unwrap();
    let rule_created = c.new_active_sync_device_access_rule(request).await.unwrap();
    let r = rule_created.value.clone().expect("the created rule");
    assert_eq!(r.name.as_deref(), Some(expected_name.as_str()));
    assert_eq!(r.access_level, Some(DeviceAccessLevel::Quarantine));

    // Duplicates (the policy name compared case-insensitively) are refused.
    let dup_policy = expect_err(
        b,
        "a duplicate policy",
        c.new_mobile_device_mailbox_policy(
            NewMobileDeviceMailboxPolicy::new("kiosk tablets").unwrap(),
        )
        .await,
    );
    assert!(dup_policy.is_already_exists(), "{}: {dup_policy}", b.name);
    let dup_rule = expect_err(
        b,
        "a duplicate rule",
        c.new_active_sync_device_access_rule(
            NewActiveSyncDeviceAccessRule::new(
                "ContosoPhone",
                DeviceAccessCharacteristic::DeviceModel,
                DeviceAccessLevel::Block,
            )
            .unwrap(),
        )
        .await,
    );
    assert!(dup_rule.is_already_exists(), "{}: {dup_rule}", b.name);

    Created {
        policy: policy_created.value,
        rule: rule_created.value,
        read_back,
        errors: vec![view(&dup_policy), view(&dup_rule)],
    }
}
on_both_backends!(
    create_policy_and_rule,
    create,
    seed = 102,
    devices = 10,
    rbac = RbacProfile::Full
);

#[derive(Debug, PartialEq)]
struct Updated {
    policy: MobileDeviceMailboxPolicy,
    first_warnings: Vec<String>,
    noop_warnings: Vec<String>,
    org: ActiveSyncOrganizationSettings,
    rule: ActiveSyncDeviceAccessRule,
}

async fn update(b: &Backend) -> Updated {
    let c = b.client();
    let set = SetMobileDeviceMailboxPolicy::new(policy("Default"))
        .password_enabled(true)
        .password_history(5)
        .max_password_failed_attempts(Unlimited::Limited(8))
        .allow_bluetooth(BluetoothType::HandsfreeOnly);
    let first = c
        .set_mobile_device_mailbox_policy(set.clone())
        .await
        .unwrap();
    assert!(
        first.warnings.is_empty(),
        "{}: {:?}",
        b.name,
        first.warnings
    );
    let got = c
        .get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(PolicyIdentity::default_policy()),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(got.len(), 1);
    let p = got.into_iter().next().unwrap();
    assert_eq!(p.password_enabled, Some(true));
    assert_eq!(p.password_history, Some(5));
    assert_eq!(p.max_password_failed_attempts, Some(Unlimited::Limited(8)));
    assert_eq!(p.allow_bluetooth, Some(BluetoothType::HandsfreeOnly));

    // The same Set again changes nothing: the service says so in a warning.
    let noop = c.set_mobile_device_mailbox_policy(set).await.unwrap();
    assert_eq!(noop.warnings.len(), 1, "{}: {:?}", b.name, noop.warnings);

    c.set_active_sync_organization_settings(
        SetActiveSyncOrganizationSettings::new()
            .default_access_level(DeviceAccessLevel::Quarantine)
            .admin_mail_recipients(ListChange::replace(["mdm-admins@contoso.com"]))
            .user_mail_insert("Your device waits for approval."),
    )
    .await
    .unwrap();
    let org = c
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await
        .unwrap()
        .value;
    assert_eq!(
        org.default_access_level,
        Some(DeviceAccessLevel::Quarantine)
    );
    assert_eq!(
        org.admin_mail_recipients.as_deref(),
        Some(&["mdm-admins@contoso.com".to_string()][..])
    );
    assert_eq!(
        org.user_mail_insert.as_deref(),
        Some("Your device waits for approval.")
    );

    c.set_active_sync_device_access_rule(SetActiveSyncDeviceAccessRule::new(
        rule("SAMSUNGSMG991B (DeviceType)"),
        DeviceAccessLevel::Allow,
    ))
    .await
    .unwrap();
    let rules = c
        .get_active_sync_device_access_rule(
            GetActiveSyncDeviceAccessRule::new().identity(rule("SAMSUNGSMG991B (DeviceType)")),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].access_level, Some(DeviceAccessLevel::Allow));

    Updated {
        policy: p,
        first_warnings: messages(&first.warnings),
        noop_warnings: messages(&noop.warnings),
        org,
        rule: rules.into_iter().next().unwrap(),
    }
}
on_both_backends!(
    update_then_read_back,
    update,
    seed = 103,
    devices = 10,
    rbac = RbacProfile::Full
);

async fn delete(b: &Backend) -> Vec<(&'static str, ErrorView)> {
    let c = b.client();
    let mut gone = Vec::new();

    c.new_mobile_device_mailbox_policy(NewMobileDeviceMailboxPolicy::new("Short-lived").unwrap())
        .await
        .unwrap();
    c.remove_mobile_device_mailbox_policy(RemoveMobileDeviceMailboxPolicy::new(policy(
        "Short-lived",
    )))
    .await
    .unwrap();
    let e = expect_err(
        b,
        "Get of a removed policy",
        c.get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(policy("Short-lived")),
        )
        .await,
    );
    assert!(e.is_not_found(), "{}: {e}", b.name);
    gone.push(("policy", view(&e)));

    c.remove_active_sync_device_access_rule(RemoveActiveSyncDeviceAccessRule::new(rule(
        "iPhone15C2 (DeviceModel)",
    )))
    .await
    .unwrap();
    let e = expect_err(
        b,
        "Get of a removed rule",
        c.get_active_sync_device_access_rule(
            GetActiveSyncDeviceAccessRule::new().identity(rule("iPhone15C2 (DeviceModel)")),
        )
        .await,
    );
    assert!(e.is_not_found(), "{}: {e}", b.name);
    gone.push(("rule", view(&e)));

    let before = b.snapshot().device_count();
    let victim = b.snapshot().devices().next().expect("a device").guid;
    c.remove_mobile_device(RemoveMobileDevice::new(device(victim)))
        .await
        .unwrap();
    assert_eq!(b.snapshot().device_count(), before - 1);
    let e = expect_err(
        b,
        "Get of a removed device",
        c.get_mobile_device(GetMobileDevice::for_device(device(victim)))
            .await,
    );
    assert!(e.is_not_found(), "{}: {e}", b.name);
    gone.push(("device", view(&e)));
    gone
}
on_both_backends!(
    delete_then_not_found,
    delete,
    seed = 104,
    devices = 12,
    rbac = RbacProfile::Full
);
