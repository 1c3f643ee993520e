"""Answers of HTTP 200: both shapes, nulls, reasons, normalisation, to_dict, module-level call."""

from __future__ import annotations

import uuid

import pytest

import greenapi
from conftest import ID_INSTANCE, TOKEN

URL = "https://pps.whatsapp.net/v/stand-in/{}.jpg"


def test_older_shape(make_client):
    a = make_client().get_avatar("79001234567@c.us")
    assert isinstance(a, greenapi.Avatar)
    assert a.exists_whatsapp is True
    assert a.available is None
    assert a.url_avatar == URL.format("79001234567@c.us")
    assert a.reason is None
    assert a.http_status == 200
    assert a.attempts == 1
    assert a.to_dict() == {"existsWhatsapp": True, "urlAvatar": URL.format("79001234567@c.us")}


@pytest.mark.parametrize(
    "chat_id", ["120363043968066561@g.us", "79876543210-1581234048@g.us", "120650379300963@lid"]
)
def test_newer_shape(make_client, chat_id):
    a = make_client().get_avatar(chat_id)
    assert a.exists_whatsapp is None
    assert a.available is True
    assert a.url_avatar == URL.format(chat_id)
    assert a.reason is None
    assert a.to_dict() == {"urlAvatar": URL.format(chat_id), "available": True}


def test_no_avatar_older(make_client):
    a = make_client().get_avatar("noavatar@c.us")
    assert (a.exists_whatsapp, a.available, a.url_avatar, a.reason) == (False, None, "", None)
    assert a.to_dict() == {"existsWhatsapp": False, "urlAvatar": ""}


def test_hidden_newer(make_client):
    a = make_client().get_avatar("hidden@lid")
    assert (a.exists_whatsapp, a.available, a.url_avatar, a.reason) == (None, False, "", None)
    assert a.to_dict() == {"urlAvatar": "", "available": False}


def test_reason_with_http_200(make_client):
    a = make_client().get_avatar("badchat@c.us")
    assert a.reason == "bad request data"
    assert a.exists_whatsapp is False
    assert a.to_dict() == {"existsWhatsapp": False, "urlAvatar": "", "reason": "bad request data"}


def test_nulls_and_unknown_fields(make_client):
    a = make_client().get_avatar("nulls@c.us")
    assert (a.exists_whatsapp, a.available, a.url_avatar, a.reason) == (None, None, "", None)
    assert a.to_dict() == {"urlAvatar": ""}


def test_unknown_chat_gets_default_answer(make_client):
    a = make_client().get_avatar("someone-else@c.us")
    assert (a.exists_whatsapp, a.url_avatar) == (False, "")


@pytest.mark.parametrize("phone", ["79001234567", "+79001234567"])
def test_bare_phone_numbers_are_normalised(make_client, phone):
    a = make_client().get_avatar(phone)
    assert "79001234567@c.us" in a.url_avatar
    assert a.url_avatar == URL.format("79001234567@c.us")


def test_path_prefix_in_api_url(make_client, standin):
    a = make_client(api_url=standin + "/v3/").get_avatar("79001234567@c.us")
    assert a.exists_whatsapp is True


def test_module_level_get_avatar(standin):
    a = greenapi.get_avatar(
        ID_INSTANCE, TOKEN, "+79001234567", api_url=standin, proxy="", rate_limit=0
    )
    assert a.url_avatar == URL.format("79001234567@c.us")
    with pytest.raises(greenapi.AuthError):
        greenapi.get_avatar(ID_INSTANCE, "other-token-0123456789", "1@c.us", api_url=standin, proxy="")


def test_int_id_instance(standin):
    c = greenapi.Client(int(ID_INSTANCE), TOKEN, api_url=standin, proxy="")
    assert c.id_instance == ID_INSTANCE
    assert c.get_avatar("1@c.us").exists_whatsapp is True


def test_retries_then_success_429(make_client):
    chat = f"flaky429-{uuid.uuid4().hex}@c.us"
    a = make_client(max_retries=2).get_avatar(chat)
    assert a.attempts == 2
    assert a.url_avatar == URL.format(chat)


def test_retries_then_success_503(make_client):
    chat = f"flaky503-{uuid.uuid4().hex}@c.us"
    a = make_client(max_retries=1).get_avatar(chat)
    assert a.attempts == 2
    assert a.exists_whatsapp is True


def test_no_retry_means_failure(make_client):
    chat = f"flaky429-{uuid.uuid4().hex}@c.us"
    with pytest.raises(greenapi.RateLimitedError) as e:
        make_client(max_retries=0).get_avatar(chat)
    assert e.value.attempts == 1
