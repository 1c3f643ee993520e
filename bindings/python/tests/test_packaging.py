"""Version, type stubs (mypy.stubtest) and the example script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import greenapi
from conftest import ID_INSTANCE, ROOT, TOKEN, clean_env

HERE = Path(__file__).resolve().parent
PKG = HERE.parent
EXAMPLE = PKG / "examples" / "get_avatar.py"


def cargo_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    package = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.S | re.M)
    assert package, "no [package] table in Cargo.toml"
    m = re.search(r'^version\s*=\s*"([^"]+)"', package.group(1), re.M)
    assert m, "no version in [package]"
    return m.group(1)


def test_version_matches_cargo_toml():
    assert greenapi.__version__ == cargo_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", greenapi.__version__)


def test_public_names():
    assert set(greenapi.__all__) <= set(dir(greenapi))
    assert greenapi.Avatar.__module__ == "greenapi"
    assert greenapi.Client.__module__ == "greenapi"


def test_stubtest(tmp_path):
    allowlist = HERE / "stubtest-allowlist.txt"
    cmd = [sys.executable, "-m", "mypy.stubtest", "greenapi"]
    if allowlist.exists():
        cmd += ["--allowlist", str(allowlist)]
    # cwd: a scratch directory, so mypy's cache is not written into the source tree.
    r = subprocess.run(
        cmd, capture_output=True, text=True, cwd=str(tmp_path), timeout=600, stdin=subprocess.DEVNULL
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_accepts_typed_usage(tmp_path):
    code = tmp_path / "use.py"
    code.write_text(
        "import greenapi\n"
        "c = greenapi.Client('1', 't', timeout=1.5, max_retries=1)\n"
        "a: greenapi.Avatar = c.get_avatar('1@c.us')\n"
        "u: str = a.url_avatar\n"
        "e: bool | None = a.exists_whatsapp\n"
        "d: dict = a.to_dict()\n"
        "try:\n    pass\nexcept greenapi.TimeoutError as x:\n    s: int | None = x.http_status\n"
        "reveal_type(greenapi.get_avatar)\n"
        "c.get_avatar(5)  # error\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--python-version", "3.10", str(code)],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    out = r.stdout + r.stderr
    # Exactly one error: the int passed as chat_id.
    assert re.search(r'use\.py:\d+: error: Argument 1 to "get_avatar" of "Client" has incompatible type "int"', out), out
    assert out.count(": error:") == 1, out


def run_example(env_extra: dict, *args: str) -> subprocess.CompletedProcess:
    env = clean_env()
    for k in ("GREEN_API_ID_INSTANCE", "GREEN_API_TOKEN", "GREEN_API_URL"):
        env.pop(k, None)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_example_against_standin(standin):
    env = {"GREEN_API_ID_INSTANCE": ID_INSTANCE, "GREEN_API_TOKEN": TOKEN, "GREEN_API_URL": standin}
    r = run_example(env, "+79001234567", "120650379300963@lid", "badchat@c.us")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg" in r.stdout
    assert "https://pps.whatsapp.net/v/stand-in/120650379300963@lid.jpg" in r.stdout
    assert "bad request data" in r.stdout
    assert TOKEN not in r.stdout + r.stderr


def test_example_default_chat_ids(standin):
    env = {"GREEN_API_ID_INSTANCE": ID_INSTANCE, "GREEN_API_TOKEN": TOKEN, "GREEN_API_URL": standin}
    r = run_example(env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("https://pps.whatsapp.net/v/stand-in/") == 2


def test_example_reports_failures(standin):
    env = {"GREEN_API_ID_INSTANCE": ID_INSTANCE, "GREEN_API_TOKEN": "not-the-token", "GREEN_API_URL": standin}
    r = run_example(env, "79001234567")
    assert r.returncode == 1
    assert "AuthError" in r.stdout and "unauthorized" in r.stdout
    assert "not-the-token" not in r.stdout + r.stderr


def test_example_without_env_prints_usage():
    r = run_example({})
    assert r.returncode == 2
    assert "usage:" in r.stderr
    assert "GREEN_API_ID_INSTANCE" in r.stderr and "GREEN_API_TOKEN" in r.stderr
    assert r.stdout == ""
