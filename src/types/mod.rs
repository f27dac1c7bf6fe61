//! Value types of the Exchange cmdlets: `Unlimited<T>`, sizes, time spans, dates, identities,
//! OPATH filters and the `Patch<T>` tri-state of Set-* parameters.
//!
//! Every type parses what the service sends (`FromStr` and serde) and
//! prints what the service accepts as input ([`Display`](std::fmt::Display)); the two
//! round-trip. Bad input gives a [`ValueError`] naming the kind of value and the reason.

mod date;
mod device_id;
mod filter;
pub(crate) mod identity;
mod secret;
mod size;
mod timespan;

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

pub use date::{format_exchange_datetime, parse_exchange_datetime};
pub use device_id::DeviceId;
pub use filter::{Filter, FilterValue};
pub use identity::{
    AccessRuleIdentity, MailboxIdentity, MobileDeviceIdentity, PolicyIdentity, RecipientIdentity,
};
pub use secret::RecoveryPassword;
pub use size::ByteSize;
pub use timespan::ExchangeTimeSpan;

/// A value that could not be parsed or constructed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValueError {
    /// What kind of value was expected (e.g. `ByteSize`, `MobileDeviceIdentity`).
    pub kind: &'static str,
    /// The rejected input (truncated to 200 characters).
    pub input: String,
    /// Why it was rejected.
    pub reason: String,
}

impl ValueError {
    /// A new error for `kind`, rejecting `input` because of `reason`.
    pub fn new(kind: &'static str, input: &str, reason: impl Into<String>) -> Self {
        ValueError {
            kind,
            input: input.chars().take(200).collect(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.kind, self.input, self.reason)
    }
}

impl std::error::Error for ValueError {}

impl From<ValueError> for crate::Error {
    fn from(e: ValueError) -> Self {
        crate::Error::invalid_input(e.to_string())
    }
}

/// Tri-state value of a Set-* parameter.
///
/// * [`Patch::Keep`]: the parameter is not sent, the property keeps its value;
/// * [`Patch::Clear`]: the parameter is sent as JSON `null` (PowerShell `$null`);
/// * [`Patch::Set`]: the parameter is sent with the value.
///
/// `T` converts into `Patch<T>`, so setters accept plain values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Patch<T> {
    /// Leave the property unchanged (parameter omitted).
    #[default]
    Keep,
    /// Clear the property (`$null`).
    Clear,
    /// Set the property.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the parameter is omitted.
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// The value being set, if any.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<T> for Patch<T> {
    fn from(v: T) -> Self {
        Patch::Set(v)
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets, `None` clears.
    fn from(v: Option<T>) -> Self {
        match v {
            Some(v) => Patch::Set(v),
            None => Patch::Clear,
        }
    }
}

/// A value that may be `Unlimited` (Exchange `Unlimited<T>`).
///
/// The service sends it as the string `"Unlimited"` or the value (as a string, e.g. `"500"`,
/// `"35 MB (36,700,160 bytes)"`, `"90.00:00:00"`, or sometimes as a JSON number). Parsing is
/// case-insensitive for `Unlimited`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unlimited<T> {
    /// No limit.
    Unlimited,
    /// A limit.
    Limited(T),
}

impl<T> Unlimited<T> {
    /// The limit, or `None` when unlimited.
    pub fn limit(&self) -> Option<&T> {
        match self {
            Unlimited::Unlimited => None,
            Unlimited::Limited(v) => Some(v),
        }
    }

    /// Whether there is no limit.
    pub fn is_unlimited(&self) -> bool {
        matches!(self, Unlimited::Unlimited)
    }
}

impl<T> From<T> for Unlimited<T> {
    fn from(v: T) -> Self {
        Unlimited::Limited(v)
    }
}

impl<T: fmt::Display> fmt::Display for Unlimited<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unlimited::Unlimited => f.write_str("Unlimited"),
            Unlimited::Limited(v) => v.fmt(f),
        }
    }
}

impl<T> FromStr for Unlimited<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("unlimited") {
            return Ok(Unlimited::Unlimited);
        }
        t.parse::<T>()
            .map(Unlimited::Limited)
            .map_err(|e| ValueError::new("Unlimited value", s, e.to_string()))
    }
}

impl<T: fmt::Display> Serialize for Unlimited<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T> Deserialize<'de> for Unlimited<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FromStrVisitor::<Self>::new("\"Unlimited\" or a value"))
    }
}

/// Deserializes a `FromStr` type from a string, or from a JSON number rendered as text.
pub(crate) struct FromStrVisitor<T> {
    expecting: &'static str,
    marker: std::marker::PhantomData<fn() -> T>,
}

impl<T> FromStrVisitor<T> {
    pub(crate) fn new(expecting: &'static str) -> Self {
        FromStrVisitor {
            expecting,
            marker: std::marker::PhantomData,
        }
    }
}

impl<T> Visitor<'_> for FromStrVisitor<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            self.visit_str(&(v as i64).to_string())
        } else {
            self.visit_str(&v.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_parses_strings_and_numbers() {
        let u: Unlimited<u32> = "Unlimited".parse().unwrap();
        assert!(u.is_unlimited());
        let u: Unlimited<u32> = " unlimited ".parse().unwrap();
        assert!(u.is_unlimited());
        assert_eq!(
            "500".parse::<Unlimited<u32>>().unwrap(),
            Unlimited::Limited(500)
        );
        let v: Unlimited<u32> = serde_json::from_str("\"500\"").unwrap();
        assert_eq!(v, Unlimited::Limited(500));
        let v: Unlimited<u32> = serde_json::from_str("10").unwrap();
        assert_eq!(v.limit(), Some(&10));
        let e = "lots".parse::<Unlimited<u32>>().unwrap_err();
        assert!(e.to_string().contains("lots"));
        assert!(serde_json::from_str::<Unlimited<u32>>("true").is_err());
        assert_eq!(Unlimited::<u32>::Unlimited.to_string(), "Unlimited");
        assert_eq!(
            serde_json::to_string(&Unlimited::Limited(7u32)).unwrap(),
            "\"7\""
        );
    }

    #[test]
    fn patch_conversions() {
        assert_eq!(Patch::from(3), Patch::Set(3));
        assert_eq!(Patch::<u8>::from(None), Patch::Clear);
        assert!(Patch::<u8>::default().is_keep());
        assert_eq!(Patch::Set(2).as_set(), Some(&2));
    }
}
