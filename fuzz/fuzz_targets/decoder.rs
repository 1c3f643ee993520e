//! The response decoder: any status, headers and body (see `check_decoder` in `fuzz/checks.rs`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_decoder(data));
