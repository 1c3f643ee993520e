"""The command line (`greenapi`, `python -m greenapi`), driven as a user would: a subprocess
with files and stdin, its exit status, a SIGINT half-way and --resume, a pseudo-terminal for
the progress bar. Against the stand-in server."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest

from conftest import ID_INSTANCE, ROOT, TOKEN, clean_env, mypy

# The console script pip / maturin put next to the venv's python.
SCRIPT = Path(sys.executable).parent / "greenapi"
ANSWER_KEYS = {"chatId", "existsWhatsapp", "available", "urlAvatar", "reason"}


def url(chat_id: str) -> str:
    return f"https://pps.whatsapp.net/v/stand-in/{chat_id}.jpg"


def env_for(standin: str, **extra: str) -> Dict[str, str]:
    env = clean_env()
    for k in ("GREEN_API_ID_INSTANCE", "GREEN_API_TOKEN", "GREEN_API_URL"):
        env.pop(k, None)
    env.update(GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN=TOKEN, GREEN_API_URL=standin)
    env.update(extra)
    return env


def restore_sigint() -> None:
    # A shell that starts a background job without job control makes it ignore SIGINT; the
    # program must see Ctrl-C as a user's terminal would deliver it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def greenapi(
    *args: str,
    env: Dict[str, str],
    stdin: str = "",
    cwd: Optional[Path] = None,
    module: bool = False,
) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "greenapi"] if module else [str(SCRIPT)]
    return subprocess.run(
        [*cmd, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=str(cwd) if cwd else None,
        timeout=120,
    )


def json_lines(text: str) -> List[Dict[str, Any]]:
    assert text == "" or text.endswith("\n"), repr(text[-200:])
    return [json.loads(line) for line in text.splitlines()]


def by_id(records: Sequence[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    out = {r["chatId"]: r for r in records}
    assert len(out) == len(records), "a chat id came out twice"
    return out


# ---- avatars: input, output, formats ------------------------------------------------------


def test_avatars_reads_a_file_skipping_blank_lines_and_comments(standin: str, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(
        "# customers\n79001234567\n\n   \n  120363043968066561@g.us  \n# hidden one\nhidden@lid\n"
        "badchat@c.us\n"
    )
    r = greenapi("avatars", str(ids), "--rate-limit", "0", env=env_for(standin))
    assert r.returncode == 0, r.stderr
    # Not a terminal: no progress bar, only the summary.
    assert r.stderr.startswith("greenapi: 4 ids, 4 answered, 0 failed") and r.stderr.count("\n") == 1
    got = by_id(json_lines(r.stdout))
    assert got == {
        "79001234567": {
            "chatId": "79001234567",
            "existsWhatsapp": True,
            "available": None,
            "urlAvatar": url("79001234567@c.us"),
            "reason": None,
        },
        "120363043968066561@g.us": {
            "chatId": "120363043968066561@g.us",
            "existsWhatsapp": None,
            "available": True,
            "urlAvatar": url("120363043968066561@g.us"),
            "reason": None,
        },
        "hidden@lid": {
            "chatId": "hidden@lid",
            "existsWhatsapp": None,
            "available": False,
            "urlAvatar": "",
            "reason": None,
        },
        "badchat@c.us": {
            "chatId": "badchat@c.us",
            "existsWhatsapp": False,
            "available": None,
            "urlAvatar": "",
            "reason": "bad request data",
        },
    }


@pytest.mark.parametrize("source", [["-"], []], ids=["dash", "no-file"])
def test_python_m_greenapi_reads_stdin(standin: str, source: List[str]) -> None:
    r = greenapi("avatars", *source, env=env_for(standin), stdin="79001234567\n120650379300963@lid", module=True)
    assert r.returncode == 0, r.stderr
    got = by_id(json_lines(r.stdout))
    assert set(got) == {"79001234567", "120650379300963@lid"}
    assert got["120650379300963@lid"]["urlAvatar"] == url("120650379300963@lid")


def test_failed_ids_give_error_lines_and_exit_1(standin: str) -> None:
    r = greenapi(
        "avatars", "--max-retries", "0", "--rate-limit", "0",
        env=env_for(standin), stdin="79001234567\nstatus-500@c.us\nnot a chat id\nstatus-466@c.us\n",
    )
    assert r.returncode == 1, r.stderr
    got = by_id(json_lines(r.stdout))
    assert set(got["79001234567"]) == ANSWER_KEYS
    assert got["status-500@c.us"]["error"]["code"] == "server_error"
    assert got["status-500@c.us"]["error"]["httpStatus"] == 500
    assert got["status-466@c.us"]["error"]["code"] == "quota_exceeded"
    assert got["status-466@c.us"]["error"]["httpStatus"] == 466
    refused = got["not a chat id"]
    assert refused["error"]["code"] == "invalid_argument"
    assert refused["error"]["httpStatus"] is None
    assert "whitespace" in refused["error"]["message"]
    for record in (got["status-500@c.us"], refused):
        assert set(record) == {"chatId", "error"}
        assert set(record["error"]) == {"code", "httpStatus", "message"}
    assert TOKEN not in r.stdout + r.stderr


def test_a_wrong_token_never_appears(standin: str) -> None:
    wrong = "wrong-token-but-well-formed-42"
    r = greenapi("avatars", env=env_for(standin, GREEN_API_TOKEN=wrong), stdin="79001234567\n")
    assert r.returncode == 1
    [record] = json_lines(r.stdout)
    assert record["error"]["code"] == "unauthorized" and record["error"]["httpStatus"] == 401
    # The stand-in echoes the path, token included, in its 401 body.
    assert wrong not in r.stdout + r.stderr


def test_csv_format(standin: str) -> None:
    r = greenapi(
        "avatars", "--format", "csv", "--max-retries", "0",
        env=env_for(standin), stdin="79001234567\nhidden@lid\nstatus-404@c.us\n",
    )
    assert r.returncode == 1, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert r.stdout.splitlines()[0] == "chatId,existsWhatsapp,available,urlAvatar,reason,error,httpStatus,message"
    got = {row["chatId"]: row for row in rows}
    assert len(got) == 3
    assert got["79001234567"] == {
        "chatId": "79001234567", "existsWhatsapp": "true", "available": "", "urlAvatar": url("79001234567@c.us"),
        "reason": "", "error": "", "httpStatus": "", "message": "",
    }
    assert got["hidden@lid"]["available"] == "false"
    assert got["status-404@c.us"]["error"] == "not_found"
    assert got["status-404@c.us"]["httpStatus"] == "404"
    assert got["status-404@c.us"]["message"]


def test_output_file(standin: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old content that must go\n")
    r = greenapi("avatars", "--output", str(out), env=env_for(standin), stdin="79001234567\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    [record] = json_lines(out.read_text())
    assert record["urlAvatar"] == url("79001234567@c.us")


def test_duplicates_each_get_a_line_but_are_asked_once(
    standin: str, stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None]
) -> None:
    reset_stats()
    r = greenapi("avatars", env=env_for(standin), stdin="79001234567\n79001234567@c.us\n79001234567\n")
    assert r.returncode == 0, r.stderr
    assert [rec["chatId"] for rec in json_lines(r.stdout)].count("79001234567") == 2
    assert stats()["requests"] == 1


def test_empty_input(standin: str) -> None:
    r = greenapi("avatars", env=env_for(standin), stdin="# nothing\n\n")
    assert (r.returncode, r.stdout) == (0, "")


# ---- avatar: one chat id ------------------------------------------------------------------


def test_avatar_one_chat_id(standin: str) -> None:
    r = greenapi("avatar", "+79001234567", env=env_for(standin))
    assert r.returncode == 0, r.stderr
    assert json_lines(r.stdout) == [
        {"chatId": "+79001234567", "existsWhatsapp": True, "available": None,
         "urlAvatar": url("79001234567@c.us"), "reason": None}
    ]
    r = greenapi("avatar", "status-403@c.us", "--max-retries", "0", env=env_for(standin))
    assert r.returncode == 1
    [record] = json_lines(r.stdout)
    assert record["error"]["code"] == "forbidden" and record["error"]["httpStatus"] == 403


def test_avatar_csv(standin: str) -> None:
    r = greenapi("avatar", "120650379300963@lid", "--format", "csv", env=env_for(standin))
    assert r.returncode == 0, r.stderr
    [row] = list(csv.DictReader(io.StringIO(r.stdout)))
    assert row["urlAvatar"] == url("120650379300963@lid") and row["available"] == "true"


# ---- usage errors: exit 2 -----------------------------------------------------------------


@pytest.mark.parametrize("missing", ["GREEN_API_ID_INSTANCE", "GREEN_API_TOKEN"])
def test_missing_credentials(standin: str, missing: str) -> None:
    env = env_for(standin)
    del env[missing]
    for args in (["avatars"], ["avatar", "79001234567"]):
        r = greenapi(*args, env=env, stdin="79001234567\n")
        assert r.returncode == 2
        assert missing in r.stderr
        assert "Traceback" not in r.stderr
        assert r.stdout == ""


def test_no_api_url_means_the_default(standin: str) -> None:
    # GREEN_API_URL is optional: unset, the client calls https://api.green-api.com, which an
    # http:// proxy that is not on loopback would have to reach; --proxy "" and a refused
    # option prove the option reached the client without any network use.
    env = env_for(standin)
    del env["GREEN_API_URL"]
    r = greenapi("avatar", "79001234567", "--max-body-bytes", "0", env=env)
    assert r.returncode == 2
    assert "--max-body-bytes" in r.stderr and "GREEN_API_URL" not in r.stderr


@pytest.mark.parametrize(
    "args, says",
    [
        # A refused value is named by its flag (the library says timeout, rate_limit_per_sec).
        (["--timeout", "0"], "--timeout must"),
        (["--timeout", "soon"], "--timeout"),
        (["--connect-timeout", "-1"], "--connect-timeout must"),
        (["--max-retries", "11"], "--max-retries must"),
        (["--rate-limit", "20000"], "--rate-limit must"),
        (["--max-in-flight", "0"], "--max-in-flight must"),
        (["--max-body-bytes", "0"], "--max-body-bytes must"),
        (["--proxy", "ftp://127.0.0.1:1"], "--proxy is not a valid proxy URL"),
        (["--user-agent", "bad\nagent"], "--user-agent must"),
        (["--ca-file", "/nonexistent/ca.pem"], "--ca-file /nonexistent/ca.pem"),
        (["--format", "xml"], "--format"),
        (["--token", TOKEN], "unrecognized"),
        (["--resume"], "--output"),
    ],
)
def test_bad_usage_exits_2(standin: str, args: List[str], says: str) -> None:
    r = greenapi("avatars", *args, env=env_for(standin), stdin="79001234567\n")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert says in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""
    assert TOKEN not in r.stderr


def test_bad_usage_without_a_command_or_with_a_missing_file(standin: str, tmp_path: Path) -> None:
    for args in ([], ["avatar"], ["fetch"]):
        r = greenapi(*args, env=env_for(standin))
        assert r.returncode == 2, (args, r.stderr)
        assert "usage:" in r.stderr
    r = greenapi("avatars", str(tmp_path / "nope.txt"), env=env_for(standin))
    assert r.returncode == 2
    assert "nope.txt" in r.stderr and "Traceback" not in r.stderr


def test_a_bad_instance_id_is_bad_usage(standin: str) -> None:
    r = greenapi("avatar", "79001234567", env=env_for(standin, GREEN_API_ID_INSTANCE="not-digits"))
    assert r.returncode == 2
    assert "GREEN_API_ID_INSTANCE must" in r.stderr and "id_instance" not in r.stderr
    assert "Traceback" not in r.stderr


def test_help_names_the_environment_and_every_option(standin: str) -> None:
    r = greenapi("avatars", "--help", env=env_for(standin))
    assert r.returncode == 0
    for word in ["GREEN_API_ID_INSTANCE", "GREEN_API_TOKEN", "GREEN_API_URL", "--resume", "--output",
                 "--format", "--timeout", "--connect-timeout", "--max-retries", "--rate-limit",
                 "--max-in-flight", "--proxy", "--ca-file", "--user-agent", "--max-body-bytes",
                 "--allow-insecure-http", "130"]:
        assert word in r.stdout, word
    assert "--token" not in r.stdout
    top = greenapi("--help", env=env_for(standin), module=True)
    assert top.returncode == 0 and "avatars" in top.stdout and "avatar" in top.stdout
    assert top.stdout.startswith("usage: greenapi")


# ---- Ctrl-C and --resume ------------------------------------------------------------------


def wait_for_lines(path: Path, proc: subprocess.Popen, n: int) -> None:
    deadline = time.monotonic() + 60
    while path.read_bytes().count(b"\n") < n if path.exists() else True:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no output within 60 s"
        time.sleep(0.01)


def signalled(
    args: List[str], signum: int, env: Dict[str, str], until: Callable[[subprocess.Popen], None]
) -> Tuple[int, bytes, bytes]:
    """Runs the command, sends it ``signum`` once ``until(proc)`` returns; (status, stdout, stderr)."""
    proc = subprocess.Popen(
        [str(SCRIPT), *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=restore_sigint,
    )
    try:
        until(proc)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stdout, stderr


def test_sigint_keeps_every_finished_line_and_resume_completes_the_set(
    standin: str, tmp_path: Path, stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None]
) -> None:
    chat_ids = [f"7900100{i:04d}" for i in range(40)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(chat_ids) + "\n")
    out = tmp_path / "out.jsonl"
    # Paced at 10 per second: four seconds of work, interrupted after five results.
    status, stdout, stderr = signalled(
        ["avatars", str(ids), "--output", str(out), "--rate-limit", "10", "--max-in-flight", "2"],
        signal.SIGINT, env_for(standin), lambda proc: wait_for_lines(out, proc, 5),
    )
    assert status == 130, stderr
    assert b"Traceback" not in stderr
    assert stdout == b""
    first = json_lines(out.read_text())
    done = by_id(first)
    assert 5 <= len(done) < len(chat_ids)
    for chat_id, record in done.items():
        assert record == {"chatId": chat_id, "existsWhatsapp": True, "available": None,
                          "urlAvatar": url(chat_id + "@c.us"), "reason": None}

    reset_stats()
    r = greenapi("avatars", str(ids), "--output", str(out), "--resume", "--rate-limit", "0", env=env_for(standin))
    assert r.returncode == 0, r.stderr
    # Only the ids without an answer were asked.
    assert stats()["requests"] == len(chat_ids) - len(done)
    everything = json_lines(out.read_text())
    assert everything[: len(first)] == first
    assert set(by_id(everything)) == set(chat_ids)


def test_resume_asks_again_errors_and_a_truncated_last_line(
    standin: str, tmp_path: Path, stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None]
) -> None:
    out = tmp_path / "out.jsonl"
    answered = {"chatId": "79001234567", "existsWhatsapp": True, "available": None,
                "urlAvatar": url("79001234567@c.us"), "reason": None}
    failed = {"chatId": "79001234568", "error": {"code": "server_error", "httpStatus": 500, "message": "x"}}
    # Killed in the middle of writing the third line.
    out.write_text(json.dumps(answered) + "\n" + json.dumps(failed) + "\n" + '{"chatId": "79001234569", "exis')
    ids = "79001234567\n79001234568\n79001234569\n79001234570\n"
    reset_stats()
    r = greenapi("avatars", "--output", str(out), "--resume", "-", env=env_for(standin), stdin=ids)
    assert r.returncode == 0, r.stderr
    assert stats()["requests"] == 3
    records = json_lines(out.read_text())
    assert records[:2] == [answered, failed]
    assert {rec["chatId"] for rec in records[2:]} == {"79001234568", "79001234569", "79001234570"}
    assert all("error" not in rec for rec in records[2:])

    # Nothing left to ask: nothing is sent, nothing is written, and the set is complete.
    reset_stats()
    before = out.read_text()
    r = greenapi("avatars", "--output", str(out), "--resume", env=env_for(standin), stdin=ids)
    assert r.returncode == 0, r.stderr
    assert stats()["requests"] == 0
    assert out.read_text() == before


def test_resume_csv(
    standin: str, tmp_path: Path, stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None]
) -> None:
    out = tmp_path / "out.csv"
    r = greenapi("avatars", "--format", "csv", "--output", str(out), "--max-retries", "0",
                 env=env_for(standin), stdin="79001234567\nstatus-502@c.us\n")
    assert r.returncode == 1
    with open(out, "a") as f:
        f.write("79001234571,tr")  # a line cut short
    reset_stats()
    r = greenapi("avatars", "--format", "csv", "--output", str(out), "--resume", "--max-retries", "0",
                 env=env_for(standin), stdin="79001234567\nstatus-502@c.us\n79001234571\n")
    assert r.returncode == 1
    assert stats()["requests"] == 2
    text = out.read_text()
    assert text.count("chatId,") == 1  # one header
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["chatId"] for row in rows].count("79001234571") == 1
    assert sorted(row["chatId"] for row in rows) == sorted(
        ["79001234567", "status-502@c.us", "status-502@c.us", "79001234571"]
    )


def test_resume_of_a_file_that_does_not_exist_yet(standin: str, tmp_path: Path) -> None:
    out = tmp_path / "new.jsonl"
    r = greenapi("avatars", "--output", str(out), "--resume", env=env_for(standin), stdin="79001234567\n")
    assert r.returncode == 0, r.stderr
    assert len(json_lines(out.read_text())) == 1


# ---- the progress bar ---------------------------------------------------------------------


def run_on_a_terminal(args: List[str], env: Dict[str, str], stdin: str) -> tuple:
    """Runs the command with stderr on a pseudo-terminal; returns (status, stdout, terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(SCRIPT), *args], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave,
    )
    os.close(slave)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(stdin.encode())
    proc.stdin.close()
    screen = b""
    try:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every end of the terminal's slave side is closed
                break
            if not chunk:
                break
            screen += chunk
        stdout = proc.stdout.read()
        proc.wait(30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stdout.decode(), screen.decode(errors="replace")


def test_progress_bar_on_a_terminal(standin: str) -> None:
    chat_ids = [f"7900200{i:04d}" for i in range(12)]
    status, stdout, screen = run_on_a_terminal(
        ["avatars", "--rate-limit", "0"], env_for(standin), "\n".join(chat_ids) + "\n"
    )
    assert status == 0, screen
    assert set(by_id(json_lines(stdout))) == set(chat_ids)
    last = screen.replace("\r\n", "\n").split("\r")[-1]
    assert re.search(r"\b12/12\b", last), repr(screen)
    assert "/s" in last and "ETA" in last, repr(last)
    assert last.endswith("\n")
    assert TOKEN not in screen


def test_no_progress_bar_when_stderr_is_not_a_terminal(standin: str) -> None:
    r = greenapi("avatars", env=env_for(standin), stdin="79001234567\n79001234568\n")
    assert r.returncode == 0
    assert r.stderr.startswith("greenapi: 2 ids, 2 answered") and r.stderr.count("\n") == 1


# ---- the README's "Command line" snippet --------------------------------------------------


def readme_cli_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- example-cli -->\s*```sh\n(.*?)```\s*<!-- /example-cli -->", text, re.S)
    assert m, "README.md has no <!-- example-cli --> block"
    return m.group(1)


def test_readme_cli_snippet_runs(standin: str, tmp_path: Path) -> None:
    env = env_for(standin)
    env["PATH"] = f"{SCRIPT.parent}{os.pathsep}{env.get('PATH', '')}"
    r = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_cli_snippet()],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert TOKEN not in r.stdout + r.stderr
    records = by_id(json_lines((tmp_path / "avatars.jsonl").read_text()))
    assert set(records) == {"79001234567", "120363043968066561@g.us", "hidden@lid"}
    assert records["120363043968066561@g.us"]["urlAvatar"] == url("120363043968066561@g.us")
    # The last command prints the CSV of one chat id.
    rows = list(csv.DictReader(io.StringIO(r.stdout[r.stdout.index("chatId,"):])))
    assert [row["urlAvatar"] for row in rows] == [url("79001234567@c.us")]


