"""Connection reuse and parallel calls with the GIL released."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import greenapi


def test_keep_alive_one_connection_for_five_calls(make_client, stats, reset_stats):
    c = make_client(rate_limit=0)
    reset_stats()
    for i in range(5):
        assert c.get_avatar(f"7900123456{i}@c.us").exists_whatsapp is True
    s = stats()
    assert s["requests"] == 5
    assert s["connections"] == 1


def test_new_client_per_call_opens_new_connections(make_client, stats, reset_stats):
    # The counter is not stuck at 1: separate clients do not share connections.
    reset_stats()
    for _ in range(3):
        make_client().get_avatar("79001234567@c.us")
    s = stats()
    assert (s["connections"], s["requests"]) == (3, 3), s


def test_threads_run_in_parallel(make_client):
    c = make_client(rate_limit=0, max_retries=0, timeout=10)
    c.get_avatar("79001234567@c.us")  # warm up
    results: list = []
    errors: list = []
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait()
        try:
            results.append(c.get_avatar("slow-200@c.us"))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    start = time.monotonic()
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - start
    assert not errors
    assert len(results) == 8
    assert all(r.url_avatar.endswith("slow-200@c.us.jpg") for r in results)
    # Serialised on the GIL this would take 8 x 0.2 s = 1.6 s; in parallel about 0.2 s.
    assert elapsed < 1.0, f"8 parallel calls took {elapsed:.2f} s"


def test_many_threads_share_one_client_correctly(make_client):
    c = make_client(rate_limit=0)
    ids = [f"7900000{i:04d}@c.us" for i in range(64)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(c.get_avatar, ids))
    assert [a.url_avatar for a in got] == [
        f"https://pps.whatsapp.net/v/stand-in/{i}.jpg" for i in ids
    ]


def test_pacing_spaces_calls(make_client):
    # rate_limit=20: 6 calls need at least 5 intervals of 50 ms.
    c = make_client(rate_limit=20)
    start = time.monotonic()
    for _ in range(6):
        c.get_avatar("79001234567@c.us")
    assert time.monotonic() - start >= 0.2


def test_exceptions_from_threads_are_typed(make_client):
    c = make_client()
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(c.get_avatar, "status-404@c.us") for _ in range(4)]
    for f in futures:
        assert isinstance(f.exception(), greenapi.NotFoundError)
