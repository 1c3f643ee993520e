//! Two batches and fifty single calls at once on one client: one pool of workers bounded by
//! the in-flight cap, every entry answered once. Alone in its test binary: it counts the
//! threads of the process, which other tests' clients would add to.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use greenapi::{Client, Options};
use support::{ID, TOKEN, counting_server};

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:06}@c.us")).collect()
}

/// The dispatcher's threads now: its granter and its workers (not the resolver's, which
/// `lookup.rs` bounds on its own).
fn dispatch_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("greenapi-worker") || name.starts_with("greenapi-dispa"))
        .count()
}

#[test]
fn two_batches_and_fifty_calls_share_one_pool() {
    let c = counting_server(Duration::from_millis(20));
    let o = Options {
        max_in_flight: 8,
        ..support::opts(&c.server.url())
    };
    let client = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let most_threads = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (most, running) = (most_threads.clone(), running.clone());
        thread::spawn(move || {
            while running.load(Ordering::Acquire) {
                most.fetch_max(dispatch_threads(), Ordering::SeqCst);
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let batches: Vec<_> = ["7500", "7501"]
        .into_iter()
        .map(|p| {
            let client = client.clone();
            thread::spawn(move || {
                let mut seen = vec![0u8; 300];
                for item in client.batch(ids(p, 300)).unwrap() {
                    assert!(item.result.is_ok(), "{:?}", item.result);
                    seen[item.index] += 1;
                }
                seen
            })
        })
        .collect();
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            thread::spawn(move || client.get_avatar(&format!("7600{i:06}")).map(|_| ()))
        })
        .collect();
    for b in batches {
        assert!(b.join().unwrap().iter().all(|&n| n == 1));
    }
    for c in calls {
        c.join().unwrap().unwrap();
    }
    running.store(false, Ordering::Release);
    watcher.join().unwrap();
    assert_eq!(c.server.request_count(), 650);
    assert!(c.most_in_flight.load(Ordering::SeqCst) <= 8);
    // The workers (at most the cap) and the granter: never a thread per batch or per call.
    let most = most_threads.load(Ordering::SeqCst);
    assert!((1..=8 + 1).contains(&most), "{most} dispatcher threads");
}
