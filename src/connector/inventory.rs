//! Inventory sync: every mobile device joined with its statistics, streamed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};

use super::limiter::{AdaptiveLimiter, is_concurrency_answer};
use super::store::SyncStateStore;
use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{GetMobileDevice, GetMobileDeviceStatistics, PreparedCmdlet};
use crate::error::{Error, Result};
use crate::http::{RetryPolicy, refuse_long_retry_after};
use crate::models::{MobileDevice, MobileDeviceStatistics};
use crate::paging::Pager;
use crate::types::{MailboxIdentity, MobileDeviceIdentity};

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
    /// Current concurrency limit.
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
    /// Mailboxes whose statistics failed after retries, with the error text.
    pub failed_mailboxes: Vec<(String, String)>,
    /// Devices whose identity names no mailbox (statistics cannot be routed to them).
    pub unroutable_devices: usize,
    /// Times the enumeration was restarted (expired continuation, reset mid-page).
    pub restarts: u32,
    /// Throttled answers observed.
    pub throttled: u64,
    /// Rows skipped because their device had already been delivered (after a restart).
    pub duplicates_skipped: usize,
    /// Devices left out by the incremental filter.
    pub skipped_unchanged: usize,
    /// Pages of `Get-MobileDevice` read.
    pub pages: usize,
    /// `Get-MobileDeviceStatistics` calls made (including retries).
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

/// Aborts the task when dropped (unless disarmed by taking the handle out).
struct AbortOnDrop(Option<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

type ProgressFn = Arc<dyn Fn(&SyncProgress) + Send + Sync>;

/// Default of [`InventorySync::max_pending_statistics`]: ten pages' worth of rows.
pub const DEFAULT_MAX_PENDING_STATISTICS: usize = 10_000;

/// Enumerates every mobile device of the tenant (`Get-MobileDevice -ResultSize Unlimited`) and
/// joins each with its statistics (`Get-MobileDeviceStatistics -Mailbox`, one call per
/// mailbox, routed to that mailbox), delivering [`DeviceRecord`]s as pages arrive.
///
/// * **Gentle**: every call goes through an [`AdaptiveLimiter`] (AIMD within `[1, max]`,
///   shared `Retry-After` gate), and pages and statistics calls have their own retry loops.
///   The limiter only sees the throttling the client surfaces: give the sync an
///   [`HttpExchangeClient`](crate::HttpExchangeClient) built with
///   `RetryPolicy::default().with_max_attempts(1)` so that every 429 reaches it (a client that
///   sleeps through 429s internally still works, but one worker's `Retry-After` then pauses
///   only that worker).
/// * **One call per mailbox**: the statistics of a mailbox cover all of its devices, also those
///   on later pages (the service does not group devices by mailbox). Rows not yet matched are
///   kept until their device arrives, up to
///   [`max_pending_statistics`](Self::max_pending_statistics) rows; beyond that the oldest
///   mailboxes are dropped and asked again should more of their devices arrive.
/// * **Bounded memory**: one page of devices is processed while the next one is fetched; the
///   set of seen device GUIDs (16 bytes each) grows with the tenant, the pending statistics
///   rows are capped.
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
/// ```no_run
/// # async fn demo(client: std::sync::Arc<dyn exchange_activesync::ExchangeClient>) -> exchange_activesync::Result<()> {
/// use exchange_activesync::connector::InventorySync;
/// let report = InventorySync::new(client)
///     .with_statistics(true)
///     .max_concurrency(8)
///     .run(|record| println!("{:?}", record.device.identity))
///     .await?;
/// println!("{} devices, {} failed mailboxes", report.devices, report.failed_mailboxes.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct InventorySync {
    client: Arc<dyn ExchangeClient>,
    with_statistics: bool,
    max_concurrency: usize,
    initial_concurrency: usize,
    statistics_attempts: u32,
    page_attempts: u32,
    max_restarts: u32,
    backoff: Duration,
    max_retry_after: Duration,
    max_pending_statistics: usize,
    changed_since: Option<DateTime<Utc>>,
    incremental_from_store: bool,
    store: Option<Arc<dyn SyncStateStore>>,
    progress: Option<ProgressFn>,
    limiter: Option<Arc<AdaptiveLimiter>>,
}

