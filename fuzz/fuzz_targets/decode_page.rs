//! Arbitrary bytes through the success-path decoders: gzip sniffing, envelope, rows.
#![no_main]

use exchange_activesync::Error;
use exchange_activesync::protocol::{decode_body, decode_page};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = match decode_body(data) {
        Ok(body) => body,
        Err(_) => return,
    };
    match decode_page("Get-MobileDevice", &body) {
        Ok(page) => {
            // Rows may fail to decode, but must never panic; the count agrees with the rows.
            if let Ok(rows) = page.rows::<serde_json::Value>() {
                assert_eq!(page.len().ok(), Some(rows.len()));
            }
            let _ = page.json_rows();
            let _ = format!("{page:?}");
        }
        Err(err) => {
            let shown = format!("{err}");
            if let Error::Decode { .. } = err {
                assert!(shown.len() < 16 * 1024, "decode error too long: {}", shown.len());
            }
        }
    }
});
