"""A request that reached the server on a reused connection, which the server then closed
without answering, is sent again at once: outside the pacing (rate_limit) and not counted in
`attempts`, although the server did receive it (the "stale connection" retry assumes it never
arrived).
Run: timeout 120 .venv/bin/python review/py/stale_resend.py"""
import sys
import time

from raw import Raw, client, ok, read_request

arrivals = []


def h(conn, srv, n):
    buf = b""
    i = 0
    while True:
        got = read_request(conn, buf)
        if got is None:
            return
        buf = got[2]
        arrivals.append((time.monotonic(), n))
        i += 1
        if i >= 2:
            # The request was read (the service would have done the work), then the
            # connection is dropped without an answer, as a server at its keep-alive limit does.
            return
        conn.sendall(ok(f"https://real/{n}"))


srv = Raw(h)
c = client(srv.url, rate_limit=1.0)  # at most one request a second
c.get_avatar("79001234567@c.us")
time.sleep(1.2)
r = c.get_avatar("79001234567@c.us")
print("second call:", r)
print("requests received by the server:", len(arrivals), "for 2 calls; attempts reported:", r.attempts)
gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:])]
print("gaps between requests (s):", ["%.3f" % g for g in gaps])
bad = 0
if len(arrivals) > 2 and r.attempts == 1:
    print("DEFECT: the server received %d requests for 2 calls, attempts says 1" % len(arrivals))
    bad = 1
if min(gaps) < 0.9:
    print("DEFECT: two requests %.3f s apart with rate_limit=1 (pacing promises 1 s)" % min(gaps))
    bad = 1

# Part 2: sixteen pooled connections that the server drops after reading their next request:
# one call then sends up to 17 requests back to back, however low rate_limit is.
import threading  # noqa: E402

arrivals.clear()


def h2(conn, srv, n):
    buf = b""
    i = 0
    while True:
        got = read_request(conn, buf)
        if got is None:
            return
        buf = got[2]
        arrivals.append((time.monotonic(), n))
        i += 1
        if i >= 2:
            return
        time.sleep(1.0)  # slow first answers, so that 16 calls overlap and open 16 connections
        conn.sendall(ok(f"https://real/{n}"))


srv2 = Raw(h2)
c2 = client(srv2.url, rate_limit=20.0)
ts = [threading.Thread(target=c2.get_avatar, args=("79001234567@c.us",)) for _ in range(16)]
for t in ts:
    t.start()
for t in ts:
    t.join()
warm = len(arrivals)
time.sleep(0.3)
r = c2.get_avatar("79001234567@c.us")
sent = len(arrivals) - warm
print(f"part 2: {warm} warm-up requests on {srv2.connections} connections; one more call sent {sent} requests, attempts={r.attempts}")
if sent > 2:
    print(f"DEFECT: one call with max_retries=0 and rate_limit=20 sent {sent} requests back to back")
    bad = 1
sys.exit(bad)
