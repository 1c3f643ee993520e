//! With the `_header` feature only: generates the C header into OUT_DIR (never into the source
//! tree). The committed copy in include/ is what users and every other build get; tests/header.rs
//! compares it with this one, and `make header` refreshes it.

fn main() {
    #[cfg(feature = "_header")]
    header::generate();
    #[cfg(not(feature = "_header"))]
    println!("cargo:rerun-if-changed=build.rs");
}

#[cfg(feature = "_header")]
mod header {
    use std::env;
    use std::path::PathBuf;

    pub fn generate() {
        println!("cargo:rerun-if-changed=src");
        println!("cargo:rerun-if-changed=cbindgen.toml");
        let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
        let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("greenapi.h");
        let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
            .expect("cbindgen.toml is readable and valid");
        let v = |part: &str| env::var(format!("CARGO_PKG_VERSION_{part}")).expect("set by cargo");
        config.after_includes = Some(format!(
            "\n/** The version of this header; ga_version() gives the library's. */\n\
             #define GA_VERSION_MAJOR {}\n#define GA_VERSION_MINOR {}\n#define GA_VERSION_PATCH {}\n\
             #define GA_VERSION_STRING \"{}\"",
            v("MAJOR"),
            v("MINOR"),
            v("PATCH"),
            env::var("CARGO_PKG_VERSION").expect("set by cargo"),
        ));
        let mut header = Vec::new();
        cbindgen::Builder::new()
            .with_crate(&crate_dir)
            .with_config(config)
            .generate()
            .expect("cbindgen can read the crate")
            .write(&mut header);
        let header = String::from_utf8(header).expect("cbindgen writes UTF-8");
        std::fs::write(out, c89(&header)).expect("OUT_DIR is writable");
    }

    /// cbindgen's C++ guards end in `//` comments, which C89 does not have (`-std=c89
    /// -pedantic` refuses them): the same comments in `/* */`.
    fn c89(header: &str) -> String {
        header
            .replace("#endif // __cplusplus", "#endif /* __cplusplus */")
            .replace("#endif  // __cplusplus", "#endif /* __cplusplus */")
            .replace("}  // extern \"C\"", "} /* extern \"C\" */")
    }
}
