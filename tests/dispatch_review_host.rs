//! Review of the dispatcher (issue 16) with host pacing: two clients of one instance in one
//! process, each with its own dispatcher, both running batches: together they keep the
//! instance's rate (their granters and workers take turns from the one shared file).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use greenapi::{Client, Pacing};
use support::{Reply, Server, TOKEN, asked};

const ID: &str = "1101000095";

#[test]
fn two_clients_of_one_instance_running_batches_keep_the_rate_together() {
    let dir = std::env::temp_dir().join(format!("greenapi-review16-host-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // SAFETY: the only test of this binary; no other thread reads the environment yet.
    unsafe { std::env::set_var("GREENAPI_RUNTIME_DIR", &dir) };

    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let log = arrivals.clone();
    let server = Server::start(move |r, _| {
        log.lock().unwrap().push(Instant::now());
        let id = asked(&r.body);
        Reply::json(200, &format!(r#"{{"urlAvatar":"https://x/{id}"}}"#))
    });
    let opts = support::host_paced(&server.url());
    let clients: Vec<Arc<Client>> = (0..2)
        .map(|_| Arc::new(Client::with_options(ID, TOKEN, &opts).unwrap()))
        .collect();
    assert!(clients.iter().all(|c| c.pacing() == Pacing::Host));
    let runs: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let c = c.clone();
            thread::spawn(move || {
                let ids: Vec<String> = (0..25).map(|i| format!("7{n}00{i:06}@c.us")).collect();
                let mut seen = vec![0u8; 25];
                for item in c.batch(ids).unwrap() {
                    assert!(item.result.is_ok(), "{:?}", item.result);
                    seen[item.index] += 1;
                }
                // A single call beside the other client's batch, on the same shared pacing.
                c.get_avatar(&format!("7{n}990000001")).unwrap();
                seen
            })
        })
        .collect();
    for r in runs {
        assert!(r.join().unwrap().iter().all(|&n| n == 1));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 52);
    let most = support::most_in_one_second(&arrivals);
    assert!(
        most <= 10,
        "{most} requests in one second from two host-paced clients of one instance"
    );
}
