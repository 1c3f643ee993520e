"""`maturin build --release` makes an abi3 manylinux wheel that works on its own: installed (not
the source tree) into a fresh virtual environment, it runs the example against the stand-in.

With GREENAPI_WHEEL set to a wheel's path (`make test-wheels`, after `make wheels`), that wheel is
tested instead of one built here: the release's manylinux2014 wheel."""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN
from test_packaging import EXAMPLE, PKG, build_env, run


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_the_example(tmp_path, standin):
    env = build_env()
    given = os.environ.get("GREENAPI_WHEEL")
    if given:
        wheel = Path(given).resolve()
        assert wheel.is_file(), f"GREENAPI_WHEEL={given} is not a file"
    else:
        wheels = tmp_path / "wheels"
        maturin = Path(sys.executable).parent / "maturin"
        run([maturin, "build", "--release", "--out", wheels], PKG, env, timeout=3600)
        built = sorted(wheels.glob("*.whl"))
        assert len(built) == 1, built
        wheel = built[0]
    # One wheel for every CPython from 3.9 up (abi3), for any manylinux glibc as new as the builder's.
    pattern = (rf"greenapi-{re.escape(greenapi.__version__)}-cp39-abi3-"
               rf"(\S*\.)?manylinux_\d+_\d+_{platform.machine()}(\.\S*)?\.whl")
    assert re.fullmatch(pattern, wheel.name), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "greenapi/_native.abi3.so" in names, names
    assert {"greenapi/__init__.py", "greenapi/_native.pyi", "greenapi/py.typed"} <= set(names), names
    # Both licence texts travel with the binary (the MIT licence asks for it).
    info = f"greenapi-{greenapi.__version__}.dist-info"
    assert {f"{info}/licenses/LICENSE-MIT", f"{info}/licenses/LICENSE-APACHE"} <= set(names), names

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path, env)
    vpy = venv / "bin" / "python"
    run([vpy, "-m", "pip", "install", "--no-index", wheel], tmp_path, env, timeout=600)

    # A copy of the example in a scratch directory: nothing of the source tree is importable.
    example = tmp_path / "get_avatar.py"
    shutil.copy(EXAMPLE, example)
    env.update({"GREEN_API_ID_INSTANCE": ID_INSTANCE, "GREEN_API_TOKEN": TOKEN, "GREEN_API_URL": standin})
    r = run([vpy, example, "79001234567", "hidden@lid", "badchat@c.us"], tmp_path, env, timeout=120)
    assert "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg" in r.stdout, r.stdout
    assert "bad request data" in r.stdout, r.stdout
    assert f"greenapi {greenapi.__version__}" in r.stdout, r.stdout
    assert TOKEN not in r.stdout + r.stderr

    where = run([vpy, "-c", "import greenapi._native as n; print(n.__file__)"], tmp_path, env).stdout.strip()
    assert Path(where).is_relative_to(venv), where

    # The command line comes with the wheel: the console script and python -m greenapi.
    r = run([venv / "bin" / "greenapi", "avatar", "79001234567"], tmp_path, env, timeout=120)
    assert '"urlAvatar": "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg"' in r.stdout, r.stdout
    r = run([vpy, "-m", "greenapi", "--version"], tmp_path, env)
    assert r.stdout == f"greenapi {greenapi.__version__}\n"
