//! A regression test for what a review found (the library now copes; see src/pacing): a host-pacing file whose times come from another CLOCK_MONOTONIC (the
//! previous boot, with GREENAPI_RUNTIME_DIR on a disk that outlives a reboot, as the README
//! suggests for sharing between users; or another time namespace) holds every call back until
//! that clock's "last turn" plus an interval: days after a reboot of a machine that had been up
//! for days. Nothing bounds a pacing wait, so the call hangs until it is stopped.

mod support;

use std::time::{Duration, Instant};

use greenapi::{Client, Pacing};
use support::{Reply, Server, TOKEN};

const ID: &str = "1101000091";

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[test]
fn a_pacing_file_from_the_previous_boot_blocks_every_call() {
    let dir = std::env::temp_dir().join(format!("greenapi-review-stale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // SAFETY: the only test of this binary; no other thread reads the environment yet.
    unsafe { std::env::set_var("GREENAPI_RUNTIME_DIR", &dir) };

    // The file as the previous boot left it: the machine had been up 30 days, this boot's
    // clock is far behind. Layout: last, pause_until, share, slowed_at, changed_at (u64 each).
    let previous_boot_last = monotonic_ns() + 30 * 86_400 * 1_000_000_000;
    let mut page = vec![0u8; 4096];
    page[..8].copy_from_slice(&previous_boot_last.to_ne_bytes());
    std::fs::write(dir.join(format!("getAvatar-{ID}.v1")), &page).unwrap();
    std::fs::set_permissions(
        dir.join(format!("getAvatar-{ID}.v1")),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();

    let server =
        Server::start(|_, _| Reply::json(200, r#"{"existsWhatsapp":true,"urlAvatar":""}"#));
    let opts = support::host_paced(&server.url());
    let client = Client::with_options(ID, TOKEN, &opts).unwrap();
    assert_eq!(client.pacing(), Pacing::Host, "the file is in use");
    let start = Instant::now();
    let give_up = start + Duration::from_secs(3);
    let r = client.get_avatar_interruptible("79001234567", &|| Instant::now() >= give_up);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        r.is_ok(),
        "a fresh file's first call should go at once; after {:?}: {:?} ({} requests sent)",
        start.elapsed(),
        r.as_ref()
            .err()
            .map(|e| (e.kind(), e.message().to_string())),
        server.request_count()
    );
}
