//! Decoding `InvokeCommand` answers without doing any I/O (docs/protocol.md §4, §5).

use std::io::Read as _;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::request::NextLink;
use super::text::{clip, trim_body, value_text};
use crate::error::{CmdletErrors, Error, Result, body_snippet};

/// The warning the service adds when an enumeration stopped at `ResultSize` (default 1000).
pub const TRUNCATION_WARNING: &str = "There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.";

/// Largest response body accepted, on the wire and after decompression (a safety bound, not
/// a page limit: a page of 1,000 devices is about 3 MiB of JSON). The compressed body is
/// dropped as soon as it is decompressed, so one call holds at most twice this at its peak.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A warning returned by the service (`@adminapi.warnings`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Warning {
    /// The warning text.
    pub message: String,
    /// Cmdlet that produced it.
    pub cmdlet: Option<String>,
}

impl Warning {
    /// A new warning.
    pub fn new(message: impl Into<String>, cmdlet: Option<String>) -> Self {
        Warning {
            message: message.into(),
            cmdlet,
        }
    }

    /// Whether this is the "more results available" truncation warning.
    pub fn is_truncation(&self) -> bool {
        self.message
            .contains("There are more results available than are currently displayed")
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cmdlet {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One page of results with its rows still as raw JSON text, so they can be decoded straight
/// into typed models without an intermediate `serde_json::Value`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawPage {
    /// The `value` array as raw JSON (`None` when absent, `null` or empty).
    pub value: Option<Box<RawValue>>,
    /// Where the next page is, if there is one.
    pub next_link: Option<NextLink>,
    /// Warnings on this page.
    pub warnings: Vec<Warning>,
    /// `@adminapi.confirmationmessage`, when `Confirm`/`WhatIf` semantics applied.
    pub confirmation_message: Option<String>,
    /// Cmdlet that produced the page.
    pub cmdlet: String,
}

impl RawPage {
    /// An empty page (no rows, no continuation).
    pub fn empty(cmdlet: impl Into<String>) -> Self {
        RawPage {
            value: None,
            next_link: None,
            warnings: Vec::new(),
            confirmation_message: None,
            cmdlet: cmdlet.into(),
        }
    }

    /// A page from JSON values (used by fakes and tests).
    pub fn from_values(cmdlet: impl Into<String>, rows: Vec<Value>) -> Self {
        let mut page = RawPage::empty(cmdlet);
        if !rows.is_empty() {
            let text = serde_json::to_string(&rows).expect("JSON values serialize");
            page.value = Some(RawValue::from_string(text).expect("valid JSON"));
        }
        page
    }

    /// Set the continuation link.
    pub fn with_next_link(mut self, link: Option<NextLink>) -> Self {
        self.next_link = link;
        self
    }

    /// Add a warning.
    pub fn with_warning(mut self, message: impl Into<String>) -> Self {
        let cmdlet = Some(self.cmdlet.clone());
        self.warnings.push(Warning::new(message, cmdlet));
        self
    }

    /// Decode the rows into `T`. Keys containing `@` (annotations) are the models' business:
    /// the crate's models ignore them.
    pub fn rows<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        match &self.value {
            None => Ok(Vec::new()),
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| Error::Decode {
                cmdlet: self.cmdlet.clone(),
                message: format!("rows do not match the expected shape: {e}"),
                body_snippet: body_snippet(raw.get().as_bytes()),
            }),
        }
    }

    /// The rows as JSON objects with annotation keys (anything containing `@`) removed.
    pub fn json_rows(&self) -> Result<Vec<serde_json::Map<String, Value>>> {
        let rows: Vec<Value> = self.rows()?;
        Ok(rows
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(m) => Some(strip_annotations(m)),
                _ => None,
            })
            .collect())
    }

    /// Number of rows, without decoding them into models.
    pub fn len(&self) -> Result<usize> {
        match &self.value {
            None => Ok(0),
            Some(raw) => {
                let items: Vec<IgnoredAny> =
                    serde_json::from_str(raw.get()).map_err(|e| Error::Decode {
                        cmdlet: self.cmdlet.clone(),
                        message: e.to_string(),
                        body_snippet: String::new(),
                    })?;
                Ok(items.len())
            }
        }
    }

    /// Whether the page has no rows.
    pub fn is_empty(&self) -> bool {
        self.len().map(|n| n == 0).unwrap_or(true)
    }
}

