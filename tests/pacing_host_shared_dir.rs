//! Host pacing never uses a directory other users can reach: a member of the group could stall
//! or speed up every client of the instance by writing the file. A group-shared
//! `GREENAPI_RUNTIME_DIR` is refused, and the client says so: it paces alone ("process"), as
//! the README's Deployments section states (processes of different users share no pacing).

mod support;

use std::os::unix::fs::PermissionsExt;

use greenapi::{Client, Pacing};
use support::{Reply, Server, TOKEN};

const ID: &str = "1101000095";

#[test]
fn a_runtime_dir_shared_by_a_group_is_refused_and_said_so() {
    let dir = std::env::temp_dir().join(format!("greenapi-review-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    // What two users of one group need (setgid, so files are the group's).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o2770)).unwrap();
    // SAFETY: the only test of this binary; no other thread reads the environment yet.
    unsafe { std::env::set_var("GREENAPI_RUNTIME_DIR", &dir) };
    let server =
        Server::start(|_, _| Reply::json(200, r#"{"existsWhatsapp":true,"urlAvatar":""}"#));
    let opts = support::host_paced(&server.url());
    let client = Client::with_options(ID, TOKEN, &opts).unwrap();
    let in_force = client.pacing();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        in_force,
        Pacing::Process,
        "a directory open to the group was used for host pacing"
    );
}
