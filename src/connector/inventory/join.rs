//! The join of device pages with their mailboxes' statistics, pipelined across pages.
//!
//! Pages are delivered in order, each once the statistics of all its mailboxes are in; but
//! the statistics calls of the next page start as soon as it has arrived, while the last
//! calls of the page before are still running. A page boundary therefore leaves no slot of
//! the tenant idle (joining one page at a time left about half a round of calls unused per
//! page, which at 100-row pages and a cap of 12 was a fifth of the time).
//!
//! At most [`WINDOW`] pages are held (arrived and not yet delivered), and the next page is
//! fetched only while fewer are: memory stays at about `WINDOW + 1` pages of records.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::{BoxFuture, Either, select};
use futures::stream::{FuturesUnordered, StreamExt};

use super::{Cursor, DeviceRecord, InventorySync, SyncReport, device_mailbox};
use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::GetMobileDeviceStatistics;
use crate::error::{Error, Result};
use crate::models::{MobileDevice, MobileDeviceStatistics};
use crate::types::MailboxIdentity;

/// Pages held at once (arrived, not yet delivered).
const WINDOW: usize = 3;

/// Statistics calls handed to a throttled client beyond its current limit: enough to keep
/// every slot busy and to show the throttle there is more work (so it may grow), few enough
/// that the next page's request does not queue behind a long line of calls (the pages are
/// the sync's critical path).
const BEYOND_LIMIT: usize = 2;

/// With statistics and a throttled client, rows asked per page for each request the tenant
/// admits at once: pages grow with the cap (a tenant that admits 12 gets pages of 300), so
/// the chain of page requests, which no other request can shorten, stays well ahead of the
/// statistics calls it feeds, while a tenant capped at 2 or 4 keeps pages of
/// [`STATISTICS_PAGE_SIZE`](super::STATISTICS_PAGE_SIZE) (what keeps a fleet's memory flat).
const ROWS_PER_SLOT: usize = 25;

/// The largest page a sync with statistics grows to by itself: [`WINDOW`] pages of it, with
/// their statistics, are what such a sync holds at most.
const MAX_ADAPTIVE_PAGE: usize = 300;

/// A page fetch gives back the cursor with the page.
type Fetched<'s, 'c> = (Cursor<'s, 'c>, Result<Option<Vec<MobileDevice>>>);

/// What a statistics call gives back: the mailbox, the rows (or the error) and how many calls
/// it took.
type Answer = (String, Result<Vec<MobileDeviceStatistics>>, usize);

/// One page on its way: its devices with their statistics as far as they are known, and the
/// mailboxes whose answers it still waits for.
struct Page {
    seq: u64,
    rows: Vec<(MobileDevice, Option<String>, Option<MobileDeviceStatistics>)>,
    waiting: usize,
}

/// The enumeration as seen from the pager, refreshed whenever the cursor is at hand (it is
/// inside the fetch while a page is on its way).
#[derive(Default, Clone, Copy)]
struct Counts {
    pages: usize,
    restarts: u32,
    duplicates: usize,
    distinct: usize,
}

/// The sync's moving parts: the cursor (or the fetch holding it), the statistics calls in
/// flight, the mailboxes still to ask, and the pages not yet delivered.
pub(super) struct Pipeline<'s, 'c> {
    sync: &'s InventorySync<'c>,
    throttled_errors: &'s AtomicU64,
    cursor: Option<Cursor<'s, 'c>>,
    fetch: Option<BoxFuture<'s, Fetched<'s, 'c>>>,
    throttle: Option<std::sync::Arc<crate::throttle::TenantThrottle>>,
    /// The enumeration ended (or failed: `error`).
    exhausted: bool,
    error: Option<Error>,
    calls: FuturesUnordered<BoxFuture<'s, Answer>>,
    queue: VecDeque<String>,
    /// Mailboxes asked and not answered yet, with the pages that wait for them.
    in_flight: HashMap<String, Vec<u64>>,
    failed: HashSet<String>,
    carry: Pending,
    pages: VecDeque<Page>,
    next_seq: u64,
    counts: Counts,
    // Figures for the report, moved into it by `update`.
    statistics_calls: usize,
    mailboxes_done: usize,
    unroutable: usize,
    failures: Vec<(String, String)>,
}

