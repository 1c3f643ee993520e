//! The checks the fuzz targets (`fuzz/fuzz_targets/`) run, shared with the replay of their
//! corpus (`tests/fuzz_corpus.rs`), so that an input once found keeps being checked by
//! `make test`. Each takes arbitrary bytes and panics when the library breaks one of its
//! promises on them. Included by path (`#[path = ".../fuzz/checks.rs"] mod checks;`); they use
//! the public API, the C functions, and one hidden hook into the response decoder
//! (`greenapi::_fuzz`, behind the `_fuzz` feature).
//!
//! In every input the two bytes `$T` stand for the token, so that a fuzzer reaches echoes of
//! the token (the thing to find) without having to guess 50 characters.

#![allow(dead_code)] // each fuzz target uses one check

#[path = "../tests/support/mod.rs"]
mod support;

use std::ffi::{CStr, CString, c_char};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use greenapi::ffi::batch::{ga_get_avatars, ga_results_free};
use greenapi::ffi::client::{ga_client, ga_client_free, ga_client_new_with_options, ga_get_avatar};
use greenapi::ffi::code::*;
use greenapi::ffi::error::ga_last_error_message;
use greenapi::ffi::options::{ga_client_options, ga_client_options_init};
use greenapi::ffi::result::{ga_result, ga_result_free};
use greenapi::ffi::version::GA_CLIENT_OPTIONS_VERSION;
use greenapi::{
    Client, DEFAULT_API_URL, ErrorKind, MAX_MESSAGE_BYTES, MIN_TOKEN_CHARS, Options,
    normalize_chat_id,
};
use support::{ID, Reply, Server};

/// The token of every client the checks make: 50 characters, like the service's. The committed
/// corpus spells it out (escaped, where `$T` would not reach), so it is the checks' own.
pub const TOKEN: &str = "fuzzTOKENd75b3a66374942c5b3c019c698abc2067e1515589";
/// Stands for [`TOKEN`] in fuzzed bytes.
const MARK: &[u8] = b"$T";

/// `bytes` with every [`MARK`] replaced by the token.
fn with_token(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(MARK) {
            out.extend_from_slice(TOKEN.as_bytes());
            i += MARK.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Reads fuzzed bytes as typed values; past the end everything reads as zero or empty.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0; N];
        let got = self.take(N);
        a[..got.len()].copy_from_slice(got);
        a
    }

    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// A byte string of up to 255 bytes (its length first), tokens put in.
    fn bytes(&mut self) -> Vec<u8> {
        let n = self.u8().into();
        with_token(self.take(n))
    }

    /// Like [`Input::bytes`], as text: invalid UTF-8 replaced (the Rust API takes `&str`).
    fn text(&mut self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// `None` (a zero byte first) or some text.
    fn opt_text(&mut self) -> Option<String> {
        (self.u8() % 4 != 0).then(|| self.text())
    }

    /// A duration that is often at a bound of the documented range or just past it.
    fn duration(&mut self) -> Duration {
        match self.u8() % 8 {
            0 => Duration::ZERO,
            1 => Duration::from_millis(1),
            2 => Duration::from_millis(1) - Duration::from_nanos(1),
            3 => Duration::from_millis(86_400_000),
            4 => Duration::from_millis(86_400_000) + Duration::from_nanos(1),
            5 => Duration::from_nanos(self.u64()),
            6 => Duration::new(self.u64(), self.u32()),
            _ => Duration::from_millis(self.u32().into()),
        }
    }

    /// A rate that is often a bound, just past one, or not a number.
    fn rate(&mut self) -> f64 {
        match self.u8() % 10 {
            0 => 0.0,
            1 => -0.0,
            2 => 1.0 / 3600.0,
            3 => f64::from_bits((1.0f64 / 3600.0).to_bits() - 1),
            4 => 10_000.0,
            5 => f64::from_bits(10_000.0f64.to_bits() + 1),
            6 => f64::NAN,
            7 => f64::INFINITY,
            8 => f64::from(self.u32()) / 1000.0,
            _ => f64::from_bits(self.u64()),
        }
    }

    /// A `u64` that is often small or at a bound.
    fn count(&mut self) -> u64 {
        match self.u8() % 6 {
            0 => 0,
            1 => 1,
            2 => u64::from(self.u8()),
            3 => 1 << 30,
            4 => (1 << 30) + 1,
            _ => self.u64(),
        }
    }
}

