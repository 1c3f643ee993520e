#!/usr/bin/env python3
"""A stand-in for WhatsApp's picture CDN (pps.whatsapp.net), on loopback over HTTPS, for tests
and the demo.

Python 3 standard library and the ``openssl`` command only. It makes its own certificate
authority and a certificate for 127.0.0.1 and localhost at start (in --cert-dir; clients trust
``ca.pem`` there through their ``ca_file``), binds, writes the chosen port to --port-file
(atomically) and prints ``PORT <n>``, then serves until killed.

    python3 tests/standin/cdn.py --cert-dir DIR [--port 0] [--port-file PATH] [--log PATH]

Every request (its request line and every header, as received) is appended to --log as one
JSON line ``{"line": ..., "headers": [[name, value], ...], "in_flight": n}``, so a test can
check that no piece of the API token ever reached the CDN, and count how many requests it was
serving at once when this one arrived (this one included).

Routes (GET)
  /avatar/<name>.jpg   a JPEG picture (what the GetAvatar stand-in's --cdn-base links to)
  /img/<name>.<ext>    a picture of the type the extension names: jpg, png or webp
  /redirect/ok         302 to /img/redirected.jpg on this host
  /redirect/evil       302 to https://evil.example/x.jpg (a host no client allows)
  /redirect/loop       302 to itself
  /huge                a JPEG-labelled body of HUGE_BYTES (over the default 5 MiB cap)
  /html                200 text/html
  /mislabelled         a PNG body labelled image/jpeg
  /expired             403 "URL signature expired" (what the real CDN says)
  /gone                410
  /status/<code>       that status
  /flaky/<key>         503 the first time for each key, then a JPEG
  /slow?ms=N           a JPEG's headers and first bytes, then N ms (default 60000) of silence
  /reset               the connection reset (RST) without an answer
  /__stats             {"requests": <non-__ requests>, "paths": {path: count}}
  /__reset_stats       zeroes the counters (POST or GET)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HUGE_BYTES = 6 * 1024 * 1024
MAX_SLOW_MS = 120_000
GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, ssl.SSLError)


def png_1x1() -> bytes:
    """A valid 1x1 RGB PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    raw = b"\x00" + bytes([0x25, 0xD3, 0x66])  # filter byte, then one green pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg_1x1() -> bytes:
    """A valid baseline 1x1 grey JPEG, made here: one 8x8 block whose coefficients are all
    zero, coded with one-symbol Huffman tables (DC category 0 and AC end-of-block, code "0"
    each), so the whole scan is the bits 00 padded with ones."""

    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    app0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(0xDB, b"\x00" + bytes([1] * 64))
    sof0 = segment(0xC0, struct.pack(">BHHB", 8, 1, 1, 1) + b"\x01\x11\x00")
    one_symbol = bytes([1] + [0] * 15)  # one code of length 1
    dht_dc = segment(0xC4, b"\x00" + one_symbol + b"\x00")
    dht_ac = segment(0xC4, b"\x10" + one_symbol + b"\x00")
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + app0 + dqt + sof0 + dht_dc + dht_ac + sos + b"\x3f" + b"\xff\xd9"


def webp_1x1() -> bytes:
    """A 1x1 lossless WebP (RIFF, WEBP, one VP8L chunk), made here: the VP8L header (signature
    0x2f, 14-bit width-1 and height-1, alpha and version bits) and a minimal bitstream."""
    # Header bits: width-1 = 0 (14 bits), height-1 = 0 (14 bits), alpha 0, version 0 (3 bits).
    body = b"\x2f" + struct.pack("<I", 0) + b"\x00\x00\x00\x00"
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


IMAGES = {"jpg": (jpeg_1x1(), "image/jpeg"), "png": (png_1x1(), "image/png"),
          "webp": (webp_1x1(), "image/webp")}


