//! Events and counters (`Options::observer`, `Client::stats`), counted against the server's
//! own counts, never timed.

mod support;

use std::sync::{Arc, Mutex};
use std::thread;

use greenapi::{Client, Event, EventKind, Level, Observer, Options};
use support::{ID, Reply, Server, TOKEN, opts};

/// What a test keeps of one event.
#[derive(Debug, Clone)]
struct Seen {
    kind: EventKind,
    level: Level,
    attempt: u32,
    status: u16,
    error_type: Option<&'static str>,
    thread: thread::ThreadId,
    message: String,
}

fn recorder(level: Level) -> (Observer, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let observer = Observer::new(level, move |e: &Event<'_>| {
        keep.lock().unwrap().push(Seen {
            kind: e.kind,
            level: e.level,
            attempt: e.attempt,
            status: e.status,
            error_type: e.error_type,
            thread: thread::current().id(),
            message: e.message(),
        });
    });
    (observer, seen)
}

/// The request and retry events, without the connection and pacing ones.
fn calls_of(seen: &[Seen]) -> Vec<(EventKind, u32, u16)> {
    seen.iter()
        .filter(|s| {
            matches!(
                s.kind,
                EventKind::RequestSent | EventKind::RequestAnswered | EventKind::Retry
            )
        })
        .map(|s| (s.kind, s.attempt, s.status))
        .collect()
}

#[test]
fn a_503_then_200_is_two_requests_and_one_retry_in_order() {
    let server = Server::start(|_, i| {
        if i == 0 {
            Reply::text(503, "busy")
        } else {
            Reply::json(
                200,
                r#"{"urlAvatar":"https://x.example/a.jpg","available":true}"#,
            )
        }
    });
    let (observer, seen) = recorder(Level::Debug);
    let client = Client::with_options(
        ID,
        TOKEN,
        &Options {
            observer: Some(observer),
            ..opts(&server.url())
        },
    )
    .unwrap();
    client.get_avatar("79001234567").unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        calls_of(&seen),
        [
            (EventKind::RequestSent, 1, 0),
            (EventKind::RequestAnswered, 1, 503),
            (EventKind::Retry, 1, 503),
            (EventKind::RequestSent, 2, 0),
            (EventKind::RequestAnswered, 2, 200),
        ],
        "{seen:#?}"
    );
    let answered: Vec<_> = seen
        .iter()
        .filter(|s| s.kind == EventKind::RequestAnswered)
        .collect();
    assert_eq!(answered[0].level, Level::Info, "a 503 is worth an info");
    assert_eq!(answered[0].error_type, Some("server_error"));
    assert_eq!(answered[1].level, Level::Debug, "a 200 is not");
    assert!(
        seen.iter().any(|s| s.kind == EventKind::ConnectionOpened),
        "{seen:#?}"
    );
    let stats = client.stats();
    assert_eq!((stats.calls, stats.attempts, stats.retries), (1, 2, 1));
    assert_eq!(stats.results[0], 1);
    assert_eq!(stats.connections_opened as usize, server.connections());
    assert_eq!(stats.in_flight, 0);
}

#[test]
fn info_leaves_out_what_happens_for_every_request() {
    let server = Server::always_json(200, r#"{"urlAvatar":"","available":false}"#);
    let (observer, seen) = recorder(Level::Info);
    let client = Client::with_options(
        ID,
        TOKEN,
        &Options {
            observer: Some(observer),
            ..opts(&server.url())
        },
    )
    .unwrap();
    for _ in 0..20 {
        client.get_avatar("79001234567").unwrap();
    }
    drop(client);
    assert!(seen.lock().unwrap().is_empty(), "{:#?}", seen.lock());
}

#[test]
fn a_retry_after_holds_back_every_threads_next_call() {
    let server = Server::start(|_, i| {
        if i == 0 {
            Reply::text(503, "later").with_header("retry-after", "1")
        } else {
            Reply::json(200, r#"{"urlAvatar":"","available":false}"#)
        }
    });
    let (observer, seen) = recorder(Level::Debug);
    let client = Client::with_options(
        ID,
        TOKEN,
        &Options {
            observer: Some(observer),
            max_retries: 0,
            ..opts(&server.url())
        },
    )
    .unwrap();
    assert!(client.get_avatar("79001234567").is_err());
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| client.get_avatar("79001234567").unwrap());
        }
    });
    let seen = seen.lock().unwrap().clone();
    let pauses = seen.iter().filter(|s| s.kind == EventKind::Pause).count();
    assert_eq!(pauses, 1, "{seen:#?}");
    let me = thread::current().id();
    let mut waited: Vec<_> = seen
        .iter()
        .filter(|s| s.kind == EventKind::PacingWait && s.thread != me)
        .map(|s| s.thread)
        .collect();
    waited.sort_by_key(|t| format!("{t:?}"));
    waited.dedup();
    assert_eq!(waited.len(), 4, "each thread's next call waited: {seen:#?}");
    let stats = client.stats();
    assert_eq!(stats.pauses, 1);
    assert_eq!(stats.pacing_waits, 4);
    assert!(stats.pacing_wait_max_ms > 0.0);
}

