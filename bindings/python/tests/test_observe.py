"""Events as records of the "greenapi" logger, and Client.stats(): fields as documented, quiet
unless logging is configured, nothing at INFO for a good answer, a raising handler harmless."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN, clean_env

SCRIPT = Path(sys.executable).parent / "greenapi"


def ours(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "greenapi"]


def field(r: logging.LogRecord, name: str) -> Any:
    return r.__dict__.get(name)


def test_a_503_then_200_gives_two_requests_and_one_retry_in_order(
    make_client: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="greenapi")
    client = make_client(max_retries=2)
    client.get_avatar("flaky503-pylog@c.us")
    seen = [
        (field(r, "greenapi.event"), field(r, "greenapi.attempt"), field(r, "http.response.status_code"))
        for r in ours(caplog)
        if field(r, "greenapi.event") in ("request.sent", "request.answered", "retry")
    ]
    assert seen == [
        ("request.sent", 1, None),
        ("request.answered", 1, 503),
        ("retry", 1, 503),
        ("request.sent", 2, None),
        ("request.answered", 2, 200),
    ]
    answered = [r for r in ours(caplog) if field(r, "greenapi.event") == "request.answered"]
    first, second = answered
    assert first.levelno == logging.INFO and second.levelno == logging.DEBUG
    assert field(first, "error.type") == "server_error"
    assert field(first, "http.request.method") == "POST"
    assert field(first, "http.request.resend_count") == 0
    assert field(second, "http.request.resend_count") == 1
    assert field(first, "server.address") == "127.0.0.1"
    assert isinstance(field(first, "server.port"), int)
    assert field(first, "url.template") == "/waInstance{idInstance}/getAvatar/{apiTokenInstance}"
    assert isinstance(field(second, "greenapi.duration_ms"), float)
    assert field(second, "greenapi.connection_reused") in (True, False)
    assert first.getMessage().startswith("request.answered: HTTP 503")
    s = client.stats()
    assert (s.calls, s.attempts, s.retries, s.answered) == (1, 2, 1, 1)


def test_nothing_at_info_for_good_answers(make_client: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="greenapi")
    client = make_client()
    for _ in range(10):
        client.get_avatar("79001234567")
    client.get_avatars(["79001234568", "79001234569"])
    # A batch's start and end, none per request.
    assert [r.getMessage() for r in ours(caplog)] == [
        "batch.started: 2 ids",
        "batch.finished: 2 answered, 0 failed",
    ]


def test_a_level_turned_on_later_counts_from_the_next_call(
    make_client: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    client.get_avatar("79001234567")
    assert ours(caplog) == []
    caplog.set_level(logging.DEBUG, logger="greenapi")
    client.get_avatar("79001234567")
    assert any(field(r, "greenapi.event") == "request.sent" for r in ours(caplog))


def test_a_raising_handler_does_not_break_a_call(make_client: Callable[..., Any]) -> None:
    class Raising(logging.Handler):
        def handle(self, record: logging.LogRecord) -> bool:  # handle, not emit: no handleError
            raise RuntimeError("handler bug")

    logger = logging.getLogger("greenapi")
    handler = Raising()
    logger.addHandler(handler)
    before = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        client = make_client(max_retries=1)
        assert client.get_avatar("79001234567").exists_whatsapp is True
        assert client.get_avatar("flaky503-raising@c.us").attempts == 2
        results = client.get_avatars(["79001234568", "noavatar@c.us"])
        assert all(isinstance(r, greenapi.Avatar) for r in results)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def test_nothing_is_printed_when_logging_is_not_configured(standin: str) -> None:
    # A 429 although paced is a warning (a slow-down): the level Python lets through by default.
    code = f"""
import greenapi
c = greenapi.Client({ID_INSTANCE!r}, {TOKEN!r}, api_url={standin!r}, proxy="", rate_limit=10,
                    pacing="process", max_retries=1)
c.get_avatar("flaky429-quiet@c.us")
assert c.stats().slow_downs == 1, c.stats()
c.get_avatar("status-503@c.us") if False else None
print("done")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "done\n"
    assert r.stderr == ""


def test_stats_is_a_frozen_dataclass_of_the_documented_fields(make_client: Callable[..., Any]) -> None:
    client = make_client(max_retries=0)
    client.get_avatar("79001234567")
    with pytest.raises(greenapi.NotFoundError):
        client.get_avatar("status-404@c.us")
    s = client.stats()
    assert isinstance(s, greenapi.Stats)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.calls = 0  # type: ignore[misc]
    assert s.calls == 2 and s.answered == 1 and s.failed == {"not_found": 1}
    assert s.attempts == 2 and s.in_flight == 0 and s.rate_per_sec == 0.0
    assert s.connections_opened >= 1 and s.bytes_sent > 0 and s.bytes_received > 0
    names = {f.name for f in dataclasses.fields(greenapi.Stats)}
    assert set(s.as_dict()) == names
    json.dumps(s.as_dict())


def cli(standin: str, *args: str, stdin: str = "") -> "subprocess.CompletedProcess[str]":
    env = clean_env()
    env.update(GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN=TOKEN, GREEN_API_URL=standin)
    return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_the_command_line_summary_verbosity_and_stats_file(standin: str, tmp_path: Path) -> None:
    def ids(run: str) -> str:
        # A flaky id fails only the first time the stand-in sees it: one per run.
        return f"79001234567\nstatus-404@c.us\nflaky503-cli{run}@c.us\n79001234568\n"

    r = cli(standin, "avatars", "--rate-limit", "0", stdin=ids("a"))
    assert r.returncode == 1
    (summary,) = r.stderr.splitlines()
    assert summary.startswith("greenapi: 4 ids, 3 answered, 1 failed (not_found 1), 0 429s, 1 retries, ")
    assert summary.endswith(" avatars/s")

    r = cli(standin, "avatars", "-v", "--rate-limit", "0", stdin=ids("b"))
    lines = r.stderr.splitlines()
    assert any(line.startswith("greenapi: info retry: attempt 1 failed (server_error)") for line in lines), lines
    assert not any("request.sent" in line for line in lines), "-v leaves out every request"

    stats = tmp_path / "stats.json"
    r = cli(standin, "avatars", "-vv", "--stats", str(stats), "--rate-limit", "0", stdin=ids("c"))
    lines = r.stderr.splitlines()
    assert sum("debug request.sent" in line for line in lines) == 5, lines
    got: Dict[str, Any] = json.loads(stats.read_text())
    assert got["calls"] == 4 and got["attempts"] == 5 and got["failed"] == {"not_found": 1}

    r = cli(standin, "avatar", "79001234567", "--stats", "-")
    assert r.returncode == 0
    assert json.loads(r.stderr)["answered"] == 1
