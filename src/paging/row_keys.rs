//! Typed rows and their de-duplication keys from one decoding pass over a page.
//!
//! The page's `value` array is decoded once: each row goes to `T`'s own `Deserialize`
//! through a thin wrapper that notes the text of the row's key property (`Guid` or
//! `Identity`) as `T` reads it, whether `T` keeps that property or skips it.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    Visitor,
};

use crate::catalog::RowKey;
use crate::error::{Error, Result, body_snippet};
use crate::protocol::RawPage;

/// A 128-bit hash of `text` (two independent 64-bit SipHash values).
pub(super) fn hash128(text: &[u8]) -> u128 {
    let mut a = std::hash::DefaultHasher::new();
    0xA5u8.hash(&mut a);
    text.hash(&mut a);
    let mut b = std::hash::DefaultHasher::new();
    0x5Au8.hash(&mut b);
    text.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// The 128-bit key of a row key's text: the GUID itself when it is one, else a 128-bit hash
/// of its lower-case text.
pub(crate) fn row_key128(text: &str) -> u128 {
    match uuid::Uuid::try_parse(text.trim()) {
        Ok(g) => g.as_u128(),
        Err(_) => hash128(text.to_ascii_lowercase().as_bytes()),
    }
}

/// The rows of `raw` as `T`, with each row's 128-bit key ([`row_key128`] of its `key`
/// property; `None` for a row without one: absent, `null`, empty, an object or an array).
/// `expected` rows are allocated at once (the pages before this one tell how many to
/// expect): a page's vector of rows grown by doubling leaves a freed buffer of every size
/// behind it.
pub(super) fn decode_rows<T: DeserializeOwned>(
    raw: &RawPage,
    key: RowKey,
    expected: usize,
) -> Result<(Vec<T>, Vec<Option<u128>>)> {
    let Some(value) = &raw.value else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut de = serde_json::Deserializer::from_str(value.get());
    let rows = Rows::<T> {
        key: key.property(),
        expected,
        marker: std::marker::PhantomData,
    };
    de.deserialize_seq(rows)
        .and_then(|rows| de.end().map(|()| rows))
        .map_err(|e| Error::Decode {
            cmdlet: raw.cmdlet.clone(),
            message: format!("rows do not match the expected shape: {e}"),
            body_snippet: body_snippet(value.get().as_bytes()),
        })
}

/// The page's array: each element through [`Row`].
struct Rows<T> {
    key: &'static str,
    expected: usize,
    marker: std::marker::PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Rows<T> {
    type Value = (Vec<T>, Vec<Option<u128>>);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let n = seq.size_hint().unwrap_or(0).max(self.expected);
        let (mut rows, mut keys) = (Vec::with_capacity(n), Vec::with_capacity(n));
        loop {
            let mut slot = None;
            let row = Row::<T> {
                key: self.key,
                slot: &mut slot,
                marker: std::marker::PhantomData,
            };
            match seq.next_element_seed(row)? {
                Some(row) => {
                    rows.push(row);
                    keys.push(slot);
                }
                None => return Ok((rows, keys)),
            }
        }
    }
}

/// One row: `T`, read through a [`Tap`] that notes the key.
struct Row<'a, T> {
    key: &'static str,
    slot: &'a mut Option<u128>,
    marker: std::marker::PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Row<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<T, D::Error> {
        T::deserialize(Tap {
            inner: d,
            hook: Hook::Row {
                key: self.key,
                slot: self.slot,
            },
        })
    }
}

/// What a [`Tap`] notes.
enum Hook<'a> {
    /// A row: its map's keys and the key property's value.
    Row {
        key: &'static str,
        slot: &'a mut Option<u128>,
    },
    /// A map key: whether it is the key property.
    Name {
        key: &'static str,
        matched: &'a mut bool,
    },
    /// The key property's value.
    Value { slot: &'a mut Option<u128> },
}

/// A deserializer that hands every request on to `inner` unchanged, with a visitor that
/// notes what [`Hook`] asks for. Values `T` ignores are visited all the same (so their
/// text is seen).
struct Tap<'a, D> {
    inner: D,
    hook: Hook<'a>,
}

