//! Arbitrary bytes as chat ids through the C functions (see
//! `greenapi::fuzzing::check_c_chat_ids`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| greenapi::fuzzing::check_c_chat_ids(data));
