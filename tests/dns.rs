//! Name lookups against a resolver that drops every query: a network namespace of the test's
//! own whose `resolv.conf` (`ip netns exec` mounts `/etc/netns/<name>/resolv.conf`) names a
//! server on a link where nothing answers. The system resolver would block about 10 s for each
//! lookup; the client must give up at `connect_timeout`, stop at a shutdown, and never leave
//! more than one thread per name blocked in the resolver.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use greenapi::{Client, ErrorKind, Options};
use support::{ID, TOKEN};

const CHILD: &str = "GREENAPI_DNS_CHILD";
/// A name that only the (silent) DNS server could answer.
const NAME: &str = "https://greenapi-lookup.test";

/// Removes the namespace and its resolv.conf however the test ends.
struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", self.0));
    }
}

fn sh(ns: &str, script: &str) {
    let ok = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-ec", script])
        .status()
        .expect("ip runs")
        .success();
    assert!(ok, "in {ns}: {script}");
}

#[test]
fn lookups_are_bounded_by_connect_timeout_stoppable_and_shared() {
    if std::env::var_os(CHILD).is_some() {
        in_the_namespace();
        return;
    }
    // SAFETY: a plain query.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test makes a network namespace: run it as root"
    );
    let ns = Namespace(format!("greenapi-dns-{}", std::process::id()));
    let made = Command::new("ip").args(["netns", "add", &ns.0]).status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "ip netns add failed (is iproute2 installed?)"
    );
    // A link with an address and no one else on it: queries to 10.77.0.2 go unanswered.
    sh(
        &ns.0,
        "ip link set lo up; ip link add ga0 type veth peer name ga1; \
         ip addr add 10.77.0.1/24 dev ga0; ip link set ga0 up; ip link set ga1 up",
    );
    std::fs::create_dir_all(format!("/etc/netns/{}", ns.0)).unwrap();
    std::fs::write(
        format!("/etc/netns/{}/resolv.conf", ns.0),
        "nameserver 10.77.0.2\noptions timeout:5 attempts:2\n",
    )
    .unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(std::env::current_exe().unwrap())
        .args([
            "lookups_are_bounded_by_connect_timeout_stoppable_and_shared",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "in the namespace:\n{text}"
    );
}

fn client(connect_timeout: Duration, max_retries: u32) -> Client {
    let options = Options {
        api_url: Some(NAME.to_string()),
        proxy: Some(String::new()),
        rate_limit_per_sec: 0.0,
        connect_timeout,
        max_retries,
        ..Options::default()
    };
    Client::with_options(ID, TOKEN, &options).unwrap()
}

/// Threads of this process blocked in a lookup.
fn lookup_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == "greenapi-dns")
        .count()
}

fn in_the_namespace() {
    // Bounded by connect_timeout. The resolver's own 2 x 5 s are far beyond these bounds, so
    // they cannot flake: a wait of 10 s would fail them, one of 0.3 s passes with room.
    let started = Instant::now();
    let e = client(Duration::from_millis(300), 0)
        .get_avatar("79001234567")
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{}", e.message());
    assert!(e.message().contains("connect_timeout"), "{}", e.message());
    assert!(took < Duration::from_secs(4), "gave up after {took:?}");

    // Stopped by a shutdown 300 ms in, long before its connect_timeout of 30 s.
    let c = Arc::new(client(Duration::from_secs(30), 0));
    let call = {
        let c = c.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            (c.get_avatar("79001234567"), started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    c.shutdown();
    let (result, took) = call.join().unwrap();
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{}", e.message());
    assert!(took < Duration::from_secs(4), "stopped after {took:?}");

    // Eight callers at once, with retries: every one gives up, and all of them (and the
    // calls above) shared the one lookup still blocked in the resolver.
    let callers: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| client(Duration::from_millis(200), 2).get_avatar("1")))
        .collect();
    for caller in callers {
        let e = caller.join().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{}", e.message());
    }
    let blocked = lookup_threads();
    assert!(
        blocked <= 1,
        "{blocked} threads blocked in lookups of one name"
    );
}
