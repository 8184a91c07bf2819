//! libFuzzer target; the check is in `bodies/config.rs` (shared with the stable test).
#![no_main]

#[path = "../bodies/config.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::check(data));
