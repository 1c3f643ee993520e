//! The C ABI. One file per C concept; Rust names equal C names. Every exported function is
//! written out literally so that cbindgen sees it, checks every pointer it is given, and catches
//! panics so that none crosses into C.

#![allow(non_camel_case_types)]

pub mod batch;
pub mod client;
pub mod code;
pub mod error;
pub mod options;
pub mod result;
pub mod version;

#[cfg(test)]
mod boundary_tests;

use std::ffi::{CStr, c_char};

use code::{GA_INVALID_ARGUMENT, GA_NULL_ARGUMENT, ga_code};

/// What a caught panic is reported as; the payload is not shown (nothing guarantees it is free
/// of the token).
pub(crate) const PANIC_MESSAGE: &str =
    "internal error: a bug in greenapi was caught at the C boundary";

/// A refusal at the C boundary: the code and a message naming the argument or option and why.
pub(crate) struct ArgError {
    pub code: ga_code,
    pub message: String,
}

/// Borrows a caller's NUL-terminated UTF-8 string.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str, ArgError> {
    if p.is_null() {
        return Err(ArgError {
            code: GA_NULL_ARGUMENT,
            message: format!("{name} is NULL"),
        });
    }
    // SAFETY: not NULL, and NUL-terminated by the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| ArgError {
        code: GA_INVALID_ARGUMENT,
        message: format!("{name} is not valid UTF-8"),
    })
}

/// Like [`str_arg`] for an optional string: NULL is `None`.
///
/// # Safety
/// As for [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    p: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, ArgError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { str_arg(p, name) }.map(Some)
}