/// What every error promises: bounded, on one line, without the token, also in `Debug`.
fn check_error(e: &greenapi::Error) {
    check_message(e.message());
    let shown = format!("{e:?} {e}");
    assert!(!shown.contains(TOKEN), "token in Debug: {shown}");
}

fn check_message(m: &str) {
    assert!(
        m.len() <= MAX_MESSAGE_BYTES,
        "message of {} bytes: {m}",
        m.len()
    );
    assert!(!m.contains(TOKEN), "token in message: {m}");
    assert!(
        !m.chars().any(char::is_control),
        "control character in message: {m:?}"
    );
}

/// The kind the README's code table gives a status other than 200.
fn documented_kind(status: u16) -> ErrorKind {
    match status {
        400 => ErrorKind::BadRequest,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited,
        466 => ErrorKind::QuotaExceeded,
        500..=599 => ErrorKind::ServerError,
        _ => ErrorKind::HttpStatus,
    }
}

/// Target 1, the response decoder: any status, headers and body. The input is a status, up to
/// 8 headers (name and value each as length and bytes), then the body.
pub fn check_decoder(data: &[u8]) {
    let mut input = Input(data);
    let status = 100 + input.u16() % 900;
    let headers: Vec<(Vec<u8>, Vec<u8>)> = (0..input.u8() % 8)
        .map(|_| (input.bytes(), input.bytes()))
        .collect();
    let headers: Vec<(&[u8], &[u8])> = headers
        .iter()
        .map(|(name, value)| (&name[..], &value[..]))
        .collect();
    let body = with_token(input.0);
    // What an HTTP parser would not have let through never reaches the decoder: the hook
    // leaves out the headers it would have refused.
    match greenapi::_fuzz::decode(status, &headers, &body, TOKEN) {
        Ok(avatar) => {
            assert_eq!(status, 200, "an answer from a non-200");
            assert_eq!(avatar.http_status, 200);
            assert!(!avatar.url_avatar.contains(TOKEN), "{avatar:?}");
            assert!(!avatar.url_avatar.contains('\0'), "{avatar:?}");
            let reason = avatar.reason.as_deref().unwrap_or("");
            assert!(
                !reason.contains(TOKEN) && !reason.contains('\0'),
                "{avatar:?}"
            );
            assert!(!format!("{avatar:?}").contains(TOKEN));
        }
        Err(e) => {
            check_error(&e);
            assert_eq!(e.http_status(), Some(status));
            let want = if status == 200 {
                ErrorKind::BadResponse
            } else {
                documented_kind(status)
            };
            assert_eq!(e.kind(), want, "HTTP {status}: {}", e.message());
        }
    }
}

/// The URL of a server on 127.0.0.1 (the shared test server, tests/support) answering every
/// request with a GetAvatar 200 whose `urlAvatar` is the `chatId` it was sent, so that a check
/// can see the id arrive intact. It lives as long as the process and keeps no requests.
fn echo_url() -> String {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER
        .get_or_init(|| Server::start_on("127.0.0.1:0", false, |r, _| echo(&r.body)))
        .url()
}

fn echo(body: &[u8]) -> Reply {
    let chat_id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("chatId").and_then(|c| c.as_str()).map(str::to_string));
    match chat_id {
        Some(id) => Reply::json(
            200,
            &serde_json::json!({"existsWhatsapp": true, "urlAvatar": id}).to_string(),
        ),
        None => Reply::json(400, "{\"error\":\"no chatId\"}"),
    }
}

/// Whether a call with these options may wait long for its pacing turn (a second request of
/// a client paced at one an hour waits an hour): such a client makes one request only.
fn slow_pacing(rate: f64) -> bool {
    rate != 0.0 && rate < 100.0
}

