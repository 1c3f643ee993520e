//! Every input under `tests/fuzz-corpus/<target>/` through the check its fuzz target runs
//! (`fuzz/fuzz_targets/<target>.rs`): what the fuzzers once found, and seeds that reach each
//! path, stay checked by `make test` without running a fuzzer. A file name says what it
//! holds; a failure names the file.

use std::path::Path;

#[path = "../fuzz/checks.rs"]
mod checks;

use checks::{check_c_chat_ids, check_decoder, check_options};

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    for file in files {
        let data = std::fs::read(&file).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{}: {why}", file.display());
        }
    }
}

#[test]
fn decoder() {
    replay("decoder", check_decoder);
}

#[test]
fn options() {
    replay("options", check_options);
}

#[test]
fn c_chat_id() {
    replay("c_chat_id", check_c_chat_ids);
}