/// The visitor of a [`Tap`]: forwards every event to `inner`.
struct TapVisitor<'a, V> {
    inner: V,
    hook: Hook<'a>,
}

/// Note a scalar's text: the key property's value, or whether a map key names it. The text
/// is made only when the hook wants it (a row's map keys are borrowed, never copied).
fn note<'t>(hook: &mut Hook<'_>, text: impl FnOnce() -> Cow<'t, str>) {
    match hook {
        Hook::Name { key, matched } => **matched = text() == *key,
        Hook::Value { slot } => {
            let text = text();
            **slot = (!text.is_empty()).then(|| row_key128(&text));
        }
        Hook::Row { .. } => {}
    }
}

macro_rules! forward_deserialize {
    ($($method:ident ( $($arg:ident : $ty:ty),* );)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> std::result::Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* TapVisitor { inner: visitor, hook: self.hook })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tap<'_, D> {
    type Error = D::Error;
    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }
    /// A skipped value is still visited, so that its text can be noted.
    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> std::result::Result<V::Value, D::Error> {
        self.deserialize_any(visitor)
    }
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident ( $ty:ty );)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> std::result::Result<V::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

/// Forward a scalar whose text is noted first.
macro_rules! forward_noted {
    ($($method:ident ( $ty:ty ) => |$v:ident| $text:expr;)*) => {$(
        fn $method<E: de::Error>(mut self, v: $ty) -> std::result::Result<V::Value, E> {
            note(&mut self.hook, || {
                let $v = &v;
                $text
            });
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TapVisitor<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }
    forward_noted! {
        visit_bool(bool) => |v| Cow::Owned(v.to_string());
        visit_i64(i64) => |v| Cow::Owned(v.to_string());
        visit_u64(u64) => |v| Cow::Owned(v.to_string());
        visit_f64(f64) => |v| {
            Cow::Owned(serde_json::Number::from_f64(*v).map_or_else(String::new, |n| n.to_string()))
        };
        visit_str(&str) => |v| Cow::Borrowed(*v);
        visit_borrowed_str(&'de str) => |v| Cow::Borrowed(*v);
        visit_string(String) => |v| Cow::Borrowed(v.as_str());
    }
    forward_visit! {
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u128(u128);
        visit_f32(f32);
        visit_char(char);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<V::Value, E> {
        self.inner.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<V::Value, E> {
        self.inner.visit_unit()
    }
    fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> std::result::Result<V::Value, D2::Error> {
        self.inner.visit_some(d)
    }
    fn visit_newtype_struct<D2: Deserializer<'de>>(
        self,
        d: D2,
    ) -> std::result::Result<V::Value, D2::Error> {
        self.inner.visit_newtype_struct(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<V::Value, A::Error> {
        self.inner.visit_seq(seq)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> std::result::Result<V::Value, A::Error> {
        self.inner.visit_enum(data)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<V::Value, A::Error> {
        match self.hook {
            Hook::Row { key, slot } => self.inner.visit_map(TapMap {
                inner: map,
                key,
                slot,
                matched: false,
            }),
            _ => self.inner.visit_map(map),
        }
    }
}

/// A row's map: notes which key is the key property and that property's value.
struct TapMap<'a, A> {
    inner: A,
    key: &'static str,
    slot: &'a mut Option<u128>,
    matched: bool,
}

/// A seed read through a [`Tap`] with a hook.
struct TapSeed<'a, S> {
    inner: S,
    hook: Hook<'a>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for TapSeed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<S::Value, D::Error> {
        self.inner.deserialize(Tap {
            inner: d,
            hook: self.hook,
        })
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TapMap<'_, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> std::result::Result<Option<K::Value>, A::Error> {
        self.matched = false;
        self.inner.next_key_seed(TapSeed {
            inner: seed,
            hook: Hook::Name {
                key: self.key,
                matched: &mut self.matched,
            },
        })
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> std::result::Result<S::Value, A::Error> {
        if !std::mem::take(&mut self.matched) {
            return self.inner.next_value_seed(seed);
        }
        // The key property: its value replaces any earlier one (`null` or not a scalar: none).
        *self.slot = None;
        self.inner.next_value_seed(TapSeed {
            inner: seed,
            hook: Hook::Value {
                slot: &mut *self.slot,
            },
        })
    }
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The keys as the pager read them before, in a second pass over the page.
    fn keys_by_second_pass(rows: &[Value], key: RowKey) -> Vec<Option<u128>> {
        rows.iter()
            .map(|r| match r.get(key.property())? {
                Value::Null => None,
                Value::String(s) if s.is_empty() => None,
                Value::String(s) => Some(row_key128(s)),
                v @ (Value::Number(_) | Value::Bool(_)) => Some(row_key128(&v.to_string())),
                _ => None,
            })
            .collect()
    }

    fn rows() -> Vec<Value> {
        vec![
            json!({"Guid": "7B2D3D1C-1111-2222-3333-444455556666", "Identity": "A\\B", "N": 1}),
            json!({"Identity": "alice\\ExchangeActiveSyncDevices\\iPhone§X", "Guid": null}),
            json!({"Guid": "", "Identity": ""}),
            json!({"Guid": 42, "Identity": true, "Nested": {"Guid": "inner"}}),
            json!({"Guid": 1.5, "Identity": {"Guid": "x"}}),
            json!({"Other": [1, 2, {"Guid": "deep"}]}),
            json!({"Guid": "first", "Guid2": "no", "Identity": ["a"]}),
        ]
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct OnlyN {
        #[serde(rename = "N", default)]
        n: Option<u32>,
    }

    #[test]
    fn one_pass_gives_the_rows_and_the_keys_of_the_second_pass() {
        let rows = rows();
        let page = RawPage::from_values("Get-MobileDevice", rows.clone());
        for key in [RowKey::Guid, RowKey::Identity] {
            let expected = keys_by_second_pass(&rows, key);
            // Whatever the row type keeps of the row: the key property or not, or nothing.
            let (values, keys) = decode_rows::<Value>(&page, key, 0).unwrap();
            assert_eq!((&values, &keys), (&rows, &expected), "{key:?}");
            let (only, keys) = decode_rows::<OnlyN>(&page, key, 0).unwrap();
            assert_eq!(only[0], OnlyN { n: Some(1) });
            assert_eq!(keys, expected, "{key:?}");
            let (ignored, keys) = decode_rows::<serde::de::IgnoredAny>(&page, key, 0).unwrap();
            assert_eq!((ignored.len(), keys), (rows.len(), expected), "{key:?}");
        }
        let (devices, keys) = decode_rows::<crate::models::MobileDevice>(
            &RawPage::from_values("x", rows[..3].to_vec()),
            RowKey::Guid,
            1_000,
        )
        .unwrap();
        assert_eq!(devices.len(), 3);
        assert_eq!(keys, keys_by_second_pass(&rows[..3], RowKey::Guid));
        assert_eq!(
            keys[0],
            Some(
                uuid::Uuid::parse_str("7B2D3D1C-1111-2222-3333-444455556666")
                    .unwrap()
                    .as_u128()
            )
        );
    }

    #[test]
    fn rows_that_are_not_objects_have_no_key_and_bad_rows_fail_as_before() {
        let page = RawPage::from_values("Get-Thing", vec![json!("text"), json!(3), json!(null)]);
        let (values, keys) = decode_rows::<Value>(&page, RowKey::Guid, 0).unwrap();
        assert_eq!(values.len(), 3);
        assert_eq!(keys, [None, None, None]);
        let err = decode_rows::<OnlyN>(&page, RowKey::Guid, 0).unwrap_err();
        assert!(err.to_string().contains("rows do not match"), "{err}");
        let empty = RawPage::empty("Get-Thing");
        assert_eq!(
            decode_rows::<Value>(&empty, RowKey::Guid, 0)
                .unwrap()
                .0
                .len(),
            0
        );
    }
}

/// `cargo test --release --lib row_keys_timing -- --ignored --nocapture`: one pass (rows and
/// keys) against the former two (rows, then a second parse for the keys), 1,000 devices.
#[cfg(test)]
mod timing {
    use super::*;
    use crate::models::MobileDevice;
    use serde_json::{Value, json};
    use std::time::{Duration, Instant};

    fn page() -> RawPage {
        let rows: Vec<Value> = (0..1000u32)
            .map(|i| {
                json!({
                    "FriendlyName": null, "DeviceId": format!("androidc{i:010}"),
                    "DeviceImei": null, "DeviceMobileOperator": "Contoso Mobile",
                    "DeviceOS": "Android 14.0.0", "DeviceOSLanguage": "en-US",
                    "DeviceTelephoneNumber": null, "DeviceType": "Android",
                    "DeviceUserAgent": "Android-Mail/2024.01.01", "DeviceModel": "SM-G991B",
                    "FirstSyncTime": "2024-05-01T08:00:00.1234567Z",
                    "UserDisplayName": format!("user{i}"),
                    "DeviceAccessState": "Allowed", "DeviceAccessStateReason": "Global",
                    "DeviceAccessControlRule": null, "ClientVersion": "16.1",
                    "ClientType": "EAS", "IsManaged": false, "IsCompliant": false,
                    "IsDisabled": false, "AdminDisplayName": "",
                    "ExchangeVersion": "0.20 (15.0.0.0)",
                    "Name": format!("Android§androidc{i:010}"),
                    "DistinguishedName": format!("CN=Android§androidc{i:010},CN=ExchangeActiveSyncDevices,CN=user{i},OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=EURPR01A001,DC=prod,DC=outlook,DC=com"),
                    "Identity": format!("user{i}\\ExchangeActiveSyncDevices\\Android§androidc{i:010}"),
                    "Guid": uuid::Uuid::from_u128(u128::from(i) * 7919 + 1).to_string(),
                    "ObjectCategory": "EURPR01A001.prod.outlook.com/Configuration/Schema/ms-Exch-Active-Sync-Device",
                    "ObjectClass": ["top", "msExchActiveSyncDevice"],
                    "WhenChanged": "2024-05-01T08:00:00+00:00", "WhenCreated": "2024-05-01T08:00:00+00:00",
                    "WhenChangedUTC": "2024-05-01T08:00:00Z", "WhenCreatedUTC": "2024-05-01T08:00:00Z",
                    "OrganizationId": "EURPR01A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com - EURPR01A001.prod.outlook.com/ConfigurationUnits/contoso.onmicrosoft.com/Configuration",
                    "IsValid": true, "ObjectState": "Unchanged",
                })
            })
            .collect();
        RawPage::from_values("Get-MobileDevice", rows)
    }

    /// The former key pass: a second parse of the page for `Guid`.
    fn second_pass(raw: &RawPage) -> Vec<Option<u128>> {
        #[derive(serde::Deserialize)]
        struct Keyed {
            #[serde(rename = "Guid", default)]
            guid: Option<Value>,
        }
        let rows: Vec<Keyed> = serde_json::from_str(raw.value.as_ref().unwrap().get()).unwrap();
        rows.into_iter()
            .map(|r| match r.guid? {
                Value::String(s) if !s.is_empty() => Some(row_key128(&s)),
                _ => None,
            })
            .collect()
    }

    #[test]
    #[ignore = "a timing, for release builds"]
    fn row_keys_timing() {
        let raw = page();
        let (mut one, mut two) = (Duration::ZERO, Duration::ZERO);
        for round in 0..43 {
            let t = Instant::now();
            let (rows, keys) = decode_rows::<MobileDevice>(&raw, RowKey::Guid, 0).unwrap();
            let a = t.elapsed();
            let t = Instant::now();
            let rows2: Vec<MobileDevice> = raw.rows().unwrap();
            let keys2 = second_pass(&raw);
            let b = t.elapsed();
            assert_eq!((rows.len(), &keys), (rows2.len(), &keys2));
            if round >= 3 {
                one += a;
                two += b;
            }
        }
        println!(
            "1,000 devices: one pass {:?}, rows then keys {:?} (ratio {:.2})",
            one / 40,
            two / 40,
            one.as_secs_f64() / two.as_secs_f64()
        );
    }
}
