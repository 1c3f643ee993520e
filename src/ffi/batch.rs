//! `ga_get_avatars`: many chat ids in one call, results in input order.

use std::ffi::{c_char, c_int, c_void};
use std::time::Duration;

use std::sync::Arc;

use super::boundary::non_null;
use super::client::{client_arg, ga_client};
use super::code::{GA_OK, ga_code};
use super::result::{self, ga_result, ga_result_free};
use super::{ArgError, guard, str_arg};
use crate::Client;
use crate::batch::plan::Plan;
use crate::batch::{MAX_BATCH, Next};

/// The most chat ids one `ga_get_avatars` call takes.
pub const GA_MAX_BATCH: usize = 1_000_000;
const _: () = assert!(GA_MAX_BATCH == MAX_BATCH, "the C limit is the core's");

/// How long the calling thread waits for a result at a time: the wait is woken by a result or
/// a shutdown, and the progress callback is called only after a result, so this is no poll.
const WAIT: Duration = Duration::from_secs(3600);

/// Called by `ga_get_avatars_with_progress` after each entry's result, with how many entries
/// have one and how many there are, and the `user` pointer given to it. Always from the thread
/// that called `ga_get_avatars_with_progress`, never concurrently. Return 0 to go on; any other
/// value stops the batch: no new request starts, requests in flight finish, every entry not
/// asked gets `GA_CANCELLED`, and the callback is not called again.
///
/// It must return normally: a C++ exception, a `longjmp` or anything else that leaves it
/// without returning would unwind through the library's frames, which cannot be done safely, and
/// aborts the process. Report a failure by returning non-zero (the C++ wrapper, greenapi.hpp,
/// catches its callback's exceptions, stops the batch and rethrows the first after the call).
pub type ga_progress_fn =
    Option<unsafe extern "C" fn(done: usize, total: usize, user: *mut c_void) -> c_int>;

/// Asks for the avatars of `count` chat ids at once: up to `max_in_flight` requests on the wire,
/// in the client's pacing (shared with every other call on the client), each chat id checked
/// and normalised as `ga_get_avatar` does, duplicates (after normalisation) asked once.
/// Blocks until every entry has its result.
///
/// On `GA_OK`, `results_out[i]` is the result for `chat_ids[i]`, never NULL: a NULL, malformed
/// or failed chat id gives that entry its own code and never fails the batch. Free them with
/// `ga_results_free(results_out, count)`. Returns `GA_NULL_ARGUMENT` (NULL `client`,
/// `chat_ids` or `results_out`) or `GA_INVALID_ARGUMENT` (`count` over `GA_MAX_BATCH`), and
/// then leaves `results_out` untouched. `ga_client_shutdown` from another thread stops a batch:
/// entries not yet asked get `GA_CANCELLED`.
///
/// # Safety
/// `client` is NULL or a live client; `chat_ids` is NULL or an array of `count` pointers, each
/// NULL or a NUL-terminated string; `results_out` is NULL or an array of `count` writable
/// pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_get_avatars(
    client: *const ga_client,
    chat_ids: *const *const c_char,
    count: usize,
    results_out: *mut *mut ga_result,
) -> ga_code {
    // SAFETY: forwarded contract.
    unsafe {
        ga_get_avatars_with_progress(
            client,
            chat_ids,
            count,
            results_out,
            None,
            std::ptr::null_mut(),
        )
    }
}

/// `ga_get_avatars`, calling `progress` (may be NULL) after each entry's result; see
/// `ga_progress_fn` for what its return value does.
///
/// # Safety
/// As for `ga_get_avatars`; `progress` is NULL or a function safe to call with `user`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_get_avatars_with_progress(
    client: *const ga_client,
    chat_ids: *const *const c_char,
    count: usize,
    results_out: *mut *mut ga_result,
    progress: ga_progress_fn,
    user: *mut c_void,
) -> ga_code {
    guard(|| {
        // SAFETY: a live client by the caller's contract.
        let client = unsafe { client_arg(client) }?;
        non_null(chat_ids, "chat_ids")?;
        non_null(results_out, "results_out")?;
        if count > GA_MAX_BATCH {
            return Err(ArgError::invalid(format!(
                "count is over GA_MAX_BATCH ({GA_MAX_BATCH})"
            )));
        }
        // Results are gathered first and handed over only when every entry has one, so that a
        // caught panic leaves the caller's array as it was.
        // SAFETY: forwarded contract.
        let out = unsafe { collect(client, chat_ids, count, progress, user) };
        for (i, r) in out.into_iter().enumerate() {
            // SAFETY: `results_out` holds `count` writable pointers by the caller's contract.
            unsafe { results_out.add(i).write(r) };
        }
        Ok(GA_OK)
    })
}

