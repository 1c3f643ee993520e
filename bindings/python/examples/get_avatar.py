#!/usr/bin/env python3
"""Prints the avatar of each chat id given on the command line.

    GREEN_API_ID_INSTANCE=1101000001 GREEN_API_TOKEN=d75b3a66... \
        python3 get_avatar.py 79001234567 120363043968066561@g.us

Environment:
    GREEN_API_ID_INSTANCE   the instance id (required)
    GREEN_API_TOKEN         the instance's apiTokenInstance (required)
    GREEN_API_URL           the instance's API URL, e.g. https://7103.api.greenapi.com
                            (optional; default https://api.green-api.com)

Exit status: 0 when every chat id got an answer, 1 when some failed, 2 on a usage error.
"""

from __future__ import annotations

import os
import sys

import greenapi

DEFAULT_CHAT_IDS = ["79001234567@c.us", "120363043968066561@g.us"]


def main(argv: list[str]) -> int:
    id_instance = os.environ.get("GREEN_API_ID_INSTANCE", "")
    token = os.environ.get("GREEN_API_TOKEN", "")
    api_url = os.environ.get("GREEN_API_URL") or None
    if not id_instance or not token:
        print(
            "usage: GREEN_API_ID_INSTANCE=<id> GREEN_API_TOKEN=<token> [GREEN_API_URL=<url>] "
            f"{os.path.basename(sys.argv[0])} [chat_id ...]\n"
            "error: GREEN_API_ID_INSTANCE and GREEN_API_TOKEN must be set",
            file=sys.stderr,
        )
        return 2
    chat_ids = argv or DEFAULT_CHAT_IDS
    try:
        client = greenapi.Client(id_instance, token, api_url=api_url)
    except greenapi.GreenApiError as e:
        # Messages never contain the token, so they are safe to print.
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"greenapi {greenapi.__version__}: {client!r}")
    failed = 0
    for chat_id in chat_ids:
        try:
            avatar = client.get_avatar(chat_id)
        except greenapi.GreenApiError as e:
            failed += 1
            print(f"{chat_id}: {type(e).__name__} [{e.code}]: {e}")
            continue
        if avatar.url_avatar:
            print(f"{chat_id}: {avatar.url_avatar}")
        elif avatar.reason:
            print(f"{chat_id}: no avatar ({avatar.reason})")
        else:
            print(f"{chat_id}: no avatar {avatar.to_dict()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
