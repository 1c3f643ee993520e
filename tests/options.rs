//! What the options promise: every value inside its documented range makes calls that return
//! (an answer or an error, never a panic) and every value just outside it is refused when the
//! client is made; `Debug` hides proxy credentials; the pool keeps as many idle connections as
//! it says; `localhost` names are loopback; plain http never crosses the network via a proxy.

mod support;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use greenapi::{Client, ErrorKind, Options};
use support::{ID, Reply, Server, TOKEN, opts as base};

const OLD_SHAPE: &str = r#"{"existsWhatsapp":true,"urlAvatar":""}"#;

const MS: Duration = Duration::from_millis(1);
const DAY: Duration = Duration::from_secs(86_400);
const MIN_RATE: f64 = 1.0 / 3600.0;
const MAX_RATE: f64 = 10_000.0;
const GIB: u64 = 1 << 30;

/// Refused at creation with a message that names `option`.
fn refused(o: &Options, option: &str, what: &str) {
    let e = Client::with_options(ID, TOKEN, o).expect_err(what);
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidArgument,
        "{what}: {}",
        e.message()
    );
    assert!(
        e.message().contains(option),
        "{what}: the message does not name {option}: {}",
        e.message()
    );
    assert_eq!(e.attempts(), 0);
}

/// The next f64 towards +infinity (positive finite `x` only).
fn up(x: f64) -> f64 {
    f64::from_bits(x.to_bits() + 1)
}

/// The next f64 towards zero (positive finite `x` only).
fn down(x: f64) -> f64 {
    f64::from_bits(x.to_bits() - 1)
}

#[test]
fn values_just_outside_the_range_are_refused() {
    let url = "http://127.0.0.1:9";
    let o = base(url);
    for (name, d) in [
        ("zero", Duration::ZERO),
        ("1 ns", Duration::from_nanos(1)),
        ("1 ms - 1 ns", MS - Duration::from_nanos(1)),
        ("100 us", Duration::from_micros(100)),
        ("a day + 1 ns", DAY + Duration::from_nanos(1)),
        ("a day + 1 ms", DAY + MS),
        ("1e19 s", Duration::from_secs(10_000_000_000_000_000_000)),
        ("Duration::MAX", Duration::MAX),
    ] {
        let t = Options {
            timeout: d,
            ..o.clone()
        };
        refused(&t, "timeout", &format!("timeout {name}"));
        let c = Options {
            connect_timeout: d,
            ..o.clone()
        };
        refused(&c, "connect_timeout", &format!("connect_timeout {name}"));
    }
    for rate in [
        -1.0,
        -MIN_RATE,
        f64::MIN_POSITIVE,
        1e-19,
        0.0001,
        down(MIN_RATE),
        up(MAX_RATE),
        10_001.0,
        1e300,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let r = Options {
            rate_limit_per_sec: rate,
            ..o.clone()
        };
        refused(&r, "rate_limit_per_sec", &format!("rate {rate:e}"));
    }
    for n in [11, 12, u32::MAX] {
        let r = Options {
            max_retries: n,
            ..o.clone()
        };
        refused(&r, "max_retries", &format!("max_retries {n}"));
    }
    for n in [0, GIB + 1, u64::MAX] {
        let b = Options {
            max_body_bytes: n,
            ..o.clone()
        };
        refused(&b, "max_body_bytes", &format!("max_body_bytes {n}"));
    }
}

/// xorshift64*: a deterministic sweep, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform in [lo, hi], with each end chosen outright one time in eight.
    fn log_between(&mut self, lo: f64, hi: f64) -> f64 {
        match self.next() % 8 {
            0 => lo,
            1 => hi,
            _ => (lo.ln() + self.unit() * (hi.ln() - lo.ln()))
                .exp()
                .clamp(lo, hi),
        }
    }
}

fn duration_between(rng: &mut Rng, lo: Duration, hi: Duration) -> Duration {
    let nanos = rng.log_between(lo.as_nanos() as f64, hi.as_nanos() as f64);
    Duration::from_nanos(nanos as u64).clamp(lo, hi)
}

#[test]
fn no_accepted_value_makes_a_call_panic() {
    let server = Server::always_json(200, OLD_SHAPE);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases: Vec<Options> = Vec::new();
    // The extremes one at a time, the others at their defaults.
    for d in [MS, DAY] {
        cases.push(Options {
            timeout: d,
            max_retries: 0,
            ..base(&server.url())
        });
        cases.push(Options {
            connect_timeout: d,
            ..base(&server.url())
        });
    }
    for rate in [0.0, MIN_RATE, up(MIN_RATE), down(MAX_RATE), MAX_RATE] {
        cases.push(Options {
            rate_limit_per_sec: rate,
            ..base(&server.url())
        });
    }
    for n in [1, GIB] {
        cases.push(Options {
            max_body_bytes: n,
            ..base(&server.url())
        });
    }
    cases.push(Options {
        max_retries: 10,
        ..base(&server.url())
    });
    // Then everything at once, drawn over the whole range.
    for _ in 0..300 {
        let timeout = duration_between(&mut rng, MS, DAY);
        let connect_timeout = duration_between(&mut rng, MS, DAY);
        let rate = match rng.next() % 4 {
            0 => 0.0,
            _ => rng.log_between(MIN_RATE, MAX_RATE),
        };
        let mut max_retries = (rng.next() % 11) as u32;
        // A very short timeout may fail every attempt, and a slow rate makes every retry wait
        // its turn: retries there would only make the test slow.
        let short = Duration::from_millis(200);
        if timeout < short || connect_timeout < short || (rate != 0.0 && rate < 50.0) {
            max_retries = 0;
        }
        cases.push(Options {
            timeout,
            connect_timeout,
            max_retries,
            rate_limit_per_sec: rate,
            max_body_bytes: rng.log_between(1.0, GIB as f64) as u64,
            ..base(&server.url())
        });
    }
    for o in &cases {
        let c = Client::with_options(ID, TOKEN, o)
            .unwrap_or_else(|e| panic!("{o:?} refused: {}", e.message()));
        // A slow rate makes the second call wait its turn: one call is enough there.
        let calls = if o.rate_limit_per_sec == 0.0 || o.rate_limit_per_sec >= 50.0 {
            2
        } else {
            1
        };
        for _ in 0..calls {
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.get_avatar("1@c.us")));
            assert!(outcome.is_ok(), "a call panicked with {o:?}");
        }
    }
}

