//! Redis pacing against a real `redis-server` (Debian's package; `make rust-tools` installs
//! it), started by each test on a free loopback port with persistence off and killed at the
//! end: clients in two processes with different host-pacing directories share one rate, a
//! Redis killed and restarted in the middle of a run, a flushed script cache, passwords.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use greenapi::{Client, ErrorKind, Options, Pacing};
use support::{ID, Reply, Server, TOKEN};

const OLD_SHAPE: &str = r#"{"existsWhatsapp":true,"urlAvatar":""}"#;
/// The instances of the tests that use the host pacing as well (a fallback, a pause).
const DOWN_ID: &str = "1101000011";
const PAUSE_ID: &str = "1101000012";
const PASSWORD: &str = "pw-Zq81xKcV";

/// A `redis-server` of this test, killed when dropped.
struct Redis {
    port: u16,
    password: Option<&'static str>,
    child: Child,
}

impl Redis {
    fn start(password: Option<&'static str>) -> Redis {
        Redis::start_on(support::free_port(), password)
    }

    fn start_on(port: u16, password: Option<&'static str>) -> Redis {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd
            .spawn()
            .expect("redis-server (Debian's redis-server package; make rust-tools installs it)");
        let redis = Redis {
            port,
            password,
            child,
        };
        let end = Instant::now() + Duration::from_secs(10);
        while redis.command(&["PING"]).is_none() {
            assert!(Instant::now() < end, "redis-server did not start");
            thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    /// `redis://[:password@]127.0.0.1:port`.
    fn url(&self) -> String {
        match self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// One command on a connection of its own: the first line of the reply.
    fn command(&self, args: &[&str]) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut out = Vec::new();
        let mut push = |args: &[&str]| {
            out.extend(format!("*{}\r\n", args.len()).bytes());
            for a in args {
                out.extend(format!("${}\r\n{a}\r\n", a.len()).bytes());
            }
        };
        if let Some(p) = self.password {
            push(&["AUTH", p]);
        }
        push(args);
        s.write_all(&out).ok()?;
        let mut r = BufReader::new(s);
        let mut line = String::new();
        if self.password.is_some() {
            r.read_line(&mut line).ok()?;
            line.clear();
        }
        r.read_line(&mut line).ok()?;
        (!line.is_empty()).then(|| line.trim_end().to_string())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback server that answers every request and keeps when each arrived.
fn timed_server() -> (Server, Arc<Mutex<Vec<Instant>>>) {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let log = arrivals.clone();
    let server = Server::start(move |_, _| {
        log.lock().unwrap().push(Instant::now());
        Reply::json(200, OLD_SHAPE)
    });
    (server, arrivals)
}

/// The most arrivals in any one-second window.
fn max_per_second(arrivals: &[Instant]) -> usize {
    support::most_in_one_second(arrivals)
}

fn redis_opts(url: &str, redis: &str) -> Options {
    Options {
        rate_limit_per_sec: 10.0,
        pacing: Pacing::parse(redis).unwrap(),
        connect_timeout: Duration::from_secs(2),
        ..support::opts(url)
    }
}

/// Calls a child process makes (see `child_process_calls`).
const CHILD_CALLS: usize = 15;

/// Run as a child of `two_processes_share_one_redis_pacing` (with GA_REDIS_CHILD set):
/// [`CHILD_CALLS`] calls at 10/s through the Redis pacing. Otherwise nothing.
#[test]
fn child_process_calls() {
    let (Ok(redis), Ok(api)) = (
        std::env::var("GA_REDIS_CHILD"),
        std::env::var("GA_REDIS_API"),
    ) else {
        return;
    };
    let client = Client::with_options(ID, TOKEN, &redis_opts(&api, &redis)).unwrap();
    assert_eq!(client.pacing().as_str(), "redis");
    for _ in 0..CHILD_CALLS {
        client.get_avatar("79001234567").unwrap();
    }
    assert_eq!(client.pacing().as_str(), "redis");
}

#[test]
fn two_processes_share_one_redis_pacing() {
    let redis = Redis::start(None);
    let (server, arrivals) = timed_server();
    let start = Instant::now();
    let dirs: Vec<_> = (0..2)
        .map(|i| {
            let d = std::env::temp_dir().join(format!("greenapi-redis-{}-{i}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            d
        })
        .collect();
    let children: Vec<_> = dirs
        .iter()
        .map(|dir| {
            Command::new(std::env::current_exe().unwrap())
                .args(["child_process_calls", "--exact", "--test-threads=1"])
                .env("GA_REDIS_CHILD", redis.url())
                .env("GA_REDIS_API", server.url())
                // Host pacing of their own: only Redis can make them share.
                .env("GREENAPI_RUNTIME_DIR", dir)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a child process failed");
    }
    for d in &dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 2 * CHILD_CALLS);
    let most = max_per_second(&arrivals);
    assert!(most <= 10, "{most} requests in one second");
    // 30 turns 105 ms apart: about 3 s; each process alone at 10/s would take 1.5 s.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(2900), "{took:?}");
    assert!(
        redis
            .command(&["EXISTS", &format!("greenapi:getAvatar:{ID}")])
            .as_deref()
            == Some(":1"),
        "the pacing's key"
    );
    let ttl = redis.command(&["PTTL", &format!("greenapi:getAvatar:{ID}")]);
    assert!(
        ttl.as_deref()
            .is_some_and(|t| t.starts_with(':') && t != ":-1"),
        "the key expires when idle: {ttl:?}"
    );
}

#[test]
fn calls_go_on_under_host_pacing_while_redis_is_down() {
    // With a password, which no event may show.
    let mut redis = Redis::start(Some(PASSWORD));
    let port = redis.port;
    let (server, _) = timed_server();
    let events = Arc::new(Mutex::new(Vec::new()));
    let keep = events.clone();
    let observer = greenapi::Observer::new(greenapi::Level::Debug, move |e| {
        keep.lock()
            .unwrap()
            .push((e.kind, e.level, e.pacing, format!("{} {e:?}", e.message())));
    });
    // An instance of its own: the fallback's host pacing is shared with no other test.
    let client = Client::with_options(
        DOWN_ID,
        TOKEN,
        &Options {
            observer: Some(observer),
            ..redis_opts(&server.url(), &redis.url())
        },
    )
    .unwrap();
    assert_eq!(client.pacing().as_str(), "redis");
    for _ in 0..5 {
        client.get_avatar("79001234567").unwrap();
    }
    // A flushed script cache (as after a restart): NOSCRIPT, loaded again, still Redis.
    assert_eq!(redis.command(&["SCRIPT", "FLUSH"]).as_deref(), Some("+OK"));
    for _ in 0..3 {
        client.get_avatar("79001234567").unwrap();
    }
    assert_eq!(client.pacing().as_str(), "redis");

    redis.kill();
    let t = Instant::now();
    for _ in 0..5 {
        client.get_avatar("79001234567").unwrap();
    }
    assert_eq!(client.pacing(), Pacing::Host);
    // Still paced: 5 turns at 10/s on the host pacing.
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );

    let redis = Redis::start_on(port, Some(PASSWORD));
    let end = Instant::now() + Duration::from_secs(15);
    let mut calls = 0;
    while client.pacing().as_str() != "redis" {
        assert!(Instant::now() < end, "Redis was not used again");
        client.get_avatar("79001234567").unwrap();
        calls += 1;
    }
    assert!(calls > 0);
    for _ in 0..3 {
        client.get_avatar("79001234567").unwrap();
    }
    assert_eq!(client.pacing().as_str(), "redis");
    drop(redis);
    // Lost once (a warning), back once (info); no event shows the password.
    let events = events.lock().unwrap().clone();
    let switches: Vec<_> = events
        .iter()
        .filter(|e| e.0 == greenapi::EventKind::PacingSwitched)
        .map(|e| (e.1, e.2))
        .collect();
    assert_eq!(
        switches,
        [
            (greenapi::Level::Warning, Some("host")),
            (greenapi::Level::Info, Some("redis"))
        ]
    );
    for e in &events {
        assert!(!e.3.contains(PASSWORD), "{}", e.3);
    }
    assert!(!format!("{:?}", client.stats()).contains(PASSWORD));
}

#[test]
fn passwords_right_and_wrong_and_never_shown() {
    let redis = Redis::start(Some(PASSWORD));
    let (server, _) = timed_server();
    for url in [
        redis.url(),
        format!("redis://default:{PASSWORD}@127.0.0.1:{}/2", redis.port),
    ] {
        let o = redis_opts(&server.url(), &url);
        let client = Client::with_options(ID, TOKEN, &o).unwrap();
        assert_eq!(client.pacing().as_str(), "redis");
        client.get_avatar("79001234567").unwrap();
        let shown = format!(
            "{o:?} {o:#?} {client:?} {:?} {}",
            client.pacing(),
            client.pacing()
        );
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(shown.contains("redis://***@127.0.0.1"), "{shown}");
    }

    let wrong = "wrong-Pw0Kx";
    for (url, what) in [
        (
            format!("redis://:{wrong}@127.0.0.1:{}", redis.port),
            "credentials",
        ),
        (
            format!("redis://default:{wrong}@127.0.0.1:{}", redis.port),
            "credentials",
        ),
        (
            format!("redis://127.0.0.1:{}", redis.port),
            "needs a password",
        ),
        (
            format!("redis://:{PASSWORD}@127.0.0.1:{}/99999", redis.port),
            "database",
        ),
    ] {
        let e = Client::with_options(ID, TOKEN, &redis_opts(&server.url(), &url)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{}", e.message());
        let m = format!("{} {e:?} {e}", e.message());
        assert!(m.contains("Redis") && m.contains(what), "{m}");
        assert!(!m.contains(wrong) && !m.contains(PASSWORD), "{m}");
    }

    // Nothing listens: a network error naming Redis, without the password.
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}", support::closed_port());
    let e = Client::with_options(ID, TOKEN, &redis_opts(&server.url(), &url)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{}", e.message());
    assert!(e.message().contains("Redis"), "{}", e.message());
    assert!(!format!("{} {e:?}", e.message()).contains(PASSWORD));

    // A bad URL: refused before anything is sent, without repeating it.
    let e = Pacing::parse(&format!("redis://:{PASSWORD}@127.0.0.1:notaport")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(!e.message().contains(PASSWORD), "{}", e.message());
}

#[test]
fn a_retry_after_pauses_every_client_of_the_redis_pacing() {
    let redis = Redis::start(None);
    // The first request gets a 429 with Retry-After: 1; every later one a 200.
    let first = Arc::new(Mutex::new(true));
    let server = {
        let first = first.clone();
        Server::start(move |_, _| {
            let mut f = first.lock().unwrap();
            if std::mem::replace(&mut *f, false) {
                Reply::json(429, "{}").with_header("Retry-After", "2")
            } else {
                Reply::json(200, OLD_SHAPE)
            }
        })
    };
    let o = Options {
        max_retries: 0,
        ..redis_opts(&server.url(), &redis.url())
    };
    // Two clients of one process stand for two machines: each paces alone but for Redis.
    // (A 429 also slows down, which pauses 1 s: the 2 s are the Retry-After's.)
    let a = Client::with_options(PAUSE_ID, TOKEN, &o).unwrap();
    let o = Options {
        pacing: Pacing::Process,
        ..o
    };
    let b = Client::with_options(
        PAUSE_ID,
        TOKEN,
        &Options {
            pacing: Pacing::parse(&redis.url()).unwrap(),
            ..o
        },
    )
    .unwrap();
    let e = a.get_avatar("79001234567").unwrap_err();
    assert_eq!(e.http_status(), Some(429));
    let t = Instant::now();
    b.get_avatar("79001234567").unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(1800),
        "the other client did not wait for the pause: {:?}",
        t.elapsed()
    );
}
