//! Fuzz target: the config loader (lexer, parser, typed build) never panics on any text, in normal and
//! pedantic mode, and pedantic never accepts what normal mode rejects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let name = Path::new("fuzz.conf");
    let normal = corenats::config::parse_str(text, name, false);
    let pedantic = corenats::config::parse_str(text, name, true);
    if normal.is_err() {
        assert!(pedantic.is_err(), "pedantic accepted what normal mode rejected");
    }
});
