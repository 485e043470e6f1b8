//! Any bytes into the scenario loader: it may reject them, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gameday::scenario::parse_str(text, None);
    }
});
