"""Client.download_avatar / save_avatar (and AsyncClient's), Avatar.expires_at, against the CDN
stand-in (HTTPS with its own CA, trusted through ca_file) and a GetAvatar stand-in whose links
point at it."""

from __future__ import annotations

import asyncio
import datetime
import os
import pickle
from pathlib import Path
from typing import Any, Callable

import pytest

import greenapi
from conftest import TOKEN, Cdn

JPEG = b"\xff\xd8\xff"
PNG = b"\x89PNG\r\n\x1a\n"


def test_expires_at_is_read_from_the_link(cdn_client: Callable[..., Any]) -> None:
    with cdn_client() as c:
        a = c.get_avatar("79001234567")
        now = datetime.datetime.now(datetime.timezone.utc)
        assert a.expires_at is not None and a.expires_at.tzinfo is not None
        assert now + datetime.timedelta(days=6) < a.expires_at < now + datetime.timedelta(days=8)
        assert c.get_avatar("noavatar@c.us").expires_at is None
        assert c.get_avatar("expiredlink-1@c.us").expires_at < now
    # From the URL alone, so a copy or a pickle has it too.
    made = greenapi.Avatar(url_avatar="https://pps.whatsapp.net/x.jpg?oe=6592A1B0")
    assert made.expires_at == datetime.datetime.fromtimestamp(0x6592A1B0, datetime.timezone.utc)
    assert pickle.loads(pickle.dumps(made)).expires_at == made.expires_at
    assert greenapi.Avatar(url_avatar="https://h/x?oe=zz").expires_at is None


def test_pictures_by_avatar_or_url(cdn_client: Callable[..., Any], cdn: Cdn) -> None:
    with cdn_client() as c:
        a = c.get_avatar("79001234567@c.us")
        assert c.download_avatar(a).startswith(JPEG)
        assert c.download_avatar(a.url_avatar).startswith(JPEG)
        assert c.download_avatar(cdn.url + "/img/x.png").startswith(PNG)
        assert c.download_avatar(cdn.url + "/img/x.webp")[8:12] == b"WEBP"
        with pytest.raises(TypeError):
            c.download_avatar(5)


@pytest.mark.parametrize("route,error,says", [
    ("/expired", greenapi.ExpiredError, "URL signature expired"),
    ("/gone", greenapi.ExpiredError, "410"),
    ("/html", greenapi.BadResponseError, "text/html"),
    ("/mislabelled", greenapi.BadResponseError, "image/png"),
    ("/redirect/evil", greenapi.HttpStatusError, "evil.example"),
    ("/reset", greenapi.TransportError, ""),
])
def test_faults(cdn_client: Callable[..., Any], cdn: Cdn, route: str, error: type, says: str) -> None:
    with cdn_client() as c, pytest.raises(error) as e:
        c.download_avatar(cdn.url + route)
    assert says in str(e.value)


def test_expired_links_are_not_even_asked_and_the_cap_holds(
        cdn_client: Callable[..., Any], cdn: Cdn) -> None:
    with cdn_client(max_download_bytes=1000) as c:
        old = c.get_avatar("expiredlink-2@c.us")
        before = cdn.stats()["requests"]
        with pytest.raises(greenapi.ExpiredError) as e:
            c.download_avatar(old)
        assert e.value.code == "expired" and e.value.attempts == 0
        assert cdn.stats()["requests"] == before
        with pytest.raises(greenapi.BadResponseError) as big:
            c.download_avatar(cdn.url + "/huge")
        assert big.value.code == "body_too_large"
        with pytest.raises(greenapi.InvalidArgumentError):
            c.download_avatar(c.get_avatar("noavatar@c.us"))
    with cdn_client(download_hosts=None) as plain, pytest.raises(greenapi.InvalidArgumentError):
        plain.download_avatar(cdn.url + "/img/x.jpg")


def test_options_are_checked() -> None:
    for bad in ({"download_hosts": ["a/b"]}, {"max_download_bytes": 0},
                {"max_download_bytes": 1 << 40}):
        with pytest.raises(greenapi.InvalidArgumentError):
            greenapi.Client("1101000001", TOKEN, **bad)
    for wrong in ({"download_hosts": "127.0.0.1"}, {"download_hosts": [1]}):
        with pytest.raises(TypeError):
            greenapi.Client("1101000001", TOKEN, **wrong)


