//! A regression test for what a review found (the library now copes; see src/pacing): the host-pacing file is mapped MAP_SHARED and never checked again. When it
//! shrinks under a running process (anyone of the user truncating it: `: > file`, a cleanup
//! script, a tool that rewrites it; or, with the same fault, a full tmpfs that cannot give the
//! sparse page grown by `ftruncate` a block), the next touch of the mapping is a SIGBUS: the
//! whole process (a gunicorn worker, a C program) dies inside `get_avatar`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use greenapi::{Client, Options, Pacing};
use support::{Reply, Server, TOKEN};

const ID: &str = "1101000093";

/// Run as a child of the test below (GA_REVIEW_TRUNCATE set): a host-paced client, its file
/// truncated, one call.
#[test]
fn child_truncates_then_calls() {
    let Ok(api) = std::env::var("GA_REVIEW_TRUNCATE") else {
        return;
    };
    let dir = std::env::var("GREENAPI_RUNTIME_DIR").unwrap();
    let opts = Options {
        rate_limit_per_sec: 10.0,
        pacing: Pacing::Host,
        ..support::opts(&api)
    };
    let client = Client::with_options(ID, TOKEN, &opts).unwrap();
    assert_eq!(client.pacing(), Pacing::Host);
    client.get_avatar("79001234567").unwrap();
    let file = std::path::Path::new(&dir).join(format!("getAvatar-{ID}.v1"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(0)
        .unwrap();
    let r = client.get_avatar("79001234567");
    eprintln!("second call: {:?}", r.map(|_| ()));
}

#[test]
fn a_truncated_pacing_file_kills_the_process() {
    let dir = std::env::temp_dir().join(format!("greenapi-review-trunc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let server =
        Server::start(|_, _| Reply::json(200, r#"{"existsWhatsapp":true,"urlAvatar":""}"#));
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["child_truncates_then_calls", "--exact", "--test-threads=1"])
        .env("GA_REVIEW_TRUNCATE", server.url())
        .env("GREENAPI_RUNTIME_DIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        status.signal().is_none(),
        "the process was killed by signal {:?} (7 is SIGBUS) in the call after the truncation",
        status.signal()
    );
    assert!(status.success(), "{status:?}");
}
