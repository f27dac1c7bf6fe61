//! Paging: every listing (collected, streamed, enumerated by the inventory sync
//! or the connection check) is read through one internal pager, which applies the same rules,
//! driven by one page driver with an explicit restart policy (typed calls, streams and raw
//! calls restart after an expired continuation; the inventory sync also after a transport
//! failure left over from the client's retries):
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

use std::fmt;
use std::sync::{Arc, Mutex};

use futures::stream::{BoxStream, Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::protocol::{NextLink, RawPage, Warning};

mod driver;
mod key_set;
mod pager;
mod row_keys;

pub(crate) use driver::{PageDriver, PageSource, RestartPolicy, Start, collect, stream};
pub(crate) use pager::Pager;

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
        let mut checkpoint = {
            let pager = resume.pager.lock().unwrap_or_else(|e| e.into_inner());
            let yielded = resume.yielded.load(std::sync::atomic::Ordering::SeqCst);
            pager.checkpoint(yielded)?
        };
        // Sorted, as `Checkpoint::returned` promises, after the paging task's lock is let go.
        checkpoint.returned.sort_unstable();
        Some(checkpoint)
    }

    /// A stream that yields one error.
    pub fn from_error(error: Error) -> Self
    where
        T: Send + 'a,
    {
        ObjectStream::new(
            futures::stream::once(async move { Err(error) }).boxed(),
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
