"""A whole deployment at the instance's limit: several processes (C and Python, started apart
or forked) calling for one instance, against a stand-in that enforces 10 requests per second
strictly (a sliding window that counts every arrival). With host pacing, the default, they
share one pacing: no 429 at all. Each test has a pacing directory of its own
(GREENAPI_RUNTIME_DIR), so that nothing else on the machine shares its pacing."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

import greenapi
from conftest import ID_INSTANCE, ROOT, TOKEN, redis_server

CALLS = 50


def _stats(url: str) -> Dict[str, Any]:
    with urllib.request.urlopen(url + "/__stats", timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Any]:
    """Starts a stand-in limited to `limit` per second; gives its URL."""
    servers: List[subprocess.Popen[bytes]] = []

    def start(limit: int) -> str:
        port_file = tmp_path / f"port-{len(servers)}"
        servers.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "tests/standin/server.py"), "--strict-limit", str(limit),
                 "--port-file", str(port_file)],
                stdout=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert time.monotonic() < deadline, "the stand-in did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{port_file.read_text().strip()}"

    yield start
    for s in servers:
        s.terminate()
        s.wait(10)


@pytest.fixture(scope="module")
def pace_calls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The C program of a deployment (tests/c/tools/pace_calls.c), built against the static
    library that make test builds."""
    lib = ROOT / "target/release/libgreenapi.a"
    if not lib.exists():
        subprocess.run(["cargo", "build", "--release", "--lib"], cwd=ROOT, check=True)
    exe = tmp_path_factory.mktemp("c") / "pace_calls"
    subprocess.run(
        ["cc", "-std=c99", "-Wall", "-Werror", f"-I{ROOT / 'include'}", str(ROOT / "tests/c/tools/pace_calls.c"),
         str(lib), "-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-o", str(exe)],
        check=True,
    )
    return exe


_PYTHON_CALLS = """
import sys, greenapi
client = greenapi.Client({id!r}, {token!r}, api_url=sys.argv[1], proxy="", max_retries={retries})
ok = limited = other = 0
for i in range({calls}):
    try:
        client.get_avatar(f"7911{{i:07d}}@c.us")
        ok += 1
    except greenapi.RateLimitedError:
        limited += 1
    except greenapi.GreenApiError as e:
        other += 1
        print(e, file=sys.stderr)
print(f"ok={{ok}} rate_limited={{limited}} other={{other}} pacing={{client.pacing}}", flush=True)
"""


def _python(url: str, calls: int = CALLS, retries: int = 0) -> "subprocess.Popen[str]":
    script = _PYTHON_CALLS.format(id=ID_INSTANCE, token=TOKEN, calls=calls, retries=retries)
    return subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE, text=True)


def _c(exe: Path, url: str, forks: int = 0, pacing: Optional[str] = None) -> "subprocess.Popen[str]":
    env = dict(os.environ, PACE_PACING=pacing) if pacing else None
    return subprocess.Popen([str(exe), url, ID_INSTANCE, TOKEN, str(CALLS), str(forks)],
                            stdout=subprocess.PIPE, text=True, env=env)


def _counts(procs: List["subprocess.Popen[str]"], timeout: float = 120) -> List[Dict[str, str]]:
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=timeout)
        out.extend(dict(re.findall(r"(\w+)=(\w+)", line)) for line in stdout.splitlines())
    return out


def _assert_at_the_limit(url: str, lines: List[Dict[str, str]], processes: int, extra: int = 0) -> None:
    s = _stats(url)
    assert len(lines) == processes, lines
    assert all(line["ok"] == str(CALLS) for line in lines), lines
    assert s["rate_limited"] == 0, s
    assert s["max_per_second"] <= 10, s
    assert s["requests"] == processes * CALLS + extra, s


def test_four_processes_started_apart_share_one_pacing(strict: Any, pacing_dir: Path, pace_calls: Path) -> None:
    url = strict(10)
    started = time.monotonic()
    lines = _counts([_c(pace_calls, url), _c(pace_calls, url), _python(url), _python(url)])
    took = time.monotonic() - started
    _assert_at_the_limit(url, lines, 4)
    assert all(line.get("pacing", "host") == "host" for line in lines), lines
    # 200 calls at 9.52 per second need 21 s; far more would mean turns are lost.
    assert took < 40, f"{took:.1f} s"