impl std::fmt::Debug for InventorySync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InventorySync")
            .field("with_statistics", &self.with_statistics)
            .field("max_concurrency", &self.max_concurrency)
            .field("changed_since", &self.changed_since)
            .finish_non_exhaustive()
    }
}

impl InventorySync {
    /// A sync over `client` (defaults: no statistics, up to 8 concurrent calls starting at 4,
    /// 5 attempts per statistics call and per page, 5 restarts).
    pub fn new(client: Arc<dyn ExchangeClient>) -> Self {
        InventorySync {
            client,
            with_statistics: false,
            max_concurrency: 8,
            initial_concurrency: 4,
            statistics_attempts: 5,
            page_attempts: 5,
            max_restarts: 5,
            backoff: Duration::from_millis(500),
            max_retry_after: RetryPolicy::default().max_retry_after,
            max_pending_statistics: DEFAULT_MAX_PENDING_STATISTICS,
            changed_since: None,
            incremental_from_store: false,
            store: None,
            progress: None,
            limiter: None,
        }
    }

    /// Join each device with its statistics (one call per mailbox).
    pub fn with_statistics(mut self, on: bool) -> Self {
        self.with_statistics = on;
        self
    }

    /// Upper bound of concurrent calls (at least 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.max(1);
        self.initial_concurrency = self.initial_concurrency.min(self.max_concurrency);
        self
    }

    /// Starting concurrency (clamped to `[1, max]`).
    pub fn initial_concurrency(mut self, n: usize) -> Self {
        self.initial_concurrency = n.clamp(1, self.max_concurrency);
        self
    }

    /// Attempts per statistics call before the mailbox is reported as failed (at least 1).
    pub fn statistics_attempts(mut self, n: u32) -> Self {
        self.statistics_attempts = n.max(1);
        self
    }

    /// Attempts per device page before the sync fails (at least 1).
    pub fn page_attempts(mut self, n: u32) -> Self {
        self.page_attempts = n.max(1);
        self
    }

    /// How many times the enumeration may restart from the first page.
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.max_restarts = n;
        self
    }

    /// Base delay of the exponential backoff between retries (without `Retry-After`).
    pub fn backoff(mut self, base: Duration) -> Self {
        self.backoff = base;
        self
    }

    /// The longest `Retry-After` the sync waits for (default: the [`RetryPolicy`] default's
    /// `max_retry_after`, 2 minutes). A call answered with a longer one fails at once with
    /// [`Error::RetryAfterTooLong`]: a page fails the sync, a statistics call fails its
    /// mailbox (listed in [`SyncReport::failed_mailboxes`]); the limiter's shared gate
    /// closes for at most this long (a shared [`limiter`](Self::limiter) keeps its own
    /// [`max_retry_after`](AdaptiveLimiter::max_retry_after)). Match it with the client's
    /// policy.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
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

    /// Share a limiter (e.g. with other work against the same tenant).
    pub fn limiter(mut self, limiter: Arc<AdaptiveLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Run as a stream of records; the report arrives through the returned task handle once
    /// the stream ends. The channel holds at most one page of records, so a slow consumer
    /// slows the sync down instead of growing memory. Needs a Tokio runtime.
    ///
    /// Dropping the stream before its end stops the sync: the background task is aborted
    /// (awaiting the handle then gives a cancelled [`JoinError`](tokio::task::JoinError)),
    /// and no mark is saved in the [`state_store`](Self::state_store). The mark is saved
    /// only once the consumer has taken every record out of the stream, so an incremental
    /// sync never skips a device that was not handled.
    pub fn stream(
        self,
    ) -> (
        impl Stream<Item = DeviceRecord> + Send + 'static,
        tokio::task::JoinHandle<Result<SyncReport>>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel::<StreamMessage>(1000);
        let confirm_tx = tx.clone();
        let handle = tokio::spawn(async move {
            self.run_inner(
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
            .await
        });
        let guard = AbortOnDrop(Some(handle.abort_handle()));
        let stream = stream::unfold((rx, guard), |(mut rx, mut guard)| async move {
            loop {
                match rx.recv().await {
                    Some(StreamMessage::Record(r)) => return Some((r, (rx, guard))),
                    Some(StreamMessage::AllSent(ack)) => {
                        let _ = ack.send(());
                    }
                    None => {
                        // The task has finished: nothing left to stop.
                        let _ = guard.0.take();
                        return None;
                    }
                }
            }
        });
        (stream, handle)
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
        let limiter = self.limiter.clone().unwrap_or_else(|| {
            Arc::new(
                AdaptiveLimiter::new(self.initial_concurrency, self.max_concurrency)
                    .with_max_retry_after(self.max_retry_after),
            )
        });
        let throttled_before = limiter.throttled_count();
        let mut changed_since = self.changed_since;
        if self.incremental_from_store
            && changed_since.is_none()
            && let Some(store) = &self.store
        {
            changed_since = store.load().await?;
        }
        let mut report = SyncReport {
            started_at,
            finished_at: started_at,
            ..Default::default()
        };
        let mut cursor = Cursor {
            sync: &self,
            limiter: &limiter,
            prepared: PreparedCmdlet::new(&GetMobileDevice::new())?,
            pager: Pager::new("Get-MobileDevice").max_restarts(self.max_restarts),
        };
        let mailboxes_done = AtomicUsize::new(0);
        let mut carry = Pending::default();
        let mut current = cursor.next_page().await?;
        while let Some(devices) = current.take() {
            let (fetched, joined) = tokio::join!(
                cursor.next_page(),
                self.join_page(devices, &limiter, &mut carry, &mailboxes_done, &mut report)
            );
            for record in joined {
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
            report.pages = cursor.pager.report().pages;
            report.restarts = cursor.pager.report().restarts;
            report.duplicates_skipped = cursor.pager.duplicates();
            report.throttled = limiter.throttled_count() - throttled_before;
            if report.stopped_early {
                report.finished_at = Utc::now();
                return Ok(report);
            }
            if let Some(progress) = &self.progress {
                progress(&SyncProgress {
                    devices_seen: cursor.pager.distinct(),
                    records_delivered: report.devices,
                    mailboxes_done: mailboxes_done.load(Ordering::Relaxed),
                    mailboxes_failed: report.failed_mailboxes.len(),
                    concurrency: limiter.limit(),
                    restarts: cursor.pager.report().restarts,
                    throttled: report.throttled,
                });
            }
            current = fetched?;
        }
        if !confirm().await {
            report.stopped_early = true;
        }
        report.finished_at = Utc::now();
        if report.is_complete()
            && let Some(store) = &self.store
        {
            store.save(started_at).await?;
        }
        Ok(report)
    }

    /// Join one page of devices with their statistics, querying mailboxes concurrently.
    async fn join_page(
        &self,
        devices: Vec<MobileDevice>,
        limiter: &AdaptiveLimiter,
        carry: &mut Pending,
        mailboxes_done: &AtomicUsize,
        report: &mut SyncReport,
    ) -> Vec<DeviceRecord> {
        if !self.with_statistics {
            return devices
                .into_iter()
                .map(|device| DeviceRecord {
                    device,
                    statistics: None,
                })
                .collect();
        }
        // Group by mailbox, keeping page order for delivery.
        let mut order: Vec<(MobileDevice, Option<String>)> = Vec::with_capacity(devices.len());
        let mut needed: Vec<String> = Vec::new();
        let mut needed_set: HashSet<String> = HashSet::new();
        for device in devices {
            let mailbox = device_mailbox(&device);
            let failed_before = |m: &String| report.failed_mailboxes.iter().any(|(f, _)| f == m);
            match &mailbox {
                // Mailboxes read on an earlier page still hold the rows of their devices that
                // had not arrived yet. A mailbox that already failed after retries is not
                // asked again (its devices are delivered without statistics and it is
                // reported once).
                Some(m)
                    if !carry.rows.contains_key(m)
                        && !needed_set.contains(m)
                        && !failed_before(m) =>
                {
                    needed_set.insert(m.clone());
                    needed.push(m.clone());
                }
                Some(_) => {}
                None => report.unroutable_devices += 1,
            }
            order.push((device, mailbox));
        }
        let limit = self.max_concurrency;
        let results: Vec<(String, Result<Vec<MobileDeviceStatistics>>, usize)> =
            stream::iter(needed)
                .map(|mailbox| async move {
                    let (res, calls) = self.statistics_with_retry(&mailbox, limiter).await;
                    (mailbox, res, calls)
                })
                .buffer_unordered(limit)
                .collect()
                .await;
        for (mailbox, res, calls) in results {
            report.statistics_calls += calls;
            match res {
                Ok(rows) => {
                    mailboxes_done.fetch_add(1, Ordering::Relaxed);
                    carry.insert(mailbox, rows);
                }
                Err(e) => {
                    #[cfg(feature = "tracing")]
                    tracing::warn!(mailbox = %mailbox, error = %e, "statistics failed");
                    report.failed_mailboxes.push((mailbox, e.to_string()));
                }
            }
        }
        let records = order
            .into_iter()
            .map(|(device, mailbox)| {
                let statistics = mailbox.as_ref().and_then(|m| carry.take(m, &device));
                DeviceRecord { device, statistics }
            })
            .collect();
        carry.trim(self.max_pending_statistics);
        records
    }

    /// Statistics of one mailbox with throttling-aware retries; returns the result and the
    /// number of calls made.
    async fn statistics_with_retry(
        &self,
        mailbox: &str,
        limiter: &AdaptiveLimiter,
    ) -> (Result<Vec<MobileDeviceStatistics>>, usize) {
        let identity = match MailboxIdentity::new(mailbox) {
            Ok(m) => m,
            Err(e) => return (Err(e.into()), 0),
        };
        let mut calls = 0;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let permit = limiter.acquire().await;
            calls += 1;
            let res = self
                .client
                .get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(
                    identity.clone(),
                ))
                .await;
            match res {
                Ok(listing) => {
                    permit.success();
                    return (Ok(listing.items), calls);
                }
                Err(e) => {
                    let throttled = e.is_throttled();
                    let paced = is_concurrency_answer(&e);
                    permit.failed(&e);
                    let e = refuse_long_retry_after(e, self.max_retry_after);
                    if attempt >= self.statistics_attempts
                        || e.is_retry_after_too_long()
                        || !(throttled || e.is_retryable())
                    {
                        return (Err(e), calls);
                    }
                    if waits_backoff(&e) {
                        tokio::time::sleep(retry_delay(self.backoff, attempt, paced)).await;
                    }
                }
            }
        }
    }
}

