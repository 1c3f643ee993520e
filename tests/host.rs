//! Living inside a host: stopping calls (shutdown, an interrupt check), stale pooled
//! connections, and a `Retry-After` that holds back every thread of the client.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use greenapi::{Client, ErrorKind, Options};
use support::{ID, Reply, Server, TOKEN};

const OLD_SHAPE: &str = r#"{"existsWhatsapp":true,"urlAvatar":""}"#;

fn opts(url: &str) -> Options {
    Options {
        timeout: Duration::from_secs(30),
        ..support::opts(url)
    }
}

/// Waits (bounded) until the server has seen `n` requests.
fn wait_for_requests(server: &Server, n: usize) {
    let end = Instant::now() + Duration::from_secs(20);
    while server.request_count() < n {
        assert!(Instant::now() < end, "the server never saw {n} requests");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn shutdown_stops_a_call_waiting_for_a_slow_answer() {
    // Without a way to stop it, the call would get this answer, after 10 s.
    let server = Server::start(|_, _| {
        Reply::Delay(
            Duration::from_secs(10),
            Box::new(Reply::json(200, OLD_SHAPE)),
        )
    });
    let client = Arc::new(Client::with_options(ID, TOKEN, &opts(&server.url())).unwrap());
    let caller = {
        let client = client.clone();
        thread::spawn(move || client.get_avatar("79001234567"))
    };
    wait_for_requests(&server, 1);
    client.shutdown();
    let e = caller.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{}", e.message());
    assert_eq!(e.attempts(), 1);
    assert!(e.message().contains("shut down"), "{}", e.message());

    // Later calls are refused without sending anything.
    let e = client.get_avatar("79001234567").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert_eq!(e.attempts(), 0);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn shutdown_stops_a_backoff_and_a_pacing_wait() {
    // Every answer is a 503: the call would retry 10 times with growing backoff.
    let server = Server::always_json(503, "{}");
    let o = Options {
        max_retries: 10,
        ..opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let caller = {
        let client = client.clone();
        thread::spawn(move || client.get_avatar("79001234567"))
    };
    wait_for_requests(&server, 2);
    client.shutdown();
    let e = caller.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{}", e.message());
    assert!(server.request_count() < 11, "the retries went on");

    // One request per 100 s: the second call waits for its turn, until the shutdown.
    let server = Server::always_json(200, OLD_SHAPE);
    let o = Options {
        rate_limit_per_sec: 0.01,
        ..opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    client.get_avatar("79001234567").unwrap();
    let caller = {
        let client = client.clone();
        thread::spawn(move || client.get_avatar("79001234567"))
    };
    thread::sleep(Duration::from_millis(100));
    client.shutdown();
    let e = caller.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert_eq!(e.attempts(), 0);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn an_interrupt_check_stops_one_call_only() {
    let server = Server::start(|r, _| {
        if String::from_utf8_lossy(&r.body).contains("slow") {
            Reply::Delay(
                Duration::from_secs(10),
                Box::new(Reply::json(200, OLD_SHAPE)),
            )
        } else {
            Reply::json(200, OLD_SHAPE)
        }
    });
    let client = Client::with_options(ID, TOKEN, &opts(&server.url())).unwrap();
    let asked = AtomicUsize::new(0);
    let interrupt = || {
        asked.fetch_add(1, Ordering::SeqCst);
        server.request_count() >= 1
    };
    let e = client
        .get_avatar_interruptible("slow@c.us", &interrupt)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{}", e.message());
    assert!(e.message().contains("interrupted"), "{}", e.message());
    assert!(asked.load(Ordering::SeqCst) >= 1);
    // The client itself is not stopped.
    assert!(!client.is_shut_down());
    assert!(client.get_avatar("79001234567").is_ok());
}

#[test]
fn an_interrupt_check_is_not_asked_while_the_call_makes_progress() {
    let server = Server::always_json(200, OLD_SHAPE);
    let client = Client::with_options(ID, TOKEN, &opts(&server.url())).unwrap();
    let asked = AtomicUsize::new(0);
    for _ in 0..20 {
        client
            .get_avatar_interruptible("79001234567", &|| {
                asked.fetch_add(1, Ordering::SeqCst);
                false
            })
            .unwrap();
    }
    // Never on a fast exchange: it only costs anything while a call waits.
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}

#[test]
fn a_stale_pooled_connection_costs_no_attempt_and_no_backoff() {
    // The server closes every connection after its answer without saying so: the next call
    // finds its pooled connection dead, often only once the request has gone out.
    let server = Server::start(|_, _| Reply::ThenClose(Box::new(Reply::json(200, OLD_SHAPE))));
    let client = Client::with_options(ID, TOKEN, &opts(&server.url())).unwrap();
    for i in 0..200 {
        let a = client
            .get_avatar("79001234567")
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
        assert_eq!(
            a.attempts, 1,
            "call {i} paid a retry for a stale connection"
        );
    }
}

/// A server that reads every request after the first on a connection and drops it unanswered
/// (as one at its keep-alive limit may), recording when each request arrived.
fn dropping_server(first_delay: Duration) -> (Server, Arc<Mutex<Vec<Instant>>>) {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let server = Server::start(move |r, _| {
        seen.lock().unwrap().push(Instant::now());
        if r.nth_on_connection > 0 {
            Reply::Reset
        } else {
            Reply::Delay(first_delay, Box::new(Reply::json(200, OLD_SHAPE)))
        }
    });
    (server, arrivals)
}

#[test]
fn a_resend_after_a_stale_connection_takes_its_pacing_turn() {
    let (server, arrivals) = dropping_server(Duration::ZERO);
    let o = Options {
        rate_limit_per_sec: 2.0,
        max_retries: 0,
        ..opts(&server.url())
    };
    let client = Client::with_options(ID, TOKEN, &o).unwrap();
    client.get_avatar("79001234567").unwrap();
    let a = client.get_avatar("79001234567").unwrap();
    assert_eq!(a.attempts, 1);
    assert_eq!(server.request_count(), 3);
    // The dropped request may have reached the service and counted against its limit, so the
    // resend waits for its turn like any request (2 per second: 500 ms apart; a lower bound,
    // which a slow machine only makes later).
    let arrivals = arrivals.lock().unwrap();
    let gap = arrivals[2].duration_since(arrivals[1]);
    assert!(gap >= Duration::from_millis(450), "resent after {gap:?}");
}

#[test]
fn a_call_resends_at_most_once_for_a_stale_connection() {
    // Four pooled connections, each of which drops its next request.
    let (server, _) = dropping_server(Duration::from_millis(300));
    let o = Options {
        max_retries: 0,
        ..opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let fill: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            thread::spawn(move || client.get_avatar("79001234567"))
        })
        .collect();
    for t in fill {
        t.join().unwrap().unwrap();
    }
    assert_eq!(server.connections(), 4);
    let before = server.request_count();
    let e = client.get_avatar("79001234567").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{}", e.message());
    // The first stale connection is forgiven once; the second failure is a failure.
    assert_eq!(server.request_count() - before, 2);
}

#[test]
fn a_failure_on_a_fresh_connection_is_not_retried_for_free() {
    // Every connection is reset before it answers: that is the server failing, not a stale
    // pooled connection, so only the configured retries happen.
    let server = Server::start(|_, _| Reply::Reset);
    let o = Options {
        max_retries: 1,
        ..opts(&server.url())
    };
    let client = Client::with_options(ID, TOKEN, &o).unwrap();
    let e = client.get_avatar("79001234567").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network);
    assert_eq!(e.attempts(), 2);
    assert_eq!(server.request_count(), 2);
}

#[test]
fn retry_after_holds_back_every_thread_of_the_client() {
    // The first request gets 429 with Retry-After: 2; the others 200. The time each request
    // arrives is recorded by the server.
    let first_answered: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let (first_answered, arrivals) = (first_answered.clone(), arrivals.clone());
        Server::start(move |_, i| {
            arrivals.lock().unwrap().push(Instant::now());
            if i == 0 {
                *first_answered.lock().unwrap() = Some(Instant::now());
                Reply::json(429, "{}").with_header("retry-after", "2")
            } else {
                Reply::json(200, OLD_SHAPE)
            }
        })
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &opts(&server.url())).unwrap());
    let first = {
        let client = client.clone();
        thread::spawn(move || client.get_avatar("79001234567"))
    };
    wait_for_requests(&server, 1);
    let pause_seen = AtomicBool::new(false);
    // Another thread of the same client, after the 429 arrived.
    while first_answered.lock().unwrap().is_none() {
        thread::sleep(Duration::from_millis(1));
    }
    thread::sleep(Duration::from_millis(50));
    let second = client.get_avatar("79001234568").unwrap();
    pause_seen.store(true, Ordering::SeqCst);
    let first = first.join().unwrap().unwrap();
    assert_eq!((first.attempts, second.attempts), (2, 1));
    let answered = first_answered.lock().unwrap().unwrap();
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 3);
    for later in &arrivals[1..] {
        // A lower bound only: a slow machine makes it later, never earlier.
        assert!(
            later.duration_since(answered) >= Duration::from_millis(1900),
            "a request came {:?} after the 429 that asked for 2 s",
            later.duration_since(answered)
        );
    }
}

#[test]
fn retry_after_pauses_the_client_even_when_the_call_does_not_retry() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let arrivals = arrivals.clone();
        Server::start(move |_, i| {
            arrivals.lock().unwrap().push(Instant::now());
            if i == 0 {
                Reply::json(429, "{}").with_header("retry-after", "2")
            } else {
                Reply::json(200, OLD_SHAPE)
            }
        })
    };
    let o = Options {
        max_retries: 0,
        ..opts(&server.url())
    };
    let client = Client::with_options(ID, TOKEN, &o).unwrap();
    let e = client.get_avatar("79001234567").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    client.get_avatar("79001234567").unwrap();
    let arrivals = arrivals.lock().unwrap();
    let gap = arrivals[1].duration_since(arrivals[0]);
    assert!(
        gap >= Duration::from_millis(1900),
        "next request after {gap:?}"
    );
}