def test_save_replaces_a_planted_symlink(cdn_client: Callable[..., Any], cdn: Cdn, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    stem = greenapi.file_stem("79001234567@c.us")
    assert stem == "79001234567@c.us"
    os.symlink(victim, pictures / f"{stem}.jpg")
    with cdn_client() as c:
        saved = c.save_avatar(c.get_avatar("79001234567@c.us"), pictures / stem)
        assert saved == pictures / "79001234567@c.us.jpg"
        assert not saved.is_symlink() and saved.read_bytes().startswith(JPEG)
        assert victim.read_text() == "precious"
        assert c.save_avatar(cdn.url + "/img/p.png", str(pictures / "p")).suffix == ".png"
        with pytest.raises(greenapi.BadResponseError):
            c.save_avatar(cdn.url + "/html", pictures / "nothing")
    assert sorted(p.name for p in pictures.iterdir()) == ["79001234567@c.us.jpg", "p.png"]
    assert greenapi.file_stem("../../etc/passwd") == "_._.._etc_passwd"


def test_the_token_never_reaches_the_cdn(cdn_client: Callable[..., Any], cdn: Cdn) -> None:
    with cdn_client() as c:
        for chat in ("79001234567", "cdnfault-expired-3@c.us", "cdnfault-html-3@c.us"):
            try:
                c.download_avatar(c.get_avatar(chat))
            except greenapi.GreenApiError:
                pass
    seen = cdn.requests()
    assert seen, "the CDN saw nothing"
    text = repr(seen)
    # No 10 characters of it in a row (shorter runs of its digits are in the chat ids).
    for i in range(len(TOKEN) - 9):
        assert TOKEN[i:i + 10] not in text
    names = {name.lower() for r in seen for name, _ in r["headers"]}
    assert "content-type" not in names and "authorization" not in names


def test_async_client(cdn_standin: str, cdn: Cdn, tmp_path: Path) -> None:
    async def main() -> None:
        async with greenapi.AsyncClient("1101000001", TOKEN, api_url=cdn_standin, proxy="",
                                        rate_limit=0, pacing="process", ca_file=cdn.ca_file,
                                        download_hosts=("127.0.0.1",)) as c:
            a = await c.get_avatar("79001234567")
            assert (await c.download_avatar(a)).startswith(JPEG)
            saved = await c.save_avatar(a, tmp_path / "a")
            assert saved.name == "a.jpg"
            with pytest.raises(greenapi.ExpiredError):
                await c.download_avatar(await c.get_avatar("expiredlink-4@c.us"))
            # Cancelled with its task: the slow body is interrupted, not waited for.
            task = asyncio.ensure_future(c.download_avatar(cdn.url + "/slow?ms=60000"))
            while not any("/slow?ms=60000" in r["line"] for r in cdn.requests()):
                await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())


def readme_block(name: str, lang: str) -> str:
    import re

    from conftest import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- {name} -->\s*```{lang}\n(.*?)```\s*<!-- /{name} -->", text, re.S)
    assert m, f"README.md has no <!-- {name} --> block"
    return m.group(1)


def readme_env(cdn_standin: str, cdn: Cdn) -> dict:
    from conftest import ID_INSTANCE, clean_env

    env = clean_env()
    env.update(GREEN_API_ID_INSTANCE=ID_INSTANCE, GREEN_API_TOKEN=TOKEN, GREEN_API_URL=cdn_standin,
               GREEN_API_CA_FILE=str(cdn.ca_file), GREEN_API_DOWNLOAD_HOSTS="127.0.0.1")
    return env


def test_readme_python_download_snippet_runs(cdn_standin: str, cdn: Cdn, tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", readme_block("example-python-download", "python")],
                       cwd=str(tmp_path), env=readme_env(cdn_standin, cdn), capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("works until 20") and lines[1] == "159 bytes", lines
    assert lines[2].endswith("avatars/79001234567@c.us.jpg")
    assert sorted(lines[3:]) == ["79001234568 79001234568@c.us.jpg", "hidden@lid hidden"]
    assert (tmp_path / "avatars" / "79001234568@c.us.jpg").read_bytes().startswith(JPEG)


def test_readme_cli_download_snippet_runs(cdn_standin: str, cdn: Cdn, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    env = readme_env(cdn_standin, cdn)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_block("example-cli-download", "sh")],
                       cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    records = [json.loads(line) for line in (tmp_path / "avatars.jsonl").read_text().splitlines()]
    # The --resume run found everything done: three records, not six.
    assert {rec["chatId"]: rec.get("picture") or rec["pictureMissing"] for rec in records} == {
        "79001234567": "79001234567@c.us.jpg",
        "120363043968066561@g.us": "120363043968066561@g.us.jpg",
        "hidden@lid": "hidden",
    }
    assert len(records) == 3
    assert json.loads(r.stdout.splitlines()[-1])["picture"] == "79001234567@c.us.jpg"
    assert sorted(p.name for p in (tmp_path / "avatars").iterdir()) == [
        "120363043968066561@g.us.jpg", "79001234567@c.us.jpg"]
