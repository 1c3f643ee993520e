"""Work for a process pool (tests/test_pickling.py): module-level, so a child process can import
it by name and pickle what it returns or raises back to the parent."""

from __future__ import annotations

import greenapi
from conftest import ID_INSTANCE, TOKEN


def _client(api_url: str, max_retries: int) -> greenapi.Client:
    return greenapi.Client(
        ID_INSTANCE, TOKEN, api_url=api_url, proxy="", rate_limit=0, max_retries=max_retries
    )


def fetch_avatar(api_url: str, chat_id: str) -> greenapi.Avatar:
    """A real call from the child process; one retry allowed."""
    return _client(api_url, 1).get_avatar(chat_id)


def fetch_failing(api_url: str) -> greenapi.Avatar:
    """A real call that raises in the child process: the stand-in answers 503 every time, so
    this raises ServerError(code "server_error", http_status 503, attempts 2)."""
    return _client(api_url, 1).get_avatar("status-503@c.us")
