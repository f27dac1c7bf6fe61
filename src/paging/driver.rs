//! The stream driver: fetches pages through any [`PageSource`] and applies the [`Pager`]'s
//! rules to each; [`collect`] drains it into a [`Listing`].

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
