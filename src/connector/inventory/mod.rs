//! Inventory sync: every mobile device, joined with its statistics when asked, streamed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use futures::stream::Stream;

mod join;

use super::store::{StateMark, SyncStateStore};
use crate::client::ExchangeClient;
use crate::cmdlets::{GetMobileDevice, PreparedCmdlet};
use crate::error::Result;
use crate::models::{MobileDevice, MobileDeviceStatistics};
use crate::paging::{PageDriver, Pager, RestartPolicy};

/// One device with its statistics (when they were asked for and could be read).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct DeviceRecord {
    /// The partnership (`Get-MobileDevice`).
    pub device: MobileDevice,
    /// Its statistics (`Get-MobileDeviceStatistics`), matched by `Guid` (or `Identity`).
    /// `None` without [`InventorySync::with_statistics`], when the mailbox's statistics
    /// failed (see [`SyncReport::failed_mailboxes`]), or when the service returned no row for
    /// this device.
    pub statistics: Option<MobileDeviceStatistics>,
}

/// A snapshot of a running sync, passed to the progress callback.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncProgress {
    /// Distinct devices enumerated so far.
    pub devices_seen: usize,
    /// Records delivered to the sink.
    pub records_delivered: usize,
    /// Mailboxes whose statistics were read.
    pub mailboxes_done: usize,
    /// Mailboxes whose statistics failed for good.
    pub mailboxes_failed: usize,
    /// Current concurrency limit: the client's throttle's, when it has one, else the
    /// [`fan_out`](InventorySync::fan_out) bound.
    pub concurrency: usize,
    /// Enumeration restarts so far.
    pub restarts: u32,
    /// Throttled answers so far.
    pub throttled: u64,
}

/// What a finished sync did. Nothing is dropped silently: a mailbox whose statistics could
/// not be read is listed in `failed_mailboxes` (its devices are still delivered, without
/// statistics).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// Records delivered.
    pub devices: usize,
    /// Records delivered with statistics.
    pub with_statistics: usize,
    /// Mailboxes whose statistics failed (after the client's retries), with the error text.
    pub failed_mailboxes: Vec<(String, String)>,
    /// Devices whose identity names no mailbox (statistics cannot be routed to them).
    pub unroutable_devices: usize,
    /// Times the enumeration was restarted (expired continuation, reset mid-page).
    pub restarts: u32,
    /// Throttled answers observed: by the client's throttle while the sync ran, when the
    /// client has one ([`ExchangeClient::throttle`]; it counts the answers its own retries
    /// absorbed, and those of other work sharing it), else the throttled errors the sync
    /// received.
    pub throttled: u64,
    /// Rows skipped because their device had already been delivered (after a restart).
    pub duplicates_skipped: usize,
    /// Devices left out by the incremental filter.
    pub skipped_unchanged: usize,
    /// Pages of `Get-MobileDevice` read.
    pub pages: usize,
    /// `Get-MobileDeviceStatistics` calls made (the client's retries within a call are not
    /// counted).
    pub statistics_calls: usize,
    /// When the sync started (this is what is saved as the last successful sync).
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// The consumer stopped taking records (the stream of [`InventorySync::stream`] was
    /// dropped) before the end: the sync stopped there and saved no mark.
    pub stopped_early: bool,
}

impl SyncReport {
    /// Whether every device was read and delivered and every requested statistics call
    /// succeeded.
    pub fn is_complete(&self) -> bool {
        self.failed_mailboxes.is_empty() && !self.stopped_early
    }
}

/// What the background task of [`InventorySync::stream`] sends to the stream.
// Nearly every message is a record: boxing it would cost an allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
enum StreamMessage {
    Record(DeviceRecord),
    /// Every record was sent; answered by the stream once the consumer has taken them all.
    AllSent(tokio::sync::oneshot::Sender<()>),
}

/// The stream of [`InventorySync::stream`]: polls the sync (`driver`) and hands out what it
/// sends. The driver ends after its last message, so the channel closes once it is done.
struct SyncStream<'a> {
    driver: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>>,
    rx: tokio::sync::mpsc::Receiver<StreamMessage>,
}

