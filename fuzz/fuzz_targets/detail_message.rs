//! `parse_detail_message` on arbitrary text.
#![no_main]

use exchange_activesync::protocol::parse_detail_message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match parse_detail_message(text) {
        None => assert!(text.trim().is_empty()),
        Some(d) => {
            // Without embedded JSON, the message is a part of the input.
            if !text.trim_start().starts_with('{') {
                assert!(text.contains(d.message.as_str()));
            }
        }
    }
});
