"""The README's Python snippet runs as printed, against the stand-in server."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ID_INSTANCE, ROOT, TOKEN


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- example-python -->\s*```python\n(.*?)```\s*<!-- /example-python -->", text, re.S)
    assert m, "README.md lost its <!-- example-python --> block"
    return m.group(1)


def test_readme_python_snippet_runs(standin: str) -> None:
    env = dict(os.environ, GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN=TOKEN, GREEN_API_URL=standin)
    out = subprocess.run(
        [sys.executable, "-c", readme_snippet()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    # The bare phone number reached the service as 79001234567@c.us.
    assert out.stdout.strip() == "True https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg None"


def test_readme_python_snippet_reports_errors(standin: str) -> None:
    env = dict(os.environ, GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN="wrong-token-4242424242",
               GREEN_API_URL=standin)
    out = subprocess.run(
        [sys.executable, "-c", readme_snippet()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("unauthorized 401 "), out.stdout
    assert "wrong-token-4242424242" not in out.stdout


def readme_block(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- {name} -->\s*```python\n(.*?)```\s*<!-- /{name} -->", text, re.S)
    assert m, f"README.md has no <!-- {name} --> block"
    return m.group(1)


def run_snippet(code: str, standin: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN=TOKEN, GREEN_API_URL=standin)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def test_readme_python_batch_snippet_runs(standin: str) -> None:
    out = run_snippet(readme_block("example-python-batch"), standin)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # iter_avatars: one line per chat id, in the order the results completed.
    assert sorted(lines[:3]) == [
        "120363043968066561@g.us https://pps.whatsapp.net/v/stand-in/120363043968066561@g.us.jpg",
        "79001234567 https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg",
        "not a chat id failed: invalid_argument",
    ]
    # get_avatars: in input order.
    assert lines[3:] == ["['Avatar', 'Avatar', 'InvalidArgumentError']"]


def test_readme_python_asyncio_snippet_runs(standin: str) -> None:
    out = run_snippet(readme_block("example-python-asyncio"), standin)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:2] == [
        "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg",
        "['Avatar', 'InvalidArgumentError']",
    ]
    assert sorted(lines[2:]) == ["120650379300963@lid True", "79001234567 True"]


def test_readme_python_observe_snippet_runs(standin: str) -> None:
    out = run_snippet(readme_block("example-python-observe"), standin)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["1 2 1 1 {}"]
    # logging.basicConfig at INFO: the retry shows, no request of a good answer does.
    lines = out.stderr.splitlines()
    assert any(line.startswith("INFO greenapi retry: attempt 1 failed (server_error)") for line in lines), lines
    assert not any("request.sent" in line for line in lines), lines
    assert TOKEN not in out.stderr
