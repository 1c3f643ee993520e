"""Avatar and Client as Python objects: repr, equality, hashing, immutability."""

from __future__ import annotations

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN


def test_avatar_repr(make_client):
    a = make_client().get_avatar("79001234567@c.us")
    assert repr(a) == (
        "Avatar(exists_whatsapp=True, available=None, "
        "url_avatar='https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg', "
        "reason=None, http_status=200, attempts=1)"
    )
    b = make_client().get_avatar("badchat@c.us")
    assert "reason='bad request data'" in repr(b)
    assert "exists_whatsapp=False" in repr(b)


def test_avatar_repr_quotes_like_python():
    a = greenapi.Avatar(url_avatar="it's \"x\"\n", reason="r")
    assert repr(a).startswith(f"Avatar(exists_whatsapp=None, available=None, url_avatar={a.url_avatar!r}")


def test_avatar_equality_and_hash(make_client):
    c = make_client()
    a1 = c.get_avatar("79001234567@c.us")
    a2 = c.get_avatar("+79001234567")
    a3 = c.get_avatar("120363043968066561@g.us")
    assert a1 == a2
    assert not (a1 != a2)
    assert a1 != a3
    assert hash(a1) == hash(a2)
    assert len({a1, a2, a3}) == 2
    assert a1 != "not an avatar"
    assert a1 == greenapi.Avatar(
        url_avatar=a1.url_avatar, exists_whatsapp=True, http_status=200, attempts=1
    )
    assert a1 != greenapi.Avatar(
        url_avatar=a1.url_avatar, exists_whatsapp=True, http_status=200, attempts=2
    )


def test_avatar_is_immutable(make_client):
    a = make_client().get_avatar("79001234567@c.us")
    for name, value in [
        ("url_avatar", "x"),
        ("exists_whatsapp", False),
        ("available", True),
        ("reason", "r"),
        ("http_status", 500),
        ("attempts", 9),
        ("new_attribute", 1),
    ]:
        with pytest.raises(AttributeError):
            setattr(a, name, value)
    with pytest.raises(AttributeError):
        del a.url_avatar
    assert a.url_avatar.endswith("79001234567@c.us.jpg")


def test_avatar_constructor_defaults():
    a = greenapi.Avatar()
    assert (a.exists_whatsapp, a.available, a.url_avatar, a.reason, a.http_status, a.attempts) == (
        None,
        None,
        "",
        None,
        200,
        1,
    )
    assert a.to_dict() == {"urlAvatar": ""}
    with pytest.raises(TypeError):
        greenapi.Avatar("positional")  # type: ignore[misc]


def test_to_dict_is_a_fresh_dict(make_client):
    a = make_client().get_avatar("79001234567@c.us")
    d = a.to_dict()
    d["urlAvatar"] = "changed"
    assert a.to_dict()["urlAvatar"] != "changed"


def test_client_repr_and_properties(make_client):
    c = make_client()
    assert repr(c) == f"Client(id_instance='{ID_INSTANCE}', host='127.0.0.1')"
    assert TOKEN not in repr(c) and TOKEN not in str(c)
    assert c.id_instance == ID_INSTANCE
    assert c.host == "127.0.0.1"
    with pytest.raises(AttributeError):
        c.id_instance = "2"  # type: ignore[misc]
    assert not any(TOKEN in repr(getattr(c, n, "")) for n in dir(c) if not n.startswith("__"))


def test_client_default_host():
    c = greenapi.Client(ID_INSTANCE, TOKEN, proxy="")
    assert c.host == "api.green-api.com"
    assert TOKEN not in repr(c)
