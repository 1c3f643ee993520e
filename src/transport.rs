//! The TCP layer under ureq, written here so that a call can be stopped, a forked child can drop
//! its parent's sockets, and a stale pooled connection can be told from a failed request.
//!
//! ureq's own TCP transport blocks in `connect`/`read`/`write` for the whole timeout, so nothing
//! but the timeout ends a wait. Here every socket wait is cut into slices of [`SLICE`] (see
//! `call.rs`): the socket timeouts are set to the slice once, at connect, and between slices the
//! waiting thread asks its call's stop check. A fast exchange never waits a whole slice, so it
//! pays nothing for this. TLS and CONNECT proxies run on top of this layer (ureq chains them), so
//! their waits are cut the same way. Every socket is registered with the client's
//! [`Sockets`] (see `fork.rs`), and every request head and body leave in one `send`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ureq::Timeout;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, ShutdownHandle,
    Transport,
};

use crate::call::{Call, SLICE, deadline, is_wait, keep_waiting, with_call};
use crate::fork::Sockets;
use crate::observe::{Counters, EventKind, Observe};
use crate::resolver::ForgetAddresses;

/// Opens the TCP connections of one client (see the module doc).
pub(crate) struct TcpConnector {
    pub(crate) sockets: Arc<Sockets>,
    pub(crate) forget: ForgetAddresses,
    pub(crate) obs: Arc<Observe>,
}

impl std::fmt::Debug for TcpConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TcpConnector")
    }
}

impl<In: Transport> Connector<In> for TcpConnector {
    type Out = Either<In, TcpTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(chained) = chained {
            return Ok(Some(Either::A(chained)));
        }
        let (end, reason) = deadline(details.timeout)?;
        let stream = match connect_any(&details.addrs, end, reason) {
            Ok(s) => s,
            Err(e) => {
                // The next attempt resolves afresh instead of trying the same addresses again.
                self.forget.forget();
                return Err(e);
            }
        };
        let stream = Arc::new(stream);
        self.sockets.add(&stream);
        self.obs.counters.connection_opened();
        // A TLS connection is told once its handshake says whether it was resumed (tls.rs).
        if !details.needs_tls() {
            self.obs.emit(EventKind::ConnectionOpened, |_| {});
        }
        // ureq's `Agent::shutdown` (the client's shutdown) shuts this socket down, which wakes
        // a thread blocked on it at once rather than at the end of its slice.
        (details.register_shutdown)(Arc::downgrade(&stream) as Weak<dyn ShutdownHandle>)?;
        let config = details.config;
        Ok(Some(Either::B(TcpTransport {
            stream,
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            read_timeout: SLICE,
            answered: false,
            pending: Vec::new(),
            pending_deadline: (None, Timeout::Global),
            used_since_probe: false,
            obs: self.obs.clone(),
        })))
    }
}

/// Tries each address in turn. Every address but the last gets half the time left, so one
/// address that does not answer cannot use up the whole budget.
pub(crate) fn connect_any(
    addrs: &[SocketAddr],
    end: Option<Instant>,
    reason: Timeout,
) -> Result<TcpStream, ureq::Error> {
    let mut last = None;
    for (i, addr) in addrs.iter().enumerate() {
        let share = match end {
            Some(end) if i + 1 < addrs.len() => {
                let left = end.saturating_duration_since(Instant::now());
                Instant::now().checked_add(left / 2)
            }
            other => other,
        };
        match connect_one(addr, share, reason) {
            Ok(s) => return Ok(s),
            Err(e @ ureq::Error::Timeout(_)) if end.is_some_and(|e| Instant::now() >= e) => {
                return Err(e);
            }
            Err(e) if with_call(|c| c.is_some_and(Call::stopped)) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(ureq::Error::Io(io::Error::new(
        io::ErrorKind::NotFound,
        "the host resolved to no address",
    ))))
}

/// A non-blocking connect, waited for in slices, then a blocking socket whose timeouts are the
/// slice (set once here, never again per call).
fn connect_one(
    addr: &SocketAddr,
    end: Option<Instant>,
    reason: Timeout,
) -> Result<TcpStream, ureq::Error> {
    let (storage, len) = sockaddr(addr);
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain socket creation; the descriptor is owned by the TcpStream right away.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    // SAFETY: `storage` holds a sockaddr of `len` bytes for the socket's family.
    let rc = unsafe { libc::connect(fd, (&raw const storage).cast(), len) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e.into());
        }
        wait_writable(fd, end, reason)?;
        if let Some(e) = stream.take_error()? {
            return Err(e.into());
        }
    }
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(SLICE))?;
    stream.set_write_timeout(Some(SLICE))?;
    Ok(stream)
}

