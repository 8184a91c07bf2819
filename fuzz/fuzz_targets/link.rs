//! libFuzzer target; the check is in `bodies/link.rs` (shared with the stable test).
#![no_main]

#[path = "../bodies/link.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::check(data));
