//! Batches: many chat ids at once, in the client's pacing, with bounded concurrency.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use greenapi::{Client, ErrorKind, Item, Options};
use support::{ID, Reply, Server, TOKEN, asked, counting_server};

fn opts(url: &str) -> Options {
    Options {
        timeout: Duration::from_secs(10),
        max_retries: 0,
        ..support::opts(url)
    }
}

fn run_all(client: &Arc<Client>, ids: &[&str]) -> Vec<Item> {
    let batch = client
        .batch(ids.iter().map(|s| s.to_string()).collect())
        .unwrap();
    let mut items: Vec<Item> = batch.collect();
    items.sort_by_key(|i| i.index);
    items
}

#[test]
fn max_in_flight_requests_are_on_the_wire_at_once_and_never_more() {
    let c = counting_server(Duration::from_millis(100));
    let o = Options {
        max_in_flight: 16,
        ..opts(&c.server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let ids: Vec<String> = (0..64).map(|i| format!("7900000{i:04}@c.us")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let items = run_all(&client, &refs);
    assert_eq!(items.len(), 64);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item.index, i);
        let a = item.result.as_ref().unwrap();
        assert_eq!(a.url_avatar, format!("https://x/{}", ids[i]));
    }
    assert_eq!(c.most_in_flight.load(Ordering::SeqCst), 16);
    assert_eq!(c.server.request_count(), 64);
}

#[test]
fn order_duplicates_bad_ids_and_a_failing_id() {
    let c = counting_server(Duration::ZERO);
    let client = Arc::new(Client::with_options(ID, TOKEN, &opts(&c.server.url())).unwrap());
    let ids = [
        "79001234567",
        "not an id",
        "79001234567@c.us",
        "500@c.us",
        "",
        "120363043968066561@g.us",
        "+79001234567",
    ];
    let items = run_all(&client, &ids);
    assert_eq!(items.len(), ids.len());
    for (i, item) in items.iter().enumerate() {
        assert_eq!((item.index, item.chat_id.as_str()), (i, ids[i]));
    }
    let url = |i: usize| items[i].result.as_ref().map(|a| a.url_avatar.clone());
    for i in [0, 2, 6] {
        assert_eq!(url(i).unwrap(), "https://x/79001234567@c.us");
    }
    assert_eq!(url(5).unwrap(), "https://x/120363043968066561@g.us");
    for i in [1, 4] {
        let e = items[i].result.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.attempts(), 0);
    }
    let e = items[3].result.as_ref().unwrap_err();
    assert_eq!(
        (e.kind(), e.http_status()),
        (ErrorKind::ServerError, Some(500))
    );
    // The three spellings of one number were asked once.
    let mut sent: Vec<String> = c.server.requests().iter().map(|r| asked(&r.body)).collect();
    sent.sort();
    assert_eq!(
        sent,
        ["120363043968066561@g.us", "500@c.us", "79001234567@c.us"]
    );
}

#[test]
fn stopping_lets_requests_in_flight_finish_and_cancels_the_rest() {
    let c = counting_server(Duration::from_millis(20));
    let o = Options {
        max_in_flight: 4,
        ..opts(&c.server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let ids: Vec<String> = (0..100).map(|i| format!("7900000{i:04}@c.us")).collect();
    let mut batch = client.batch(ids.clone()).unwrap();
    let mut items = Vec::new();
    let mut seen_at_stop = 0;
    while let Some(item) = batch.next() {
        items.push(item);
        if items.len() == 10 {
            seen_at_stop = c.server.request_count();
            batch.stop();
        }
    }
    assert_eq!(items.len(), 100);
    let asked: Vec<String> = c.server.requests().iter().map(|r| asked(&r.body)).collect();
    for item in &items {
        let was_asked = asked.contains(&ids[item.index]);
        match &item.result {
            Ok(_) => assert!(was_asked),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Cancelled, "{}", e.message());
                assert!(!was_asked, "{} was asked but cancelled", ids[item.index]);
            }
        }
    }
    // The ones in flight at the stop finished, and no other started: beyond what the server had
    // seen when the batch was stopped, at most the max_in_flight that may have been on their
    // way (a worker that took its job just before the stop). The results the collector had not
    // taken yet when it stopped are among those the server had seen: a count against the ten
    // handed out would race with the collector.
    let ok = items.iter().filter(|i| i.result.is_ok()).count();
    assert!(
        ok >= 10 && ok <= seen_at_stop + 4,
        "{ok} answered, {seen_at_stop} seen at the stop"
    );
    assert_eq!(ok, asked.len());
}