@pytest.mark.parametrize(
    "fmt, content",
    [("csv", '{"chatId": "79001234567", "urlAvatar": ""}\n'), ("json", "chatId,existsWhatsapp\n79001234567,true\n")],
)
def test_resume_refuses_a_file_of_the_other_format(standin: str, tmp_path: Path, fmt: str, content: str) -> None:
    out = tmp_path / "out"
    out.write_text(content)
    r = greenapi("avatars", "--format", fmt, "--output", str(out), "--resume", env=env_for(standin),
                 stdin="79001234567\n")
    assert r.returncode == 2, r.stderr
    assert str(out) in r.stderr and fmt in r.stderr
    assert out.read_text() == content


def test_resume_csv_asks_again_a_row_with_missing_columns(
    standin: str, tmp_path: Path, stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None]
) -> None:
    out = tmp_path / "out.csv"
    out.write_text("chatId,existsWhatsapp,available,urlAvatar,reason,error,httpStatus,message\n79001234567,true\n")
    reset_stats()
    r = greenapi("avatars", "--format", "csv", "--output", str(out), "--resume", env=env_for(standin),
                 stdin="79001234567\n")
    assert r.returncode == 0, r.stderr
    assert stats()["requests"] == 1


def test_cli_passes_mypy_strict(tmp_path: Path) -> None:
    import greenapi

    package = Path(greenapi.__file__).parent
    r = mypy(tmp_path, "--strict", package / "_cli.py", package / "__main__.py")
    assert r.returncode == 0, r.stdout + r.stderr


def test_readme_cli_observe_snippet_runs(standin: str, tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- example-cli-observe -->\s*```sh\n(.*?)```\s*<!-- /example-cli-observe -->", text, re.S)
    assert m, "README.md has no <!-- example-cli-observe --> block"
    env = env_for(standin)
    env["PATH"] = f"{SCRIPT.parent}{os.pathsep}{env.get('PATH', '')}"
    r = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", m.group(1)],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert any(line.startswith("greenapi: info retry: attempt 1 failed (server_error)") for line in lines), lines
    assert lines[-1].startswith("greenapi: 3 ids, 2 answered, 1 failed (not_found 1), 0 429s, 1 retries, ")
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["calls"] == 3 and stats["retries"] == 1
    assert TOKEN not in r.stdout + r.stderr
