//! `ga_client_options`: a versioned struct, filled with defaults by `ga_client_options_init`, so
//! that callers compiled against an older header keep working when fields are appended.
//!
//! The caller's `version` says which fields its struct has: the library writes and reads only
//! those bytes, and gives every newer field its default. Appending a field: add it at the end of
//! `ga_client_options`, its default to `DEFAULTS`, the new version's size to `VERSION_SIZES`
//! (whose length is `GA_CLIENT_OPTIONS_VERSION`, so that the version must be raised with it),
//! and read it in `to_core`.

use std::ffi::{c_char, c_uint, c_void};
use std::mem::{MaybeUninit, offset_of, size_of};
use std::path::PathBuf;
use std::ptr;
use std::time::Duration;

use super::boundary::non_null;
use super::code::ga_code;
use super::event::{self, GA_LEVEL_INFO, ga_event_callback};
use super::version::GA_CLIENT_OPTIONS_VERSION;
use super::{ArgError, guard_recorded, opt_str_arg};
use crate::options::{
    DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DOWNLOAD_BYTES,
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_RETRIES, DEFAULT_RATE_LIMIT_PER_SEC, DEFAULT_TIMEOUT_MS,
};
use crate::{Options, Pacing};

/// Options for `ga_client_new_with_options`. Always start with
/// `ga_client_options_init(&options, GA_CLIENT_OPTIONS_VERSION)`, then change the fields you
/// need. Strings are copied; they need only live during the call. Fields are only ever appended.
#[repr(C)]
pub struct ga_client_options {
    /// Set by `ga_client_options_init` to the version it was given; do not change it.
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
    /// Requests per second shared by every thread using the client, and by the other clients of
    /// the instance as `pacing` says (default 10, the service's documented getAvatar limit; turns
    /// are spaced 5 % wider): 0 turns pacing off, else 1.0/3600 (one an hour) to 10000.
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
    /// Version 2. The most requests of the client on the wire at once in this process, every
    /// batch and single call together (default 64; 1 to 256; until 0.3 it bounded each
    /// `ga_get_avatars` batch alone, default 8). Under pacing fewer are sent: about rate x
    /// recent latency x 1.5 + 1, halved while the service pushes back; with pacing off, this
    /// is the bound. It also bounds the client's worker threads.
    pub max_in_flight: u32,
    /// Version 3. With whom `rate_limit_per_sec` is shared. NULL or `"host"` (the default):
    /// every client for the same `id_instance` in every process of this user on this machine,
    /// through a small file in `$GREENAPI_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/greenapi`, else
    /// `/dev/shm/greenapi-<uid>` (when that cannot be used, the client paces alone:
    /// `ga_client_pacing` says so); `"process"`: this client alone, in this process;
    /// `"redis://[user:password@]host[:port][/db]"`: every client for the same `id_instance`
    /// on every machine that uses this Redis (port 6379 and database 0 by default; `%XX`
    /// escapes in user and password; no TLS). The client connects when it is made: an
    /// unreachable Redis is `GA_NETWORK`, a bad URL or refused credentials
    /// `GA_INVALID_ARGUMENT` (no message shows the password); no wait for Redis is longer than
    /// `connect_timeout_ms`. When Redis fails later, calls go on under host pacing
    /// (`ga_client_pacing` says `"host"`) and Redis is tried again every few seconds.
    pub pacing: *const c_char,
    // ---- version 4: picture downloads (`ga_download_avatar`) ----
    /// Version 4. Largest picture `ga_download_avatar` reads (default 5 MiB; 1 to 67108864,
    /// 64 MiB); a larger one is `GA_BODY_TOO_LARGE`.
    pub max_download_bytes: u64,
    /// Version 4. NULL or `""`: pictures only from hosts under `whatsapp.net`. Else a
    /// comma-separated list of more hosts (bare names or IP addresses, no scheme or port), each
    /// allowing itself and every name under it, e.g. `"cdn.example.com,127.0.0.1"`. Redirects
    /// are held to the same list; only `https` is ever used.
    pub download_hosts: *const c_char,
    // ---- version 4, continued: events (`ga_event`) ----
    /// Version 4. Called with each event of the client at `event_min_level` or above; NULL
    /// (the default): no events, at the cost of one atomic load per event site. See
    /// `ga_event_callback` for the thread it runs on and what it may do.
    pub on_event: ga_event_callback,
    /// Version 4. Handed to `on_event` as it is (default NULL).
    pub on_event_user: *mut c_void,
    /// Version 4. The least level given to `on_event`: `GA_LEVEL_DEBUG`, `GA_LEVEL_INFO` (the
    /// default) or `GA_LEVEL_WARNING`; another value is `GA_INVALID_ARGUMENT`.
    pub event_min_level: u32,
}

