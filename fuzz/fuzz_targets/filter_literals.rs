//! `encode_filter_literals` invariants on arbitrary text.
#![no_main]

use exchange_activesync::protocol::encode_filter_literals;
use libfuzzer_sys::fuzz_target;

/// Undo the encoding for inputs without quotes (`'` or `"`, which protect what they enclose): `'True'`/`'False'` back to `$true`/`$false`.
fn decode(s: &str) -> String {
    s.replace("'True'", "$true").replace("'False'", "$false")
}

fuzz_target!(|text: &str| {
    let out = encode_filter_literals(text);
    // Idempotent: the output has no `$true`/`$false` literal left.
    assert_eq!(encode_filter_literals(&out), out);
    if !text.contains(['\'', '"']) {
        // Outside quoted values only the literals changed; everything else is byte-for-byte
        // the same. (Quoted values are never touched: see the property tests.)
        let lowered_literals = {
            let mut s = String::new();
            let mut rest = text;
            while let Some(pos) = rest.find('$') {
                s.push_str(&rest[..pos]);
                let tail = &rest[pos..];
                let word: String = tail[1..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
                    s.push('$');
                    s.push_str(&word.to_ascii_lowercase());
                    rest = &tail[1 + word.len()..];
                } else {
                    s.push('$');
                    rest = &tail[1..];
                }
            }
            s.push_str(rest);
            s
        };
        assert_eq!(decode(&out), lowered_literals);
    }
});
