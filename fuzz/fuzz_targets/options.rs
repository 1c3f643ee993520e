//! Input validation: every argument and option, Rust and C (see
//! `greenapi::fuzzing::check_options`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenapi::fuzzing::check_options(data));
