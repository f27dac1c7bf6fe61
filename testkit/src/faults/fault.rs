//! One injected fault: what a scripted step or the seeded chaos does to a request.

use std::time::Duration;

use super::failure::Failure;

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this service failure (429, 503, 404, …).
    Fail(Failure),
    /// Drop the connection without a complete response (status line and headers are sent,
    /// the body fails before its first byte). The cmdlet does not run.
    ConnectionReset,
    /// Run the cmdlet, send the status line, the headers and the first half of the body,
    /// then abort the connection: the client cannot tell whether the cmdlet ran (it did).
    ResetMidBody,
    /// Run the cmdlet, then wait this long before answering (a slow service: the work is
    /// done, the answer is late).
    Delay(Duration),
    /// Answer a continuation with its page but with the very `@odata.nextLink` it was sent
    /// to, so the enumeration never advances (a first-page request is answered normally).
    StaleNextLink,
    /// Run the cmdlet (its changes are applied to the tenant), then answer with this failure
    /// instead of its result: a 502 or an HTML 200 after a wipe was queued, say. The client
    /// cannot tell whether the cmdlet ran (it did).
    AfterRun(Failure),
    /// Run a write (or destructive) cmdlet, then answer with an `@odata.nextLink` as if more
    /// results followed; a client that follows it sends the same write again. Only
    /// matches writes: reads pass this step by.
    NextLinkOnWrite,
    /// Answer a continuation with the *first* page's rows again under a fresh
    /// `@odata.nextLink` (a first-page request is answered normally): with
    /// [`FaultTimes::Always`](crate::FaultTimes::Always) the listing never ends unless the
    /// client notices that no page adds a new row.
    RepeatRows,
}
