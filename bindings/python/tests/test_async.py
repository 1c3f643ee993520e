"""greenapi.AsyncClient: the asyncio API. The loop is never blocked, cancelling the awaiting
task cancels the request, and at most max_in_flight requests are in flight however many tasks
await at once."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from typing import Any, List, Set, Tuple

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN


def _tasks() -> Set[str]:
    """This process's threads. A test compares them before and after: a thread that ended
    meanwhile (one of an earlier test's, or asyncio's) is fine, a new one still there is not."""
    return set(os.listdir("/proc/self/task"))


def test_same_constructor_as_client() -> None:
    def shape(cls: Any) -> List[Tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert shape(greenapi.AsyncClient) == shape(greenapi.Client)
    with pytest.raises(greenapi.InvalidArgumentError):
        greenapi.AsyncClient(ID_INSTANCE, TOKEN, max_in_flight=0)
    with pytest.raises(TypeError):
        greenapi.AsyncClient(ID_INSTANCE, TOKEN, timeout="1")


def test_repr_never_shows_the_token(make_async: Any) -> None:
    client = make_async()
    assert TOKEN not in repr(client)
    assert repr(client).startswith(f"AsyncClient(id_instance='{ID_INSTANCE}', host='127.0.0.1'")
    assert client.id_instance == ID_INSTANCE and client.host == "127.0.0.1"


def test_get_avatar(make_async: Any) -> None:
    async def main() -> None:
        async with make_async() as client:
            avatar = await client.get_avatar("79001234567")
            assert avatar.url_avatar == "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg"
            with pytest.raises(greenapi.ServerError) as e:
                await client.get_avatar("status-500@c.us")
            assert e.value.http_status == 500
            with pytest.raises(greenapi.InvalidArgumentError):
                await client.get_avatar("not a chat id")
            with pytest.raises(TypeError):
                await client.get_avatar(5)  # type: ignore[arg-type]

    asyncio.run(main())


def test_async_with_and_aclose(make_async: Any) -> None:
    async def main() -> greenapi.AsyncClient:
        async with make_async() as client:
            assert isinstance(client, greenapi.AsyncClient)
            assert not client.closed
        assert client.closed
        with pytest.raises(greenapi.CancelledError):
            await client.get_avatar("79001234567")
        other = make_async()
        await other.get_avatar("79001234567")
        await other.aclose()
        await other.aclose()  # again: nothing more
        assert other.closed
        return other

    asyncio.run(main())


def test_get_avatars_in_input_order(make_async: Any, stats: Any, reset_stats: Any) -> None:
    ids = ["79001234567@c.us", "79001234567", "", "status-500@c.us", "120650379300963@lid"]
    calls: List[Tuple[int, int]] = []

    async def main() -> List[Any]:
        async with make_async() as client:
            return await client.get_avatars(ids, progress=lambda d, t: calls.append((d, t)))

    reset_stats()
    results = asyncio.run(main())
    assert isinstance(results[0], greenapi.Avatar) and results[1] == results[0]
    assert isinstance(results[2], greenapi.InvalidArgumentError)
    assert isinstance(results[3], greenapi.ServerError)
    assert results[4].url_avatar.endswith("/120650379300963@lid.jpg")
    assert calls == [(i, 5) for i in range(1, 6)]
    assert stats()["requests"] == 3


def test_async_for_over_iter_avatars(make_async: Any) -> None:
    ids = ["slow-600@c.us", "79001234567", "nope", "120650379300963@lid"]

    async def main() -> List[Tuple[str, Any]]:
        async with make_async(max_in_flight=4) as client:
            return [pair async for pair in client.iter_avatars(ids)]

    pairs = asyncio.run(main())
    assert sorted(c for c, _ in pairs) == sorted(ids)
    assert pairs[-1][0] == "slow-600@c.us"
    results = dict(pairs)
    assert isinstance(results["nope"], greenapi.InvalidArgumentError)
    assert isinstance(results["79001234567"], greenapi.Avatar)


def test_two_hundred_tasks_never_block_the_loop_nor_exceed_max_in_flight(
    make_async: Any, stats: Any, reset_stats: Any
) -> None:
    """A heartbeat task ticks every 10 ms while 200 tasks await one call each; its largest lag
    is measured and must stay under 0.25 s (the issue's aim is 50 ms; the bound is generous so
    that a loaded machine does not fail the test, while a blocked loop, waiting out whole
    100 ms answers, would still exceed it many times over)."""
    lags: List[float] = []

    async def heartbeat(stop: asyncio.Event) -> None:
        while not stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    async def main() -> List[Any]:
        async with make_async(max_in_flight=8) as client:
            stop = asyncio.Event()
            beat = asyncio.create_task(heartbeat(stop))
            results = await asyncio.gather(*(client.get_avatar("slow-100@c.us") for _ in range(200)))
            stop.set()
            await beat
            return results

    reset_stats()
    results = asyncio.run(main())
    assert len(results) == 200 and all(isinstance(r, greenapi.Avatar) for r in results)
    s = stats()
    assert s["requests"] == 200
    # max_in_flight, exactly: the calls overlapped that much and never more.
    assert s["max_in_flight"] == 8, s
    assert len(lags) > 10
    assert max(lags) < 0.25, f"the loop lagged {max(lags):.3f} s"


def test_tasks_awaiting_batches_and_calls_share_the_bound_per_batch(
    make_async: Any, stats: Any, reset_stats: Any
) -> None:
    async def main() -> List[Any]:
        async with make_async(max_in_flight=4) as client:
            return await client.get_avatars([f"slow-{100 + i}@c.us" for i in range(24)])

    reset_stats()
    results = asyncio.run(main())
    assert all(isinstance(r, greenapi.Avatar) for r in results)
    assert stats()["max_in_flight"] == 4


def test_cancelling_a_waiting_task_abandons_its_request(make_async: Any, stats: Any, reset_stats: Any) -> None:
    async def main() -> Tuple[float, float]:
        # One request at a time: if the cancelled call went on, the next would wait for it.
        async with make_async(max_in_flight=1, timeout=30) as client:
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.get_avatar("slow-10000@c.us"), 0.2)
            cancelled = time.monotonic() - started
            started = time.monotonic()
            assert (await client.get_avatar("79001234567")).url_avatar
            return cancelled, time.monotonic() - started

    reset_stats()
    cancelled, next_call = asyncio.run(main())
    # The slow answer takes 10 s: neither waited for it.
    assert cancelled < 3, cancelled
    assert next_call < 3, next_call
    assert stats()["requests"] == 2


def test_cancelling_a_task_awaiting_get_avatars_aborts_the_batch(
    make_async: Any, stats: Any, reset_stats: Any
) -> None:
    tasks = _tasks()

    async def main() -> None:
        async with make_async(max_in_flight=2, timeout=30) as client:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.get_avatars([f"slow-{5000 + i}@c.us" for i in range(20)]), 0.3)

    reset_stats()
    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 3
    assert stats()["requests"] <= 3
    # The batch's workers and the thread that waited for them are gone.
    assert _tasks() - tasks == set()


def test_leaving_async_for_early_and_aclose(make_async: Any, stats: Any, reset_stats: Any) -> None:
    tasks = _tasks()

    async def main() -> None:
        async with make_async(max_in_flight=2, timeout=30) as client:
            it = client.iter_avatars(["79001234567"] + [f"slow-{5000 + i}@c.us" for i in range(20)])
            async for chat_id, result in it:
                assert chat_id == "79001234567" and isinstance(result, greenapi.Avatar)
                break
            await it.aclose()
            with pytest.raises(StopAsyncIteration):
                await it.__anext__()
            await it.aclose()

    reset_stats()
    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 3
    assert stats()["requests"] <= 3
    assert _tasks() - tasks == set()


def test_pacing_is_shared_by_every_task(make_async: Any, stats: Any, reset_stats: Any) -> None:
    # One request a minute: the first task takes the only turn; the others wait for theirs
    # (and are cancelled) without reaching the server. Paced alone ("process"): a turn another
    # test's client took on the host pacing would hold the first call back a minute, past its
    # timeout, which covers the wait for a turn.
    async def main() -> None:
        async with make_async(rate_limit=1 / 60, max_in_flight=8, pacing="process") as client:
            await client.get_avatar("79001234567")
            waiting = [asyncio.ensure_future(client.get_avatar(f"7900000{i:04}")) for i in range(5)]
            done, pending = await asyncio.wait(waiting, timeout=0.5)
            assert not done and len(pending) == 5
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    reset_stats()
    asyncio.run(main())
    assert stats()["requests"] == 1


def test_errors_never_show_the_token(standin: str) -> None:
    wrong = "wrong-token-4242424242"

    async def main() -> List[Any]:
        async with greenapi.AsyncClient(ID_INSTANCE, wrong, api_url=standin, proxy="", rate_limit=0) as client:
            with pytest.raises(greenapi.AuthError) as e:
                await client.get_avatar("79001234567")
            assert wrong not in str(e.value) and wrong not in repr(e.value)
            return await client.get_avatars(["79001234567", "120650379300963@lid"])

    results = asyncio.run(main())
    assert all(isinstance(r, greenapi.AuthError) and r.http_status == 401 for r in results)
    assert all(wrong not in str(r) for r in results)
