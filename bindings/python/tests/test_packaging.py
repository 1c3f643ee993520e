"""Version, type stubs (mypy.stubtest), the example script, and pip install next to the C library."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import greenapi
from conftest import ID_INSTANCE, ROOT, TOKEN, clean_env, mypy

HERE = Path(__file__).resolve().parent
PKG = HERE.parent
EXAMPLE = PKG / "examples" / "get_avatar.py"


def cargo_version(manifest: Path = ROOT / "Cargo.toml") -> str:
    text = manifest.read_text()
    package = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.S | re.M)
    assert package, "no [package] table in Cargo.toml"
    m = re.search(r'^version\s*=\s*"([^"]+)"', package.group(1), re.M)
    assert m, "no version in [package]"
    return m.group(1)


def test_version_matches_cargo_toml():
    assert greenapi.__version__ == cargo_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", greenapi.__version__)


def test_wheel_version_is_the_crate_version():
    # The wheel takes its version from the extension's own package, bindings/python/Cargo.toml.
    assert cargo_version(PKG / "Cargo.toml") == cargo_version()


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
    r = mypy(tmp_path, code)
    out = r.stdout + r.stderr
    # Exactly one error: the int passed as chat_id.
    wrong_chat_id = r'use\.py:\d+: error: Argument 1 to "get_avatar" of "Client" has incompatible type "int"'
    assert re.search(wrong_chat_id, out), out
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
    env = {"GREEN_API_ID_INSTANCE": ID_INSTANCE, "GREEN_API_TOKEN": "not-the-token-0123456789",
           "GREEN_API_URL": standin}
    r = run_example(env, "79001234567")
    assert r.returncode == 1
    assert "AuthError" in r.stdout and "unauthorized" in r.stdout
    assert "not-the-token-0123456789" not in r.stdout + r.stderr


def test_example_without_env_prints_usage():
    r = run_example({})
    assert r.returncode == 2
    assert "usage:" in r.stderr
    assert "GREEN_API_ID_INSTANCE" in r.stderr and "GREEN_API_TOKEN" in r.stderr
    assert r.stdout == ""


# ---- pip install ./bindings/python next to the C library ------------------------------------

VERSION_PROGRAM = r"""#include <stdio.h>
#include "greenapi.h"

int main(void) {
    printf("%s\n", ga_version());
    return 0;
}
"""


def build_env() -> dict:
    """The environment of someone following the README: no target dir, venv or proxy of ours."""
    env = clean_env()
    for k in ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(k, None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def run(cmd: list, cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [str(c) for c in cmd], cwd=str(cwd), env=env, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, f"{cmd} exited with {r.returncode}\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
    return r


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def link_version_program(src: Path, out: Path, env: dict) -> None:
    """Links the shared C library as a C user would (rpath to target/release)."""
    cc = os.environ.get("CC", "cc")
    run(
        [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", ROOT / "include", src,
         "-L", ROOT / "target" / "release", "-lgreenapi",
         f"-Wl,-rpath,{ROOT / 'target' / 'release'}", "-o", out],
        ROOT, env,
    )


def python_symbols_needed(so: Path) -> list:
    out = subprocess.run(
        ["nm", "-D", "--undefined-only", str(so)], capture_output=True, text=True, check=True,
        stdin=subprocess.DEVNULL,
    ).stdout
    return re.findall(r"\b_?Py\w+", out)


@pytest.mark.slow
def test_pip_install_leaves_the_c_library_alone(tmp_path):
    """The README's steps in order: the C library, then `pip install ./bindings/python` (the real
    pip build, in pip's isolated build environment) into a fresh venv. The C library must be the
    same file afterwards, need no libpython, and link and run; the module must import."""
    env = build_env()
    so = ROOT / "target" / "release" / "libgreenapi.so"

    run(["cargo", "build", "--release"], ROOT, env, timeout=1800)
    before = sha256(so)
    assert python_symbols_needed(so) == []
    src = tmp_path / "version.c"
    src.write_text(VERSION_PROGRAM)
    linked_before = tmp_path / "linked_before"
    link_version_program(src, linked_before, env)

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path, env)
    vpy = venv / "bin" / "python"
    run([vpy, "-m", "pip", "install", "./bindings/python"], ROOT, env, timeout=3600)

    assert sha256(so) == before, "pip install ./bindings/python replaced target/release/libgreenapi.so"
    assert python_symbols_needed(so) == []
    # A program linked before the install still starts, and one linked after links.
    assert run([linked_before], tmp_path, env).stdout == greenapi.__version__ + "\n"
    linked_after = tmp_path / "linked_after"
    link_version_program(src, linked_after, env)
    assert run([linked_after], tmp_path, env).stdout == greenapi.__version__ + "\n"

    # Outside the source tree, so only the installed package can be imported.
    probe = (
        "import importlib.metadata, greenapi, greenapi._native as n; "
        "print(greenapi.__version__, importlib.metadata.version('greenapi'), n.__file__)"
    )
    version, dist_version, native = run([vpy, "-c", probe], tmp_path, env).stdout.split()
    assert version == dist_version == greenapi.__version__
    assert Path(native).is_relative_to(venv)
    assert Path(native).name.startswith("_native.abi3.")
