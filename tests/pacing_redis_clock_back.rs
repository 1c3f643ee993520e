//! A regression test for what a review found (the library now copes; see src/pacing): the Redis pacing keeps `last` and `pause_until` in the server's wall clock
//! (`TIME`). When that clock goes back (an NTP step, a failover to a replica whose clock is
//! behind, a restore of the hash onto another server), a `last` ahead of the new clock holds
//! every client of the instance on every machine back by the difference: the script answers
//! a wait of an hour, the client sleeps it, and no call ever reaches the service.

#![cfg(feature = "redis")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use greenapi::{Client, Options, Pacing};
use support::{Reply, Server, TOKEN};

const ID: &str = "1101000092";

fn command(port: u16, args: &[&str]) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out += &format!("${}\r\n{a}\r\n", a.len());
    }
    s.write_all(out.as_bytes()).ok()?;
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).ok()?;
    Some(
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()?
            .to_string(),
    )
}

#[test]
fn a_redis_clock_gone_back_an_hour_blocks_every_call() {
    let port = support::free_port();
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    let end = Instant::now() + Duration::from_secs(10);
    while command(port, &["PING"]).is_none() {
        assert!(Instant::now() < end, "redis-server did not start");
        thread::sleep(Duration::from_millis(20));
    }
    // The hash as the old clock left it: the last turn taken an hour "ahead" of the new clock.
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let key = format!("greenapi:getAvatar:{ID}");
    let last = (now_us + 3_600_000_000).to_string();
    assert_eq!(
        command(
            port,
            &[
                "HSET",
                &key,
                "last",
                &last,
                "pause_until",
                "0",
                "share",
                "1024",
                "slowed_at",
                "0",
                "changed_at",
                "0"
            ]
        )
        .as_deref(),
        Some(":5")
    );

    let server =
        Server::start(|_, _| Reply::json(200, r#"{"existsWhatsapp":true,"urlAvatar":""}"#));
    let opts = Options {
        rate_limit_per_sec: 10.0,
        pacing: Pacing::parse(&format!("redis://127.0.0.1:{port}")).unwrap(),
        connect_timeout: Duration::from_secs(2),
        ..support::opts(&server.url())
    };
    let client = Client::with_options(ID, TOKEN, &opts).unwrap();
    let start = Instant::now();
    let give_up = start + Duration::from_secs(3);
    let r = client.get_avatar_interruptible("79001234567", &|| Instant::now() >= give_up);
    let in_force = client.pacing();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        r.is_ok(),
        "the instance has been idle: the call should go at once; after {:?} ({} in force): {:?} ({} requests sent)",
        start.elapsed(),
        in_force.as_str(),
        r.as_ref()
            .err()
            .map(|e| (e.kind(), e.message().to_string())),
        server.request_count()
    );
}
