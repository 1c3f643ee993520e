"""Many chat ids at once with the threaded API: Client.get_avatars (all results, in input order)
and Client.iter_avatars (each result as it completes), their stopping (an exception from
progress, breaking out of the loop, close(), Ctrl-C), and no thread left behind."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Set, Tuple

import pytest

import greenapi
from conftest import TOKEN


def _tasks() -> Set[str]:
    """This process's threads. A test compares them before and after: a thread that ended
    meanwhile (one of an earlier test's, or asyncio's) is fine, a new one still there is not."""
    return set(os.listdir("/proc/self/task"))


def _signal_when(stats: Callable[[], Dict[str, Any]], requests: int) -> threading.Thread:
    """Sends SIGINT to this process once the stand-in has seen `requests` requests."""

    def fire() -> None:
        deadline = time.monotonic() + 20
        while stats()["requests"] < requests and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=fire, daemon=True)
    t.start()
    return t


def _slow_ids(n: int, ms: int) -> List[str]:
    """`n` distinct chat ids the stand-in answers after about `ms` ms (distinct: a batch asks
    equal ids once)."""
    return [f"slow-{ms + i}@c.us" for i in range(n)]


MIXED = [
    "79001234567@c.us",
    "79001234567",  # the same chat as the first, after normalisation
    "",  # refused: empty
    "120363043968066561@g.us",
    "status-500@c.us",  # the server fails this one
    "not a chat id",  # refused: malformed
    "badchat@c.us",  # an answer saying the service could not check
    "+79001234567",  # the first chat again
    "120650379300963@lid",
]


def _check_mixed(results: List[Any]) -> None:
    assert len(results) == len(MIXED)
    first = results[0]
    assert isinstance(first, greenapi.Avatar)
    assert first.url_avatar == "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg"
    assert results[1] == first and results[7] == first
    for i in (2, 5):
        assert isinstance(results[i], greenapi.InvalidArgumentError), results[i]
        assert results[i].code == "invalid_argument" and results[i].attempts == 0
    assert isinstance(results[3], greenapi.Avatar) and results[3].available is True
    assert isinstance(results[4], greenapi.ServerError), results[4]
    assert results[4].http_status == 500 and results[4].code == "server_error"
    assert isinstance(results[6], greenapi.Avatar) and results[6].reason == "bad request data"
    assert results[8].url_avatar.endswith("/120650379300963@lid.jpg")
    for r in results:
        assert TOKEN not in repr(r) and TOKEN not in str(r)


def test_get_avatars_in_input_order_each_entry_its_own_result(
    make_client: Any, stats: Any, reset_stats: Any
) -> None:
    client = make_client()
    reset_stats()
    results = client.get_avatars(MIXED)
    _check_mixed(results)
    # Three spellings of one chat asked once; the two refused ids never sent.
    assert stats()["requests"] == 5


def test_get_avatars_takes_any_iterable_and_an_empty_one(make_client: Any) -> None:
    client = make_client()
    assert client.get_avatars([]) == []
    assert client.get_avatars(iter(())) == []
    got = client.get_avatars(i for i in ("79001234567", "120650379300963@lid"))
    assert [a.url_avatar.rsplit("/", 1)[1] for a in got] == [
        "79001234567@c.us.jpg",
        "120650379300963@lid.jpg",
    ]


@pytest.mark.parametrize("bad", [None, 5, ["79001234567", 5], ["79001234567", None], "79001234567"])
def test_get_avatars_refuses_what_is_not_an_iterable_of_str(
    make_client: Any, stats: Any, reset_stats: Any, bad: Any
) -> None:
    client = make_client()
    reset_stats()
    with pytest.raises(TypeError):
        client.get_avatars(bad)
    with pytest.raises(TypeError):
        client.iter_avatars(bad)
    assert stats()["requests"] == 0


def test_progress_is_called_as_results_arrive(make_client: Any) -> None:
    client = make_client()
    calls: List[Tuple[int, int, str]] = []
    ids = [f"7900000{i:04}" for i in range(30)]
    client.get_avatars(ids, progress=lambda done, total: calls.append((done, total, threading.current_thread().name)))
    assert [(d, t) for d, t, _ in calls] == [(i, 30) for i in range(1, 31)]
    # With the GIL, on the calling thread.
    assert {name for _, _, name in calls} == {threading.current_thread().name}


class _Enough(Exception):
    pass


def test_an_exception_in_progress_stops_the_batch_and_propagates(
    make_client: Any, stats: Any, reset_stats: Any
) -> None:
    client = make_client(max_in_flight=2, timeout=30)
    reset_stats()
    tasks = _tasks()
    seen: List[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        raise _Enough()

    started = time.monotonic()
    with pytest.raises(_Enough):
        client.get_avatars(["79001234567"] + _slow_ids(40, 5000), progress=progress)
    elapsed = time.monotonic() - started
    assert seen == [1]
    # Aborted: the two requests in flight were interrupted, not waited for (5 s each).
    assert elapsed < 3, elapsed
    # Of 41 ids, only the first and those the two workers had started were asked.
    assert stats()["requests"] <= 4
    assert _tasks() - tasks == set()
    # The client goes on.
    assert client.get_avatar("79001234567").url_avatar


def test_progress_must_be_callable(make_client: Any) -> None:
    with pytest.raises(TypeError):
        make_client().get_avatars(["79001234567"], progress=5)


def test_get_avatars_on_a_closed_client_cancels_every_entry(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client()
    client.close()
    reset_stats()
    results = client.get_avatars(["79001234567", "nope", "120650379300963@lid"])
    assert isinstance(results[0], greenapi.CancelledError) and results[0].code == "cancelled"
    assert isinstance(results[1], greenapi.InvalidArgumentError)
    assert isinstance(results[2], greenapi.CancelledError)
    assert stats()["requests"] == 0


def test_iter_avatars_yields_every_entry_with_its_chat_id(make_client: Any) -> None:
    client = make_client()
    it = client.iter_avatars(MIXED)
    assert iter(it) is it
    pairs = list(it)
    assert sorted(chat_id for chat_id, _ in pairs) == sorted(MIXED)
    by_id: Dict[str, Any] = {}
    for chat_id, result in pairs:
        by_id.setdefault(chat_id, result)
    _check_mixed([by_id[c] for c in MIXED])
    with pytest.raises(StopIteration):
        next(it)


def test_iter_avatars_yields_as_results_complete(make_client: Any) -> None:
    client = make_client(max_in_flight=4)
    # The slow one was asked first and comes out last.
    order = [chat_id for chat_id, _ in client.iter_avatars(["slow-800@c.us", "79001234567", "79001234568"])]
    assert order[-1] == "slow-800@c.us"


def test_breaking_out_of_iter_avatars_stops_the_batch(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(max_in_flight=4, timeout=30)
    reset_stats()
    tasks = _tasks()
    started = time.monotonic()
    for chat_id, result in client.iter_avatars(["79001234567"] + _slow_ids(50, 3000)):
        assert chat_id == "79001234567" and isinstance(result, greenapi.Avatar)
        break
    elapsed = time.monotonic() - started
    # The loop let go of the iterator: its batch was aborted and its workers joined.
    assert _tasks() - tasks == set()
    # The requests in flight (3 s each) were interrupted, not waited for.
    assert elapsed < 2.5, elapsed
    assert stats()["requests"] <= 5


def test_close_stops_iter_avatars(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(max_in_flight=2, timeout=30)
    reset_stats()
    tasks = _tasks()
    it = client.iter_avatars(["79001234567"] + _slow_ids(20, 3000))
    assert next(it)[0] == "79001234567"
    assert it.total == 21 and it.done == 1
    it.close()
    assert _tasks() - tasks == set()
    with pytest.raises(StopIteration):
        next(it)
    it.close()  # again: nothing more
    assert stats()["requests"] <= 3


def test_ctrl_c_during_get_avatars(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(max_in_flight=3, timeout=30)
    reset_stats()
    tasks = _tasks()
    firing = _signal_when(stats, 1)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        client.get_avatars(_slow_ids(30, 5000))
    elapsed = time.monotonic() - started
    firing.join()
    # The requests take 5 s each; the interrupt came right after the first arrived.
    assert elapsed < 3, elapsed
    assert _tasks() - tasks == set()
    assert stats()["requests"] <= 3
    assert client.get_avatar("79001234567").url_avatar


def test_ctrl_c_during_iter_avatars(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(max_in_flight=3, timeout=30)
    reset_stats()
    tasks = _tasks()
    got: List[str] = []
    firing = _signal_when(stats, 2)
    with pytest.raises(KeyboardInterrupt):
        for chat_id, _ in client.iter_avatars(["79001234567"] + _slow_ids(30, 5000)):
            got.append(chat_id)
    firing.join()
    assert got == ["79001234567"]
    assert _tasks() - tasks == set()
    assert stats()["requests"] <= 4


def test_max_in_flight_bounds_a_batch(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(max_in_flight=5)
    reset_stats()
    results = client.get_avatars(_slow_ids(30, 100))
    assert all(isinstance(r, greenapi.Avatar) for r in results)
    assert stats()["max_in_flight"] == 5
