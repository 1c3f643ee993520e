"""Avatar and the exceptions survive pickle, copy and a trip through a process pool."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import uuid
from concurrent.futures import ProcessPoolExecutor

import pytest

import greenapi
import pool_work

FULL = dict(
    url_avatar="https://pps.whatsapp.net/v/x.jpg",
    exists_whatsapp=True,
    available=False,
    reason="get avatar timeout limit exceeded",
    http_status=200,
    attempts=3,
)


def fields(a: greenapi.Avatar) -> tuple:
    return (a.url_avatar, a.exists_whatsapp, a.available, a.reason, a.http_status, a.attempts)


AVATARS = [
    greenapi.Avatar(**FULL),
    greenapi.Avatar(),
    greenapi.Avatar(url_avatar="", exists_whatsapp=False, reason="bad request data"),
    greenapi.Avatar(url_avatar="https://pps.whatsapp.net/v/y.jpg", available=True, attempts=11),
]
AVATAR_IDS = ["every-field", "defaults", "older-with-reason", "newer"]


@pytest.mark.parametrize("avatar", AVATARS, ids=AVATAR_IDS)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_avatar_pickles(avatar, protocol):
    back = pickle.loads(pickle.dumps(avatar, protocol=protocol))
    assert type(back) is greenapi.Avatar
    assert back == avatar
    assert fields(back) == fields(avatar)
    assert hash(back) == hash(avatar)


@pytest.mark.parametrize("avatar", AVATARS, ids=AVATAR_IDS)
def test_avatar_copies(avatar):
    for dup in (copy.copy(avatar), copy.deepcopy(avatar), copy.deepcopy([avatar])[0]):
        assert type(dup) is greenapi.Avatar
        assert dup == avatar
        assert fields(dup) == fields(avatar)


def test_avatar_from_a_call_pickles(make_client):
    a = make_client().get_avatar("120363043968066561@g.us")
    assert pickle.loads(pickle.dumps(a)) == a
    assert copy.deepcopy(a) == a


def test_pickled_avatar_differs_when_a_field_differs():
    # Equality after the round trip is not vacuous: each field is carried.
    base = greenapi.Avatar(**FULL)
    for name, other in [
        ("url_avatar", "https://pps.whatsapp.net/v/z.jpg"),
        ("exists_whatsapp", None),
        ("available", True),
        ("reason", None),
        ("http_status", 201),
        ("attempts", 1),
    ]:
        changed = greenapi.Avatar(**{**FULL, name: other})
        assert pickle.loads(pickle.dumps(changed)) != base, name


ERRORS = [
    greenapi.GreenApiError("internal error", "panic", None, 0),
    greenapi.InvalidArgumentError("chat_id is empty", "invalid_argument", None, 0),
    greenapi.TransportError("connection refused", "network", None, 3),
    greenapi.TransportError("certificate", "tls", None, 1),
    greenapi.TimeoutError("took too long", "timeout", None, 3),
    greenapi.AuthError("wrong token", "unauthorized", 401, 1),
    greenapi.AuthError("wrong id", "forbidden", 403, 1),
    greenapi.BadRequestError("bad", "bad_request", 400, 1),
    greenapi.NotFoundError("no such method", "not_found", 404, 1),
    greenapi.RateLimitedError("slow down", "rate_limited", 429, 3),
    greenapi.QuotaExceededError("quota", "quota_exceeded", 466, 1),
    greenapi.ServerError("down", "server_error", 503, 3),
    greenapi.HttpStatusError("moved", "http_status", 301, 1),
    greenapi.BadResponseError("not json", "bad_response", 200, 1),
    greenapi.BadResponseError("too large", "body_too_large", 200, 1),
]


def error_fields(e: greenapi.GreenApiError) -> tuple:
    return (type(e), str(e), e.args, e.code, e.http_status, e.attempts)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: f"{type(e).__name__}-{e.code}")
def test_errors_pickle_and_copy(error):
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert error_fields(pickle.loads(pickle.dumps(error, protocol=protocol))) == error_fields(error)
    assert error_fields(copy.copy(error)) == error_fields(error)
    assert error_fields(copy.deepcopy(error)) == error_fields(error)


def test_raised_error_pickles(make_client):
    with pytest.raises(greenapi.QuotaExceededError) as info:
        make_client().get_avatar("status-466@c.us")
    assert error_fields(pickle.loads(pickle.dumps(info.value))) == error_fields(info.value)


@pytest.fixture(scope="module")
def pool():
    # spawn: a fresh interpreter that must import greenapi and pool_work by name, the strictest
    # test of pickling (fork would also be unsafe next to the stand-in's and pytest's threads).
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as ex:
        yield ex


def test_avatar_comes_back_from_a_process_pool(pool, standin):
    # First answer 429, the retry succeeds: attempts == 2 must survive the trip too.
    chat_id = f"flaky429-{uuid.uuid4().hex}@c.us"
    a = pool.submit(pool_work.fetch_avatar, standin, chat_id).result(timeout=120)
    assert type(a) is greenapi.Avatar
    assert a == greenapi.Avatar(
        url_avatar=f"https://pps.whatsapp.net/v/stand-in/{chat_id}.jpg",
        exists_whatsapp=True,
        http_status=200,
        attempts=2,
    )
    newer = pool.submit(pool_work.fetch_avatar, standin, "120650379300963@lid").result(timeout=120)
    assert (newer.available, newer.exists_whatsapp, newer.attempts) == (True, None, 1)


def test_error_comes_back_from_a_process_pool(pool, standin):
    fut = pool.submit(pool_work.fetch_failing, standin)
    with pytest.raises(greenapi.ServerError) as info:
        fut.result(timeout=120)
    e = info.value
    assert type(e) is greenapi.ServerError
    assert (e.code, e.http_status, e.attempts) == ("server_error", 503, 2)
    assert "503" in str(e)
