"""Every exception class, its code and status, and the token never shown."""

from __future__ import annotations

import builtins
import math
import os
import pickle
import socket
import ssl
import traceback
from pathlib import Path

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN


def everything_shown(exc: BaseException) -> str:
    """All the text an exception can show: str, repr, args, a formatted traceback."""
    return "\n".join(
        [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    )


def test_hierarchy():
    g = greenapi
    assert issubclass(g.InvalidArgumentError, g.GreenApiError)
    assert issubclass(g.InvalidArgumentError, ValueError)
    assert issubclass(g.TimeoutError, g.TransportError)
    assert issubclass(g.TimeoutError, builtins.TimeoutError)
    assert g.TimeoutError is not builtins.TimeoutError
    for cls in (
        g.TransportError,
        g.AuthError,
        g.NotFoundError,
        g.RateLimitedError,
        g.QuotaExceededError,
        g.ServerError,
        g.BadResponseError,
        g.HttpStatusError,
        g.BadRequestError,
        g.ExpiredError,
    ):
        assert issubclass(cls, g.GreenApiError), cls
        assert not issubclass(cls, ValueError), cls
    assert issubclass(g.GreenApiError, Exception)


@pytest.mark.parametrize(
    "chat_id, cls, code, status",
    [
        ("status-400@c.us", greenapi.BadRequestError, "bad_request", 400),
        ("status-401@c.us", greenapi.AuthError, "unauthorized", 401),
        ("status-403@c.us", greenapi.AuthError, "forbidden", 403),
        ("status-404@c.us", greenapi.NotFoundError, "not_found", 404),
        ("status-429@c.us", greenapi.RateLimitedError, "rate_limited", 429),
        ("status-466@c.us", greenapi.QuotaExceededError, "quota_exceeded", 466),
        ("status-500@c.us", greenapi.ServerError, "server_error", 500),
        ("status-502@c.us", greenapi.ServerError, "server_error", 502),
        ("status-503@c.us", greenapi.ServerError, "server_error", 503),
        ("status-301@c.us", greenapi.HttpStatusError, "http_status", 301),
        ("status-307@c.us", greenapi.HttpStatusError, "http_status", 307),
        ("status-418@c.us", greenapi.HttpStatusError, "http_status", 418),
        ("garbage@c.us", greenapi.BadResponseError, "bad_response", 200),
        ("wrongtype@c.us", greenapi.BadResponseError, "bad_response", 200),
        ("emptyobject@c.us", greenapi.BadResponseError, "bad_response", 200),
        ("huge@c.us", greenapi.BadResponseError, "body_too_large", 200),
    ],
)
def test_http_errors(make_client, chat_id, cls, code, status):
    with pytest.raises(cls) as info:
        make_client().get_avatar(chat_id)
    e = info.value
    assert type(e) is cls
    assert e.code == code
    assert e.http_status == status
    assert e.attempts == 1
    assert str(e)
    assert TOKEN not in everything_shown(e)


def test_quota_message_carries_the_description(make_client):
    with pytest.raises(greenapi.QuotaExceededError) as info:
        make_client().get_avatar("status-466@c.us")
    assert "Monthly quota has been exceeded" in str(info.value)


def test_body_limit_is_an_option(make_client):
    with pytest.raises(greenapi.BadResponseError) as info:
        make_client(max_body_bytes=64).get_avatar("garbage@c.us")
    assert info.value.code == "bad_response"  # 32 bytes: under the limit, but not JSON
    with pytest.raises(greenapi.BadResponseError) as info:
        make_client(max_body_bytes=16).get_avatar("garbage@c.us")
    assert info.value.code == "body_too_large"


def test_server_echoing_the_real_token_is_scrubbed(make_client):
    # The stand-in's 5xx bodies echo the request path, the real token included.
    with pytest.raises(greenapi.ServerError) as info:
        make_client().get_avatar("status-500@c.us")
    shown = everything_shown(info.value)
    assert "/getAvatar/" in shown  # the echoed path is there...
    assert TOKEN not in shown  # ...without the token


def test_401_echoing_a_wrong_token_is_scrubbed(make_client):
    wrong = "wrong-token-but-secret-9876543210zyx"
    with pytest.raises(greenapi.AuthError) as info:
        make_client(token=wrong).get_avatar("79001234567@c.us")
    e = info.value
    assert (e.code, e.http_status, e.attempts) == ("unauthorized", 401, 1)
    shown = everything_shown(e)
    assert "Unauthorized" in shown
    assert wrong not in shown


def test_retries_exhausted_on_503(make_client):
    for retries in (0, 1, 2):
        with pytest.raises(greenapi.ServerError) as info:
            make_client(max_retries=retries).get_avatar("status-503@c.us")
        assert info.value.attempts == retries + 1


def test_no_retry_on_401(make_client):
    with pytest.raises(greenapi.AuthError) as info:
        make_client(max_retries=3).get_avatar("status-401@c.us")
    assert info.value.attempts == 1


def test_timeout(make_client):
    with pytest.raises(greenapi.TimeoutError) as info:
        make_client(timeout=0.2, max_retries=0).get_avatar("slow-3000@c.us")
    e = info.value
    assert isinstance(e, builtins.TimeoutError)
    assert isinstance(e, greenapi.TransportError)
    assert e.code == "timeout"
    assert e.http_status is None
    assert e.attempts == 1
    # The builtin works in an except clause too.
    try:
        make_client(timeout=0.2, max_retries=0).get_avatar("slow-3000@c.us")
    except builtins.TimeoutError as caught:
        assert isinstance(caught, greenapi.GreenApiError)
    else:
        pytest.fail("no TimeoutError")


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused(make_client):
    c = make_client(api_url=f"http://127.0.0.1:{closed_port()}", max_retries=0)
    with pytest.raises(greenapi.TransportError) as info:
        c.get_avatar("79001234567@c.us")
    e = info.value
    assert type(e) is greenapi.TransportError
    assert (e.code, e.http_status, e.attempts) == ("network", None, 1)
    assert TOKEN not in everything_shown(e)


@pytest.mark.parametrize("chat_id", ["cut@c.us", "reset@c.us"])
def test_broken_connections(make_client, chat_id):
    with pytest.raises(greenapi.TransportError) as info:
        make_client(max_retries=0).get_avatar(chat_id)
    assert type(info.value) is greenapi.TransportError
    assert info.value.code == "network"
    assert TOKEN not in everything_shown(info.value)


def test_network_errors_are_retried(make_client):
    with pytest.raises(greenapi.TransportError) as info:
        make_client(max_retries=1).get_avatar("reset@c.us")
    assert info.value.attempts == 2


def test_tls_error(make_client, standin):
    # The stand-in speaks plain HTTP: a TLS handshake with it fails.
    c = make_client(api_url=standin.replace("http://", "https://"), max_retries=0)
    with pytest.raises(greenapi.TransportError) as info:
        c.get_avatar("79001234567@c.us")
    assert type(info.value) is greenapi.TransportError
    assert info.value.code == "tls"
    assert TOKEN not in everything_shown(info.value)


def test_panic_becomes_an_exception():
    from greenapi import _native

    with pytest.raises(greenapi.GreenApiError) as info:
        _native._panic_for_tests()
    assert type(info.value) is greenapi.GreenApiError
    assert info.value.code == "panic"
    assert info.value.http_status is None
    # The interpreter is still fine and the module still works.
    assert greenapi.Avatar(url_avatar="x").url_avatar == "x"


def test_caught_panic_prints_nothing(capfd):
    """A panic turned into an exception is the library's business: the host's stderr stays clean."""
    from greenapi import _native

    capfd.readouterr()
    for _ in range(2):
        with pytest.raises(greenapi.GreenApiError) as info:
            _native._panic_for_tests()
        assert info.value.code == "panic"
    out, err = capfd.readouterr()
    assert err == ""
    assert out == ""


def test_exceptions_pickle():
    e = greenapi.TimeoutError("took too long", "timeout", None, 3)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is greenapi.TimeoutError
    assert (str(back), back.code, back.http_status, back.attempts) == (
        "took too long",
        "timeout",
        None,
        3,
    )


# ---- invalid arguments -----------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "sec/ret-token-0123456789",
        "secret?token0123456789",
        "secret#token0123456789",
        "secret token 0123456789",
        "secret%2Ftoken0123456789",
        "",
        "..",
        "sеcret-cyrillic-е-0123456789",
        "secret\ud800surrogate0123456789",
    ],
)
def test_bad_tokens(standin, token):
    with pytest.raises(greenapi.InvalidArgumentError) as info:
        greenapi.Client(ID_INSTANCE, token, api_url=standin, proxy="")
    e = info.value
    assert isinstance(e, ValueError)
    assert (e.code, e.http_status, e.attempts) == ("invalid_argument", None, 0)
    if len(token) > 3:
        assert token not in everything_shown(e)


