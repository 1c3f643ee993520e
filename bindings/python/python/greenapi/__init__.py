"""greenapi: a native client for the Green API WhatsApp gateway's GetAvatar method.

    import greenapi

    avatar = greenapi.get_avatar("1101000001", "d75b3a66...", "79001234567")
    print(avatar.url_avatar)

    client = greenapi.Client("1101000001", "d75b3a66...", api_url="https://7103.api.greenapi.com")
    for chat_id in ("79001234567@c.us", "120363043968066561@g.us"):
        print(client.get_avatar(chat_id))

    # Many at once, within the service's limit: in input order, or each as it completes.
    results = client.get_avatars(["79001234567", "120363043968066561@g.us"])
    for chat_id, result in client.iter_avatars(["79001234567", "120363043968066561@g.us"]):
        print(chat_id, result)

    # asyncio
    async with greenapi.AsyncClient("1101000001", "d75b3a66...") as aclient:
        avatar = await aclient.get_avatar("79001234567")

The work is done by the Rust core (HTTP keep-alive, pacing, retries, token scrubbing); calls
release the GIL, so threads sharing one Client run in parallel.
"""

from __future__ import annotations

import os
from typing import Optional, Union

from ._errors import (
    AuthError,
    BadRequestError,
    BadResponseError,
    CancelledError,
    GreenApiError,
    HttpStatusError,
    InvalidArgumentError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    TimeoutError,
    TransportError,
)
from ._async import AsyncAvatarIterator, AsyncClient
from ._native import Avatar, AvatarIterator, Client, __version__

__all__ = [
    "__version__",
    "Avatar",
    "Client",
    "AvatarIterator",
    "AsyncClient",
    "AsyncAvatarIterator",
    "get_avatar",
    "GreenApiError",
    "InvalidArgumentError",
    "TransportError",
    "TimeoutError",
    "AuthError",
    "BadRequestError",
    "NotFoundError",
    "RateLimitedError",
    "QuotaExceededError",
    "ServerError",
    "HttpStatusError",
    "BadResponseError",
    "CancelledError",
]


def get_avatar(
    id_instance: Union[str, int],
    api_token_instance: str,
    chat_id: str,
    *,
    api_url: Optional[str] = None,
    timeout: float = 30.0,
    connect_timeout: float = 10.0,
    max_retries: int = 2,
    rate_limit: float = 10.0,
    user_agent: Optional[str] = None,
    ca_file: Optional[Union[str, "os.PathLike[str]"]] = None,
    proxy: Optional[str] = None,
    max_body_bytes: int = 1048576,
    allow_insecure_http: bool = False,
) -> Avatar:
    """Asks the service for the avatar of ``chat_id`` with a throw-away :class:`Client`.

    Same as ``Client(id_instance, api_token_instance, **options).get_avatar(chat_id)``: the
    options (keyword-only) are the Client's, with the same defaults, units and bounds (see
    ``help(greenapi.Client)``). Returns an :class:`Avatar`; raises a
    :class:`GreenApiError` subclass (:class:`InvalidArgumentError` for a refused argument or
    option, nothing sent) or ``TypeError``, as ``Client.get_avatar`` does. The GIL is
    released while the call waits on the network.

    For more than one call, make a Client once and reuse it: it keeps the connection alive
    and paces all calls together.
    """
    client = Client(
        id_instance,
        api_token_instance,
        api_url=api_url,
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_retries=max_retries,
        rate_limit=rate_limit,
        user_agent=user_agent,
        ca_file=ca_file,
        proxy=proxy,
        max_body_bytes=max_body_bytes,
        allow_insecure_http=allow_insecure_http,
    )
    return client.get_avatar(chat_id)
