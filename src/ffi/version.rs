//! `ga_version`.

use std::ffi::c_char;

/// The version of the options struct this header describes: pass it to `ga_client_options_init`,
/// which tells the library how many fields the program's struct has.
pub const GA_CLIENT_OPTIONS_VERSION: u32 = 4;

/// The library's version, `"MAJOR.MINOR.PATCH"`: a static string, never freed. Compare it with
/// the header's `GA_VERSION_*` macros to detect a header and library that do not match.
#[unsafe(no_mangle)]
pub extern "C" fn ga_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
