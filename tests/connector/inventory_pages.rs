//! The page sizes an inventory asks for: small pages with statistics (memory), full pages
//! without them, a caller's choice when given.

use exchange_activesync::connector::{FIRST_PAGE_SIZE, InventorySync, STATISTICS_PAGE_SIZE};
use exchange_activesync::protocol::MAX_PAGE_SIZE;
use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};

fn client(devices: usize) -> FakeExchangeClient {
    FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(7)
            .mailboxes(40)
            .devices(devices)
            .build(),
    )
}

/// The page sizes of the Get-MobileDevice requests, in order.
fn device_pages(client: &FakeExchangeClient) -> Vec<u32> {
    client
        .calls_to("Get-MobileDevice")
        .iter()
        .map(|c| c.page_size)
        .collect()
}

#[tokio::test]
async fn with_statistics_every_page_is_small_and_every_device_arrives_once() {
    let client = client(450);
    let mut guids = std::collections::HashSet::new();
    let report = InventorySync::new(&client)
        .with_statistics(true)
        .run(|r| {
            assert!(guids.insert(r.device.guid), "a device arrived twice");
        })
        .await
        .unwrap();
    assert!(report.is_complete());
    assert_eq!((report.devices, guids.len()), (450, 450));
    let pages = device_pages(&client);
    assert_eq!(pages.len(), 5, "450 devices in pages of 100: {pages:?}");
    assert!(
        pages
            .iter()
            .all(|&n| n == STATISTICS_PAGE_SIZE.min(FIRST_PAGE_SIZE)),
        "{pages:?}"
    );
}

#[tokio::test]
async fn without_statistics_pages_after_the_first_are_full() {
    let client = client(450);
    let report = InventorySync::new(&client).run(|_| {}).await.unwrap();
    assert_eq!(report.devices, 450);
    assert_eq!(device_pages(&client), vec![FIRST_PAGE_SIZE, MAX_PAGE_SIZE]);
}

#[tokio::test]
async fn a_chosen_page_size_is_used_after_the_first_page() {
    let client = client(450);
    let report = InventorySync::new(&client)
        .with_statistics(true)
        .page_size(250)
        .run(|_| {})
        .await
        .unwrap();
    assert_eq!(report.devices, 450);
    assert_eq!(device_pages(&client), vec![FIRST_PAGE_SIZE, 250, 250]);
    // Out of range sizes are clamped, not refused.
    let client = self::client(30);
    InventorySync::new(&client)
        .page_size(0)
        .run(|_| {})
        .await
        .unwrap();
    assert!(device_pages(&client).iter().skip(1).all(|&n| n == 1));
}
