"""greenapi: a native client for the Green API WhatsApp gateway's GetAvatar method."""

import os
from typing import Optional, Union

from ._errors import AuthError as AuthError
from ._errors import BadRequestError as BadRequestError
from ._errors import BadResponseError as BadResponseError
from ._errors import CancelledError as CancelledError
from ._errors import GreenApiError as GreenApiError
from ._errors import HttpStatusError as HttpStatusError
from ._errors import InvalidArgumentError as InvalidArgumentError
from ._errors import NotFoundError as NotFoundError
from ._errors import QuotaExceededError as QuotaExceededError
from ._errors import RateLimitedError as RateLimitedError
from ._errors import ServerError as ServerError
from ._errors import TimeoutError as TimeoutError
from ._errors import TransportError as TransportError
from ._async import AsyncAvatarIterator as AsyncAvatarIterator
from ._async import AsyncClient as AsyncClient
from ._native import Avatar as Avatar
from ._native import AvatarIterator as AvatarIterator
from ._native import Client as Client
from ._native import __version__ as __version__

__all__ = [
    "__version__",
    "Avatar",
    "Client",
    "AvatarIterator",
    "AsyncClient",
    "AsyncAvatarIterator",
    "get_avatar",
    "GreenApiError",
    "CancelledError",
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
    ca_file: Optional[Union[str, os.PathLike[str]]] = None,
    proxy: Optional[str] = None,
    max_body_bytes: int = 1048576,
    allow_insecure_http: bool = False,
) -> Avatar:
    """One GetAvatar call with a throw-away :class:`Client` (same options); returns the
    :class:`Avatar` or raises a :class:`GreenApiError` subclass; the GIL is released meanwhile.
    For more than one call, make a Client once and reuse it."""
