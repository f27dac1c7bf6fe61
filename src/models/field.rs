//! Tolerant field decoders used by the generated model deserializers.
//!
//! Each field type knows how to read what the service sends (`null` is always "not set"):
//!
//! * `bool`: JSON booleans, or the strings `"True"`/`"False"` (any case);
//! * integers: JSON numbers, or numeric strings (`"500"`);
//! * `String`: strings; numbers and booleans are kept as their text;
//! * `Vec<String>`: arrays (null items skipped, non-string items as text), or one string;
//! * dates: ISO 8601 strings (`parse_exchange_datetime`); `""` is "not set";
//! * `Uuid`: GUID strings; `""` is "not set";
//! * `DeviceId`: as `String`; a value that is not a device id is "not set";
//! * `Unlimited<_>`, `ByteSize`, `ExchangeTimeSpan` and the open enums: their own serde.
//!
//! A value of an entirely wrong JSON type (an object where a date is expected, a string that
//! is not a number for an integer, …) is a serde error: the page fails to decode with
//! `Error::Decode`, naming the property; it never panics.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::types::{ByteSize, ExchangeTimeSpan, Unlimited};

/// How a model field is read from and written to JSON.
pub trait FieldValue: Sized {
    /// Read a value; `Ok(None)` for `null`.
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error>;
    /// Write the value in the service's encoding.
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
}

/// A [`DeserializeSeed`] that decodes one field with [`FieldValue::decode`].
pub(crate) struct Lenient<T>(PhantomData<fn() -> T>);

impl<T> Lenient<T> {
    pub(crate) fn new() -> Self {
        Lenient(PhantomData)
    }
}

impl<'de, T: FieldValue> DeserializeSeed<'de> for Lenient<T> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        T::decode(d)
    }
}

/// Serializes a field with [`FieldValue::encode`].
pub(crate) struct Enc<'a, T>(pub(crate) &'a T);

impl<T: FieldValue> Serialize for Enc<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.encode(s)
    }
}

/// An object key, borrowed from the input when possible.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Whether a key is a type annotation (`Prop@odata.type`, `@odata.context`) or a malformed
/// annotation such as `LastUsedDate(DateTime])`: any key containing `@`, `(` or `[`.
pub fn is_annotation(key: &str) -> bool {
    key.bytes().any(|b| matches!(b, b'@' | b'(' | b'['))
}

/// Generic "null or something" visitor plumbing.
macro_rules! null_is_none {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    };
}

struct BoolV;
impl<'de> Visitor<'de> for BoolV {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean or \"True\"/\"False\"")
    }
    null_is_none!();
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<bool>, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<bool>, E> {
        let t = v.trim();
        if t.eq_ignore_ascii_case("true") || t == "1" {
            Ok(Some(true))
        } else if t.eq_ignore_ascii_case("false") || t == "0" {
            Ok(Some(false))
        } else if t.is_empty() {
            Ok(None)
        } else {
            Err(E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
}

impl FieldValue for bool {
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        d.deserialize_any(BoolV)
    }
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(*self)
    }
}

struct IntV<T>(PhantomData<T>);
impl<'de, T> Visitor<'de> for IntV<T>
where
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr,
{
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a numeric string")
    }
    null_is_none!();
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<T>, E> {
        T::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<T>, E> {
        T::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<T>, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            self.visit_i64(v as i64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<T>()
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                d.deserialize_any(IntV::<$t>(PhantomData))
            }
            fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.serialize(s)
            }
        }
    )*};
}
int_field!(i32, i64, u32, u64);

struct StringV;
impl<'de> Visitor<'de> for StringV {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    null_is_none!();
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Option<String>, E> {
        Ok(Some(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<String>, E> {
        Ok(Some(if v { "True" } else { "False" }.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
}

impl FieldValue for String {
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        d.deserialize_any(StringV)
    }
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

struct StringItem(Option<String>);
impl<'de> Deserialize<'de> for StringItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringV).map(StringItem)
    }
}

struct ListV;
impl<'de> Visitor<'de> for ListV {
    type Value = Option<Vec<String>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }
    null_is_none!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(StringItem(item)) = seq.next_element()? {
            if let Some(s) = item {
                out.push(s);
            }
        }
        Ok(Some(out))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(vec![v.to_string()]))
    }
}

