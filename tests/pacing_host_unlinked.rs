//! A regression test for what a review found (the library now copes; see src/pacing): a client maps its host-pacing file once, at creation, and never looks at the
//! path again. When the file is removed while processes use it (systemd-logind's default
//! RemoveIPC=yes empties /dev/shm of a user's files, directories included, when the user's last
//! session ends; logind removes $XDG_RUNTIME_DIR then too; tmpfiles ages /tmp), clients made
//! later map a new file: the old and the new ones pace apart, and together they send twice
//! the rate into the service's 10/s, with `pacing()` saying "host" for both.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use greenapi::{Client, Pacing};
use support::{Reply, Server, TOKEN};

const ID: &str = "1101000094";

#[test]
fn clients_made_after_the_file_was_removed_pace_apart() {
    let dir = std::env::temp_dir().join(format!("greenapi-review-unlink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // SAFETY: the only test of this binary; no other thread reads the environment yet.
    unsafe { std::env::set_var("GREENAPI_RUNTIME_DIR", &dir) };

    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let log = arrivals.clone();
    let server = Server::start(move |_, _| {
        log.lock().unwrap().push(Instant::now());
        Reply::json(200, r#"{"existsWhatsapp":true,"urlAvatar":""}"#)
    });
    let opts = support::host_paced(&server.url());
    let old = Client::with_options(ID, TOKEN, &opts).unwrap();
    // The session ends: the user's files go (the directory stays, or is made again).
    std::fs::remove_file(dir.join(format!("getAvatar-{ID}.v1"))).unwrap();
    let new = Client::with_options(ID, TOKEN, &opts).unwrap();
    assert_eq!((old.pacing(), new.pacing()), (Pacing::Host, Pacing::Host));

    thread::scope(|s| {
        for c in [&old, &new] {
            s.spawn(move || {
                for _ in 0..8 {
                    c.get_avatar("79001234567").unwrap();
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    let most = support::most_in_one_second(&arrivals.lock().unwrap());
    assert!(
        most <= 10,
        "{most} requests in one second from two host-paced clients of one instance"
    );
}
