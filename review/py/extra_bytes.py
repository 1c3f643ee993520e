"""Answers that carry more than one response: pipelined extra bytes after the body, 1xx interim
answers, huge chunk sizes. Each check says what the caller gets.
Run: timeout 120 .venv/bin/python review/py/extra_bytes.py"""
import sys
import time

import greenapi
from raw import Raw, client, ok, read_request

bad = 0


def report(cond, what):
    global bad
    print(("OK: " if cond else "DEFECT: ") + what)
    if not cond:
        bad += 1


def call(c, chat="79001234567@c.us"):
    try:
        return c.get_avatar(chat)
    except greenapi.GreenApiError as e:
        return e


# 1. A fake second answer glued after the first, in the same write: the next call on the
#    same client must not get it.
def glued(conn, srv, n):
    buf = b""
    i = 0
    while True:
        got = read_request(conn, buf)
        if got is None:
            return
        _, _, buf = got
        i += 1
        if i == 1:
            conn.sendall(ok("https://real/1") + ok("https://FAKE/smuggled"))
        else:
            conn.sendall(ok(f"https://real/{i}"))


srv = Raw(glued)
c = client(srv.url)
a, b = call(c), call(c)
report(getattr(b, "url_avatar", "").startswith("https://real/"), f"glued extra answer: second call got {b!r}")
srv.close()


# 2. The fake answer arrives a moment later, while the connection sits in the pool.
def late(conn, srv, n):
    buf = b""
    i = 0
    while True:
        got = read_request(conn, buf)
        if got is None:
            return
        _, _, buf = got
        i += 1
        conn.sendall(ok(f"https://real/{n}/{i}"))
        if i == 1:
            time.sleep(0.1)
            conn.sendall(ok("https://FAKE/late"))


srv = Raw(late)
c = client(srv.url)
a = call(c)
time.sleep(0.4)
b = call(c)
report(getattr(b, "url_avatar", "").startswith("https://real/"), f"late extra answer: second call got {b!r}")
srv.close()

# 3. 1xx interim answers before the real one.
for interim in [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n",
                b"HTTP/1.1 102 Processing\r\n\r\n"]:
    def h(conn, srv, n, interim=interim):
        if read_request(conn) is None:
            return
        conn.sendall(interim + ok("https://real/after-1xx"))
        time.sleep(0.5)

    srv = Raw(h)
    c = client(srv.url)
    r = call(c)
    report(getattr(r, "url_avatar", None) == "https://real/after-1xx",
           "interim %r then 200: got %r" % (interim.split(b"\r\n")[0].decode(), r))
    srv.close()

# 4. Chunk sizes that overflow: a clean BadResponse/Network error, never a panic.
for size in [b"ffffffffffffffff", b"10000000000000000", b"fffffffffffffffffffffffffffff", b"-1", b"7fffffffffffffff"]:
    def h(conn, srv, n, size=size):
        if read_request(conn) is None:
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + size + b"\r\n{\"urlAvatar\":\"\"}\r\n0\r\n\r\n")
        time.sleep(0.3)

    srv = Raw(h)
    c = client(srv.url, timeout=1.0)
    r = call(c)
    report(isinstance(r, greenapi.GreenApiError) and r.code != "panic",
           f"chunk size {size.decode()}: got {r!r} code={getattr(r, 'code', None)}")
    srv.close()

sys.exit(1 if bad else 0)
