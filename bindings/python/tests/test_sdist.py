"""`maturin sdist` makes a source archive that pip builds in a fresh virtual environment (with
Rust: the archive holds the crate's sources, not a binary), and the command it installs works
against the stand-in. The archive holds the licences and the package README, and not the
repository's tests, fuzzing or benchmarks.

The archive's contents are checked in make test; the pip build is a third full release build
(1.3 to 2.7 minutes on the shared machine), so it runs only with GREENAPI_TEST_SDIST=1:
`make test-sdist`, not `make test`."""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN
from test_packaging import PKG, build_env, run

NEEDED = {"LICENSE-MIT", "LICENSE-APACHE", "README.md", "pyproject.toml", "PKG-INFO", "Cargo.toml",
          "Cargo.lock", "src/lib.rs", "include/greenapi.h", "bindings/python/Cargo.toml",
          "bindings/python/README.md", "python/greenapi/__init__.py", "python/greenapi/_native.pyi",
          "python/greenapi/py.typed"}
# The repository's own checks: not needed to build, and the fuzz corpus and C tests are large.
LEFT_OUT = ("fuzz/", "bench/", "tests/", "scripts/", "docs/", ".ci/", "examples/")


def make_sdist(tmp_path: Path, env: dict) -> Path:
    maturin = Path(sys.executable).parent / "maturin"
    out = tmp_path / "sdist"
    run([maturin, "sdist", "--out", out], PKG, env)
    built = sorted(out.glob("*.tar.gz"))
    assert [p.name for p in built] == [f"greenapi-{greenapi.__version__}.tar.gz"], built
    return built[0]


def test_sdist_holds_the_licences_and_readme_and_no_repository_checks(tmp_path):
    """Cheap (no build): in make test."""
    sdist = make_sdist(tmp_path, build_env())
    top = f"greenapi-{greenapi.__version__}/"
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
        assert all(m.startswith(top) or m + "/" == top for m in members), members
        names = {m[len(top):] for m in members if m.startswith(top)}
        pkg_info = tar.extractfile(top + "PKG-INFO").read().decode()
    assert NEEDED <= names, sorted(NEEDED - names)
    assert not [n for n in names if n.startswith(LEFT_OUT)], sorted(n for n in names if n.startswith(LEFT_OUT))
    # The index page is the package README, as Markdown.
    assert "Description-Content-Type: text/markdown" in pkg_info
    assert "\n## Install\n" in pkg_info and "pip install greenapi" in pkg_info
    assert "License-File: LICENSE-MIT" in pkg_info and "License-File: LICENSE-APACHE" in pkg_info


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("GREENAPI_TEST_SDIST") != "1", reason="make test-sdist runs it")
def test_sdist_installs_in_a_fresh_venv(tmp_path, standin):
    env = build_env()
    sdist = make_sdist(tmp_path, env)

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path, env)
    vpy = venv / "bin" / "python"
    # pip's own isolated build: maturin from the index, cargo from PATH (a release build).
    run([vpy, "-m", "pip", "install", "-q", sdist], tmp_path, env, timeout=3600)

    env.update({"GREEN_API_ID_INSTANCE": ID_INSTANCE, "GREEN_API_TOKEN": TOKEN, "GREEN_API_URL": standin})
    r = run([venv / "bin" / "greenapi", "avatar", "79001234567"], tmp_path, env, timeout=120)
    assert '"urlAvatar": "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg"' in r.stdout, r.stdout
    assert TOKEN not in r.stdout + r.stderr
    r = run([venv / "bin" / "greenapi", "--version"], tmp_path, env)
    assert r.stdout == f"greenapi {greenapi.__version__}\n"

    probe = ("import importlib.metadata as m, greenapi._native as n; d = m.distribution('greenapi'); "
             "print(n.__file__); print(*sorted(str(f) for f in d.files if 'licenses' in str(f)))")
    native, licences = run([vpy, "-c", probe], tmp_path, env).stdout.splitlines()
    assert Path(native).is_relative_to(venv), native
    assert licences.split() == [f"greenapi-{greenapi.__version__}.dist-info/licenses/LICENSE-APACHE",
                                f"greenapi-{greenapi.__version__}.dist-info/licenses/LICENSE-MIT"], licences