/// Waits in slices until a connecting socket is writable (connected or failed).
fn wait_writable(
    fd: libc::c_int,
    end: Option<Instant>,
    reason: Timeout,
) -> Result<(), ureq::Error> {
    loop {
        let wait = end.map_or(SLICE, |end| {
            end.saturating_duration_since(Instant::now()).min(SLICE)
        });
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        let ms = libc::c_int::try_from(wait.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e.into());
            }
        }
        keep_waiting(end, reason)?;
    }
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero bytes are a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// One TCP connection (see the module doc).
pub(crate) struct TcpTransport {
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    /// The socket's receive timeout: [`SLICE`], or less near a deadline.
    read_timeout: Duration,
    /// Whether any byte ever arrived on this connection: a request sent after that is sent on a
    /// reused connection.
    answered: bool,
    /// Bytes ureq handed over but that are not sent yet. ureq hands over a request's head and
    /// its body separately; sent as they come, they would be two segments, and the server (or a
    /// proxy) would wake twice and could meet Nagle's algorithm and a delayed ACK between them
    /// (a 40 ms stall). Held here, they leave in one `send` when the answer is awaited, or as
    /// soon as they would outgrow [`COALESCE_MAX`].
    pending: Vec<u8>,
    /// The write deadline of the last bytes added to `pending`.
    pending_deadline: (Option<Instant>, Timeout),
    /// Whether the connection sent or received anything since [`Transport::is_open`] last ran.
    used_since_probe: bool,
    obs: Arc<Observe>,
}

impl Drop for TcpTransport {
    fn drop(&mut self) {
        self.obs.counters.connection_closed();
        self.obs.emit(EventKind::ConnectionClosed, |_| {});
    }
}

/// Most bytes held back for one `send`; more are sent at once, from ureq's own buffer.
const COALESCE_MAX: usize = 16 * 1024;

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("peer", &self.stream.peer_addr().ok())
            .finish()
    }
}

impl TcpTransport {
    /// Waits at most until `end` in the next read: the slice, or less near the deadline, so
    /// that a timeout is not noticed up to a slice late. Only a wait near its end pays the
    /// extra system call.
    fn fit_read_timeout(&mut self, end: Option<Instant>) -> io::Result<()> {
        let want = end.map_or(SLICE, |end| {
            end.saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), SLICE)
        });
        if want != self.read_timeout {
            self.stream.set_read_timeout(Some(want))?;
            self.read_timeout = want;
        }
        Ok(())
    }

    /// Sends the held-back bytes, if any.
    fn flush(&mut self) -> Result<(), ureq::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let (end, reason) = self.pending_deadline;
        let sent = send_all(&self.stream, &self.pending, end, reason, &self.obs.counters);
        self.pending.clear();
        sent
    }
}

