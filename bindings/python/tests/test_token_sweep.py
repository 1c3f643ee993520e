"""The token never shows in Python: a sweep over every answer that can carry it, from a server
that echoes the request path (which holds the token) in error bodies of every status class, in
wrong-typed fields of a 200 body, in bodies that are not JSON, and in fields that are copied
into an Avatar. No 16-character piece of the token may show in str, repr, args or a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

import greenapi
from conftest import ID_INSTANCE, redis_server, serving

TOKEN = "sweepTOKENd75b3a66374942c5b3c019c698abc2067e151558"
STATUSES = [301, 302, 307, 400, 401, 403, 404, 418, 429, 466, 499, 500, 502, 503, 504, 599]


def cases(path: str) -> List[Tuple[int, str]]:
    """(status, body) for each case; the case number travels in the chat id."""
    quoted = json.dumps(path)
    escaped = "".join(f"\\u{ord(c):04x}" for c in path)
    out: List[Tuple[int, str]] = []
    for status in STATUSES:
        out.append((status, f"no route for POST {path}"))
        out.append((status, "x" * 290 + path))
        out.append((status, json.dumps({"message": "bad path", "path": path})))
    for body in [
        f'{{"existsWhatsapp":{quoted}}}',
        f'{{"available":{quoted}}}',
        f'{{"urlAvatar":[{quoted}]}}',
        f'{{"reason":{{"p":{quoted}}}}}',
        f'{{"available":"{escaped}"}}',
        f'{{"existsWhatsapp":"{"y" * 280}{path}"}}',
        f'{{"urlAvatar":{quoted}}}',
        f'{{"reason":{quoted},"urlAvatar":""}}',
        f'{{"urlAvatar":"{escaped}"}}',
        f"<html>{path}</html>",
        f'{{"urlAvatar":{quoted}',
        f'{{{quoted}:1}}',
    ]:
        out.append((200, body))
    return out


COUNT = len(cases("/"))


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        chat_id = json.loads(self.rfile.read(length))["chatId"]
        status, body = cases(self.path)[int(chat_id.split("@")[0])]
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("location", "https://elsewhere.example" + self.path)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Echo)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


def assert_clean(text: str, what: str) -> None:
    for i in range(len(TOKEN) - 15):
        piece = TOKEN[i : i + 16]
        assert piece not in text, f"{what}: a piece of the token ({piece}) in {text!r}"


def shown(exc: BaseException) -> str:
    return "\n".join(
        [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    )


def record_text(r: logging.LogRecord) -> str:
    """A log record as any formatter could show it: its message and every attribute."""
    return r.getMessage() + " " + repr(sorted(r.__dict__.items(), key=lambda kv: kv[0]))


@pytest.mark.parametrize("case", range(COUNT))
def test_no_exception_or_repr_holds_the_token(
    echo_url: str, case: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="greenapi")
    client = greenapi.Client(ID_INSTANCE, TOKEN, api_url=echo_url, proxy="", rate_limit=0, max_retries=0)
    assert_clean(repr(client), "Client repr")
    try:
        avatar = client.get_avatar(f"{case}@c.us")
    except greenapi.GreenApiError as e:
        assert_clean(shown(e), f"case {case}")
    else:
        assert_clean(repr(avatar) + str(avatar) + repr(avatar.to_dict()), f"case {case}")
    assert_clean(repr(client.stats()), f"stats, case {case}")
    del client
    records = [r for r in caplog.records if r.name == "greenapi"]
    assert len(records) >= 2, "request sent and answered, at least"
    for r in records:
        assert_clean(record_text(r), f"log record, case {case}")


PROXY_PASSWORD = "proxyPASSWORD0123456789abcdefXYZ"


def test_the_command_lines_vv_output_holds_no_token_nor_proxy_password(echo_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN=TOKEN, GREEN_API_URL=echo_url)
    ids = "".join(f"{case}@c.us\n" for case in range(COUNT))
    stats = tmp_path / "stats.json"
    script = Path(sys.executable).parent / "greenapi"
    port = echo_url.rsplit(":", 1)[1]
    for extra in (["--proxy", ""], ["--proxy", f"http://user:{PROXY_PASSWORD}@127.0.0.1:{port}"]):
        r = subprocess.run(
            [str(script), "avatars", "-vv", "--stats", str(stats), "--rate-limit", "0", "--max-retries", "1", *extra],
            input=ids, capture_output=True, text=True, env=env, timeout=120,
        )
        assert r.returncode == 1, r.stderr[-2000:]
        lines = r.stderr.splitlines()
        assert sum("request.answered" in line for line in lines) >= COUNT, r.stderr[-2000:]
        for text, what in ((r.stdout, "stdout"), (r.stderr, "-vv stderr"), (stats.read_text(), "--stats")):
            assert_clean(text, what)
            assert PROXY_PASSWORD[:16] not in text and PROXY_PASSWORD[-16:] not in text, what


REDIS_PASSWORD = "redisPASSWORD0123456789abcdefXYZ"


def test_redis_paced_logs_and_stats_hold_no_redis_password(
    echo_url: str, pacing_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="greenapi")
    with redis_server("--requirepass", REDIS_PASSWORD) as port:
        client = greenapi.Client(
            ID_INSTANCE, TOKEN, api_url=echo_url, proxy="", max_retries=0, rate_limit=100,
            pacing=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}",
        )
        assert client.pacing == "redis"
        for case in range(3):
            try:
                client.get_avatar(f"{case}@c.us")
            except greenapi.GreenApiError:
                pass
    # Redis gone: the next call says so (pacing.switched), and goes on under host pacing.
    try:
        client.get_avatar("0@c.us")
    except greenapi.GreenApiError:
        pass
    text = "\n".join(record_text(r) for r in caplog.records) + repr(client.stats())
    assert "pacing.switched" in text
    for i in range(len(REDIS_PASSWORD) - 15):
        assert REDIS_PASSWORD[i : i + 16] not in text
    assert_clean(text, "Redis-paced records")
