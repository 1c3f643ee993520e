"""`make bench`: GetAvatar clients side by side against nginx on loopback.

Starts nginx (plain and TLS, a certificate made here) and tinyproxy, builds the C rows, then
runs every row in alternation with the floor (floor, row, row, floor, ...) for several rounds:
what is reported is the median over rounds of each row's time divided by its neighbouring
floor run, since only ratios measured side by side survive a shared, busy machine. Prints the
table, rewrites the generated part of docs/BENCHMARKS.md and draws docs/bench.png.

Environment: BENCH_CALLS (timed calls per run, default 20000), BENCH_ROUNDS (default 5),
BENCH_WARMUP (default 1000), BENCH_QUICK=1 (a short run to check that everything works; the
docs are not written).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench"
DOC = ROOT / "docs" / "BENCHMARKS.md"
CHART = ROOT / "docs" / "bench.png"
PY = sys.executable

QUICK = os.environ.get("BENCH_QUICK") == "1"
CALLS = int(os.environ.get("BENCH_CALLS", "2000" if QUICK else "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2" if QUICK else "5"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "200" if QUICK else "1000"))
# New clients (connection and handshake each): fewer, they are slow.
FIRST = 50 if QUICK else 300


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(template: Path, dest: Path, fields: dict[str, str]) -> None:
    text = template.read_text()
    for k, v in fields.items():
        text = text.replace(f"@{k}@", v)
    dest.write_text(text)


def wait_port(port: int, proc: subprocess.Popen, name: str) -> None:
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"bench: {name} exited ({proc.returncode}); see {OUT}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"bench: {name} does not listen on {port}")


def make_cert() -> None:
    # A self-signed server certificate that is not a CA (rustls refuses a CA as a server's own).
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", OUT / "key.pem",
         "-out", OUT / "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "basicConstraints=critical,CA:FALSE",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)


def build_c() -> dict[str, Path]:
    cc = os.environ.get("CC", "cc")
    lib = ROOT / "target" / "release" / "libgreenapi.a"
    ldlibs = ["-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s"]
    flags = ["-O2", "-std=gnu99", "-Wall", "-Wextra", "-Werror", "-I", str(ROOT / "include")]
    progs = {
        "c_api": ([ROOT / "bench" / "c_api.c", lib] + ldlibs),
        "floor": ([ROOT / "bench" / "floor.c"]),
        "curl": ([ROOT / "bench" / "curl.c", "-lcurl"]),
    }
    out = {}
    for name, args in progs.items():
        exe = OUT / name
        subprocess.run([cc, *flags, *map(str, args), "-o", str(exe)], check=True)
        out[name] = exe
    return out


def run(argv: list) -> dict:
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, argv))} failed:\n{p.stderr}{p.stdout}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    curl = subprocess.run(["curl-config", "--version"], capture_output=True, text=True).stdout
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout
    return (f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB; {platform.system()} "
            f"{platform.release()}; load average at start {load[0]:.2f}; "
            f"{nginx.replace('nginx version: ', '')}; {curl.strip()}; "
            f"Python {platform.python_version()}; {rustc.strip()}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if os.environ.get("BENCH_REPORT_ONLY") == "1":
        # Renders the last run's results again (after a change to the report itself).
        report(json.loads((OUT / "results.json").read_text()))
        return
    log(f"{CALLS} calls per run after {WARMUP} warm-up calls, {ROUNDS} rounds")
    exe = build_c()
    make_cert()
    port, tls_port, proxy_port = free_port(), free_port(), free_port()
    fields = {"DIR": str(OUT), "PORT": str(port), "TLS_PORT": str(tls_port),
              "PROXY_PORT": str(proxy_port)}
    render(ROOT / "bench" / "nginx.conf", OUT / "nginx.conf", fields)
    render(ROOT / "bench" / "tinyproxy.conf", OUT / "tinyproxy.conf", fields)
    procs = []
    try:
        nginx = subprocess.Popen(["nginx", "-c", str(OUT / "nginx.conf"), "-e",
                                  str(OUT / "nginx-error.log")], stdin=subprocess.DEVNULL)
        procs.append(nginx)
        wait_port(port, nginx, "nginx")
        tiny = subprocess.Popen(["tinyproxy", "-d", "-c", str(OUT / "tinyproxy.conf")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(tiny)
        wait_port(proxy_port, tiny, "tinyproxy")
        results = measure(exe, port, tls_port, proxy_port)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    (OUT / "results.json").write_text(json.dumps(results))
    report(results)


def measure(exe, port, tls_port, proxy_port) -> dict:
    http = f"http://127.0.0.1:{port}"
    https = f"https://127.0.0.1:{tls_port}"
    ca = OUT / "cert.pem"
    rows_py = ROOT / "bench" / "rows.py"
    w, n = str(WARMUP), str(CALLS)
    floor = [exe["floor"], "calls", "127.0.0.1", port, w, n]

    def py(row, mode, url, calls=n, ca_file="-"):
        return [PY, rows_py, row, mode, url, w if mode == "calls" else "5", calls, ca_file]

    # (key, label, argv): the kept-alive rows, each run next to the floor every round.
    rows = [
        ("c_api", "C API (ga_get_avatar)", [exe["c_api"], "calls", http, w, n]),
        ("py_client", "Python greenapi.Client.get_avatar", py("greenapi_client", "calls", http)),
        ("py_oneshot", "Python greenapi.get_avatar(...) one-shot", py("greenapi_oneshot", "calls", http)),
        ("seed", "seed snippet: requests.request per call", py("seed_snippet", "calls", http)),
        ("official", "official client serviceMethods.getAvatar", py("official", "calls", http)),
        ("official_async", "official client getAvatarAsync (asyncio)", py("official_async", "calls", http)),
        ("session", "requests.Session reused", py("requests_session", "calls", http)),
        ("curl", "libcurl, one reused easy handle", [exe["curl"], "calls", http, w, n]),
        ("tls_c_api", "HTTPS kept alive: C API", [exe["c_api"], "calls", https, w, n, ca]),
        ("tls_py_client", "HTTPS kept alive: Python Client.get_avatar", py("greenapi_client", "calls", https, ca_file=str(ca))),
        ("tls_curl", "HTTPS kept alive: libcurl", [exe["curl"], "calls", https, w, n, ca]),
        ("tls_session", "HTTPS kept alive: requests.Session", py("requests_session", "calls", https, ca_file=str(ca))),
    ]
    f = str(FIRST)
    # Once per round, not paired: a new client each call, connect and handshake included.
    singles = [
        ("create", "new C client (ga_client_new_with_options)", [exe["c_api"], "create", http, "20", f]),
        ("create_ca", "new C client with ca_file", [exe["c_api"], "create", https, "20", f, ca]),
        ("first_c_api", "HTTPS first call, new C client", [exe["c_api"], "first", https, "5", f, ca]),
        ("first_py_client", "HTTPS first call, new Python Client", py("greenapi_client", "first", https, calls=f, ca_file=str(ca))),
        ("first_curl", "HTTPS first call, new curl handle", [exe["curl"], "first", https, "5", f, ca]),
        ("first_session", "HTTPS first call, new requests.Session", py("requests_session", "first", https, calls=f, ca_file=str(ca))),
    ]
    proxy = ("proxy", "C API over HTTPS through tinyproxy (CONNECT)",
             [exe["c_api"], "calls", https, w, str(min(CALLS, 5000)), ca,
              f"http://127.0.0.1:{proxy_port}"])

    runs: dict[str, list[dict]] = {k: [] for k, _, _ in rows + singles + [proxy]}
    ratios: dict[str, list[float]] = {k: [] for k, _, _ in rows}
    floors: list[float] = []
    for r in range(ROUNDS):
        for i, (key, label, argv) in enumerate(rows):
            log(f"round {r + 1}/{ROUNDS}: {label}")
            # Alternate which of the pair goes first, so that a drift in load cancels out.
            if (r + i) % 2 == 0:
                fl, res = run(floor), run(argv)
            else:
                res, fl = run(argv), run(floor)
            floors.append(fl["us"])
            runs[key].append(res)
            ratios[key].append(res["us"] / fl["us"])
        for key, label, argv in singles + [proxy]:
            log(f"round {r + 1}/{ROUNDS}: {label}")
            runs[key].append(run(argv))

    log("RSS: 1,000 and 100,000 C calls")
    rss = {count: run([exe["c_api"], "calls", http, "0", count])["rss_kib"]
           for count in ("1000", "100000")}
    log("callgrind: instructions per call (C API, libcurl, floor)")
    instr = {
        "c_api": callgrind([exe["c_api"], "calls", http, "0"]),
        "curl": callgrind([exe["curl"], "calls", http, "0"]),
        "floor": callgrind([exe["floor"], "calls", "127.0.0.1", port, "0"]),
        "tls_c_api": callgrind([exe["c_api"], "calls", https, "0"], tail=[ca]),
    }
    def names(entries):
        return [[k, label, None] for k, label, _ in entries]

    return {"rows": names(rows), "singles": names(singles), "proxy": names([proxy])[0],
            "runs": runs, "ratios": ratios,
            "floors": floors, "rss": rss, "instr": instr, "machine": machine()}


def callgrind(argv: list, tail: list | None = None) -> float | None:
    """User-space instructions per call: (cost of 2,000 calls - cost of 1,000) / 1,000."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    for calls in (1000, 2000):
        out = OUT / f"callgrind.{calls}.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        *map(str, argv), str(calls), *map(str, tail or [])],
                       check=True, capture_output=True)
        m = re.search(r"^summary:\s+(\d+)", out.read_text(), re.M)
        counts.append(int(m.group(1)))
    return (counts[1] - counts[0]) / 1000


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def report(res: dict) -> None:
    runs, ratios = res["runs"], res["ratios"]
    floor_us = med(res["floors"])
    lines = []
    lines.append(f"Measured {time.strftime('%Y-%m-%d')} on: {res['machine']}.")
    lines.append("")
    lines.append(f"{CALLS:,} sequential calls per run after {WARMUP:,} warm-up calls, {ROUNDS} "
                 f"rounds; each row runs next to the floor, alternating which goes first. "
                 f"**x floor** is the median of the per-round ratios (row / its neighbouring "
                 f"floor run); µs per call is the median of the rounds. The floor itself took "
                 f"{floor_us:.1f} µs per call (median).")
    lines.append("")
    lines.append("| row | µs per call | x floor | peak RSS |")
    lines.append("| --- | ---: | ---: | ---: |")
    lines.append(f"| floor: one kept-alive connection, hand-written HTTP/1.1 | {floor_us:.1f} "
                 f"| 1.00 | |")
    for key, label, _ in res["rows"]:
        us = med([x["us"] for x in runs[key]])
        rss = max(x["rss_kib"] for x in runs[key]) / 1024
        lines.append(f"| {label} | {us:.1f} | {med(ratios[key]):.2f} | {rss:.1f} MiB |")
    lines.append("")
    lines.append("| new client / first call | µs (mean, median of rounds) | slowest | peak RSS |")
    lines.append("| --- | ---: | ---: | ---: |")
    for key, label, _ in res["singles"]:
        us = med([x["us"] for x in runs[key]])
        worst = max(x["max_us"] for x in runs[key])
        rss = max(x["rss_kib"] for x in runs[key]) / 1024
        lines.append(f"| {label} | {us:.1f} | {worst:.0f} | {rss:.1f} MiB |")
    key, label, _ = res["proxy"]
    pus = med([x["us"] for x in runs[key]])
    pmax = max(x["max_us"] for x in runs[key])
    pslow = sum(x.get("slow", 0) for x in runs[key])
    lines.append("")
    lines.append(f"{label}: {pus:.1f} µs per call (median of rounds); of "
                 f"{sum(x['calls'] for x in runs[key]):,} calls, {pslow} took over 10 ms, the "
                 f"slowest {pmax / 1000:.2f} ms.")
    lines.append("")
    r1, r2 = res["rss"]["1000"] / 1024, res["rss"]["100000"] / 1024
    lines.append(f"Peak RSS of the C program: {r1:.1f} MiB after 1,000 calls, {r2:.1f} MiB after "
                 f"100,000 calls.")
    ins = res["instr"]
    if ins["c_api"] is not None:
        lines.append("")
        lines.append("User-space instructions per kept-alive call (callgrind, the difference "
                     "between 2,000 and 1,000 calls): "
                     f"C API {ins['c_api']:,.0f}; libcurl {ins['curl']:,.0f}; floor "
                     f"{ins['floor']:,.0f}; C API over HTTPS {ins['tls_c_api']:,.0f}.")
    # Targets.
    r = {k: med(v) for k, v in ratios.items()}
    targets = [
        ("C API at most 1.2x the floor", r["c_api"] <= 1.2, f"{r['c_api']:.2f}x"),
        ("C API at most 0.9x libcurl", r["c_api"] / r["curl"] <= 0.9,
         f"{r['c_api'] / r['curl']:.2f}x"),
        ("Python Client.get_avatar at most 1.3x the floor", r["py_client"] <= 1.3,
         f"{r['py_client']:.2f}x"),
        ("Python Client at least 20x faster than the seed snippet",
         r["seed"] / r["py_client"] >= 20, f"{r['seed'] / r['py_client']:.1f}x"),
        ("one-shot get_avatar within 1.3x of Client.get_avatar",
         r["py_oneshot"] / r["py_client"] <= 1.3, f"{r['py_oneshot'] / r['py_client']:.2f}x"),
        ("100,000 C calls: peak RSS under 8 MiB, not growing", r2 < 8 and r2 <= r1 * 1.1 + 0.5,
         f"{r1:.1f} -> {r2:.1f} MiB"),
        ("creating a client under 1 ms",
         max(med([x["us"] for x in runs[k]]) for k in ("create", "create_ca")) < 1000,
         f"{med([x['us'] for x in runs['create']]):.0f} µs, with ca_file "
         f"{med([x['us'] for x in runs['create_ca']]):.0f} µs"),
        ("through tinyproxy over TLS: no call over 10 ms", pmax < 10_000,
         f"slowest {pmax / 1000:.2f} ms"),
    ]
    lines.append("")
    lines.append("| target | holds | measured |")
    lines.append("| --- | --- | --- |")
    for name, ok, got in targets:
        lines.append(f"| {name} | {'yes' if ok else '**no**'} | {got} |")
    table = "\n".join(lines)
    print(table)
    if QUICK:
        log("BENCH_QUICK: docs not written")
        return
    write_doc(table)
    chart(res)


def write_doc(table: str) -> None:
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    doc = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
    if begin not in doc:
        doc += f"\n{begin}\n{end}\n"
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{begin}\n{table}\n{end}{tail}")
    log(f"wrote {DOC.relative_to(ROOT)}")


def chart(res: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [(k, label) for k, label, _ in res["rows"] if not k.startswith("tls_")]
    values = [med(res["ratios"][k]) for k, _ in keys]
    labels = [label for _, label in keys]
    order = sorted(range(len(keys)), key=lambda i: values[i])
    fig, ax = plt.subplots(figsize=(9, 4.8))
    colors = ["#2a9d8f" if keys[i][0] in ("c_api", "py_client", "py_oneshot") else "#999999"
              for i in order]
    bars = ax.barh([labels[i] for i in order], [values[i] for i in order], color=colors)
    for b, i in zip(bars, order):
        ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {values[i]:.2f}x",
                va="center", fontsize=9)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("cost of one GetAvatar call on loopback, x the hand-written floor (log scale)")
    ax.set_title("GetAvatar over a kept-alive loopback connection (lower is better)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)
    log(f"wrote {CHART.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
