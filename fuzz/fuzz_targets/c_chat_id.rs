//! Arbitrary bytes as chat ids through the C functions (see `check_c_chat_ids` in
//! `fuzz/checks.rs`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_c_chat_ids(data));
