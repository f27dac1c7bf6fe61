//! Cmdlet parameter encoding (docs/protocol.md §2.2).
//!
//! [`Parameters`] is the ordered JSON object sent as `CmdletInput.Parameters`. Its typed
//! inserters encode values exactly as the server-generated module's `Transform-Parameters` does:
//! switches and booleans as JSON booleans, numbers as numbers, enums and strings as strings,
//! `Unlimited` values, sizes and time spans as strings, dates converted to UTC and written as
//! `yyyy-MM-ddTHH:mm:ss` without a zone, byte arrays and add/remove hashtables tagged with
//! their `@odata.type`, and `$true`/`$false` inside filters replaced with `'True'`/`'False'`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The `@odata.type` tag of a PowerShell hashtable parameter.
pub const GENERIC_HASHTABLE_TYPE: &str = "#Exchange.GenericHashTable";
/// The `@odata.type` tag of an array of hashtables (set on a sibling `<Param>@odata.type` key).
pub const GENERIC_HASHTABLE_COLLECTION_TYPE: &str = "#Collection(Exchange.GenericHashTable)";
/// The `@odata.type` tag of a byte-array parameter.
pub const BYTE_ARRAY_TYPE: &str = "#Exchange.ByteArrayType";
/// The `@odata.type` tag of an array of byte arrays.
pub const BYTE_ARRAY_COLLECTION_TYPE: &str = "#Collection(Exchange.ByteArrayType)";

/// Parameter names whose text is an OPATH filter, in which the module replaces `$true`/`$false`.
const FILTER_PARAMETERS: &[&str] = &["Filter", "RecipientFilter", "RecipientPreviewFilter"];

/// A value that can be sent as a cmdlet parameter (docs/protocol.md §2.2 encodings).
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
impl ParamValue for DateTime<Utc> {
    /// As the module sends dates: [`encode_datetime`].
    fn to_json(&self) -> Value {
        Value::String(encode_datetime(*self))
    }
}
impl ParamValue for Vec<String> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().cloned().map(Value::String).collect())
    }
}
/// The parameters of one cmdlet invocation, in insertion order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parameters(Map<String, Value>);

impl Parameters {
    /// No parameters (sent as `{}`, never `null`).
    pub fn new() -> Self {
        Parameters(Map::new())
    }

