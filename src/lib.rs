#![doc = include_str!("../README.md")]
//!
//! ## Crate layout
//!
//! * [`protocol`]: the wire protocol without I/O (request building, parameter encoding,
//!   response and error decoding);
//! * [`auth`]: bearer tokens ([`auth::TokenProvider`], client credentials, caching);
//! * [`ExchangeClient`]: the object-safe async trait every client implements, with typed
//!   methods per cmdlet and paging helpers ([`ObjectStream`], [`Listing`], [`Page`]);
//! * [`HttpExchangeClient`]: the HTTPS implementation;
//! * [`cmdlets`], [`models`], [`types`]: typed requests, responses and value types;
//! * [`Environment`]: per-cloud hosts, scopes and the bearer-token allow-list;
//! * [`throttle`]: the per-tenant throttling authority every client call goes through
//!   ([`throttle::TenantThrottle`]);
//! * `testing` (feature `test-util`): the fake tenant, `FakeExchangeClient` and the simulator.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod client;
pub mod cmdlets;
pub mod connector;
pub mod environment;
pub mod error;
pub mod http;
pub mod models;
pub mod permissions;
pub mod protocol;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
pub mod throttle;
pub mod types;

pub use async_trait::async_trait;
pub use client::{
    Cmdlet, ExchangeClient, ExchangeClientExt, Listing, ModuleFile, ModuleFileEntry, NoOutput,
    ObjectStream, Page, StreamReport,
};
pub use cmdlets::{Outcome, PreparedCmdlet, Response};
pub use environment::Environment;
pub use error::{ApiError, AuthError, Error, Result};
pub use http::{ClientBuilder, HttpExchangeClient, RetryPolicy, TimeoutConfig};
pub use permissions::{PermissionChecker, PermissionReport, Profile};