/// Target 2, input validation: id, token, chat id, api_url, proxy, user agent and every numeric
/// option, through the Rust API and through the C options struct of any version. Whatever is
/// refused is refused with a clean message; whatever is accepted makes calls that end with a
/// documented result, never a panic.
pub fn check_options(data: &[u8]) {
    let mut input = Input(data);
    let id = input.text();
    let token = input.text();
    let chat_id = input.text();
    let api_url = input.opt_text();
    let proxy = input.opt_text();
    let user_agent = input.opt_text();
    let options = Options {
        api_url: api_url.clone(),
        timeout: input.duration(),
        connect_timeout: input.duration(),
        max_retries: input.count() as u32,
        rate_limit_per_sec: input.rate(),
        user_agent: user_agent.clone(),
        ca_file: None,
        // Never from the environment: what is checked is what was given.
        proxy: Some(proxy.unwrap_or_default()),
        max_body_bytes: input.count(),
        allow_insecure_http: input.u8() % 2 == 1,
        max_in_flight: input.count() as u32,
        // Not fuzzed: a host pacing would leave a file per fuzzed instance id on the machine.
        pacing: greenapi::Pacing::Process,
        // Not fuzzed yet: reading more input here would change what the committed corpus means.
        download_hosts: Vec::new(),
        max_download_bytes: greenapi::DEFAULT_MAX_DOWNLOAD_BYTES,
        observer: None,
    };
    let made = Client::with_options(&id, &token, &options);
    let token_is_valid = readme_token_rule(&token);
    let client_options = match &made {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{}", e.message());
            if token_is_valid {
                check_error(e);
            }
            None
        }
        Ok(client) => {
            assert!(token_is_valid, "a token the README refuses was accepted");
            assert!(!format!("{client:?}").contains(&token));
            // Calls go to the echo server, never to the fuzzed host: only the path is kept (of
            // the URL as the client took it: without trailing slashes).
            let path = api_url
                .as_deref()
                .unwrap_or(DEFAULT_API_URL)
                .trim_end_matches('/')
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
                .unwrap_or_default();
            Some(Options {
                api_url: Some(format!("{}{path}", echo_url())),
                proxy: Some(String::new()),
                max_retries: call_retries(&options),
                ..options.clone()
            })
        }
    };
    drop(made);
    if let Some(call_options) = client_options {
        call_rust(&id, &token, &call_options, &chat_id);
    }
    check_c_options(&mut input, user_agent.as_deref(), &chat_id);
}

/// The token rule as the README states it: 16 to 512 characters from `A-Z a-z 0-9 - . _ ~`.
fn readme_token_rule(token: &str) -> bool {
    (MIN_TOKEN_CHARS..=512).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Retries are kept only where they end soon: a retry waits its pacing turn, and a one-second
/// timeout with ten retries and backoff would make one input take a minute.
fn call_retries(options: &Options) -> u32 {
    if slow_pacing(options.rate_limit_per_sec) {
        0
    } else if options.timeout < Duration::from_secs(1) {
        options.max_retries.min(1)
    } else {
        options.max_retries
    }
}

fn call_rust(id: &str, token: &str, options: &Options, chat_id: &str) {
    let client = match Client::with_options(id, token, options) {
        Ok(c) => Arc::new(c),
        // The fuzzed path may not fit behind the echo server's address (it made a valid URL
        // behind the fuzzed host's); that is a refusal, not a failed call.
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{}", e.message());
            return;
        }
    };
    let single = client.get_avatar(chat_id);
    check_call(&single, chat_id, token);
    if slow_pacing(options.rate_limit_per_sec) {
        return;
    }
    let ids = vec![
        chat_id.to_string(),
        "79001234567".to_string(),
        chat_id.to_string(),
    ];
    let items: Vec<_> = client.batch(ids.clone()).expect("3 ids").collect();
    assert_eq!(items.len(), ids.len());
    for item in &items {
        check_call(&item.result, &ids[item.index], token);
    }
}

/// A call against the echo server: an invalid chat id is refused, a valid one is answered with
/// itself (token scrubbed), unless the options made the call fail in a documented way.
fn check_call(result: &Result<greenapi::Avatar, greenapi::Error>, chat_id: &str, token: &str) {
    let normal = normalize_chat_id(chat_id);
    match (result, normal) {
        (Ok(a), Ok(normal)) => {
            assert_eq!(a.url_avatar, normal.replace(token, "***"));
            assert!(!format!("{a:?}").contains(token));
        }
        (Ok(a), Err(e)) => panic!(
            "{chat_id:?} was refused ({}) and answered: {a:?}",
            e.message()
        ),
        (Err(e), normal) => {
            assert!(e.message().len() <= MAX_MESSAGE_BYTES);
            assert!(!format!("{e:?} {e}").contains(token), "{e:?}");
            let allowed: &[ErrorKind] = if normal.is_err() {
                &[ErrorKind::InvalidArgument]
            } else {
                // What fuzzed options can do to a call on loopback: a 1 ms timeout, a body
                // limit under the answer's size.
                &[ErrorKind::Timeout, ErrorKind::BodyTooLarge]
            };
            assert!(allowed.contains(&e.kind()), "{chat_id:?}: {e:?}");
        }
    }
}