/// Whether a retry after `error` waits the backoff: without a `Retry-After` (a non-zero one
/// is waited for at the limiter's shared gate), or with a zero one (negative and past values
/// read as zero), which must not make the retries a hot loop.
fn waits_backoff(error: &Error) -> bool {
    error.retry_after().is_none_or(|d| d.is_zero())
}

/// The pause before retry number `attempt`. After the per-tenant concurrency answer
/// (`paced`) the limiter has already lowered the limit below the calls in flight, so the retry
/// mostly waits for a slot there: the first one at once, further ones after a tenth of the
/// usual backoff (the cap may be taken by other clients). A long pause would hold up the whole
/// page, whose records are delivered once all its mailboxes are read.
fn retry_delay(base: Duration, attempt: u32, paced: bool) -> Duration {
    match (paced, attempt) {
        (true, 1) => Duration::ZERO,
        (true, _) => backoff_delay(base / 10, attempt - 1),
        (false, _) => backoff_delay(base, attempt),
    }
}

/// Exponential backoff with jitter: `base × 2^(attempt-1)`, ±25 %, capped at 30 s.
fn backoff_delay(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
    let capped = exp.min(Duration::from_secs(30));
    let jitter = 0.75 + fastrand::f64() * 0.5;
    capped.mul_f64(jitter)
}

