//! Fuzz body: the config loader (lexer, parser, typed build) never panics on any text, in normal and
//! pedantic mode, and pedantic never accepts what normal mode rejects.

use std::path::Path;

/// The check for one input.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let name = Path::new("fuzz.conf");
    let normal = corenats::config::parse_str(&text, name, false);
    let pedantic = corenats::config::parse_str(&text, name, true);
    if normal.is_err() {
        assert!(
            pedantic.is_err(),
            "pedantic accepted what normal mode rejected"
        );
    }
}
