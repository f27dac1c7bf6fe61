//! Typed requests for the cmdlets of the [`crate::catalog`] (one type per connector
//! cmdlet), each implementing [`Cmdlet`].
//!
//! Each request type is one declaration (`request!`, a line per parameter giving its field,
//! setter, getter and wire encoding; see `CONTRIBUTING.md`), and its catalog entry is a row of
//! the [`crate::catalog`] table.
//!
//! Required parameters go into the constructor, optional ones are chainable setters. Only
//! parameters the Exchange Online module declares for the cmdlet are offered (on-premises-only
//! and internal parameters are not). Values are checked in [`Cmdlet::invocation`] (and in
//! [`PreparedCmdlet::new`]); an out-of-range value gives [`Error::InvalidInput`] naming the
//! parameter and the allowed range, and nothing is sent.
//!
//! Every parameter can be read back, e.g. by a mock asserting on the request it was given:
//! `get_<setter>()` returns what the setter (or the constructor) set, borrowed and typed
//! (`GetMobileDevice::get_identity()`, `get_mailbox()`, `get_filter()`,
//! `get_result_size()`, `get_select()`; `SetCasMailbox::get_blocked_device_ids()`;
//! `ClearMobileDevice::get_notify()`). The plain name is the setter, so the getter carries
//! the `get_` prefix; an identity given to the constructor of a Set-, Clear- or Remove-
//! request can also be read with `identity()`.
//!
//! ```
//! use exchange_activesync::cmdlets::GetMobileDevice;
//! use exchange_activesync::types::MailboxIdentity;
//!
//! let request = GetMobileDevice::for_mailbox(MailboxIdentity::new("alice@contoso.com")?)
//!     .result_size(10)
//!     .select(["DeviceId"]);
//! assert_eq!(request.get_mailbox().map(|m| m.as_str()), Some("alice@contoso.com"));
//! assert_eq!(request.get_result_size(), Some(10));
//! assert_eq!(request.get_select(), ["DeviceId"]);
//! assert!(request.get_identity().is_none());
//! # Ok::<(), exchange_activesync::types::ValueError>(())
//! ```

#[macro_use]
mod declare;
mod cas;
mod device;
mod org;
mod policy;
mod recipient;
mod rule;

use serde_json::Value;

use crate::call::Cmdlet;
pub use crate::call::{Outcome, PreparedCmdlet, Response};
use crate::catalog::{self, CmdletInfo};
use crate::error::{Error, Result};
pub use crate::protocol::ParamValue;
use crate::protocol::{Invocation, Parameters};
use crate::types::{
    AccessRuleIdentity, ByteSize, ExchangeTimeSpan, Filter, MailboxIdentity, MobileDeviceIdentity,
    Patch, PolicyIdentity, RecipientIdentity, Unlimited,
};
pub(crate) use declare::Bespoke;

pub use cas::*;
pub use device::*;
pub use org::*;
pub use policy::*;
pub use recipient::*;
pub use rule::*;

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
    Error::invalid_parameter(Some(C::INFO.name.to_string()), parameter, message)
}

/// Check that a free-text parameter is not empty or whitespace.
pub(crate) fn check_non_empty<C: Cmdlet>(parameter: &str, v: &str) -> Result<()> {
    if v.trim().is_empty() {
        return Err(invalid::<C>(parameter, "must not be empty or whitespace"));
    }
    Ok(())
}

/// `SortBy` takes one property name.
pub(crate) fn check_sort_by<C: Cmdlet>(s: &str) -> Result<()> {
    let t = s.trim();
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid::<C>(
            "SortBy",
            "must be one property name (letters and digits)",
        ));
    }
    Ok(())
}

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

/// Every typed request's cmdlet with the parameter names it can send (for the test kit's
/// check against the generated module; not part of the API).
#[doc(hidden)]
pub fn typed_request_parameters() -> Vec<(&'static str, Vec<&'static str>)> {
    macro_rules! typed_rows {
        ($(
            $const:ident = $cmdlet:literal / $export:literal, $($field:expr),*
            $( => $req:ident $method:ident $( / $stream:ident )? )?;
        )*) => {
            vec![$($(
                ($cmdlet, $req::parameter_names()),
            )?)*]
        };
    }
    crate::catalog::cmdlet_table!(typed_rows)
}
