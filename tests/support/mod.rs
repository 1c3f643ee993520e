//! What the Rust tests share (tests/*.rs, bench/loopback.rs and the fuzz checks, fuzz/checks.rs,
//! include it): the id and token of their clients, options for a loopback server, and the one
//! HTTP/1.1 test server, on loopback, written on raw TCP so that it can misbehave on purpose
//! (stall, cut a body, reset, send garbage, send a huge body), and that counts what it saw.

#![allow(dead_code)] // each test file uses a different part of it

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use greenapi::Options;
use greenapi::ffi::client::{ga_client, ga_client_new_with_options};
use greenapi::ffi::code::GA_OK;
use greenapi::ffi::options::{ga_client_options, ga_client_options_init};
use greenapi::ffi::version::GA_CLIENT_OPTIONS_VERSION;

/// The idInstance of every test client.
pub const ID: &str = "1101000001";
/// The token of every test client but two: the token sweep (tests/token_sweep.rs) and the fuzz
/// checks (fuzz/checks.rs, whose committed corpus spells their token out) have their own.
pub const TOKEN: &str = "d75b3a66374942c5b3c019c698abc2067e151558acbd4123";

/// Options for a client of the loopback server at `url` paced at 10 per second with host
/// pacing (the test sets GREENAPI_RUNTIME_DIR to a directory of its own first).
pub fn host_paced(url: &str) -> Options {
    Options {
        rate_limit_per_sec: 10.0,
        pacing: greenapi::Pacing::Host,
        ..opts(url)
    }
}

/// The most of `arrivals` within any one second.
pub fn most_in_one_second(arrivals: &[std::time::Instant]) -> usize {
    let mut t = arrivals.to_vec();
    t.sort();
    (0..t.len())
        .map(|i| {
            t[i..]
                .iter()
                .take_while(|&&x| x - t[i] < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Options for a client of the loopback server at `url`: no pacing (and a test that turns it
/// on paces alone: "process", not shared with the other tests), no proxy from the
/// environment, everything else the default.
pub fn opts(url: &str) -> Options {
    Options {
        api_url: Some(url.to_string()),
        rate_limit_per_sec: 0.0,
        proxy: Some(String::new()),
        pacing: greenapi::Pacing::Process,
        ..Options::default()
    }
}

/// A C client of the loopback server at `url` with [`ID`] and `token`: the C form of [`opts`],
/// without retries, then `tweak` applied to the options. Never NULL.
pub fn c_client(
    url: &str,
    token: &str,
    tweak: impl FnOnce(&mut ga_client_options),
) -> *mut ga_client {
    let url = std::ffi::CString::new(url).unwrap();
    let mut o = std::mem::MaybeUninit::<ga_client_options>::uninit();
    // SAFETY: a whole struct of writable memory.
    assert_eq!(
        unsafe { ga_client_options_init(o.as_mut_ptr(), GA_CLIENT_OPTIONS_VERSION) },
        GA_OK
    );
    // SAFETY: initialised just above.
    let mut o = unsafe { o.assume_init() };
    o.api_url = url.as_ptr();
    o.proxy = c"".as_ptr();
    o.rate_limit_per_sec = 0.0;
    o.max_retries = 0;
    tweak(&mut o);
    let id = std::ffi::CString::new(ID).unwrap();
    let token = std::ffi::CString::new(token).unwrap();
    // SAFETY: valid strings and options; the client copies what it keeps.
    let c = unsafe {
        ga_client_new_with_options(id.as_ptr(), token.as_ptr(), &o, std::ptr::null_mut())
    };
    assert!(!c.is_null());
    c
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// How many requests came before this one on the same connection.
    pub nth_on_connection: usize,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
pub enum Reply {
    /// A well-formed response; the connection stays open.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
    /// Status line and headers announcing `declared` bytes, `sent` of them, then close.
    Cut { declared: usize, sent: usize },
    /// Close with a TCP reset and no answer.
    Reset,
    /// Bytes that are not HTTP, then close.
    Garbage(Vec<u8>),
    /// A 200 announcing `len` bytes and streaming them until the client hangs up.
    Huge { len: u64 },
    /// The inner reply, then the connection is closed without a `Connection: close` having
    /// said so (as some load balancers do).
    ThenClose(Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Http {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Http {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

/// Requests as the server keeps them: all of them, or (for a server that answers millions, as
/// the fuzz checks' does) only their count.
struct Log {
    keep: bool,
    count: usize,
    requests: Vec<Request>,
}

pub struct Server {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    log: Arc<Mutex<Log>>,
    body_bytes_written: Arc<AtomicU64>,
}

impl Server {
    /// Starts a server on 127.0.0.1 that keeps every request; `handler` gets each request and
    /// its 0-based index among all requests.
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Server {
        Server::start_on("127.0.0.1:0", true, handler)
    }

    /// Starts a server on `bind` (a loopback address, port 0); with `keep` false it counts
    /// requests without keeping them ([`Server::requests`] is then empty).
    pub fn start_on(
        bind: &str,
        keep: bool,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind(bind).expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Log {
            keep,
            count: 0,
            requests: Vec::new(),
        }));
        let written = Arc::new(AtomicU64::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let (connections, log, written) = (connections.clone(), log.clone(), written.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (handler, log, written) = (handler.clone(), log.clone(), written.clone());
                    thread::spawn(move || serve(stream, &*handler, &log, &written));
                }
            });
        }
        Server {
            addr,
            connections,
            log,
            body_bytes_written: written,
        }
    }

    /// Answers every request with the same JSON.
    pub fn always_json(status: u16, body: &'static str) -> Server {
        Server::start(move |_, _| Reply::json(status, body))
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.log.lock().unwrap().count
    }

    /// Body bytes of `Huge` replies that the kernel accepted before the client hung up.
    pub fn huge_bytes_written(&self) -> u64 {
        self.body_bytes_written.load(Ordering::SeqCst)
    }
}

/// One HTTP/1.1 message, a request or a response, as read off a connection.
pub struct Message {
    /// The request line or the status line, without its line end.
    pub start_line: String,
    pub headers: Vec<(String, String)>,
    /// As many bytes as `content-length` says (none without one).
    pub body: Vec<u8>,
}

/// Reads one message; `None` at the end of the stream or on anything that is not HTTP/1.1.
pub fn read_message(reader: &mut impl BufRead) -> Option<Message> {
    let mut start_line = String::new();
    if reader.read_line(&mut start_line).ok()? == 0 {
        return None;
    }
    let start_line = start_line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Message {
        start_line,
        headers,
        body,
    })
}

/// Reads one request (see [`read_message`]).
pub fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let m = read_message(reader)?;
    let mut parts = m.start_line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    Some(Request {
        nth_on_connection: 0,
        method,
        path,
        headers: m.headers,
        body: m.body,
    })
}

/// A whole response: status line, `content-length`, `headers`, then `body`.
pub fn response(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Log>, written: &AtomicU64) {
    // Without this, a response written in two pieces meets the client's delayed ACK and every
    // exchange takes 40 ms.
    let _ = stream.set_nodelay(true);
    let mut out = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    let mut nth = 0;
    while let Some(mut req) = read_request(&mut reader) {
        req.nth_on_connection = nth;
        nth += 1;
        let index = {
            let mut log = log.lock().unwrap();
            if log.keep {
                log.requests.push(req.clone());
            }
            log.count += 1;
            log.count - 1
        };
        let mut reply = handler(&req, index);
        let mut close_after = false;
        loop {
            match reply {
                Reply::Delay(d, inner) => {
                    thread::sleep(d);
                    reply = *inner;
                }
                Reply::ThenClose(inner) => {
                    close_after = true;
                    reply = *inner;
                }
                _ => break,
            }
        }
        let written = match reply {
            Reply::Http {
                status,
                headers,
                body,
            } => out.write_all(&response(status, &headers, &body)).is_ok(),
            Reply::Delay(..) | Reply::ThenClose(_) => unreachable!("unwrapped above"),
            Reply::Cut { declared, sent } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\r\n"
                );
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(&vec![b' '; sent]);
                let _ = out.flush();
                false
            }
            Reply::Reset => {
                reset_on_close(&out);
                // Returning drops both handles: the close sends RST, and no FIN goes first.
                return;
            }
            Reply::Garbage(bytes) => {
                let _ = out.write_all(&bytes);
                false
            }
            Reply::Huge { len } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
                );
                let _ = out.write_all(head.as_bytes());
                let chunk = vec![b' '; 64 * 1024];
                let mut left = len;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if out.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                    written.fetch_add(n as u64, Ordering::SeqCst);
                    left -= n as u64;
                }
                false
            }
        };
        if close_after || !written {
            break;
        }
    }
    let _ = out.shutdown(Shutdown::Both);
}

