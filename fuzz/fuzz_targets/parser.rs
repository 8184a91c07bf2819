//! libFuzzer target; the check is in `bodies/parser.rs` (shared with the stable test).
#![no_main]

#[path = "../bodies/parser.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::check(data));
