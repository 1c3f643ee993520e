#!/usr/bin/env python3
"""Avatars of many chats at once, with threads or asyncio, within the service's limit.

    GREEN_API_ID_INSTANCE=1101000001 GREEN_API_TOKEN=d75b3a66... \
        python3 many_avatars.py [--asyncio] 79001234567 120363043968066561@g.us ...

Prints one line per chat id as its result arrives (``iter_avatars``: nothing is lost when the
program is stopped half-way), then a summary from ``get_avatars`` (input order). With
``--asyncio`` the same with greenapi.AsyncClient. Chat ids come from the command line, else
one per line from stdin.

Environment: GREEN_API_ID_INSTANCE, GREEN_API_TOKEN (required), GREEN_API_URL (optional).
Exit status: 0 when every chat id got an avatar answer, 1 when some failed, 2 on a usage error.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import List, Union

import greenapi

Result = Union[greenapi.Avatar, greenapi.GreenApiError]


def describe(chat_id: str, result: Result) -> str:
    if isinstance(result, greenapi.GreenApiError):
        return f"{chat_id}: {type(result).__name__} [{result.code}]: {result}"
    return f"{chat_id}: {result.url_avatar or 'no avatar'}"


def threaded(id_instance: str, token: str, api_url: str | None, chat_ids: List[str]) -> List[Result]:
    with greenapi.Client(id_instance, token, api_url=api_url) as client:
        for chat_id, result in client.iter_avatars(chat_ids):
            print(describe(chat_id, result), flush=True)
        return client.get_avatars(chat_ids)


async def with_asyncio(id_instance: str, token: str, api_url: str | None, chat_ids: List[str]) -> List[Result]:
    async with greenapi.AsyncClient(id_instance, token, api_url=api_url) as client:
        async for chat_id, result in client.iter_avatars(chat_ids):
            print(describe(chat_id, result), flush=True)
        return await client.get_avatars(chat_ids)


def main(argv: List[str]) -> int:
    use_asyncio = "--asyncio" in argv
    args = [a for a in argv if a != "--asyncio"]
    id_instance = os.environ.get("GREEN_API_ID_INSTANCE", "")
    token = os.environ.get("GREEN_API_TOKEN", "")
    api_url = os.environ.get("GREEN_API_URL") or None
    if not id_instance or not token:
        print("error: GREEN_API_ID_INSTANCE and GREEN_API_TOKEN must be set", file=sys.stderr)
        return 2
    chat_ids = args or [line.strip() for line in sys.stdin if line.strip()]
    try:
        if use_asyncio:
            results = asyncio.run(with_asyncio(id_instance, token, api_url, chat_ids))
        else:
            results = threaded(id_instance, token, api_url, chat_ids)
    except greenapi.GreenApiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = sum(isinstance(r, greenapi.GreenApiError) for r in results)
    print(f"{len(results) - failed} of {len(results)} answered")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
