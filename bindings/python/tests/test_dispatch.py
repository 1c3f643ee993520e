"""The client's dispatcher seen from Python: a batch whose results are not taken holds its
requests back (backpressure), in the threaded and the asyncio API, and a stopped iterator sends
nothing more. Counted at the stand-in, never timed."""

from __future__ import annotations

import asyncio
import time
from typing import Any, List

import greenapi


def _ids(n: int, prefix: str = "7980") -> List[str]:
    return [f"{prefix}{i:07d}@c.us" for i in range(n)]


def test_an_iterator_not_advanced_holds_its_batch_back(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(max_in_flight=16)
    reset_stats()
    with client.iter_avatars(_ids(3000)) as it:
        for _ in range(10):
            next(it)
        # Not advanced for 2 s: the batch may have its cap out and a few results waiting, no
        # more, however long the pause.
        time.sleep(2)
        held = stats()["requests"]
        assert held <= 10 + 16, held
        assert sum(1 for _ in it) == 2990
    assert stats()["requests"] == 3000


def test_closing_an_iterator_sends_nothing_more(make_client: Any, stats: Any, reset_stats: Any) -> None:
    client = make_client(max_in_flight=8)
    reset_stats()
    it = client.iter_avatars(_ids(2000, "7981"))
    for _ in range(100):
        next(it)
    it.close()
    sent = stats()["requests"]
    assert sent <= 100 + 8, sent
    time.sleep(0.3)
    assert stats()["requests"] == sent


def test_an_async_for_body_that_awaits_holds_the_batch_back(
    make_async: Any, stats: Any, reset_stats: Any
) -> None:
    async def main() -> int:
        async with make_async(max_in_flight=16) as client:
            it = client.iter_avatars(_ids(3000, "7982"))
            seen = 0
            async for _ in it:
                seen += 1
                if seen == 10:
                    # The body awaits for a while: the thread handing results out takes a few
                    # ahead, the native batch has its cap out and a few waiting, no more.
                    await asyncio.sleep(2)
                    held = stats()["requests"]
                    assert held <= 10 + 8 + 16 + 8, held
            return seen

    reset_stats()
    assert asyncio.run(main()) == 3000
    assert stats()["requests"] == 3000


def test_max_in_flight_is_the_whole_clients(make_client: Any, stats: Any, reset_stats: Any) -> None:
    # Two batches and single calls on other threads at once, pacing off: never more than
    # max_in_flight requests at the stand-in at once.
    import threading

    client = make_client(max_in_flight=6, timeout=30)
    reset_stats()
    slow = [f"slow-{200 + i}@c.us" for i in range(24)]
    results: List[Any] = []

    def one(chat_id: str) -> None:
        results.append(client.get_avatar(chat_id))

    threads = [threading.Thread(target=one, args=(f"slow-{300 + i}@c.us",)) for i in range(6)]
    for t in threads:
        t.start()
    a = client.get_avatars(slow[:12])
    b = client.get_avatars(slow[12:])
    for t in threads:
        t.join()
    assert all(isinstance(r, greenapi.Avatar) for r in a + b + results), a + b + results
    assert stats()["max_in_flight"] <= 6, stats()
