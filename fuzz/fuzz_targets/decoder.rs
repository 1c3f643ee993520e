//! The response decoder: any status, headers and body (see `greenapi::fuzzing::check_decoder`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenapi::fuzzing::check_decoder(data));