def test_forked_children_share_their_parents_pacing(strict: Any, pacing_dir: Path, pace_calls: Path) -> None:
    url = strict(10)
    # A C parent and 3 forked children; the parent's uncounted first call is the extra request.
    _assert_at_the_limit(url, _counts([_c(pace_calls, url, forks=3)]), 4, extra=1)


_POOL_CLIENT: Optional[greenapi.Client] = None


def _pool_call(chat_id: str) -> str:
    assert _POOL_CLIENT is not None
    try:
        _POOL_CLIENT.get_avatar(chat_id)
        return "ok"
    except greenapi.RateLimitedError:
        return "rate_limited"


def test_a_fork_pool_with_a_module_level_client_shares_one_pacing(strict: Any, pacing_dir: Path) -> None:
    global _POOL_CLIENT
    url = strict(10)
    _POOL_CLIENT = greenapi.Client(ID_INSTANCE, TOKEN, api_url=url, proxy="", max_retries=0)
    try:
        assert _POOL_CLIENT.pacing == "host"
        with multiprocessing.get_context("fork").Pool(4) as pool:
            got = pool.map(_pool_call, [f"7922{i:07d}@c.us" for i in range(4 * CALLS)], chunksize=5)
    finally:
        _POOL_CLIENT = None
    assert got.count("ok") == 4 * CALLS, got.count("rate_limited")
    s = _stats(url)
    assert s["rate_limited"] == 0 and s["max_per_second"] <= 10, s


def test_a_process_killed_while_it_waits_holds_nothing(strict: Any, pacing_dir: Path) -> None:
    url = strict(10)
    victim = _python(url, calls=1000)
    others = [_python(url), _python(url)]
    time.sleep(3)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    started = time.monotonic()
    lines = _counts(others)
    took = time.monotonic() - started
    assert all(line["ok"] == str(CALLS) for line in lines), lines
    assert _stats(url)["rate_limited"] == 0
    # What is left of 100 calls at 9.52 per second: at most 10.5 s; a lost turn would be 0.1 s
    # each, a held lock forever.
    assert took < 30, f"{took:.1f} s"


def test_someone_else_on_the_instance_slows_the_pacing_down(strict: Any, pacing_dir: Path) -> None:
    # The service allows 5 per second (someone else uses the rest): the clients pace at 10.
    url = strict(5)
    lines = _counts([_python(url, retries=2), _python(url, retries=2)])
    s = _stats(url)
    assert all(line["ok"] == str(CALLS) for line in lines), (lines, s)
    assert s["rate_limited"] < 0.05 * s["requests"], s


def test_threads_and_a_batch_of_one_process_never_go_over(strict: Any, pacing_dir: Path) -> None:
    import threading

    url = strict(10)
    client = greenapi.Client(ID_INSTANCE, TOKEN, api_url=url, proxy="", max_retries=0)
    failures: List[BaseException] = []

    def singles(k: int) -> None:
        for i in range(25):
            try:
                client.get_avatar(f"79{k:02d}{i:07d}@c.us")
            except greenapi.GreenApiError as e:
                failures.append(e)

    threads = [threading.Thread(target=singles, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    results = client.get_avatars([f"7933{i:07d}@c.us" for i in range(100)])
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    assert all(isinstance(r, greenapi.Avatar) for r in results)
    s = _stats(url)
    assert s["requests"] == 300 and s["rate_limited"] == 0 and s["max_per_second"] <= 10, s


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as port:
        yield f"redis://127.0.0.1:{port}"


def test_forked_children_on_redis_pacing_make_their_own_connection(
    strict: Any, pacing_dir: Path, pace_calls: Path, redis_url: str
) -> None:
    url = strict(10)
    lines = _counts([_c(pace_calls, url, forks=3, pacing=redis_url)])
    _assert_at_the_limit(url, lines, 4, extra=1)
    # Each child, on a connection of its own (its parent's is never used), kept Redis pacing.
    assert [line["pacing"] for line in lines] == ["redis"] * 4, lines
