"""`make bench`, latency part: 200 ids against stand-ins that answer after 0, 100 ms, 1.5 s and
3 s and allow 10 requests per second strictly (`--strict-limit 10 --delay-ms L`). One row per
client: greenapi's C batch (`ga_get_avatars`), Python `get_avatars`, `AsyncClient.get_avatars`,
each with its defaults; and what a user writes instead: the official client's `getAvatarAsync`
under `asyncio.gather`, and a `ThreadPoolExecutor` of 8 over `requests`. Reports the wall time
against the limit's floor (N / 10 + latency), the avatars per second after the first latency,
the stand-in's 429s and the calls that failed; rewrites the `<!-- latency -->` part of
docs/BENCHMARKS.md and draws docs/latency.png.

Timing, not a test: never part of `make test` (tests/dispatch.rs checks the counts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
CHART = ROOT / "docs" / "latency.png"
ID = "1101000001"
TOKEN = "standin-token-0123456789abcdef"
N = int(os.environ.get("BENCH_LATENCY_IDS", "200"))
LATENCIES_MS = [int(x) for x in os.environ.get("BENCH_LATENCIES_MS", "0,100,1500,3000").split(",")]
ROWS = ["greenapi C batch", "greenapi get_avatars", "greenapi AsyncClient",
        "official getAvatarAsync + gather", "requests, 8 threads"]

CHILD = """
import sys
row, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ID, TOKEN = {id!r}, {token!r}
ids = [f"7956{{i:07d}}@c.us" for i in range(n)]
failed = 0
if row == "greenapi get_avatars":
    import greenapi
    c = greenapi.Client(ID, TOKEN, api_url=url, proxy="")
    failed = sum(isinstance(r, greenapi.GreenApiError) for r in c.get_avatars(ids))
elif row == "greenapi AsyncClient":
    import asyncio, greenapi
    async def main():
        async with greenapi.AsyncClient(ID, TOKEN, api_url=url, proxy="") as c:
            return sum(isinstance(r, greenapi.GreenApiError) for r in await c.get_avatars(ids))
    failed = asyncio.run(main())
elif row.startswith("official"):
    import asyncio
    from whatsapp_api_client_python import API
    api = API.GreenAPI(ID, TOKEN, host=url)
    async def main():
        rs = await asyncio.gather(*(api.serviceMethods.getAvatarAsync(i) for i in ids))
        return sum(r.code != 200 for r in rs)
    failed = asyncio.run(main())
else:
    import requests
    from concurrent.futures import ThreadPoolExecutor
    s = requests.Session()
    full = f"{{url}}/waInstance{{ID}}/getAvatar/{{TOKEN}}"
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: s.post(full, json={{"chatId": i}}).status_code, ids))
    failed = sum(c != 200 for c in codes)