def make_certificates(directory: str) -> tuple[str, str]:
    """A CA (ca.pem) and a leaf for 127.0.0.1 and localhost signed by it; (cert, key) paths."""
    os.makedirs(directory, exist_ok=True)
    p = lambda name: os.path.join(directory, name)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2",
        "-subj", "/CN=greenapi test CDN CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", p("leaf.key"), "-out", p("leaf.csr"), "-subj", "/CN=127.0.0.1")
    with open(p("leaf.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", p("leaf.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
        "-CAcreateserial", "-out", p("leaf.pem"), "-days", "2", "-extfile", p("leaf.ext"))
    return p("leaf.pem"), p("leaf.key")


class CdnServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, context: ssl.SSLContext, log_path: str | None):
        self.context = context
        self.log_path = log_path
        self.lock = threading.Lock()
        self.requests = 0
        self.paths: dict[str, int] = {}
        self.flaky_seen: set[str] = set()
        self.in_flight = 0
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        # The handshake runs on the connection's own thread (do_handshake_on_connect on the
        # first read), so one slow client never holds back the accept loop.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, GONE) or isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)

    def record(self, line: str, headers, in_flight: int) -> None:
        with self.lock:
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(json.dumps({"line": line, "headers": [[k, v] for k, v in headers.items()],
                                        "in_flight": in_flight}) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StandInCDN/1.0"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002
        pass

    def send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.do_GET()

    def do_GET(self):
        with self.server.lock:
            self.server.in_flight += 1
            in_flight = self.server.in_flight
        try:
            self.route(in_flight)
        except GONE:
            self.close_connection = True
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def route(self, in_flight: int):
        self.server.record(self.requestline, self.headers, in_flight)
        url = urlsplit(self.path)
        path = url.path
        s = self.server
        if path == "/__stats":
            with s.lock:
                body = json.dumps({"requests": s.requests, "paths": s.paths}).encode()
            return self.send(200, body, "application/json")
        if path == "/__reset_stats":
            with s.lock:
                s.requests = 0
                s.paths = {}
                s.flaky_seen = set()
            return self.send(200, b"{}", "application/json")
        with s.lock:
            s.requests += 1
            s.paths[path] = s.paths.get(path, 0) + 1
        ext = path.rsplit(".", 1)[-1] if "." in path else ""
        if path.startswith("/avatar/"):
            return self.send(200, *IMAGES["jpg"])
        if path.startswith("/img/") and ext in IMAGES:
            return self.send(200, *IMAGES[ext])
        if path == "/redirect/ok":
            return self.send(302, b"", "text/plain", {"Location": "/img/redirected.jpg"})
        if path == "/redirect/evil":
            return self.send(302, b"", "text/plain", {"Location": "https://evil.example/x.jpg"})
        if path == "/redirect/loop":
            return self.send(302, b"", "text/plain", {"Location": "/redirect/loop"})
        if path == "/huge":
            return self.huge()
        if path == "/html":
            return self.send(200, b"<html><body>Not a picture</body></html>", "text/html; charset=utf-8")
        if path == "/mislabelled":
            return self.send(200, IMAGES["png"][0], "image/jpeg")
        if path == "/expired":
            return self.send(403, b"URL signature expired", "text/plain")
        if path == "/gone":
            return self.send(410, b"Gone", "text/plain")
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[-1] or 500)
            return self.send(code if 200 <= code <= 599 else 500, b"status", "text/plain")
        if path.startswith("/flaky/"):
            with s.lock:
                first = path not in s.flaky_seen
                s.flaky_seen.add(path)
            if first:
                return self.send(503, b"try again", "text/plain")
            return self.send(200, *IMAGES["jpg"])
        if path == "/slow":
            ms = int(parse_qs(url.query).get("ms", ["60000"])[0])
            return self.slow(min(ms, MAX_SLOW_MS))
        if path == "/reset":
            return self.reset()
        return self.send(404, b"Not Found", "text/plain")

    def huge(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        self.wfile.write(IMAGES["jpg"][0][:4])
        chunk = b"\0" * 65536
        sent = 4
        while sent < HUGE_BYTES:
            n = min(len(chunk), HUGE_BYTES - sent)
            self.wfile.write(chunk[:n])
            sent += n

    def slow(self, ms: int):
        body = IMAGES["jpg"][0]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:4])
        self.wfile.flush()
        time.sleep(ms / 1000.0)
        self.wfile.write(body[4:])

    def reset(self):
        raw = self.connection
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()
        # Closed below TLS, so the client sees a reset, not a TLS close_notify.
        os.close(raw.detach())


def write_port_file(path: str, port: int) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port-", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--cert-dir", required=True, help="where ca.pem (to trust) and the server's key go")
    p.add_argument("--log", help="append every request line and its headers here, as JSON lines")
    args = p.parse_args(argv)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    cert, key = make_certificates(args.cert_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = CdnServer((args.host, args.port), context, args.log)
    port = server.server_address[1]
    try:
        if args.port_file:
            write_port_file(args.port_file, port)
        print(f"PORT {port}", flush=True)
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
