//! Property tests of the sans-IO protocol layer: parameter encoding, request bodies, local
//! refusal of destructive calls, and the decoders' helpers on arbitrary input.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use exchange_activesync::error::{BODY_SNIPPET_LIMIT, body_snippet};
use exchange_activesync::protocol::{
    Invocation, Parameters, check_destructive_identity, encode_datetime, encode_filter_literals,
    parse_detail_message, parse_retry_after,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Parameter names that are not filters (filters get their literals rewritten).
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9]{0,24}".prop_filter("not a filter parameter", |n| {
        !["filter", "recipientfilter", "recipientpreviewfilter"]
            .contains(&n.to_ascii_lowercase().as_str())
    })
}

/// Any text, biased towards quotes, backslashes, control and non-ASCII characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"'\\\\$\u{0}\u{1f}\u{7f}éß日本語🙂\u{202e}\u{feff} a-zA-Z]{0,40}",
    ]
}

/// Re-serialize and parse again, to prove the JSON text itself is valid and lossless.
fn through_text(p: &Parameters) -> Value {
    let text = serde_json::to_string(p).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Flip the ASCII case of some letters, driven by `mask`.
fn recase(name: &str, mask: u64) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            } else {
                c
            }
        })
        .collect()
}

/// The reference meaning of the filter encoding: each `$true`/`$false` that is a whole word
/// (any ASCII casing), lower-cased.
fn lower_literals(input: &str) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos + 1..];
        let word: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        out.push('$');
        if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
            out.push_str(&word.to_ascii_lowercase());
            rest = &tail[word.len()..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn filter_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("$true".to_string()),
        Just("$TRUE".to_string()),
        Just("$False".to_string()),
        Just("$false".to_string()),
        Just("$trueish".to_string()),
        Just("$false_x".to_string()),
        Just("$".to_string()),
        Just("$$".to_string()),
        Just("$tru".to_string()),
        Just("$fals€".to_string()),
        Just("$trué".to_string()),
        Just("$true9".to_string()),
        "[^'\"]{0,8}",
        " -eq ".prop_map(String::from),
        "[a-zA-Z_]{1,6}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn string_parameters_are_json_strings(n in name(), v in text()) {
        let mut p = Parameters::new();
        p.string(n.clone(), v.clone());
        let expected = json!({ n.clone(): v.clone() });
        prop_assert_eq!(serde_json::to_value(&p).unwrap(), expected.clone());
        prop_assert_eq!(through_text(&p), expected);
    }

    #[test]
    fn typed_inserters_produce_the_documented_json(
        n in name(), items in prop::collection::vec(text(), 0..5), i in any::<i64>(), b in any::<bool>(),
        data in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        use base64::Engine as _;
        let mut p = Parameters::new();
        p.strings(n.clone(), items.clone());
        prop_assert_eq!(through_text(&p), json!({ n.clone(): items }));
        let mut p = Parameters::new();
        p.int(n.clone(), i);
        prop_assert_eq!(through_text(&p), json!({ n.clone(): i }));
        let mut p = Parameters::new();
        p.switch(n.clone(), b);
        prop_assert_eq!(through_text(&p), json!({ n.clone(): b }));
        let mut p = Parameters::new();
        p.bool(n.clone(), b);
        prop_assert_eq!(through_text(&p), json!({ n.clone(): b }));
        let mut p = Parameters::new();
        p.null(n.clone());
        prop_assert_eq!(through_text(&p), json!({ n.clone(): null }));
        let mut p = Parameters::new();
        p.bytes(n.clone(), &data);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        prop_assert_eq!(
            through_text(&p),
            json!({ n.clone(): {"@odata.type": "#Exchange.ByteArrayType", "Data": b64} })
        );
    }

    #[test]
    fn add_remove_is_a_tagged_hashtable(
        n in name(), add in prop::collection::vec(text(), 0..4), remove in prop::collection::vec(text(), 0..4),
    ) {
        let mut p = Parameters::new();
        p.add_remove(n.clone(), add.clone(), remove.clone());
        let mut table = serde_json::Map::new();
        table.insert("@odata.type".into(), json!("#Exchange.GenericHashTable"));
        if !add.is_empty() {
            table.insert("Add".into(), json!(add));
        }
        if !remove.is_empty() {
            table.insert("Remove".into(), json!(remove));
        }
        prop_assert_eq!(through_text(&p), json!({ n: Value::Object(table) }));
    }

    #[test]
    fn case_insensitive_replacement_keeps_one_key(
        n in name(), mask in any::<u64>(), first in text(), second in text(),
    ) {
        let other = recase(&n, mask);
        let mut p = Parameters::new();
        p.string("Before", "x").string(n.clone(), first).string(other.clone(), second.clone());
        prop_assert_eq!(p.len(), 2);
        prop_assert_eq!(p.names().filter(|k| k.eq_ignore_ascii_case(&n)).count(), 1);
        prop_assert_eq!(p.get(&n), Some(&json!(second)));
        prop_assert_eq!(p.get(&other.to_ascii_uppercase()), Some(&json!(second)));
        prop_assert!(p.names().any(|k| k == other));
    }

    #[test]
    fn filter_literals_never_touch_quoted_values(value in ".{0,24}", tail in filter_text()) {
        // A value quoted the OPATH way (`'…'`, embedded `'` doubled) is data: whatever it
        // contains, it reaches the service unchanged, and what follows it is still encoded.
        let quoted = format!("'{}'", value.replace('\'', "''"));
        let input = format!("Name -eq {quoted} -and {tail}");
        let out = encode_filter_literals(&input);
        let expected = format!("Name -eq {quoted} -and {}", encode_filter_literals(&tail));
        prop_assert_eq!(out, expected);
    }

    #[test]
    fn filter_literals_only_touch_whole_word_literals(input in filter_text()) {
        let out = encode_filter_literals(&input);
        // Mapping the quoted literals back gives the input (literals lower-cased): nothing
        // else was changed.
        let back = out.replace("'True'", "$true").replace("'False'", "$false");
        prop_assert_eq!(back, lower_literals(&input));
        // No whole-word literal survives, so encoding twice changes nothing.
        prop_assert_eq!(encode_filter_literals(&out), out.clone());
        // The Filter parameter applies it; other parameters never do.
        let mut p = Parameters::new();
        p.string("filter", input.clone()).string("Name", input.clone());
        prop_assert_eq!(p.get("Filter"), Some(&json!(out)));
        prop_assert_eq!(p.get("Name"), Some(&json!(input)));
    }

    #[test]
    fn filter_literals_never_panic_on_any_text(input in any::<String>()) {
        let out = encode_filter_literals(&input);
        if !input.contains('$') {
            prop_assert_eq!(out, input);
        }
    }

    #[test]
    fn datetimes_are_utc_without_zone(
        secs in -8_000_000_000i64..250_000_000_000i64, offset_min in (-14 * 60i32)..=(14 * 60),
    ) {
        let utc: DateTime<Utc> = DateTime::from_timestamp(secs, 0).unwrap();
        let local = FixedOffset::east_opt(offset_min * 60).unwrap().from_utc_datetime(&utc.naive_utc());
        let encoded = encode_datetime(local.with_timezone(&Utc));
        let re_ok = encoded.len() == 19
            && encoded.char_indices().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == 'T',
                13 | 16 => c == ':',
                _ => c.is_ascii_digit(),
            });
        prop_assert!(re_ok, "{encoded} does not match yyyy-MM-ddTHH:mm:ss");
        prop_assert_eq!(&encoded, &utc.format("%Y-%m-%dT%H:%M:%S").to_string());
        let mut p = Parameters::new();
        p.datetime("StartDate", local.with_timezone(&Utc));
        prop_assert_eq!(p.get("StartDate"), Some(&json!(encoded)));
    }

    #[test]
    fn invocation_body_round_trips(
        verb in prop::sample::select(vec!["Get", "Set", "New", "Remove", "Clear", "get"]),
        noun in "[A-Za-z]{1,30}", names in prop::collection::vec(name(), 0..6), v in text(),
    ) {
        let cmdlet = format!("{verb}-{noun}");
        let mut p = Parameters::new();
        for (i, n) in names.iter().enumerate() {
            if i % 2 == 0 { p.string(n.clone(), v.clone()); } else { p.int(n.clone(), i as i64); }
        }
        let inv = Invocation::new(cmdlet.clone(), p);
        let body: Value = serde_json::from_slice(&inv.body()).unwrap();
        let input = body.get("CmdletInput").unwrap();
        prop_assert_eq!(body.as_object().unwrap().len(), 1);
        prop_assert_eq!(input["CmdletName"].as_str(), Some(cmdlet.as_str()));
        prop_assert_eq!(&input["Parameters"], &serde_json::to_value(inv.parameters()).unwrap());
        let back: Parameters = serde_json::from_value(input["Parameters"].clone()).unwrap();
        prop_assert_eq!(&back, inv.parameters());
    }

    #[test]
    fn destructive_identity_refuses_whitespace(
        ws in prop::collection::vec(prop::sample::select(vec![
            ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
            '\u{2003}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
        ]), 0..12),
    ) {
        let s: String = ws.into_iter().collect();
        prop_assert!(check_destructive_identity("Clear-MobileDevice", Some(&json!(s))).is_err());
        let mut p = Parameters::new();
        p.string("Identity", s);
        let err = Invocation::new("Remove-MobileDevice", p).validate().unwrap_err();
        prop_assert!(err.is_invalid_input());
    }

    #[test]
    fn destructive_identity_refuses_wildcards(before in text(), after in text()) {
        let s = format!("{before}*{after}");
        prop_assert!(check_destructive_identity("Remove-MobileDevice", Some(&json!(s))).is_err());
    }

    #[test]
    fn destructive_identity_accepts_plain_names(id in "[A-Za-z0-9@._\\\\-]{0,30}[A-Za-z0-9]") {
        prop_assert!(check_destructive_identity("Remove-MobileDevice", Some(&json!(id))).is_ok());
    }

    #[test]
    fn retry_after_is_bounded(value in any::<String>(), date in proptest::option::of(any::<String>()), now in 0i64..8_000_000_000) {
        let now = DateTime::from_timestamp(now, 0).unwrap();
        if let Some(d) = parse_retry_after(&value, now, date.as_deref()) {
            prop_assert!(d.as_secs_f64() <= 86_400.0);
        }
    }

    #[test]
    fn retry_after_numbers_and_dates_are_bounded(
        n in prop_oneof![any::<f64>().prop_map(|f| f.to_string()), any::<i64>().prop_map(|i| i.to_string()),
                         "[-+]?[0-9]{0,400}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?"],
        secs in -8_000_000_000i64..250_000_000_000i64,
    ) {
        let now = Utc::now();
        if let Some(d) = parse_retry_after(&n, now, None) {
            prop_assert!(d.as_secs_f64() <= 86_400.0);
        }
        let when = DateTime::from_timestamp(secs, 0).unwrap().to_rfc2822();
        if let Some(d) = parse_retry_after(&when, now, Some(&when)) {
            prop_assert_eq!(d.as_secs(), 0);
        }
        if let Some(d) = parse_retry_after(&when, now, None) {
            prop_assert!(d.as_secs() <= 86_400);
        }
    }

    #[test]
    fn body_snippet_is_bounded_and_printable(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..6000),
            prop::collection::vec(prop::sample::select(vec![0u8, 1, 0x1b, 0x7f, 0xc2, 0x85, b'\n', b'a']), 0..6000),
        ],
    ) {
        let s = body_snippet(&body);
        prop_assert!(s.len() <= BODY_SNIPPET_LIMIT + 64, "snippet of {} bytes", s.len());
        prop_assert!(s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        if body.iter().all(|b| b.is_ascii_graphic() || *b == b' ') && body.len() <= BODY_SNIPPET_LIMIT {
            prop_assert_eq!(s.as_bytes(), &body[..]);
        }
    }

    #[test]
    fn detail_message_never_panics(raw in any::<String>()) {
        match parse_detail_message(&raw) {
            None => prop_assert!(raw.trim().is_empty()),
            Some(d) => {
                let json_form = raw.trim_start().starts_with('{');
                prop_assert!(!raw.trim().is_empty());
                prop_assert!(json_form || raw.contains(d.message.as_str()));
            }
        }
    }

    #[test]
    fn detail_message_pipe_form_recovers_parts(
        id in "[A-Za-z0-9]{0,12}", ty in "[A-Za-z][A-Za-z0-9.]{0,60}", msg in "[^\u{0}]{0,80}",
        pad in "[ \t]{0,3}",
    ) {
        let raw = format!("{pad}{id}|{ty}|{msg}{pad}");
        let d = parse_detail_message(&raw).unwrap();
        prop_assert_eq!(d.string_id, Some(id.clone()).filter(|s| !s.is_empty()));
        prop_assert_eq!(d.exception_type.as_deref(), Some(ty.as_str()));
        prop_assert_eq!(d.message, msg.trim().to_string());
    }
}

/// Regression: a `$` followed by a multi-byte character where the literal would end used to
/// slice inside the character and panic.
#[test]
fn filter_literals_with_multibyte_after_dollar() {
    for input in [
        "$fals€",
        "$tru€",
        "$t€",
        "A -eq $fal日本",
        "$true€",
        "$false\u{1F642}",
    ] {
        let out = encode_filter_literals(input);
        assert_eq!(
            out.replace("'True'", "$true").replace("'False'", "$false"),
            lower_literals(input)
        );
    }
    assert_eq!(encode_filter_literals("$fals€ $TRUE"), "$fals€ 'True'");
}

/// Regression: escaped control characters used to let the snippet grow to ~7 bytes per kept
/// character (14 KB for a body of NUL bytes).
#[test]
fn body_snippet_of_control_bytes_is_bounded() {
    let s = body_snippet(&[0u8; 100_000]);
    assert!(s.len() <= BODY_SNIPPET_LIMIT + 64, "{} bytes", s.len());
    assert!(s.starts_with("\\u{0}\\u{0}"));
    assert!(s.ends_with("(100000 bytes in all)"));
}
