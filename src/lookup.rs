//! Name lookups that a call can give up on.
//!
//! The system resolver (`getaddrinfo`) blocks for as long as it likes: with a resolver that drops
//! queries, 5 s per attempt and server, whatever the caller's timeout. So the lookup runs on a
//! thread of its own, and the call waits for it in slices of [`SLICE`]: it ends at its
//! deadline (`connect_timeout`) or when it is stopped (shutdown, Ctrl-C), and leaves the thread
//! to finish alone. Callers that need the same name at the same time share one lookup, and a
//! caller that comes while an abandoned lookup still runs waits for that one: at most one thread
//! per name is ever blocked in the resolver, and at most [`MAX_LOOKUPS`] in all.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use ureq::Timeout;

use crate::call::{SLICE, keep_waiting};
use crate::fork::ProcessLocal;

/// Most names looked up at once in the process (each a thread while it runs).
pub(crate) const MAX_LOOKUPS: usize = 16;

type Answer = Result<Vec<SocketAddr>, (io::ErrorKind, String)>;

/// One lookup in progress, shared by every caller of its name.
#[derive(Default)]
struct Pending {
    answer: Mutex<Option<Answer>>,
    done: Condvar,
}

type Key = (String, u16);

/// The lookups in progress, per process: a forked child never waits for one of its parent's
/// (whose thread is not in the child), nor for a lock one of the parent's threads held.
static IN_PROGRESS: ProcessLocal<Mutex<HashMap<Key, Arc<Pending>>>> = ProcessLocal::new();

fn in_progress() -> MutexGuard<'static, HashMap<Key, Arc<Pending>>> {
    IN_PROGRESS
        .get(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// The addresses of `host` (a name, or an IP literal, IPv6 in brackets or not) at `port`,
/// waiting at most until `deadline` and stopping when the current call is stopped.
pub(crate) fn lookup(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Result<Vec<SocketAddr>, ureq::Error> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let pending = join_or_start((bare.to_string(), port))?;
    let mut answer = pending.answer.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(answer) = answer.as_ref() {
            return answer
                .clone()
                .map_err(|(kind, text)| io::Error::new(kind, text).into());
        }
        keep_waiting(deadline, Timeout::Connect)?;
        let slice = deadline.map_or(SLICE, |d| {
            d.saturating_duration_since(Instant::now()).min(SLICE)
        });
        answer = pending
            .done
            .wait_timeout(answer, slice)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

/// The lookup in progress for `key`, or a new one.
fn join_or_start(key: Key) -> Result<Arc<Pending>, ureq::Error> {
    let mut all = in_progress();
    if let Some(p) = all.get(&key) {
        return Ok(p.clone());
    }
    if all.len() >= MAX_LOOKUPS {
        return Err(io::Error::other(format!(
            "{MAX_LOOKUPS} name lookups are already in progress (the system resolver is not \
             answering)"
        ))
        .into());
    }
    let pending = Arc::new(Pending::default());
    let (theirs, name) = (pending.clone(), key.clone());
    std::thread::Builder::new()
        .name("greenapi-dns".into())
        .spawn(move || run(name, &theirs))
        .map_err(|e| io::Error::other(format!("cannot start a thread for a name lookup: {e}")))?;
    all.insert(key, pending.clone());
    Ok(pending)
}

/// The lookup itself, on its own thread: the answer for every waiter, then out of the table.
fn run(key: Key, pending: &Arc<Pending>) {
    let answer = (key.0.as_str(), key.1)
        .to_socket_addrs()
        .map(Iterator::collect)
        .map_err(|e| (e.kind(), e.to_string()));
    *pending.answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer);
    pending.done.notify_all();
    let mut all = in_progress();
    if all.get(&key).is_some_and(|p| Arc::ptr_eq(p, pending)) {
        all.remove(&key);
    }
}