#[test]
fn debug_hides_proxy_credentials() {
    for (proxy, shown) in [
        (
            "http://alice:hunter2@proxy.example:3128",
            "http://***@proxy.example:3128",
        ),
        ("socks5://alice@proxy.example", "socks5://***@proxy.example"),
        ("alice:hunter2@proxy.example:3128", "***@proxy.example:3128"),
        ("http://proxy.example:3128", "http://proxy.example:3128"),
        (
            "http://alice:hunter2@2@proxy.example",
            "http://***@proxy.example",
        ),
    ] {
        let o = Options {
            proxy: Some(proxy.to_string()),
            ..Options::default()
        };
        let text = format!("{o:?} {o:#?}");
        assert!(
            !text.contains("hunter2") && !text.contains("alice"),
            "{text}"
        );
        assert!(text.contains(shown), "{proxy}: {text}");
    }
}

/// Twelve calls at once, twice: the second round finds twelve idle connections in the pool.
#[test]
fn twelve_parallel_calls_keep_twelve_connections_alive() {
    let server = Server::start(|_, _| {
        Reply::Delay(
            Duration::from_millis(100),
            Box::new(Reply::json(200, OLD_SHAPE)),
        )
    });
    let c = Arc::new(Client::with_options(ID, TOKEN, &base(&server.url())).unwrap());
    let round = || {
        let barrier = Arc::new(Barrier::new(12));
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let (c, barrier) = (c.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    c.get_avatar("1@c.us").unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    };
    round();
    let first = server.connections();
    round();
    assert_eq!(
        server.connections(),
        first,
        "the second round opened new connections"
    );
}

/// `localhost` and names under `.localhost` are loopback by definition (RFC 6761), whatever the
/// system resolver says: /etc/hosts here names only 127.0.0.1, and nothing resolves
/// `*.localhost` at all, so a server on ::1 alone is only found when the library answers itself.
#[test]
fn localhost_names_are_loopback_without_the_resolver() {
    let v6 = Server::start_on("[::1]:0", true, |_, _| Reply::json(200, OLD_SHAPE));
    let port = v6.addr.port();
    for host in [
        "localhost",
        "LocalHost",
        "localhost.",
        "api.localhost",
        "a.b.LOCALHOST.",
    ] {
        let o = Options {
            api_url: Some(format!("http://{host}:{port}")),
            max_retries: 0,
            ..base("")
        };
        let c = Client::with_options(ID, TOKEN, &o)
            .unwrap_or_else(|e| panic!("{host}: {}", e.message()));
        let r = c.get_avatar("1@c.us");
        assert!(
            r.is_ok(),
            "{host}: {:?}",
            r.err().map(|e| e.message().to_string())
        );
    }
    // Names that only look like it are not loopback: plain http to them is refused.
    for host in [
        "localhost.example",
        "notlocalhost",
        "localhostx",
        "localhost..",
        "x.localhost.y",
    ] {
        let o = Options {
            api_url: Some(format!("http://{host}:{port}")),
            ..base("")
        };
        refused(&o, "api_url", host);
    }
}

/// Plain http to loopback through a proxy elsewhere would carry the token across the network.
#[test]
fn plain_http_to_loopback_through_a_remote_proxy_is_refused() {
    for proxy in [
        "http://proxy.example:3128",
        "http://10.0.0.1:3128",
        "https://proxy.example",
    ] {
        let o = Options {
            api_url: Some("http://127.0.0.1:8080".into()),
            proxy: Some(proxy.to_string()),
            ..Options::default()
        };
        refused(&o, "proxy", proxy);
        let allowed = Options {
            allow_insecure_http: true,
            ..o
        };
        assert!(Client::with_options(ID, TOKEN, &allowed).is_ok(), "{proxy}");
    }
    // https to loopback through any proxy, and http through a loopback proxy, are fine.
    for (api_url, proxy) in [
        ("https://127.0.0.1:8443", "http://proxy.example:3128"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:3128"),
        ("http://localhost:8080", "http://localhost:3128"),
        ("http://[::1]:8080", "http://[::1]:3128"),
    ] {
        let o = Options {
            api_url: Some(api_url.into()),
            proxy: Some(proxy.to_string()),
            ..Options::default()
        };
        assert!(
            Client::with_options(ID, TOKEN, &o).is_ok(),
            "{api_url} via {proxy}"
        );
    }
}
