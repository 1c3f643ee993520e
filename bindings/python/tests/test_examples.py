"""bindings/python/examples/many_avatars.py: runs against the stand-in with threads and with
asyncio, and passes `mypy --strict` (the stubs type the sync and async APIs well enough for a
strict program)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ID_INSTANCE, TOKEN, clean_env, mypy

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "many_avatars.py"
IDS = ["79001234567", "+79001234567", "120650379300963@lid", "not a chat id", "status-500@c.us"]


def run(standin: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = clean_env()
    env.update(GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN=TOKEN, GREEN_API_URL=standin)
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("mode", [[], ["--asyncio"]])
def test_many_avatars_example(standin: str, mode: list) -> None:
    r = run(standin, *mode, *IDS)
    assert r.returncode == 1, r.stdout + r.stderr  # two of the five failed
    lines = r.stdout.splitlines()
    assert sorted(lines[:5]) == sorted(
        [
            "79001234567: https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg",
            "+79001234567: https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg",
            "120650379300963@lid: https://pps.whatsapp.net/v/stand-in/120650379300963@lid.jpg",
            lines[[line.startswith("not a chat id:") for line in lines].index(True)],
            lines[[line.startswith("status-500@c.us:") for line in lines].index(True)],
        ]
    )
    assert any(line.startswith("not a chat id: InvalidArgumentError [invalid_argument]") for line in lines)
    assert any(line.startswith("status-500@c.us: ServerError [server_error]") for line in lines)
    assert lines[5:] == ["3 of 5 answered"]
    assert TOKEN not in r.stdout + r.stderr


def test_many_avatars_example_reads_stdin(standin: str) -> None:
    r = run(standin, "--asyncio", stdin="79001234567\n\n120650379300963@lid\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "2 of 2 answered"


def test_many_avatars_example_passes_mypy_strict(tmp_path: Path) -> None:
    r = mypy(tmp_path, "--strict", EXAMPLE)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict_catches_misuse_of_the_batch_and_async_apis(tmp_path: Path) -> None:
    code = tmp_path / "misuse.py"
    code.write_text(
        "import greenapi\n"
        "async def f(c: greenapi.AsyncClient, s: greenapi.Client) -> None:\n"
        "    a: greenapi.Avatar = c.get_avatar('1')\n"  # error: not awaited
        "    r: list[greenapi.Avatar] = await c.get_avatars(['1'])\n"  # error: may be an error
        "    for x in c.iter_avatars(['1']):\n"  # error: an async iterator
        "        pass\n"
        "    s.get_avatars(['1'], progress=lambda d: None)\n"  # error: progress takes two ints
        "    n: int = len(s.get_avatars(['1']))\n"
        "    async for chat_id, res in c.iter_avatars(['1']):\n"
        "        u: str = chat_id\n"
    )
    r = mypy(tmp_path, "--strict", code)
    out = r.stdout + r.stderr
    assert set(re.findall(r"misuse\.py:(\d+): error:", out)) == {"3", "4", "5", "7"}, out
