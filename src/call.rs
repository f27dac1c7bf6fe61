//! What a typed call is and returns: the [`Cmdlet`] trait of typed requests, their
//! validated form [`PreparedCmdlet`], the output shapes and the results ([`Response`],
//! [`Outcome`], [`Listing`]).
//!
//! A typed request names its row type ([`Cmdlet::Output`]), its [`catalog`](crate::catalog)
//! entry ([`Cmdlet::INFO`]) and its shape marker ([`Cmdlet::Shape`]), which fixes at compile
//! time what [`ExchangeClientExt::call`](crate::ExchangeClientExt::call) returns:
//!
//! | shape | returns |
//! |---|---|
//! | [`ListingShape`] | [`Listing<T>`](crate::Listing) (and only these can be streamed or paged) |
//! | [`SingleShape`] | [`Response<T>`] |
//! | [`CreatedShape`] | [`Response<Option<T>>`](Response) |
//! | [`NoOutputShape`] | [`Outcome`] |

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::catalog::{CmdletInfo, OutputShape};
use crate::error::{Error, Result};
use crate::paging::Listing;
use crate::protocol::{Invocation, Warning};

/// A typed cmdlet request: its row type, its catalog entry and how to encode itself.
///
/// Request types validate their input in [`Cmdlet::invocation`], so a bad value is refused
/// before anything is sent.
pub trait Cmdlet: Send + Sync {
    /// What one result row decodes into ([`NoOutput`] for cmdlets that return nothing).
    type Output: DeserializeOwned + Send + 'static;
    /// The output shape marker (it must agree with `INFO.shape`).
    type Shape: Shape;
    /// The catalog entry (name, kind, shape, …).
    const INFO: &'static CmdletInfo;
    /// Validate and encode the request.
    fn invocation(&self) -> Result<Invocation>;
}

mod sealed {
    pub trait Sealed {}
}

/// An output shape marker: what a typed call of a cmdlet returns. Sealed.
pub trait Shape: sealed::Sealed + Send + Sync + 'static {
    /// What a call returns, for rows of type `T`.
    type Returns<T: Send + 'static>: Send + 'static;
    /// Whether the marker agrees with a catalog shape.
    fn matches(shape: OutputShape) -> bool;
    /// Turn the collected answer into the return value.
    fn finish<T: Send + 'static>(cmdlet: &str, listing: Listing<T>) -> Result<Self::Returns<T>>;
}

/// Shape of listings: any number of rows across pages; a call returns [`Listing<T>`].
#[derive(Debug)]
pub enum ListingShape {}
/// Shape of single-object cmdlets; a call returns [`Response<T>`] (no row is a decode error).
#[derive(Debug)]
pub enum SingleShape {}
/// Shape of New-* cmdlets; a call returns [`Response<Option<T>>`](Response).
#[derive(Debug)]
pub enum CreatedShape {}
/// Shape of Set-, Remove-, Clear- cmdlets; a call returns [`Outcome`].
#[derive(Debug)]
pub enum NoOutputShape {}

impl sealed::Sealed for ListingShape {}
impl sealed::Sealed for SingleShape {}
impl sealed::Sealed for CreatedShape {}
impl sealed::Sealed for NoOutputShape {}

impl Shape for ListingShape {
    type Returns<T: Send + 'static> = Listing<T>;
    fn matches(shape: OutputShape) -> bool {
        shape.is_listing()
    }
    fn finish<T: Send + 'static>(_: &str, listing: Listing<T>) -> Result<Listing<T>> {
        Ok(listing)
    }
}

impl Shape for SingleShape {
    type Returns<T: Send + 'static> = Response<T>;
    fn matches(shape: OutputShape) -> bool {
        shape == OutputShape::Single
    }
    fn finish<T: Send + 'static>(cmdlet: &str, listing: Listing<T>) -> Result<Response<T>> {
        let Listing {
            items,
            warnings,
            confirmation_message,
            ..
        } = listing;
        match items.into_iter().next() {
            Some(value) => Ok(Response {
                value,
                warnings,
                confirmation_message,
            }),
            None => Err(Error::Decode {
                cmdlet: cmdlet.to_string(),
                message: "the service returned no object".into(),
                body_snippet: String::new(),
            }),
        }
    }
}

