"""A call interrupted (Ctrl-C) while it waits for its pacing turn keeps that turn reserved: every
interrupted call pushes all later calls back by one interval, although it sent nothing.
rate_limit=2 (0.5 s apart); 10 calls are interrupted 50 ms into their wait; the next call should
wait at most 0.5 s, but waits about 5.5 s.
Run: timeout 120 .venv/bin/python review/py/interrupted_slots.py"""
import signal
import sys
import time

from raw import Raw, client, ok, read_request

arrivals = []


def fast(conn, srv, n):
    buf = b""
    while True:
        got = read_request(conn, buf)
        if got is None:
            return
        buf = got[2]
        arrivals.append(time.monotonic())
        conn.sendall(ok("https://x/"))


srv = Raw(fast)
c = client(srv.url, rate_limit=2)
signal.signal(signal.SIGALRM, signal.default_int_handler)
c.get_avatar("79001234567@c.us")
interrupted = 0
for _ in range(10):
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        c.get_avatar("79001234567@c.us")
    except KeyboardInterrupt:
        interrupted += 1
signal.setitimer(signal.ITIMER_REAL, 0)
t = time.monotonic()
c.get_avatar("79001234567@c.us")
waited = time.monotonic() - t
print(f"{interrupted} calls interrupted before sending (server saw {len(arrivals)} requests in all);"
      f" the next call waited {waited:.2f} s for its turn (interval 0.5 s)")
if waited > 3.0:
    print("DEFECT: interrupted calls kept their pacing slots")
    sys.exit(1)
