#![doc = include_str!("../README.md")]
//!
//! ## Crate layout
//!
//! From the bottom up (a module only uses modules listed before it):
//!
//! * [`error`]: the crate's [`Error`] and [`Result`];
//! * [`catalog`]: the table of every cmdlet the crate types (kind, output shape, paging,
//!   probes, grantors, write scope, connector profiles);
//! * [`protocol`]: the wire protocol without I/O (request building, parameter encoding,
//!   response and error decoding);
//! * [`environment`]: per-cloud hosts, scopes and the bearer-token allow-list ([`Environment`]);
//! * [`types`]: value types (identities, sizes, time spans, filters);
//! * [`crypto`]: which cryptography provider backs TLS and assertion signing (features
//!   `aws-lc-rs`, `ring`);
//! * [`auth`]: bearer tokens ([`auth::TokenProvider`], client credentials, certificates,
//!   caching, Azure SDK credentials with feature `azure-identity`);
//! * [`paging`]: the one paging loop (never a continuation for a non-listing; restarts with
//!   de-duplication after an expired continuation) and its results ([`Page`], [`Listing`], [`ObjectStream`],
//!   [`StreamReport`]);
//! * [`typed`]: the typed-request trait [`Cmdlet`], output shapes, [`Response`], [`Outcome`];
//! * [`models`]: the objects cmdlets return;
//! * [`cmdlets`]: one typed request per cmdlet;
//! * [`client`]: the object-safe [`ExchangeClient`] trait (one required method,
//!   `invoke_page`) and the typed API on it, [`ExchangeClientExt`] (`call`, `stream`, `page`,
//!   `invoke_raw` and one named method per cmdlet);
//! * [`throttle`]: the per-tenant throttling authority every call of an HTTP client goes
//!   through ([`throttle::TenantThrottle`]: adaptive admission and the `Retry-After` gate);
//! * [`http`]: the HTTPS implementation, [`HttpExchangeClient`];
//! * [`permissions`]: the RBAC permission checker;
//! * [`connector`]: the connector's jobs (connection check, inventory sync, device and family
//!   access, remote wipe, stale device cleanup);
//! * [`fleet`]: many tenants at once over one multi-tenant app registration ([`fleet::Fleet`]:
//!   a client per tenant, made lazily, one connection pool and one global budget, each
//!   tenant's failure its own result);
//! * `testing` (feature `test-util`): the fake tenant, `FakeExchangeClient`, the simulator and
//!   the typed `Responder` for mocks.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
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
pub mod paging;
pub mod permissions;
pub mod protocol;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
pub mod throttle;
pub mod typed;
pub mod types;

pub use async_trait::async_trait;
pub use catalog::{CmdletInfo, CmdletKind, ConnectorProfile};
pub use client::{ExchangeClient, ExchangeClientExt, ModuleFile, ModuleFileEntry};
pub use environment::Environment;
pub use error::{ApiError, AuthError, Error, Result};
pub use http::{ClientBuilder, HttpExchangeClient, RetryPolicy, TimeoutConfig};
pub use paging::{Listing, ObjectStream, Page, StreamReport};
pub use permissions::{PermissionChecker, PermissionReport, Profile};
pub use typed::{Cmdlet, NoOutput, Outcome, PreparedCmdlet, Response};