/// Every field's default; `version` is replaced by the caller's.
const DEFAULTS: ga_client_options = ga_client_options {
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
    max_in_flight: DEFAULT_MAX_IN_FLIGHT,
    pacing: ptr::null(),
    max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
    download_hosts: ptr::null(),
    on_event: None,
    on_event_user: ptr::null_mut(),
    event_min_level: GA_LEVEL_INFO,
};

/// How many bytes of the struct each version has, version 1 first: up to the end of that
/// version's last field. Not `size_of`: its trailing padding may be missing from (or, once a
/// field is appended, overlap the new field in) an older caller's struct.
pub(crate) const VERSION_SIZES: [usize; GA_CLIENT_OPTIONS_VERSION as usize] = [
    // 1
    offset_of!(ga_client_options, allow_insecure_http) + size_of::<bool>(),
    // 2
    offset_of!(ga_client_options, max_in_flight) + size_of::<u32>(),
    // 3
    offset_of!(ga_client_options, pacing) + size_of::<*const c_char>(),
    // 4
    offset_of!(ga_client_options, event_min_level) + size_of::<u32>(),
];

/// The size of `version`'s struct, or why `version` is refused. `name` is the argument or field
/// that holds it and `zero_hint` what to do about a 0, for the message.
fn version_size(version: u32, name: &str, zero_hint: &str) -> Result<usize, ArgError> {
    let refuse = ArgError::invalid;
    if version == 0 {
        return Err(refuse(format!("{name} is 0: {zero_hint}")));
    }
    usize::try_from(version - 1)
        .ok()
        .and_then(|i| VERSION_SIZES.get(i).copied())
        .ok_or_else(|| {
            refuse(format!(
                "{name} {version} is newer than this library knows (up to \
                 {GA_CLIENT_OPTIONS_VERSION}): the program was built against a newer greenapi.h"
            ))
        })
}

/// Fills the fields `version` has with their defaults and sets `version`. Returns `GA_OK`;
/// `GA_NULL_ARGUMENT` for NULL `options`; `GA_INVALID_ARGUMENT`, writing nothing, for a
/// `version` of 0 or newer than the library knows. Pass `GA_CLIENT_OPTIONS_VERSION`: the version
/// of the header the program is compiled against, so a program built against an older header
/// keeps working with a newer library. On failure `ga_last_error_message` says why.
///
/// # Safety
/// `options` is NULL or points to writable memory for one `ga_client_options` of `version`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_client_options_init(
    options: *mut ga_client_options,
    version: c_uint,
) -> ga_code {
    guard_recorded(|| {
        let options = non_null(options, "options")?.cast_mut();
        let size = version_size(version, "version", "pass GA_CLIENT_OPTIONS_VERSION")?;
        // An untyped copy of the version's prefix, padding included: a typed write would store
        // the whole (newest) struct past the end of an older caller's.
        // SAFETY: `options` is writable for the `size` bytes of its version by the caller's
        // contract, and `DEFAULTS` is a whole struct, longer than any version's prefix.
        unsafe {
            ptr::copy_nonoverlapping(
                ptr::from_ref(&DEFAULTS).cast::<u8>(),
                options.cast::<u8>(),
                size,
            );
            ptr::addr_of_mut!((*options).version).write(version);
        }
        Ok(())
    })
    .1
}

