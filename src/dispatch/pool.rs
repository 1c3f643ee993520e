//! The dispatcher's threads: the granter, which alone sleeps in the pacer until a turn is due,
//! and the client's worker pool, which runs batch entries. Workers are started as entries need
//! them, up to `max_in_flight`, and end after [`IDLE`] without work; so does the granter.

use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use super::{Given, Inner, State, Work};
use crate::error::{Error, ErrorKind};

/// How long an idle worker or granter stays before its thread ends.
const IDLE: Duration = Duration::from_secs(10);
/// Turns spaced closer than this are taken by the granter itself (see `grant_turns`).
const HAND_OVER_FROM: Duration = Duration::from_millis(10);
/// The last stretch of a wait for a turn is spun, not slept: a sleeping thread wakes tens of
/// microseconds late, and each late turn pushes every later one back (the next is due an
/// interval after the turn actually taken). 0.2 ms of spinning a turn is nothing at 10 a second;
/// at thousands a second the granter spins most of the time, the price of keeping that rate.
const SPIN: Duration = Duration::from_micros(200);
/// The shortest look again while something waits for room on the wire (the in-flight target
/// grows with the age of the oldest request out).
const MIN_RECHECK: Duration = Duration::from_millis(10);

/// The granter: takes each turn as it comes due and gives it away (see the module doc of
/// `dispatch`).
pub(super) fn grant_turns(inner: &Arc<Inner>) {
    fine_timer();
    loop {
        let mut st = inner.lock();
        loop {
            if st.closed || st.ring.is_empty() {
                st.granter_running = false;
                drop(st);
                inner.gone.notify_all();
                return;
            }
            let ready = st.anything_ready();
            if ready && st.untaken == 0 && st.has_room(inner) {
                break;
            }
            let wait = if ready {
                inner.pacer.interval().max(MIN_RECHECK)
            } else {
                IDLE
            };
            let (next, timeout) = inner
                .granter
                .wait_timeout(st, wait)
                .unwrap_or_else(|p| p.into_inner());
            st = next;
            if timeout.timed_out() && !ready && !st.anything_ready() {
                st.granter_running = false;
                drop(st);
                inner.gone.notify_all();
                return;
            }
        }
        drop(st);
        // Until the turn is due, not taking it: the thread that sends takes it.
        if !inner.pacer.until_due(|d| inner.sleep_for_turn(d)) {
            continue;
        }
        // Without pacing there is no turn to keep close to the send, and at fast rates a
        // hand-over per turn (the recipient woken, then taking it) would add its wake-up to
        // every interval: then the turn is taken here (only a Retry-After pause refuses it).
        let fast = !inner.pacer.is_paced() || inner.pacer.interval() < HAND_OVER_FROM;
        let taken = fast && inner.pacer.acquire(|_| false);
        let mut st = inner.lock();
        // A call or a worker may have taken the room meanwhile (the lock was let go): no turn
        // is given beyond it. Nothing is lost: a paced turn was not taken, an unpaced one
        // costs nothing.
        if !st.has_room(inner) {
            continue;
        }
        if let Some(Given::Work(w)) = st.give_turn(inner, taken) {
            hand_to_worker(inner, st, w);
        }
    }
}

/// Timer slack of a microsecond for the granter (Linux's default is 50): at thousands of
/// turns a second, a sleep that overshoots by 50 us costs a third of the rate.
fn fine_timer() {
    // Miri has no prctl; the slack only matters for timing, which Miri does not measure.
    #[cfg(not(miri))]
    // SAFETY: sets this thread's timer slack; no memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0)
    };
}

impl Inner {
    /// The granter's sleep until a turn is due; false once the dispatcher is closed or nothing
    /// waits for a turn any more (a call that gave up: its turn is left to others).
    fn sleep_for_turn(&self, d: Duration) -> bool {
        let st = self.lock();
        if st.closed || !st.anything_ready() {
            return false;
        }
        if d <= SPIN {
            drop(st);
            let end = std::time::Instant::now() + d;
            while std::time::Instant::now() < end {
                std::hint::spin_loop();
            }
            // Not the lock again here: a worker holding it would make the turn late. A close
            // or a source gone meanwhile is seen when the turn is given.
            return true;
        }
        let st = self
            .turn_due
            .wait_timeout(st, d - SPIN)
            .unwrap_or_else(|p| p.into_inner())
            .0;
        !st.closed && st.anything_ready()
    }

