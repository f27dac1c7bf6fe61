//! Text helpers shared by the page and the error decoders: bounded, trimmed service text.

use serde_json::Value;

/// Trim ASCII whitespace and a leading UTF-8 byte-order mark (some proxies and .NET front
/// ends prefix one; serde_json rejects it).
pub(super) fn trim_body(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b).trim_ascii()
}

/// Longest service-supplied text (message, type, code, warning, error entry) kept in an error,
/// in bytes; longer texts are cut on a character boundary and end with `…`. Keeps the Display
/// and Debug of errors small even when a body carries megabytes of text.
pub(super) const ERROR_TEXT_LIMIT: usize = 1024;
/// Most warnings kept in an [`ApiError`]; when there are more, the last entry says how many
/// were left out, so the cut is never silent.
pub(super) const ERROR_WARNINGS_LIMIT: usize = 4;

pub(super) fn clip(s: String) -> String {
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

pub(super) fn value_text(v: Value) -> Option<String> {
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
