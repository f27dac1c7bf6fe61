//! Typed, async access to the Exchange Online cmdlets behind Exchange ActiveSync mobile-device
//! management: the admin REST API (`InvokeCommand`) over HTTPS with OAuth, paging, retries and
//! a per-tenant throttle; a permission check that names what is missing and which role grants
//! it; the connector's jobs (connection check, inventory sync, device access, safe wipe, stale
//! cleanup); many tenants at once ([`fleet`]); and three test doubles (a hand mock of the
//! object-safe [`ExchangeClient`] trait, the in-memory `FakeExchangeClient`, and the loopback
//! `Simulator`, in the test kit crate `exchange-activesync-testkit`).
//!
//! The README (set-up, examples, safety guarantees, permissions, performance) is on the
//! crate's repository page; its code blocks are compiled and run as doctests too.
//!
//! ## Crate layout
//!
//! From the bottom up (a module only uses modules listed before it):
//!
//! * [`error`]: the crate's [`Error`] and [`Result`];
//! * [`catalog`]: the table of every cmdlet the crate types (kind, output shape, paging,
//!   probes, grantors, write scope, connector profiles);
//! * [`outcome`]: the one outcome table: what a failed call proves about what the service did
//!   (`NotProcessed`, `Answered`, `Unknown`), read by the retry loop and every report;
//! * [`environment`]: per-cloud hosts, scopes and the bearer-token allow-list ([`Environment`]);
//! * [`protocol`]: the wire protocol without I/O (request building, parameter encoding,
//!   response and error decoding);
//! * [`types`]: value types (identities, sizes, time spans, filters);
//! * [`crypto`]: which cryptography provider backs TLS and assertion signing (features
//!   `aws-lc-rs`, `ring`);
//! * [`auth`]: bearer tokens ([`auth::TokenProvider`], client credentials, certificates,
//!   caching, Azure SDK credentials with feature `azure-identity`);
//! * [`paging`]: the pager whose rules every enumeration follows (never a continuation for a
//!   non-listing; loop and empty-page guards; restarts with de-duplication after an expired
//!   continuation, at most 3), driven by one page driver whose restart policy the caller
//!   picks (the client's typed calls and streams; the inventory sync: at most 5 restarts,
//!   also after a connection lost mid-enumeration); and its results ([`Page`], [`Listing`],
//!   [`ObjectStream`], [`StreamReport`], [`Checkpoint`]);
//! * [`call`]: what a typed call is and returns: the typed-request trait [`Cmdlet`], the
//!   output shapes, [`PreparedCmdlet`], [`Response`], [`Outcome`] (the module was `typed`);
//! * [`models`]: the objects cmdlets return;
//! * [`cmdlets`]: one typed request per cmdlet;
//! * [`throttle`]: the per-tenant throttling authority every call of an HTTP client goes
//!   through ([`throttle::TenantThrottle`]: adaptive admission and the `Retry-After` gate);
//! * [`client`]: the object-safe [`ExchangeClient`] trait (one required method,
//!   `invoke_page`) and the typed API on it, [`ExchangeClientExt`] (`call`, `stream`, `page`,
//!   `invoke_raw` and one named method per cmdlet);
//! * [`http`]: the HTTPS implementation, [`HttpExchangeClient`];
//! * [`permissions`]: the RBAC permission checker;
//! * [`connector`]: the connector's jobs (connection check, inventory sync, device and family
//!   access, remote wipe, stale device cleanup);
//! * [`fleet`]: many tenants at once over one multi-tenant app registration ([`fleet::Fleet`]:
//!   a client per tenant, made lazily, one connection pool and one global budget, each
//!   tenant's failure its own result);
//!
//! The test doubles (the fake tenant, `FakeExchangeClient`, the simulator and the typed
//! `Responder`) are a crate of their own, `exchange-activesync-testkit`, added as a
//! dev-dependency: the library carries no server code.
//!
//! **What is public and why.** The modules above are public because a caller names their
//! types: requests ([`cmdlets`]), results ([`models`], [`types`]), errors and their outcome
//! ([`error`], [`outcome`]), the client and its transport ([`client`], [`http`], [`auth`],
//! [`environment`], [`throttle`]), the jobs ([`connector`], [`fleet`], [`permissions`]).
//! [`protocol`] and [`catalog`] stay public for hand-written clients and test doubles (the
//! test kit builds on them); items marked `doc(hidden)` are for the test kit only.
//!
//! ## Quick start
//!
//! The same code runs against a real tenant ([`http::client_from_env`]) and, as here, against
//! the in-memory fake tenant of the test kit (`exchange-activesync-testkit`):
//!
//! ```
//! use exchange_activesync::prelude::*;
//! use exchange_activesync::cmdlets::GetMobileDevice;
//! use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> exchange_activesync::Result<()> {
//! let client = FakeExchangeClient::new(TenantBuilder::new().seed(1).devices(12).build());
//! // Stream every device (one page of rows in memory at a time)...
//! let mut devices = client.get_mobile_device_stream(GetMobileDevice::new());
//! let mut count = 0;
//! while let Some(device) = devices.try_next().await? {
//!     assert!(device.guid.is_some());
//!     count += 1;
//! }
//! assert_eq!(count, 12);
//! // ...or run a connector job over the same client.
//! let report = exchange_activesync::connector::InventorySync::new(&client)
//!     .run(|_| {})
//!     .await?;
//! assert_eq!(report.devices, 12);
//! # Ok(()) }
//! ```
//!
//! ## Dependencies you do not need to add
//!
//! Everything a caller has to name is reachable through this crate: [`chrono`] (timestamps
//! of the models), [`uuid`] (GUIDs), [`futures`] and, in [`prelude`], the stream traits
//! ([`futures::Stream`], [`StreamExt`](futures::StreamExt),
//! [`TryStreamExt`](futures::TryStreamExt)) that consume [`ObjectStream`] and
//! `InventorySync::stream`, and [`async_trait`](macro@async_trait) to implement
//! [`ExchangeClient`]. What you add yourself is an async runtime (`tokio`, with the `macros`
//! and `rt-multi-thread` or `rt` features for `#[tokio::main]`), and `serde_json` only if you
//! serialize the models yourself.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod call;
pub mod catalog;
pub mod client;
pub mod cmdlets;
pub mod connector;
pub mod crypto;
pub mod environment;
pub mod error;
pub mod fleet;
pub mod http;
pub mod models;
pub mod outcome;
pub mod paging;
pub mod permissions;
pub mod protocol;
pub mod throttle;
pub mod types;

