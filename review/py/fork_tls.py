"""fork() over TLS: a client with a pooled TLS connection and threads mid-call is forked; the
child and the parent both call and must each get their own answers. Then the daemon-style
child (closes inherited fds, opens a file of its own) in Python: its file must survive.
Run: timeout 120 .venv/bin/python review/py/fork_tls.py"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import greenapi
from raw import ID, TOKEN, Raw, ok, read_request

d = tempfile.mkdtemp()
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/k.pem",
                "-out", f"{d}/c.pem", "-days", "2", "-subj", "/CN=localhost", "-addext",
                "basicConstraints=critical,CA:FALSE", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
               check=True, capture_output=True)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{d}/c.pem", f"{d}/k.pem")


def h(conn, srv, n):
    conn = ctx.wrap_socket(conn, server_side=True)
    buf = b""
    while True:
        got = read_request(conn, buf)
        if got is None:
            return
        head, body, buf = got
        chat = body.decode().split('"')[3]
        if chat.startswith("slow"):
            time.sleep(0.4)
        conn.sendall(ok(f"https://x/{chat}/{os.getpid()}"))


srv = Raw(h)
url = f"https://127.0.0.1:{srv.port}"
c = greenapi.Client(ID, TOKEN, api_url=url, ca_file=f"{d}/c.pem", proxy="", rate_limit=0, max_retries=0)
c.get_avatar("1@c.us")
res = {}
ts = [threading.Thread(target=lambda i=i: res.__setitem__(i, c.get_avatar(f"slow{i}@c.us"))) for i in range(4)]
for t in ts:
    t.start()
time.sleep(0.15)
bad = 0
pid = os.fork()
if pid == 0:
    try:
        wrong = 0
        for i in range(20):
            a = c.get_avatar(f"{1000 + i}@c.us")
            wrong += f"/{1000 + i}@c.us/" not in a.url_avatar
        # Daemon-style: close inherited descriptors, then open a file of our own.
        os._exit(1 if wrong else 0)
    except BaseException as e:
        print("child:", repr(e), flush=True)
        os._exit(2)
for t in ts:
    t.join()
_, st = os.waitpid(pid, 0)
print("TLS fork child exit:", os.waitstatus_to_exitcode(st), "parent threads:", sorted(r.url_avatar for r in res.values()))
if os.waitstatus_to_exitcode(st) != 0 or len(res) != 4:
    print("DEFECT: TLS fork")
    bad = 1
a = c.get_avatar("2@c.us")
print("parent after fork:", a.url_avatar)

# Python daemon-style child: its own file is closed under it by the client.
pid = os.fork()
if pid == 0:
    os.closerange(3, 1024)
    files = [open(os.devnull, "w") for _ in range(64)]
    before = [os.fstat(f.fileno()) for f in files]
    try:
        c.get_avatar("3@c.us")
    except BaseException as e:
        print("child call:", repr(e), flush=True)
    lost = []
    for f, b in zip(files, before):
        try:
            now = os.fstat(f.fileno())
            if (now.st_dev, now.st_ino) != (b.st_dev, b.st_ino):
                lost.append(f"fd {f.fileno()} is no longer /dev/null")
        except OSError as e:
            lost.append(f"fd {f.fileno()}: {e}")
    print("daemon child:", lost or "all its files intact", flush=True)
    os._exit(1 if lost else 0)
_, st = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(st) != 0:
    print("DEFECT: the forked child's own file descriptor was closed/replaced by the client")
    bad = 1
sys.exit(bad)
