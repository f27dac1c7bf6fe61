//! Bad-input corpus through every decoder: `decode_body`, `decode_page`, `decode_error` and
//! `RawPage::rows`. Each case must give an `Err` or a tolerant `Ok`, never a panic, and its
//! specific expectation is asserted. Error texts stay bounded even for huge bodies.

use std::io::Write as _;

use exchange_activesync::Error;
use exchange_activesync::protocol::{
    ResponseMeta, decode_body, decode_error, decode_page, parse_retry_after,
};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bad_inputs");
const CMDLET: &str = "Get-MobileDevice";
const STATUSES: &[u16] = &[400, 401, 403, 404, 429, 500, 502, 503, 504];
/// Upper bound for any rendered error (Display or Debug).
const MAX_RENDERED: usize = 10 * 1024;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

fn assert_bounded(err: &dyn std::fmt::Debug, shown: &str) {
    let debug = format!("{err:?}");
    assert!(
        shown.len() < MAX_RENDERED,
        "Display is {} bytes",
        shown.len()
    );
    assert!(debug.len() < MAX_RENDERED, "Debug is {} bytes", debug.len());
}

/// Every decoder on one body. Returns the page result for case-specific assertions.
fn run_all(body: &[u8]) -> Result<exchange_activesync::protocol::RawPage, Error> {
    let decoded = decode_body(body);
    let body = decoded.as_deref().unwrap_or(body);
    for &status in STATUSES {
        let meta = ResponseMeta {
            request_id: Some("rid-1".into()),
            retry_after: Some("3".into()),
            ..ResponseMeta::default()
        };
        let err = decode_error(status, &meta, Some(CMDLET), body);
        assert_eq!(err.status, status);
        assert_eq!(err.request_id.as_deref(), Some("rid-1"));
        assert_eq!(err.retry_after, Some(std::time::Duration::from_secs(3)));
        assert!(!err.message.is_empty());
        assert_bounded(&err, &err.to_string());
        let _ = (
            err.is_retryable(),
            err.is_not_found(),
            err.provably_not_processed(),
        );
    }
    let page = decode_page(CMDLET, body);
    match &page {
        Ok(p) => {
            if let Ok(rows) = p.rows::<Value>() {
                assert_eq!(p.len().unwrap(), rows.len());
            }
            let _ = p.json_rows();
        }
        Err(e) => assert_bounded(e, &e.to_string()),
    }
    page
}

fn is_decode(r: &Result<exchange_activesync::protocol::RawPage, Error>) -> bool {
    matches!(r, Err(Error::Decode { .. }))
}

#[test]
fn realistic_page_decodes() {
    let page = run_all(&fixture("page.json")).unwrap();
    let rows = page.json_rows().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.keys().all(|k| !k.contains('@'))));
    assert_eq!(
        rows[2]["Identity"],
        "李雷\\ExchangeActiveSyncDevices\\Outlook§ABCD"
    );
    assert!(page.next_link.unwrap().as_str().contains("skiptoken"));
    assert!(page.warnings[0].is_truncation());
}

#[test]
fn truncated_page_at_every_byte_is_a_decode_error() {
    let full = fixture("page.json");
    let text = std::str::from_utf8(&full).unwrap();
    for cut in 0..full.len() {
        let body = &full[..cut];
        let result = decode_page(CMDLET, body);
        if body.iter().all(u8::is_ascii_whitespace) {
            assert!(result.unwrap().value.is_none(), "empty prefix at {cut}");
        } else {
            assert!(is_decode(&result), "cut at {cut}: {result:?}");
        }
        if text.is_char_boundary(cut) && cut % 7 == 0 {
            // The error decoder copes with the same prefixes (sampled: it is slower).
            let err = decode_error(502, &ResponseMeta::default(), Some(CMDLET), body);
            assert_eq!(err.status, 502);
            assert!(err.body_snippet.len() <= 2048 + 64);
        }
    }
    assert!(run_all(&full).is_ok());
}

#[test]
fn nul_body_403_is_permission_denied() {
    let body = fixture("nul_403.bin");
    assert!(is_decode(&run_all(&body)));
    let err = decode_error(403, &ResponseMeta::default(), Some(CMDLET), &body);
    assert_eq!(err.status, 403);
    assert!(err.is_permission_denied());
    assert!(!err.is_retryable());
    assert!(err.body_snippet.starts_with("\\u{0}"));
    assert!(!err.body_snippet.contains('\0'));
    assert!(!err.to_string().contains('\0'));
}