    /// Insert a raw JSON value. Prefer the typed inserters, which apply the module's encodings.
    ///
    /// Names are matched case-insensitively by the service; an existing parameter with the same
    /// name (in any casing) is replaced.
    pub fn insert_json(&mut self, name: impl Into<String>, value: Value) -> &mut Self {
        let name = name.into();
        if let Some(existing) = self
            .0
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&name) && **k != name)
            .cloned()
        {
            self.0.remove(&existing);
        }
        let value = if FILTER_PARAMETERS
            .iter()
            .any(|f| f.eq_ignore_ascii_case(&name))
        {
            match value {
                Value::String(s) => Value::String(encode_filter_literals(&s)),
                other => other,
            }
        } else {
            value
        };
        self.0.insert(name, value);
        self
    }

    /// A `[switch]` parameter: JSON `true`/`false`.
    pub fn switch(&mut self, name: impl Into<String>, on: bool) -> &mut Self {
        self.insert_json(name, Value::Bool(on))
    }

    /// A `[bool]` parameter.
    pub fn bool(&mut self, name: impl Into<String>, value: bool) -> &mut Self {
        self.insert_json(name, Value::Bool(value))
    }

    /// An integer parameter.
    pub fn int(&mut self, name: impl Into<String>, value: i64) -> &mut Self {
        self.insert_json(name, Value::from(value))
    }

    /// A string or enum parameter (enum names are sent as text).
    pub fn string(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.insert_json(name, Value::String(value.into()))
    }

    /// A multi-valued parameter that replaces the current value: a JSON array of strings.
    pub fn strings<I, S>(&mut self, name: impl Into<String>, values: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let arr = values
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        self.insert_json(name, Value::Array(arr))
    }

    /// An explicit `$null` (clears a property on Set-* cmdlets).
    pub fn null(&mut self, name: impl Into<String>) -> &mut Self {
        self.insert_json(name, Value::Null)
    }

    /// A date: converted to UTC and written as `yyyy-MM-ddTHH:mm:ss` (no zone), as the module does.
    pub fn datetime(&mut self, name: impl Into<String>, value: DateTime<Utc>) -> &mut Self {
        self.insert_json(name, Value::String(encode_datetime(value)))
    }

    /// A byte array: `{"@odata.type":"#Exchange.ByteArrayType","Data":"<base64>"}`.
    pub fn bytes(&mut self, name: impl Into<String>, data: &[u8]) -> &mut Self {
        self.insert_json(name, encode_bytes(data, true))
    }

    /// An array of byte arrays, with the sibling `<Param>@odata.type` collection tag.
    pub fn bytes_array(&mut self, name: impl Into<String>, items: &[&[u8]]) -> &mut Self {
        let name = name.into();
        let arr = items.iter().map(|d| encode_bytes(d, false)).collect();
        self.insert_json(name.clone(), Value::Array(arr));
        self.0.insert(
            format!("{name}@odata.type"),
            Value::String(BYTE_ARRAY_COLLECTION_TYPE.into()),
        );
        self
    }

    /// A hashtable parameter: the object is tagged `#Exchange.GenericHashTable`, recursively.
    pub fn hashtable(&mut self, name: impl Into<String>, table: Map<String, Value>) -> &mut Self {
        self.insert_json(name, tag_hashtable(Value::Object(table)))
    }

    /// An array of hashtables, with the sibling `<Param>@odata.type` collection tag.
    pub fn hashtable_array(
        &mut self,
        name: impl Into<String>,
        tables: Vec<Map<String, Value>>,
    ) -> &mut Self {
        let name = name.into();
        let arr = tables
            .into_iter()
            .map(|t| tag_hashtable(Value::Object(t)))
            .collect();
        self.insert_json(name.clone(), Value::Array(arr));
        self.0.insert(
            format!("{name}@odata.type"),
            Value::String(GENERIC_HASHTABLE_COLLECTION_TYPE.into()),
        );
        self
    }

    /// A multi-valued add/remove change: `@{Add=…; Remove=…}` as a tagged hashtable. Empty
    /// sides are left out.
    pub fn add_remove<A, R>(&mut self, name: impl Into<String>, add: A, remove: R) -> &mut Self
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        let mut table = Map::new();
        let add: Vec<Value> = add.into_iter().map(|s| Value::String(s.into())).collect();
        let remove: Vec<Value> = remove
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        if !add.is_empty() {
            table.insert("Add".into(), Value::Array(add));
        }
        if !remove.is_empty() {
            table.insert("Remove".into(), Value::Array(remove));
        }
        self.hashtable(name, table)
    }

    /// Look up a parameter, case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// Whether a parameter is present, case-insensitively.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Remove a parameter (case-insensitively) and return its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let key = self
            .0
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()?;
        self.0.remove(&key)
    }

    /// Parameter names, in order (annotation keys containing `@` included).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The underlying JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Consume into the underlying JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

impl From<Map<String, Value>> for Parameters {
    fn from(map: Map<String, Value>) -> Self {
        let mut p = Parameters::new();
        for (k, v) in map {
            p.insert_json(k, v);
        }
        p
    }
}

impl serde::Serialize for Parameters {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Parameters {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Parameters(Map::deserialize(d)?))
    }
}

/// Date encoding of the module: UTC, `yyyy-MM-ddTHH:mm:ss`, no zone designator.
pub fn encode_datetime(value: DateTime<Utc>) -> String {
    value.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Replace the PowerShell literals `$true`/`$false` in a filter with `'True'`/`'False'`
/// (case-insensitively), as the module does before sending a filter.
pub fn encode_filter_literals(filter: &str) -> String {
    // Only literals outside quoted values are replaced: a value such as `'x$true'` is data and
    // must reach the service unchanged (a user value must never change the filter's
    // structure). OPATH quotes values with `'…'` (an embedded `'` doubled) or `"…"`; an
    // unterminated quote protects the rest of the text.
    let mut out = String::with_capacity(filter.len());
    let bytes = filter.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => {
                if bytes.get(i + 1) == Some(&q) {
                    i += 2; // doubled quote inside a value
                    continue;
                }
                quote = None;
            }
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'$' => {
                let tail = &bytes[i..];
                // Compare bytes, not `&str` slices: byte 5 or 6 may fall inside a multi-byte
                // character (`$fals€`), and a match only ends on a boundary anyway.
                let literal = |lit: &str| {
                    tail.get(..lit.len())
                        .is_some_and(|t| t.eq_ignore_ascii_case(lit.as_bytes()))
                        && filter[i + lit.len()..]
                            .chars()
                            .next()
                            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
                };
                let replacement = if literal("$true") {
                    Some(("'True'", 5))
                } else if literal("$false") {
                    Some(("'False'", 6))
                } else {
                    None
                };
                if let Some((text, len)) = replacement {
                    out.push_str(&filter[copied..i]);
                    out.push_str(text);
                    i += len;
                    copied = i;
                    continue;
                }
            }
            None => {}
        }
        i += 1;
    }
    out.push_str(&filter[copied..]);
    out
}

