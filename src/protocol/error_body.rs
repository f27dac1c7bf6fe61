//! Decoding an error answer: its body (the Exchange envelope in its three `details` forms, a
//! plain-text or HTML page, NUL bytes), its headers (`Retry-After`, `request-id`,
//! `x-ExceptionType`, `Content-Type`) and what kind of body it was.

use std::time::Duration;

use serde_json::Value;

use super::text::{ERROR_WARNINGS_LIMIT, clip, trim_body, value_text};
use crate::error::{ApiError, body_snippet};

/// Largest prefix of an error body (non-2xx answer) that is read off the wire, decompressed
/// and decoded: error envelopes are small, and a huge error page must not cost memory.
pub const MAX_ERROR_BODY_BYTES: usize = 16 * 1024;

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
}
