"""Redis pacing from Python, against a redis-server this module starts (Debian's package;
``make rust-tools`` installs it) on a free loopback port with persistence off and a password:
the pacing attribute, the option's cache key, refused and missing passwords that are never
shown, and an unreachable Redis. The cross-process, kill and restart cases are in tests/redis.rs."""

import socket
from pathlib import Path
from typing import Any, Iterator

import pytest

import greenapi
from conftest import redis_server

PASSWORD = "pw-Py7Lq2Vx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis() -> Iterator[int]:
    with redis_server("--requirepass", PASSWORD) as port:
        yield port


def test_a_redis_pacing_is_in_force_and_never_shows_its_password(
        make_client: Any, redis: int, pacing_dir: Path) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{redis}"
    client = make_client(pacing=url, rate_limit=10, connect_timeout=2)
    assert client.pacing == "redis"
    assert client.get_avatar("79001234567").exists_whatsapp in (True, False)
    assert PASSWORD not in repr(client)
    key = greenapi.Client._resolved("1101000001", "x" * 20, pacing=url)
    assert PASSWORD not in repr(key)
    other = greenapi.Client._resolved("1101000001", "x" * 20, pacing=url.replace(PASSWORD, "other"))
    assert key != other, "two passwords, one cached client"

    client.close()


@pytest.mark.parametrize("userinfo,says", [
    (":wrong-Pw0Kx@", "credentials"),
    ("", "needs a password"),
])
def test_refused_credentials(make_client: Any, redis: int, pacing_dir: Path, userinfo: str, says: str) -> None:
    with pytest.raises(greenapi.InvalidArgumentError) as e:
        make_client(pacing=f"redis://{userinfo}127.0.0.1:{redis}", rate_limit=10)
    text = f"{e.value} {e.value!r}"
    assert "Redis" in text and says in text, text
    assert "wrong-Pw0Kx" not in text and PASSWORD not in text, text


def test_an_unreachable_redis_and_a_bad_url(make_client: Any, pacing_dir: Path) -> None:
    with pytest.raises(greenapi.TransportError) as e:
        make_client(pacing=f"redis://:{PASSWORD}@127.0.0.1:{free_port()}", rate_limit=10,
                    connect_timeout=2)
    assert "Redis" in str(e.value) and PASSWORD not in str(e.value)
    with pytest.raises(greenapi.InvalidArgumentError) as e2:
        make_client(pacing=f"redis://:{PASSWORD}@127.0.0.1:nope", rate_limit=10)
    assert PASSWORD not in str(e2.value)