fn encode_bytes(data: &[u8], tagged: bool) -> Value {
    use base64::Engine as _;
    let mut m = Map::new();
    if tagged {
        m.insert("@odata.type".into(), Value::String(BYTE_ARRAY_TYPE.into()));
    }
    m.insert(
        "Data".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(data)),
    );
    Value::Object(m)
}

fn tag_hashtable(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            out.insert(
                "@odata.type".into(),
                Value::String(GENERIC_HASHTABLE_TYPE.into()),
            );
            for (k, v) in map {
                if k == "@odata.type" {
                    continue;
                }
                let v = match v {
                    Value::Object(_) => tag_hashtable(v),
                    other => other,
                };
                out.insert(k, v);
            }
            Value::Object(out)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn encodes_each_kind() {
        let mut p = Parameters::new();
        p.switch("ActiveSync", true)
            .bool("PasswordEnabled", false)
            .int("MinPasswordLength", 6)
            .string("DefaultAccessLevel", "Quarantine")
            .strings("AdminMailRecipients", ["a@x.com"])
            .string("MaxAttachmentSize", "Unlimited")
            .string("MaxInactivityTimeLock", "00:15:00")
            .datetime(
                "StartDate",
                chrono::FixedOffset::east_opt(2 * 3600)
                    .unwrap()
                    .with_ymd_and_hms(2024, 3, 1, 10, 0, 0)
                    .unwrap()
                    .with_timezone(&Utc),
            )
            .add_remove("ActiveSyncAllowedDeviceIDs", ["ABC"], Vec::<String>::new())
            .bytes("Photo", b"hi");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            json!({
                "ActiveSync": true,
                "PasswordEnabled": false,
                "MinPasswordLength": 6,
                "DefaultAccessLevel": "Quarantine",
                "AdminMailRecipients": ["a@x.com"],
                "MaxAttachmentSize": "Unlimited",
                "MaxInactivityTimeLock": "00:15:00",
                "StartDate": "2024-03-01T08:00:00",
                "ActiveSyncAllowedDeviceIDs": {"@odata.type": "#Exchange.GenericHashTable", "Add": ["ABC"]},
                "Photo": {"@odata.type": "#Exchange.ByteArrayType", "Data": "aGk="}
            })
        );
    }

    #[test]
    fn nested_hashtables_and_arrays_are_tagged() {
        let mut p = Parameters::new();
        let mut inner = Map::new();
        inner.insert("X".into(), json!(1));
        let mut outer = Map::new();
        outer.insert("Inner".into(), Value::Object(inner));
        p.hashtable_array("Rules", vec![outer]);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({
                "Rules": [{"@odata.type": "#Exchange.GenericHashTable",
                           "Inner": {"@odata.type": "#Exchange.GenericHashTable", "X": 1}}],
                "Rules@odata.type": "#Collection(Exchange.GenericHashTable)"
            })
        );
    }

    #[test]
    fn filter_literals_replaced() {
        assert_eq!(
            encode_filter_literals("HasActiveSyncDevicePartnership -eq $true -and X -ne $FALSE"),
            "HasActiveSyncDevicePartnership -eq 'True' -and X -ne 'False'"
        );
        assert_eq!(
            encode_filter_literals("A -eq '$trueish'"),
            "A -eq '$trueish'"
        );
        let mut p = Parameters::new();
        p.string("Filter", "IsX -eq $true");
        assert_eq!(p.get("filter"), Some(&json!("IsX -eq 'True'")));
    }

    #[test]
    fn names_are_case_insensitive() {
        let mut p = Parameters::new();
        p.string("identity", "a").string("Identity", "b");
        assert_eq!(p.len(), 1);
        assert_eq!(p.get("IDENTITY"), Some(&json!("b")));
        assert_eq!(p.remove("Identity"), Some(json!("b")));
        assert!(p.is_empty());
    }
}