/// Turns the caller's struct into core options, reading only the fields of its version.
///
/// # Safety
/// `options` points to a `ga_client_options` at least as large as its `version` says, whose
/// strings are NULL or NUL-terminated.
pub(crate) unsafe fn to_core(options: *const ga_client_options) -> Result<Options, ArgError> {
    // SAFETY: `version` is the first field of every version of the struct.
    let version = unsafe { ptr::addr_of!((*options).version).read() };
    let size = version_size(
        version,
        "options.version",
        "set the options up with ga_client_options_init(&options, GA_CLIENT_OPTIONS_VERSION)",
    )?;
    // The caller's fields over the defaults, so a field newer than the caller's version has its
    // default. Fields are read one by one through raw pointers, never as a whole struct: the
    // caller's `bool` may hold a byte other than 0 or 1.
    let mut merged = MaybeUninit::<ga_client_options>::uninit();
    let o = merged.as_mut_ptr();
    // SAFETY: `DEFAULTS` is a whole struct; the caller's struct has `size` readable bytes by
    // the caller's contract; `o` is a whole struct's worth of writable memory.
    unsafe {
        ptr::copy_nonoverlapping(
            ptr::from_ref(&DEFAULTS).cast::<u8>(),
            o.cast::<u8>(),
            size_of::<ga_client_options>(),
        );
        ptr::copy_nonoverlapping(options.cast::<u8>(), o.cast::<u8>(), size);
    }
    // SAFETY (every read below): each field of `merged` is initialised, from the caller or the
    // defaults; every field but the bool is valid for any bit pattern.
    let insecure = unsafe { ptr::addr_of!((*o).allow_insecure_http).cast::<u8>().read() } != 0;
    // SAFETY (the four below): NULL or NUL-terminated strings by the caller's contract.
    let api_url = unsafe { opt_str_arg((*o).api_url, "options.api_url") }?;
    let user_agent = unsafe { opt_str_arg((*o).user_agent, "options.user_agent") }?;
    let ca_file = unsafe { opt_str_arg((*o).ca_file, "options.ca_file") }?;
    let proxy = unsafe { opt_str_arg((*o).proxy, "options.proxy") }?;
    // SAFETY: as above.
    let (timeout_ms, connect_timeout_ms, max_retries, rate_limit_per_sec, max_body_bytes) = unsafe {
        (
            (*o).timeout_ms,
            (*o).connect_timeout_ms,
            (*o).max_retries,
            (*o).rate_limit_per_sec,
            (*o).max_body_bytes,
        )
    };
    // SAFETY: as above.
    let max_in_flight = unsafe { (*o).max_in_flight };
    // SAFETY: NULL or a NUL-terminated string by the caller's contract.
    let pacing = match unsafe { opt_str_arg((*o).pacing, "options.pacing") }? {
        None => Pacing::default(),
        Some(name) => Pacing::parse(name)
            .map_err(|e| ArgError::invalid(format!("options.{}", e.message())))?,
    };
    // SAFETY: as above; NULL or a NUL-terminated string by the caller's contract.
    let max_download_bytes = unsafe { (*o).max_download_bytes };
    let download_hosts = unsafe { opt_str_arg((*o).download_hosts, "options.download_hosts") }?
        .map(host_list)
        .unwrap_or_default();
    // SAFETY: as above; a function pointer or NULL, and any pointer, by the caller's contract.
    let (on_event, user, min_level) =
        unsafe { ((*o).on_event, (*o).on_event_user, (*o).event_min_level) };
    let min_level = event::level(min_level)?;
    let observer = on_event.map(|cb| event::observer(cb, user, min_level));
    Ok(Options {
        api_url: api_url.map(str::to_string),
        timeout: Duration::from_millis(timeout_ms.into()),
        connect_timeout: Duration::from_millis(connect_timeout_ms.into()),
        max_retries,
        rate_limit_per_sec,
        user_agent: user_agent.map(str::to_string),
        ca_file: ca_file.map(PathBuf::from),
        proxy: proxy.map(str::to_string),
        max_body_bytes,
        allow_insecure_http: insecure,
        max_in_flight,
        pacing,
        download_hosts,
        max_download_bytes,
        observer,
    })
}

/// `"a.example, b.example"` as its entries; empty entries (`""`, a trailing comma) are none.
/// Each entry is checked by the core.
fn host_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_is_longer_and_the_last_ends_at_the_last_field() {
        assert!(VERSION_SIZES.windows(2).all(|w| w[0] < w[1]));
        assert!(VERSION_SIZES[0] > offset_of!(ga_client_options, version));
        let last = *VERSION_SIZES.last().unwrap();
        assert!(last <= size_of::<ga_client_options>());
        // Nothing but padding may follow the current version's last field.
        assert!(size_of::<ga_client_options>() - last < align_of::<ga_client_options>());
    }
}