/// The mailbox part of a device's identity (`<mailbox>\ExchangeActiveSyncDevices\…`).
pub fn device_mailbox(device: &MobileDevice) -> Option<String> {
    let id = device.identity.as_deref()?;
    MobileDeviceIdentity::parse(id)
        .ok()?
        .mailbox()
        .map(str::to_string)
}

/// Statistics rows read for a mailbox whose devices have not all been delivered yet.
#[derive(Default)]
struct Pending {
    rows: HashMap<String, Vec<MobileDeviceStatistics>>,
    /// Mailboxes in the order they were read (may name some that are gone already).
    order: VecDeque<String>,
    total: usize,
}

impl Pending {
    fn insert(&mut self, mailbox: String, rows: Vec<MobileDeviceStatistics>) {
        self.total += rows.len();
        if let Some(old) = self.rows.insert(mailbox.clone(), rows) {
            self.total -= old.len();
        }
        self.order.push_back(mailbox);
    }

    /// Remove and return the row of `device` from its mailbox's rows; a mailbox whose rows
    /// are all taken is forgotten.
    fn take(&mut self, mailbox: &str, device: &MobileDevice) -> Option<MobileDeviceStatistics> {
        let rows = self.rows.get_mut(mailbox)?;
        let index = match_statistics(device, rows)?;
        let row = rows.swap_remove(index);
        self.total -= 1;
        if rows.is_empty() {
            self.rows.remove(mailbox);
        }
        Some(row)
    }