/// SO_LINGER on with a zero timeout makes close() send RST instead of FIN.
fn reset_on_close(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// A loopback port free just now, for a server a test starts on it (another test could take
/// it first; the server then fails to start, loudly).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A loopback port with nothing listening on it: bound by a socket that never listens and is
/// kept open for the life of the test process, so connecting is refused and no other test's
/// server can take the port meanwhile (a port merely freed again could be, and was: a parallel
/// test's server answered there once).
pub fn closed_port() -> u16 {
    // SAFETY: plain socket calls on a descriptor made here; the structs are fully initialised.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let p = (&raw mut addr).cast::<libc::sockaddr>();
        assert_eq!(libc::bind(fd, p, len), 0, "bind");
        let mut got = len;
        assert_eq!(libc::getsockname(fd, p, &raw mut got), 0, "getsockname");
        u16::from_be(addr.sin_port)
    }
}

/// The chat id a request asked for.
pub fn asked(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["chatId"].as_str().unwrap().to_string()
}

/// Answers with the chat id in the URL, after `delay`, counting requests in flight at once.
pub struct Counting {
    pub server: Server,
    pub most_in_flight: Arc<AtomicUsize>,
}

pub fn counting_server(delay: Duration) -> Counting {
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (n, m) = (now.clone(), most.clone());
    let server = Server::start(move |r, _| {
        let inside = n.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(inside, Ordering::SeqCst);
        thread::sleep(delay);
        n.fetch_sub(1, Ordering::SeqCst);
        let id = asked(&r.body);
        if id == "500@c.us" {
            Reply::json(500, "{}")
        } else {
            Reply::json(200, &format!(r#"{{"urlAvatar":"https://x/{id}"}}"#))
        }
    });
    Counting {
        server,
        most_in_flight: most,
    }
}
