"""`make bench`, deployment part: 4 processes x 50 GetAvatar calls each, for one instance, against
the stand-in enforcing the service's 10 requests per second strictly (`--strict-limit 10`: a
request with 10 others in the second before it gets 429, every arrival counted). One row per
client: greenapi with host pacing (the default), with process pacing and with Redis pacing
(each process with a host-pacing directory of its own, as on machines of their own), the
official Python
client (whatsapp-api-client-python) and plain `requests`, each with its own defaults (greenapi
retries twice; the others do not retry). Reports the wall time, the requests per second the
stand-in saw, its 429s and the calls that failed; rewrites the `<!-- deployment -->` part of
docs/BENCHMARKS.md and draws docs/deployment.png (requests per second over time per row).

Timing, not a test: never part of `make test` (whose test_deployment.py checks the counts).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
CHART = ROOT / "docs" / "deployment.png"
ID = "1101000001"
TOKEN = "standin-token-0123456789abcdef"
PROCESSES = 4
CALLS = int(os.environ.get("BENCH_DEPLOYMENT_CALLS", "50"))
ROWS = ["greenapi host", "greenapi process", "greenapi redis", "official client", "requests"]

CHILD = """
import sys
row, url, n, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ID, TOKEN = {id!r}, {token!r}
ids = [f"79{{k}}{{i:08d}}@c.us" for i in range(n)]
failed = 0
if row.startswith("greenapi"):
    import greenapi
    import os
    pacing = row.split()[1] if row != "greenapi redis" else os.environ["BENCH_REDIS_URL"]
    c = greenapi.Client(ID, TOKEN, api_url=url, proxy="", pacing=pacing)
    for chat in ids:
        try:
            c.get_avatar(chat)
        except greenapi.GreenApiError:
            failed += 1
elif row == "official client":
    from whatsapp_api_client_python import API
    api = API.GreenAPI(ID, TOKEN, host=url)
    for chat in ids:
        failed += api.serviceMethods.getAvatar(chat).code != 200
else:
    import requests
    s = requests.Session()
    full = f"{{url}}/waInstance{{ID}}/getAvatar/{{TOKEN}}"
    for chat in ids:
        failed += s.post(full, json={{"chatId": chat}}).status_code != 200
print(failed)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url + "/__reset_stats", method="POST"), timeout=10).read()


def run_row(row: str, url: str, work: Path, redis_url: str) -> dict:
    reset(url)
    script = CHILD.format(id=ID, token=TOKEN)

    def env(k: int) -> dict:
        # Redis's row: every process a host-pacing directory of its own, as if on machines of
        # their own, so that only Redis joins them.
        name = row.replace(" ", "-") + (f"-{k}" if row == "greenapi redis" else "")
        return dict(os.environ, GREENAPI_RUNTIME_DIR=str(work / name), BENCH_REDIS_URL=redis_url)

    started = time.monotonic()
    children = [
        subprocess.Popen([sys.executable, "-c", script, row, url, str(CALLS), str(k)],
                         stdout=subprocess.PIPE, text=True, env=env(k))
        for k in range(PROCESSES)
    ]
    failed = sum(int(c.communicate(timeout=600)[0].strip() or CALLS) for c in children)
    wall = time.monotonic() - started
    stats = get(url + "/__stats")
    return {
        "row": row,
        "wall_s": wall,
        "seen_per_s": stats["requests"] / wall,
        "requests": stats["requests"],
        "rate_limited": stats["rate_limited"],
        "max_per_second": stats["max_per_second"],
        "failed": failed,
        "arrivals": get(url + "/__arrivals"),
    }


def table(results: list[dict]) -> str:
    lines = [
        f"{PROCESSES} processes x {CALLS} calls, one instance, against a stand-in that allows 10 "
        "requests per second strictly (`bench/deployment.py`):",
        "",
        "| client | wall time | requests/s seen | most in one second | 429s | calls failed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['row']} | {r['wall_s']:.1f} s | {r['seen_per_s']:.2f} | {r['max_per_second']} | "
            f"{r['rate_limited']} of {r['requests']} | {r['failed']} of {PROCESSES * CALLS} |"
        )
    lines += ["", "![requests per second over time](deployment.png)"]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text() if DOC.exists() else ""
    start, end = "<!-- deployment -->", "<!-- /deployment -->"
    block = f"{start}\n{text}\n{end}"
    if start in doc and end in doc:
        doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip() + "\n\n## A deployment at the limit\n\n" + block + "\n"
    DOC.write_text(doc)


def chart(results: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for r in results:
        arrivals = r["arrivals"]
        if not arrivals:
            continue
        seconds = int(max(arrivals)) + 1
        counts = [0] * seconds
        for t in arrivals:
            counts[int(t)] += 1
        ax.step(range(seconds), counts, where="post", label=r["row"])
    ax.axhline(10, color="grey", linestyle="--", linewidth=1, label="the limit (10/s)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("requests arriving per second")
    ax.set_title(f"{PROCESSES} processes x {CALLS} calls against a strict 10/s instance")
    ax.legend()
    fig.tight_layout()
    fig.savefig(CHART, dpi=100)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="greenapi-deployment-"))
    port_file = work / "port"
    server = subprocess.Popen([sys.executable, str(ROOT / "tests/standin/server.py"), "--strict-limit", "10",
                               "--port-file", str(port_file)], stdout=subprocess.DEVNULL)
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    redis_url = f"redis://127.0.0.1:{redis_port}"
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if time.monotonic() > deadline:
                raise SystemExit("the stand-in did not start")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        results = []
        for row in ROWS:
            log(f"deployment: {row}")
            results.append(run_row(row, url, work, redis_url))
    finally:
        server.terminate()
        server.wait(10)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    text = table(results)
    print(text)
    write_doc(text)
    chart(results)
    log(f"wrote {DOC} and {CHART}")


if __name__ == "__main__":
    main()
