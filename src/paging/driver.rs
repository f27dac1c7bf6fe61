//! The one paging driver ([`PageDriver`]): fetches pages through any [`PageSource`], applies
//! the [`Pager`]'s rules to each and restarts as a [`RestartPolicy`] says; [`stream`] and the
//! inventory sync read pages through it, [`collect`] drains a stream into a [`Listing`].

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use super::{Checkpoint, Listing, ObjectStream, Pager, Resume};
use crate::error::{Error, Result};
use crate::protocol::{Invocation, NextLink, RawPage};

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

/// When an enumeration starts again from its first page (with a fresh request id; rows
/// already returned are skipped by the pager's row keys).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RestartPolicy {
    /// After "Expired or Invalid pagination request".
    pub expired_continuation: bool,
    /// After a transport failure or a timeout mid-enumeration (the client does not retry a
    /// page whose connection broke after it was sent... for a read it does; this covers
    /// what is left after the client's retries).
    pub transport_failure: bool,
}

impl RestartPolicy {
    /// Typed calls and streams: restart only after an expired continuation.
    pub(crate) const LISTING: RestartPolicy = RestartPolicy {
        expired_continuation: true,
        transport_failure: false,
    };
    /// The inventory: also after a transport failure left over from the client's retries.
    pub(crate) const INVENTORY: RestartPolicy = RestartPolicy {
        expired_continuation: true,
        transport_failure: true,
    };

    fn allows(self, error: &Error) -> bool {
        (self.expired_continuation && error.is_pagination_expired())
            || (self.transport_failure
                && matches!(
                    error.root(),
                    Error::Transport { .. } | Error::Timeout { .. }
                ))
    }
}

/// The one paging driver: fetches the pages of one enumeration through any [`PageSource`],
/// applies the [`Pager`]'s rules to each, and restarts as its [`RestartPolicy`] says. The
/// stream of typed calls and the inventory sync both read pages through it.
pub(crate) struct PageDriver {
    invocation: Invocation,
    state: Arc<Resume>,
    policy: RestartPolicy,
    /// Rows the first page asks for, when smaller than the invocation's page size.
    first_page_size: Option<u32>,
}

impl PageDriver {
    /// A driver for `invocation` through `pager`.
    pub(crate) fn new(invocation: Invocation, pager: Pager, policy: RestartPolicy) -> Self {
        PageDriver {
            invocation,
            state: Arc::new(Resume {
                pager: Mutex::new(pager),
                yielded: std::sync::atomic::AtomicUsize::new(0),
            }),
            policy,
            first_page_size: None,
        }
    }

    /// Ask for at most `rows` on the first page (later pages: the invocation's page size).
    pub(crate) fn first_page_size(mut self, rows: u32) -> Self {
        self.first_page_size = Some(rows);
        self
    }

    /// Ask for `rows` per page from the next request on (the first page's limit still
    /// applies to the first page).
    pub(crate) fn set_page_size(&mut self, rows: u32) {
        if self.invocation.effective_page_size() != rows {
            self.invocation = self.invocation.clone().page_size(rows);
        }
    }

    /// Read the pager (statistics, report).
    pub(crate) fn with_pager<R>(&self, f: impl FnOnce(&Pager) -> R) -> R {
        f(&self.state.pager.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The next page's new rows (`None` at the end). `on_error` sees every failed fetch,
    /// restarted or not.
    pub(crate) async fn next_page<T, S>(
        &mut self,
        source: &S,
        mut on_error: impl FnMut(&Error),
    ) -> Result<Option<Vec<T>>>
    where
        T: DeserializeOwned,
        S: PageSource + ?Sized,
    {
        use std::sync::atomic::Ordering;
        loop {
            let next = {
                let pager = self.state.pager.lock().unwrap_or_else(|e| e.into_inner());
                if pager.is_done() {
                    return Ok(None);
                }
                pager.next_link().cloned()
            };
            let small = match (self.first_page_size, &next) {
                (Some(n), None) if self.invocation.effective_page_size() > n => {
                    Some(self.invocation.clone().page_size(n))
                }
                _ => None,
            };
            let invocation = small.as_ref().unwrap_or(&self.invocation);
            let fetched = source.fetch_page(invocation, next.as_ref()).await;
            // The lock guards plain bookkeeping: a poisoned one still holds usable data.
            let mut pager = self.state.pager.lock().unwrap_or_else(|e| e.into_inner());
            let accepted = fetched.and_then(|raw| pager.accept::<T>(raw));
            self.state.yielded.store(0, Ordering::SeqCst);
            match accepted {
                Ok(rows) => return Ok(Some(rows)),
                Err(e) => {
                    on_error(&e);
                    if e.is_retry_after_too_long() || !self.policy.allows(&e) || !pager.restart() {
                        return Err(e);
                    }
                    #[cfg(feature = "tracing")]
                    tracing::warn!(cmdlet = %self.invocation.cmdlet(), error = %e, "paging restarts from the first page");
                    // A fresh request id: the old continuation's affinity is gone.
                    self.invocation.renew_request_id();
                }
            }
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
    // destructive cmdlet without an identity), whichever client runs it. Checked here once
    // (a prepared request was checked already): every page and attempt reuses the mark.
    let invocation = match invocation.validated() {
        Ok(v) => v,
        Err(e) => return ObjectStream::from_error(e),
    };
    let pager = Pager::new(invocation.cmdlet());
    let pager = match start.into() {
        Start::First => pager,
        Start::Link(link) => pager.start_at(Some(link)),
        Start::Checkpoint(c) => pager.resume(c),
    };
    let report = Arc::new(Mutex::new(pager.report().clone()));
    let driver = PageDriver::new(invocation, pager, RestartPolicy::LISTING);
    let resume = driver.state.clone();
    let shared = report.clone();
    let pages = stream::try_unfold((driver, shared), move |(mut driver, shared)| async move {
        let page = driver.next_page::<T, S>(source, |_| {}).await;
        *shared.lock().unwrap_or_else(|e| e.into_inner()) =
            driver.with_pager(|p| p.report().clone());
        Ok::<_, Error>(page?.map(|rows| (rows, (driver, shared))))
    });
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
