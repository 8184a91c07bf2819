//! libFuzzer target; the check is in `bodies/sublist.rs` (shared with the stable test).
#![no_main]

#[path = "../bodies/sublist.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::check(data));