#[test]
fn a_shutdown_stops_a_batch() {
    let c = counting_server(Duration::from_millis(200));
    let o = Options {
        max_in_flight: 2,
        ..opts(&c.server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let ids: Vec<String> = (0..50).map(|i| format!("7900000{i:04}@c.us")).collect();
    let batch = client.batch(ids).unwrap();
    let stopper = {
        let client = client.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            client.shutdown();
        })
    };
    let items: Vec<Item> = batch.collect();
    stopper.join().unwrap();
    assert_eq!(items.len(), 50);
    let cancelled = items
        .iter()
        .filter(|i| matches!(&i.result, Err(e) if e.kind() == ErrorKind::Cancelled))
        .count();
    assert!(cancelled >= 40, "{cancelled} cancelled");
    assert!(c.server.request_count() < 10);
}

#[test]
fn pacing_spaces_a_batch_and_single_calls_together() {
    let times: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let times = times.clone();
        Server::start(move |_, _| {
            times.lock().unwrap().push(Instant::now());
            Reply::json(200, r#"{"urlAvatar":""}"#)
        })
    };
    let o = Options {
        rate_limit_per_sec: 20.0,
        max_in_flight: 8,
        ..opts(&server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let single = {
        let client = client.clone();
        thread::spawn(move || {
            for _ in 0..5 {
                client.get_avatar("79009999999").unwrap();
            }
        })
    };
    let ids: Vec<String> = (0..30).map(|i| format!("7900000{i:04}@c.us")).collect();
    let items: Vec<Item> = client.batch(ids).unwrap().collect();
    single.join().unwrap();
    assert!(items.iter().all(|i| i.result.is_ok()));
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 35);
    // No one-second window holds more than 20 + 1 requests (spacing, no bursts).
    for (i, t) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
            .count();
        assert!(within <= 21, "{within} requests within one second");
    }
}

#[test]
fn an_empty_batch_is_done_at_once_and_a_huge_one_is_refused() {
    let client = Arc::new(Client::with_options(ID, TOKEN, &opts("http://127.0.0.1:9")).unwrap());
    assert_eq!(client.batch(Vec::new()).unwrap().count(), 0);
    let e = client
        .batch(vec![String::new(); greenapi::MAX_BATCH + 1])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

/// A batch alive at a `fork()`: in the child its workers do not exist. There it ends at once,
/// every entry without a result cancelled, and dropping it joins nothing (joining a thread the
/// child does not have panicked).
#[test]
fn a_batch_inherited_across_fork_ends_at_once_in_the_child() {
    let c = counting_server(Duration::from_millis(300));
    let o = Options {
        max_in_flight: 2,
        ..opts(&c.server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let ids: Vec<String> = (0..20).map(|i| format!("7900000{i:04}@c.us")).collect();
    let mut batch = client.batch(ids).unwrap();
    let first = batch.next().unwrap();
    // SAFETY: the child only reads the batch and exits without unwinding.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // A hang ends the child with SIGALRM, which the parent reports.
        // SAFETY: plain libc calls in the child.
        unsafe { libc::alarm(10) };
        let rest: Vec<Item> = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let rest: Vec<Item> = batch.by_ref().collect();
            drop(batch);
            rest
        }))
        .unwrap_or_default();
        let all_cancelled = rest
            .iter()
            .all(|i| matches!(&i.result, Err(e) if e.kind() == ErrorKind::Cancelled));
        // The child's client works: a dispatcher of its own, never the parent's workers.
        let works = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let ids: Vec<String> = (0..3).map(|i| format!("7911111{i:04}@c.us")).collect();
            client.get_avatar("79001234567").is_ok()
                && client
                    .batch(ids)
                    .unwrap()
                    .filter(|i| i.result.is_ok())
                    .count()
                    == 3
        }))
        .unwrap_or(false);
        let code = if rest.len() != 19 {
            1
        } else if !all_cancelled {
            2
        } else if !works {
            3
        } else {
            0
        };
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just made.
    assert_eq!(unsafe { libc::waitpid(pid, &raw mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status),
        "the child hung or crashed: status {status} (signal {})",
        libc::WTERMSIG(status)
    );
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "1: not every entry had a result (or it panicked); 2: one was not cancelled; 3: the child's client did not work"
    );
    // The parent's batch goes on as if nothing happened.
    assert!(first.result.is_ok());
    let rest: Vec<Item> = batch.collect();
    assert_eq!(rest.len(), 19);
    assert!(rest.iter().all(|i| i.result.is_ok()));
}
