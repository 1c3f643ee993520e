"""Starts the stand-in GetAvatar server (tests/standin/server.py) on a free loopback port."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import HTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, TypeVar

import pytest

HTTPServerT = TypeVar("HTTPServerT", bound=HTTPServer)

ROOT = Path(__file__).resolve().parents[3]
SERVER = ROOT / "tests" / "standin" / "server.py"
ID_INSTANCE = "1101000001"
# The stand-in's token; long and unique so that a leak is unmistakable.
TOKEN = "standin-token-0123456789abcdef"


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stand-in's base URL, ``http://127.0.0.1:<port>``."""
    port_file = tmp_path_factory.mktemp("standin") / "port"
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--port-file", str(port_file), "--token", TOKEN],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            if proc.poll() is not None:
                pytest.fail(f"the stand-in server exited with {proc.returncode}")
            if time.monotonic() > deadline:
                pytest.fail("the stand-in server did not write its port file within 15 s")
            time.sleep(0.02)
        port = int(port_file.read_text().strip())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# urllib without any proxy from the environment: the stand-in is on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _call(url: str, method: str) -> Dict[str, Any]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with _opener.open(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def stats(standin: str) -> Callable[[], Dict[str, Any]]:
    """Returns a function giving the stand-in's counters."""
    return lambda: _call(standin + "/__stats", "GET")


@pytest.fixture
def reset_stats(standin: str) -> Callable[[], None]:
    """Returns a function zeroing the stand-in's counters."""

    def reset() -> None:
        assert _call(standin + "/__reset_stats", "POST") == {"connections": 0, "requests": 0}

    return reset


@pytest.fixture
def make_client(standin: str) -> Callable[..., Any]:
    """A greenapi.Client for the stand-in: no proxy, no pacing, no retries unless asked."""
    import greenapi

    def make(token: str = TOKEN, **options: Any) -> greenapi.Client:
        options.setdefault("api_url", standin)
        options.setdefault("proxy", "")
        options.setdefault("rate_limit", 0)
        options.setdefault("max_retries", 0)
        return greenapi.Client(ID_INSTANCE, token, **options)

    return make


@pytest.fixture
def make_async(standin: str) -> Callable[..., Any]:
    """An AsyncClient for the stand-in: no proxy, no pacing, no retries unless asked."""
    import greenapi

    def make(**options: Any) -> greenapi.AsyncClient:
        options.setdefault("api_url", standin)
        options.setdefault("proxy", "")
        options.setdefault("rate_limit", 0)
        options.setdefault("max_retries", 0)
        return greenapi.AsyncClient(ID_INSTANCE, TOKEN, **options)

    return make


def clean_env() -> Dict[str, str]:
    """The environment without proxy settings, for subprocesses that talk to the stand-in."""
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def mypy(cwd: Path, *args: object) -> "subprocess.CompletedProcess[str]":
    """Runs ``mypy ARGS`` checking as Python 3.10 does (mypy's oldest), in ``cwd`` (a scratch
    directory, so that its cache is not written into the source tree)."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--python-version", "3.10", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=str(cwd),
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: a full release build (pip install); deselect with -m 'not slow'"
    )


@contextlib.contextmanager
def serving(server: HTTPServerT) -> Iterator[HTTPServerT]:
    """Runs a test's own loopback HTTP server on a thread for the block's duration."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def redis_server(*args: str) -> Iterator[int]:
    """A redis-server of a test's own on a free loopback port, persistence off; its port."""
    import shutil
    import socket

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing (make rust-tools installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < end, "redis-server did not start"
                time.sleep(0.02)
        yield port
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def pacing_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A host-pacing directory of the test's own (GREENAPI_RUNTIME_DIR)."""
    d = tmp_path / "pacing"
    d.mkdir(mode=0o700)
    monkeypatch.setenv("GREENAPI_RUNTIME_DIR", str(d))
    return d


CDN = ROOT / "tests" / "standin" / "cdn.py"


def _start(args: list, port_file: Path, what: str) -> "subprocess.Popen[bytes]":
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None:
            pytest.fail(f"the {what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the {what} did not write its port file within 30 s")
        time.sleep(0.02)
    return proc


def _stop(proc: "subprocess.Popen[bytes]") -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Cdn:
    """The CDN stand-in (tests/standin/cdn.py): its URL, the CA to trust, its request log."""

    def __init__(self, url: str, ca_file: Path, log: Path) -> None:
        self.url = url
        self.ca_file = ca_file
        self.log = log

    def stats(self) -> Dict[str, Any]:
        import ssl

        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
        ).open(self.url + "/__stats", timeout=10) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        import ssl

        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
        ).open(self.url + "/__reset_stats", timeout=10).read()

    def requests(self) -> list:
        """Every request the CDN received: ``{"line": ..., "headers": [[name, value], ...]}``."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]


@pytest.fixture(scope="session")
def cdn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cdn]:
    """The CDN stand-in on a free loopback port, with a CA of its own."""
    d = tmp_path_factory.mktemp("cdn")
    proc = _start([sys.executable, str(CDN), "--cert-dir", str(d / "certs"), "--port-file",
                   str(d / "port"), "--log", str(d / "log")], d / "port", "CDN stand-in")
    try:
        port = int((d / "port").read_text().strip())
        yield Cdn(f"https://127.0.0.1:{port}", d / "certs" / "ca.pem", d / "log")
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def cdn_standin(tmp_path_factory: pytest.TempPathFactory, cdn: Cdn) -> Iterator[str]:
    """A GetAvatar stand-in of its own whose picture links point at the CDN stand-in."""
    port_file = tmp_path_factory.mktemp("cdn-standin") / "port"
    proc = _start([sys.executable, str(SERVER), "--port-file", str(port_file), "--token", TOKEN,
                   "--cdn-base", cdn.url], port_file, "stand-in server")
    try:
        yield f"http://127.0.0.1:{int(port_file.read_text().strip())}"
    finally:
        _stop(proc)


@pytest.fixture
def cdn_client(cdn_standin: str, cdn: Cdn) -> Callable[..., Any]:
    """A greenapi.Client for the CDN stand-ins: its CA trusted, 127.0.0.1 an allowed host."""
    import greenapi

    def make(**options: Any) -> greenapi.Client:
        options.setdefault("api_url", cdn_standin)
        options.setdefault("proxy", "")
        options.setdefault("rate_limit", 0)
        options.setdefault("max_retries", 1)
        options.setdefault("pacing", "process")
        options.setdefault("ca_file", cdn.ca_file)
        options.setdefault("download_hosts", ["127.0.0.1"])
        return greenapi.Client(ID_INSTANCE, TOKEN, **options)

    return make