    /// Drop the oldest mailboxes until at most `max` rows are kept.
    fn trim(&mut self, max: usize) {
        while self.total > max {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(rows) = self.rows.remove(&oldest) {
                self.total -= rows.len();
            }
        }
        if self.order.len() > 2 * self.rows.len() + 1024 {
            let rows = &self.rows;
            self.order.retain(|m| rows.contains_key(m));
        }
    }
}

/// Index of the row of `device` (by `Guid`, else by `Identity`).
fn match_statistics(device: &MobileDevice, rows: &[MobileDeviceStatistics]) -> Option<usize> {
    if let Some(g) = device.guid
        && let Some(i) = rows.iter().position(|s| s.guid == Some(g))
    {
        return Some(i);
    }
    let id = device.identity.as_deref()?;
    rows.iter().position(|s| {
        s.identity
            .as_deref()
            .is_some_and(|i| i.eq_ignore_ascii_case(id))
    })
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

/// The enumeration of `Get-MobileDevice` pages: the paging loop's [`Pager`] (loop and
/// empty-page guards, restarts, de-duplication by `Guid`) driven through the limiter, with
/// retries.
struct Cursor<'a> {
    sync: &'a InventorySync,
    limiter: &'a AdaptiveLimiter,
    prepared: PreparedCmdlet<GetMobileDevice>,
    pager: Pager,
}

impl Cursor<'_> {
    /// The next page's new devices (`None` at the end).
    async fn next_page(&mut self) -> Result<Option<Vec<MobileDevice>>> {
        let mut attempt = 0u32;
        loop {
            if self.pager.is_done() {
                return Ok(None);
            }
            attempt += 1;
            let permit = self.limiter.acquire().await;
            let res = self
                .sync
                .client
                .invoke_page(self.prepared.invocation(), self.pager.next_link())
                .await;
            match res {
                Ok(raw) => {
                    permit.success();
                    return self.pager.accept(raw).map(Some);
                }
                Err(e) => {
                    let throttled = e.is_throttled();
                    let paced = is_concurrency_answer(&e);
                    permit.failed(&e);
                    let e = refuse_long_retry_after(e, self.sync.max_retry_after);
                    if e.is_retry_after_too_long() {
                        return Err(e);
                    }
                    let restartable = e.is_pagination_expired()
                        || matches!(e.root(), Error::Transport { .. } | Error::Timeout { .. });
                    if restartable && self.pager.restart() {
                        #[cfg(feature = "tracing")]
                        tracing::warn!(error = %e, "device enumeration restarts from the first page");
                        // A fresh request id: the old continuation's affinity is gone.
                        self.prepared = PreparedCmdlet::new(&GetMobileDevice::new())?;
                        attempt = 0;
                        continue;
                    }
                    if attempt >= self.sync.page_attempts || !(throttled || e.is_retryable()) {
                        return Err(e);
                    }
                    if waits_backoff(&e) {
                        tokio::time::sleep(retry_delay(self.sync.backoff, attempt, paced)).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_answers_are_retried_soon() {
        let base = Duration::from_millis(500);
        assert_eq!(retry_delay(base, 1, true), Duration::ZERO);
        for _ in 0..50 {
            let d = retry_delay(base, 2, true);
            assert!(
                d >= Duration::from_millis(37) && d <= Duration::from_millis(63),
                "{d:?}"
            );
            let d = retry_delay(base, 1, false);
            assert!(
                d >= Duration::from_millis(375) && d <= Duration::from_millis(625),
                "{d:?}"
            );
        }
    }
}
