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

/// Makes the statistics of one mailbox slow and logs when each call starts and ends.
struct SlowMailbox {
    inner: FakeExchangeClient,
    slow: String,
    log: std::sync::Mutex<Vec<(String, &'static str, std::time::Instant)>>,
}

#[exchange_activesync::async_trait]
impl exchange_activesync::ExchangeClient for SlowMailbox {
    async fn invoke_page(
        &self,
        inv: &exchange_activesync::protocol::Invocation,
        next: Option<&exchange_activesync::protocol::NextLink>,
    ) -> exchange_activesync::Result<exchange_activesync::protocol::RawPage> {
        let mailbox = inv
            .parameters()
            .get("Mailbox")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let log = |what| {
            self.log
                .lock()
                .unwrap()
                .push((mailbox.clone(), what, std::time::Instant::now()))
        };
        log("start");
        if inv.cmdlet() == "Get-MobileDeviceStatistics" && mailbox == self.slow {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        }
        let page = self.inner.invoke_page(inv, next).await;
        log("end");
        page
    }
}

#[tokio::test]
async fn the_next_pages_statistics_start_while_a_slow_mailbox_of_the_page_before_runs() {
    let inner = client(300);
    // The mailbox of the first device: its statistics hold the first page back.
    let slow = {
        let t = inner.tenant();
        let d = t.devices().next().unwrap();
        let id =
            exchange_activesync::types::MobileDeviceIdentity::new(t.device_identity(d)).unwrap();
        id.mailbox().unwrap().to_string()
    };
    let client = SlowMailbox {
        inner,
        slow: slow.clone(),
        log: Default::default(),
    };
    let mut order = Vec::new();
    let report = InventorySync::new(&client)
        .with_statistics(true)
        .run(|r| order.push(r))
        .await
        .unwrap();
    assert!(report.is_complete());
    assert_eq!(order.len(), 300);
    assert!(order.iter().all(|r| r.statistics.is_some()));
    let log = client.log.lock().unwrap();
    let slow_end = log
        .iter()
        .find(|(m, what, _)| *m == slow && *what == "end")
        .map(|e| e.2)
        .unwrap();
    // Mailboxes asked only for the second page (not on the first) started before the slow
    // call of the first page ended: a page boundary is no barrier.
    let first_page: std::collections::HashSet<String> = order[..100]
        .iter()
        .filter_map(|r| r.device.mailbox().map(str::to_string))
        .collect();
    let early = log
        .iter()
        .filter(|(m, what, t)| {
            *what == "start" && !m.is_empty() && !first_page.contains(m) && *t < slow_end
        })
        .count();
    assert!(
        early > 0,
        "no statistics call of a later page started early"
    );
    // Records still arrive in page order (the fake lists devices in a fixed order).
    let listed: Vec<_> = client
        .inner
        .tenant()
        .devices()
        .map(|d| Some(d.guid))
        .collect();
    let delivered: Vec<_> = order.iter().map(|r| r.device.guid).collect();
    assert_eq!(delivered, listed);
}
