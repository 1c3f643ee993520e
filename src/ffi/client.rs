//! `ga_client`: an opaque handle to a [`crate::Client`], shareable between threads.

use std::ffi::c_char;
use std::ptr;
use std::sync::Arc;

use super::boundary::non_null;
use super::code::ga_code;
use super::options::{ga_client_options, to_core};
use super::result::{self, ga_result};
use super::{ArgError, guard, guard_recorded, str_arg};
use crate::{Client, Options};

/// A client for one instance: a connection pool and a rate limiter. Safe to use from many
/// threads at once; free it with `ga_client_free` once no call is running.
pub struct ga_client {
    /// Shared with the worker threads of a batch.
    pub(crate) inner: Arc<Client>,
}

/// Builds a client (inside the guard of the caller).
///
/// # Safety
/// As for `ga_client_new_with_options`.
unsafe fn build(
    id_instance: *const c_char,
    api_token_instance: *const c_char,
    options: *const ga_client_options,
) -> Result<*mut ga_client, ArgError> {
    // SAFETY: NULL or NUL-terminated strings by the caller's contract.
    let id = unsafe { str_arg(id_instance, "id_instance") }?;
    let token = unsafe { str_arg(api_token_instance, "api_token_instance") }?;
    let core = if options.is_null() {
        Options::default()
    } else {
        // SAFETY: a valid options struct by the caller's contract.
        unsafe { to_core(options) }?
    };
    let inner = Client::with_options(id, token, &core)?;
    Ok(Box::into_raw(Box::new(ga_client {
        inner: Arc::new(inner),
    })))
}

/// The client behind a caller's handle.
///
/// # Safety
/// `client` is NULL or a live client.
pub(crate) unsafe fn client_arg<'a>(client: *const ga_client) -> Result<&'a Arc<Client>, ArgError> {
    let client = non_null(client, "client")?;
    // SAFETY: not NULL, and a live client by the caller's contract.
    Ok(unsafe { &(*client).inner })
}

/// A client with default options. NULL on any error: `ga_last_error_message` says why.
///
/// # Safety
/// Each argument is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_client_new(
    id_instance: *const c_char,
    api_token_instance: *const c_char,
) -> *mut ga_client {
    // SAFETY: forwarded contract.
    guard_recorded(|| unsafe { build(id_instance, api_token_instance, ptr::null()) }).0
}

/// A client with `options` (NULL: the defaults). Returns NULL on error and stores the reason in
/// `*code_out` (`GA_NULL_ARGUMENT`, `GA_INVALID_ARGUMENT`, ...); `code_out` may be NULL.
/// `ga_last_error_message` then names the argument or option refused and why. An options
/// struct is read up to the fields of its `version` (newer fields get their defaults); a
/// `version` of 0 or newer than the library is `GA_INVALID_ARGUMENT`.
///
/// # Safety
/// `id_instance` and `api_token_instance` are NULL or NUL-terminated strings; `options` is NULL
/// or a struct set up by `ga_client_options_init`; `code_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_client_new_with_options(
    id_instance: *const c_char,
    api_token_instance: *const c_char,
    options: *const ga_client_options,
    code_out: *mut ga_code,
) -> *mut ga_client {
    // SAFETY: forwarded contract.
    let (client, code) =
        guard_recorded(|| unsafe { build(id_instance, api_token_instance, options) });
    if !code_out.is_null() {
        // SAFETY: not NULL and writable by the caller's contract.
        unsafe { code_out.write(code) };
    }
    client
}

/// Frees a client. NULL is ignored. No call may be running on it.
///
/// # Safety
/// `client` is NULL or a pointer from `ga_client_new*` that was not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_client_free(client: *mut ga_client) {
    if client.is_null() {
        return;
    }
    // SAFETY: made by `Box::into_raw` in `build`. A panic in a drop must not reach C.
    guard(|| {
        drop(unsafe { Box::from_raw(client) });
        Ok(())
    });
}

/// Asks the service for the avatar of `chat_id` (a bare phone number such as `79001234567` or
/// `+79001234567` becomes `79001234567@c.us`). Blocks until the answer, retries included.
/// Never returns NULL: check `code`, then free the result with `ga_result_free`.
///
/// # Safety
/// `client` is NULL or a live client; `chat_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_get_avatar(
    client: *const ga_client,
    chat_id: *const c_char,
) -> *mut ga_result {
    guard(|| {
        // SAFETY: a live client and NULL or a NUL-terminated string by the caller's contract.
        let (client, chat_id) = unsafe { (client_arg(client)?, str_arg(chat_id, "chat_id")?) };
        Ok(match client.get_avatar(chat_id) {
            Ok(avatar) => result::from_avatar(avatar),
            Err(e) => result::from_error(&e),
        })
    })
}

/// Stops `client`: calls in progress on it, from any thread, return promptly with
/// `GA_CANCELLED` (a call blocked on a socket at once, one waiting for a retry or its turn in
/// the pacing within 50 ms), and so does every later call. Idle connections are closed. NULL is
/// ignored; calling it again does nothing more.
///
/// This is how a host stops a client that other threads may be using: shut it down, wait until
/// every call on it has returned (join the threads), then `ga_client_free`. Freeing a client
/// while a call runs on it is undefined behaviour; shutting it down is not.
///
/// # Safety
/// `client` is NULL or a live client (other threads may be calling it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_client_shutdown(client: *const ga_client) {
    if client.is_null() {
        return;
    }
    // SAFETY: a live client by the caller's contract (other threads may use it: `shutdown`
    // takes `&self`).
    guard(|| {
        unsafe { client_arg(client) }?.shutdown();
        Ok(())
    });
}

/// The pacing in force for `client` in this process: `"redis"` (a Redis pacing while Redis
/// answers), `"host"` (shared by every client for its instance on this machine; also a Redis
/// pacing while Redis cannot be reached), or `"process"` (this client alone: asked for, pacing
/// off, or a host pacing whose directory or file could not be used). A static string, never freed; NULL
/// for a NULL `client`.
///
/// # Safety
/// `client` is NULL or a live client.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_client_pacing(client: *const ga_client) -> *const c_char {
    guard(|| {
        // SAFETY: a live client by the caller's contract.
        let client = unsafe { client_arg(client) }?;
        Ok(match client.pacing() {
            crate::Pacing::Host => c"host".as_ptr(),
            #[cfg(feature = "redis")]
            crate::Pacing::Redis(_) => c"redis".as_ptr(),
            _ => c"process".as_ptr(),
        })
    })
}
