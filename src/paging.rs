//! Paging: every listing (collected, streamed, enumerated by the inventory sync
//! or the connection check) is read through one internal pager, which applies the same rules.
//! Two loops drive it: the stream below (typed calls, streams, raw calls) and the inventory
//! sync's, which also restarts after a failed transport:
//!
//! * a cmdlet whose [`crate::catalog`] shape is not a listing is POSTed once; a next
//!   link it offers anyway is reported as a warning and not followed (a destructive cmdlet is
//!   never sent twice by paging). A cmdlet outside the catalog pages only if it reads;
//! * a next link seen before in the enumeration is an error (paging would loop);
//! * a page that adds no new row (empty, or only rows returned before) is no progress: more
//!   than [`MAX_PAGES_WITHOUT_PROGRESS`] such pages in a row that still carry a next link end
//!   the enumeration with [`Error::Paging`], which names the repeated pages. Memory stays
//!   bounded whatever the service sends: rows already returned are remembered by a 128-bit
//!   key (the `Guid` itself, or a 128-bit hash of another key), next links by a 128-bit hash;
//! * after "Expired or Invalid pagination request" mid-enumeration, the enumeration restarts
//!   from the first page (a new request id), at most [`DEFAULT_MAX_RESTARTS`] times, and rows
//!   already returned are skipped by the catalog's row key. A cmdlet without a row key fails
//!   as before. A stream resumed from a checkpoint (a next link) cannot tell which rows came
//!   before it, so after an expired continuation it fails with that error rather than
//!   restart and repeat rows from before the checkpoint;
//! * warnings are kept (a truncation warning followed by a next page is resolved by paging),
//!   the confirmation message is kept, and restarts are counted in the report.

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::catalog::{self, CmdletKind, RowKey};
use crate::error::{Error, Result};
use crate::protocol::{Invocation, NextLink, RawPage, Warning};

/// Consecutive pages that add no new row (empty, or only rows returned before) and still
/// carry a next link, tolerated before paging gives up with [`Error::Paging`].
pub const MAX_PAGES_WITHOUT_PROGRESS: usize = 4;
/// The former name of [`MAX_PAGES_WITHOUT_PROGRESS`] (empty pages now count with pages of
/// repeated rows).
#[deprecated(since = "0.2.0", note = "use MAX_PAGES_WITHOUT_PROGRESS")]
pub const MAX_EMPTY_PAGES: usize = MAX_PAGES_WITHOUT_PROGRESS;
/// Restarts after an expired continuation, by default.
pub const DEFAULT_MAX_RESTARTS: u32 = 3;

