"""Does `timeout` bound an attempt whose answer trickles in one byte per 40 ms?
Headers trickled, then body trickled. Exit 1 if a call outlives 10x its timeout.
Run: timeout 120 .venv/bin/python review/py/trickle.py"""
import sys
import time

import greenapi
from raw import Raw, client, read_request

PAD = 3000  # bytes: 120 s at 40 ms each


def trickle(conn, data):
    for b in data:
        conn.sendall(bytes([b]))
        time.sleep(0.04)


def headers_slow(conn, srv, n):
    read_request(conn)
    trickle(conn, b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * PAD + b"\r\nContent-Length: 2\r\n\r\n{}")


def body_slow(conn, srv, n):
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (PAD + 2))
    trickle(conn, b'{"urlAvatar":"' + b"a" * PAD)


def chunked_slow(conn, srv, n):
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(PAD):
        conn.sendall(b"1\r\na\r\n")
        time.sleep(0.04)


bad = 0
for name, h in [("headers", headers_slow), ("body", body_slow), ("chunked body", chunked_slow)]:
    srv = Raw(h)
    c = client(srv.url, timeout=0.5)
    t = time.monotonic()
    try:
        r = c.get_avatar("79001234567@c.us")
        outcome = f"returned {r!r}"
    except greenapi.GreenApiError as e:
        outcome = f"{type(e).__name__}({e.code}): {e}"
    took = time.monotonic() - t
    verdict = "OK" if took < 5.0 else "DEFECT"
    if took >= 5.0:
        bad += 1
    print(f"{verdict}: {name} trickled, timeout 0.5 s: {outcome} after {took:.2f} s")
    srv.close()
sys.exit(1 if bad else 0)
