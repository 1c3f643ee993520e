//! Picture downloads against the loopback CDN stand-in (`tests/standin/cdn.py`, HTTPS with a CA
//! of its own, trusted through `ca_file`): every picture type, every fault path of the issue,
//! shutdown during a download, saving over a planted symlink, and the token never sent there.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::{fs, thread};

use greenapi::{Client, ErrorKind, ImageType, Options};

use support::{ID, TOKEN};

/// The CDN stand-in, killed when dropped.
struct Cdn {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Cdn {
    fn start(name: &str) -> Cdn {
        let dir = std::env::temp_dir().join(format!("greenapi-cdn-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standin/cdn.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--cert-dir")
            .arg(dir.join("certs"))
            .arg("--port-file")
            .arg(dir.join("port"))
            .arg("--log")
            .arg(dir.join("log"))
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs tests/standin/cdn.py");
        for _ in 0..300 {
            if let Ok(p) = fs::read_to_string(dir.join("port"))
                && let Ok(port) = p.trim().parse()
            {
                return Cdn { child, dir, port };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the CDN stand-in exited: {status}");
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!("the CDN stand-in did not start");
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn options(&self) -> Options {
        Options {
            // The service is never called here.
            api_url: Some("http://127.0.0.1:9".into()),
            ca_file: Some(self.dir.join("certs/ca.pem")),
            download_hosts: vec!["127.0.0.1".into()],
            max_retries: 2,
            ..support::opts("http://127.0.0.1:9")
        }
    }

    fn client(&self) -> Client {
        Client::with_options(ID, TOKEN, &self.options()).unwrap()
    }

    /// Every request line and header the CDN received, as its log holds them.
    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Requests the CDN received for `path`.
    fn count(&self, path: &str) -> usize {
        let line = format!("\"GET {path} HTTP/1.1\"");
        self.log().matches(&line).count()
    }
}

impl Drop for Cdn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn hex_time(offset_secs: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    format!("{:X}", now + offset_secs)
}

#[test]
fn every_picture_type_and_every_fault() {
    let cdn = Cdn::start("faults");
    let c = cdn.client();
    for (path, kind, magic) in [
        ("/img/a.jpg", ImageType::Jpeg, &b"\xff\xd8\xff"[..]),
        ("/img/a.png", ImageType::Png, b"\x89PNG"),
        ("/img/a.webp", ImageType::Webp, b"RIFF"),
    ] {
        let url = cdn.url(&format!("{path}?oe={}", hex_time(3600)));
        let image = c.download_avatar(&url).unwrap();
        assert_eq!(image.kind, kind, "{path}");
        assert!(image.bytes.starts_with(magic), "{path}");
        assert_eq!(image.attempts, 1);
    }
    // A redirect to the same (allowed) host is followed; one to another host is refused, and
    // that host is never asked (it does not exist anyway).
    let image = c.download_avatar(&cdn.url("/redirect/ok")).unwrap();
    assert_eq!(image.kind, ImageType::Jpeg);
    assert_eq!(cdn.count("/img/redirected.jpg"), 1);
    let e = c.download_avatar(&cdn.url("/redirect/evil")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpStatus, "{}", e.message());
    assert!(e.message().contains("evil.example"), "{}", e.message());
    let e = c.download_avatar(&cdn.url("/redirect/loop")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpStatus, "{}", e.message());
    assert_eq!(cdn.count("/redirect/loop"), 4, "the first and 3 redirects");

    let e = c.download_avatar(&cdn.url("/huge")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{}", e.message());
    assert!(
        e.message().contains("max_download_bytes"),
        "{}",
        e.message()
    );
    let e = c.download_avatar(&cdn.url("/html")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadResponse, "{}", e.message());
    assert!(e.message().contains("text/html"), "{}", e.message());
    let e = c.download_avatar(&cdn.url("/mislabelled")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadResponse, "{}", e.message());
    assert!(
        e.message().contains("image/jpeg") && e.message().contains("image/png"),
        "{}",
        e.message()
    );
    for path in ["/expired", "/gone", "/status/404"] {
        let e = c.download_avatar(&cdn.url(path)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Expired, "{path}: {}", e.message());
        assert_eq!(cdn.count(path), 1, "{path} is not retried");
    }
    let e = c.download_avatar(&cdn.url("/expired")).unwrap_err();
    assert!(
        e.message().contains("URL signature expired"),
        "{}",
        e.message()
    );
    assert_eq!(e.http_status(), Some(403));

    // A link already past its oe= is not even asked.
    let past = cdn.url(&format!("/img/old.jpg?oe={}", hex_time(-60)));
    let e = c.download_avatar(&past).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Expired, "{}", e.message());
    assert_eq!((e.attempts(), cdn.count("/img/old.jpg")), (0, 0));

    // Network failures and 5xx are retried as calls are; a reset every time fails after all.
    let image = c.download_avatar(&cdn.url("/flaky/one")).unwrap();
    assert_eq!(image.attempts, 2);
    let e = c.download_avatar(&cdn.url("/reset")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{}", e.message());
    assert_eq!(e.attempts(), 3);
    // The first went out on a pooled connection, so its reset earned the one free resend
    // (as for calls: the CDN may have closed it while it sat in the pool): 3 attempts, 4 sends.
    assert_eq!(cdn.count("/reset"), 4);

    // A CDN host that does not resolve is named, not the service's.
    let c2 = Client::with_options(
        ID,
        TOKEN,
        &Options {
            download_hosts: vec!["invalid".into()],
            max_retries: 0,
            ..cdn.options()
        },
    )
    .unwrap();
    let e = c2.download_avatar("https://cdn.invalid/x.jpg").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{}", e.message());
    assert!(e.message().contains("cdn.invalid"), "{}", e.message());
    let e = c.download_avatar(&cdn.url("/reset")).unwrap_err();
    assert!(
        e.message().starts_with("downloading from 127.0.0.1"),
        "{}",
        e.message()
    );

    // Not https, or a host nobody allowed: refused before anything is sent.
    for url in [
        format!("http://127.0.0.1:{}/img/a.jpg", cdn.port),
        format!("https://localhost:{}/img/a.jpg", cdn.port),
        String::new(),
    ] {
        let e = c.download_avatar(&url).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::InvalidArgument,
            "{url}: {}",
            e.message()
        );
    }
}

#[test]
fn a_slow_body_is_cut_by_the_timeout() {
    let cdn = Cdn::start("slow");
    let c = Client::with_options(
        ID,
        TOKEN,
        &Options {
            timeout: Duration::from_millis(300),
            max_retries: 0,
            ..cdn.options()
        },
    )
    .unwrap();
    let e = c.download_avatar(&cdn.url("/slow?ms=20000")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{}", e.message());
    assert_eq!(cdn.count("/slow?ms=20000"), 1);
}

#[test]
fn shutdown_stops_a_download_in_progress() {
    let cdn = Cdn::start("shutdown");
    let c = std::sync::Arc::new(cdn.client());
    let worker = {
        let c = c.clone();
        let url = cdn.url("/slow?ms=60000");
        thread::spawn(move || c.download_avatar(&url))
    };
    // Counted, not timed: shut down once the request is at the CDN.
    while cdn.count("/slow?ms=60000") == 0 {
        thread::sleep(Duration::from_millis(20));
    }
    c.shutdown();
    let e = worker.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{}", e.message());
    let e = c.download_avatar(&cdn.url("/img/a.jpg")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert_eq!(cdn.count("/img/a.jpg"), 0);
}

#[test]
fn downloads_are_bounded_in_flight_not_paced() {
    let cdn = Cdn::start("inflight");
    let c = std::sync::Arc::new(
        Client::with_options(
            ID,
            TOKEN,
            &Options {
                max_in_flight: 2,
                // GetAvatar pacing at its slowest: a download that took a turn would never end.
                rate_limit_per_sec: greenapi::MIN_RATE_LIMIT_PER_SEC,
                ..cdn.options()
            },
        )
        .unwrap(),
    );
    let workers: Vec<_> = (0..6)
        .map(|i| {
            let c = c.clone();
            let url = cdn.url(&format!("/slow?ms=300&n={i}"));
            thread::spawn(move || c.download_avatar(&url))
        })
        .collect();
    for w in workers {
        assert_eq!(w.join().unwrap().unwrap().kind, ImageType::Jpeg);
    }
    // Counted at the CDN: how many it was serving when each request arrived.
    let most = cdn
        .log()
        .lines()
        .filter(|l| l.contains("GET /slow"))
        .map(|l| {
            let at = l.rfind("\"in_flight\": ").unwrap() + 13;
            l[at..].trim_end_matches('}').trim().parse::<u32>().unwrap()
        })
        .max();
    assert!(matches!(most, Some(1..=2)), "{most:?} at once");
}

#[test]
fn saving_replaces_a_planted_symlink_and_leaves_no_part_file() {
    let cdn = Cdn::start("save");
    let c = cdn.client();
    let dir = cdn.dir.join("pictures");
    fs::create_dir_all(&dir).unwrap();
    let victim = cdn.dir.join("victim.txt");
    fs::write(&victim, "precious").unwrap();
    let stem = greenapi::file_stem("79001234567@c.us");
    std::os::unix::fs::symlink(&victim, dir.join(format!("{stem}.png"))).unwrap();
    let saved = c.save_avatar(&cdn.url("/img/p.png"), &dir, &stem).unwrap();
    assert_eq!(saved, dir.join("79001234567@c.us.png"));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!fs::symlink_metadata(&saved).unwrap().is_symlink());
    assert!(fs::read(&saved).unwrap().starts_with(b"\x89PNG"));
    // A refused picture leaves nothing behind, under any name.
    let e = c.save_avatar(&cdn.url("/html"), &dir, "other").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadResponse);
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    for bad in ["", "../x", ".hidden", "a/b"] {
        let e = c
            .save_avatar(&cdn.url("/img/p.png"), &dir, bad)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
    }
}

#[test]
fn the_token_never_reaches_the_cdn() {
    let cdn = Cdn::start("token");
    let c = cdn.client();
    for path in [
        "/img/a.jpg",
        "/redirect/ok",
        "/html",
        "/expired",
        "/flaky/t",
    ] {
        let _ = c.download_avatar(&cdn.url(path));
    }
    let log = cdn.log();
    assert!(log.lines().count() >= 6, "{log}");
    // No piece of the token: any 6 characters of it in a row would show.
    let token: Vec<char> = TOKEN.chars().collect();
    for piece in token.windows(6) {
        let piece: String = piece.iter().collect();
        assert!(
            !log.contains(&piece),
            "{piece} of the token reached the CDN: {log}"
        );
    }
    // Nor any header of the GetAvatar call (its JSON content type).
    assert!(
        !log.to_ascii_lowercase().contains("application/json"),
        "{log}"
    );
}