/// One decoded page.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Where the next page is (`None` on the last page).
    pub next_link: Option<NextLink>,
    /// Warnings the service returned with this page.
    pub warnings: Vec<Warning>,
    /// `@adminapi.confirmationmessage`, if any.
    pub confirmation_message: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items` with no continuation and no warnings.
    pub fn new(items: Vec<T>) -> Self {
        Page {
            items,
            next_link: None,
            warnings: Vec::new(),
            confirmation_message: None,
        }
    }

    /// Set the continuation.
    pub fn with_next_link(mut self, next: Option<NextLink>) -> Self {
        self.next_link = next;
        self
    }

    /// Add warnings.
    pub fn with_warnings(mut self, warnings: Vec<Warning>) -> Self {
        self.warnings.extend(warnings);
        self
    }

    /// Whether the service stopped at `ResultSize` and said so on this, the last page.
    pub fn is_truncated(&self) -> bool {
        self.next_link.is_none() && self.warnings.iter().any(Warning::is_truncation)
    }

    /// Decode a raw page.
    pub fn from_raw(raw: RawPage) -> Result<Page<T>>
    where
        T: DeserializeOwned,
    {
        let items = raw.rows()?;
        Ok(Page {
            items,
            next_link: raw.next_link,
            warnings: raw.warnings,
            confirmation_message: raw.confirmation_message,
        })
    }
}

/// Every row of a call, with what the service said along the way.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Listing<T> {
    /// All rows, in the order the service sent them.
    pub items: Vec<T>,
    /// Every warning the service returned (truncation warnings that paging resolved are left
    /// out; one on the last page is kept and sets `truncated`).
    pub warnings: Vec<Warning>,
    /// The service stopped before the end (a `ResultSize` limit) and said so.
    pub truncated: bool,
    /// `@adminapi.confirmationmessage`, if any.
    pub confirmation_message: Option<String>,
    /// Number of pages fetched.
    pub pages: usize,
    /// Times the enumeration restarted from the first page after an expired continuation
    /// (rows already returned were skipped by the catalog's row key).
    pub restarts: u32,
}

impl<T> Listing<T> {
    /// A listing of `items` with no warnings.
    pub fn new(items: Vec<T>) -> Self {
        Listing {
            items,
            warnings: Vec::new(),
            truncated: false,
            confirmation_message: None,
            pages: 1,
            restarts: 0,
        }
    }

    /// The same listing with other items.
    pub fn map_items<U>(self, items: Vec<U>) -> Listing<U> {
        Listing {
            items,
            warnings: self.warnings,
            truncated: self.truncated,
            confirmation_message: self.confirmation_message,
            pages: self.pages,
            restarts: self.restarts,
        }
    }

    /// The first row, if any.
    pub fn into_first(self) -> Option<T> {
        self.items.into_iter().next()
    }
}

/// What an [`ObjectStream`] has seen so far.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StreamReport {
    /// Warnings returned so far (see [`Listing::warnings`]).
    pub warnings: Vec<Warning>,
    /// Pages fetched so far.
    pub pages: usize,
    /// Rows yielded so far.
    pub items: usize,
    /// The service stopped early and said so.
    pub truncated: bool,
    /// The last page has been read.
    pub complete: bool,
    /// The continuation of the next page to fetch, for checkpointing.
    pub next_link: Option<NextLink>,
    /// `@adminapi.confirmationmessage`, if any page carried one.
    pub confirmation_message: Option<String>,
    /// Times the enumeration restarted from the first page (see [`Listing::restarts`]).
    pub restarts: u32,
}

/// Where to resume a stream without losing or repeating a row: the continuation of the page
/// being read and the 128-bit keys of the rows already returned (16 bytes a row). Take it
/// from [`ObjectStream::checkpoint`] at any point between two rows; resume with
/// [`ExchangeClientExt::stream_from`](crate::ExchangeClientExt::stream_from). It serializes
/// to JSON (`next_link`, `returned` as base64), so another process can resume. A resumed
/// stream skips the rows the checkpoint returned, also when its continuation has expired and
/// the enumeration restarts from the first page.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The continuation of the page being read (`None`: the first page).
    pub next_link: Option<NextLink>,
    /// The keys of the rows returned before, sorted.
    #[serde(with = "keys_base64")]
    pub returned: Vec<u128>,
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpoint")
            .field("next_link", &self.next_link)
            .field("returned", &self.returned.len())
            .finish()
    }
}

/// `Vec<u128>` as one base64 string of 16-byte big-endian keys.
mod keys_base64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(keys: &[u128], s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(keys.len() * 16);
        for k in keys {
            bytes.extend_from_slice(&k.to_be_bytes());
        }
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u128>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = STANDARD.decode(text.as_bytes()).map_err(D::Error::custom)?;
        if bytes.len() % 16 != 0 {
            return Err(D::Error::custom(
                "the keys are not a whole number of 16-byte keys",
            ));
        }
        Ok(bytes
            .chunks_exact(16)
            .map(|c| u128::from_be_bytes(c.try_into().expect("16 bytes")))
            .collect())
    }
}

/// What the stream shares with [`ObjectStream::checkpoint`]: the pager (its set of returned
/// keys) and how many rows of the current page were yielded.
struct Resume {
    pager: Mutex<Pager>,
    yielded: std::sync::atomic::AtomicUsize,
}

/// A stream of rows across pages, which also records warnings.
pub struct ObjectStream<'a, T> {
    inner: BoxStream<'a, Result<T>>,
    report: Arc<Mutex<StreamReport>>,
    resume: Option<Arc<Resume>>,
}

impl<'a, T> ObjectStream<'a, T> {
    /// Wrap any stream of rows (for test doubles); its report stays empty unless `report`
    /// is shared with the producer.
    pub fn new(inner: BoxStream<'a, Result<T>>, report: Arc<Mutex<StreamReport>>) -> Self {
        ObjectStream {
            inner,
            report,
            resume: None,
        }
    }

    /// Where to resume this stream without losing or repeating a row (see [`Checkpoint`]):
    /// `None` once the enumeration is complete, or for a stream the paging loop did not make.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        let resume = self.resume.as_ref()?;
        let pager = resume.pager.lock().unwrap_or_else(|e| e.into_inner());
        let yielded = resume.yielded.load(std::sync::atomic::Ordering::SeqCst);
        pager.checkpoint(yielded)
    }

    /// A stream that yields one error.
    pub fn from_error(error: Error) -> Self
    where
        T: Send + 'a,
    {
        ObjectStream::new(
            stream::once(async move { Err(error) }).boxed(),
            Arc::default(),
        )
    }

    /// A snapshot of what the stream has seen so far.
    pub fn report(&self) -> StreamReport {
        self.report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Warnings returned so far.
    pub fn warnings(&self) -> Vec<Warning> {
        self.report().warnings
    }

    /// Drain the stream into a [`Listing`].
    pub async fn collect_listing(mut self) -> Result<Listing<T>> {
        let mut items = Vec::new();
        while let Some(item) = self.inner.next().await {
            items.push(item?);
        }
        let report = self.report();
        Ok(Listing {
            items,
            warnings: report.warnings,
            truncated: report.truncated,
            confirmation_message: report.confirmation_message,
            pages: report.pages,
            restarts: report.restarts,
        })
    }
}

impl<T> Stream for ObjectStream<'_, T> {
    type Item = Result<T>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> fmt::Debug for ObjectStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream")
            .field("report", &self.report())
            .finish_non_exhaustive()
    }
}

/// Fold one page's warnings into a report: a truncation warning is dropped when a next page
/// follows (paging resolves it) and kept, with `truncated` set, on the last page.
fn absorb_warnings(report: &mut StreamReport, warnings: Vec<Warning>, has_next: bool) {
    for w in warnings {
        if w.is_truncation() {
            if has_next {
                continue;
            }
            report.truncated = true;
        }
        #[cfg(feature = "tracing")]
        tracing::warn!(cmdlet = w.cmdlet.as_deref().unwrap_or(""), warning = %w.message, "service warning");
        report.warnings.push(w);
    }
}

/// The state of one enumeration: where the next page is, what was seen, what was said.
/// Fetching is the caller's business (so the inventory sync can put its limiter and retries
/// around it); [`Pager::accept`] and [`Pager::recover`] apply the rules of this module.
#[derive(Debug)]
pub(crate) struct Pager {
    cmdlet: String,
    follow: bool,
    key: Option<RowKey>,
    next: Option<NextLink>,
    done: bool,
    /// 128-bit hashes of the next links seen.
    seen_links: HashSet<u128>,
    /// 128-bit keys of the rows returned.
    seen_keys: HashSet<u128>,
    /// 128-bit hashes of the pages of a listing without a row key (a page repeated whole is
    /// no progress).
    seen_pages: HashSet<u128>,
    unkeyed: usize,
    duplicates: usize,
    /// Pages in a row that added no new row: (first page number, rows they repeated).
    stalled: Option<(usize, usize)>,
    stalled_pages: usize,
    /// Started at a bare continuation: rows before it are unknown, so no restart.
    resumed: bool,
    /// The continuation that fetched the page being yielded (`None`: the first page).
    current_link: Option<NextLink>,
    /// The keys of the rows of the page being yielded, in order.
    current_keys: Vec<Option<u128>>,
    max_restarts: u32,
    report: StreamReport,
}

/// A 128-bit hash of `text` (two independent 64-bit SipHash values).
fn hash128(text: &[u8]) -> u128 {
    let mut a = std::hash::DefaultHasher::new();
    0xA5u8.hash(&mut a);
    text.hash(&mut a);
    let mut b = std::hash::DefaultHasher::new();
    0x5Au8.hash(&mut b);
    text.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// The 128-bit key of a row key's text: the GUID itself when it is one, else a 128-bit hash
/// of its lower-case text.
pub(crate) fn row_key128(text: &str) -> u128 {
    match uuid::Uuid::try_parse(text.trim()) {
        Ok(g) => g.as_u128(),
        Err(_) => hash128(text.to_ascii_lowercase().as_bytes()),
    }
}

impl Pager {
    /// A pager for `cmdlet`, following continuations only if its catalog shape is a listing
    /// (outside the catalog: only if it reads).
    pub fn new(cmdlet: &str) -> Self {
        let (follow, key) = match catalog::lookup(cmdlet) {
            Some(info) => (info.pages(), info.shape.row_key()),
            None => (
                CmdletKind::from_cmdlet_name(cmdlet) == CmdletKind::Read,
                None,
            ),
        };
        Pager {
            cmdlet: cmdlet.to_string(),
            follow,
            key,
            next: None,
            done: false,
            seen_links: HashSet::new(),
            seen_keys: HashSet::new(),
            seen_pages: HashSet::new(),
            unkeyed: 0,
            duplicates: 0,
            stalled: None,
            stalled_pages: 0,
            resumed: false,
            current_link: None,
            current_keys: Vec::new(),
            max_restarts: DEFAULT_MAX_RESTARTS,
            report: StreamReport::default(),
        }
    }

    /// Start at `link` (a checkpoint) instead of the first page.
    pub fn start_at(mut self, link: Option<NextLink>) -> Self {
        if let Some(link) = &link {
            self.seen_links.insert(hash128(link.as_str().as_bytes()));
            self.resumed = true;
        }
        self.report.next_link = link.clone();
        self.next = link;
        self
    }

    /// Resume at `checkpoint`: its page again, without the rows it returned (a restart
    /// after an expired continuation skips them too).
    pub fn resume(mut self, checkpoint: Checkpoint) -> Self {
        self.seen_keys.extend(checkpoint.returned);
        self.report.next_link = checkpoint.next_link.clone();
        self.next = checkpoint.next_link;
        self
    }

    /// The checkpoint after `yielded` rows of the page being yielded.
    fn checkpoint(&self, yielded: usize) -> Option<Checkpoint> {
        if self.resumed || (self.done && yielded >= self.current_keys.len()) {
            return None;
        }
        let pending: HashSet<u128> = self
            .current_keys
            .iter()
            .skip(yielded)
            .flatten()
            .copied()
            .collect();
        let mut returned: Vec<u128> = self
            .seen_keys
            .iter()
            .filter(|k| !pending.contains(k))
            .copied()
            .collect();
        returned.sort_unstable();
        Some(Checkpoint {
            next_link: self.current_link.clone(),
            returned,
        })
    }

    /// At most `n` restarts after an expired continuation.
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.max_restarts = n;
        self
    }

    /// Whether the last page has been read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The continuation of the next page (`None`: the first page).
    pub fn next_link(&self) -> Option<&NextLink> {
        self.next.as_ref()
    }

    /// Whether the enumeration is past its first page (a restart would make sense).
    pub fn is_mid_enumeration(&self) -> bool {
        self.next.is_some()
    }

    /// What the enumeration has seen so far.
    pub fn report(&self) -> &StreamReport {
        &self.report
    }

    /// Rows skipped because they had been returned before (after a restart).
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Distinct rows returned so far.
    pub fn distinct(&self) -> usize {
        self.seen_keys.len() + self.unkeyed
    }

    /// Take one fetched page: its new rows, decoded. Errors on a repeated next link and on
    /// too many empty pages in a row.
    pub fn accept<T: DeserializeOwned>(&mut self, raw: RawPage) -> Result<Vec<T>> {
        let mut rows: Vec<T> = raw.rows()?;
        let received = rows.len();
        let mut progress = received > 0;
        self.current_link = self.next.clone();
        self.current_keys.clear();
        if self.follow {
            match self.key {
                Some(key) => {
                    let keys = row_keys(&raw, key);
                    if keys.len() != rows.len() {
                        // keys unreadable: keep every row
                        self.unkeyed += rows.len();
                        self.current_keys.resize(rows.len(), None);
                    } else {
                        let mut keep = Vec::with_capacity(keys.len());
                        for k in keys {
                            keep.push(match k {
                                Some(k) => {
                                    let new = self.seen_keys.insert(k);
                                    if new {
                                        self.current_keys.push(Some(k));
                                    }
                                    new
                                }
                                None => {
                                    self.unkeyed += 1;
                                    self.current_keys.push(None);
                                    true
                                }
                            });
                        }
                        let mut flags = keep.into_iter();
                        rows.retain(|_| flags.next().unwrap_or(true));
                        self.duplicates += received - rows.len();
                        progress = !rows.is_empty();
                    }
                }
                None if received > 0 => {
                    // No key to tell rows apart: a page repeated whole is no progress.
                    let text = raw.value.as_ref().map_or("", |v| v.get());
                    progress = self.seen_pages.insert(hash128(text.as_bytes()));
                    self.unkeyed += rows.len();
                }
                None => {}
            }
        }
        self.report.pages += 1;
        self.report.items += rows.len();
        if raw.confirmation_message.is_some() {
            self.report.confirmation_message = raw.confirmation_message;
        }
        let mut warnings = raw.warnings;
        let following = match raw.next_link {
            Some(link) if !self.follow => {
                warnings.push(Warning::new(
                    format!(
                        "the service offered a continuation (@odata.nextLink) for {}, which \
                         returns no listing; it was not followed",
                        self.cmdlet
                    ),
                    Some(self.cmdlet.clone()),
                ));
                drop(link);
                None
            }
            other => other,
        };
        absorb_warnings(&mut self.report, warnings, following.is_some());
        if let Some(link) = &following {
            let page = self.report.pages;
            if !self.seen_links.insert(hash128(link.as_str().as_bytes())) {
                self.done = true;
                return Err(Error::Paging {
                    cmdlet: self.cmdlet.clone(),
                    message: format!(
                        "page {page} returned an @odata.nextLink the service had already \
                         returned ({link:?}); paging would loop"
                    ),
                });
            }
            if progress {
                self.stalled = None;
                self.stalled_pages = 0;
            } else {
                let (first, repeated) = self.stalled.get_or_insert((page, 0));
                *repeated += received;
                self.stalled_pages += 1;
                if self.stalled_pages > MAX_PAGES_WITHOUT_PROGRESS {
                    let (first, repeated) = (*first, *repeated);
                    self.done = true;
                    return Err(Error::Paging {
                        cmdlet: self.cmdlet.clone(),
                        message: format!(
                            "pages {first} to {page} added no new row ({repeated} row(s), all \
                             returned before, under fresh next links); paging stopped after \
                             {} pages in a row without progress",
                            self.stalled_pages
                        ),
                    });
                }
            }
        }
        self.done = following.is_none();
        self.report.complete = self.done;
        self.report.next_link = following.clone();
        self.next = following;
        Ok(rows)
    }

    /// After a failed fetch: `Ok` if the enumeration restarted (an expired continuation of a
    /// keyed listing, restarts left), otherwise the error.
    pub fn recover(&mut self, error: Error) -> Result<()> {
        if error.is_pagination_expired() && self.restart() {
            #[cfg(feature = "tracing")]
            tracing::warn!(cmdlet = %self.cmdlet, error = %error, "paging restarts from the first page");
            Ok(())
        } else {
            Err(error)
        }
    }

    /// Restart from the first page, if the enumeration is past its first page, its rows have
    /// a key and restarts are left. The caller should renew the request id.
    pub fn restart(&mut self) -> bool {
        if !self.is_mid_enumeration()
            || self.resumed
            || self.key.is_none()
            || !self.follow
            || self.report.restarts >= self.max_restarts
        {
            return false;
        }
        self.report.restarts += 1;
        self.next = None;
        self.done = false;
        self.seen_links.clear();
        self.seen_pages.clear();
        self.stalled = None;
        self.stalled_pages = 0;
        self.current_link = None;
        self.current_keys.clear();
        true
    }
}

/// The 128-bit key of every row of `raw` (`None` for a row without one; see
/// [`row_key128`]). Only the key properties are decoded; rows that are not objects have no
/// key.
fn row_keys(raw: &RawPage, key: RowKey) -> Vec<Option<u128>> {
    #[derive(serde::Deserialize)]
    struct Keyed {
        #[serde(rename = "Guid", default)]
        guid: Option<serde_json::Value>,
        #[serde(rename = "Identity", default)]
        identity: Option<serde_json::Value>,
    }
    let Some(v) = &raw.value else {
        return Vec::new();
    };
    let Ok(rows) = serde_json::from_str::<Vec<Keyed>>(v.get()) else {
        return Vec::new();
    };
    rows.into_iter()
        .map(|r| {
            let v = match key {
                RowKey::Guid => r.guid,
                RowKey::Identity => r.identity,
            }?;
            match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) if s.is_empty() => None,
                serde_json::Value::String(s) => Some(row_key128(&s)),
                other => Some(row_key128(&other.to_string())),
            }
        })
        .collect()
}

/// Where pages come from (every [`ExchangeClient`](crate::ExchangeClient) is one).
pub(crate) trait PageSource: Send + Sync {
    /// Fetch one page of `invocation`.
    fn fetch_page<'a>(
        &'a self,
        invocation: &'a Invocation,
        next: Option<&'a NextLink>,
    ) -> BoxFuture<'a, Result<RawPage>>;
}

/// Where a stream starts.
pub(crate) enum Start {
    /// The first page.
    First,
    /// A bare continuation (rows before it unknown: no restart).
    Link(NextLink),
    /// A checkpoint (rows before it known: restarts skip them).
    Checkpoint(Checkpoint),
}

impl From<Option<NextLink>> for Start {
    fn from(link: Option<NextLink>) -> Self {
        match link {
            None => Start::First,
            Some(l) => Start::Link(l),
        }
    }
}

/// Stream every row of `invocation` through a [`Pager`], starting at `start`.
pub(crate) fn stream<'a, T, S>(
    source: &'a S,
    invocation: Invocation,
    start: impl Into<Start>,
) -> ObjectStream<'a, T>
where
    T: DeserializeOwned + Send + 'a,
    S: PageSource + ?Sized,
{
    use std::sync::atomic::Ordering;
    // Nothing is sent for an invocation that may not be sent (a malformed cmdlet name, a
    // destructive cmdlet without an identity), whichever client runs it.
    if let Err(e) = invocation.validate() {
        return ObjectStream::from_error(e);
    }
    let pager = Pager::new(invocation.cmdlet());
    let pager = match start.into() {
        Start::First => pager,
        Start::Link(link) => pager.start_at(Some(link)),
        Start::Checkpoint(c) => pager.resume(c),
    };
    let report = Arc::new(Mutex::new(pager.report().clone()));
    let resume = Arc::new(Resume {
        pager: Mutex::new(pager),
        yielded: std::sync::atomic::AtomicUsize::new(0),
    });
    let shared = report.clone();
    let state = resume.clone();
    let pages = stream::try_unfold(
        (invocation, shared, state),
        move |(mut invocation, shared, state)| async move {
            loop {
                let next = {
                    let pager = state.pager.lock().unwrap_or_else(|e| e.into_inner());
                    if pager.is_done() {
                        return Ok::<_, Error>(None);
                    }
                    pager.next_link().cloned()
                };
                let fetched = source.fetch_page(&invocation, next.as_ref()).await;
                // The lock guards plain bookkeeping: a poisoned one still holds usable data.
                let mut pager = state.pager.lock().unwrap_or_else(|e| e.into_inner());
                let accepted = fetched.and_then(|raw| pager.accept::<T>(raw));
                state.yielded.store(0, Ordering::SeqCst);
                *shared.lock().unwrap_or_else(|e| e.into_inner()) = pager.report().clone();
                match accepted {
                    Ok(rows) => {
                        drop(pager);
                        return Ok(Some((rows, (invocation, shared, state))));
                    }
                    Err(e) => {
                        pager.recover(e)?;
                        invocation.renew_request_id();
                        *shared.lock().unwrap_or_else(|e| e.into_inner()) = pager.report().clone();
                    }
                }
            }
        },
    );
    let counter = resume.clone();
    let items = pages
        .map_ok(move |rows| {
            let counter = counter.clone();
            stream::iter(rows.into_iter().map(move |row| {
                counter.yielded.fetch_add(1, Ordering::SeqCst);
                Ok(row)
            }))
        })
        .try_flatten()
        .boxed();
    let mut out = ObjectStream::new(items, report);
    out.resume = Some(resume);
    out
}

/// Collect every row of `invocation` (the same loop as [`stream`]).
pub(crate) async fn collect<T, S>(source: &S, invocation: Invocation) -> Result<Listing<T>>
where
    T: DeserializeOwned + Send,
    S: PageSource + ?Sized,
{
    stream(source, invocation, Start::First)
        .collect_listing()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(cmdlet: &str, rows: Vec<serde_json::Value>, next: Option<&str>) -> RawPage {
        RawPage::from_values(cmdlet, rows).with_next_link(next.map(NextLink::new))
    }

    #[test]
    fn a_non_listing_next_link_is_a_warning_not_a_page() {
        let mut p = Pager::new("Clear-MobileDevice");
        let rows: Vec<serde_json::Value> = p
            .accept(page("Clear-MobileDevice", vec![], Some("more")))
            .unwrap();
        assert!(rows.is_empty());
        assert!(p.is_done());
        assert_eq!(p.report().warnings.len(), 1);
        assert!(p.report().warnings[0].message.contains("not followed"));
        // a write outside the catalog is not followed either; a read is
        let mut w = Pager::new("Set-Thing");
        let _: Vec<serde_json::Value> = w.accept(page("Set-Thing", vec![], Some("x"))).unwrap();
        assert!(w.is_done());
        let mut r = Pager::new("Get-Thing");
        let _: Vec<serde_json::Value> = r.accept(page("Get-Thing", vec![], Some("x"))).unwrap();
        assert!(!r.is_done());
    }

    #[test]
    fn empty_pages_with_a_next_link_are_bounded() {
        let mut p = Pager::new("Get-MobileDevice");
        for i in 0..MAX_PAGES_WITHOUT_PROGRESS {
            let next = format!("l{i}");
            let rows: Vec<serde_json::Value> = p
                .accept(page("Get-MobileDevice", vec![], Some(&next)))
                .unwrap();
            assert!(rows.is_empty());
        }
        let r: Result<Vec<serde_json::Value>> =
            p.accept(page("Get-MobileDevice", vec![], Some("last")));
        assert!(matches!(r, Err(Error::Paging { .. })), "{r:?}");
    }

    #[test]
    fn a_row_in_between_resets_the_empty_page_count() {
        let mut p = Pager::new("Get-MobileDevice");
        for i in 0..(3 * MAX_PAGES_WITHOUT_PROGRESS) {
            let rows = if i % MAX_PAGES_WITHOUT_PROGRESS == 0 {
                vec![json!({"Guid": format!("g{i}")})]
            } else {
                vec![]
            };
            let next = format!("l{i}");
            let _: Vec<serde_json::Value> = p
                .accept(page("Get-MobileDevice", rows, Some(&next)))
                .unwrap();
        }
    }

    #[test]
    fn restart_skips_rows_by_key_and_only_for_keyed_listings() {
        let mut p = Pager::new("Get-MobileDevice");
        let first: Vec<serde_json::Value> = p
            .accept(page(
                "Get-MobileDevice",
                vec![json!({"Guid": "A"}), json!({"Guid": "b"})],
                Some("n1"),
            ))
            .unwrap();
        assert_eq!(first.len(), 2);
        let expired = Error::from(crate::error::ApiError::new(
            400,
            "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
        ));
        assert!(expired.is_pagination_expired(), "{expired:?}");
        p.recover(expired).unwrap();
        assert_eq!(p.next_link(), None);
        let again: Vec<serde_json::Value> = p
            .accept(page(
                "Get-MobileDevice",
                vec![
                    json!({"Guid": "a"}),
                    json!({"Guid": "B"}),
                    json!({"Guid": "c"}),
                ],
                None,
            ))
            .unwrap();
        assert_eq!(again, vec![json!({"Guid": "c"})]);
        assert_eq!(
            (p.report().restarts, p.duplicates(), p.distinct()),
            (1, 2, 3)
        );
        // without a key (unknown cmdlet) an expired continuation fails
        let mut u = Pager::new("Get-Thing");
        let _: Vec<serde_json::Value> = u.accept(page("Get-Thing", vec![], Some("n"))).unwrap();
        assert!(!u.restart());
    }

    #[test]
    fn repeated_rows_under_fresh_links_stop_after_a_few_pages() {
        let mut p = Pager::new("Get-MobileDevice");
        let rows = || vec![json!({"Guid": "00000000-0000-0000-0000-000000000001"})];
        let first: Vec<serde_json::Value> = p
            .accept(page("Get-MobileDevice", rows(), Some("l0")))
            .unwrap();
        assert_eq!(first.len(), 1);
        let mut pages = 1;
        let err = loop {
            pages += 1;
            assert!(pages < 100, "paging never stopped");
            let next = format!("l{pages}");
            match p.accept::<serde_json::Value>(page("Get-MobileDevice", rows(), Some(&next))) {
                Ok(r) => assert!(r.is_empty(), "a repeated row was returned again"),
                Err(e) => break e,
            }
        };
        assert_eq!(pages, 2 + MAX_PAGES_WITHOUT_PROGRESS);
        let text = err.to_string();
        assert!(text.contains("pages 2 to"), "{text}");
        assert!(matches!(err, Error::Paging { .. }));
    }

    #[test]
    fn an_unkeyed_listing_that_repeats_a_page_stops_too() {
        let mut p = Pager::new("Get-Thing");
        let rows = || vec![json!({"Name": "a"}), json!({"Name": "a"})];
        let first: Vec<serde_json::Value> =
            p.accept(page("Get-Thing", rows(), Some("l0"))).unwrap();
        assert_eq!(first.len(), 2, "identical rows of one page are all kept");
        let mut stopped = false;
        for i in 1..50 {
            if p.accept::<serde_json::Value>(page("Get-Thing", rows(), Some(&format!("l{i}"))))
                .is_err()
            {
                stopped = true;
                break;
            }
        }
        assert!(stopped);
    }

    #[test]
    fn row_keys_are_128_bits() {
        let g = "7B2D3D1C-1111-2222-3333-444455556666";
        assert_eq!(row_key128(g), uuid::Uuid::parse_str(g).unwrap().as_u128());
        assert_eq!(row_key128("Alice\\X"), row_key128("alice\\x"));
        assert_ne!(row_key128("alice"), row_key128("bob"));
    }

    #[test]
    fn a_resumed_pager_does_not_restart_and_repeat_rows() {
        let mut p = Pager::new("Get-MobileDevice").start_at(Some(NextLink::new("checkpoint")));
        let expired = Error::from(crate::error::ApiError::new(
            400,
            "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
        ));
        assert!(p.recover(expired).is_err());
    }
}
