//! Stress through the C functions: 16 threads share one client and make 2,000 calls each,
//! single calls and batches mixed, against a server that answers each request at random with
//! 200, 429, 500, a cut-off body, a reset, or a delay past the timeout, and logs what it did.
//! Every result must carry the code of what the server did to that call's last request (the
//! chat ids are unique, and a 200 echoes the id), every call must return, and in a second run a
//! 17th thread shuts the client down near the end.
//!
//! `GA_STRESS_CALLS` (calls per thread, default 2000) and `GA_STRESS_TIMEOUT_MS` (default 3000)
//! make the same test fit under valgrind and ThreadSanitizer (`make test-valgrind`,
//! `make sanitize`). The timeout is far above what a loaded 2-core machine needs for an
//! answer, so that only the server's delays time out: the check is on codes, never on time.

mod support;

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use greenapi::ffi::batch::{ga_get_avatars, ga_results_free};
use greenapi::ffi::client::{ga_client, ga_client_free, ga_client_shutdown, ga_get_avatar};
use greenapi::ffi::code::*;
use greenapi::ffi::result::{ga_result, ga_result_free};
use support::{Reply, Server, TOKEN};

const THREADS: usize = 16;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the server did to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Ok,
    TooMany,
    ServerError,
    Cut,
    Reset,
    Delay,
}

impl Action {
    /// Per mille, in order; the rest is `Ok`.
    const ODDS: [(Action, u64); 4] = [
        (Action::TooMany, 80),
        (Action::ServerError, 80),
        (Action::Cut, 40),
        (Action::Reset, 40),
    ];

