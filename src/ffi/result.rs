//! `ga_result`: the outcome of one call, allocated and owned by the library, read directly by
//! the caller, released with `ga_result_free`.

use std::ffi::{CString, c_char};
use std::ptr;

use super::code::{GA_OK, ga_code};
use crate::{Avatar, Error};

/// The outcome of `ga_get_avatar`. Fields may only ever be appended: the library allocates every
/// `ga_result` and the caller only reads one through a pointer, so a program built against an
/// older header, which knows fewer fields, reads a newer library's results correctly. Every
/// string lives until `ga_result_free`.
#[repr(C)]
pub struct ga_result {
    /// `GA_OK` when the service gave a GetAvatar answer, else why not.
    pub code: ga_code,
    /// Status of the last HTTP response; 0 when none arrived.
    pub http_status: u16,
    /// 1 yes, 0 no, -1 the answer did not say.
    pub exists_whatsapp: i8,
    /// 1 yes, 0 no (privacy settings hide the avatar), -1 the answer did not say.
    pub available: i8,
    /// Never NULL; `""` when there is no avatar.
    pub url_avatar: *const c_char,
    /// NULL unless the service said why it could not check (HTTP 200 with `reason`).
    pub reason: *const c_char,
    /// NULL on `GA_OK`; otherwise a readable explanation that never contains the token.
    pub message: *const c_char,
    /// HTTP attempts made (1 + retries); 0 when nothing was sent.
    pub attempts: u32,
    /// Since 0.3.0 (appended after `attempts`). When `url_avatar` stops working, in Unix seconds
    /// (UTC): its `oe=` parameter, a hexadecimal Unix time on WhatsApp's CDN. 0 when the URL has
    /// none (or no URL, or a failure). `ga_download_avatar` refuses a link past it with
    /// `GA_EXPIRED` without asking the CDN.
    pub expires_at: i64,
}

/// The allocation behind a `ga_result *`: the public struct first, so the two pointers are the
/// same, then the strings it points into.
#[repr(C)]
pub(crate) struct Owned {
    public: ga_result,
    url_avatar: CString,
    reason: Option<CString>,
    message: Option<CString>,
}

/// A C string from text that should hold no NUL; one that does is cut there rather than lost.
fn c_string(s: &str) -> CString {
    let end = s.find('\0').unwrap_or(s.len());
    CString::new(&s[..end]).unwrap_or_default()
}

fn tri(v: Option<bool>) -> i8 {
    v.map_or(-1, i8::from)
}

fn into_raw(owned: Owned) -> *mut ga_result {
    let mut boxed = Box::new(owned);
    boxed.public.url_avatar = boxed.url_avatar.as_ptr();
    boxed.public.reason = boxed.reason.as_ref().map_or(ptr::null(), |s| s.as_ptr());
    boxed.public.message = boxed.message.as_ref().map_or(ptr::null(), |s| s.as_ptr());
    Box::into_raw(boxed).cast()
}

fn blank(code: ga_code) -> ga_result {
    ga_result {
        code,
        http_status: 0,
        exists_whatsapp: -1,
        available: -1,
        url_avatar: ptr::null(),
        reason: ptr::null(),
        message: ptr::null(),
        attempts: 0,
        expires_at: 0,
    }
}

pub(crate) fn from_avatar(a: Avatar) -> *mut ga_result {
    let mut public = blank(GA_OK);
    public.http_status = a.http_status;
    public.exists_whatsapp = tri(a.exists_whatsapp);
    public.available = tri(a.available);
    public.attempts = a.attempts;
    public.expires_at = a.expires_at.map_or(0, crate::avatar::unix_seconds);
    into_raw(Owned {
        public,
        url_avatar: c_string(&a.url_avatar),
        reason: a.reason.as_deref().map(c_string),
        message: None,
    })
}

pub(crate) fn from_error(e: &Error) -> *mut ga_result {
    let mut public = blank(super::code::from_kind(e.kind()));
    public.http_status = e.http_status().unwrap_or(0);
    public.attempts = e.attempts();
    failure_raw(public, e.message())
}

/// A failure found at the boundary (NULL argument, panic) before or outside the core.
pub(crate) fn from_code(code: ga_code, message: &str) -> *mut ga_result {
    failure_raw(blank(code), message)
}

fn failure_raw(public: ga_result, message: &str) -> *mut ga_result {
    into_raw(Owned {
        public,
        url_avatar: CString::default(),
        reason: None,
        message: Some(c_string(message)),
    })
}

/// Releases a result and every string in it. NULL is ignored.
///
/// # Safety
/// `result` is NULL or a pointer returned by `ga_get_avatar` that was not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_result_free(result: *mut ga_result) {
    if result.is_null() {
        return;
    }
    // SAFETY: made by `into_raw` from a `Box<Owned>` whose first field is the public struct.
    drop(unsafe { Box::from_raw(result.cast::<Owned>()) });
}