#[test]
fn counters_equal_the_servers_counts_over_a_thousand_calls_with_faults() {
    // Every 50th id a 503 then a 200 (a retry), every 40th a 404 (no retry), every 30th a 200
    // after which the server closes the connection, every 70th a 429 without Retry-After.
    let failed_once = Mutex::new(std::collections::HashSet::new());
    let server = Server::start(move |req, _| {
        let chat: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let id: usize = chat["chatId"]
            .as_str()
            .unwrap()
            .trim_end_matches("@c.us")
            .parse()
            .unwrap();
        let ok = || Reply::json(200, r#"{"urlAvatar":"","available":false}"#);
        if id % 50 == 1 && failed_once.lock().unwrap().insert(id) {
            Reply::text(503, "busy")
        } else if id % 40 == 3 {
            Reply::text(404, "no")
        } else if id % 30 == 7 {
            Reply::ThenClose(Box::new(ok()))
        } else if id % 70 == 9 {
            Reply::text(429, "slow down")
        } else {
            ok()
        }
    });
    let client = Client::with_options(
        ID,
        TOKEN,
        &Options {
            max_retries: 1,
            ..opts(&server.url())
        },
    )
    .unwrap();
    let mut answered = 0;
    let mut not_found = 0;
    for id in 0..1000 {
        match client.get_avatar(&format!("{id}@c.us")) {
            Ok(_) => answered += 1,
            Err(e) if e.kind() == greenapi::ErrorKind::NotFound => not_found += 1,
            Err(_) => {}
        }
    }
    let s = client.stats();
    assert_eq!(s.calls, 1000);
    assert_eq!(s.results.iter().sum::<u64>(), 1000);
    assert_eq!(s.results[0], answered);
    assert_eq!(s.results[9], not_found, "GA_NOT_FOUND is 9");
    // A request sent on a connection the server had closed never reached it, and was resent.
    assert_eq!(
        s.attempts,
        server.request_count() as u64 + s.stale_resends,
        "{s:#?}"
    );
    assert_eq!(s.connections_opened, server.connections() as u64, "{s:#?}");
    assert!(s.retries > 0 && s.responses_429 > 0, "{s:#?}");
    assert!(
        s.bytes_sent > 1000 * 100 && s.bytes_received > 1000 * 50,
        "{s:#?}"
    );
    assert_eq!(s.in_flight, 0);
    drop(client);
}

#[test]
fn a_handler_that_panics_is_counted_and_the_call_goes_on() {
    let server = Server::always_json(200, r#"{"urlAvatar":"","available":false}"#);
    let client = Client::with_options(
        ID,
        TOKEN,
        &Options {
            observer: Some(Observer::new(Level::Debug, |_| panic!("handler bug"))),
            ..opts(&server.url())
        },
    )
    .unwrap();
    client.get_avatar("79001234567").unwrap();
    assert!(client.stats().handler_failures >= 2);
}

#[test]
fn a_handler_that_calls_its_client_is_refused() {
    let server = Server::always_json(200, r#"{"urlAvatar":"","available":false}"#);
    let slot: Arc<Mutex<Option<Arc<Client>>>> = Arc::new(Mutex::new(None));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let (s, r) = (slot.clone(), refused.clone());
    let observer = Observer::new(Level::Debug, move |e| {
        if e.kind == EventKind::RequestAnswered {
            let c = s.lock().unwrap().clone().unwrap();
            r.lock()
                .unwrap()
                .push(c.get_avatar("1@c.us").unwrap_err().kind());
        }
    });
    let client = Arc::new(
        Client::with_options(
            ID,
            TOKEN,
            &Options {
                observer: Some(observer),
                ..opts(&server.url())
            },
        )
        .unwrap(),
    );
    *slot.lock().unwrap() = Some(client.clone());
    client.get_avatar("79001234567").unwrap();
    assert_eq!(
        *refused.lock().unwrap(),
        [greenapi::ErrorKind::InvalidArgument]
    );
    assert_eq!(server.request_count(), 1);
    slot.lock().unwrap().take();
}

#[test]
fn every_message_names_its_kind_and_no_url_but_the_template() {
    let server = Server::start(|_, i| match i {
        0 => Reply::text(429, "slow").with_header("retry-after", "0"),
        _ => Reply::json(200, r#"{"urlAvatar":"","available":false}"#),
    });
    let (observer, seen) = recorder(Level::Debug);
    let client = Client::with_options(
        ID,
        TOKEN,
        &Options {
            observer: Some(observer),
            // Paced (alone), so that the 429 slows it down.
            rate_limit_per_sec: 10.0,
            ..opts(&server.url())
        },
    )
    .unwrap();
    client.get_avatar("79001234567").unwrap();
    drop(client);
    let seen = seen.lock().unwrap().clone();
    for s in &seen {
        assert!(s.message.starts_with(s.kind.name()), "{s:?}");
        assert!(!s.message.contains(ID), "{s:?}");
    }
    for kind in [
        EventKind::Pause,
        EventKind::SlowDown,
        EventKind::ConnectionClosed,
    ] {
        assert!(seen.iter().any(|s| s.kind == kind), "{kind:?}: {seen:#?}");
    }
}

#[test]
fn a_batch_tells_it_started_before_its_requests_and_finished_after() {
    let server = Server::always_json(200, r#"{"urlAvatar":"","available":false}"#);
    let (observer, seen) = recorder(Level::Info);
    let client = Arc::new(
        Client::with_options(
            ID,
            TOKEN,
            &Options {
                observer: Some(observer),
                ..opts(&server.url())
            },
        )
        .unwrap(),
    );
    let items: Vec<_> = client
        .batch(vec!["1@c.us".into(), "2@c.us".into(), "not an id".into()])
        .unwrap()
        .collect();
    assert_eq!(items.len(), 3);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(seen[0].kind, EventKind::BatchStarted);
    assert_eq!(seen[1].kind, EventKind::BatchFinished);
    assert!(
        seen[1].message.contains('2') && seen[1].message.contains('1'),
        "{:?}",
        seen[1].message
    );
    assert!(
        seen[0].message.ends_with(": 3 ids"),
        "{:?}",
        seen[0].message
    );
    // The malformed id was never a call.
    assert_eq!(client.stats().calls, 2);
}
