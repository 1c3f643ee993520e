//! `ga_client_options`: a versioned struct, filled with defaults by `ga_client_options_init`, so
//! that callers compiled against an older header keep working when fields are appended.

use std::ffi::c_char;
use std::path::PathBuf;
use std::ptr;
use std::time::Duration;

use super::ArgError;
use super::code::GA_INVALID_ARGUMENT;
use super::opt_str_arg;
use super::version::GA_CLIENT_OPTIONS_VERSION;
use crate::Options;
use crate::options::{
    DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT_PER_SEC, DEFAULT_TIMEOUT_MS,
};

/// Options for `ga_client_new_with_options`. Always start with `ga_client_options_init`, then
/// change the fields you need. Strings are copied; they need only live during the call.
#[repr(C)]
pub struct ga_client_options {
    /// Set by `ga_client_options_init` to `GA_CLIENT_OPTIONS_VERSION`; do not change it.
    pub version: u32,
    /// Base URL. NULL: `https://api.green-api.com`. A path prefix is allowed, a trailing `/` is
    /// ignored. Plain `http://` only to loopback unless `allow_insecure_http`.
    pub api_url: *const c_char,
    /// Time allowed for one attempt, in milliseconds (default 30000; 1 to 86400000, one day).
    pub timeout_ms: u32,
    /// Time allowed to connect, in milliseconds (default 10000; 1 to 86400000, one day).
    pub connect_timeout_ms: u32,
    /// Retries after the first attempt (default 2, at most 10).
    pub max_retries: u32,
    /// Requests per second shared by every thread using the client (default 10, the service's
    /// documented getAvatar limit): 0 turns pacing off, else 1.0/3600 (one an hour) to 10000.
    pub rate_limit_per_sec: f64,
    /// `User-Agent` header. NULL: `greenapi/<version>`.
    pub user_agent: *const c_char,
    /// NULL: built-in roots. Else a PEM file of root certificates trusted as well.
    pub ca_file: *const c_char,
    /// NULL: from the first of `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY` that is
    /// set (with `NO_PROXY`; never for a loopback `api_url`; `HTTP_PROXY` is not used), and an
    /// unusable one is `GA_INVALID_ARGUMENT`; `""`: no proxy; else the proxy's URL
    /// (`http://` or `https://`, optionally with `user:password@`).
    pub proxy: *const c_char,
    /// Largest response body read (default 1 MiB; 1 to 1073741824, 1 GiB).
    pub max_body_bytes: u64,
    /// Allow plain `http://` to a host that is not loopback (default false).
    pub allow_insecure_http: bool,
}

/// Fills `options` with the defaults and the current `version`. NULL is ignored.
///
/// # Safety
/// `options` is NULL or points to writable memory for one `ga_client_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_client_options_init(options: *mut ga_client_options) {
    if options.is_null() {
        return;
    }
    let defaults = ga_client_options {
        version: GA_CLIENT_OPTIONS_VERSION,
        api_url: ptr::null(),
        timeout_ms: DEFAULT_TIMEOUT_MS,
        connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
        max_retries: DEFAULT_MAX_RETRIES,
        rate_limit_per_sec: DEFAULT_RATE_LIMIT_PER_SEC,
        user_agent: ptr::null(),
        ca_file: ptr::null(),
        proxy: ptr::null(),
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        allow_insecure_http: false,
    };
    // SAFETY: not NULL and writable by the caller's contract; `write` does not read the
    // possibly uninitialised old value.
    unsafe { options.write(defaults) };
}

/// Turns the caller's struct into core options.
///
/// # Safety
/// `options` points to a `ga_client_options` whose strings are NULL or NUL-terminated.
pub(crate) unsafe fn to_core(options: *const ga_client_options) -> Result<Options, ArgError> {
    let invalid = |message: &str| ArgError {
        code: GA_INVALID_ARGUMENT,
        message: message.to_string(),
    };
    // SAFETY: `version` is the first field of every version of the struct.
    let version = unsafe { ptr::addr_of!((*options).version).read() };
    if version != GA_CLIENT_OPTIONS_VERSION {
        return Err(invalid(
            "options.version is not GA_CLIENT_OPTIONS_VERSION: call ga_client_options_init first",
        ));
    }
    // SAFETY: version 1 callers pass a whole version 1 struct.
    let o = unsafe { &*options };
    // A C `bool` holding a byte other than 0 or 1 would be undefined behaviour as a Rust bool,
    // so the byte is read as a byte.
    // SAFETY: the field is one initialised byte of the caller's struct.
    let insecure = unsafe { ptr::addr_of!(o.allow_insecure_http).cast::<u8>().read() } != 0;
    // SAFETY (the four below): NULL or NUL-terminated strings by the caller's contract.
    let api_url = unsafe { opt_str_arg(o.api_url, "options.api_url") }?;
    let user_agent = unsafe { opt_str_arg(o.user_agent, "options.user_agent") }?;
    let ca_file = unsafe { opt_str_arg(o.ca_file, "options.ca_file") }?;
    let proxy = unsafe { opt_str_arg(o.proxy, "options.proxy") }?;
    Ok(Options {
        api_url: api_url.map(str::to_string),
        timeout: Duration::from_millis(o.timeout_ms.into()),
        connect_timeout: Duration::from_millis(o.connect_timeout_ms.into()),
        max_retries: o.max_retries,
        rate_limit_per_sec: o.rate_limit_per_sec,
        user_agent: user_agent.map(str::to_string),
        ca_file: ca_file.map(PathBuf::from),
        proxy: proxy.map(str::to_string),
        max_body_bytes: o.max_body_bytes,
        allow_insecure_http: insecure,
    })
}
