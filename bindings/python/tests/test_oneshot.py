"""greenapi.get_avatar(...) in a loop: one cached Client per set of settings, so the calls share
a kept-alive connection and pacing, and the cache is bounded and never shows the token."""

from __future__ import annotations

import gc

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN


def one_shot(standin, token=TOKEN, **options):
    options.setdefault("api_url", standin)
    options.setdefault("proxy", "")
    options.setdefault("rate_limit", 0)
    return greenapi.get_avatar(ID_INSTANCE, token, "79001234567@c.us", **options)


def test_same_settings_share_one_connection(standin, stats, reset_stats):
    reset_stats()
    for _ in range(5):
        # Settings no other test uses: the first call makes the client, the others reuse it.
        assert one_shot(standin, user_agent="bench-same/1").exists_whatsapp is True
    s = stats()
    assert (s["connections"], s["requests"]) == (1, 5), s


def test_other_settings_get_their_own_client(standin, stats, reset_stats):
    reset_stats()
    one_shot(standin, user_agent="bench-a/1")
    one_shot(standin, user_agent="bench-b/1")
    one_shot(standin, user_agent="bench-a/1")
    s = stats()
    assert (s["connections"], s["requests"]) == (2, 3), s


def test_equal_settings_spelled_differently_share_one_client(standin, stats, reset_stats):
    # The key is made of the values the Client resolves, not of how they were written: 30 and
    # 30.0 are one timeout, and so are None and leaving it out (the default, 30 s).
    reset_stats()
    for timeout in (30, 30.0, None, "default"):
        options = {} if timeout == "default" else {"timeout": timeout}
        assert one_shot(standin, user_agent="bench-spelled/1", **options).exists_whatsapp is True
    s = stats()
    assert (s["connections"], s["requests"]) == (1, 4), s


def test_the_cache_is_bounded_and_never_shows_the_token(standin):
    for i in range(3 * greenapi._ONE_SHOT_CLIENTS):
        one_shot(standin, user_agent=f"bench-{i}/1")
    cache = greenapi._one_shot_cache
    assert len(cache) <= greenapi._ONE_SHOT_CLIENTS
    shown = repr(cache) + repr(list(cache)) + repr(vars(greenapi))
    assert TOKEN not in shown
    assert not any(TOKEN in str(part) for key in cache for part in key)
    gc.collect()
    referrers = [r for r in gc.get_referrers(TOKEN) if isinstance(r, tuple)]
    assert not any(r in cache for r in referrers)


def test_refused_settings_are_not_cached(standin):
    before = len(greenapi._one_shot_cache)
    with pytest.raises(greenapi.InvalidArgumentError):
        one_shot(standin, timeout=-1)
    with pytest.raises(TypeError):
        greenapi.get_avatar(ID_INSTANCE, 12345, "1@c.us", api_url=standin, proxy="")
    assert len(greenapi._one_shot_cache) == before