/// Writes all of `out`, waiting in slices.
fn send_all(
    stream: &TcpStream,
    mut out: &[u8],
    end: Option<Instant>,
    reason: Timeout,
    counters: &Counters,
) -> Result<(), ureq::Error> {
    let mut stream = stream;
    while !out.is_empty() {
        #[cfg(test)]
        counters::SENDS.set(counters::SENDS.get() + 1);
        match stream.write(out) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
            Ok(n) => {
                counters.sent(n);
                out = &out[n..];
            }
            Err(e) if is_wait(&e) => keep_waiting(end, reason)?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

impl Transport for TcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let answered = self.answered;
        with_call(|c| c.map(|c| c.sending(answered)));
        self.used_since_probe = true;
        let (end, reason) = deadline(timeout.for_write())?;
        if self.pending.len() + amount > COALESCE_MAX {
            self.flush()?;
            if amount > COALESCE_MAX {
                return send_all(
                    &self.stream,
                    &self.buffers.output()[..amount],
                    end,
                    reason,
                    &self.obs.counters,
                );
            }
        }
        self.pending
            .extend_from_slice(&self.buffers.output()[..amount]);
        self.pending_deadline = (end, reason);
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.used_since_probe = true;
        // Every exchange ends in a read: the request goes out here, whole, before it.
        self.flush()?;
        let (end, reason) = deadline(timeout.for_read())?;
        loop {
            self.fit_read_timeout(end)?;
            let mut stream = &*self.stream;
            match stream.read(self.buffers.input_append_buf()) {
                Ok(n) => {
                    self.buffers.input_appended(n);
                    self.obs.counters.received(n);
                    if n > 0 {
                        self.answered = true;
                        with_call(|c| c.map(Call::answer_arrived));
                    }
                    return Ok(n > 0);
                }
                Err(e) if is_wait(&e) => keep_waiting(end, reason)?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One system call: a peek that must find nothing to read. Bytes nobody asked for, an end
    /// of stream or an error all mean the connection is not fit for another request.
    ///
    /// ureq asks twice per kept-alive call: when the connection goes back to the pool, right
    /// after its answer, and when it is taken out again for the next request. Only the second
    /// probe is made: it sees everything the first would have (bytes after the answer are still
    /// in the socket), and what arrived since. The first is told apart by the I/O before it.
    fn is_open(&mut self) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        if std::mem::take(&mut self.used_since_probe) {
            return true;
        }
        #[cfg(test)]
        counters::PROBES.set(counters::PROBES.get() + 1);
        let mut byte = 0u8;
        // SAFETY: a one-byte buffer for a one-byte peek on an open descriptor.
        let n = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                (&raw mut byte).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

/// System calls of the current thread's connections, counted in tests only.
#[cfg(test)]
pub(crate) mod counters {
    use std::cell::Cell;

    thread_local! {
        /// `write` calls on a socket.
        pub(crate) static SENDS: Cell<usize> = const { Cell::new(0) };
        /// Peeks made by `is_open`.
        pub(crate) static PROBES: Cell<usize> = const { Cell::new(0) };
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::thread;

    use super::counters::{PROBES, SENDS};
    use crate::{Client, Options};

    const ANSWER: &str = r#"{"existsWhatsapp":true,"urlAvatar":""}"#;

    /// A server that answers every request on one connection, then stops after `requests`.
    fn serve(requests: usize) -> (String, thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            for _ in 0..requests {
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                write!(
                    writer,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}",
                    ANSWER.len()
                )
                .unwrap();
            }
        });
        (url, server)
    }

    fn client(url: String) -> Client {
        let options = Options {
            api_url: Some(url),
            rate_limit_per_sec: 0.0,
            proxy: Some(String::new()),
            ..Options::default()
        };
        Client::with_options(
            "1101000001",
            "d75b3a66374942c5b3c019c698abc2067e15",
            &options,
        )
        .unwrap()
    }

    #[test]
    fn one_send_per_request() {
        let (url, server) = serve(10);
        let client = client(url);
        SENDS.set(0);
        for _ in 0..10 {
            client.get_avatar("79001234567").unwrap();
        }
        // Head and body together, and one connection for all: one send per request.
        assert_eq!(SENDS.get(), 10);
        server.join().unwrap();
    }

    #[test]
    fn one_probe_per_reuse() {
        let (url, server) = serve(10);
        let client = client(url);
        PROBES.set(0);
        for _ in 0..10 {
            client.get_avatar("79001234567").unwrap();
        }
        // The first call opens the connection; the nine others take it from the pool.
        assert_eq!(PROBES.get(), 9);
        server.join().unwrap();
    }
}
