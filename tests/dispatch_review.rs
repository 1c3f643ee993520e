//! A hostile review of the dispatcher (issue 16): each test is an attack a user of the library
//! could make without meaning to. Counts, never times: a sleep here only makes a state last
//! (a caller that does not take its results), and a hang shows as a bounded wait that fails.

mod support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use greenapi::{Client, ErrorKind, Next, Options};
use support::{ID, Reply, Server, TOKEN, asked};

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:06}@c.us")).collect()
}

/// Takes every result left, failing (instead of hanging) when none comes for `patience`.
fn drain(batch: &mut greenapi::Batch, patience: Duration) -> Vec<greenapi::Item> {
    let mut got = Vec::new();
    let mut last = Instant::now();
    loop {
        match batch.next_timeout(Duration::from_millis(200)) {
            Next::Item(i) => {
                got.push(i);
                last = Instant::now();
            }
            Next::Done => return got,
            Next::Pending => assert!(
                last.elapsed() < patience,
                "no result for {patience:?} after {} results (done {} of {})",
                got.len(),
                batch.done(),
                batch.total()
            ),
        }
    }
}

#[test]
fn a_caller_that_pauses_longer_than_the_idle_time_still_gets_every_result() {
    // A progress callback or a loop body that takes a while (longer than the dispatcher's idle
    // time, 10 s) with the batch held back by results waiting: once the caller takes them, the
    // batch must go on.
    let server = Server::always_json(200, r#"{"urlAvatar":"https://x/y"}"#);
    let client = Arc::new(Client::with_options(ID, TOKEN, &support::opts(&server.url())).unwrap());
    let mut batch = client.batch(ids("7500", 2000)).unwrap();
    assert!(matches!(
        batch.next_timeout(Duration::from_secs(30)),
        Next::Item(_)
    ));
    thread::sleep(Duration::from_secs(11));
    let rest = drain(&mut batch, Duration::from_secs(20));
    assert_eq!(rest.len(), 1999);
    assert_eq!(server.request_count(), 2000);
}

#[test]
fn a_stopped_batch_sends_no_retry_after_the_stop() {
    // A struggling service (every answer a 503 after a while): the entries in flight at the
    // stop may finish, but none of them is sent again: a retry is a request after the stop.
    let server = Server::start(|_, _| {
        thread::sleep(Duration::from_millis(100));
        Reply::json(503, "{}")
    });
    let o = Options {
        max_in_flight: 8,
        max_retries: 3,
        ..support::opts(&server.url())
    };
    let cap = o.max_in_flight as usize;
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let mut batch = client.batch(ids("7600", 200)).unwrap();
    // Until the first requests are out.
    while server.request_count() < cap {
        thread::sleep(Duration::from_millis(5));
    }
    batch.stop();
    let at_stop = server.request_count();
    let items = drain(&mut batch, Duration::from_secs(30));
    assert_eq!(items.len(), 200);
    let sent = server.request_count();
    assert!(
        sent <= at_stop + cap,
        "{sent} requests in all, {at_stop} at the stop, cap {cap}"
    );
    // An entry in flight at the stop ends with its own failure, not retried; one never sent
    // is cancelled, with no attempt.
    let mut failed = 0;
    for i in &items {
        let e = i.result.as_ref().unwrap_err();
        match e.kind() {
            ErrorKind::ServerError => {
                assert_eq!(e.http_status(), Some(503));
                assert!(e.attempts() >= 1, "{}", e.message());
                failed += 1;
            }
            ErrorKind::Cancelled => assert_eq!(e.attempts(), 0, "{}", e.message()),
            k => panic!("{k:?}: {}", e.message()),
        }
    }
    assert_eq!(failed, sent);
}

#[test]
fn single_calls_at_once_never_exceed_max_in_flight() {
    // Many threads calling at the same instant, pacing off: each sees room on the wire and
    // nothing else waiting. max_in_flight bounds the whole client, these calls included.
    let c = support::counting_server(Duration::from_millis(30));
    let o = Options {
        max_in_flight: 2,
        ..support::opts(&c.server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    for round in 0..10 {
        let start = Arc::new(std::sync::Barrier::new(16));
        let calls: Vec<_> = (0..16)
            .map(|i| {
                let (client, start) = (client.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    client
                        .get_avatar(&format!("77{round:02}{i:06}"))
                        .map(|_| ())
                })
            })
            .collect();
        for t in calls {
            t.join().unwrap().unwrap();
        }
    }
    assert_eq!(c.server.request_count(), 160);
    let most = c.most_in_flight.load(std::sync::atomic::Ordering::SeqCst);
    assert!(most <= 2, "{most} requests at once, max_in_flight 2");
}

#[test]
fn a_batch_retry_that_gets_no_turn_within_the_timeout_ends_as_a_timeout() {
    // One turn an hour: the entry's first attempt has it, its retry (after a 503) would wait
    // an hour. The timeout bounds that wait: the entry ends, with the attempt it made.
    let server = Server::always_json(503, "{}");
    let o = Options {
        rate_limit_per_sec: 1.0 / 3600.0,
        timeout: Duration::from_millis(500),
        max_retries: 3,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let mut batch = client.batch(ids("7800", 1)).unwrap();
    let items = drain(&mut batch, Duration::from_secs(20));
    assert_eq!(items.len(), 1);
    let e = items[0].result.as_ref().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{}", e.message());
    assert_eq!(e.attempts(), 1, "{}", e.message());
    assert_eq!(server.request_count(), 1);
    // The client is not left stalled by the turn given up: a call after it waits for the
    // next turn and times out the same way, sending nothing.
    let e = client.get_avatar("79990000005").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{}", e.message());
    assert_eq!(server.request_count(), 1);
}

#[test]
fn dropping_a_finished_batch_does_not_wait_for_another_threads_new_batch() {
    // Thread X drops its finished batch as thread Y starts one: X's drop must not wait for
    // Y's batch to end (a Y that waits for X would then never end, or not before the workers'
    // idle time). Y's batch takes 200 requests of 10 ms two at a time: X's drop, which waits
    // for nothing of its own, returns long before Y is done, unless it waits for Y.
    let server = Server::start(|r, _| {
        thread::sleep(Duration::from_millis(10));
        let id = asked(&r.body);
        Reply::json(200, &format!(r#"{{"urlAvatar":"https://x/{id}"}}"#))
    });
    let o = Options {
        max_in_flight: 2,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let mut waited = 0;
    for round in 0..20 {
        let mut a = client.batch(ids(&format!("79{round:02}"), 4)).unwrap();
        assert_eq!(a.by_ref().count(), 4);
        let start = Arc::new(std::sync::Barrier::new(2));
        let y_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let y = {
            let (client, start, y_done) = (client.clone(), start.clone(), y_done.clone());
            thread::spawn(move || {
                start.wait();
                let n = client
                    .batch(ids(&format!("78{round:02}"), 200))
                    .unwrap()
                    .count();
                y_done.store(true, std::sync::atomic::Ordering::SeqCst);
                n
            })
        };
        start.wait();
        drop(a);
        if y_done.load(std::sync::atomic::Ordering::SeqCst) {
            waited += 1;
        }
        assert_eq!(y.join().unwrap(), 200);
    }
    assert_eq!(
        waited, 0,
        "X's drop waited for Y's whole batch in {waited} of 20 rounds"
    );
}

#[test]
fn max_in_flight_one_with_retries_and_calls_beside_answers_everything_once() {
    // The only place on the wire, a batch whose entries each fail once (503, then 429 with a
    // Retry-After, then an answer), single calls from other threads beside it: no retry waits
    // for a place its own batch holds, every entry is answered once.
    let seen = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        u32,
    >::new()));
    let log = seen.clone();
    let server = Server::start(move |r, _| {
        let id = asked(&r.body);
        let n = {
            let mut m = log.lock().unwrap();
            let n = m.entry(id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        match n {
            1 => Reply::json(503, "{}"),
            2 if id.ends_with("3@c.us") => Reply::json(429, "{}").with_header("Retry-After", "0"),
            _ => Reply::json(200, &format!(r#"{{"urlAvatar":"https://x/{id}"}}"#)),
        }
    });
    let o = Options {
        max_in_flight: 1,
        max_retries: 3,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let calls: Vec<_> = (0..5)
        .map(|i| {
            let client = client.clone();
            thread::spawn(move || client.get_avatar(&format!("7950000{i:03}")))
        })
        .collect();
    let mut batch = client.batch(ids("7951", 20)).unwrap();
    let items = drain(&mut batch, Duration::from_secs(30));
    assert_eq!(items.len(), 20);
    let mut once = [0; 20];
    for i in &items {
        assert!(i.result.is_ok(), "{}: {:?}", i.chat_id, i.result);
        once[i.index] += 1;
    }
    assert!(once.iter().all(|&n| n == 1));
    for (i, c) in calls.into_iter().enumerate() {
        let a = c.join().unwrap().unwrap();
        assert_eq!(a.attempts, if i == 3 { 3 } else { 2 });
    }
}

#[test]
fn a_call_interrupted_as_its_turn_comes_leaks_no_place_on_the_wire() {
    // max_in_flight 1: a call waits for the place a slow call holds, and is interrupted
    // around the moment the place frees (its turn is being given). Whether it got the turn or
    // not, the place must come back: a leaked one stalls every later call of the client.
    let c = support::counting_server(Duration::from_millis(100));
    let o = Options {
        max_in_flight: 1,
        timeout: Duration::from_secs(5),
        ..support::opts(&c.server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let mut cancelled = 0;
    for round in 0..30u64 {
        let base = c.server.request_count();
        let holder = {
            let client = client.clone();
            thread::spawn(move || client.get_avatar(&format!("796{round:07}")))
        };
        while c.server.request_count() == base {
            thread::sleep(Duration::from_millis(1));
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let waiter = {
            let (client, stop) = (client.clone(), stop.clone());
            thread::spawn(move || {
                client.get_avatar_interruptible(&format!("797{round:07}"), &|| {
                    stop.load(std::sync::atomic::Ordering::Relaxed)
                })
            })
        };
        // Around the end of the holder's 100 ms.
        thread::sleep(Duration::from_millis(85 + round % 30));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        holder.join().unwrap().unwrap();
        // Either it was sent before the stop, or it was cancelled.
        if let Err(e) = waiter.join().unwrap() {
            assert_eq!(e.kind(), ErrorKind::Cancelled, "{}", e.message());
            cancelled += 1;
        }
        // The place came back: a call after it is answered.
        client
            .get_avatar(&format!("798{round:07}"))
            .unwrap_or_else(|e| panic!("round {round}: {:?} {}", e.kind(), e.message()));
    }
    // The interrupt came before the turn at least sometimes (else the test tried nothing).
    assert!(cancelled > 0);
}

#[test]
fn duplicates_and_refusals_in_a_stopped_batch_come_out_exactly_once() {
    // 3,000 entries: a third refused, a third duplicates of another entry (spelled without
    // the suffix), a third unique; stopped after 500 results. Every entry once, a duplicate
    // with its original's outcome, a refusal as InvalidArgument.
    let server = Server::start(|r, _| {
        let id = asked(&r.body);
        Reply::json(200, &format!(r#"{{"urlAvatar":"https://x/{id}"}}"#))
    });
    let o = Options {
        max_in_flight: 4,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let given: Vec<String> = (0..3000)
        .map(|i| match i % 3 {
            0 => format!("bad id {i}"),
            1 => format!("7990{:06}", i - 1),
            _ => format!("7990{:06}@c.us", i - 2),
        })
        .collect();
    let mut batch = client.batch(given.clone()).unwrap();
    let mut items = Vec::new();
    while items.len() < 500 {
        if let Next::Item(i) = batch.next_timeout(Duration::from_secs(30)) {
            items.push(i);
        }
    }
    batch.stop();
    items.extend(drain(&mut batch, Duration::from_secs(30)));
    assert_eq!(items.len(), 3000);
    let mut by_index: Vec<Option<&greenapi::Item>> = vec![None; 3000];
    for i in &items {
        assert!(by_index[i.index].is_none(), "entry {} twice", i.index);
        assert_eq!(i.chat_id, given[i.index]);
        by_index[i.index] = Some(i);
    }
    let sent = server.request_count();
    let mut answered = 0;
    for (n, i) in by_index.iter().enumerate() {
        let i = i.unwrap();
        match n % 3 {
            0 => assert_eq!(
                i.result.as_ref().unwrap_err().kind(),
                ErrorKind::InvalidArgument
            ),
            1 => {
                let twin = by_index[n + 1].unwrap();
                match (&i.result, &twin.result) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a.url_avatar, b.url_avatar);
                        answered += 1;
                    }
                    (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
                    _ => panic!("entry {n} and its duplicate differ"),
                }
            }
            _ => {}
        }
    }
    // One request per pair answered, none for a duplicate or a refusal.
    assert_eq!(sent, answered);
}

#[test]
fn dropping_a_batch_whose_retry_waits_an_hour_for_its_turn_returns() {
    // One turn an hour and a long timeout: the entry's retry (after a 503) waits for a turn
    // an hour away. Dropping the batch aborts it: the drop must not wait that hour.
    let server = Server::always_json(503, "{}");
    let o = Options {
        rate_limit_per_sec: 1.0 / 3600.0,
        timeout: Duration::from_secs(7200),
        max_retries: 3,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let dropper = {
        let client = client.clone();
        thread::spawn(move || {
            let batch = client.batch(ids("7850", 3)).unwrap();
            // Until the first request was answered and its retry is waiting.
            thread::sleep(Duration::from_millis(600));
            drop(batch);
            tx.send(()).unwrap();
        })
    };
    assert!(
        rx.recv_timeout(Duration::from_secs(30)).is_ok(),
        "dropping the batch waited for the retry's turn"
    );
    dropper.join().unwrap();
    assert_eq!(server.request_count(), 1);
}
