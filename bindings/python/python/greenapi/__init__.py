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

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Tuple, Union

from ._async import AsyncAvatarIterator, AsyncClient
from ._download import SavedAvatar, SavedAvatarIterator, iter_saved_avatars
from ._errors import (
    AuthError,
    BadRequestError,
    BadResponseError,
    CancelledError,
    ExpiredError,
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
from ._native import Avatar, AvatarIterator, Client, __version__, file_stem
from ._stats import Stats

# Events go to this logger (see the README, "Observing it"): nothing is shown unless the host
# configures logging, and nothing at INFO for every request.
logging.getLogger("greenapi").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    # Type checkers only: ClientOptions exists in the stub alone, and Unpack needs Python 3.11.
    from typing_extensions import Unpack

    from ._native import ClientOptions

__all__ = [
    "__version__",
    "Avatar",
    "Client",
    "Stats",
    "AvatarIterator",
    "AsyncClient",
    "AsyncAvatarIterator",
    "get_avatar",
    "file_stem",
    "iter_saved_avatars",
    "SavedAvatar",
    "SavedAvatarIterator",
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
    "ExpiredError",
]


def get_avatar(
    id_instance: Union[str, int],
    api_token_instance: str,
    chat_id: str,
    **options: Unpack[ClientOptions],
) -> Avatar:
    """Asks the service for the avatar of ``chat_id`` with a cached :class:`Client`.

    Same as ``Client(id_instance, api_token_instance, **options).get_avatar(chat_id)``: the
    options (keyword-only) are the Client's, with the same defaults, units and bounds (see
    ``help(greenapi.Client)``). Returns an :class:`Avatar`; raises a
    :class:`GreenApiError` subclass (:class:`InvalidArgumentError` for a refused argument or
    option, nothing sent) or ``TypeError``, as ``Client.get_avatar`` does. The GIL is
    released while the call waits on the network.

    Calls with the same arguments and options (the chat id aside) share one cached Client, so
    a loop of them keeps its connection alive and is paced as one client; options are compared
    as the Client takes them (``timeout=30`` is ``timeout=30.0``, and ``None`` is the default).
    The cache holds the last 16 sets of settings; its keys hold a salted digest of the token,
    never the token. A ``ca_file`` is read when its Client is made, not again.
    """
    # Raises what Client(...) would for an argument of the wrong type, before anything is cached.
    resolved = Client._resolved(id_instance, api_token_instance, **options)
    digest = hashlib.blake2b(api_token_instance.encode(), key=_one_shot_salt).digest()
    key = (resolved, digest)
    with _one_shot_lock:
        client = _one_shot_cache.get(key)
        if client is not None:
            _one_shot_cache.move_to_end(key)
    if client is None:
        client = Client(id_instance, api_token_instance, **options)
        with _one_shot_lock:
            _one_shot_cache[key] = client
            while len(_one_shot_cache) > _ONE_SHOT_CLIENTS:
                _one_shot_cache.popitem(last=False)
    return client.get_avatar(chat_id)


# The clients of get_avatar(...), most recently used last.
_ONE_SHOT_CLIENTS = 16
_one_shot_cache: OrderedDict[Tuple[object, bytes], Client] = OrderedDict()
_one_shot_lock = threading.Lock()
# Salts the token's digest, so that a key shown somewhere cannot be checked against a guess
# from outside this process.
_one_shot_salt = os.urandom(16)
