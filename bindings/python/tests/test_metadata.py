"""The package's index page and metadata: its README's examples are the main README's (which
test_readme.py and test_cli.py run), the licence files are the root's, and the installed
command says its version."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import greenapi
from conftest import ROOT

PKG = Path(__file__).resolve().parents[1]
BLOCKS = [("example-python", "python"), ("example-python-batch", "python"),
          ("example-python-asyncio", "python"), ("example-cli", "sh")]


def block(path: Path, name: str, lang: str) -> str:
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {name} -->\s*```{lang}\n(.*?)```\s*<!-- /{name} -->", text, re.S)
    assert m, f"{path} has no <!-- {name} --> block"
    return m.group(1)


@pytest.mark.parametrize("name,lang", BLOCKS)
def test_package_readme_examples_are_the_tested_ones(name: str, lang: str) -> None:
    assert block(PKG / "README.md", name, lang) == block(ROOT / "README.md", name, lang), (
        f"bindings/python/README.md's {name} differs from README.md's: copy it over"
    )


def test_pyproject_readme_is_the_package_readme() -> None:
    text = (PKG / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^readme = \{ file = "README.md", content-type = "text/markdown" \}$', text, re.M), text


@pytest.mark.parametrize("name", ["LICENSE-MIT", "LICENSE-APACHE"])
def test_licence_files_are_the_roots(name: str) -> None:
    # Links, so that maturin (which looks next to pyproject.toml) ships the one text.
    assert (PKG / name).is_symlink()
    assert (PKG / name).read_bytes() == (ROOT / name).read_bytes()
    assert len((ROOT / name).read_bytes()) > 1000


def test_console_script_version() -> None:
    script = Path(sys.executable).parent / "greenapi"
    r = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"greenapi {greenapi.__version__}\n"
    assert r.stderr == ""