    fn pick(index: usize) -> Action {
        // A delay holds a thread for a whole timeout: one request in 1,000, at fixed places, so
        // that a short run (under valgrind) has one too.
        if index % 1000 == 500 {
            return Action::Delay;
        }
        // splitmix64 of the request's index: random enough, and the same on every run.
        let mut z = (index as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let mut roll = (z ^ (z >> 31)) % 1000;
        for (action, odds) in Action::ODDS {
            if roll < odds {
                return action;
            }
            roll -= odds;
        }
        Action::Ok
    }

    fn code(self) -> ga_code {
        match self {
            Action::Ok => GA_OK,
            Action::TooMany => GA_RATE_LIMITED,
            Action::ServerError => GA_SERVER_ERROR,
            Action::Cut | Action::Reset => GA_NETWORK,
            Action::Delay => GA_TIMEOUT,
        }
    }
}

/// The server's log: for each chat id, what it did to each request for it, in order.
type Log = Arc<Mutex<HashMap<String, Vec<Action>>>>;

fn chaos_server(timeout: Duration) -> (Server, Log) {
    let log: Log = Arc::default();
    let seen = log.clone();
    let server = Server::start(move |req, index| {
        let chat_id = serde_json::from_slice::<serde_json::Value>(&req.body).unwrap()["chatId"]
            .as_str()
            .unwrap()
            .to_string();
        let action = Action::pick(index);
        let ok = || {
            Reply::json(
                200,
                &serde_json::json!({
                    "existsWhatsapp": true,
                    "urlAvatar": format!("https://pps.whatsapp.net/{chat_id}")
                })
                .to_string(),
            )
        };
        let reply = match action {
            Action::Ok => ok(),
            Action::TooMany => Reply::text(429, "slow down"),
            Action::ServerError => Reply::text(500, &format!("boom at {}", req.path)),
            Action::Cut => Reply::Cut {
                declared: 100,
                sent: 10,
            },
            Action::Reset => Reply::Reset,
            Action::Delay => Reply::Delay(timeout * 2, Box::new(ok())),
        };
        seen.lock()
            .unwrap()
            .entry(chat_id)
            .or_default()
            .push(action);
        reply
    });
    (server, log)
}

struct Shared(*mut ga_client);
// SAFETY: a ga_client is thread-safe by contract; it is freed after every thread is joined.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

fn new_client(url: &str, timeout_ms: u32) -> *mut ga_client {
    // One request per call (a stale pooled connection aside): its code is the call's.
    support::c_client(url, TOKEN, |o| {
        o.timeout_ms = timeout_ms;
        o.connect_timeout_ms = timeout_ms;
        // max_in_flight bounds every request of the client, and a wait for room on the wire
        // counts in the call's timeout: room for all 16 threads' batches at once, so that only
        // the server's delays time out.
        o.max_in_flight = 256;
    })
}

/// One call's outcome, as read from its `ga_result`.
struct Outcome {
    chat_id: String,
    code: ga_code,
    url: String,
    /// The client had been shut down before the call started.
    after_shutdown: bool,
}

fn read(r: *mut ga_result, chat_id: String, after_shutdown: bool) -> Outcome {
    // SAFETY: a result from ga_get_avatar(s), never NULL.
    let r = unsafe { &*r };
    // SAFETY: never NULL, NUL-terminated, alive until the result is freed.
    let url = unsafe { CStr::from_ptr(r.url_avatar) }
        .to_string_lossy()
        .into_owned();
    if r.code != GA_OK {
        // SAFETY: not NULL for a failure.
        let message = unsafe { CStr::from_ptr(r.message) }.to_string_lossy();
        assert!(!message.contains(TOKEN), "{message}");
    }
    Outcome {
        chat_id,
        code: r.code,
        url,
        after_shutdown,
    }
}

/// What one thread does: `calls` calls, alternating runs of single calls and batches of 2 to
/// 12 ids, each id used once.
fn worker(
    client: &Shared,
    thread: usize,
    calls: usize,
    done: &AtomicUsize,
    shut: &AtomicBool,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(calls);
    let mut seq = 0;
    while out.len() < calls {
        let left = calls - out.len();
        let n = if seq % 3 == 2 {
            (2 + seq % 11).min(left)
        } else {
            1
        };
        let ids: Vec<String> = (0..n)
            .map(|k| format!("7{thread:02}{:06}@c.us", seq * 16 + k))
            .collect();
        let after_shutdown = shut.load(Ordering::Acquire);
        if n == 1 {
            let id = CString::new(ids[0].clone()).unwrap();
            // SAFETY: a live client and a NUL-terminated string.
            let r = unsafe { ga_get_avatar(client.0, id.as_ptr()) };
            out.push(read(r, ids[0].clone(), after_shutdown));
            // SAFETY: from ga_get_avatar.
            unsafe { ga_result_free(r) };
        } else {
            let owned: Vec<CString> = ids
                .iter()
                .map(|s| CString::new(s.as_str()).unwrap())
                .collect();
            let ptrs: Vec<*const c_char> = owned.iter().map(|s| s.as_ptr()).collect();
            let mut results = vec![std::ptr::null_mut(); n];
            // SAFETY: n ids and n writable slots.
            let code = unsafe { ga_get_avatars(client.0, ptrs.as_ptr(), n, results.as_mut_ptr()) };
            assert_eq!(code, GA_OK);
            for (r, id) in results.iter().zip(&ids) {
                out.push(read(*r, id.clone(), after_shutdown));
            }
            // SAFETY: n results of ga_get_avatars.
            unsafe { ga_results_free(results.as_mut_ptr(), n) };
        }
        done.fetch_add(n, Ordering::Relaxed);
        seq += 1;
    }
    out
}

fn run(with_shutdown: bool) {
    // One run at a time: two would only load the machine twice as much.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let calls = env_or("GA_STRESS_CALLS", 2000);
    let timeout_ms = env_or("GA_STRESS_TIMEOUT_MS", 3000) as u32;
    let (server, log) = chaos_server(Duration::from_millis(timeout_ms.into()));
    let client = Arc::new(Shared(new_client(&server.url(), timeout_ms)));
    let done = Arc::new(AtomicUsize::new(0));
    let shut = Arc::new(AtomicBool::new(false));
    let total = THREADS * calls;
    // A hang guard, not a timing check: a call stuck past every timeout would otherwise hold
    // the test (and CI) forever.
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(900));
        eprintln!("stress: still running after 15 minutes: a call hangs");
        std::process::abort();
    });
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (client, done, shut) = (client.clone(), done.clone(), shut.clone());
            thread::spawn(move || worker(&client, t, calls, &done, &shut))
        })
        .collect();
    let stopper = with_shutdown.then(|| {
        let (client, done, shut) = (client.clone(), done.clone(), shut.clone());
        thread::spawn(move || {
            while done.load(Ordering::Relaxed) < total * 9 / 10 {
                thread::sleep(Duration::from_millis(5));
            }
            // SAFETY: a live client; other threads are calling it, which shutdown allows.
            unsafe { ga_client_shutdown(client.0) };
            shut.store(true, Ordering::Release);
        })
    });
    let outcomes: Vec<Outcome> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("a worker panicked"))
        .collect();
    if let Some(s) = stopper {
        s.join().unwrap();
    }
    // SAFETY: every thread that used it was joined.
    unsafe { ga_client_free(client.0) };

    assert_eq!(outcomes.len(), total);
    let log = log.lock().unwrap();
    let mut by_code: HashMap<ga_code, usize> = HashMap::new();
    for o in &outcomes {
        *by_code.entry(o.code).or_default() += 1;
        let done_by_server = log.get(&o.chat_id).and_then(|actions| actions.last());
        if o.after_shutdown {
            assert_eq!(o.code, GA_CANCELLED, "{} after shutdown", o.chat_id);
            assert!(
                done_by_server.is_none(),
                "{} sent after shutdown",
                o.chat_id
            );
            continue;
        }
        match done_by_server {
            None => assert_eq!(o.code, GA_CANCELLED, "{} was never sent", o.chat_id),
            Some(action) => {
                let cancelled = with_shutdown && o.code == GA_CANCELLED;
                assert!(
                    o.code == action.code() || cancelled,
                    "{}: code {} for {action:?} ({:?})",
                    o.chat_id,
                    o.code,
                    log[&o.chat_id]
                );
                if o.code == GA_OK {
                    assert_eq!(o.url, format!("https://pps.whatsapp.net/{}", o.chat_id));
                }
            }
        }
    }
    // Every kind of answer happened, so every path above was taken.
    let seen: Vec<Action> = log.values().flatten().copied().collect();
    for action in Action::ODDS
        .map(|(a, _)| a)
        .into_iter()
        .chain([Action::Delay])
    {
        assert!(
            seen.contains(&action),
            "no {action:?} in {} requests",
            seen.len()
        );
    }
    if with_shutdown {
        assert!(
            by_code.get(&GA_CANCELLED).copied().unwrap_or(0) > 0,
            "{by_code:?}"
        );
    }
    eprintln!("{total} calls, {} requests: {by_code:?}", seen.len());
}

#[test]
fn sixteen_threads_mixed_calls_and_batches() {
    run(false);
}

#[test]
fn sixteen_threads_and_a_shutdown_near_the_end() {
    run(true);
}
