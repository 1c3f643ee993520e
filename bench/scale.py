"""`make bench`, scale part: a batch of 1,000,000 ids with pacing off against nginx answering at
once, through C `ga_get_avatars` (peak resident size against the size with every result held)
and Python `iter_avatars` with each result dropped as it comes (resident size from the
10,000th result to the end); and pacing at 10,000 per second (20,000 ids): the rate reached
against the rate asked. Rewrites the `<!-- scale -->` part of docs/BENCHMARKS.md.

Timing and memory, not a test: never part of `make test` (tests/dispatch.rs counts requests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as loopback  # noqa: E402  (its nginx set-up and helpers)

ROOT = loopback.ROOT
DOC = ROOT / "docs" / "BENCHMARKS.md"
OUT = loopback.OUT
ID = "1101000001"
TOKEN = "d75b3a66374942c5b3c019c698abc2067e151558"
N = int(os.environ.get("BENCH_SCALE_IDS", "1000000"))
PACED = int(os.environ.get("BENCH_SCALE_PACED_IDS", "20000"))

PYTHON = """
import sys, time
import greenapi
url, n = sys.argv[1], int(sys.argv[2])
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4
ids = [f"79{{i:09d}}@c.us" for i in range(n)]
base = rss()
c = greenapi.Client({id!r}, {token!r}, api_url=url, proxy="", rate_limit=0, pacing="process")
ok = 0
at_10k = None
most = 0
t0 = time.monotonic()
with c.iter_avatars(ids) as it:
    for k, (chat_id, result) in enumerate(it, 1):
        ok += not isinstance(result, greenapi.GreenApiError)
        if k == 10000:
            at_10k = rss()
        if k % 10000 == 0:
            most = max(most, rss())
print(ok, base, at_10k, most, round(time.monotonic() - t0, 3))
"""


def build(cc: str = "cc") -> Path:
    exe = OUT / "c_scale"
    subprocess.run([cc, "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(ROOT / "include"),
                    str(ROOT / "bench" / "c_scale.c"), str(ROOT / "target" / "release" / "libgreenapi.a"),
                    "-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s", "-o", str(exe)], check=True)
    return exe


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def measure(url: str, exe: Path) -> list[str]:
    rows = []
    out = subprocess.run([str(exe), url, ID, TOKEN, str(N), "0"], capture_output=True, text=True,
                         check=True).stdout.split()
    ok, before, after, peak, secs = int(out[0]), int(out[1]), int(out[2]), int(out[3]), float(out[4])
    loopback.log(f"C: {ok} ok in {secs:.1f} s, rss {before} -> {after} KiB, peak {peak} KiB")
    rows.append(f"| C `ga_get_avatars`, {N:,} ids, pacing off | {ok:,} answered in {secs:.1f} s | "
                f"results held: {mib(after - before)}; peak {mib(peak - before)}, "
                f"{mib(peak - after)} over the results |")
    script = PYTHON.format(id=ID, token=TOKEN)
    out = subprocess.run([sys.executable, "-c", script, url, str(N)], capture_output=True, text=True,
                         check=True).stdout.split()
    ok, base, at_10k, most, secs = int(out[0]), int(out[1]), int(out[2]), int(out[3]), float(out[4])
    loopback.log(f"Python: {ok} ok in {secs:.1f} s, rss {base} / {at_10k} / {most} KiB")
    rows.append(f"| Python `iter_avatars`, {N:,} ids, results dropped | {ok:,} answered in {secs:.1f} s | "
                f"with the id list: {mib(base)}; at the 10,000th result {mib(at_10k)}, at most "
                f"{mib(most)} after it ({mib(most - at_10k)} of growth) |")
    out = subprocess.run([str(exe), url, ID, TOKEN, str(PACED), "10000"], capture_output=True,
                         text=True, check=True).stdout.split()
    ok, secs = int(out[0]), float(out[4])
    # Turns are spaced 5 % wider than 1 / rate: 10,000/s asked is 9,524/s at most.
    rate = ok / secs
    loopback.log(f"pacing 10000/s: {rate:.0f}/s")
    rows.append(f"| C `ga_get_avatars`, {PACED:,} ids at 10,000/s | {ok:,} answered in {secs:.2f} s | "
                f"{rate:,.0f} per second: {rate / 9524 * 100:.0f} % of the 9,524/s the pacing "
                "allows (10,000/s less its 5 % margin) |")
    return rows


def write_doc(rows: list[str]) -> None:
    text = "\n".join([
        "Against nginx answering at once on loopback (`bench/scale.py`; resident sizes from "
        "/proc/self/statm and getrusage):",
        "",
        "| run | done | memory or rate |",
        "|---|---|---|",
        *rows,
    ])
    print(text)
    doc = DOC.read_text() if DOC.exists() else ""
    start, end = "<!-- scale -->", "<!-- /scale -->"
    block = f"{start}\n{text}\n{end}"
    if start in doc and end in doc:
        doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip("\n") + "\n\n## A million ids, and pacing at 10,000/s\n\n" + block + "\n"
    DOC.write_text(doc)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    exe = build()
    loopback.make_cert()
    port, tls_port, proxy_port = loopback.free_port(), loopback.free_port(), loopback.free_port()
    fields = {"DIR": str(OUT), "PORT": str(port), "TLS_PORT": str(tls_port), "PROXY_PORT": str(proxy_port)}
    loopback.render(ROOT / "bench" / "nginx.conf", OUT / "nginx.conf", fields)
    nginx = subprocess.Popen(["nginx", "-c", str(OUT / "nginx.conf"), "-e", str(OUT / "nginx-error.log")],
                             stdin=subprocess.DEVNULL)
    try:
        loopback.wait_port(port, nginx, "nginx")
        rows = measure(f"http://127.0.0.1:{port}", exe)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    write_doc(rows)


if __name__ == "__main__":
    main()
