"""help() explains the API at run time: docstrings on the compiled classes, their methods and
properties, and on greenapi.get_avatar (the .pyi stubs only help type checkers and IDEs)."""

from __future__ import annotations

import inspect
import pydoc
import re

import pytest

import greenapi

OPTIONS = {
    # option: what its entry must mention (default, unit, bounds)
    "api_url": ["https://api.green-api.com", "http://", "loopback"],
    "timeout": ["30", "seconds", "1 ms", "one day"],
    "connect_timeout": ["10", "seconds", "1 ms", "one day"],
    "max_retries": ["2", "0 to 10"],
    "rate_limit": ["10", "per second", "1/3600", "10000", "0"],
    "user_agent": ["greenapi/"],
    "ca_file": ["PEM"],
    "proxy": ["ALL_PROXY", "HTTPS_PROXY", '""'],
    "max_body_bytes": ["1048576", "bytes"],
    "allow_insecure_http": ["False", "http://"],
    "max_in_flight": ["64", "1 to 256", "batch", "AsyncClient", "latency"],
    "pacing": ["'host'", "'process'", "id_instance", "process", "GREENAPI_RUNTIME_DIR"],
    "download_hosts": ["whatsapp.net", "list or tuple", "redirects", "https"],
    "max_download_bytes": ["5242880", "bytes", "64 MiB", "body_too_large"],
}


def option_entries(doc: str) -> dict:
    """The Client docstring's option entries: a line ``name=default`` and its indented text."""
    entries = {}
    for m in re.finditer(r"^(\w+)=(\S+)\n((?:[ \t]+\S.*\n?)+)", doc, re.M):
        entries[m[1]] = m[0]
    return entries


def test_client_doc_lists_every_option_with_default_unit_and_bounds():
    doc = greenapi.Client.__doc__
    assert doc
    entries = option_entries(doc)
    assert set(entries) == set(OPTIONS), entries.keys()
    for name, facts in OPTIONS.items():
        for fact in facts:
            assert fact.lower() in entries[name].lower(), (name, fact, entries[name])


def test_client_doc_defaults_match_the_signature():
    entries = option_entries(greenapi.Client.__doc__)
    params = inspect.signature(greenapi.Client).parameters
    for name in OPTIONS:
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert entries[name].startswith(f"{name}={params[name].default!r}\n"), entries[name]


def test_client_doc_explains_arguments_threads_and_errors():
    doc = greenapi.Client.__doc__
    for fact in ["id_instance", "api_token_instance", "thread", "GIL", "InvalidArgumentError", "TypeError"]:
        assert fact in doc, fact


def test_client_get_avatar_doc():
    doc = greenapi.Client.get_avatar.__doc__
    assert doc
    facts = ["chat_id", "@c.us", "@g.us", "@lid", "Avatar", "GIL", "GreenApiError", "InvalidArgumentError",
             "TimeoutError", "retries"]
    for fact in facts:
        assert fact in doc, fact


def test_module_get_avatar_doc():
    doc = greenapi.get_avatar.__doc__
    assert doc
    for fact in ["Client", "Avatar", "GreenApiError", "GIL", "options"]:
        assert fact in doc, fact


@pytest.mark.parametrize(
    "name, facts",
    [
        ("exists_whatsapp", ["WhatsApp", "None"]),
        ("available", ["privacy", "None"]),
        ("url_avatar", ['""']),
        ("reason", ["bad request data", "None"]),
        ("http_status", ["HTTP", "200"]),
        ("attempts", ["retries"]),
    ],
)
def test_avatar_property_docs(name, facts):
    prop = getattr(greenapi.Avatar, name)
    doc = prop.__doc__
    assert doc, name
    for fact in facts:
        assert fact in doc, (name, fact)


def test_avatar_doc():
    doc = greenapi.Avatar.__doc__
    assert doc
    for fact in ["existsWhatsapp", "available", "pickle", "None"]:
        assert fact in doc, fact
    assert greenapi.Avatar.to_dict.__doc__
    assert "urlAvatar" in greenapi.Avatar.to_dict.__doc__


def test_client_property_docs():
    assert "instance" in greenapi.Client.id_instance.__doc__
    assert "host" in greenapi.Client.host.__doc__
    assert "batch" in greenapi.Client.max_in_flight.__doc__


@pytest.mark.parametrize(
    "method, facts",
    [
        (greenapi.Client.get_avatars,
         ["order given", "progress", "InvalidArgumentError", "max_in_flight", "pacing", "Ctrl-C", "TypeError", "once"]),
        (greenapi.Client.iter_avatars, ["chat_id", "complete", "Ctrl-C", "close()", "thread"]),
        (greenapi.AvatarIterator, ["Avatar", "GreenApiError", "close()", "thread"]),
        (greenapi.AvatarIterator.close, ["interrupted", "thread"]),
        (greenapi.AsyncClient, ["asyncio", "Client", "max_in_flight", "loop", "Cancelling", "pacing", "aclose"]),
        (greenapi.AsyncClient.get_avatar, ["chat_id", "Cancelling", "Avatar", "GreenApiError"]),
        (greenapi.AsyncClient.get_avatars, ["order", "progress", "Cancelling"]),
        (greenapi.AsyncClient.iter_avatars, ["as each", "aclose"]),
        (greenapi.AsyncClient.aclose, ["CancelledError", "threads"]),
        (greenapi.AsyncAvatarIterator, ["async for", "aclose", "interrupts"]),
    ],
)
def test_batch_and_asyncio_docs(method, facts):
    doc = method.__doc__
    assert doc, method
    for fact in facts:
        assert fact in doc, (method, fact)


def test_batch_signatures_are_introspectable():
    assert str(inspect.signature(greenapi.Client.get_avatars)) == "(self, /, chat_ids, *, progress=None)"
    assert str(inspect.signature(greenapi.Client.iter_avatars)) == "(self, /, chat_ids)"


def test_render_doc():
    text = pydoc.render_doc(greenapi.Client, renderer=pydoc.plaintext)
    for name in OPTIONS:
        assert name in text
    assert "get_avatar" in text and "GreenApiError" in text
    avatar = pydoc.render_doc(greenapi.Avatar, renderer=pydoc.plaintext)
    assert "bad request data" in avatar and "privacy" in avatar
    module = pydoc.render_doc(greenapi, renderer=pydoc.plaintext)
    assert "get_avatar" in module and "Client" in module


def test_signatures_are_introspectable():
    assert str(inspect.signature(greenapi.Avatar)).startswith("(*, url_avatar=''")
    assert str(inspect.signature(greenapi.Client.get_avatar)) == "(self, /, chat_id)"
