//! Arbitrary status, headers and body through the error decoder.
#![no_main]

use exchange_activesync::protocol::{ResponseMeta, decode_body, decode_error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 400 + u16::from_le_bytes([data[0], data[1]]) % 200;
    let body = &data[2..];
    let mut meta = ResponseMeta::default();
    // Let part of the input drive the Retry-After header too.
    if let Some(end) = body.iter().position(|b| *b == b'\n')
        && let Ok(v) = std::str::from_utf8(&body[..end])
    {
        meta.retry_after = Some(v.to_string());
    }
    let body = decode_body(body).unwrap_or_else(|_| body.to_vec());
    let err = decode_error(status, &meta, Some("Get-MobileDevice"), &body);
    assert_eq!(err.status, status);
    assert!(err.retry_after.is_none_or(|d| d.as_secs() <= 86_400));
    assert!(err.body_snippet.len() <= 16 * 1024);
    let _ = (err.is_retryable(), err.is_not_found(), err.is_permission_denied());
    let _ = format!("{err} {err:?}");
});