/// Remove annotation keys (anything containing `@`) from an object.
pub fn strip_annotations(
    mut map: serde_json::Map<String, Value>,
) -> serde_json::Map<String, Value> {
    map.retain(|k, _| !k.contains('@'));
    map
}

/// Whether the bytes start with the gzip magic number (whatever `Content-Encoding` claims).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Undo a `Content-Encoding: gzip` only if the bytes really are gzip (the service sometimes
/// declares gzip on bodies that are not, e.g. the NUL-byte 403). Sniffs the magic bytes.
pub fn decode_body(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    if is_gzip(bytes) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut out)?;
        if out.len() > MAX_BODY_BYTES {
            return Err(std::io::Error::other("decompressed body too large"));
        }
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// At most `limit` bytes of `bytes`, gunzipped first when they are gzip (a truncated gzip
/// stream gives what could be decompressed). For error bodies, which are read only in part.
pub fn decode_body_prefix(bytes: &[u8], limit: usize) -> Vec<u8> {
    if !is_gzip(bytes) {
        return bytes[..bytes.len().min(limit)].to_vec();
    }
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match decoder.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Decode a 2xx `InvokeCommand` body into a [`RawPage`], or into [`Error::Cmdlet`] when the
/// service reported `@adminapi.errors`.
pub fn decode_page(cmdlet: &str, body: &[u8]) -> Result<RawPage> {
    let (mut page, value, errors) = decode_envelope(cmdlet, body)?;
    page.value = value.map(ToOwned::to_owned);
    with_errors(page, errors)
}

/// [`decode_page`] for a body its caller gives up: the rows' text is moved to the front of
/// the body's own buffer and kept there, so a page holds one buffer of its size, not the
/// body and a copy of its rows. (The buffer is then shrunk by the envelope's few bytes
/// around the rows, which glibc's allocator does in place; `RawValue::from_string` checks
/// the text once more.)
pub(crate) fn decode_page_owned(cmdlet: &str, mut body: Vec<u8>) -> Result<RawPage> {
    let (mut page, range, errors) = {
        let (mut page, value, errors) = decode_envelope(cmdlet, &body)?;
        // `value` borrows from `body` (a slice deserializer borrows raw values): where it is.
        let mut range = None;
        if let Some(raw) = value {
            let text = raw.get();
            let start = (text.as_ptr() as usize).checked_sub(body.as_ptr() as usize);
            let inside = |&s: &usize| {
                s.checked_add(text.len())
                    .and_then(|end| body.get(s..end))
                    .is_some_and(|b| std::ptr::eq(b.as_ptr(), text.as_ptr()))
            };
            match start.filter(inside) {
                Some(start) => range = Some(start..start + text.len()),
                // Not a part of the body after all: copied, as `decode_page` does.
                None => page.value = Some(raw.to_owned()),
            }
        }
        (page, range, errors)
    };
    if let Some(range) = range {
        body.truncate(range.end);
        body.drain(..range.start);
        let decode_err = |message: String, body: &[u8]| Error::Decode {
            cmdlet: cmdlet.to_string(),
            message,
            body_snippet: body_snippet(body),
        };
        let text = String::from_utf8(body)
            .map_err(|e| decode_err(format!("invalid UTF-8: {e}"), e.as_bytes()))?;
        let raw = RawValue::from_string(text)
            .map_err(|e| decode_err(format!("invalid `value`: {e}"), &[]))?;
        page.value = Some(raw);
    }
    with_errors(page, errors)
}

/// The page of a body without its `value` (returned beside it, borrowed from `body`), and the
/// texts of `@adminapi.errors`.
fn decode_envelope<'a>(
    cmdlet: &str,
    body: &'a [u8],
) -> Result<(RawPage, Option<&'a RawValue>, Vec<String>)> {
    let decode_err = |message: String| Error::Decode {
        cmdlet: cmdlet.to_string(),
        message,
        body_snippet: body_snippet(body),
    };
    let trimmed = trim_body(body);
    if trimmed.is_empty() {
        // Some write cmdlets answer 200/204 with no body at all: no rows.
        return Ok((RawPage::empty(cmdlet), None, Vec::new()));
    }
    let env: Envelope<'a> = serde_json::from_slice(trimmed)
        .map_err(|e| decode_err(format!("invalid envelope: {e}")))?;
    let value = match env.value {
        Some(raw) => {
            let text = raw.get().trim();
            if text == "null" || text == "[]" {
                None
            } else if text.starts_with('[') {
                Some(raw)
            } else {
                return Err(decode_err("`value` is neither an array nor null".into()));
            }
        }
        None => None,
    };
    let warnings: Vec<Warning> = env
        .warnings
        .into_iter()
        .flatten()
        .filter_map(value_text)
        .map(|w| Warning::new(w, Some(cmdlet.to_string())))
        .collect();
    let errors: Vec<String> = env
        .errors
        .into_iter()
        .flatten()
        .filter_map(value_text)
        .collect();
    let page = RawPage {
        value: None,
        next_link: env
            .next_link
            .filter(|l| !l.trim().is_empty())
            .map(NextLink::new),
        warnings,
        confirmation_message: env.confirmation.filter(|c| !c.is_empty()),
        cmdlet: cmdlet.to_string(),
    };
    Ok((page, value, errors))
}