impl Stream for SyncStream<'_> {
    type Item = DeviceRecord;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<DeviceRecord>> {
        use std::task::Poll;
        loop {
            if let Some(driver) = self.driver.as_mut()
                && driver.as_mut().poll(cx).is_ready()
            {
                self.driver = None;
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(StreamMessage::Record(r))) => return Poll::Ready(Some(r)),
                Poll::Ready(Some(StreamMessage::AllSent(ack))) => {
                    // Every record was taken: let the driver save the mark and finish.
                    let _ = ack.send(());
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

type ProgressFn = Arc<dyn Fn(&SyncProgress) + Send + Sync>;

/// Default of [`InventorySync::fan_out`]: statistics calls handed to the client at once.
pub const DEFAULT_FAN_OUT: usize = 64;

/// Rows per `Get-MobileDevice` page of a sync with statistics, when
/// [`InventorySync::page_size`] is not set (without statistics pages are full, 1,000 rows).
///
/// A page is delivered once the statistics of all its mailboxes are in; the statistics of the
/// next page start meanwhile, and at most three pages are held, so a sync holds a few hundred
/// records at a time. With a throttled client, pages grow with the limit the throttle has
/// found (25 rows per admitted request, up to 300: at a cap of 12 the chain of page requests
/// stays ahead of the statistics calls); a tenant capped at 2 or 4 keeps pages of 100, which
/// is what keeps a fleet's memory flat. A smaller page costs one more page request (the
/// service's base latency; its cost per row is the same).
pub const STATISTICS_PAGE_SIZE: u32 = 100;

/// Default of [`InventorySync::max_pending_statistics`]: five full pages' worth of rows (most
/// of a large tenant's memory with statistics: 100,000 devices peak at 39 MiB with 5,000, 47 MiB
/// with 10,000).
pub const DEFAULT_MAX_PENDING_STATISTICS: usize = 5_000;

/// Enumerates every mobile device of the tenant (`Get-MobileDevice -ResultSize Unlimited`) and
/// joins each with its statistics (`Get-MobileDeviceStatistics -Mailbox`, one call per
/// mailbox, routed to that mailbox), delivering [`DeviceRecord`]s as pages arrive.
///
/// * **Gentle, by the client**: the sync only fans the statistics calls out (at most
///   [`fan_out`](Self::fan_out) at once, default [`DEFAULT_FAN_OUT`]); admission and retries
///   are the client's job. An [`HttpExchangeClient`](crate::HttpExchangeClient) with its
///   default settings sends every attempt through its
///   [`TenantThrottle`](crate::throttle::TenantThrottle) (it finds the tenant's concurrency
///   cap by itself, and one call's `Retry-After` holds back every call) and retries
///   according to its [`RetryPolicy`](crate::RetryPolicy). The sync retries nothing itself:
///   a page that fails after the client's retries fails the sync (unless it restarts the
///   enumeration, below), a statistics call that does fails its mailbox.
/// * **One call per mailbox**: the statistics of a mailbox cover all of its devices, also those
///   on later pages (the service does not group devices by mailbox). Rows not yet matched are
///   kept until their device arrives, up to
///   [`max_pending_statistics`](Self::max_pending_statistics) rows; beyond that the oldest
///   mailboxes are dropped and asked again should more of their devices arrive.
/// * **Bounded memory, no page barrier**: at most three pages are held (with statistics, pages
///   of [`STATISTICS_PAGE_SIZE`] rows growing with the tenant's cap, unless
///   [`page_size`](Self::page_size) says otherwise); a page is delivered, in order, once its
///   mailboxes' statistics are in, and the next page's statistics calls start while the last
///   calls of the page before still run. With a throttled client the sync hands it at most
///   its current limit plus two statistics calls, so the next page's request never queues
///   behind a long line. The set of seen device keys (128 bits each: the GUID itself) grows
///   with the tenant; the pending statistics rows are capped.
/// * **Nothing lost, nothing twice**: an expired continuation ("Expired or Invalid pagination
///   request") or a transport failure mid-enumeration restarts it from the first page (a new
///   request id), and rows already delivered are skipped by `Guid`.
/// * **Incremental** ([`changed_since`](Self::changed_since)): filtered client-side, because
///   `WhenChangedUTC` is not a filterable property of Get-MobileDevice. A device is kept when
///   its `WhenChangedUTC` (directory changes: access state, rule, policy…) or, with
///   statistics, its `LastSuccessSync` is later than the mark. Limits: the whole tenant is
///   still enumerated (and every mailbox's statistics read), so this saves output, not
///   calls; a sync that only touched statistics fields other than `LastSuccessSync` (e.g. a
///   wipe acknowledgement) is missed unless statistics are requested; devices removed since
///   the mark are not reported (run a full sync to detect deletions).
///
/// ```
/// use exchange_activesync::connector::{InventorySync, MemoryStore, StateMark, SyncStateStore};
/// use exchange_activesync::prelude::*;
/// use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> exchange_activesync::Result<()> {
/// let client = FakeExchangeClient::new(TenantBuilder::new().seed(2).mailboxes(5).devices(20).build());
/// let mut records = Vec::new();
/// let report = InventorySync::new(&client)
///     .with_statistics(true)
///     .run(|record| records.push(record))
///     .await?;
/// assert!(report.is_complete());
/// assert_eq!((report.devices, records.len()), (20, 20));
/// assert!(records.iter().all(|r| r.statistics.is_some()));
///
/// // As a stream; the mark of the last complete sync is kept in the store.
/// let store = std::sync::Arc::new(MemoryStore::new());
/// let (stream, report) = InventorySync::new(&client).state_store(store.clone()).stream();
/// assert_eq!(stream.count().await, 20);
/// let report = report.await.expect("the stream ran to its end")?;
/// assert_eq!(store.load(StateMark::SyncedThrough).await?, Some(report.started_at));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct InventorySync<'a> {
    client: &'a dyn ExchangeClient,
    with_statistics: bool,
    fan_out: usize,
    max_restarts: u32,
    max_pending_statistics: usize,
    page_size: Option<u32>,
    changed_since: Option<DateTime<Utc>>,
    incremental_from_store: bool,
    store: Option<Arc<dyn SyncStateStore>>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for InventorySync<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InventorySync")
            .field("with_statistics", &self.with_statistics)
            .field("fan_out", &self.fan_out)
            .field("changed_since", &self.changed_since)
            .finish_non_exhaustive()
    }
}

impl<'a> InventorySync<'a> {
    /// A sync over `client` (defaults: no statistics, up to [`DEFAULT_FAN_OUT`] statistics
    /// calls handed to the client at once, 5 restarts). The sync borrows the client: pass
    /// `&client`, or `&*arc` for an `Arc<dyn ExchangeClient>`.
    pub fn new(client: &'a dyn ExchangeClient) -> Self {
        InventorySync {
            client,
            with_statistics: false,
            fan_out: DEFAULT_FAN_OUT,
            max_restarts: 5,
            max_pending_statistics: DEFAULT_MAX_PENDING_STATISTICS,
            page_size: None,
            changed_since: None,
            incremental_from_store: false,
            store: None,
            progress: None,
        }
    }

    /// Join each device with its statistics (one call per mailbox).
    pub fn with_statistics(mut self, on: bool) -> Self {
        self.with_statistics = on;
        self
    }

    /// How many statistics calls are handed to the client at once (at least 1; default
    /// [`DEFAULT_FAN_OUT`]). This is not the concurrency on the wire: the client's throttle
    /// admits the calls (see [`ClientBuilder::max_concurrency`](crate::ClientBuilder::max_concurrency)
    /// for a hard ceiling). A client with a throttle is handed at most its current limit plus
    /// two (never more than this); a client without one runs them all at once.
    pub fn fan_out(mut self, n: usize) -> Self {
        self.fan_out = n.max(1);
        self
    }

    /// How many times the enumeration may restart from the first page.
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.max_restarts = n;
        self
    }

    /// How many statistics rows, read for a mailbox but whose device has not been enumerated
    /// yet, are kept for when it arrives (default
    /// [`DEFAULT_MAX_PENDING_STATISTICS`]). Beyond it the oldest mailboxes' rows are dropped,
    /// and those mailboxes are asked again when more of their devices arrive: a smaller value
    /// trades calls for memory; 0 asks once per mailbox and page.
    pub fn max_pending_statistics(mut self, rows: usize) -> Self {
        self.max_pending_statistics = rows;
        self
    }

    /// Rows per `Get-MobileDevice` page (1 to 1,000; `Prefer: odata.maxpagesize`), fixed. By
    /// default pages are full (1,000 rows) without statistics, and with them start at
    /// [`STATISTICS_PAGE_SIZE`] rows and grow with the cap the client's throttle finds (see
    /// there): the sync holds about three pages of records at a time, so smaller pages keep less
    /// in memory and cost one more page request each. The first page is never larger than
    /// [`FIRST_PAGE_SIZE`].
    pub fn page_size(mut self, rows: u32) -> Self {
        self.page_size = Some(rows.clamp(1, crate::protocol::MAX_PAGE_SIZE));
        self
    }

    /// The page size this sync asks for after the first page.
    fn effective_page_size(&self) -> Option<u32> {
        self.page_size
            .or(self.with_statistics.then_some(STATISTICS_PAGE_SIZE))
    }

    /// Only deliver devices changed after `since` (see the type documentation for limits).
    pub fn changed_since(mut self, since: DateTime<Utc>) -> Self {
        self.changed_since = Some(since);
        self
    }

    /// Persist the start time of every complete sync in `store` (and, with
    /// [`incremental`](Self::incremental), read the mark from it).
    pub fn state_store(mut self, store: Arc<dyn SyncStateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Use the store's last successful sync as the [`changed_since`](Self::changed_since)
    /// mark (a full sync when the store is empty).
    pub fn incremental(mut self) -> Self {
        self.incremental_from_store = true;
        self
    }

    /// Called after every page with a progress snapshot.
    pub fn on_progress(mut self, f: impl Fn(&SyncProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Run as a stream of records; the report arrives through the returned receiver once
    /// the stream ends. The stream borrows the client and drives the sync itself (nothing is
    /// spawned): the sync makes progress while the stream is polled, and its channel holds
    /// at most one page of records, so a slow consumer slows the sync down instead of
    /// growing memory.
    ///
    /// Dropping the stream before its end stops the sync (awaiting the receiver then gives a
    /// [`RecvError`](tokio::sync::oneshot::error::RecvError)), and no mark is saved in the
    /// [`state_store`](Self::state_store). The mark is saved only once the consumer has taken
    /// every record out of the stream, so an incremental sync never skips a device that was
    /// not handled.
    pub fn stream(
        self,
    ) -> (
        impl Stream<Item = DeviceRecord> + Send + Unpin + 'a,
        tokio::sync::oneshot::Receiver<Result<SyncReport>>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel::<StreamMessage>(1000);
        let (report_tx, report_rx) = tokio::sync::oneshot::channel();
        let confirm_tx = tx.clone();
        let driver = async move {
            let report = self
                .run_inner(
                    |record| {
                        let tx = tx.clone();
                        // A failed send means the consumer is gone: not delivered.
                        async move { tx.send(StreamMessage::Record(record)).await.is_ok() }
                    },
                    || async move {
                        // The stream answers once the consumer asked for the item after the
                        // last record, i.e. took every record.
                        let (ack, taken) = tokio::sync::oneshot::channel();
                        confirm_tx.send(StreamMessage::AllSent(ack)).await.is_ok()
                            && taken.await.is_ok()
                    },
                )
                .await;
            let _ = report_tx.send(report);
        };
        let stream = SyncStream {
            driver: Some(Box::pin(driver)),
            rx,
        };
        (stream, report_rx)
    }

    /// Run, handing every record to `sink`.
    pub async fn run(self, mut sink: impl FnMut(DeviceRecord) + Send) -> Result<SyncReport> {
        self.run_async(|r| {
            sink(r);
            std::future::ready(())
        })
        .await
    }

    /// Run, handing every record to an async `sink` (awaited before the next record).
    pub async fn run_async<F, Fut>(self, mut sink: F) -> Result<SyncReport>
    where
        F: FnMut(DeviceRecord) -> Fut + Send,
        Fut: std::future::Future<Output = ()> + Send,
    {
        self.run_inner(
            |record| {
                let delivered = sink(record);
                async move {
                    delivered.await;
                    true
                }
            },
            || std::future::ready(true),
        )
        .await
    }

    /// The sync. `sink` answers whether the record was delivered: the first record that was
    /// not stops the sync (reported with [`SyncReport::stopped_early`], no mark saved).
    /// `confirm` is awaited after the last record and before the mark is saved; `false`
    /// means the records were not all taken, so no mark is saved either.
    async fn run_inner<F, Fut, C, CFut>(self, mut sink: F, confirm: C) -> Result<SyncReport>
    where
        F: FnMut(DeviceRecord) -> Fut + Send,
        Fut: std::future::Future<Output = bool> + Send,
        C: FnOnce() -> CFut + Send,
        CFut: std::future::Future<Output = bool> + Send,
    {
        let started_at = Utc::now();
        // Throttling figures come from the client's throttle; without one, from the errors.
        let throttle = self.client.throttle();
        let throttled_before = throttle.as_ref().map_or(0, |t| t.throttled_count());
        let throttled_errors = AtomicU64::new(0);
        let throttled_now = || match &throttle {
            Some(t) => t.throttled_count() - throttled_before,
            None => throttled_errors.load(Ordering::Relaxed),
        };
        let mut changed_since = self.changed_since;
        if self.incremental_from_store
            && changed_since.is_none()
            && let Some(store) = &self.store
        {
            changed_since = store.load(StateMark::SyncedThrough).await?;
        }
        let mut report = SyncReport {
            started_at,
            finished_at: started_at,
            ..Default::default()
        };
        let cursor = Cursor {
            sync: &self,
            throttled_errors: &throttled_errors,
            driver: PageDriver::new(
                {
                    let invocation =
                        PreparedCmdlet::new(&GetMobileDevice::new())?.into_invocation();
                    match self.effective_page_size() {
                        Some(rows) => invocation.page_size(rows),
                        None => invocation,
                    }
                },
                Pager::new("Get-MobileDevice").max_restarts(self.max_restarts),
                RestartPolicy::INVENTORY,
            )
            .first_page_size(FIRST_PAGE_SIZE),
        };
        let mut pipeline = join::Pipeline::new(&self, &throttled_errors, cursor);
        loop {
            // Every page whose statistics are all in, in page order.
            while let Some(records) = pipeline.next_ready() {
                for record in records {
                    if let Some(since) = changed_since
                        && !changed_after(&record, since)
                    {
                        report.skipped_unchanged += 1;
                        continue;
                    }
                    let with_statistics = record.statistics.is_some();
                    if !sink(record).await {
                        report.stopped_early = true;
                        break;
                    }
                    report.devices += 1;
                    if with_statistics {
                        report.with_statistics += 1;
                    }
                }
                pipeline.update(&mut report);
                report.throttled = throttled_now();
                if report.stopped_early {
                    report.finished_at = Utc::now();
                    return Ok(report);
                }
                if let Some(progress) = &self.progress {
                    progress(&SyncProgress {
                        devices_seen: pipeline.distinct(),
                        records_delivered: report.devices,
                        mailboxes_done: pipeline.mailboxes_done(),
                        mailboxes_failed: report.failed_mailboxes.len(),
                        concurrency: throttle.as_ref().map_or(self.fan_out, |t| t.limit()),
                        restarts: report.restarts,
                        throttled: report.throttled,
                    });
                }
            }
            if !pipeline.advance().await {
                break;
            }
        }
        pipeline.update(&mut report);
        if let Some(e) = pipeline.take_error() {
            return Err(e);
        }
        report.throttled = throttled_now();
        if !confirm().await {
            report.stopped_early = true;
        }
        report.finished_at = Utc::now();
        if report.is_complete()
            && let Some(store) = &self.store
        {
            store.save(StateMark::SyncedThrough, started_at).await?;
        }
        Ok(report)
    }
}

/// The mailbox part of a device's identity (`<mailbox>\ExchangeActiveSyncDevices\…`).
pub fn device_mailbox(device: &MobileDevice) -> Option<String> {
    device.mailbox().map(str::to_string)
}

fn changed_after(record: &DeviceRecord, since: DateTime<Utc>) -> bool {
    record.device.when_changed_utc.is_some_and(|t| t > since)
        || record
            .statistics
            .as_ref()
            .and_then(|s| s.last_success_sync)
            .is_some_and(|t| t > since)
        // Without any timestamp we cannot tell: deliver rather than lose it.
        || (record.device.when_changed_utc.is_none()
            && record
                .statistics
                .as_ref()
                .and_then(|s| s.last_success_sync)
                .is_none())
}

/// Rows the first `Get-MobileDevice` page of an enumeration asks for (`Prefer:
/// odata.maxpagesize`); later pages are full without statistics (see
/// [`STATISTICS_PAGE_SIZE`] with them). Every statistics call waits for the first
/// page, so a small one starts the fan-out early (a 1,000-row page costs the service about
/// ten times a 100-row one).
pub const FIRST_PAGE_SIZE: u32 = 100;

/// The enumeration of `Get-MobileDevice` pages: the one paging driver with the inventory's
/// restart policy (an expired continuation, or a transport failure left over from the
/// client's retries, restarts from the first page; rows are de-duplicated by `Guid`).
/// The first page is small ([`FIRST_PAGE_SIZE`]).
struct Cursor<'a, 'c> {
    sync: &'a InventorySync<'c>,
    throttled_errors: &'a AtomicU64,
    driver: PageDriver,
}

impl Cursor<'_, '_> {
    /// The next page's new devices (`None` at the end).
    async fn next_page(&mut self) -> Result<Option<Vec<MobileDevice>>> {
        let throttled = self.throttled_errors;
        self.driver
            .next_page(self.sync.client, |e| {
                if e.is_throttled() {
                    throttled.fetch_add(1, Ordering::Relaxed);
                }
            })
            .await
    }
}
