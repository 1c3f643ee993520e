"""A hostile review of the dispatcher (issue 16) from Python: what a user does without meaning
harm (a progress callback that calls the client again, an iterable that raises midway, a loop
body slower than the dispatcher's idle time). Counted at the stand-in and in /proc/self/task,
never timed: a sleep only makes a state last."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any, Iterator, List, Set

import pytest

import greenapi


def _ids(n: int, prefix: str) -> List[str]:
    return [f"{prefix}{i:07d}@c.us" for i in range(n)]


def _tasks() -> Set[str]:
    return set(os.listdir("/proc/self/task"))


def test_a_progress_callback_that_calls_the_client_again(make_client: Any, stats: Any, reset_stats: Any) -> None:
    # The callback makes a single call on the same thread while the batch is held back by
    # its results waiting: the call gets its turn, the batch goes on, every entry once.
    client = make_client(max_in_flight=4)
    reset_stats()
    singles: List[Any] = []

    def progress(done: int, total: int) -> None:
        if done % 50 == 0:
            singles.append(client.get_avatar(f"7991{done:07d}@c.us"))

    ids = _ids(300, "7990")
    results = client.get_avatars(ids, progress=progress)
    assert len(results) == 300
    assert all(isinstance(r, greenapi.Avatar) for r in results)
    assert len(singles) == 6
    assert stats()["requests"] == 306


def test_an_iterable_that_raises_midway_sends_nothing_and_leaves_no_thread(
    make_client: Any, stats: Any, reset_stats: Any
) -> None:
    client = make_client(max_in_flight=8)
    reset_stats()
    before = _tasks()

    def ids() -> Iterator[str]:
        yield from _ids(100, "7992")
        raise RuntimeError("the source of ids broke")

    with pytest.raises(RuntimeError, match="the source of ids broke"):
        client.get_avatars(ids())
    with pytest.raises(RuntimeError, match="the source of ids broke"):
        client.iter_avatars(ids())
    assert stats()["requests"] == 0
    assert not (_tasks() - before)
    # The client still works afterwards.
    assert isinstance(client.get_avatar("79920000001"), greenapi.Avatar)


def test_a_loop_body_slower_than_the_idle_time_still_gets_every_result(
    make_client: Any, stats: Any, reset_stats: Any
) -> None:
    # A for body that takes longer than the dispatcher's idle time (10 s) while results wait:
    # the batch goes on once the body is done (it stalled for good before the fix).
    client = make_client(max_in_flight=8)
    reset_stats()
    seen = 0
    # A stall shows as a Ctrl-C (the iterator's wait looks at signals), not as a hung suite.
    watchdog = threading.Timer(60, os.kill, (os.getpid(), signal.SIGINT))
    watchdog.start()
    try:
        with client.iter_avatars(_ids(400, "7993")) as it:
            for _ in it:
                seen += 1
                if seen == 1:
                    time.sleep(11)
    except KeyboardInterrupt:
        pytest.fail(f"the batch stalled after {seen} results")
    finally:
        watchdog.cancel()
    assert seen == 400
    assert stats()["requests"] == 400
