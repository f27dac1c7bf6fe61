//! # exchange-activesync
//!
//! Typed, async access to the Exchange Online cmdlets behind Exchange ActiveSync (EAS)
//! mobile-device management, over the Exchange Online admin REST API (`InvokeCommand`).
//!
//! The crate is organised in layers:
//!
//! * [`protocol`]: the wire protocol without I/O (request building, parameter encoding,
//!   response and error decoding);
//! * [`auth`]: bearer tokens ([`auth::TokenProvider`]);
//! * [`ExchangeClient`]: the object-safe async trait every client implements, with paging
//!   helpers ([`ObjectStream`], [`Listing`], [`Page`]);
//! * [`Environment`]: per-cloud hosts, scopes and the bearer-token allow-list.
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
pub mod protocol;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
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