/// `page`, or [`Error::Cmdlet`] with its rows and warnings when the service reported errors.
fn with_errors(page: RawPage, errors: Vec<String>) -> Result<RawPage> {
    if !errors.is_empty() {
        let rows = page.rows::<Value>().unwrap_or_default();
        return Err(Error::Cmdlet(Box::new(CmdletErrors {
            cmdlet: Some(page.cmdlet.clone()),
            errors: errors.into_iter().map(clip).collect(),
            warnings: page
                .warnings
                .iter()
                .map(|w| clip(w.message.clone()))
                .collect(),
            rows,
        })));
    }
    Ok(page)
}

/// The success envelope, decoded field by field so that `value` stays raw.
struct Envelope<'a> {
    value: Option<&'a RawValue>,
    next_link: Option<String>,
    warnings: Option<Vec<Value>>,
    errors: Option<Vec<Value>>,
    confirmation: Option<String>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Envelope<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an InvokeCommand response object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Envelope<'a>, A::Error> {
                let mut env = Envelope {
                    value: None,
                    next_link: None,
                    warnings: None,
                    errors: None,
                    confirmation: None,
                };
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "value" => env.value = Some(map.next_value()?),
                        "@odata.nextLink" => env.next_link = map.next_value()?,
                        "@adminapi.warnings" => env.warnings = map.next_value()?,
                        "@adminapi.errors" => env.errors = map.next_value()?,
                        "@adminapi.confirmationmessage" => env.confirmation = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(env)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_with_rows_warnings_and_next_link() {
        let body = br##"{"@odata.context":"x","adminapi.warnings@odata.type":"#Collection(String)",
            "@adminapi.warnings":["w1"],"@odata.nextLink":"https://h/adminapi/beta/t/InvokeCommand?%24skiptoken=1",
            "value":[{"Identity":"a","Guid@data.type":"System.Guid","Guid":"g"}]}"##;
        let page = decode_page("Get-MobileDevice", body).unwrap();
        assert_eq!(
            page.warnings,
            vec![Warning::new("w1", Some("Get-MobileDevice".into()))]
        );
        assert!(page.next_link.is_some());
        let rows = page.json_rows().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            Value::Object(rows[0].clone()),
            json!({"Identity":"a","Guid":"g"})
        );
    }

    #[test]
    fn value_absent_null_or_empty_means_no_rows() {
        for body in [
            &br#"{}"#[..],
            br#"{"value":null}"#,
            br#"{"value":[]}"#,
            b"",
            b"  ",
        ] {
            let page = decode_page("Set-X", body).unwrap();
            assert!(page.value.is_none());
            assert_eq!(page.len().unwrap(), 0);
        }
    }

    #[test]
    fn a_body_given_up_decodes_as_a_borrowed_one() {
        let bodies: [&[u8]; 10] = [
            b"",
            br#"{}"#,
            br#"{"value":null}"#,
            br#"{"value": [] }"#,
            "\u{feff} {\"@odata.context\":\"c\",\"value\": [{\"Guid\":\"g\",\"N\":\"\u{e9}\\u00e9\"}, 2] ,\"@odata.nextLink\":\"https://h/n\"} \n".as_bytes(),
            br#"{"@adminapi.warnings":["w"],"value":[{"A":1}],"@adminapi.confirmationmessage":"sure?"}"#,
            br#"{"value":[{"A":1}],"@adminapi.errors":["failed"],"@adminapi.warnings":["w"]}"#,
            br#"{"value":{"A":1}}"#,
            br#"{"value":[1,"#,
            b"not json",
        ];
        for body in bodies {
            let borrowed = decode_page("Get-X", body);
            let owned = decode_page_owned("Get-X", body.to_vec());
            match (borrowed, owned) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(
                        a.value.as_ref().map(|v| v.get()),
                        b.value.as_ref().map(|v| v.get())
                    );
                    assert_eq!(
                        (a.next_link, a.warnings, a.confirmation_message, a.cmdlet),
                        (b.next_link, b.warnings, b.confirmation_message, b.cmdlet)
                    );
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{body:?}: {a:?} vs {b:?}"),
            }
        }
        let page = decode_page_owned("Get-X", bodies[4].to_vec()).unwrap();
        assert_eq!(page.len().unwrap(), 2);
        assert_eq!(page.json_rows().unwrap()[0]["N"], "\u{e9}\u{e9}");
        match decode_page_owned("Get-X", bodies[6].to_vec()) {
            Err(Error::Cmdlet(e)) => assert_eq!((e.errors.len(), e.rows.len()), (1, 1)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_bad_input_files_and_their_cuts_decode_alike_given_up_or_borrowed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bad_inputs");
        let mut files = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let body = std::fs::read(entry.unwrap().path()).unwrap();
            files += 1;
            // The whole file, and cut short at a spread of places.
            let cuts = (0..body.len())
                .step_by(body.len() / 64 + 1)
                .chain([body.len()]);
            for cut in cuts {
                let body = &body[..cut];
                let borrowed = format!("{:?}", decode_page("Get-X", body));
                let owned = format!("{:?}", decode_page_owned("Get-X", body.to_vec()));
                assert_eq!(borrowed, owned, "{body:?}");
            }
        }
        assert!(files >= 19, "{files} files");
    }

    proptest::proptest! {
        #[test]
        fn any_page_given_up_decodes_as_a_borrowed_one(
            rows in proptest::collection::vec(
                proptest::collection::btree_map("[A-Za-z@.]{1,8}", "\\PC{0,12}", 0..4),
                0..5,
            ),
            pad in "[ \t\r\n]{0,3}",
            value_first in proptest::bool::ANY,
            errors in proptest::bool::ANY,
        ) {
            let value = serde_json::to_string(&rows).unwrap();
            let value = format!("{pad}{value}{pad}");
            let body = if value_first {
                format!("{{{pad}\"value\":{value},\"@odata.nextLink\":\"n\"}}")
            } else {
                let errors = if errors { r#""@adminapi.errors":["e"],"# } else { "" };
                format!("{pad}{{\"@adminapi.warnings\":[\"w\"],{errors}\"value\":{value}}}{pad}")
            };
            let borrowed = decode_page("Get-X", body.as_bytes());
            let owned = decode_page_owned("Get-X", body.clone().into_bytes());
            match (borrowed, owned) {
                (Ok(a), Ok(b)) => {
                    proptest::prop_assert_eq!(
                        a.value.as_ref().map(|v| v.get()),
                        b.value.as_ref().map(|v| v.get())
                    );
                    proptest::prop_assert_eq!(b.json_rows().unwrap().len(), rows.len());
                    proptest::prop_assert_eq!(a.next_link, b.next_link);
                    proptest::prop_assert_eq!(a.warnings, b.warnings);
                }
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => proptest::prop_assert!(false, "{body:?}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn errors_on_200_are_an_error() {
        let body = br#"{"value":[{"A":1}],"@adminapi.errors":["something failed"],"@adminapi.warnings":["w"]}"#;
        match decode_page("Set-X", body) {
            Err(Error::Cmdlet(e)) => {
                assert_eq!(e.errors, vec!["something failed".to_string()]);
                assert_eq!(e.rows.len(), 1);
                assert_eq!(e.warnings, vec!["w".to_string()]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn confirmation_message_kept() {
        let page = decode_page(
            "Clear-MobileDevice",
            br#"{"value":[],"@adminapi.confirmationmessage":"Are you sure?"}"#,
        )
        .unwrap();
        assert_eq!(page.confirmation_message.as_deref(), Some("Are you sure?"));
    }

    #[test]
    fn invalid_json_is_a_decode_error() {
        assert!(matches!(
            decode_page("Get-X", b"{\"value\":[1,"),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            decode_page("Get-X", b"<html>"),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            decode_page("Get-X", br#"{"value":{}}"#),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn gzip_sniffing() {
        use std::io::Write as _;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"{\"value\":[]}").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(decode_body(&gz).unwrap(), b"{\"value\":[]}");
        assert_eq!(decode_body(&[0, 0, 0]).unwrap(), vec![0, 0, 0]);
        assert!(decode_body(&[0x1f, 0x8b, 1, 2]).is_err());
    }
}