@pytest.mark.parametrize("id_instance", ["", "11a", " 1101000001", "-1", "1.5", "1" * 33, -1])
def test_bad_id_instance(standin, id_instance):
    with pytest.raises(greenapi.InvalidArgumentError):
        greenapi.Client(id_instance, TOKEN, api_url=standin, proxy="")


@pytest.mark.parametrize("chat_id", ["", "+", "abc", "7900 1234567", "79\n@c.us", "7" * 300, "x\ud800"])
def test_bad_chat_ids(make_client, chat_id):
    with pytest.raises(greenapi.InvalidArgumentError) as info:
        make_client().get_avatar(chat_id)
    assert info.value.attempts == 0


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": 0.0},
        {"timeout": -1.0},
        {"timeout": math.nan},
        {"timeout": math.inf},
        {"timeout": -math.inf},
        {"timeout": 10**400},
        {"connect_timeout": 0},
        {"connect_timeout": -0.5},
        {"connect_timeout": math.nan},
        {"connect_timeout": math.inf},
        {"max_retries": -1},
        {"max_retries": 11},
        {"max_retries": 2**40},
        {"max_retries": 10**30},
        {"rate_limit": -1},
        {"rate_limit": math.nan},
        {"rate_limit": math.inf},
        {"max_body_bytes": 0},
        {"max_body_bytes": -5},
        {"max_body_bytes": 2**70},
        {"max_body_bytes": 2**30 + 1},
        {"timeout": 1e19},
        {"timeout": 1e-4},
        {"timeout": 86400.001},
        {"connect_timeout": 1.8e19},
        {"connect_timeout": 1e-4},
        {"connect_timeout": -math.inf},
        {"rate_limit": 1e-19},
        {"rate_limit": 0.0001},
        {"rate_limit": 10001},
        {"rate_limit": -math.inf},
        {"api_url": "ftp://127.0.0.1"},
        {"api_url": "127.0.0.1:8080"},
        {"api_url": "http://example.com"},
        {"api_url": "https://user:pw@example.com"},
        {"api_url": "https://example.com/?q=1"},
        {"user_agent": ""},
        {"user_agent": "bad\nagent"},
        {"ca_file": "/nonexistent/ca.pem"},
    ],
)
def test_bad_option_values(standin, options):
    kw = {"api_url": standin, "proxy": ""}
    kw.update(options)
    with pytest.raises(greenapi.InvalidArgumentError) as info:
        greenapi.Client(ID_INSTANCE, TOKEN, **kw)
    assert info.value.code == "invalid_argument"
    assert TOKEN not in everything_shown(info.value)


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("timeout", 1e19, ["timeout", "0.001", "86400"]),
        ("connect_timeout", 1e-4, ["connect_timeout", "0.001", "86400"]),
        ("rate_limit", 1e-19, ["rate_limit", "10000"]),
        ("max_body_bytes", 2**30 + 1, ["max_body_bytes", "1073741824"]),
    ],
)
def test_out_of_range_messages_name_the_option_and_range(standin, option, value, words):
    with pytest.raises(greenapi.InvalidArgumentError) as info:
        greenapi.Client(ID_INSTANCE, TOKEN, api_url=standin, proxy="", **{option: value})
    for w in words:
        assert w in str(info.value)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0.001, "connect_timeout": 0.001},
        {"timeout": 86400, "connect_timeout": 86400.0},
        {"rate_limit": 1 / 3600},
        {"rate_limit": 10000},
        {"rate_limit": 0},
        {"max_body_bytes": 1},
        {"max_body_bytes": 2**30},
    ],
)
def test_options_at_their_bounds_are_accepted(standin, options):
    greenapi.Client(ID_INSTANCE, TOKEN, api_url=standin, proxy="", **options)