impl Shape for CreatedShape {
    type Returns<T: Send + 'static> = Response<Option<T>>;
    fn matches(shape: OutputShape) -> bool {
        shape == OutputShape::Created
    }
    fn finish<T: Send + 'static>(_: &str, listing: Listing<T>) -> Result<Response<Option<T>>> {
        Ok(Response {
            value: listing.items.into_iter().next(),
            warnings: listing.warnings,
            confirmation_message: listing.confirmation_message,
        })
    }
}

impl Shape for NoOutputShape {
    type Returns<T: Send + 'static> = Outcome;
    fn matches(shape: OutputShape) -> bool {
        shape == OutputShape::NoOutput
    }
    fn finish<T: Send + 'static>(_: &str, listing: Listing<T>) -> Result<Outcome> {
        Ok(Outcome {
            warnings: listing.warnings,
            confirmation_message: listing.confirmation_message,
        })
    }
}

/// The output type of cmdlets that return nothing (Set-, Remove-, Clear-). Any row the
/// service sends anyway is accepted and ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoOutput;

impl<'de> serde::Deserialize<'de> for NoOutput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(NoOutput)
    }
}

/// A cmdlet request validated and encoded once, so that every page and retry of one call
/// share the same `client-request-id`.
/// [`ExchangeClientExt::page`](crate::ExchangeClientExt::page) takes one.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedCmdlet<C> {
    invocation: Invocation,
    marker: PhantomData<fn() -> C>,
}

impl<C: Cmdlet> PreparedCmdlet<C> {
    /// Validate and encode `request`.
    pub fn new(request: &C) -> Result<Self> {
        let invocation = request.invocation()?.validated()?;
        Ok(PreparedCmdlet {
            invocation,
            marker: PhantomData,
        })
    }

    /// The encoded invocation.
    pub fn invocation(&self) -> &Invocation {
        &self.invocation
    }

    /// Ask the service for pages of at most `size` rows (`Prefer: odata.maxpagesize`).
    pub fn page_size(mut self, size: u32) -> Self {
        self.invocation = self.invocation.page_size(size);
        self
    }

    /// Consume into the encoded invocation.
    pub fn into_invocation(self) -> Invocation {
        self.invocation
    }
}

/// The result of a single-object cmdlet (Get-ActiveSyncOrganizationSettings, New-*), with the
/// warnings the service returned.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Response<T> {
    /// The object.
    pub value: T,
    /// Warnings returned with it.
    pub warnings: Vec<Warning>,
    /// `@adminapi.confirmationmessage`, if any.
    pub confirmation_message: Option<String>,
}

impl<T> Response<T> {
    /// A response without warnings.
    pub fn new(value: T) -> Self {
        Response {
            value,
            warnings: Vec::new(),
            confirmation_message: None,
        }
    }
}

/// What a Set-, Remove- or Clear- cmdlet returned: nothing but warnings (e.g. "cannot cancel
/// wipe", an invalid notification address) and possibly a confirmation message.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// Warnings returned by the service.
    pub warnings: Vec<Warning>,
    /// `@adminapi.confirmationmessage`, if any.
    pub confirmation_message: Option<String>,
}

impl Outcome {
    /// An outcome with these warnings.
    pub fn with_warnings(warnings: Vec<Warning>) -> Self {
        Outcome {
            warnings,
            confirmation_message: None,
        }
    }
}

/// What [`ExchangeClientExt::call`](crate::ExchangeClientExt::call) returns for `C`.
pub type Returns<C> = <<C as Cmdlet>::Shape as Shape>::Returns<<C as Cmdlet>::Output>;
