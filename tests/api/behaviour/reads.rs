//! Scenarios that read: every list, and paging through a large tenant.

use super::*;

#[derive(Debug, PartialEq)]
struct Lists {
    devices: Vec<MobileDevice>,
    policies: Vec<MobileDeviceMailboxPolicy>,
    rules: Vec<ActiveSyncDeviceAccessRule>,
    classes: Vec<ActiveSyncDeviceClass>,
    recipients: Vec<Recipient>,
    org: ActiveSyncOrganizationSettings,
    one_device: Vec<MobileDevice>,
    mailbox_stats: Vec<MobileDeviceStatistics>,
}

async fn list(b: &Backend) -> Lists {
    let c = b.client();
    let t = b.snapshot();
    let devices = c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
    assert_eq!(devices.items.len(), t.device_count(), "{}", b.name);
    let listed: BTreeSet<Uuid> = devices.items.iter().filter_map(|d| d.guid).collect();
    let expected: BTreeSet<Uuid> = t.devices().map(|d| d.guid).collect();
    assert_eq!(listed, expected, "{}", b.name);
    assert!(devices.warnings.is_empty() && !devices.truncated);

    let policies = c
        .get_mobile_device_mailbox_policy(GetMobileDeviceMailboxPolicy::new())
        .await
        .unwrap();
    let names: Vec<_> = policies
        .items
        .iter()
        .filter_map(|p| p.name.clone())
        .collect();
    let expected: Vec<_> = t.policies().iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, expected, "{}", b.name);
    assert_eq!(
        policies
            .items
            .iter()
            .filter(|p| p.is_default == Some(true))
            .count(),
        1,
        "exactly one default policy"
    );

    let rules = c
        .get_active_sync_device_access_rule(GetActiveSyncDeviceAccessRule::new())
        .await
        .unwrap();
    assert_eq!(rules.items.len(), t.access_rules().len());
    assert!(rules.items.iter().any(|r| {
        r.query_string.as_deref() == Some("SAMSUNGSMG991B")
            && r.access_level == Some(DeviceAccessLevel::Block)
    }));

    let classes = c
        .get_active_sync_device_class(GetActiveSyncDeviceClass::new())
        .await
        .unwrap();
    assert!(!classes.items.is_empty());
    let types: BTreeSet<_> = t.devices().map(|d| d.device_type.clone()).collect();
    assert!(
        classes
            .items
            .iter()
            .all(|k| k.device_type.as_ref().is_some_and(|ty| types.contains(ty))),
        "every class is the type of some device"
    );

    let recipients = c.get_recipient(GetRecipient::new()).await.unwrap();
    assert_eq!(recipients.items.len(), t.mailboxes().len());

    let org = c
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await
        .unwrap()
        .value;
    assert_eq!(org.name.as_deref(), Some("Mobile Mailbox Settings"));
    assert_eq!(
        org.default_access_level.as_ref().map(|l| l.as_str()),
        Some(t.org_settings().default_access_level.as_str())
    );

    // One device by identity, and the statistics of its mailbox (routed by SMTP address).
    let first = t.devices().next().expect("a device");
    let one_device = c
        .get_mobile_device(GetMobileDevice::for_device(device(first.guid)))
        .await
        .unwrap()
        .items;
    assert_eq!(one_device.len(), 1);
    assert_eq!(one_device[0].guid, Some(first.guid));
    let smtp = t.mailboxes()[first.mailbox].primary_smtp_address.clone();
    let mailbox_stats = c
        .get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(
            MailboxIdentity::new(&smtp).unwrap(),
        ))
        .await
        .unwrap()
        .items;
    let owned = t.devices().filter(|d| d.mailbox == first.mailbox).count();
    assert_eq!(mailbox_stats.len(), owned, "{}", b.name);

    Lists {
        devices: devices.items,
        policies: policies.items,
        rules: rules.items,
        classes: classes.items,
        recipients: recipients.items,
        org,
        one_device,
        mailbox_stats,
    }
}
on_both_backends!(
    list_everything,
    list,
    seed = 101,
    devices = 150,
    rbac = RbacProfile::Full
);

#[derive(Debug, PartialEq)]
struct Paged {
    guids: Vec<Uuid>,
    pages: usize,
    streamed_pages: usize,
}

async fn paging(b: &Backend) -> Paged {
    let c = b.client();
    let expected: BTreeSet<Uuid> = b.snapshot().devices().map(|d| d.guid).collect();
    assert_eq!(expected.len(), 2_500);
    let before = b.requests();
    let prepared = PreparedCmdlet::new(&GetMobileDevice::new())
        .unwrap()
        .page_size(100);
    let listing = c.call_prepared(prepared.clone()).await.unwrap();
    assert_eq!(listing.pages, 25, "{}", b.name);
    assert_eq!(b.requests() - before, 25, "{}", b.name);
    assert!(listing.warnings.is_empty() && !listing.truncated);
    let guids: Vec<Uuid> = listing
        .items
        .iter()
        .map(|d| d.guid.expect("Guid"))
        .collect();
    let unique: BTreeSet<Uuid> = guids.iter().copied().collect();
    assert_eq!(guids.len(), 2_500, "{}", b.name);
    assert_eq!(unique, expected, "{}: exactly the tenant's devices", b.name);

    // The stream gives the same rows in the same order, one page in memory at a time.
    let mut stream = c.stream_prepared(prepared, None);
    let mut streamed = Vec::new();
    while let Some(row) = stream.next().await {
        streamed.push(row.unwrap().guid.expect("Guid"));
    }
    assert_eq!(streamed, guids, "{}", b.name);
    let report = stream.report();
    assert!(report.complete);
    Paged {
        guids,
        pages: listing.pages,
        streamed_pages: report.pages,
    }
}
on_both_backends!(
    paging_2500_devices_by_100,
    paging,
    seed = 109,
    devices = 2_500,
    rbac = RbacProfile::Full
);
