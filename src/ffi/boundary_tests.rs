//! The C boundary without a network: pointer handling, result ownership, NULL paths and the
//! options struct of every version. Written for Miri (`make sanitize`), which checks each
//! pointer read and write against the allocation it points into: an options struct is
//! allocated at exactly its version's size, so a read or write past it is an error there.
//! Plain `cargo test` runs them too.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ffi::{CStr, c_char};
use std::ptr;

use super::batch::{ga_get_avatars, ga_get_avatars_with_progress, ga_results_free};
use super::client::{
    ga_client_free, ga_client_new, ga_client_new_with_options, ga_client_shutdown, ga_get_avatar,
};
use super::code::*;
use super::download::{ga_download_avatar, ga_image, ga_image_free};
use super::error::ga_last_error_message;
use super::options::{VERSION_SIZES, ga_client_options, ga_client_options_init, to_core};
use super::result::{self, ga_result, ga_result_free};
use super::stats::{GA_STATS_VERSION, ga_client_stats, ga_stats};
use super::version::{GA_CLIENT_OPTIONS_VERSION, ga_version};
use crate::{Avatar, Error, ErrorKind};

const TOKEN: &CStr = c"boundaryTOKEN0123456789abcdefghijklmnop";

/// A heap block of exactly `size` bytes, aligned for the options struct, zeroed.
struct Block {
    ptr: *mut u8,
    layout: Layout,
}

impl Block {
    fn new(size: usize) -> Block {
        let layout =
            Layout::from_size_align(size, align_of::<ga_client_options>()).expect("layout");
        // SAFETY: `size` is not zero (every version has at least its `version` field).
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        Block { ptr, layout }
    }

