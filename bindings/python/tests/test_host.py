"""Living inside a host: Ctrl-C and other signals stop a call, close() and ``with`` stop a
client, and a Client made before a fork works in the children without mixing answers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN


def _signal_when(
    stats: Callable[[], Dict[str, Any]], requests: int, signum: int = signal.SIGINT
) -> threading.Thread:
    """Sends `signum` to this process once the stand-in has seen `requests` requests."""

    def fire() -> None:
        deadline = time.monotonic() + 20
        while stats()["requests"] < requests and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(os.getpid(), signum)

    t = threading.Thread(target=fire, daemon=True)
    t.start()
    return t


def _tasks() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.parametrize(
    "chat_id, options, requests",
    [
        # A slow answer: without a signal check it would wait out timeout=4 and two retries.
        ("slow-10000@c.us", {"timeout": 4, "max_retries": 2}, 1),
        # Between retries: every answer is a 503, ten retries allowed.
        ("status-503@c.us", {"max_retries": 10}, 2),
    ],
)
def test_ctrl_c_stops_a_waiting_call(
    make_client: Any,
    stats: Any,
    reset_stats: Any,
    chat_id: str,
    options: Dict[str, Any],
    requests: int,
) -> None:
    client = make_client(**options)
    reset_stats()
    tasks = _tasks()
    firing = _signal_when(stats, requests)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        client.get_avatar(chat_id)
    elapsed = time.monotonic() - started
    firing.join()
    # The signal came right after the request(s) arrived; the call's own end is seconds away.
    assert elapsed < 3, f"KeyboardInterrupt after {elapsed:.2f} s"
    assert stats()["requests"] == requests
    # The call ran on this thread and left nothing running behind it.
    assert _tasks() == tasks
    # The client is not stopped by an interrupted call.
    assert not client.closed
    assert client.get_avatar("79001234567").url_avatar


def test_ctrl_c_stops_a_pacing_wait(make_client: Any, stats: Any, reset_stats: Any) -> None:
    # One request per 100 s, paced alone: a turn another test's client took on the host
    # pacing would hold the first call back past its timeout (which covers the wait).
    client = make_client(rate_limit=0.01, pacing="process")
    reset_stats()
    client.get_avatar("79001234567")
    firing = _signal_when(stats, 1)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        client.get_avatar("79001234568")
    firing.join()
    assert time.monotonic() - started < 3
    assert stats()["requests"] == 1


class _Alarm(Exception):
    pass


def test_any_signal_handlers_exception_arrives(make_client: Any, stats: Any) -> None:
    def handler(signum: int, frame: Any) -> None:
        raise _Alarm()

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        client = make_client(timeout=8)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(_Alarm):
            client.get_avatar("slow-10000@c.us")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_close_stops_calls_on_other_threads(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(timeout=30)
    reset_stats()
    outcome: List[BaseException] = []

    def call() -> None:
        try:
            client.get_avatar("slow-30000@c.us")
        except BaseException as e:  # noqa: BLE001 - the test looks at whatever it was
            outcome.append(e)

    t = threading.Thread(target=call)
    t.start()
    deadline = time.monotonic() + 20
    while stats()["requests"] < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    client.close()
    t.join(10)
    assert not t.is_alive(), "close() did not stop the call"
    assert len(outcome) == 1
    e = outcome[0]
    assert isinstance(e, greenapi.CancelledError), repr(e)
    assert isinstance(e, greenapi.GreenApiError)
    assert e.code == "cancelled" and e.attempts == 1
    assert client.closed
    with pytest.raises(greenapi.CancelledError) as later:
        client.get_avatar("79001234567")
    assert later.value.attempts == 0
    assert stats()["requests"] == 1
    client.close()  # again: nothing more


def test_with_closes_the_client(make_client: Any) -> None:
    with make_client() as client:
        assert isinstance(client, greenapi.Client)
        assert client.get_avatar("79001234567").url_avatar
        assert not client.closed
    assert client.closed
    with pytest.raises(greenapi.CancelledError):
        client.get_avatar("79001234567")
    # An exception in the block goes on, and the client is closed all the same.
    with pytest.raises(ZeroDivisionError):
        with make_client() as other:
            raise ZeroDivisionError("in the block")
    assert other.closed


# ---- fork -------------------------------------------------------------------------------------

_CLIENT: Optional[greenapi.Client] = None


def _ask(chat_id: str) -> str:
    assert _CLIENT is not None
    return _CLIENT.get_avatar(chat_id).url_avatar


def _url(chat_id: str) -> str:
    return f"https://pps.whatsapp.net/v/stand-in/{chat_id}.jpg"


def test_a_client_made_before_fork_works_in_the_children(standin: str, stats: Any, reset_stats: Any) -> None:
    global _CLIENT
    _CLIENT = greenapi.Client(ID_INSTANCE, TOKEN, api_url=standin, proxy="", rate_limit=0)
    try:
        reset_stats()
        # The parent has a pooled keep-alive connection when it forks.
        assert _ask("79110000000@c.us") == _url("79110000000@c.us")
        ids = [f"7922{i:07d}@c.us" for i in range(200)]
        with multiprocessing.get_context("fork").Pool(4) as pool:
            pending = pool.map_async(_ask, ids, chunksize=5)
            # The parent keeps calling while the children do.
            mine = [f"7933{i:07d}@c.us" for i in range(50)]
            assert [_ask(c) for c in mine] == [_url(c) for c in mine]
            assert pending.get(60) == [_url(c) for c in ids]
        s = stats()
        assert s["requests"] == 1 + len(ids) + 50
        # The parent kept its own connection; each child opened its own (at most 4).
        assert 2 <= s["connections"] <= 5, s
    finally:
        _CLIENT = None


def test_ctrl_c_goes_to_the_main_thread_not_to_a_workers_call(make_client: Any, stats: Any, reset_stats: Any) -> None:
    # Python runs signal handlers on the main thread: a worker's call goes on to its answer.
    client = make_client(timeout=10)
    reset_stats()
    result: List[Any] = []
    worker = threading.Thread(target=lambda: result.append(client.get_avatar("slow-800@c.us")))
    worker.start()
    firing = _signal_when(stats, 1)
    with pytest.raises(KeyboardInterrupt):
        time.sleep(5)
    firing.join()
    worker.join(10)
    assert len(result) == 1 and isinstance(result[0], greenapi.Avatar)
