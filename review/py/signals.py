"""Python host attacks: interpreter exit with a daemon thread mid-call, close() and get_avatar()
from a signal handler, KeyboardInterrupt during backoff and pacing, signal storms while many
threads call. Each scenario runs in its own interpreter (a crash must not hide the others).
Run: timeout 300 .venv/bin/python review/py/signals.py [scenario...]"""
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))

PRELUDE = """
import os, signal, sys, threading, time
sys.path.insert(0, %r)
import greenapi
from raw import Raw, client, ok, read_request

def silent(conn, srv, n):
    read_request(conn)
    time.sleep(60)

def fast(conn, srv, n):
    buf = b""
    while True:
        got = read_request(conn, buf)
        if got is None:
            return
        buf = got[2]
        conn.sendall(ok("https://fast/%%d" %% n))

def busy(conn, srv, n):
    buf = b""
    while True:
        got = read_request(conn, buf)
        if got is None:
            return
        buf = got[2]
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\\r\\nContent-Length: 0\\r\\n\\r\\n")
""" % HERE

SCENARIOS = {
    # The interpreter exits while a daemon thread waits in get_avatar for a silent server.
    "daemon_exit": ("""
srv = Raw(silent)
c = client(srv.url, timeout=30)
threading.Thread(target=lambda: c.get_avatar("79001234567@c.us"), daemon=True).start()
time.sleep(0.5)
print("main: exiting", flush=True)
""", lambda rc, out: rc == 0),
    # close() from a SIGALRM handler while the main thread waits for a silent server.
    "close_in_handler": ("""
srv = Raw(silent)
c = client(srv.url, timeout=30)
signal.signal(signal.SIGALRM, lambda *a: c.close())
signal.setitimer(signal.ITIMER_REAL, 0.3)
t = time.monotonic()
try:
    c.get_avatar("79001234567@c.us")
    print("RESULT returned")
except greenapi.CancelledError as e:
    print("RESULT cancelled after %.2f s" % (time.monotonic() - t))
except BaseException as e:
    print("RESULT %s: %s" % (type(e).__name__, e))
""", lambda rc, out: rc == 0 and "RESULT cancelled" in out),
    # get_avatar from a signal handler while the main thread's call waits (re-entrant call).
    "call_in_handler": ("""
slow = Raw(silent)
quick = Raw(fast)
c = client(slow.url, timeout=2)
c2 = client(quick.url)
got = []
def handler(*a):
    got.append(c2.get_avatar("79001234567@c.us"))
    got.append(c.closed)
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    c.get_avatar("79001234567@c.us")
    print("RESULT outer returned")
except greenapi.TimeoutError:
    print("RESULT outer timeout; handler got", got)
except BaseException as e:
    print("RESULT outer %s: %s" % (type(e).__name__, e))
""", lambda rc, out: rc == 0 and "RESULT outer timeout; handler got [Avatar" in out),
    # The same client re-entered from the handler.
    "same_client_in_handler": ("""
srv = Raw(fast)
c = client(srv.url, rate_limit=5)
got = []
def handler(*a):
    got.append(c.get_avatar("79001234568@c.us"))
signal.signal(signal.SIGALRM, handler)
n = 0
while n < 6:
    # One-shot: Python runs a handler again inside itself when a signal comes during it.
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    c.get_avatar("79001234567@c.us"); n += 1
    time.sleep(0.1)
print("RESULT ok outer=%d inner=%d" % (n, len(got)))
""", lambda rc, out: rc == 0 and "RESULT ok" in out),
    # Ctrl-C while the call sleeps between retries (503, up to 10 retries).
    "sigint_in_backoff": ("""
srv = Raw(busy)
c = client(srv.url, max_retries=10)
signal.setitimer(signal.ITIMER_REAL, 0.5)
signal.signal(signal.SIGALRM, signal.default_int_handler)
t = time.monotonic()
try:
    c.get_avatar("79001234567@c.us")
    print("RESULT returned")
except KeyboardInterrupt:
    print("RESULT KeyboardInterrupt after %.2f s" % (time.monotonic() - t))
except BaseException as e:
    print("RESULT %s: %s" % (type(e).__name__, e))
""", lambda rc, out: "RESULT KeyboardInterrupt" in out),
    # Ctrl-C while the call waits for its pacing turn (one an hour).
    "sigint_in_pacing": ("""
srv = Raw(fast)
c = client(srv.url, rate_limit=1/3600)
c.get_avatar("79001234567@c.us")
signal.signal(signal.SIGALRM, signal.default_int_handler)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    c.get_avatar("79001234567@c.us")
    print("RESULT returned")
except KeyboardInterrupt:
    print("RESULT KeyboardInterrupt")
""", lambda rc, out: "RESULT KeyboardInterrupt" in out),
    # A storm of harmless signals while 8 threads and the main thread call a fast server.
    "signal_storm": ("""
srv = Raw(fast)
c = client(srv.url)
hits = [0]
def h(*a):
    hits[0] += 1
signal.signal(signal.SIGUSR1, h)
errors = []
def work():
    for i in range(200):
        try:
            c.get_avatar("79001234567@c.us")
        except BaseException as e:
            errors.append(repr(e))
ts = [threading.Thread(target=work) for _ in range(8)]
for t in ts: t.start()
stop = [False]
def kill():
    while not stop[0]:
        os.kill(os.getpid(), signal.SIGUSR1); time.sleep(0.001)
k = threading.Thread(target=kill); k.start()
work()
for t in ts: t.join()
stop[0] = True; k.join()
print("RESULT errors=%d hits=%d %s" % (len(errors), hits[0], errors[:3]))
""", lambda rc, out: rc == 0 and "RESULT errors=0" in out),
}

wanted = sys.argv[1:] or list(SCENARIOS)
bad = 0
for name in wanted:
    body, good = SCENARIOS[name]
    code = PRELUDE + textwrap.dedent(body)
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = "hang (killed after 60 s)", (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
    ok_ = isinstance(rc, int) and good(rc, out)
    if not ok_:
        bad += 1
    tail = " | ".join(l for l in out.strip().splitlines()[-4:])
    print(f"{'OK' if ok_ else 'DEFECT'}: {name}: exit {rc}: {tail}")
sys.exit(1 if bad else 0)