    fn options(&self) -> *mut ga_client_options {
        self.ptr.cast()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout in `new`.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated.
    unsafe { CStr::from_ptr(ga_last_error_message()) }
        .to_str()
        .expect("UTF-8")
        .to_string()
}

fn text(p: *const c_char) -> Option<String> {
    // SAFETY: NULL or a NUL-terminated string of a live result.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

#[test]
fn options_of_every_version_are_written_and_read_within_their_size() {
    for version in 1..=GA_CLIENT_OPTIONS_VERSION {
        let size = VERSION_SIZES[version as usize - 1];
        let block = Block::new(size);
        // SAFETY: `size` bytes of writable memory, the size of `version`'s struct.
        assert_eq!(
            unsafe { ga_client_options_init(block.options(), version) },
            GA_OK
        );
        assert_eq!(last_error(), "");
        // SAFETY: as above; fields of version 1 only.
        unsafe {
            assert_eq!((*block.options()).version, version);
            assert_eq!((*block.options()).timeout_ms, 30_000);
            // A C bool holding 2: read as "true", never as a Rust bool.
            ptr::addr_of_mut!((*block.options()).allow_insecure_http)
                .cast::<u8>()
                .write(2);
        }
        // SAFETY: a struct of `version`, initialised.
        let core = unsafe { to_core(block.options()) }.unwrap_or_else(|e| panic!("{}", e.message));
        assert!(core.allow_insecure_http);
        assert_eq!(core.max_in_flight, crate::DEFAULT_MAX_IN_FLIGHT);
    }
}

#[test]
fn refused_versions_write_nothing() {
    let size = VERSION_SIZES[0];
    for version in [0, GA_CLIENT_OPTIONS_VERSION + 1, u32::MAX] {
        let block = Block::new(size);
        // SAFETY: writable memory; a refused version must write none of it.
        let code = unsafe { ga_client_options_init(block.options(), version) };
        assert_eq!(code, GA_INVALID_ARGUMENT);
        assert!(!last_error().is_empty());
        // SAFETY: `size` initialised (zeroed) bytes.
        let bytes = unsafe { std::slice::from_raw_parts(block.ptr, size) };
        assert!(bytes.iter().all(|&b| b == 0), "version {version} wrote");
        // A struct claiming that version is refused when read, also within its size.
        // SAFETY: `version` is the first field.
        unsafe { (*block.options()).version = version };
        // SAFETY: a struct whose version is read first, and refused.
        let Err(e) = (unsafe { to_core(block.options()) }) else {
            panic!("version {version} accepted")
        };
        assert_eq!(e.code, GA_INVALID_ARGUMENT);
    }
    // SAFETY: NULL is checked.
    assert_eq!(
        unsafe { ga_client_options_init(ptr::null_mut(), 1) },
        GA_NULL_ARGUMENT
    );
}

#[test]
fn null_arguments_give_codes_never_crashes() {
    // SAFETY (whole test): every pointer is NULL or valid; NULLs are what is checked.
    unsafe {
        assert!(ga_client_new(ptr::null(), TOKEN.as_ptr()).is_null());
        assert!(
            last_error().contains("id_instance is NULL"),
            "{}",
            last_error()
        );
        assert!(ga_client_new(c"1".as_ptr(), ptr::null()).is_null());
        let mut code = GA_OK;
        assert!(
            ga_client_new_with_options(ptr::null(), ptr::null(), ptr::null(), &mut code).is_null()
        );
        assert_eq!(code, GA_NULL_ARGUMENT);
        let r = ga_get_avatar(ptr::null(), c"1@c.us".as_ptr());
        assert_eq!((*r).code, GA_NULL_ARGUMENT);
        assert_eq!(text((*r).url_avatar).as_deref(), Some(""));
        assert_eq!(text((*r).message).as_deref(), Some("client is NULL"));
        ga_result_free(r);
        let mut out = [ptr::null_mut::<ga_result>(); 1];
        let ids = [c"1@c.us".as_ptr()];
        assert_eq!(
            ga_get_avatars(ptr::null(), ids.as_ptr(), 1, out.as_mut_ptr()),
            GA_NULL_ARGUMENT
        );
        assert!(out[0].is_null(), "untouched");
        ga_client_free(ptr::null_mut());
        ga_client_shutdown(ptr::null());
        ga_result_free(ptr::null_mut());
        ga_results_free(ptr::null_mut(), 5);
        let mut image = ptr::null_mut::<ga_image>();
        assert_eq!(
            ga_download_avatar(
                ptr::null(),
                c"https://pps.whatsapp.net/x".as_ptr(),
                &mut image
            ),
            GA_NULL_ARGUMENT
        );
        assert_eq!(
            ga_download_avatar(ptr::null(), c"x".as_ptr(), ptr::null_mut()),
            GA_NULL_ARGUMENT
        );
        ga_image_free(ptr::null_mut());
        let mut some = [ptr::null_mut::<ga_result>(); 3];
        ga_results_free(some.as_mut_ptr(), some.len());
    }
}

#[test]
fn static_strings() {
    for code in (0..=GA_EXPIRED).chain([GA_EXPIRED + 1, u32::MAX]) {
        // SAFETY: static NUL-terminated strings.
        let s = unsafe { CStr::from_ptr(ga_code_str(code)) };
        assert!(!s.to_bytes().is_empty());
    }
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(ga_version()) };
    assert_eq!(v.to_str().unwrap(), crate::VERSION);
}

#[test]
fn results_own_their_strings() {
    let avatar = Avatar {
        exists_whatsapp: Some(true),
        available: None,
        url_avatar: "https://pps.whatsapp.net/x".into(),
        reason: Some("bad request data".into()),
        http_status: 200,
        attempts: 2,
        expires_at: None,
    };
    let ok = result::from_avatar(avatar);
    let failed =
        result::from_error(&Error::new(ErrorKind::ServerError, "HTTP 500: boom").with_status(500));
    // A message with a NUL is cut there rather than lost.
    let cut = result::from_code(GA_PANIC, "before\0after");
    // SAFETY: results just made; their strings live until freed.
    unsafe {
        assert_eq!(
            ((*ok).code, (*ok).http_status, (*ok).attempts),
            (GA_OK, 200, 2)
        );
        assert_eq!(((*ok).exists_whatsapp, (*ok).available), (1, -1));
        assert_eq!(
            text((*ok).url_avatar).as_deref(),
            Some("https://pps.whatsapp.net/x")
        );
        assert_eq!(text((*ok).reason).as_deref(), Some("bad request data"));
        assert_eq!(text((*ok).message), None);
        assert_eq!(
            ((*failed).code, (*failed).http_status),
            (GA_SERVER_ERROR, 500)
        );
        assert_eq!(text((*failed).message).as_deref(), Some("HTTP 500: boom"));
        assert_eq!(text((*cut).message).as_deref(), Some("before"));
        let mut all = [ok, failed, cut, ptr::null_mut()];
        ga_results_free(all.as_mut_ptr(), all.len());
        assert!(all.iter().all(|r| r.is_null()));
    }
}

/// A real client whose calls are all refused before anything is sent: no socket is opened.
#[test]
fn refused_chat_ids_through_a_client() {
    let mut o = std::mem::MaybeUninit::<ga_client_options>::uninit();
    // SAFETY (whole test): valid pointers throughout; the client is freed once, after use.
    unsafe {
        assert_eq!(
            ga_client_options_init(o.as_mut_ptr(), GA_CLIENT_OPTIONS_VERSION),
            GA_OK
        );
        let mut o = o.assume_init();
        o.api_url = c"http://127.0.0.1:9".as_ptr();
        o.proxy = c"".as_ptr();
        let client =
            ga_client_new_with_options(c"1101000001".as_ptr(), TOKEN.as_ptr(), &o, ptr::null_mut());
        assert!(!client.is_null(), "{}", last_error());
        let bad = [
            c"".as_ptr(),
            c"a b".as_ptr(),
            ptr::null(),
            c"\xff@c.us".as_ptr(),
        ];
        let want = [
            GA_INVALID_ARGUMENT,
            GA_INVALID_ARGUMENT,
            GA_NULL_ARGUMENT,
            GA_INVALID_ARGUMENT,
        ];
        for (id, want) in bad.iter().zip(want) {
            let r = ga_get_avatar(client, *id);
            assert_eq!(((*r).code, (*r).attempts), (want, 0));
            ga_result_free(r);
        }
        let mut out = [ptr::null_mut::<ga_result>(); 4];
        assert_eq!(
            ga_get_avatars_with_progress(
                client,
                bad.as_ptr(),
                4,
                out.as_mut_ptr(),
                None,
                ptr::null_mut()
            ),
            GA_OK
        );
        for (r, want) in out.iter().zip(want) {
            assert_eq!((**r).code, want);
        }
        ga_results_free(out.as_mut_ptr(), 4);
        // Links refused before anything is sent: *image_out is NULL whatever it held.
        for (url, want) in [
            (c"".as_ptr(), GA_INVALID_ARGUMENT),
            (
                c"http://pps.whatsapp.net/x.jpg".as_ptr(),
                GA_INVALID_ARGUMENT,
            ),
            (c"https://evil.example/x.jpg".as_ptr(), GA_INVALID_ARGUMENT),
            (c"https://pps.whatsapp.net/x.jpg?oe=1".as_ptr(), GA_EXPIRED),
            (c"\xff".as_ptr(), GA_INVALID_ARGUMENT),
            (ptr::null(), GA_NULL_ARGUMENT),
        ] {
            let mut image = ptr::NonNull::<ga_image>::dangling().as_ptr();
            assert_eq!(ga_download_avatar(client, url, &mut image), want);
            assert!(image.is_null());
            assert!(!last_error().is_empty());
        }
        ga_client_shutdown(client);
        let r = ga_get_avatar(client, c"1@c.us".as_ptr());
        assert_eq!((*r).code, GA_CANCELLED);
        ga_result_free(r);
        // The counters, into a block of exactly the struct's size: refused ids were no calls,
        // the cancelled one was, and nothing was sent.
        let block = Block::new(std::mem::size_of::<ga_stats>());
        let stats = block.ptr.cast::<ga_stats>();
        assert_eq!(ga_client_stats(client, stats, GA_STATS_VERSION), GA_OK);
        let s = &*stats;
        assert_eq!((s.version, s.calls, s.attempts), (GA_STATS_VERSION, 1, 0));
        assert_eq!(s.results[GA_CANCELLED as usize], 1);
        assert_eq!(
            ga_client_stats(client, ptr::null_mut(), 1),
            GA_NULL_ARGUMENT
        );
        assert_eq!(ga_client_stats(ptr::null(), stats, 1), GA_NULL_ARGUMENT);
        assert_eq!(ga_client_stats(client, stats, 0), GA_INVALID_ARGUMENT);
        assert_eq!(ga_client_stats(client, stats, 2), GA_INVALID_ARGUMENT);
        drop(block);
        ga_client_free(client);
    }
}