/// The former name of [`call`], kept so that 0.1 paths (`typed::Cmdlet`, …) still resolve.
#[doc(hidden)]
pub use call as typed;

pub use async_trait::async_trait;
/// Date and time types of the models (`DateTime<Utc>`), re-exported.
pub use chrono;
/// Streams and their combinators, re-exported (the traits are also in [`prelude`]).
pub use futures;
/// URLs (`FleetBuilder::endpoint`, `Environment`), re-exported.
pub use url;
/// GUIDs of the models and identities, re-exported.
pub use uuid;

/// What most callers need in scope: the client traits and the stream traits that consume
/// [`ObjectStream`] and the stream of `InventorySync::stream`.
///
/// ```
/// use exchange_activesync::prelude::*;
/// use exchange_activesync::uuid::Uuid;
/// use exchange_activesync::chrono::{DateTime, Utc};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut numbers = exchange_activesync::futures::stream::iter([1, 2, 3]);
/// assert_eq!(numbers.next().await, Some(1));
/// let never: Option<DateTime<Utc>> = None;
/// assert!(never.is_none() && !Uuid::nil().to_string().is_empty());
/// # }
/// ```
pub mod prelude {
    pub use crate::client::{ExchangeClient, ExchangeClientExt};
    pub use futures::{Stream, StreamExt, TryStreamExt};
}
pub use call::{Cmdlet, NoOutput, Outcome, PreparedCmdlet, Response};
pub use catalog::{CmdletInfo, CmdletKind, ConnectorProfile};
pub use client::{ExchangeClient, ExchangeClientExt, ModuleFile, ModuleFileEntry};
pub use environment::Environment;
pub use error::{ApiError, AuthError, Error, Result};
pub use http::{ClientBuilder, HttpExchangeClient, RetryPolicy, TimeoutConfig};
pub use paging::{Checkpoint, Listing, ObjectStream, Page, StreamReport};
pub use permissions::{PermissionChecker, PermissionReport, Profile};

/// The README's code blocks, compiled and run as doctests (not part of the API).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
