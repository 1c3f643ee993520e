//! Input validation: every argument and option, Rust and C (see `check_options` in
//! `fuzz/checks.rs`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_options(data));
