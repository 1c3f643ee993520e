"""What real hosts do to a batch or an AsyncClient: fork with one alive (multiprocessing,
gunicorn's preload), close an iterator from a signal handler (graceful shutdown), break out of a
loop, start a batch from an event loop. Each of these hung, crashed or leaked requests once."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN

HERE = Path(__file__).resolve().parent


def _wait_child(pid: int) -> int:
    """The child's exit status; a child that was killed (the alarm it set) fails the test."""
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), f"the child hung or crashed: signal {os.WTERMSIG(status)}"
    return os.WEXITSTATUS(status)


def test_an_iterator_inherited_across_fork_ends_at_once_in_the_child(
    make_client: Any, stats: Any, reset_stats: Any
) -> None:
    client = make_client(max_in_flight=2, timeout=10)
    ids = [f"slow-{300 + i}@c.us" for i in range(10)]
    it = client.iter_avatars(ids)
    first = next(it)
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            signal.alarm(10)
            rest = list(it)
            it.close()
            ok = len(rest) == 9 and all(isinstance(r, greenapi.CancelledError) for _, r in rest)
            code = 0 if ok else 1
        except BaseException:  # noqa: BLE001 - the parent sees the exit status
            code = 2
        finally:
            os._exit(code)
    assert _wait_child(pid) == 0, "1: not 9 cancellations; 2: an exception (a PanicException)"
    # The parent's batch goes on.
    assert isinstance(first[1], greenapi.Avatar)
    rest = list(it)
    assert len(rest) == 9 and all(isinstance(r, greenapi.Avatar) for _, r in rest)


_CLOSE_FROM_A_HANDLER = """
import signal, sys
import greenapi
# 8 at a time: the 40 slow ids take 2 s, and the alarm comes while next() waits.
client = greenapi.Client({id!r}, {token!r}, api_url={url!r}, proxy="", rate_limit=0, timeout=10,
                         max_in_flight=8)
it = client.iter_avatars([f"slow-{{400 + i}}@c.us" for i in range(40)])
signal.signal(signal.SIGALRM, lambda *_: it.close())
signal.setitimer(signal.ITIMER_REAL, 0.5)
got = sum(1 for _ in it)
print("ended after", got)
"""


def test_a_signal_handler_may_close_the_iterator_it_interrupts(standin: str) -> None:
    script = _CLOSE_FROM_A_HANDLER.format(id=ID_INSTANCE, token=TOKEN, url=standin)
    try:
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the iterator's close() in a signal handler deadlocked next()")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ended after "), out.stdout
    # The handler fired half-way: some results came, not all 40.
    assert int(out.stdout.split()[-1]) < 40


def test_with_stops_the_batch_when_the_loop_breaks(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(rate_limit=50)
    reset_stats()
    ids = [f"7944{i:07d}@c.us" for i in range(200)]
    with client.iter_avatars(ids) as it:
        for _ in it:
            break
        held = it  # a variable holds it past the break: only the block's end stops it
    sent = stats()["requests"]
    time.sleep(0.5)
    # Nothing more went out once the block ended (at 50/s, 0.5 s would be 25 requests).
    assert stats()["requests"] == sent
    assert sent < 20, sent
    assert list(held) == []


_ASYNC: Optional[greenapi.AsyncClient] = None


def _ask_async(chat_id: str) -> str:
    assert _ASYNC is not None
    client = _ASYNC

    async def one() -> str:
        return (await asyncio.wait_for(client.get_avatar(chat_id), 20)).url_avatar

    return asyncio.run(one())


def test_an_async_client_used_before_fork_works_in_the_children(standin: str) -> None:
    global _ASYNC
    _ASYNC = greenapi.AsyncClient(ID_INSTANCE, TOKEN, api_url=standin, proxy="", rate_limit=0)
    try:
        # The parent's worker threads exist when it forks.
        assert _ask_async("79550000000@c.us").endswith("79550000000@c.us.jpg")
        ids = [f"7955{i:07d}@c.us" for i in range(20)]
        with multiprocessing.get_context("fork").Pool(2) as pool:
            urls: List[str] = pool.map_async(_ask_async, ids).get(60)
        assert [u.rsplit("/", 1)[-1] for u in urls] == [f"{c}.jpg" for c in ids]
    finally:
        _ASYNC = None


def test_an_async_batch_converts_its_ids_off_the_loop(standin: str) -> None:
    async def main() -> None:
        async with greenapi.AsyncClient(ID_INSTANCE, TOKEN, api_url=standin, proxy="", rate_limit=0) as client:
            # Not converted here, on the loop's thread: the entry's TypeError comes at the
            # first step, from the thread that builds the batch.
            it = client.iter_avatars(["79001234567", 5])  # type: ignore[list-item]
            assert it.total == 2
            with pytest.raises(TypeError):
                await it.__anext__()
            await it.aclose()
            # A str or a non-iterable is still refused at once.
            with pytest.raises(TypeError):
                client.iter_avatars("79001234567")
            with pytest.raises(TypeError):
                client.iter_avatars(5)  # type: ignore[arg-type]
            results = await client.get_avatars(["79001234567", "not a chat id"])
            assert isinstance(results[0], greenapi.Avatar)
            assert isinstance(results[1], greenapi.InvalidArgumentError)

    asyncio.run(main())
