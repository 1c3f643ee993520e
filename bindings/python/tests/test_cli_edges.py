"""The command line at its edges (issue 14): a full disk, SIGTERM, a reader that goes away, more
ids than one batch takes, odd bytes in the input, service texts with odd characters (line
separators, spreadsheet formulas), a stdout that is not UTF-8, the progress bar's rate, the
names in messages, the width of --help."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import subprocess
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from conftest import ROOT, TOKEN, serving
from test_cli import SCRIPT, by_id, env_for, greenapi, json_lines, run_on_a_terminal, signalled, wait_for_lines

# ---- a service that answers odd texts -----------------------------------------------------

# What the "service" below answers, by chat id: texts that the stand-in never sends.
ODD: Dict[str, Dict[str, Any]] = {
    # Characters str.splitlines() splits on, inside one CSV cell.
    "1001@c.us": {"existsWhatsapp": False, "urlAvatar": "", "reason": "one\u2028two\x85three\x0cfour\x1dfive"},
    "1002@c.us": {"existsWhatsapp": True, "urlAvatar": "=HYPERLINK(\"http://evil.invalid\",\"x\")"},
    "1003@c.us": {"existsWhatsapp": False, "urlAvatar": "", "reason": "@SUM(1+1)*cmd|' /C calc'!A0"},
    "1004@c.us": {"existsWhatsapp": False, "urlAvatar": "", "reason": "+1+cmd"},
    "1005@c.us": {"existsWhatsapp": False, "urlAvatar": "", "reason": "-2+3"},
    "1006@c.us": {"existsWhatsapp": False, "urlAvatar": "", "reason": "\tTAB"},
    "1007@c.us": {"existsWhatsapp": False, "urlAvatar": "", "reason": "'quoted'"},
}


class OddService(ThreadingHTTPServer):
    daemon_threads = True
    requests = 0


class OddHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: OddService

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests += 1
        answer = json.dumps(ODD.get(json.loads(body)["chatId"], {"existsWhatsapp": False, "urlAvatar": ""}))
        data = answer.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def odd() -> Iterator[OddService]:
    with serving(OddService(("127.0.0.1", 0), OddHandler)) as server:
        yield server


def odd_env(server: OddService) -> Dict[str, str]:
    return env_for(f"http://127.0.0.1:{server.server_address[1]}")


# ---- 13: a full disk ----------------------------------------------------------------------


@pytest.mark.parametrize("command", [["avatars"], ["avatar", "79001234567"]], ids=["avatars", "avatar"])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_full_stdout_is_one_line_and_its_own_status(standin: str, command: List[str], fmt: str) -> None:
    with open("/dev/full", "w") as full:
        r = subprocess.run([str(SCRIPT), *command, "--format", fmt], input="79001234567\n79001234568\n",
                           stdout=full, stderr=subprocess.PIPE, text=True, env=env_for(standin), timeout=60)
    assert r.stderr == "greenapi: error: cannot write stdout: No space left on device\n"
    assert r.returncode == 74


def test_a_full_output_file_is_one_line_and_its_own_status(standin: str) -> None:
    r = greenapi("avatars", "--output", "/dev/full", env=env_for(standin), stdin="79001234567\n")
    assert r.stderr == "greenapi: error: cannot write /dev/full: No space left on device\n"
    assert r.returncode == 74


# ---- 14: more ids than one batch takes ----------------------------------------------------


def test_more_than_a_million_ids(
    standin: str, tmp_path: Path, stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None]
) -> None:
    # The library refuses a batch of more than 1,000,000 ids; a file of contacts may hold more.
    # Copies of two ids keep it to two requests.
    ids = tmp_path / "ids.txt"
    ids.write_text("79001234567\n" * 1_000_000 + "79001234568\n")
    out = tmp_path / "out.csv"
    reset_stats()
    r = greenapi("avatars", str(ids), "--output", str(out), "--format", "csv", "--rate-limit", "0",
                 env=env_for(standin))
    assert r.returncode == 0, r.stderr[-2000:]
    assert stats()["requests"] == 2
    data = out.read_bytes()
    assert data.count(b"\n") == 1 + 1_000_001
    assert data.count(b"\n79001234568,true,") == 1


def test_ids_are_worked_through_in_chunks(
    standin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None],
) -> None:
    from greenapi import _cli

    # Chunks of 3: equal ids in different chunks are still asked once, a refused id is not
    # asked, and every line gets its record.
    monkeypatch.setattr(_cli, "CHUNK", 3)
    for name, value in env_for(standin).items():
        monkeypatch.setenv(name, value)
    lines = ["79001230001", "79001230002", "not an id", "79001230003", "+79001230001", "79001230004",
             "79001230002@c.us", "79001230005", "79001230001"]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    reset_stats()
    assert _cli.main(["avatars", str(ids), "--output", str(out), "--rate-limit", "0"]) == 1
    assert stats()["requests"] == 5
    records = json_lines(out.read_text())
    assert sorted(r["chatId"] for r in records) == sorted(lines)
    for record in records:
        if record["chatId"] != "not an id":
            digits = record["chatId"].lstrip("+").split("@")[0]
            assert record["urlAvatar"].endswith(f"/{digits}@c.us.jpg"), record


# ---- 15: SIGTERM --------------------------------------------------------------------------


def test_sigterm_keeps_every_finished_line(standin: str, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(f"7900300{i:04d}" for i in range(40)) + "\n")
    out = tmp_path / "out.jsonl"
    status, stdout, stderr = signalled(
        ["avatars", str(ids), "--output", str(out), "--rate-limit", "10", "--max-in-flight", "2"],
        signal.SIGTERM, env_for(standin), lambda proc: wait_for_lines(out, proc, 5),
    )
    assert status == 143, stderr
    # The summary of what was done, then why it stopped.
    summary, why = stderr.decode().splitlines()
    assert summary.startswith("greenapi: 40 ids, ") and why == "greenapi: terminated"
    assert stdout == b""
    records = json_lines(out.read_text())
    assert 5 <= len(by_id(records)) < 40
    assert all(set(r) == {"chatId", "existsWhatsapp", "available", "urlAvatar", "reason"} for r in records)


def test_sigterm_during_one_avatar(standin: str) -> None:
    # A second for the program to start and its request to be in flight (the answer takes 20).
    r = signalled(["avatar", "slow-20000@c.us"], signal.SIGTERM, env_for(standin), lambda proc: time.sleep(1.0))
    assert r == (143, b"", b"greenapi: terminated\n")


# ---- 16: --resume reads records as they were written ---------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_resume_with_line_separators_inside_a_cell(odd: OddService, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    ids = "1001@c.us\n1002@c.us\n"
    r = greenapi("avatars", "--format", fmt, "--output", str(out), env=odd_env(odd), stdin=ids)
    assert r.returncode == 0, r.stderr
    before = odd.requests
    for _ in range(2):
        r = greenapi("avatars", "--format", fmt, "--output", str(out), "--resume", env=odd_env(odd), stdin=ids)
        assert r.returncode == 0, r.stderr
    assert odd.requests == before
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    else:
        rows = [json.loads(line) for line in text.split("\n") if line]
    assert sorted(row["chatId"] for row in rows) == ["1001@c.us", "1002@c.us"]
    assert by_id(rows)["1001@c.us"]["reason"] == ODD["1001@c.us"]["reason"]


def test_resume_csv_drops_a_record_cut_inside_a_quoted_cell(
    standin: str, tmp_path: Path, stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None]
) -> None:
    out = tmp_path / "out.csv"
    header = "chatId,existsWhatsapp,available,urlAvatar,reason,error,httpStatus,message\n"
    whole = "79001234567,true,,u,,,,\n"
    # Killed after the newline inside a quoted cell: the line ends, the record does not.
    out.write_text(header + whole + '79001234568,false,,,"first line\n')
    reset_stats()
    r = greenapi("avatars", "--format", "csv", "--output", str(out), "--resume", env=env_for(standin),
                 stdin="79001234567\n79001234568\n")
    assert r.returncode == 0, r.stderr
    assert stats()["requests"] == 1
    rows = list(csv.DictReader(io.StringIO(out.read_text(), newline="")))
    assert [row["chatId"] for row in rows] == ["79001234567", "79001234568"]
    assert rows[1]["existsWhatsapp"] == "true"


# ---- 17: stdout in UTF-8 whatever the locale ----------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_output_is_utf8_whatever_the_locale(standin: str, fmt: str) -> None:
    env = env_for(standin, PYTHONIOENCODING="latin-1", LC_ALL="C")
    r = subprocess.run([str(SCRIPT), "avatars", "--format", fmt], input="кириллица@c.us\n".encode(),
                       capture_output=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    text = r.stdout.decode("utf-8")
    if fmt == "csv":
        assert text.splitlines()[1].startswith("кириллица@c.us,false,")
    else:
        assert json_lines(text)[0]["chatId"] == "кириллица@c.us"


# ---- 18: input rules ------------------------------------------------------------------------


def test_a_byte_that_is_not_utf8_is_refused_with_its_line(standin: str, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"79001234567\n\n7900\xff1234568\n")
    r = greenapi("avatars", str(ids), env=env_for(standin))
    assert r.returncode == 2
    assert r.stderr == f"greenapi: error: {ids}, line 3: not UTF-8 text\n"
    r = greenapi("avatars", env=env_for(standin), stdin="79001234567\n")
    assert r.returncode == 0


def test_a_comment_need_not_be_utf8(standin: str, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"# Kundenliste M\xfcnchen (latin-1)\n79001234567\n  # caf\xe9\n")
    r = greenapi("avatars", str(ids), env=env_for(standin))
    assert r.returncode == 0, r.stderr
    assert [rec["chatId"] for rec in json_lines(r.stdout)] == ["79001234567"]


def test_a_bom_at_the_start_of_any_line_is_dropped(standin: str) -> None:
    # `cat a.txt b.txt |`: each file written by an editor that starts it with a BOM.
    stdin = "\ufeff79001234567\n\ufeff79001234568\r\n\ufeff# a comment\n"
    r = greenapi("avatars", env=env_for(standin), stdin=stdin)
    assert r.returncode == 0, r.stdout
    assert set(by_id(json_lines(r.stdout))) == {"79001234567", "79001234568"}


def test_a_line_is_split_on_newline_only(standin: str) -> None:
    r = greenapi("avatars", env=env_for(standin), stdin="79001234567\x0c79001234568\n")
    assert r.returncode == 1
    [record] = json_lines(r.stdout)
    assert record["chatId"] == "79001234567\x0c79001234568" and record["error"]["code"] == "invalid_argument"


def test_output_dash_is_stdout(standin: str, tmp_path: Path) -> None:
    r = greenapi("avatars", "--output", "-", env=env_for(standin), stdin="79001234567\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [rec["chatId"] for rec in json_lines(r.stdout)] == ["79001234567"]
    assert list(tmp_path.iterdir()) == []
    r = greenapi("avatars", "--output", "-", "--resume", env=env_for(standin), stdin="79001234567\n", cwd=tmp_path)
    assert r.returncode == 2 and "--resume" in r.stderr and r.stdout == ""
    assert list(tmp_path.iterdir()) == []


# ---- 19: the progress bar's rate ----------------------------------------------------------


def test_progress_rate_counts_requests_not_ids_that_finish_at_once(standin: str) -> None:
    # 300 refused ids and 100 copies come out at once; 15 requests paced at 10 a second take
    # about 1.5 s.
    valid = [f"7900400{i:04d}" for i in range(15)]
    lines = [f"not an id {i}" for i in range(300)] + valid + valid[:5] * 20
    status, _, screen = run_on_a_terminal(["avatars", "--rate-limit", "10"], env_for(standin), "\n".join(lines))
    assert status == 1, screen
    draws = re.findall(r"(\d+)/(\d+)[^\r]*? (\d+\.\d)/s ETA (\d+):(\d\d)", screen)
    assert draws, repr(screen)
    for _, _, rate, _, _ in draws:
        assert float(rate) <= 20, (rate, screen)
    # The first estimate is the pacing's, 15 requests at 10 a second; it was 0:00 when every
    # refused id counted.
    _, _, _, minutes, seconds = draws[0]
    assert 1 <= int(minutes) * 60 + int(seconds) <= 3, draws[0]


# ---- 20: names the user knows; a closed pipe; spreadsheet formulas ------------------------


@pytest.mark.parametrize(
    "args, extra, says, not_says",
    [
        (["--rate-limit", "nan"], {}, "--rate-limit", "rate_limit"),
        ([], {"GREEN_API_TOKEN": "short"}, "GREEN_API_TOKEN", "api_token_instance"),
        ([], {"GREEN_API_URL": "ftp://127.0.0.1"}, "GREEN_API_URL", "api_url"),
        ([], {"GREEN_API_URL": "http://192.0.2.1"}, "--allow-insecure-http", "allow_insecure_http"),
    ],
)
def test_messages_name_the_flag_or_variable(
    standin: str, args: List[str], extra: Dict[str, str], says: str, not_says: str
) -> None:
    r = greenapi("avatar", "79001234567", *args, env=env_for(standin, **extra))
    assert r.returncode == 2
    assert says in r.stderr and not_says not in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and TOKEN not in r.stderr


def test_a_reader_that_goes_away_ends_the_run_with_141(
    standin: str, stats: Callable[[], Dict[str, Any]], reset_stats: Callable[[], None]
) -> None:
    # `greenapi avatars ... | head -n 3`: 100 ids at 20 a second would take 5 s.
    reset_stats()
    proc = subprocess.Popen(
        [str(SCRIPT), "avatars", "--rate-limit", "20"], env=env_for(standin),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write("".join(f"7900500{i:04d}\n" for i in range(100)).encode())
    proc.stdin.close()
    try:
        for _ in range(3):
            assert proc.stdout.readline()
        proc.stdout.close()
        status = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert status == 141
    assert proc.stderr.read() == b""
    assert stats()["requests"] < 50


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(odd: OddService) -> None:
    ids = ["1002@c.us", "1003@c.us", "1004@c.us", "1005@c.us", "1006@c.us", "1007@c.us", "+1008", "=1+2@c.us",
           "-1@c.us", "@ 1", "+1009"]
    r = greenapi("avatars", "--format", "csv", "--max-retries", "0", env=odd_env(odd), stdin="\n".join(ids))
    assert r.returncode == 1, r.stderr
    got = {row["chatId"]: row for row in csv.DictReader(io.StringIO(r.stdout, newline=""))}
    assert got["1002@c.us"]["urlAvatar"] == "'" + ODD["1002@c.us"]["urlAvatar"]
    for chat_id in ["1003@c.us", "1004@c.us", "1005@c.us", "1006@c.us", "1007@c.us"]:
        assert got[chat_id]["reason"] == "'" + ODD[chat_id]["reason"], chat_id
    # A chat id from the user: quoted like any other cell, except a phone number, which a
    # spreadsheet reads as a number and which stays as typed.
    assert got["+1008"]["urlAvatar"] == "" and got["+1009"]["existsWhatsapp"] == "false"
    assert {"'=1+2@c.us", "'-1@c.us", "'@ 1"} <= set(got)
    assert got["'@ 1"]["error"] == "invalid_argument"
    # JSON keeps every value as the service sent it.
    r = greenapi("avatars", env=odd_env(odd), stdin="\n".join(ids))
    records = by_id(json_lines(r.stdout))
    assert records["1002@c.us"]["urlAvatar"] == ODD["1002@c.us"]["urlAvatar"]
    assert records["=1+2@c.us"]["reason"] is None


def test_resume_reads_a_quoted_chat_id_back(odd: OddService, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    ids = "=1+2@c.us\n'x@c.us\n+1010\n"
    r = greenapi("avatars", "--format", "csv", "--output", str(out), env=odd_env(odd), stdin=ids)
    assert r.returncode == 0, r.stderr
    before = odd.requests
    r = greenapi("avatars", "--format", "csv", "--output", str(out), "--resume", env=odd_env(odd), stdin=ids)
    assert r.returncode == 0, r.stderr
    assert odd.requests == before


# ---- 23: --help fits a terminal -----------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["avatars"], ["avatar"]], ids=["top", "avatars", "avatar"])
def test_help_fits_80_columns(standin: str, command: List[str]) -> None:
    r = greenapi(*command, "--help", env=env_for(standin, COLUMNS="80"))
    assert r.returncode == 0
    long = [line for line in r.stdout.splitlines() if len(line) > 80]
    assert long == []


# ---- the README and --help say what was decided -------------------------------------------


def test_readme_and_help_give_every_exit_status(standin: str) -> None:
    from greenapi import _cli

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Command line"):]
    section = section[: section.index("\n## ", 1)]
    statuses = {value for name, value in vars(_cli).items() if name.startswith("EXIT_")}
    assert statuses >= {0, 1, 2, 74, 130, 141, 143}
    help_text = greenapi("avatars", "--help", env=env_for(standin)).stdout
    for status in statuses:
        assert re.search(rf"\b{status}\b", section), status
        assert re.search(rf"\b{status}\b", help_text), status
    for words in ["SIGTERM", "No space left", "BOM", "UTF-8", "--output -", "'"]:
        assert words in section, words

