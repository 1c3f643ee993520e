//! The committed header must be exactly what cbindgen makes from the source now, and its
//! version macros must match Cargo.toml.

use std::path::Path;

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/greenapi.h"));

#[test]
fn committed_header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/greenapi.h");
    if std::env::var_os("GA_UPDATE_HEADER").is_some() {
        std::fs::write(&path, GENERATED).expect("include/greenapi.h is writable");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == GENERATED,
        "include/greenapi.h differs from what cbindgen generates from src/ now; \
         regenerate it with `make header` (GA_UPDATE_HEADER=1 cargo test --features _header --test header) \
         and commit it"
    );
}

#[test]
fn version_macros_match_cargo_toml() {
    let manifest = include_str!("../Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("Cargo.toml has a version line");
    let mut parts = version.split('.');
    for name in ["MAJOR", "MINOR", "PATCH"] {
        let want = format!("#define GA_VERSION_{name} {}\n", parts.next().unwrap());
        assert!(GENERATED.contains(&want), "header lacks {want:?}");
    }
    assert!(GENERATED.contains(&format!("#define GA_VERSION_STRING \"{version}\"")));
    // SAFETY: ga_version returns a static NUL-terminated string.
    let lib = unsafe { std::ffi::CStr::from_ptr(greenapi::ffi::version::ga_version()) };
    assert_eq!(lib.to_str().unwrap(), version);
}

/// The header is plain C89 (and C99, C11) under `-pedantic -Werror`, and C++: a program compiled
/// with any of these standards includes it without a warning.
#[test]
fn header_compiles_in_every_c_standard() {
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let dir = std::env::temp_dir().join(format!("greenapi-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("uses_header.c");
    std::fs::write(
        &program,
        "#include \"greenapi.h\"\nint main(void) { return ga_version() == 0; }\n",
    )
    .unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    for (compiler, std, lang) in [
        (cc.as_str(), "-std=c89", "c"),
        (cc.as_str(), "-std=c99", "c"),
        (cc.as_str(), "-std=c11", "c"),
        ("c++", "-std=c++11", "c++"),
    ] {
        let out = std::process::Command::new(compiler)
            .args([
                std,
                "-pedantic",
                "-Werror",
                "-Wall",
                "-Wextra",
                "-fsyntax-only",
                "-x",
                lang,
            ])
            .arg("-I")
            .arg(&include)
            .arg(&program)
            .output()
            .unwrap_or_else(|e| panic!("{compiler}: {e}"));
        assert!(
            out.status.success(),
            "{compiler} {std}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