impl<'s, 'c> Pipeline<'s, 'c> {
    pub(super) fn new(
        sync: &'s InventorySync<'c>,
        throttled_errors: &'s AtomicU64,
        cursor: Cursor<'s, 'c>,
    ) -> Self {
        Pipeline {
            sync,
            throttled_errors,
            cursor: Some(cursor),
            fetch: None,
            throttle: sync.client.throttle(),
            exhausted: false,
            error: None,
            calls: FuturesUnordered::new(),
            queue: VecDeque::new(),
            in_flight: HashMap::new(),
            failed: HashSet::new(),
            carry: Pending::default(),
            pages: VecDeque::new(),
            next_seq: 0,
            counts: Counts::default(),
            statistics_calls: 0,
            mailboxes_done: 0,
            unroutable: 0,
            failures: Vec::new(),
        }
    }

    /// The records of the first page, once none of its mailboxes is still being asked.
    pub(super) fn next_ready(&mut self) -> Option<Vec<DeviceRecord>> {
        if self.pages.front()?.waiting > 0 {
            return None;
        }
        let page = self.pages.pop_front()?;
        let records = page
            .rows
            .into_iter()
            .map(|(device, _, statistics)| DeviceRecord { device, statistics })
            .collect();
        Some(records)
    }

    /// Start what can start (the next page, statistics calls up to the fan-out), then wait for
    /// the next thing to finish. `false` when nothing is left to wait for.
    pub(super) async fn advance(&mut self) -> bool {
        if self.fetch.is_none()
            && !self.exhausted
            && self.pages.len() < WINDOW
            && let Some(mut cursor) = self.cursor.take()
        {
            if self.sync.with_statistics
                && self.sync.page_size.is_none()
                && let Some(t) = &self.throttle
            {
                let rows = (ROWS_PER_SLOT * t.limit())
                    .clamp(super::STATISTICS_PAGE_SIZE as usize, MAX_ADAPTIVE_PAGE);
                cursor.driver.set_page_size(rows as u32);
            }
            self.fetch = Some(Box::pin(async move {
                let page = cursor.next_page().await;
                (cursor, page)
            }));
        }
        let fan_out = match &self.throttle {
            Some(t) => self.sync.fan_out.min(t.limit() + BEYOND_LIMIT),
            None => self.sync.fan_out,
        };
        while self.calls.len() < fan_out {
            let Some(mailbox) = self.queue.pop_front() else {
                break;
            };
            let sync = self.sync;
            let throttled = self.throttled_errors;
            self.calls.push(Box::pin(async move {
                let (res, calls) = statistics(sync.client, &mailbox).await;
                if res.as_ref().is_err_and(Error::is_throttled) {
                    throttled.fetch_add(1, Ordering::Relaxed);
                }
                (mailbox, res, calls)
            }));
        }
        let fetch = self.fetch.take();
        match (fetch, self.calls.is_empty()) {
            (None, true) => false,
            (Some(fetch), true) => {
                let (cursor, page) = fetch.await;
                self.arrived(cursor, page);
                true
            }
            (None, false) => {
                if let Some(answer) = self.calls.next().await {
                    self.answered(answer);
                }
                true
            }
            (Some(fetch), false) => {
                match select(fetch, self.calls.next()).await {
                    Either::Left(((cursor, page), _)) => self.arrived(cursor, page),
                    Either::Right((answer, fetch)) => {
                        self.fetch = Some(fetch);
                        if let Some(answer) = answer {
                            self.answered(answer);
                        }
                    }
                }
                true
            }
        }
    }

