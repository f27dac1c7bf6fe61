//! Decoding `InvokeCommand` answers without doing any I/O (docs/protocol.md §4, §5).

use std::io::Read as _;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::request::NextLink;
use crate::error::{ApiError, CmdletErrors, Error, Result, body_snippet};

/// The warning the service adds when an enumeration stopped at `ResultSize` (default 1000).
pub const TRUNCATION_WARNING: &str = "There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.";

/// Largest response body accepted, on the wire and after decompression (a safety bound, not
/// a page limit: a page of 1,000 devices is about 3 MiB of JSON). The compressed body is
/// dropped as soon as it is decompressed, so one call holds at most twice this at its peak.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Largest prefix of an error body (non-2xx answer) that is read off the wire, decompressed
/// and decoded: error envelopes are small, and a huge error page must not cost memory.
pub const MAX_ERROR_BODY_BYTES: usize = 16 * 1024;

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
    let decode_err = |message: String| Error::Decode {
        cmdlet: cmdlet.to_string(),
        message,
        body_snippet: body_snippet(body),
    };
    let trimmed = trim_body(body);
    if trimmed.is_empty() {
        // Some write cmdlets answer 200/204 with no body at all: no rows.
        return Ok(RawPage::empty(cmdlet));
    }
    let env: Envelope = serde_json::from_slice(trimmed)
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
        value,
        next_link: env
            .next_link
            .filter(|l| !l.trim().is_empty())
            .map(NextLink::new),
        warnings,
        confirmation_message: env.confirmation.filter(|c| !c.is_empty()),
        cmdlet: cmdlet.to_string(),
    };
    if !errors.is_empty() {
        let rows = page.rows::<Value>().unwrap_or_default();
        return Err(Error::Cmdlet(Box::new(CmdletErrors {
            cmdlet: Some(cmdlet.to_string()),
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

/// Trim ASCII whitespace and a leading UTF-8 byte-order mark (some proxies and .NET front
/// ends prefix one; serde_json rejects it).
fn trim_body(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b).trim_ascii()
}

/// Longest service-supplied text (message, type, code, warning, error entry) kept in an error,
/// in bytes; longer texts are cut on a character boundary and end with `…`. Keeps the Display
/// and Debug of errors small even when a body carries megabytes of text.
const ERROR_TEXT_LIMIT: usize = 1024;
/// Most warnings kept in an [`ApiError`]; when there are more, the last entry says how many
/// were left out, so the cut is never silent.
const ERROR_WARNINGS_LIMIT: usize = 4;

fn clip(s: String) -> String {
    if s.len() <= ERROR_TEXT_LIMIT {
        return s;
    }
    let mut end = ERROR_TEXT_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s[..end].to_string();
    out.push('…');
    out
}

fn value_text(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Object(ref m) => m
            .get("Message")
            .or_else(|| m.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| Some(v.to_string())),
        other => Some(other.to_string()),
    }
}

/// The success envelope, decoded field by field so that `value` stays raw.
struct Envelope {
    value: Option<Box<RawValue>>,
    next_link: Option<String>,
    warnings: Option<Vec<Value>>,
    errors: Option<Vec<Value>>,
    confirmation: Option<String>,
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an InvokeCommand response object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Envelope, A::Error> {
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
        d.deserialize_map(V)
    }
}

/// Response metadata the error decoder uses (kept independent of any HTTP crate).
#[derive(Clone, Debug, Default)]
pub struct ResponseMeta {
    /// `request-id` (or `x-ms-request-id`) header.
    pub request_id: Option<String>,
    /// `x-ExceptionType` header.
    pub exception_type: Option<String>,
    /// `Retry-After` header, raw.
    pub retry_after: Option<String>,
    /// `Date` header, raw (used to resolve an HTTP-date `Retry-After`).
    pub date: Option<String>,
    /// `client-request-id` that was sent.
    pub client_request_id: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
}

/// Parse a `Retry-After` value: whole or fractional seconds, or an HTTP date (relative to
/// `now`, or to the response's `Date` header when given). Negative or past values mean zero.
pub fn parse_retry_after(
    value: &str,
    now: chrono::DateTime<chrono::Utc>,
    date_header: Option<&str>,
) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(secs) = v.parse::<f64>() {
        if !secs.is_finite() {
            return None;
        }
        return Some(Duration::from_secs_f64(secs.clamp(0.0, 86_400.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let reference = date_header
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d.trim()).ok())
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or(now);
    let delta = when.with_timezone(&chrono::Utc) - reference;
    Some(
        delta
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(86_400)),
    )
}

/// Decode a non-2xx answer into an [`ApiError`], whatever the body is: the JSON error
/// envelope with any of the three `details[0].message` forms, a plain-text body, HTML, NUL
/// bytes, or nothing. Status, request id and a bounded snippet of the raw body are always kept.
/// Texts taken from the body are cut to 1 KiB each and at most four warnings are kept, so the
/// error's Display and Debug stay small whatever the body.
pub fn decode_error(
    status: u16,
    meta: &ResponseMeta,
    cmdlet: Option<&str>,
    body: &[u8],
) -> ApiError {
    // Only a bounded prefix is looked at (converted to text, parsed).
    let body = &body[..body.len().min(MAX_ERROR_BODY_BYTES)];
    let mut err = decode_error_unbounded(status, meta, cmdlet, body);
    // Service texts can be arbitrarily long: keep every field short.
    let clip_opt = |s: Option<String>| s.map(clip);
    err.message = clip(std::mem::take(&mut err.message));
    err.code = clip_opt(err.code.take());
    err.exception_type = clip_opt(err.exception_type.take());
    err.string_id = clip_opt(err.string_id.take());
    err.target = clip_opt(err.target.take());
    err.request_id = clip_opt(err.request_id.take());
    err.client_request_id = clip_opt(err.client_request_id.take());
    err.cmdlet = clip_opt(err.cmdlet.take());
    let total = err.warnings.len();
    err.warnings.truncate(ERROR_WARNINGS_LIMIT);
    err.warnings = std::mem::take(&mut err.warnings)
        .into_iter()
        .map(clip)
        .collect();
    if total > ERROR_WARNINGS_LIMIT {
        err.warnings.push(format!(
            "({} more warning(s) not kept)",
            total - ERROR_WARNINGS_LIMIT
        ));
    }
    err
}

fn decode_error_unbounded(
    status: u16,
    meta: &ResponseMeta,
    cmdlet: Option<&str>,
    body: &[u8],
) -> ApiError {
    let mut err = ApiError::new(status, default_message(status));
    err.cmdlet = cmdlet.map(str::to_string);
    err.request_id = meta.request_id.clone();
    err.client_request_id = meta.client_request_id.clone();
    err.exception_type = meta.exception_type.clone().filter(|s| !s.is_empty());
    err.body_snippet = body_snippet(body);
    err.content_type = meta.content_type.clone();
    err.body_kind = body_kind(meta.content_type.as_deref(), body);
    err.retry_after = meta
        .retry_after
        .as_deref()
        .and_then(|v| parse_retry_after(v, chrono::Utc::now(), meta.date.as_deref()));

    let text = trim_body(body);
    let parsed: Option<Value> = if text.first() == Some(&b'{') {
        serde_json::from_slice(text).ok()
    } else {
        None
    };
    let Some(Value::Object(root)) = parsed else {
        if text.first() == Some(&b'{') {
            // JSON cut short (only a prefix of an error body is kept): take the first
            // message it shows, else keep the default message.
            if let Some(m) = truncated_json_message(&String::from_utf8_lossy(text)) {
                err.message = match parse_detail_message(&m) {
                    Some(d) if !d.message.is_empty() => d.message,
                    _ => m,
                };
            }
            return err;
        }
        // Not JSON: a plain-text (e.g. the concurrency message), HTML or NUL body.
        let printable = String::from_utf8_lossy(text);
        let printable = printable.trim_matches(char::from(0)).trim();
        if err.body_kind == crate::error::BodyKind::Html {
            // A gateway's or proxy's page: say so, so that "404" is not read as the
            // service's "not found".
            let title = html_title(printable)
                .map(|t| format!(" \"{t}\""))
                .unwrap_or_default();
            err.message = format!(
                "{}: an HTML page{title}, not the service's answer (a proxy or gateway)",
                err.message
            );
        } else if !printable.is_empty() && !printable.starts_with('<') {
            err.message = printable.chars().take(1000).collect();
        }
        return err;
    };
    if let Some(w) = root.get("@adminapi.warnings").and_then(Value::as_array) {
        err.warnings = w.iter().filter_map(|v| value_text(v.clone())).collect();
    }
    let Some(error) = root.get("error").and_then(Value::as_object) else {
        if let Some(m) = root.get("message").and_then(Value::as_str) {
            err.message = m.to_string();
        }
        return err;
    };
    err.code = error
        .get("code")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(m) = error.get("message").and_then(Value::as_str) {
        err.message = m.to_string();
    }
    let inner = error.get("innererror").and_then(Value::as_object);
    let internal = inner.and_then(|i| {
        i.get("internalexception")
            .or_else(|| i.get("internalException"))
            .and_then(Value::as_object)
    });
    if err.request_id.is_none() {
        err.request_id = inner
            .and_then(|i| i.get("request-id").or_else(|| i.get("requestId")))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let detail = error
        .get("details")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(Value::as_object);
    if let Some(t) = detail
        .and_then(|d| d.get("target"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        err.target = Some(t.to_string());
    }
    let detail_msg = detail
        .and_then(|d| d.get("message"))
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty());
    let mut found = false;
    if let Some(msg) = detail_msg
        && let Some(parsed) = parse_detail_message(msg)
    {
        err.message = parsed.message;
        if parsed.exception_type.is_some() {
            err.exception_type = parsed.exception_type;
        }
        err.string_id = parsed.string_id;
        found = true;
    }
    if !found && let Some(internal) = internal {
        if let Some(m) = internal.get("message").and_then(Value::as_str) {
            err.message = m.to_string();
            found = true;
        }
        if err.exception_type.is_none() {
            err.exception_type = internal
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
    if !found && let Some(m) = inner.and_then(|i| i.get("message")).and_then(Value::as_str) {
        err.message = m.to_string();
    }
    if err.exception_type.is_none() {
        err.exception_type = inner
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    err
}

/// What an error body is, from its `Content-Type` and its bytes: the Exchange error
/// envelope (a JSON object with an `error` object), other JSON, HTML, text, or nothing (no
/// bytes, or only NUL bytes and white space).
pub fn body_kind(content_type: Option<&str>, body: &[u8]) -> crate::error::BodyKind {
    use crate::error::BodyKind;
    let text = trim_body(body);
    let meaningful = text.iter().any(|b| *b != 0 && !b.is_ascii_whitespace());
    if !meaningful {
        return BodyKind::Empty;
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.contains("html") || text.first() == Some(&b'<') {
        return BodyKind::Html;
    }
    if text.first() == Some(&b'{') {
        // A cut-short envelope (only a prefix of an error body is kept) still names "error".
        return match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(o)) if o.get("error").is_some_and(Value::is_object) => {
                BodyKind::Envelope
            }
            Ok(_) => BodyKind::Json,
            Err(_) if starts_like_envelope(text) => BodyKind::Envelope,
            Err(_) => BodyKind::Json,
        };
    }
    if text.first() == Some(&b'[') || ct.contains("json") {
        return BodyKind::Json;
    }
    BodyKind::Text
}

/// Whether a JSON text (possibly cut short) opens with `{"error":{`.
fn starts_like_envelope(text: &[u8]) -> bool {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(12)
        .collect();
    compact.starts_with(br#"{"error":{"#)
}

/// The parts of an error's `details[0].message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailMessage {
    /// Localisation id (`Ex6F9304`), if present.
    pub string_id: Option<String>,
    /// Exception type name.
    pub exception_type: Option<String>,
    /// The message itself.
    pub message: String,
}

/// Parse the three documented forms of `details[0].message` (docs/protocol.md §5.2): embedded JSON
/// (`{"Message":…,"ClassName"|"TypeName":…,"localizedString":{"stringId":…}}`),
/// `id|Type|message` and `|Type|message`. A plain message is returned as it is.
pub fn parse_detail_message(raw: &str) -> Option<DetailMessage> {
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }
    if text.starts_with('{')
        && let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text)
        && let Some(message) = o
            .get("Message")
            .or_else(|| o.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
    {
        let exception_type = o
            .get("ClassName")
            .or_else(|| o.get("TypeName"))
            .or_else(|| o.get("className"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let string_id = o
            .get("localizedString")
            .and_then(|l| l.get("stringId"))
            .and_then(Value::as_str)
            .map(str::to_string);
        return Some(DetailMessage {
            string_id,
            exception_type,
            message,
        });
    }
    let mut parts = text.splitn(3, '|');
    if let (Some(id), Some(ty), Some(msg)) = (parts.next(), parts.next(), parts.next()) {
        let ty = ty.trim();
        if !ty.is_empty() && !ty.contains(' ') {
            return Some(DetailMessage {
                string_id: Some(id.trim().to_string()).filter(|s| !s.is_empty()),
                exception_type: Some(ty.to_string()),
                message: msg.trim().to_string(),
            });
        }
    }
    Some(DetailMessage {
        string_id: None,
        exception_type: None,
        message: text.to_string(),
    })
}

/// The first `"message":"…"` string of a JSON text that was cut short (up to its closing
/// quote or the end of the text), unescaped.
fn truncated_json_message(text: &str) -> Option<String> {
    const KEY: &str = "\"message\":\"";
    let start = text.find(KEY)? + KEY.len();
    let mut out = String::new();
    let mut chars = text[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    let out = out.trim().to_string();
    (!out.is_empty()).then_some(out)
}

/// The text of an HTML page's `<title>`, if it has one (short, on one line).
fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title: String = html
        .get(start..end)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then(|| title.chars().take(120).collect())
}

fn default_message(status: u16) -> String {
    match status {
        400 => "bad request".into(),
        401 => "unauthorized: the token was rejected".into(),
        403 => "forbidden: the account may not run this cmdlet (or it does not exist)".into(),
        404 => "not found".into(),
        429 => "throttled".into(),
        500 => "internal server error".into(),
        503 => "service unavailable".into(),
        504 => "gateway timeout".into(),
        s => format!("HTTP status {s}"),
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
    fn detail_message_forms() {
        let j = parse_detail_message(
            r#"{"Message":"Object x not found","ClassName":"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException","localizedString":{"stringId":"Ex6F9304"}}"#,
        )
        .unwrap();
        assert_eq!(j.message, "Object x not found");
        assert_eq!(j.string_id.as_deref(), Some("Ex6F9304"));
        assert!(
            j.exception_type
                .unwrap()
                .ends_with("ManagementObjectNotFoundException")
        );
        let p = parse_detail_message("Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found on 'y'.").unwrap();
        assert_eq!(p.string_id.as_deref(), Some("Ex6F9304"));
        assert!(p.message.starts_with("The operation couldn't"));
        let e = parse_detail_message("|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|Parameter set cannot be resolved | with pipes").unwrap();
        assert_eq!(e.string_id, None);
        assert_eq!(e.message, "Parameter set cannot be resolved | with pipes");
        let plain = parse_detail_message("Just text").unwrap();
        assert_eq!(plain.exception_type, None);
    }

    #[test]
    fn error_envelope_precedence() {
        let body = json!({"error":{"code":"NotFound","message":"Error executing cmdlet",
            "details":[{"code":"Client","target":"","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found."}],
            "innererror":{"message":"Error executing cmdlet","type":"Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
              "internalexception":{"message":"internal text","type":"Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException"}}}});
        let meta = ResponseMeta {
            request_id: Some("rid".into()),
            ..Default::default()
        };
        let e = decode_error(
            404,
            &meta,
            Some("Remove-MobileDevice"),
            body.to_string().as_bytes(),
        );
        assert!(e.is_not_found());
        assert_eq!(e.code.as_deref(), Some("NotFound"));
        assert!(e.message.starts_with("The operation couldn't be performed"));
        assert_eq!(e.request_id.as_deref(), Some("rid"));
        assert_eq!(e.target, None);

        let body = json!({"error":{"code":"BadRequest","message":"Invalid Operation","details":[],
            "innererror":{"internalexception":{"message":"Cannot process argument transformation","type":"Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException"}}}});
        let e = decode_error(400, &meta, None, body.to_string().as_bytes());
        assert_eq!(e.message, "Cannot process argument transformation");
        assert!(
            e.exception_type
                .as_deref()
                .unwrap()
                .ends_with("ParameterTransformationException")
        );
        assert!(e.is_invalid_parameter());
    }

    #[test]
    fn non_json_bodies_keep_status_and_snippet() {
        let meta = ResponseMeta::default();
        let e = decode_error(403, &meta, Some("Get-X"), &[0u8; 16]);
        assert_eq!(e.status, 403);
        assert!(e.is_permission_denied());
        assert!(e.body_snippet.contains("\\u{0}"));
        let e = decode_error(502, &meta, None, b"<html><body>Bad gateway</body></html>");
        assert_eq!(e.status, 502);
        assert!(e.body_snippet.contains("Bad gateway"));
        let e = decode_error(
            429,
            &meta,
            None,
            b"You have reached the maximum number of concurrent requests per tenant. Please wait and try again",
        );
        assert!(e.is_throttled());
        assert!(e.message.starts_with("You have reached"));
    }

    #[test]
    fn retry_after_forms() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_retry_after("3", now, None),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("0.5", now, None),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:07 GMT", now, None),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(
                "Wed, 21 Oct 2015 07:28:07 GMT",
                now,
                Some("Wed, 21 Oct 2015 07:28:05 GMT")
            ),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now, None),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now, None), None);
        assert_eq!(parse_retry_after("-4", now, None), Some(Duration::ZERO));
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