/// Read like a `String`; a value that is not a device id (empty, whitespace or control
/// characters) reads as not set, so one odd partnership never fails a page.
impl FieldValue for crate::types::DeviceId {
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        Ok(String::decode(d)?.and_then(|s| crate::types::DeviceId::try_from(s).ok()))
    }
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a [`ModelBuilder`](super::ModelBuilder) setter takes for a field of type `T`: any
/// value that converts into `T`, and for a [`DeviceId`](crate::types::DeviceId) field also
/// text, read as the decoder reads it (not a device id: the field stays `None`).
pub trait IntoField<T> {
    /// The field's value.
    fn into_field(self) -> Option<T>;
}

impl<T, U: Into<T>> IntoField<T> for U {
    fn into_field(self) -> Option<T> {
        Some(self.into())
    }
}

impl IntoField<crate::types::DeviceId> for &str {
    fn into_field(self) -> Option<crate::types::DeviceId> {
        crate::types::DeviceId::new(self).ok()
    }
}

impl IntoField<crate::types::DeviceId> for String {
    fn into_field(self) -> Option<crate::types::DeviceId> {
        crate::types::DeviceId::try_from(self).ok()
    }
}

impl FieldValue for crate::types::RecoveryPassword {
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        Ok(String::decode(d)?.map(crate::types::RecoveryPassword::new))
    }
    /// Written as the service's mask: a serialized model never carries the password.
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::types::RecoveryPassword::MASK)
    }
}

impl FieldValue for Vec<String> {
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        d.deserialize_any(ListV)
    }
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize(s)
    }
}

struct DateV;
impl<'de> Visitor<'de> for DateV {
    type Value = Option<DateTime<Utc>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an ISO 8601 date string")
    }
    null_is_none!();
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        crate::types::parse_exchange_datetime(v)
            .map(Some)
            .map_err(E::custom)
    }
}

impl FieldValue for DateTime<Utc> {
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        d.deserialize_any(DateV)
    }
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::types::format_exchange_datetime(self))
    }
}

struct GuidV;
impl<'de> Visitor<'de> for GuidV {
    type Value = Option<Uuid>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GUID string")
    }
    null_is_none!();
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        Uuid::parse_str(v.trim())
            .map(Some)
            .map_err(|e| E::custom(format!("{v:?} is not a GUID: {e}")))
    }
}

impl FieldValue for Uuid {
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        d.deserialize_any(GuidV)
    }
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FieldValue for serde_json::Value {
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => None,
            v => Some(v),
        })
    }
    fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize(s)
    }
}

/// Field types whose own serde is already tolerant.
macro_rules! serde_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                Option::<$t>::deserialize(d)
            }
            fn encode<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.serialize(s)
            }
        }
    )*};
}

serde_field!(
    ByteSize,
    ExchangeTimeSpan,
    Unlimited<u32>,
    Unlimited<ByteSize>,
    Unlimited<ExchangeTimeSpan>
);

macro_rules! enum_fields {
    ($($t:ident),*) => { serde_field!($(super::enums::$t),*); };
}

enum_fields!(
    DeviceAccessState,
    DeviceAccessStateReason,
    DeviceAccessLevel,
    DeviceAccessCharacteristic,
    ClientType,
    DevicePolicyApplicationStatus,
    DeviceRemoteWipeStatus,
    BluetoothType,
    CalendarAgeFilterType,
    EmailAgeFilterType,
    SignedSMIMEAlgorithmType,
    EncryptionSMIMEAlgorithmType,
    SMIMEEncryptionAlgorithmNegotiationType,
    MobileOTAUpdateModeType,
    RecipientType,
    RecipientTypeDetails,
    ObjectState,
    TenantAdminPreference
);
