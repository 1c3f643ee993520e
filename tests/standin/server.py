#!/usr/bin/env python3
"""A stand-in for the Green API GetAvatar service, on loopback, for tests and the demo.

Python 3 standard library only. HTTP/1.1 with keep-alive, one thread per connection.

    python3 tests/standin/server.py [--host 127.0.0.1] [--port 0] [--port-file PATH]
                                    [--token TOKEN] [--strict-limit N] [--verbose]
                                    [--cdn-base URL]

It binds, writes the chosen port to --port-file (atomically: temp file, then rename) and prints
``PORT <n>`` on stdout, then serves until killed (SIGTERM and SIGINT exit cleanly).

Routes
  POST [/prefix]/waInstance{digits}/{method}/{token}
      method must be ``getAvatar`` (any case), else 404 ``Not Found``; a token other than
      --token gives 401 with a body that echoes the path, token included (on purpose: clients
      must scrub it); the body must be JSON ``{"chatId": "<string>"}``, else 400. The answer
      then depends on the chatId, see ``answer_for`` below.
  GET  /__stats          {"connections": <TCP connections used>, "requests": <GetAvatar POSTs>,
                          "max_in_flight": <most GetAvatar requests handled at once>,
                          "rate_limited": <429s sent by --strict-limit>,
                          "max_per_second": <most arrivals in any one second>}
  GET  /__arrivals       [<seconds since the last reset at which each GetAvatar POST arrived>]

  --strict-limit N       the service's rate limit, strictly: a GetAvatar request that arrives
                         when N others arrived within the second before it gets 429 (no
                         Retry-After), counting every arrival, refused ones included, in a
                         sliding window (no fixed one-second buckets to hide in)
  --cdn-base URL          picture links point at the CDN stand-in (tests/standin/cdn.py) at URL:
                         ``URL/avatar/<chat id>.jpg?oe=<hex Unix time a week ahead>`` instead
                         of pps.whatsapp.net; and then ``expiredlink-<x>@c.us`` answers a
                         link whose oe= is an hour past, ``cdnfault-<route>-<x>@c.us`` a link
                         to that CDN route (expired, html, huge, mislabelled, reset, gone).
                         Without it, links are the fixed pps.whatsapp.net ones.
  POST /__reset_stats    zeroes the counters; max_in_flight counts only the requests that
                         arrive after it (a slow answer still running from before is left out)

  A connection is counted when its first request other than /__stats and /__reset_stats
  arrives, so the connection a test uses to read or reset the counters is never in them:
  after a reset, N calls over one kept-alive connection read back as {"connections": 1, ...}.

Run it directly with ``--self-check`` to start it on a free port, exercise a few routes with
http.client and exit 0 (or 1 with a message).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_TOKEN = "standin-token-0123456789abcdef"

ROUTE = re.compile(r"^(?P<prefix>(?:/[^/]+)*)/waInstance(?P<id>[0-9]+)/(?P<method>[^/]+)/(?P<token>[^/]*)$")
PERSON = re.compile(r"^[0-9]+@c\.us$")
NEWER = re.compile(r"^(?:[0-9]+@g\.us|[0-9]+-[0-9]+@g\.us|[0-9]+@lid)$")
STATUS = re.compile(r"^status-([0-9]{3})@c\.us$")
SLOW = re.compile(r"^slow-([0-9]{1,7})@c\.us$")
FLAKY = re.compile(r"^flaky(429|503)-.*@c\.us$")

HUGE_BYTES = 8 * 1024 * 1024
CHUNK = 64 * 1024
MAX_SLOW_MS = 120_000

# Exceptions that mean "the client went away"; never worth a traceback.
GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


EXPIRED_LINK = re.compile(r"^expiredlink-[0-9A-Za-z]*@c\.us$")
CDN_FAULT = re.compile(r"^cdnfault-(expired|html|huge|mislabelled|reset|gone)-[0-9A-Za-z]*@c\.us$")
WEEK = 7 * 24 * 3600

# Set by --cdn-base: where picture links point.
CDN_BASE: str | None = None


def cdn_link(path: str, expires_in: int) -> str:
    return f"{CDN_BASE}{path}?oh=stand-in&oe={int(time.time()) + expires_in:X}"


def avatar_url(chat_id: str) -> str:
    if CDN_BASE:
        return cdn_link(f"/avatar/{urllib.parse.quote(chat_id)}.jpg", WEEK)
    return f"https://pps.whatsapp.net/v/stand-in/{chat_id}.jpg"


def older(chat_id: str) -> dict:
    return {"existsWhatsapp": True, "urlAvatar": avatar_url(chat_id)}


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: eight clients connecting at once while the
    # accept loop is descheduled would overflow it, and a dropped SYN costs a 1 s retransmit.
    request_queue_size = 128

    def __init__(self, address, token: str, verbose: bool, strict_limit: int = 0,
                 delay: float = 0.0):
        self.token = token
        # Seconds every GetAvatar answer waits (the real service asks WhatsApp first).
        self.delay = delay
        self.verbose = verbose
        self.strict_limit = strict_limit
        # Arrival times (monotonic) within the last second, for --strict-limit and the stats.
        self.arrivals: collections.deque[float] = collections.deque()
        self.rate_limited = 0
        self.max_per_second = 0
        self.reset_at = time.monotonic()
        self.arrived: list[float] = []
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        # Requests since the last reset being handled now, and the most there were.
        self.in_flight = 0
        self.max_in_flight = 0
        self.generation = 0
        self.seen_flaky: set[str] = set()
        super().__init__(address, Handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, GONE) or (isinstance(exc, OSError) and exc.errno in (9, 32, 104)):
            return
        super().handle_error(request, client_address)

    def arrive(self) -> bool:
        """Counts an arrival; whether --strict-limit refuses it."""
        now = time.monotonic()
        with self.lock:
            while self.arrivals and now - self.arrivals[0] >= 1.0:
                self.arrivals.popleft()
            self.arrivals.append(now)
            self.arrived.append(round(now - self.reset_at, 4))
            self.max_per_second = max(self.max_per_second, len(self.arrivals))
            refused = self.strict_limit > 0 and len(self.arrivals) > self.strict_limit
            if refused:
                self.rate_limited += 1
            return refused

    def first_time(self, chat_id: str) -> bool:
        with self.lock:
            if chat_id in self.seen_flaky:
                return False
            self.seen_flaky.add(chat_id)
            return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's
    # delayed ACK of the first, and every exchange takes 40 ms.
    disable_nagle_algorithm = True
    server_version = "GreenApiStandIn/1.0"
    sys_version = ""
    server: StandInServer

    def log_message(self, format, *args):  # noqa: A002 (signature from the base class)
        if self.server.verbose:
            sys.stderr.write("standin: " + (format % args) + "\n")

    # ---- plumbing -------------------------------------------------------------------------

    def setup(self):
        super().setup()
        self.counted = False

    def count_connection(self) -> None:
        if not self.counted:
            self.counted = True
            with self.server.lock:
                self.server.connections += 1

    def read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(max(n, 0))

    def send(self, status: int, body: bytes = b"", content_type: str = "text/plain; charset=utf-8",
             headers: dict | None = None) -> None:
        no_body = status in (204, 304) or 100 <= status < 200
        self.send_response(status)
        if not no_body:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not no_body and body:
            self.wfile.write(body)

    def send_json(self, obj, status: int = 200, headers: dict | None = None) -> None:
        self.send(status, json.dumps(obj).encode(), "application/json", headers)

    def send_text(self, status: int, text: str, headers: dict | None = None) -> None:
        self.send(status, text.encode(), headers=headers)

    def guarded(self, fn) -> None:
        try:
            fn()
        except GONE:
            self.close_connection = True

    # ---- routes ---------------------------------------------------------------------------

    def do_GET(self):
        self.guarded(self._get)

    def do_POST(self):
        self.guarded(self._post)

    def _get(self):
        if self.path not in ("/__stats", "/__arrivals"):
            self.count_connection()
        if self.path == "/__stats":
            with self.server.lock:
                stats = {"connections": self.server.connections, "requests": self.server.requests,
                         "max_in_flight": self.server.max_in_flight,
                         "rate_limited": self.server.rate_limited,
                         "max_per_second": self.server.max_per_second}
            self.send_json(stats)
        elif self.path == "/__arrivals":
            with self.server.lock:
                arrived = list(self.server.arrived)
            self.send_json(arrived)
        else:
            self.send_text(404, "Not Found")

    def _post(self):
        body = self.read_body()
        if self.path == "/__reset_stats":
            with self.server.lock:
                self.server.connections = 0
                self.server.requests = 0
                self.server.in_flight = 0
                self.server.max_in_flight = 0
                self.server.generation += 1
                self.server.arrivals.clear()
                self.server.rate_limited = 0
                self.server.max_per_second = 0
                self.server.reset_at = time.monotonic()
                self.server.arrived = []
            self.send_json({"connections": 0, "requests": 0})
            return
        self.count_connection()
        m = ROUTE.match(self.path)
        if not m:
            self.send_text(404, "Not Found")
            return
        with self.server.lock:
            self.server.requests += 1
        if self.server.arrive():
            self.send_text(429, "Too Many Requests")
            return
        if m["method"].lower() != "getavatar":
            self.send_text(404, "Not Found")
            return
        if m["token"] != self.server.token:
            self.send_text(
                401,
                f"Unauthorized: wrong apiTokenInstance for path "
                f"/waInstance{m['id']}/getAvatar/{m['token']}",
            )
            return
        try:
            payload = json.loads(body.decode("utf-8"))
            chat_id = payload["chatId"]
            if not isinstance(chat_id, str) or not chat_id:
                raise ValueError
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            self.send_text(400, "Validation failed. Details: chatId is required")
            return
        with self.server.lock:
            generation = self.server.generation
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        try:
            if self.server.delay:
                time.sleep(self.server.delay)
            self.answer_for(chat_id)
        finally:
            with self.server.lock:
                if generation == self.server.generation:
                    self.server.in_flight -= 1

    def answer_for(self, chat_id: str) -> None:
        if PERSON.match(chat_id):
            self.send_json(older(chat_id))
        elif NEWER.match(chat_id):
            self.send_json({"urlAvatar": avatar_url(chat_id), "available": True})
        elif CDN_BASE and EXPIRED_LINK.match(chat_id):
            self.send_json({"existsWhatsapp": True,
                            "urlAvatar": cdn_link(f"/avatar/{chat_id}.jpg", -3600)})
        elif CDN_BASE and (f := CDN_FAULT.match(chat_id)):
            self.send_json({"existsWhatsapp": True, "urlAvatar": cdn_link(f"/{f[1]}", WEEK)})
        elif chat_id == "noavatar@c.us":
            self.send_json({"existsWhatsapp": False, "urlAvatar": ""})
        elif chat_id == "hidden@lid":
            self.send_json({"urlAvatar": "", "available": False})
        elif chat_id == "badchat@c.us":
            self.send_json({"existsWhatsapp": False, "urlAvatar": "", "reason": "bad request data"})
        elif chat_id == "nulls@c.us":
            self.send_json({"existsWhatsapp": None, "urlAvatar": None, "reason": None,
                            "available": None, "futureField": {"x": [1, 2]}})
        elif (s := STATUS.match(chat_id)):
            self.status(int(s[1]))
        elif (f := FLAKY.match(chat_id)):
            if self.server.first_time(chat_id):
                self.status(int(f[1]))
            else:
                self.send_json(older(chat_id))
        elif chat_id == "garbage@c.us":
            self.send(200, b"<html>definitely not json</html>", "text/html; charset=utf-8")
        elif chat_id == "wrongtype@c.us":
            self.send_json({"urlAvatar": 5})
        elif chat_id == "emptyobject@c.us":
            self.send_json({})
        elif chat_id == "huge@c.us":
            self.huge()
        elif (s := SLOW.match(chat_id)):
            time.sleep(min(int(s[1]), MAX_SLOW_MS) / 1000.0)
            self.send_json(older(chat_id))
        elif chat_id == "cut@c.us":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"existsWhatsapp": tr')  # 20 bytes of a 1000-byte promise
            self.wfile.flush()
            self.close_connection = True
        elif chat_id == "reset@c.us":
            self.reset()
        else:
            self.send_json({"existsWhatsapp": False, "urlAvatar": ""})

    def status(self, code: int) -> None:
        if not 100 <= code <= 599:
            code = 599
        if code == 466:
            self.send_json({"invokeStatus": {"status": "QUOTE_EXCEEDED",
                                             "description": "Monthly quota has been exceeded"}},
                           status=466)
        elif code == 429:
            self.send_text(429, "Too Many Requests", {"Retry-After": "0"})
        elif 300 <= code < 400:
            self.send_text(code, f"redirect {code}", {"Location": "https://elsewhere.invalid/"})
        else:
            self.send_text(code, f"error {code} for {self.path}")

    def huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        chunk = b" " * CHUNK
        sent = 0
        try:
            while sent < HUGE_BYTES:
                self.wfile.write(chunk)
                sent += len(chunk)
        except (*GONE, OSError):
            pass
        if sent < HUGE_BYTES:
            self.close_connection = True

    def reset(self) -> None:
        # SO_LINGER on with a zero timeout: close() sends RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        # Close now, before socketserver's shutdown(SHUT_WR) could send a polite FIN.
        self.rfile.close()
        self.connection.close()


def write_port_file(path: str, port: int) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def self_check() -> int:
    import http.client

    server = StandInServer(("127.0.0.1", 0), DEFAULT_TOKEN, verbose=False)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    def post(path, body):
        conn.request("POST", path, body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read(), r

    base = f"/waInstance1101000001/getAvatar/{DEFAULT_TOKEN}"
    checks = [
        (post(base, {"chatId": "79001234567@c.us"})[:2],
         (200, json.dumps(older("79001234567@c.us")).encode())),
        (post("/v3/waInstance1/GETAVATAR/" + DEFAULT_TOKEN, {"chatId": "1@lid"})[0], 200),
        (post(base.replace("getAvatar", "getFoo"), {"chatId": "1@c.us"})[:2], (404, b"Not Found")),
        (post(base[:-3] + "xyz", {"chatId": "1@c.us"})[0], 401),
        (post(base, {"chat": 1})[0], 400),
        (post(base, {"chatId": "status-466@c.us"})[0], 466),
        (post(base, {"chatId": "flaky503-a@c.us"})[0], 503),
        (post(base, {"chatId": "flaky503-a@c.us"})[0], 200),
        (post(base, {"chatId": "whatever@c.us"})[1], b'{"existsWhatsapp": false, "urlAvatar": ""}'),
    ]
    conn.request("GET", "/__stats")
    stats = json.loads(conn.getresponse().read())
    checks.append((stats, {"connections": 1, "requests": 9, "max_in_flight": 1, "rate_limited": 0, "max_per_second": 9}))
    server.shutdown()
    server.server_close()
    bad = [(got, want) for got, want in checks if got != want]
    for got, want in bad:
        print(f"self-check: got {got!r}, wanted {want!r}", file=sys.stderr)
    print("self-check:", "FAILED" if bad else "ok")
    return 1 if bad else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--token", default=DEFAULT_TOKEN)
    p.add_argument("--strict-limit", type=int, default=0, metavar="N",
                   help="429 for a request with N others in the second before it (0: no limit)")
    p.add_argument("--delay-ms", type=int, default=0, metavar="MS",
                   help="answer every GetAvatar request after MS milliseconds")
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    p.add_argument("--cdn-base", metavar="URL",
                   help="picture links point at the CDN stand-in at URL (tests/standin/cdn.py)")
    p.add_argument("--self-check", action="store_true", help="run a quick self test and exit")
    args = p.parse_args(argv)
    if args.self_check:
        return self_check()
    global CDN_BASE
    CDN_BASE = args.cdn_base.rstrip("/") if args.cdn_base else None

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    server = StandInServer((args.host, args.port), args.token, args.verbose, args.strict_limit,
                           args.delay_ms / 1000)
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
