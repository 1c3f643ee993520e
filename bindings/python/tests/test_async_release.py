"""Letting go of an AsyncClient batch (bindings/python/python/greenapi/_async.py)."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any, List

import greenapi
from conftest import ID_INSTANCE, TOKEN


def _slow_ids(n: int, ms: int) -> List[str]:
    return [f"slow-{ms + i}@c.us" for i in range(n)]


def _result_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "greenapi-batch-results")


def test_letting_go_of_a_started_async_iterator_stops_its_batch(
    standin: str, stats: Any, reset_stats: Any
) -> None:
    """The docstring: "Leaving the loop early does not stop the batch by itself ...: ``await
    it.aclose()`` does, as does letting go of the iterator." It does not: the thread that hands
    the results out (``hand_out``, a closure over ``self``) keeps the iterator alive, so
    ``__del__`` never runs while the batch does, and the batch goes on to its end."""
    client = greenapi.AsyncClient(
        ID_INSTANCE, TOKEN, api_url=standin, proxy="", rate_limit=0, max_retries=0,
        max_in_flight=2, timeout=30,
    )
    reset_stats()

    async def main() -> None:
        it = client.iter_avatars(["79001234567"] + _slow_ids(20, 1000))
        chat_id, result = await it.__anext__()
        assert chat_id == "79001234567" and isinstance(result, greenapi.Avatar)
        del it
        gc.collect()
        # Let go of: its batch stops, and the thread handing out its results ends.
        deadline = time.monotonic() + 2.0
        while _result_threads() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    before = _result_threads()
    asyncio.run(main())
    still = _result_threads() - before
    requests = stats()["requests"]
    client._client.close()
    assert still == 0, f"the batch's result thread still runs 2 s after the iterator was let go ({requests} requests)"
    assert requests <= 4, requests
