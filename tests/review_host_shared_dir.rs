//! Review repro: README's Deployments says "Processes of different users do not share (each
//! has its own directory); give them one with GREENAPI_RUNTIME_DIR if they must." They cannot:
//! `host.rs` refuses a directory with any group or other access, a directory of another user,
//! and a file of another user, so a directory two users can both use is never used, and
//! each client silently paces alone ("process"), at the full rate each.

mod support;

use std::os::unix::fs::PermissionsExt;

use greenapi::{Client, Options, Pacing};
use support::{Reply, Server, TOKEN};

const ID: &str = "1101000095";

#[test]
fn a_runtime_dir_shared_by_a_group_is_used() {
    let dir = std::env::temp_dir().join(format!("greenapi-review-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    // What two users of one group need (setgid, so files are the group's).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o2770)).unwrap();
    // SAFETY: the only test of this binary; no other thread reads the environment yet.
    unsafe { std::env::set_var("GREENAPI_RUNTIME_DIR", &dir) };
    let server =
        Server::start(|_, _| Reply::json(200, r#"{"existsWhatsapp":true,"urlAvatar":""}"#));
    let opts = Options {
        rate_limit_per_sec: 10.0,
        pacing: Pacing::Host,
        ..support::opts(&server.url())
    };
    let client = Client::with_options(ID, TOKEN, &opts).unwrap();
    let in_force = client.pacing();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        in_force,
        Pacing::Host,
        "GREENAPI_RUNTIME_DIR given to share the pacing between users is not used"
    );
}
