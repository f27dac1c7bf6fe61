//! Property tests of the value types and the OPATH filter builder: everything the crate prints
//! parses back to the same value, every form the service sends parses to the exact value it
//! carries, and no user value can change a filter's structure.

use exchange_activesync::protocol::encode_filter_literals;
use exchange_activesync::types::{
    ByteSize, ExchangeTimeSpan, Filter, MobileDeviceIdentity, Unlimited,
};
use proptest::prelude::*;

/// `1234567` → `1,234,567`, as the service writes byte counts.
fn with_commas(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Undo OPATH single-quote escaping of a literal body (`''` → `'`, also for the curly quotes
/// PowerShell treats as single quotes).
fn unquote(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            // A quote inside the literal must be doubled; a lone one would close it.
            if chars.next() != Some(c) {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn byte_size_display_parses_back(bytes in any::<u64>()) {
        let size = ByteSize::from_bytes(bytes);
        let text = size.to_string();
        prop_assert_eq!(text.parse::<ByteSize>().unwrap(), size, "{}", text);
    }

    #[test]
    fn byte_size_keeps_the_exact_count_the_service_sends(bytes in 0u64..(1u64 << 50), unit in 0usize..4) {
        let (name, mult) = [("B", 1u64), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30)][unit];
        let shown = format!("{} {name} ({} bytes)", bytes / mult, with_commas(bytes));
        prop_assert_eq!(shown.parse::<ByteSize>().unwrap().bytes(), bytes, "{}", shown);
    }

    #[test]
    fn time_span_display_parses_back(ticks in any::<i64>().prop_filter("not MIN", |t| *t != i64::MIN)) {
        let span = ExchangeTimeSpan::from_ticks(ticks);
        let text = span.to_string();
        prop_assert_eq!(text.parse::<ExchangeTimeSpan>().unwrap(), span, "{}", text);
    }

    #[test]
    fn time_span_reads_the_service_form(days in 0i64..10_000, h in 0i64..24, m in 0i64..60, s in 0i64..60) {
        let text = if days > 0 {
            format!("{days}.{h:02}:{m:02}:{s:02}")
        } else {
            format!("{h:02}:{m:02}:{s:02}")
        };
        let span: ExchangeTimeSpan = text.parse().unwrap();
        prop_assert_eq!(span.as_secs(), ((days * 24 + h) * 60 + m) * 60 + s);
        prop_assert_eq!(span.to_string(), text);
    }

    #[test]
    fn unlimited_round_trips(v in proptest::option::of(any::<u32>()), upper in any::<bool>()) {
        let value = match v {
            Some(n) => Unlimited::Limited(n),
            None => Unlimited::Unlimited,
        };
        let text = value.to_string();
        prop_assert_eq!(text.parse::<Unlimited<u32>>().unwrap(), value);
        let json = serde_json::to_value(value).unwrap();
        prop_assert_eq!(serde_json::from_value::<Unlimited<u32>>(json).unwrap(), value);
        let word = if upper { "UNLIMITED" } else { "unlimited" };
        prop_assert_eq!(word.parse::<Unlimited<u32>>().unwrap(), Unlimited::Unlimited);
    }

    #[test]
    fn device_identity_parts_round_trip(
        mailbox in "[\\p{L}\\p{N}._@-]{1,20}",
        device_type in "[\\p{L}\\p{N}]{1,12}",
        device_id in "[\\p{L}\\p{N}]{1,32}",
    ) {
        let id = MobileDeviceIdentity::from_parts(&mailbox, &device_type, &device_id).unwrap();
        let again: MobileDeviceIdentity = id.to_string().parse().unwrap();
        prop_assert_eq!(&again, &id);
        prop_assert_eq!(again.mailbox(), Some(mailbox.as_str()));
        prop_assert_eq!(again.device_type(), Some(device_type.as_str()));
        prop_assert_eq!(again.device_id(), Some(device_id.as_str()));
    }

    #[test]
    fn blank_device_identities_are_refused(blank in "[ \\t\\r\\n]{0,6}") {
        prop_assert!(MobileDeviceIdentity::new(&blank).is_err());
    }

    #[test]
    fn a_filter_value_is_always_one_literal(value in any::<String>()) {
        let text = Filter::eq("DeviceModel", value.as_str()).to_string();
        let body = text
            .strip_prefix("DeviceModel -eq '")
            .and_then(|rest| rest.strip_suffix('\''));
        prop_assert!(body.is_some(), "{}", text);
        // Undoing the escaping gives the value back: the literal was never closed early.
        prop_assert_eq!(unquote(body.unwrap()), Some(value.clone()), "{}", text);
        // And the module's `$true`/`$false` rewriting never touches it.
        prop_assert_eq!(encode_filter_literals(&text), text.clone());
    }

    #[test]
    fn combined_filters_keep_every_value_inside_its_literal(a in any::<String>(), b in any::<String>()) {
        let text = Filter::eq("DeviceType", a.as_str())
            .and(Filter::ne("DeviceOS", b.as_str()))
            .to_string();
        prop_assert_eq!(encode_filter_literals(&text), text.clone());
        // Outside the literals only the structure the builder wrote remains.
        let mut outside = String::new();
        let mut inside = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let quote = matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
            if inside && quote && chars.peek() == Some(&c) {
                chars.next();
                continue;
            }
            if quote && (inside || c == '\'') {
                inside = !inside;
                outside.push('\'');
                continue;
            }
            if !inside {
                outside.push(c);
            }
        }
        prop_assert!(!inside, "a literal stayed open: {}", text);
        prop_assert_eq!(
            outside.as_str(),
            "(DeviceType -eq '') -and (DeviceOS -ne '')",
            "structure changed (from {})", text
        );
    }
}