/// Every entry's result, in input order.
///
/// # Safety
/// As for `ga_get_avatars_with_progress`, `client` checked.
unsafe fn collect(
    client: &Arc<Client>,
    chat_ids: *const *const c_char,
    count: usize,
    progress: ga_progress_fn,
    user: *mut c_void,
) -> Vec<*mut ga_result> {
    let mut out: Vec<*mut ga_result> = vec![std::ptr::null_mut(); count];
    let mut progress = Progress {
        f: progress,
        user,
        total: count,
        stop_asked: false,
    };
    // The entries the core is given, and for each the entry of the caller's it answers: only
    // kept once a NULL or non-UTF-8 id was left out (until then, the same).
    let mut entry_of: Option<Vec<u32>> = None;
    let mut refused_here = 0usize;
    let ids = (0..count).filter_map(|i| {
        // SAFETY: `chat_ids` holds `count` pointers by the caller's contract.
        let p = unsafe { *chat_ids.add(i) };
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        match unsafe { str_arg(p, "chat_id") } {
            Ok(s) => {
                if let Some(map) = entry_of.as_mut() {
                    map.push(i as u32);
                }
                Some(s)
            }
            Err(e) => {
                out[i] = result::from_code(e.code, &format!("chat_ids[{i}]: {}", e.message));
                refused_here += 1;
                entry_of.get_or_insert_with(|| (0..i as u32).collect());
                None
            }
        }
    });
    let plan = Plan::new(ids);
    let entry = |index: usize| entry_of.as_ref().map_or(index, |m| m[index] as usize);
    let mut done = 0usize;
    for _ in 0..refused_here {
        done += 1;
        // SAFETY: forwarded contract.
        unsafe { progress.report(done) };
    }
    let mut batch = match client.batch_of(plan) {
        Ok(b) => b,
        Err(e) => {
            for slot in out.iter_mut().filter(|s| s.is_null()) {
                *slot = result::from_error(&e);
            }
            return out;
        }
    };
    if progress.stop_asked {
        batch.stop();
    }
    loop {
        match batch.next_timeout(WAIT) {
            Next::Item(item) => {
                out[entry(item.index)] = match item.result {
                    Ok(a) => result::from_avatar(a),
                    Err(e) => result::from_error(&e),
                };
                done += 1;
                // SAFETY: forwarded contract.
                if unsafe { progress.report(done) } {
                    batch.stop();
                }
            }
            Next::Pending => {}
            Next::Done => break,
        }
    }
    out
}

/// The caller's progress callback.
struct Progress {
    f: ga_progress_fn,
    user: *mut c_void,
    total: usize,
    /// The callback asked to stop. From then on it is not called again: a C++ wrapper that
    /// turned an exception into a stop would otherwise see, and keep, a later exception instead
    /// of the first.
    stop_asked: bool,
}

impl Progress {
    /// Tells the callback `done` entries have a result; whether the batch is to stop.
    ///
    /// # Safety
    /// `f` is NULL or safe to call with `user`.
    unsafe fn report(&mut self, done: usize) -> bool {
        if !self.stop_asked {
            // SAFETY: a function the caller gave for exactly this, with the caller's pointer.
            self.stop_asked = self
                .f
                .is_some_and(|f| unsafe { f(done, self.total, self.user) } != 0);
        }
        self.stop_asked
    }
}

/// Frees the `count` results of a `ga_get_avatars` call and sets each pointer to NULL. NULL
/// `results` is ignored, and so are NULL entries.
///
/// # Safety
/// `results` is NULL or an array of `count` pointers, each NULL or a result not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_results_free(results: *mut *mut ga_result, count: usize) {
    if results.is_null() {
        return;
    }
    for i in 0..count {
        // SAFETY: `results` holds `count` pointers by the caller's contract.
        unsafe {
            let slot = results.add(i);
            ga_result_free(slot.read());
            slot.write(std::ptr::null_mut());
        }
    }
}
