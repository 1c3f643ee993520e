//! `ga_download_avatar` and `ga_image`: the picture a `ga_result`'s `url_avatar` links to.

use std::ffi::{CStr, c_char};
use std::ptr;

use super::boundary::non_null;
use super::client::client_arg;
use super::client::ga_client;
use super::code::ga_code;
use super::{ArgError, guard, guard_recorded, str_arg};
use crate::ImageType;

/// A downloaded picture, allocated and owned by the library, released with `ga_image_free`.
/// Fields may only ever be appended (the library allocates it, so that is safe).
#[repr(C)]
pub struct ga_image {
    /// The picture's bytes (`len` of them); valid until `ga_image_free`.
    pub data: *const u8,
    /// How many bytes `data` holds: at least the type's signature, at most
    /// `max_download_bytes`.
    pub len: usize,
    /// `"image/jpeg"`, `"image/png"` or `"image/webp"`: the `Content-Type`, which the first
    /// bytes were checked to match. A static string.
    pub content_type: *const c_char,
    /// The file extension for the type, without the dot: `"jpg"`, `"png"` or `"webp"`. A
    /// static string.
    pub extension: *const c_char,
    /// HTTP attempts made, 1 + retries (redirects followed are not attempts).
    pub attempts: u32,
}

/// The allocation behind a `ga_image *`: the public struct first, then the bytes it points to.
#[repr(C)]
struct Owned {
    public: ga_image,
    bytes: Box<[u8]>,
}

fn names(kind: ImageType) -> (&'static CStr, &'static CStr) {
    match kind {
        ImageType::Jpeg => (c"image/jpeg", c"jpg"),
        ImageType::Png => (c"image/png", c"png"),
        ImageType::Webp => (c"image/webp", c"webp"),
    }
}

/// Downloads the picture `url` links to (a `ga_result`'s `url_avatar`) into a new `ga_image`,
/// stored in `*image_out`; free it with `ga_image_free`. Blocks until the picture, retries
/// included. Returns `GA_OK`, or why there is no picture (then `*image_out` is NULL and
/// `ga_last_error_message` says why):
///
/// - `GA_INVALID_ARGUMENT`: an empty `url` (no avatar), not `https://`, or a host that is not
///   under `whatsapp.net` nor in the `download_hosts` option;
/// - `GA_EXPIRED`: the link's `oe=` time is past (nothing was sent), or the CDN answered 403,
///   404 or 410: ask `ga_get_avatar` again for a new link;
/// - `GA_BAD_RESPONSE`: the answer is not a JPEG, PNG or WebP picture (by its `Content-Type`,
///   or first bytes that do not match it); the message says what came;
/// - `GA_BODY_TOO_LARGE`: larger than `max_download_bytes`;
/// - `GA_HTTP_STATUS`: another status, a redirect to a host not allowed, or too many redirects
///   (at most 3, each to an allowed `https` host);
/// - `GA_TIMEOUT`, `GA_NETWORK`, `GA_TLS`, `GA_SERVER_ERROR` as for calls (network failures and
///   5xx are retried as calls are); `GA_CANCELLED` after `ga_client_shutdown`.
///
/// The download uses a connection pool of its own with the client's TLS roots (`ca_file`),
/// timeouts, retries and proxy; it never sends the API token nor any header of the GetAvatar
/// call, and is not paced by the GetAvatar pacing (at most `max_in_flight` downloads of one
/// client run at once).
///
/// # Safety
/// `client` is NULL or a live client; `url` is NULL or a NUL-terminated string; `image_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_download_avatar(
    client: *const ga_client,
    url: *const c_char,
    image_out: *mut *mut ga_image,
) -> ga_code {
    guard_recorded(|| {
        let out = non_null(image_out, "image_out")?.cast_mut();
        // SAFETY: writable by the caller's contract; cleared first so a failure leaves NULL.
        unsafe { out.write(ptr::null_mut()) };
        // SAFETY: a live client and NULL or a NUL-terminated string by the caller's contract.
        let (client, url) = unsafe { (client_arg(client)?, str_arg(url, "url")?) };
        let image = client.download_avatar(url).map_err(ArgError::from)?;
        let (content_type, extension) = names(image.kind);
        let bytes = image.bytes.into_boxed_slice();
        let owned = Box::new(Owned {
            public: ga_image {
                data: bytes.as_ptr(),
                len: bytes.len(),
                content_type: content_type.as_ptr(),
                extension: extension.as_ptr(),
                attempts: image.attempts,
            },
            bytes,
        });
        // SAFETY: as above.
        unsafe { out.write(Box::into_raw(owned).cast()) };
        Ok(())
    })
    .1
}

/// Releases a picture and its bytes. NULL is ignored.
///
/// # Safety
/// `image` is NULL or a pointer stored by `ga_download_avatar` that was not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_image_free(image: *mut ga_image) {
    if image.is_null() {
        return;
    }
    guard(|| {
        // SAFETY: made by `Box::into_raw` of an `Owned` whose first field is the public struct.
        drop(unsafe { Box::from_raw(image.cast::<Owned>()) });
        Ok(())
    });
}