/// The C options struct, of any version, with the numeric fields and user agent fuzzed; the
/// client calls the echo server.
fn check_c_options(input: &mut Input<'_>, user_agent: Option<&str>, chat_id: &str) {
    let version = match input.u8() % 4 {
        0 => input.u32(),
        v => u32::from(v),
    };
    // Room for the newest struct whatever version is claimed: the library must read and
    // write no more than the version has, which ASan in the fuzz build would catch.
    let mut o = std::mem::MaybeUninit::<ga_client_options>::zeroed();
    // SAFETY: a whole struct of writable memory.
    let init = unsafe { ga_client_options_init(o.as_mut_ptr(), version) };
    let url = CString::new(echo_url()).expect("no NUL");
    let ua = user_agent.map(|s| CString::new(s.replace('\0', "")).expect("NUL removed"));
    let id = CString::new(ID).expect("no NUL");
    let token = CString::new(TOKEN).expect("no NUL");
    // SAFETY: initialised by ga_client_options_init or zeroed.
    let o = unsafe { o.assume_init_mut() };
    if init != GA_OK {
        assert_eq!(init, GA_INVALID_ARGUMENT);
        assert!(version == 0 || version > GA_CLIENT_OPTIONS_VERSION);
        return;
    }
    o.api_url = url.as_ptr();
    o.proxy = c"".as_ptr();
    o.user_agent = ua.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    o.timeout_ms = fuzzed_ms(input);
    o.connect_timeout_ms = fuzzed_ms(input);
    o.max_retries = input.count() as u32;
    o.rate_limit_per_sec = input.rate();
    o.max_body_bytes = input.count();
    // Any byte, as a C caller's bool may hold.
    // SAFETY: the field is one byte.
    unsafe {
        std::ptr::addr_of_mut!(o.allow_insecure_http)
            .cast::<u8>()
            .write(input.u8())
    };
    o.max_in_flight = input.count() as u32;
    if slow_pacing(o.rate_limit_per_sec) {
        o.max_retries = 0;
    } else if o.timeout_ms < 1000 {
        o.max_retries = o.max_retries.min(1);
    }
    let mut code = u32::MAX;
    // SAFETY: valid strings and an initialised struct of `version`.
    let client = unsafe { ga_client_new_with_options(id.as_ptr(), token.as_ptr(), o, &mut code) };
    // SAFETY: a static or thread-local NUL-terminated string.
    let last = unsafe { CStr::from_ptr(ga_last_error_message()) }
        .to_string_lossy()
        .into_owned();
    if client.is_null() {
        assert_eq!(code, GA_INVALID_ARGUMENT, "{last}");
        check_message(&last);
        assert!(!last.is_empty());
        return;
    }
    assert_eq!(code, GA_OK);
    assert!(last.is_empty(), "{last}");
    let chat = CString::new(chat_id.replace('\0', "")).expect("NUL removed");
    let call_ok = [GA_OK, GA_INVALID_ARGUMENT, GA_TIMEOUT, GA_BODY_TOO_LARGE];
    // SAFETY: a live client and a NUL-terminated string.
    let r = unsafe { ga_get_avatar(client, chat.as_ptr()) };
    // SAFETY: never NULL.
    check_c_result(unsafe { &*r }, &call_ok);
    // SAFETY: from ga_get_avatar.
    unsafe { ga_result_free(r) };
    if !slow_pacing(o.rate_limit_per_sec) {
        let ids = [chat.as_ptr(), std::ptr::null(), c"79001234567".as_ptr()];
        let mut out = [std::ptr::null_mut(); 3];
        // SAFETY: 3 ids and 3 writable slots.
        let code = unsafe { ga_get_avatars(client, ids.as_ptr(), 3, out.as_mut_ptr()) };
        assert_eq!(code, GA_OK);
        for (i, r) in out.iter().enumerate() {
            let allowed: &[ga_code] = if i == 1 {
                &[GA_NULL_ARGUMENT]
            } else {
                &call_ok
            };
            // SAFETY: never NULL on GA_OK.
            check_c_result(unsafe { &**r }, allowed);
        }
        // SAFETY: 3 results from ga_get_avatars.
        unsafe { ga_results_free(out.as_mut_ptr(), 3) };
        assert!(out.iter().all(|r| r.is_null()));
    }
    // SAFETY: from ga_client_new_with_options, no call running.
    unsafe { ga_client_free(client) };
}

fn fuzzed_ms(input: &mut Input<'_>) -> u32 {
    match input.u8() % 5 {
        0 => 0,
        1 => 1,
        2 => 86_400_000,
        3 => 86_400_001,
        _ => input.u32(),
    }
}