    /// A page arrived (or the enumeration ended or failed).
    fn arrived(&mut self, cursor: Cursor<'s, 'c>, page: Result<Option<Vec<MobileDevice>>>) {
        self.counts = cursor.driver.with_pager(|p| Counts {
            pages: p.report().pages,
            restarts: p.report().restarts,
            duplicates: p.duplicates(),
            distinct: p.distinct(),
        });
        self.cursor = Some(cursor);
        let devices = match page {
            Ok(Some(devices)) => devices,
            Ok(None) => {
                self.exhausted = true;
                return;
            }
            Err(e) => {
                // The pages before are still delivered; the error ends the sync after them.
                self.exhausted = true;
                self.error = Some(e);
                return;
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut page = Page {
            seq,
            rows: Vec::with_capacity(devices.len()),
            waiting: 0,
        };
        // Mailboxes this page found read already: their later devices are not asked for
        // again, even once the earlier devices have taken every row.
        let mut from_carry: HashSet<String> = HashSet::new();
        for device in devices {
            let mailbox = if self.sync.with_statistics {
                device_mailbox(&device)
            } else {
                None
            };
            let mut statistics = None;
            match &mailbox {
                None if self.sync.with_statistics => self.unroutable += 1,
                None => {}
                // Read on an earlier page: its rows are kept for devices still to come.
                Some(m) if self.carry.rows.contains_key(m) || from_carry.contains(m) => {
                    statistics = self.carry.take(m, &device);
                    if !from_carry.contains(m) {
                        from_carry.insert(m.clone());
                    }
                }
                // Failed after the client's retries: not asked again; reported once.
                Some(m) if self.failed.contains(m) => {}
                Some(m) => {
                    let waiters = match self.in_flight.get_mut(m) {
                        Some(waiters) => waiters,
                        None => {
                            self.queue.push_back(m.clone());
                            self.in_flight.entry(m.clone()).or_default()
                        }
                    };
                    if waiters.last() != Some(&seq) {
                        waiters.push(seq);
                        page.waiting += 1;
                    }
                }
            }
            page.rows.push((device, mailbox, statistics));
        }
        self.pages.push_back(page);
    }

    /// A mailbox's statistics came back: the pages waiting for it take their rows.
    fn answered(&mut self, (mailbox, res, calls): Answer) {
        self.statistics_calls += calls;
        let waiters = self.in_flight.remove(&mailbox).unwrap_or_default();
        match res {
            Ok(rows) => {
                self.mailboxes_done += 1;
                self.carry.insert(mailbox.clone(), rows);
            }
            Err(e) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(mailbox = %mailbox, error = %e, "statistics failed");
                self.failures.push((mailbox.clone(), e.to_string()));
                self.failed.insert(mailbox.clone());
            }
        }
        for page in self.pages.iter_mut().filter(|p| waiters.contains(&p.seq)) {
            for (device, m, statistics) in &mut page.rows {
                if statistics.is_none() && m.as_deref() == Some(mailbox.as_str()) {
                    *statistics = self.carry.take(&mailbox, device);
                }
            }
            page.waiting -= 1;
        }
        // The waiting pages have their rows: what is left is for pages still to come, and
        // never more than the cap.
        self.carry.trim(self.sync.max_pending_statistics);
    }

    /// Move the figures gathered so far into `report`.
    pub(super) fn update(&mut self, report: &mut SyncReport) {
        report.statistics_calls += std::mem::take(&mut self.statistics_calls);
        report.unroutable_devices += std::mem::take(&mut self.unroutable);
        report.failed_mailboxes.append(&mut self.failures);
        report.pages = self.counts.pages;
        report.restarts = self.counts.restarts;
        report.duplicates_skipped = self.counts.duplicates;
    }

    /// Distinct devices enumerated so far.
    pub(super) fn distinct(&self) -> usize {
        self.counts.distinct
    }

    /// Mailboxes whose statistics were read.
    pub(super) fn mailboxes_done(&self) -> usize {
        self.mailboxes_done
    }

    /// The error that ended the enumeration, once every page before it was delivered.
    pub(super) fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }
}

/// Statistics of one mailbox (one call, retried by the client); returns the result and the
/// number of calls made.
async fn statistics(
    client: &dyn ExchangeClient,
    mailbox: &str,
) -> (Result<Vec<MobileDeviceStatistics>>, usize) {
    let identity = match MailboxIdentity::new(mailbox) {
        Ok(m) => m,
        Err(e) => return (Err(e.into()), 0),
    };
    let res = client
        .get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(identity))
        .await;
    (res.map(|listing| listing.items), 1)
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