print(n - failed, failed)
"""


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def build_c(work: Path) -> Path:
    exe = work / "c_batch"
    subprocess.run(["cc", "-O2", "-I", str(ROOT / "include"), str(ROOT / "bench" / "c_batch.c"),
                    str(ROOT / "target" / "release" / "libgreenapi.a"),
                    "-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s", "-o", str(exe)],
                   check=True)
    return exe


def standin(delay_ms: int, work: Path) -> tuple[subprocess.Popen, str]:
    port_file = work / f"port-{delay_ms}"
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "standin" / "server.py"),
                             "--token", TOKEN, "--strict-limit", "10", "--delay-ms", str(delay_ms),
                             "--port-file", str(port_file)], stdout=subprocess.DEVNULL)
    for _ in range(200):
        if port_file.exists() and port_file.read_text().strip():
            return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the stand-in did not start")


def run_row(row: str, url: str, exe: Path, work: Path, delay_ms: int) -> dict:
    urllib.request.urlopen(urllib.request.Request(url + "/__reset_stats", method="POST"), timeout=10).read()
    # A pacing directory of its own for each run: no turn of an earlier row is waited for.
    env = dict(os.environ, GREENAPI_RUNTIME_DIR=str(work / f"pacing-{row.split()[0]}-{delay_ms}-{time.time()}"))
    if row == "greenapi C batch":
        argv = [str(exe), url, ID, TOKEN, str(N)]
    else:
        argv = [sys.executable, "-c", CHILD.format(id=ID, token=TOKEN), row, url, str(N)]
    started = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
    wall = time.monotonic() - started
    ok, failed = (int(x) for x in (out.stdout.split() or ["0", str(N)]))
    stats = get(url + "/__stats")
    arrivals = sorted(get(url + "/__arrivals"))
    # The pace once the pipeline is full: requests between the first arrival and the last.
    steady = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    after_first = max(wall - delay_ms / 1000, 1e-9)
    return {"row": row, "latency_ms": delay_ms, "wall_s": wall,
            "floor_s": N / 10 + delay_ms / 1000, "avatars_per_s": ok / after_first,
            "steady_per_s": steady,
            "rate_limited": stats["rate_limited"], "requests": stats["requests"],
            "failed": failed}


def table(results: list[dict]) -> str:
    lines = [
        f"{N} ids against a stand-in that answers after the latency shown and allows 10 requests "
        "per second strictly (`bench/latency.py`); the floor is N / 10 + latency; avatars/s "
        "counts the answered ids over the wall time less one latency (process start and client "
        "creation included); steady pace is the requests the stand-in saw per second between "
        "its first and last arrival. greenapi spaces turns 5 % wider than 1 / rate: 9.52/s at "
        "most.",
        "",
        "| client | latency | wall time | floor | avatars/s | steady pace | 429s | ids failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['row']} | {r['latency_ms']} ms | {r['wall_s']:.1f} s | {r['floor_s']:.1f} s | "
            f"{r['avatars_per_s']:.2f} | {r['steady_per_s']:.2f}/s | {r['rate_limited']} of {r['requests']} | "
            f"{r['failed']} of {N} |")
    lines += ["", "![avatars per second by latency](latency.png)"]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text() if DOC.exists() else ""
    start, end = "<!-- latency -->", "<!-- /latency -->"
    block = f"{start}\n{text}\n{end}"
    if start in doc and end in doc:
        doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip("\n") + "\n\n## Latency\n\n" + block + "\n"
    DOC.write_text(doc)


def chart(results: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    lat = sorted({r["latency_ms"] for r in results})
    xs = range(len(lat))
    for row in ROWS:
        rs = {r["latency_ms"]: r for r in results if r["row"] == row}
        left.plot(xs, [N - rs[x]["failed"] for x in lat], marker="o", label=row)
        right.plot(xs, [rs[x]["wall_s"] for x in lat], marker="o", label=row)
    right.plot(xs, [N / 10 + x / 1000 for x in lat], color="grey", linestyle="--", linewidth=1,
               label="floor: N / 10 + latency")
    for ax in (left, right):
        ax.set_xticks(list(xs), [f"{x} ms" for x in lat])
        ax.set_xlabel("service latency")
    left.set_ylabel(f"ids answered (of {N})")
    left.set_title("answered, at a strict 10/s limit")
    right.set_ylabel("wall time (s)")
    right.set_title("time taken")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)


def from_doc() -> list[dict]:
    """The results in docs/BENCHMARKS.md's latency table (BENCH_REPORT_ONLY=1 redraws them)."""
    text = DOC.read_text()
    block = text[text.index("<!-- latency -->"): text.index("<!-- /latency -->")]
    out = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 8 or not cells[1].endswith(" ms"):
            continue
        out.append({"row": cells[0], "latency_ms": int(cells[1][:-3]), "wall_s": float(cells[2][:-2]),
                    "failed": int(cells[7].split()[0])})
    return out


def main() -> None:
    if os.environ.get("BENCH_REPORT_ONLY") == "1":
        chart(from_doc())
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = build_c(work)
        for delay in LATENCIES_MS:
            proc, url = standin(delay, work)
            try:
                for row in ROWS:
                    r = run_row(row, url, exe, work, delay)
                    log(f"{row} at {delay} ms: {r['wall_s']:.1f} s, {r['avatars_per_s']:.2f}/s, "
                        f"{r['rate_limited']} 429s, {r['failed']} failed")
                    results.append(r)
            finally:
                proc.terminate()
                proc.wait()
    text = table(results)
    print(text)
    write_doc(text)
    chart(results)


if __name__ == "__main__":
    main()