def test_ca_file_that_is_not_pem(standin, tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(greenapi.InvalidArgumentError):
        greenapi.Client(ID_INSTANCE, TOKEN, api_url=standin, proxy="", ca_file=bad)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": "30"},
        {"timeout": True},
        {"connect_timeout": [1]},
        {"max_retries": 1.5},
        {"max_retries": "2"},
        {"max_retries": True},
        {"rate_limit": "10"},
        {"max_body_bytes": 1.0},
        {"api_url": 5},
        {"user_agent": b"agent"},
        {"proxy": 1},
        {"ca_file": 3},
        {"allow_insecure_http": 1},
        {"allow_insecure_http": "yes"},
    ],
)
def test_wrong_option_types(standin, options):
    kw = {"api_url": standin, "proxy": ""}
    kw.update(options)
    with pytest.raises(TypeError):
        greenapi.Client(ID_INSTANCE, TOKEN, **kw)


def test_wrong_argument_types(make_client, standin):
    with pytest.raises(TypeError):
        greenapi.Client(ID_INSTANCE, None, api_url=standin)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        greenapi.Client(1.5, TOKEN, api_url=standin)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        greenapi.Client(ID_INSTANCE, TOKEN, standin)  # type: ignore[misc]
    with pytest.raises(TypeError):
        greenapi.Client(ID_INSTANCE, TOKEN, no_such_option=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        make_client().get_avatar(79001234567)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        make_client().get_avatar(b"79001234567@c.us")  # type: ignore[arg-type]


def test_good_unusual_options(standin):
    # Accepted: ints for seconds, None for a default, a path-like ca_file holding real PEM.
    cafile = ssl.get_default_verify_paths().cafile or ""
    ca = {"ca_file": Path(cafile)} if cafile and os.path.exists(cafile) else {}
    c = greenapi.Client(
        ID_INSTANCE,
        TOKEN,
        api_url=standin,
        proxy="",
        timeout=5,
        connect_timeout=None,  # type: ignore[arg-type]
        rate_limit=None,  # type: ignore[arg-type]
        max_body_bytes=None,  # type: ignore[arg-type]
        max_retries=0,
        user_agent="greenapi-tests/1",
        allow_insecure_http=True,
        **ca,
    )
    assert c.get_avatar("1@c.us").exists_whatsapp is True
