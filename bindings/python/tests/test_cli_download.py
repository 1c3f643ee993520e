"""`greenapi avatars FILE --download DIR` and `greenapi avatar ID --download DIR`: pictures
saved as their links arrive, each record naming its file or why there is none; a run killed
with SIGKILL half-way, then --resume: no half picture under a final name, and only what is
missing asked again, counted at both stand-ins."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List

import conftest
from conftest import ID_INSTANCE, TOKEN, Cdn, clean_env
from test_cli import SCRIPT, greenapi, json_lines

JPEG = b"\xff\xd8\xff"


def env_for(standin: str, cdn: Cdn) -> Dict[str, str]:
    env = clean_env()
    env.update(GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN=TOKEN, GREEN_API_URL=standin,
               GREEN_API_CA_FILE=str(cdn.ca_file), GREEN_API_DOWNLOAD_HOSTS="127.0.0.1")
    return env


def standin_stats(standin: str) -> Dict[str, Any]:
    return conftest._call(standin + "/__stats", "GET")


def standin_reset(standin: str) -> None:
    conftest._call(standin + "/__reset_stats", "POST")


def mixed_ids() -> List[str]:
    persons = [f"7900200{i:04d}" for i in range(150)]
    none = [f"none-{i}@c.us" for i in range(20)]
    expired = [f"expiredlink-{i}@c.us" for i in range(20)]
    refused = [f"cdnfault-html-{i}@c.us" for i in range(8)]
    ids = persons + none + ["hidden@lid", "status-500@c.us"] + expired + refused
    assert len(ids) == 200
    return ids


def check_pictures(directory: Path) -> None:
    """Every file under a final name is a whole picture; only temporary files may be partial."""
    for p in directory.iterdir():
        if p.name.startswith("."):
            assert p.name.endswith(".part"), p.name
            continue
        data = p.read_bytes()
        assert p.suffix == ".jpg" and data.startswith(JPEG) and data.endswith(b"\xff\xd9"), p.name


def test_download_killed_half_way_then_resumed(cdn_standin: str, cdn: Cdn, tmp_path: Path) -> None:
    ids = mixed_ids()
    source = tmp_path / "ids.txt"
    source.write_text("\n".join(ids) + "\n")
    out = tmp_path / "out.jsonl"
    pictures = tmp_path / "pictures"
    env = env_for(cdn_standin, cdn)
    common = ["--output", str(out), "--download", str(pictures), "--max-retries", "0"]
    proc = subprocess.Popen([str(SCRIPT), "avatars", str(source), *common, "--rate-limit", "40",
                             "--max-in-flight", "2"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not out.exists() or out.read_bytes().count(b"\n") < 60:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no 60 records within 120 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check_pictures(pictures)
    first = [json.loads(line) for line in out.read_text().split("\n")[:-1]]
    assert 60 <= len(first) < len(ids)

    def is_done(r: Dict[str, Any]) -> bool:
        if "error" in r:
            return False
        if r.get("picture"):
            return (pictures / r["picture"]).is_file()
        return r.get("pictureMissing") in ("no_avatar", "hidden")

    done = {r["chatId"] for r in first if is_done(r)}
    todo = [i for i in ids if i not in done]
    standin_reset(cdn_standin)
    cdn.reset()
    r = greenapi("avatars", str(source), *common, "--resume", "--rate-limit", "0", env=env)
    assert r.returncode == 1, r.stderr  # status-500@c.us fails
    # Only what was missing is asked: each expired link once more, and the CDN only for the
    # pictures that could be fetched (an expired link is not even asked).
    expired = [i for i in todo if i.startswith("expiredlink-")]
    assert standin_stats(cdn_standin)["requests"] == len(todo) + len(expired)
    fetchable = [i for i in todo if i[0].isdigit() or i.startswith("cdnfault-")]
    assert cdn.stats()["requests"] == len(fetchable)

    records: Dict[str, Dict[str, Any]] = {}
    for rec in json_lines(out.read_text()):
        records[rec["chatId"]] = rec  # a later record of an id replaces an earlier one
    assert set(records) == set(ids)
    for chat_id, rec in records.items():
        if chat_id[0].isdigit():
            assert rec["picture"] == f"{chat_id}@c.us.jpg", rec
            assert (pictures / rec["picture"]).read_bytes().startswith(JPEG)
        elif chat_id.startswith("none-"):
            assert rec["picture"] is None and rec["pictureMissing"] == "no_avatar"
        elif chat_id == "hidden@lid":
            assert rec["pictureMissing"] == "hidden"
        elif chat_id.startswith("expiredlink-"):
            assert rec["pictureMissing"] == "expired"
        elif chat_id.startswith("cdnfault-"):
            assert rec["pictureMissing"] == "refused"
        else:
            assert rec["error"]["code"] == "server_error" and rec["pictureMissing"] == "error"
    check_pictures(pictures)
    # A second --resume asks nothing at all but the ids that cannot be done.
    standin_reset(cdn_standin)
    again = greenapi("avatars", str(source), *common, "--resume", "--rate-limit", "0", env=env)
    assert again.returncode == 1
    stubborn = 1 + 2 * 20 + 8  # status-500, each expired id twice, each refused once
    assert standin_stats(cdn_standin)["requests"] == stubborn


def test_avatar_one_chat_id_with_download(cdn_standin: str, cdn: Cdn, tmp_path: Path) -> None:
    env = env_for(cdn_standin, cdn)
    r = greenapi("avatar", "79001234567", "--download", str(tmp_path / "one"), env=env)
    assert r.returncode == 0, r.stderr
    [rec] = json_lines(r.stdout)
    assert rec["picture"] == "79001234567@c.us.jpg" and rec["pictureMissing"] is None
    assert (tmp_path / "one" / "79001234567@c.us.jpg").read_bytes().startswith(JPEG)
    r = greenapi("avatar", "expiredlink-9@c.us", "--download", str(tmp_path / "one"),
                 "--format", "csv", env=env)
    assert r.returncode == 0, r.stderr
    header, row = r.stdout.splitlines()
    assert header.endswith(",picture,pictureMissing") and row.endswith(",,expired")
