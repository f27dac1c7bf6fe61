//! Inventory sync: early stop of the stream, bounded `Retry-After`, per-tenant sync state.

use std::sync::Arc;
use std::time::Duration;

use exchange_activesync::connector::{InventorySync, MemoryStore, SyncStateStore};
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};
use exchange_activesync::testing::{FakeExchangeClient, RbacProfile, TenantBuilder};
use exchange_activesync::{ExchangeClient, Result, async_trait};
use futures::StreamExt;

/// The fake with small pages.
struct Paged {
    inner: FakeExchangeClient,
    page_size: u32,
}

#[async_trait]
impl ExchangeClient for Paged {
    async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
        let inv = inv.clone().page_size(self.page_size);
        self.inner.invoke_page(&inv, next).await
    }
}

fn fake(devices: usize, mailboxes: usize) -> FakeExchangeClient {
    FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(11)
            .mailboxes(mailboxes)
            .devices(devices)
            .rbac_profile(RbacProfile::Full)
            .build(),
    )
}

fn paged(devices: usize, mailboxes: usize, page_size: u32) -> Arc<Paged> {
    Arc::new(Paged {
        inner: fake(devices, mailboxes),
        page_size,
    })
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_stops_the_sync_and_saves_no_mark() {
    let client = paged(300, 40, 20);
    client.inner.set_latency(Some(Duration::from_millis(100)));
    let store = Arc::new(MemoryStore::new());
    let (stream, handle) = InventorySync::new(client.clone())
        .state_store(store.clone())
        .stream();
    let taken: Vec<_> = stream.take(5).collect().await;
    assert_eq!(taken.len(), 5);
    // `take` dropped the stream.
    let calls_at_drop = client.inner.calls_to("Get-MobileDevice").len();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let calls_later = client.inner.calls_to("Get-MobileDevice").len();
    assert_eq!(
        calls_later, calls_at_drop,
        "the background task kept enumerating after the stream was dropped"
    );
    assert!(calls_later < 15, "{calls_later} of 15 pages read");
    assert_eq!(store.load().await.unwrap(), None, "a mark was saved");
    match handle.await {
        Err(e) => assert!(e.is_cancelled()),
        Ok(Ok(report)) => assert!(!report.is_complete() && report.stopped_early),
        Ok(Err(e)) => panic!("{e}"),
    }
}

#[tokio::test]
async fn records_left_in_the_channel_are_not_delivered() {
    // One page, all buffered at once: the consumer still stops after a few.
    let client = paged(50, 10, 1000);
    let store = Arc::new(MemoryStore::new());
    let (stream, handle) = InventorySync::new(client.clone())
        .state_store(store.clone())
        .stream();
    let mut stream = Box::pin(stream);
    for _ in 0..3 {
        assert!(stream.next().await.is_some());
    }
    // Give the task every chance to run to the end.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert_eq!(store.load().await.unwrap(), None, "mark saved before delivery");
    drop(stream);
    let _ = handle.await;
    assert_eq!(store.load().await.unwrap(), None, "a mark was saved");
}

#[tokio::test]
async fn a_stream_read_to_the_end_saves_the_mark() {
    let client = paged(50, 10, 20);
    let store = Arc::new(MemoryStore::new());
    let (stream, handle) = InventorySync::new(client)
        .state_store(store.clone())
        .stream();
    assert_eq!(stream.collect::<Vec<_>>().await.len(), 50);
    let report = handle.await.unwrap().unwrap();
    assert!(report.is_complete() && !report.stopped_early);
    assert_eq!(store.load().await.unwrap(), Some(report.started_at));
}