/// What every C result promises, and that its code is one of `allowed`.
fn check_c_result(r: &ga_result, allowed: &[ga_code]) {
    let message = || {
        // SAFETY: NULL or NUL-terminated, alive until the result is freed.
        (!r.message.is_null()).then(|| unsafe { CStr::from_ptr(r.message) }.to_string_lossy())
    };
    assert!(
        allowed.contains(&r.code),
        "code {} not in {allowed:?}: {:?}",
        r.code,
        message()
    );
    assert!(!r.url_avatar.is_null());
    // SAFETY: never NULL, NUL-terminated, alive until the result is freed.
    let url = unsafe { CStr::from_ptr(r.url_avatar) }.to_string_lossy();
    assert!(!url.contains(TOKEN));
    if r.code == GA_OK {
        assert!(r.message.is_null());
    } else {
        assert!(!r.message.is_null() && url.is_empty());
        // SAFETY: as above.
        check_message(&unsafe { CStr::from_ptr(r.message) }.to_string_lossy());
    }
}

/// The client of target 3, made once: the fuzzer calls the check many times a second.
struct CClient(*mut ga_client);
// SAFETY: a `ga_client` is thread-safe by contract; the pointer is never freed.
unsafe impl Send for CClient {}
// SAFETY: as above.
unsafe impl Sync for CClient {}

/// Target 3, the C boundary: arbitrary bytes as chat ids through `ga_get_avatar` and
/// `ga_get_avatars`, against the echo server. The input is split at NUL bytes into chat ids
/// (at most 64); the first goes through `ga_get_avatar`, all of them through one
/// `ga_get_avatars`, where an id of the single byte 0xff stands for a NULL pointer.
pub fn check_c_chat_ids(data: &[u8]) {
    static CLIENT: OnceLock<CClient> = OnceLock::new();
    let client = CLIENT
        .get_or_init(|| CClient(support::c_client(&echo_url(), TOKEN, |_| {})))
        .0;
    let data = with_token(data);
    let ids: Vec<Option<CString>> = data
        .split(|&b| b == 0)
        .take(64)
        .map(|piece| (piece != b"\xff").then(|| CString::new(piece).expect("split at NUL")))
        .collect();
    let ptrs: Vec<*const c_char> = ids
        .iter()
        .map(|id| id.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()))
        .collect();
    // SAFETY: a live client; NULL or a NUL-terminated string.
    let single = unsafe { ga_get_avatar(client, ptrs[0]) };
    // SAFETY: never NULL.
    check_c_chat_result(unsafe { &*single }, ids[0].as_deref());
    // SAFETY: from ga_get_avatar.
    unsafe { ga_result_free(single) };
    let mut out = vec![std::ptr::null_mut(); ptrs.len()];
    // SAFETY: `ptrs.len()` ids and as many writable slots.
    let code = unsafe { ga_get_avatars(client, ptrs.as_ptr(), ptrs.len(), out.as_mut_ptr()) };
    assert_eq!(code, GA_OK);
    for (r, id) in out.iter().zip(&ids) {
        // SAFETY: never NULL on GA_OK.
        check_c_chat_result(unsafe { &**r }, id.as_deref());
    }
    // SAFETY: results of ga_get_avatars.
    unsafe { ga_results_free(out.as_mut_ptr(), out.len()) };
}

/// A result for `chat_id` (None: NULL) from the echo server: refused exactly when the core
/// refuses the id, else answered with the normalised id, the token scrubbed from it.
fn check_c_chat_result(r: &ga_result, chat_id: Option<&CStr>) {
    let Some(chat_id) = chat_id else {
        return check_c_result(r, &[GA_NULL_ARGUMENT]);
    };
    let Ok(text) = chat_id.to_str() else {
        return check_c_result(r, &[GA_INVALID_ARGUMENT]);
    };
    match normalize_chat_id(text) {
        Err(_) => check_c_result(r, &[GA_INVALID_ARGUMENT]),
        Ok(normal) => {
            check_c_result(r, &[GA_OK]);
            // SAFETY: never NULL, NUL-terminated.
            let url = unsafe { CStr::from_ptr(r.url_avatar) }
                .to_str()
                .expect("UTF-8");
            assert_eq!(url, normal.replace(TOKEN, "***"), "sent {text:?}");
            assert_eq!((r.http_status, r.exists_whatsapp, r.attempts), (200, 1, 1));
        }
    }
}
