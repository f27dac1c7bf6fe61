//! Typed requests for the 16 cmdlets, one type per cmdlet, implementing [`Cmdlet`].
//!
//! Required parameters go into the constructor, optional ones are chainable setters. Only
//! parameters the Exchange Online module declares for the cmdlet are offered (on-premises-only
//! and internal parameters are not). Values are checked in [`Cmdlet::invocation`] (and in
//! [`PreparedCmdlet::new`]); an out-of-range value gives [`Error::InvalidInput`] naming the
//! parameter and the allowed range, and nothing is sent.

mod device;
mod org;
mod policy;
mod recipient;
mod rule;

use std::marker::PhantomData;

use serde_json::Value;

use crate::client::Cmdlet;
use crate::error::{Error, Result};
use crate::protocol::{Invocation, Parameters, Warning};
use crate::types::{
    AccessRuleIdentity, ByteSize, ExchangeTimeSpan, Filter, MailboxIdentity, MobileDeviceIdentity,
    Patch, PolicyIdentity, RecipientIdentity, Unlimited,
};

pub use device::{
    ClearMobileDevice, GetMobileDevice, GetMobileDeviceStatistics, RemoveMobileDevice, WipeIntent,
};
pub use org::{GetActiveSyncOrganizationSettings, SetActiveSyncOrganizationSettings};
pub use policy::{
    GetMobileDeviceMailboxPolicy, MobileDeviceMailboxPolicySettings, NewMobileDeviceMailboxPolicy,
    RemoveMobileDeviceMailboxPolicy, SetMobileDeviceMailboxPolicy,
};
pub use recipient::GetRecipient;
pub use rule::{
    GetActiveSyncDeviceAccessRule, GetActiveSyncDeviceClass, NewActiveSyncDeviceAccessRule,
    RemoveActiveSyncDeviceAccessRule, SetActiveSyncDeviceAccessRule,
};

/// A value that can be sent as a cmdlet parameter (protocol.md §2.2 encodings).
pub trait ParamValue {
    /// The JSON the module would send for this value.
    fn to_json(&self) -> Value;
}

impl ParamValue for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}
impl ParamValue for i32 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}
impl ParamValue for u32 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}
impl ParamValue for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}
impl ParamValue for Vec<String> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().cloned().map(Value::String).collect())
    }
}
impl ParamValue for Unlimited<u32> {
    /// `"Unlimited"` or the number.
    fn to_json(&self) -> Value {
        match self {
            Unlimited::Unlimited => Value::String("Unlimited".into()),
            Unlimited::Limited(n) => Value::from(*n),
        }
    }
}
macro_rules! display_param {
    ($($t:ty),*) => {$(
        impl ParamValue for $t {
            fn to_json(&self) -> Value {
                Value::String(self.to_string())
            }
        }
    )*};
}
display_param!(
    ByteSize,
    ExchangeTimeSpan,
    Unlimited<ByteSize>,
    Unlimited<ExchangeTimeSpan>,
    Filter,
    MobileDeviceIdentity,
    MailboxIdentity,
    PolicyIdentity,
    AccessRuleIdentity,
    RecipientIdentity
);

/// A change to a multi-valued property: replace the whole list, or add and remove items
/// (sent as a `#Exchange.GenericHashTable` `@{Add=…; Remove=…}`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListChange {
    /// Replace the list.
    Replace(Vec<String>),
    /// Add and remove items, keeping the others.
    AddRemove {
        /// Items to add.
        add: Vec<String>,
        /// Items to remove.
        remove: Vec<String>,
    },
}

impl ListChange {
    /// Replace the list with `items`.
    pub fn replace<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Self {
        ListChange::Replace(items.into_iter().map(Into::into).collect())
    }