    /// A turn that is due now, for a batch entry, without waiting: what a worker that just
    /// finished takes next, with no hand-over through the granter.
    fn turn_now(self: &Arc<Self>) -> Option<Work> {
        let mut st = self.lock();
        // A turn given and not taken yet is its recipient's: not raced for.
        if st.closed || st.untaken > 0 || !st.anything_ready() || !st.has_room(self) {
            return None;
        }
        // The place on the wire is held while the turn is tried for (see `Inner::turn`).
        st.in_flight += 1;
        drop(st);
        let due = self.pacer.acquire(|_| false);
        let mut st = self.lock();
        st.in_flight -= 1;
        if !due {
            return None;
        }
        match st.give_turn(self, true) {
            Some(Given::Work(w)) => Some(w),
            _ => None,
        }
    }
}

/// Queues `w` for a worker: an idle one is woken, or a new one started if all are busy.
fn hand_to_worker(inner: &Arc<Inner>, mut st: MutexGuard<'_, State>, w: Work) {
    st.work.push_back(w);
    if st.work.len() <= st.idle_workers {
        drop(st);
        inner.work_ready.notify_one();
        return;
    }
    if st.workers >= inner.max_in_flight {
        return;
    }
    st.workers += 1;
    let pool = inner.clone();
    let spawned = std::thread::Builder::new()
        .name("greenapi-worker".into())
        .spawn(move || work(&pool));
    if let Ok(handle) = spawned {
        // Those that ended for want of work meanwhile are detached: nothing waits for them.
        st.worker_threads.retain(|h| !h.is_finished());
        st.worker_threads.push(handle);
        return;
    }
    st.workers -= 1;
    if st.workers > 0 {
        // The entry waits for a worker that is busy now.
        return;
    }
    // No worker at all: the queued entries fail rather than wait forever.
    let failed: Vec<Work> = st.work.drain(..).collect();
    drop(st);
    for w in failed {
        let Work {
            job,
            batch,
            index,
            grant,
        } = w;
        drop(grant);
        inner.complete(
            batch,
            index,
            Err(Error::new(
                ErrorKind::Network,
                "cannot start a thread for the batch",
            )),
        );
        drop(job);
    }
}

/// A worker: runs entries until there is none for [`IDLE`].
fn work(inner: &Arc<Inner>) {
    let mut st = inner.lock();
    loop {
        if let Some(w) = st.work.pop_front() {
            drop(st);
            let mut next = Some(w);
            while let Some(w) = next.take() {
                run(inner, w);
                next = inner.turn_now();
            }
            st = inner.lock();
            continue;
        }
        // No batch any more: nothing will come to a worker until a new one starts.
        if st.closed || st.batches.is_empty() {
            break;
        }
        st.idle_workers += 1;
        let (next, timeout) = inner
            .work_ready
            .wait_timeout(st, IDLE)
            .unwrap_or_else(|p| p.into_inner());
        st = next;
        st.idle_workers -= 1;
        if timeout.timed_out() && st.work.is_empty() {
            break;
        }
    }
    st.workers -= 1;
    drop(st);
    inner.gone.notify_all();
}

/// One entry, its retries included, and its result to the batch. A panic in the core is the
/// entry's error: the batch still gets exactly one result for it.
fn run(inner: &Arc<Inner>, w: Work) {
    let Work {
        job,
        batch,
        index,
        grant,
    } = w;
    let result = crate::panic::catch(|| job.client.run_entry(&job, batch, index, grant))
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Network,
                "internal error: the greenapi core panicked (this is a bug)",
            ))
        });
    inner.complete(batch, index, result);
    // Possibly the last hold on the client: dropped with no lock held.
    drop(job);
}
