//! The dispatcher (src/dispatch/): one queue of turns per client, round robin between callers,
//! in-flight that follows latency, one worker pool, backpressure. Every check is a count (at the
//! server, or of threads), never a time: timing targets are in `make bench`.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use greenapi::{Client, ErrorKind, Next, Options};
use support::{ID, Reply, Server, TOKEN, asked, counting_server};

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:06}@c.us")).collect()
}

#[test]
fn a_single_call_beside_a_big_batch_waits_a_few_turns_not_behind_the_batch() {
    // Arrival order at the server: the single call's request among the batch's.
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = order.clone();
    let server = Server::start(move |r, _| {
        let id = asked(&r.body);
        seen.lock().unwrap().push(id.clone());
        Reply::json(200, &format!(r#"{{"urlAvatar":"https://x/{id}"}}"#))
    });
    let o = Options {
        rate_limit_per_sec: 40.0,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let mut batch = client.batch(ids("7100", 1000)).unwrap();
    for _ in 0..20 {
        assert!(batch.next().is_some());
    }
    let before = order.lock().unwrap().len();
    let single = client.get_avatar("79990000001").unwrap();
    assert_eq!(single.url_avatar, "https://x/79990000001@c.us");
    let order = order.lock().unwrap().clone();
    let at = order
        .iter()
        .position(|id| id == "79990000001@c.us")
        .unwrap();
    // Round robin with one batch: the batch's turn, then the call's. A turn or two may
    // already have been given when the call came.
    assert!(
        at - before <= 3,
        "the single call came {} requests after it was made",
        at - before
    );
    batch.abort();
}

#[test]
fn a_stopped_batch_sends_at_most_its_in_flight_cap_after_the_results_taken() {
    let c = counting_server(Duration::from_millis(200));
    let o = support::opts(&c.server.url());
    let cap = o.max_in_flight as usize;
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let mut batch = client.batch(ids("7200", 2000)).unwrap();
    let mut taken = 0;
    while taken < 100 {
        if let Next::Item(_) = batch.next_timeout(Duration::from_secs(60)) {
            taken += 1;
        }
    }
    batch.stop();
    let rest: Vec<_> = batch.by_ref().collect();
    assert_eq!(taken + rest.len(), 2000);
    let sent = c.server.request_count();
    assert!(
        sent <= 100 + cap,
        "{sent} requests for 100 results taken, cap {cap}"
    );
    let answered = rest.iter().filter(|i| i.result.is_ok()).count();
    // Every request sent before the stop was handed out, none dropped.
    assert_eq!(100 + answered, sent);
}

#[test]
fn results_not_taken_hold_new_requests_back() {
    let server = Server::always_json(200, r#"{"urlAvatar":"https://x/y"}"#);
    let o = Options {
        max_in_flight: 16,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let mut batch = client.batch(ids("7300", 5000)).unwrap();
    for _ in 0..10 {
        assert!(batch.next().is_some());
    }
    // The caller takes nothing for a while: what the server gets meanwhile is bounded by the
    // cap (requests out plus results waiting), whatever the while.
    thread::sleep(Duration::from_millis(500));
    let sent = server.request_count();
    assert!(sent <= 10 + 16, "{sent} requests with 10 results taken");
    assert_eq!(batch.by_ref().count(), 4990);
    assert_eq!(server.request_count(), 5000);
}

#[test]
fn in_flight_follows_the_latency_under_pacing() {
    // 300 ms answers at 20/s: about 20 x 0.3 x 1.5 + 1 = 10 in flight keep the pace; the cap
    // (64) is never approached.
    let slow = counting_server(Duration::from_millis(300));
    let o = Options {
        rate_limit_per_sec: 20.0,
        ..support::opts(&slow.server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    assert_eq!(client.batch(ids("7400", 80)).unwrap().count(), 80);
    let most = slow.most_in_flight.load(Ordering::SeqCst);
    assert!((4..=16).contains(&most), "{most} in flight at 300 ms");
    // Answers at once: a handful at most.
    let fast = counting_server(Duration::ZERO);
    let client = Arc::new(
        Client::with_options(
            ID,
            TOKEN,
            &Options {
                rate_limit_per_sec: 20.0,
                ..support::opts(&fast.server.url())
            },
        )
        .unwrap(),
    );
    assert_eq!(client.batch(ids("7401", 40)).unwrap().count(), 40);
    let most = fast.most_in_flight.load(Ordering::SeqCst);
    assert!(most <= 3, "{most} in flight at 0 ms");
}

#[test]
fn a_wait_for_a_turn_counts_in_the_timeout_and_sends_nothing() {
    // One turn an hour: the first call takes it, the second waits for the next one and gives
    // up at its timeout without sending.
    let server = Server::always_json(200, r#"{"urlAvatar":"https://x/y"}"#);
    let o = Options {
        rate_limit_per_sec: 1.0 / 3600.0,
        timeout: Duration::from_millis(300),
        ..support::opts(&server.url())
    };
    let client = Client::with_options(ID, TOKEN, &o).unwrap();
    client.get_avatar("79990000001").unwrap();
    let e = client.get_avatar("79990000002").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{}", e.message());
    assert!(e.message().contains("nothing was sent"), "{}", e.message());
    assert_eq!(e.attempts(), 0);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn a_shutdown_wakes_a_call_waiting_for_its_turn() {
    let server = Server::always_json(200, r#"{"urlAvatar":"https://x/y"}"#);
    let o = Options {
        rate_limit_per_sec: 1.0 / 3600.0,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    client.get_avatar("79990000003").unwrap();
    let waiter = {
        let client = client.clone();
        thread::spawn(move || client.get_avatar("79990000004"))
    };
    thread::sleep(Duration::from_millis(200));
    client.shutdown();
    let e = waiter.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn a_batch_held_back_longer_than_the_threads_idle_time_still_finishes() {
    // The caller takes nothing for 11 s: the batch is held back (backpressure), the
    // dispatcher's threads have nothing to do for longer than they stay idle (10 s) and end.
    // Taking results again must start what is needed: the rest still comes.
    let server = Server::always_json(200, r#"{"urlAvatar":"https://x/y"}"#);
    let o = Options {
        max_in_flight: 4,
        ..support::opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let mut batch = client.batch(ids("7800", 200)).unwrap();
    assert!(batch.next().is_some());
    thread::sleep(Duration::from_secs(11));
    let mut rest = 0;
    while let Next::Item(_) = batch.next_timeout(Duration::from_secs(30)) {
        rest += 1;
    }
    assert_eq!(rest, 199);
    assert_eq!(server.request_count(), 200);
}
