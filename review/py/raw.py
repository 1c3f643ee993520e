"""A tiny loopback-only TCP server for the review scripts: each accepted connection is handed to
`handler(conn, server)` on its own daemon thread. Also a helper to read one HTTP request."""
from __future__ import annotations

import socket
import threading

TOKEN = "reviewTOKEN0123456789abcdef"
ID = "1101000001"


class Raw:
    def __init__(self, handler, family=socket.AF_INET, backlog=64):
        host = "127.0.0.1" if family == socket.AF_INET else "::1"
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}" if family == socket.AF_INET else f"http://[::1]:{self.port}"
        self.handler = handler
        self.connections = 0
        self.requests = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._run, args=(conn, n), daemon=True).start()

    def _run(self, conn, n):
        try:
            self.handler(conn, self, n)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stopped = True
        self.sock.close()


def read_request(conn, buf=b""):
    """Reads one request (head + content-length body). Returns (head, body, rest) or None at EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head, rest[:length], rest[length:]


def ok(url_avatar: str, extra_headers: str = "") -> bytes:
    body = ('{"existsWhatsapp":true,"urlAvatar":"%s","reason":""}' % url_avatar).encode()
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        + extra_headers.encode()
        + b"\r\n"
        + body
    )


def client(url, **kw):
    import greenapi

    opts = dict(api_url=url, proxy="", rate_limit=0, max_retries=0, timeout=5.0, connect_timeout=5.0)
    opts.update(kw)
    return greenapi.Client(ID, TOKEN, **opts)