    /// Add `add` and remove `remove`.
    pub fn add_remove<A, R>(add: A, remove: R) -> Self
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        ListChange::AddRemove {
            add: add.into_iter().map(Into::into).collect(),
            remove: remove.into_iter().map(Into::into).collect(),
        }
    }

    /// Every item mentioned (to validate them).
    pub fn items(&self) -> impl Iterator<Item = &String> {
        let (a, b): (&[String], &[String]) = match self {
            ListChange::Replace(v) => (v, &[]),
            ListChange::AddRemove { add, remove } => (add, remove),
        };
        a.iter().chain(b.iter())
    }
}

impl From<Vec<String>> for ListChange {
    fn from(v: Vec<String>) -> Self {
        ListChange::Replace(v)
    }
}

impl ParamValue for ListChange {
    fn to_json(&self) -> Value {
        match self {
            ListChange::Replace(v) => v.to_json(),
            ListChange::AddRemove { add, remove } => {
                let mut p = Parameters::new();
                p.add_remove("x", add.iter().cloned(), remove.iter().cloned());
                p.get("x").cloned().unwrap_or(Value::Null)
            }
        }
    }
}

/// Insert an optional parameter.
pub(crate) fn put<T: ParamValue>(p: &mut Parameters, name: &str, v: &Option<T>) {
    if let Some(v) = v {
        p.insert_json(name, v.to_json());
    }
}

/// Insert a tri-state parameter (`Clear` is JSON `null`).
pub(crate) fn put_patch<T: ParamValue>(p: &mut Parameters, name: &str, v: &Patch<T>) {
    match v {
        Patch::Keep => {}
        Patch::Clear => {
            p.null(name);
        }
        Patch::Set(v) => {
            p.insert_json(name, v.to_json());
        }
    }
}

/// Insert a switch when on.
pub(crate) fn put_switch(p: &mut Parameters, name: &str, on: bool) {
    if on {
        p.switch(name, true);
    }
}

/// An invalid-parameter error for cmdlet `C`.
pub(crate) fn invalid<C: Cmdlet>(parameter: &str, message: impl Into<String>) -> Error {
    Error::invalid_parameter(Some(C::NAME.to_string()), parameter, message)
}

/// Check that a free-text parameter is not empty or whitespace.
pub(crate) fn check_non_empty<C: Cmdlet>(parameter: &str, v: &str) -> Result<()> {
    if v.trim().is_empty() {
        return Err(invalid::<C>(parameter, "must not be empty or whitespace"));
    }
    Ok(())
}

/// A cmdlet request validated and encoded once, so that every page and retry of one call
/// share the same `client-request-id`. The typed `*_page` methods of
/// [`ExchangeClient`](crate::ExchangeClient) take one.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedCmdlet<C> {
    invocation: Invocation,
    marker: PhantomData<fn() -> C>,
}

impl<C: Cmdlet> PreparedCmdlet<C> {
    /// Validate and encode `request`.
    pub fn new(request: &C) -> Result<Self> {
        let invocation = request.invocation()?;
        invocation.validate()?;
        Ok(PreparedCmdlet {
            invocation,
            marker: PhantomData,
        })
    }

    /// The encoded invocation.
    pub fn invocation(&self) -> &Invocation {
        &self.invocation
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

/// Shared `$select` support of the Get-* requests.
macro_rules! select_setter {
    () => {
        /// Ask the service for these properties only (`$select`).
        pub fn select<I, S>(mut self, properties: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.select = properties.into_iter().map(Into::into).collect();
            self
        }
    };
}
pub(crate) use select_setter;

/// Apply `$select` to an invocation.
pub(crate) fn with_select(inv: Invocation, select: &[String]) -> Invocation {
    if select.is_empty() {
        inv
    } else {
        inv.select(select.iter().cloned())
    }
}

/// Check a `ResultSize` value.
pub(crate) fn result_size_param<C: Cmdlet>(p: &mut Parameters, size: Option<u32>) -> Result<()> {
    match size {
        Some(0) => Err(invalid::<C>(
            "ResultSize",
            "must be at least 1 (or leave it unset for Unlimited)",
        )),
        Some(n) => {
            p.int("ResultSize", i64::from(n));
            Ok(())
        }
        None => {
            p.string("ResultSize", "Unlimited");
            Ok(())
        }
    }
}
