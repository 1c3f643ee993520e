//! The one guard every exported function runs its body in, and what a refusal or a caught
//! panic gives back.
//!
//! An exported function is written out literally (cbindgen reads it) and its body is a closure
//! passed to [`guard`] or [`guard_recorded`]. The body returns `Result<T, ArgError>`: `Err` for an
//! argument refused at the boundary. A panic inside it is caught (without being printed, see
//! `panic.rs`) and becomes [`ArgError::panic`]. What `T` gives the caller on a refusal is
//! [`Refusal`]'s business: NULL, the code, a result carrying the code, or nothing.

use std::ffi::{CStr, c_char};

use super::client::ga_client;
use super::code::{GA_INVALID_ARGUMENT, GA_NULL_ARGUMENT, GA_OK, GA_PANIC, from_kind, ga_code};
use super::error::set_last;
use super::result::{self, ga_result};
use crate::Error;

/// What a caught panic is reported as; the payload is not shown (nothing guarantees it is free
/// of the token).
pub(crate) const PANIC_MESSAGE: &str =
    "internal error: a bug in greenapi was caught at the C boundary";

/// A refusal at the C boundary: the code and a message naming the argument or option and why.
#[derive(Debug)]
pub(crate) struct ArgError {
    pub code: ga_code,
    pub message: String,
}

impl ArgError {
    pub(crate) fn null(name: &str) -> ArgError {
        ArgError {
            code: GA_NULL_ARGUMENT,
            message: format!("{name} is NULL"),
        }
    }

    pub(crate) fn invalid(message: String) -> ArgError {
        ArgError {
            code: GA_INVALID_ARGUMENT,
            message,
        }
    }

    pub(crate) fn panic() -> ArgError {
        ArgError {
            code: GA_PANIC,
            message: PANIC_MESSAGE.to_string(),
        }
    }
}

impl From<Error> for ArgError {
    fn from(e: Error) -> ArgError {
        ArgError {
            code: from_kind(e.kind()),
            message: e.message().to_string(),
        }
    }
}

/// What an exported function returns when its body was refused or panicked.
pub(crate) trait Refusal {
    fn refused(e: &ArgError) -> Self;
}

impl Refusal for ga_code {
    fn refused(e: &ArgError) -> ga_code {
        e.code
    }
}

impl Refusal for () {
    fn refused(_: &ArgError) {}
}

/// A client that could not be made is NULL (`ga_last_error_message` says why).
impl Refusal for *mut ga_client {
    fn refused(_: &ArgError) -> *mut ga_client {
        std::ptr::null_mut()
    }
}

/// A static string asked of a NULL or broken handle is NULL.
impl Refusal for *const c_char {
    fn refused(_: &ArgError) -> *const c_char {
        std::ptr::null()
    }
}

/// A call's result is never NULL: a refusal is a result carrying its code and message.
impl Refusal for *mut ga_result {
    fn refused(e: &ArgError) -> *mut ga_result {
        result::from_code(e.code, &e.message)
    }
}

/// Runs an exported function's body (see the module doc).
pub(crate) fn guard<T: Refusal>(body: impl FnOnce() -> Result<T, ArgError>) -> T {
    match crate::panic::catch(body) {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => T::refused(&e),
        Err(_) => T::refused(&ArgError::panic()),
    }
}

/// [`guard`] for the functions whose failure `ga_last_error_message` explains: a failure
/// records its message, a success clears it. Gives the code as well.
pub(crate) fn guard_recorded<T: Refusal>(
    body: impl FnOnce() -> Result<T, ArgError>,
) -> (T, ga_code) {
    let outcome = crate::panic::catch(body).unwrap_or_else(|_| Err(ArgError::panic()));
    match outcome {
        Ok(value) => {
            set_last(None);
            (value, GA_OK)
        }
        Err(e) => {
            set_last(Some(&e.message));
            (T::refused(&e), e.code)
        }
    }
}

/// Borrows a caller's NUL-terminated UTF-8 string.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str, ArgError> {
    if p.is_null() {
        return Err(ArgError::null(name));
    }
    // SAFETY: not NULL, and NUL-terminated by the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|_| ArgError::invalid(format!("{name} is not valid UTF-8")))
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

/// A pointer argument that must not be NULL.
pub(crate) fn non_null<T>(p: *const T, name: &str) -> Result<*const T, ArgError> {
    if p.is_null() {
        Err(ArgError::null(name))
    } else {
        Ok(p)
    }
}