#[test]
fn html_502_keeps_the_title_in_the_snippet() {
    let body = fixture("html_502.html");
    assert!(is_decode(&run_all(&body)));
    let err = decode_error(502, &ResponseMeta::default(), None, &body);
    assert!(
        err.body_snippet
            .contains("<title>502 - Web server received an invalid response")
    );
    // The page is not the message: its status, that it is a gateway's page, and its title.
    assert!(
        err.message.starts_with("HTTP status 502: an HTML page"),
        "{}",
        err.message
    );
    assert!(
        !err.message.contains('<'),
        "HTML must not become the message"
    );
    assert!(
        err.message.contains("not the service's answer"),
        "{}",
        err.message
    );
    let Err(Error::Decode { body_snippet, .. }) = decode_page(CMDLET, &body) else {
        unreachable!()
    };
    assert!(body_snippet.contains("<title>502"));
}

#[test]
fn bodies_claiming_gzip() {
    // Magic bytes but not deflate data: decode_body fails, the raw bytes still decode.
    let fake = fixture("fake_gzip.bin");
    assert!(decode_body(&fake).is_err());
    assert!(is_decode(&run_all(&fake)));
    // A NUL body declared as gzip is not sniffed as gzip: passed through unchanged.
    let nul = fixture("nul_403.bin");
    assert_eq!(decode_body(&nul).unwrap(), nul);
    // Real gzip of garbage: inflates, then fails as JSON.
    let garbage = fixture("gzip_of_garbage.gz");
    assert_eq!(decode_body(&garbage).unwrap().len(), 4096);
    assert!(is_decode(&run_all(&garbage)));
    // Real gzip of a page decodes like the page; a truncated stream is an I/O error.
    let page = run_all(&fixture("gzip_page.json.gz")).unwrap();
    assert_eq!(page.len().unwrap(), 3);
    assert!(decode_body(&fixture("gzip_truncated.gz")).is_err());
    assert!(decode_body(&[0x1f]).unwrap() == [0x1f]);
    assert!(decode_body(&[0x1f, 0x8b]).is_err());
}

#[test]
fn huge_string_value_keeps_errors_bounded() {
    let big = "x".repeat(20 * 1024 * 1024);
    // In a row: decodes fine (rows are data).
    let body = format!(r#"{{"value":[{{"Notes":"{big}"}}]}}"#);
    let page = decode_page(CMDLET, body.as_bytes()).unwrap();
    assert_eq!(
        page.json_rows().unwrap()[0]["Notes"]
            .as_str()
            .unwrap()
            .len(),
        big.len()
    );
    // Truncated: the Decode error stays small.
    let err = decode_page(CMDLET, &body.as_bytes()[..body.len() - 3]).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }));
    assert_bounded(&err, &err.to_string());
    // As the error message, details message, warnings and an @adminapi.errors entry.
    let error_bodies = [
        format!(r#"{{"error":{{"code":"BadRequest","message":"{big}"}}}}"#),
        format!(r#"{{"error":{{"code":"X","details":[{{"message":"Ex1|T.Ex|{big}"}}]}}}}"#),
        format!(
            r#"{{"error":{{"code":"{big}","innererror":{{"type":"{big}","internalexception":{{"message":"{big}"}}}}}}}}"#
        ),
        format!(r#"{{"message":"{big}","@adminapi.warnings":["{big}","{big}","{big}"]}}"#),
        big.clone(),
        format!("<html><title>{big}</title></html>"),
    ];
    for body in &error_bodies {
        let err = decode_error(400, &ResponseMeta::default(), Some(CMDLET), body.as_bytes());
        assert_bounded(&err, &err.to_string());
        assert!(
            err.message.starts_with("xxx") || err.message.starts_with("bad request"),
            "{}",
            err.message
        );
    }
    // Many entries: Display names a few and counts the rest.
    let many: Vec<String> = (0..10_000).map(|i| format!("error number {i}")).collect();
    let body = serde_json::json!({"value": [], "@adminapi.errors": many}).to_string();
    let err = decode_page(CMDLET, body.as_bytes()).unwrap_err();
    assert!(err.to_string().ends_with("… and 9995 more"), "{err}");
    assert!(err.to_string().len() < MAX_RENDERED);
    let body = format!(r#"{{"value":[],"@adminapi.errors":["{big}"]}}"#);
    let err = decode_page(CMDLET, body.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Cmdlet(_)));
    assert_bounded(&err, &err.to_string());
}

/// Deeply nested input must hit serde_json's recursion limit, not overflow the stack. Run on
/// a thread with an ordinary 2 MiB stack to prove it.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            const DEPTH: usize = 100_000;
            let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
            let objects = format!("{}1{}", r#"{"a":"#.repeat(DEPTH), "}".repeat(DEPTH));
            let open_only = "[".repeat(DEPTH);
            let cases = [
                format!(r#"{{"value":{arrays}}}"#),
                format!(r#"{{"value":[{objects}]}}"#),
                format!(r#"{{"Other":{arrays},"value":[]}}"#),
                format!(r#"{{"@adminapi.warnings":{arrays}}}"#),
                format!(r#"{{"error":{objects}}}"#),
                arrays.clone(),
                objects.clone(),
                open_only,
            ];
            for body in &cases {
                let result = run_all(body.as_bytes());
                match result {
                    Err(Error::Decode { .. }) => {}
                    Ok(page) => {
                        // Skipped unknown keys may be tolerated; a raw `value` must then fail
                        // cleanly when its rows are decoded.
                        match page.value {
                            Some(_) => {
                                assert!(matches!(page.rows::<Value>(), Err(Error::Decode { .. })))
                            }
                            None => assert!(page.rows::<Value>().unwrap().is_empty()),
                        }
                    }
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
        })
        .unwrap()
        .join()
        .expect("no stack overflow or panic");
}

#[test]
fn wrong_types_in_envelope_fields() {
    let decode_errors = [
        r#"{"value":{"A":1}}"#,
        r#"{"value":"rows"}"#,
        r#"{"value":42}"#,
        r#"{"value":true}"#,
        r#"{"@odata.nextLink":7,"value":[]}"#,
        r#"{"@odata.nextLink":["x"],"value":[]}"#,
        r#"{"@adminapi.warnings":{"w":1},"value":[]}"#,
        r#"{"@adminapi.warnings":"careful","value":[]}"#,
        r#"{"@adminapi.errors":"it failed","value":[]}"#,
        r#"{"@adminapi.errors":{"Message":"x"},"value":[]}"#,
        r#"{"@adminapi.confirmationmessage":5}"#,
        r#"[{"A":1}]"#,
        r#""just a string""#,
        "null",
        "17",
    ];
    for body in decode_errors {
        assert!(is_decode(&run_all(body.as_bytes())), "{body}");
    }
    // Tolerated: nulls, mixed warning entries (rendered as text), non-object rows.
    let page = run_all(br#"{"@odata.nextLink":null,"@adminapi.warnings":[null,"w",{"Message":"m"},3],"value":[1,"a",null,{"B":2}]}"#).unwrap();
    assert!(page.next_link.is_none());
    let warnings: Vec<_> = page.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(warnings, ["w", "m", "3"]);
    assert_eq!(page.rows::<Value>().unwrap().len(), 4);
    assert_eq!(page.json_rows().unwrap().len(), 1);
    // Blank next link means no next page.
    assert!(
        run_all(br#"{"@odata.nextLink":"  ","value":[]}"#)
            .unwrap()
            .next_link
            .is_none()
    );
    // Errors entries of any type surface as a cmdlet error.
    match run_all(br#"{"@adminapi.errors":[{"Message":"m1"},7,{"x":1}],"value":[{"A":1}]}"#) {
        Err(Error::Cmdlet(e)) => {
            assert_eq!(e.errors, ["m1", "7", r#"{"x":1}"#]);
            assert_eq!(e.rows.len(), 1);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn wrong_types_in_error_envelopes() {
    for (name, message) in [
        ("error_wrong_types.json", "HTTP status 418"),
        ("error_details_not_objects.json", "Invalid Operation"),
        ("error_as_string.json", "HTTP status 418"),
    ] {
        let body = fixture(name);
        run_all(&body).ok();
        let err = decode_error(418, &ResponseMeta::default(), None, &body);
        assert_eq!(err.message, message, "{name}");
        assert!(err.code.is_none() || err.code.as_deref() == Some("BadRequest"));
        assert!(err.warnings.is_empty());
    }
    let err = decode_error(
        404,
        &ResponseMeta::default(),
        None,
        &fixture("error_pipe_404.json"),
    );
    assert!(err.is_not_found());
    assert_eq!(err.string_id.as_deref(), Some("Ex6F9304"));
    assert!(
        err.message
            .starts_with("The operation couldn't be performed")
    );
}

#[test]
fn invalid_utf8_anywhere() {
    for name in ["invalid_utf8_in_value.bin", "invalid_utf8_in_key.bin"] {
        assert!(is_decode(&run_all(&fixture(name))), "{name}");
    }
    // An error envelope on a 2xx: its keys are unknown to the page decoder and skipped
    // unvalidated, so it is a tolerant empty page.
    let body = fixture("invalid_utf8_in_error.bin");
    assert!(run_all(&body).unwrap().value.is_none());
    // As an error body it is not JSON any more, so the raw text (lossily decoded) is kept.
    // Not valid JSON, so not the service's not-found envelope: it proves nothing.
    let err = decode_error(404, &ResponseMeta::default(), None, &body);
    assert!(!err.is_not_found());
    assert!(err.body_snippet.contains('\u{fffd}'));
    // Invalid UTF-8 at every position of a valid page.
    let page = fixture("page.json");
    let good = decode_page(CMDLET, &page).unwrap();
    let good_rows = good.rows::<Value>().unwrap();
    for i in (0..page.len()).step_by(3) {
        let mut bad = page.clone();
        bad[i] = 0xff;
        match decode_page(CMDLET, &bad) {
            Err(Error::Decode { .. }) => {}
            // Only a byte inside a skipped key (`@odata.context`, …) is tolerated: what is
            // kept is exactly what the intact page holds.
            Ok(p) => {
                assert_eq!(p.rows::<Value>().unwrap(), good_rows, "0xff at {i}");
                assert_eq!(p.next_link, good.next_link);
                assert_eq!(p.warnings, good.warnings);
            }
            Err(other) => panic!("0xff at {i}: {other:?}"),
        }
        let err = decode_error(500, &ResponseMeta::default(), None, &bad);
        assert!(err.body_snippet.contains('\u{fffd}'));
    }
}

#[test]
fn duplicate_keys_last_one_wins() {
    let page = run_all(&fixture("duplicate_keys.json")).unwrap();
    assert_eq!(page.len().unwrap(), 2);
    assert!(page.next_link.is_none());
    assert_eq!(page.warnings.len(), 1);
    assert_eq!(page.warnings[0].message, "w2");
    let rows = page.rows::<Value>().unwrap();
    assert_eq!(
        rows,
        [serde_json::json!({"A":2}), serde_json::json!({"A":3})]
    );
    // Duplicate keys inside a row: serde_json's Value keeps the last one.
    let page = run_all(br#"{"value":[{"A":1,"A":2}]}"#).unwrap();
    assert_eq!(page.json_rows().unwrap()[0]["A"], 2);
}

#[test]
fn bom_prefixed_page() {
    let body = fixture("bom_page.json");
    let page = run_all(&body).unwrap();
    assert_eq!(page.len().unwrap(), 3);
    let err = decode_error(
        404,
        &ResponseMeta::default(),
        None,
        &[b"\xef\xbb\xbf".as_slice(), &fixture("error_pipe_404.json")].concat(),
    );
    assert_eq!(err.string_id.as_deref(), Some("Ex6F9304"));
}

#[test]
fn empty_and_whitespace_bodies() {
    for name in ["empty.bin", "whitespace.bin"] {
        let body = fixture(name);
        let page = run_all(&body).unwrap();
        assert!(page.value.is_none() && page.next_link.is_none());
        assert_eq!(page.rows::<Value>().unwrap(), Vec::<Value>::new());
        let err = decode_error(503, &ResponseMeta::default(), None, &body);
        assert_eq!(err.message, "service unavailable");
        assert!(err.is_retryable());
    }
}

#[test]
fn plain_text_concurrency_message_is_throttling() {
    let body = fixture("concurrency.txt");
    assert!(is_decode(&run_all(&body)));
    let err = decode_error(400, &ResponseMeta::default(), None, &body);
    assert!(err.is_throttled() && err.is_retryable());
    assert!(err.message.starts_with("You have reached"));
    assert!(!err.message.ends_with('\n'));
}

#[test]
fn huge_nul_and_html_bodies_keep_errors_bounded() {
    let nul = vec![0u8; 5 * 1024 * 1024];
    let mut html = b"<html><head><title>Bad Gateway</title></head><body>".to_vec();
    html.extend(std::iter::repeat_n(b'\x07', 1024 * 1024));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&nul).unwrap();
    let gz = gz.finish().unwrap();
    for body in [&nul, &html, &gz] {
        let _ = run_all(body);
    }
    let err = decode_error(502, &ResponseMeta::default(), None, &html);
    assert!(err.body_snippet.contains("<title>Bad Gateway</title>"));
}

#[test]
fn odd_retry_after_headers_in_error_meta() {
    for (value, expected) in [
        ("1.5", Some(1500)),
        ("-3", Some(0)),
        ("1e9", Some(86_400_000)),
        ("NaN", None),
        ("inf", None),
        ("", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", Some(0)),
    ] {
        let meta = ResponseMeta {
            retry_after: Some(value.into()),
            ..ResponseMeta::default()
        };
        let err = decode_error(429, &meta, None, b"");
        assert_eq!(
            err.retry_after.map(|d| d.as_millis() as u64),
            expected,
            "{value:?}"
        );
        assert!(err.is_throttled());
    }
    let now = chrono::Utc::now();
    assert!(
        parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now, None)
            .unwrap()
            .as_secs()
            <= 86_400
    );
}
