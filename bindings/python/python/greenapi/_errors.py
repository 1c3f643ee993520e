"""Exceptions raised by greenapi.

Every exception is a :class:`GreenApiError` with three attributes:

``code``
    the name of the C API's code in lower case: ``"invalid_argument"``, ``"timeout"``,
    ``"network"``, ``"tls"``, ``"bad_request"``, ``"unauthorized"``, ``"forbidden"``,
    ``"not_found"``, ``"rate_limited"``, ``"quota_exceeded"``, ``"server_error"``,
    ``"http_status"``, ``"bad_response"``, ``"body_too_large"``, ``"cancelled"``, ``"expired"``
    or ``"panic"``;
``http_status``
    the status of the last HTTP response, or ``None`` when none arrived;
``attempts``
    HTTP attempts made (0 when the call was refused before anything was sent).

Messages never contain the API token, even when the server echoed it.
"""

from __future__ import annotations

import builtins
from typing import Any, Optional, Tuple

__all__ = [
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


class GreenApiError(Exception):
    """Base class of every greenapi error."""

    code: str = "unknown"
    http_status: Optional[int]
    attempts: int

    def __init__(
        self,
        message: str = "",
        code: Optional[str] = None,
        http_status: Optional[int] = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.http_status = http_status
        self.attempts = attempts

    @property
    def message(self) -> str:
        """The message, as ``str(exc)``."""
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.message, self.code, self.http_status, self.attempts))


class InvalidArgumentError(GreenApiError, ValueError):
    """An argument or option was refused before anything was sent (code ``invalid_argument``)."""

    code = "invalid_argument"


class TransportError(GreenApiError):
    """The exchange failed below HTTP: codes ``network`` and ``tls`` (and ``timeout``)."""

    code = "network"


class TimeoutError(TransportError, builtins.TimeoutError):
    """An attempt took longer than the timeout (code ``timeout``); also the builtin TimeoutError."""

    code = "timeout"


class AuthError(GreenApiError):
    """HTTP 401 (code ``unauthorized``: wrong token) or 403 (code ``forbidden``: wrong id or URL)."""

    code = "unauthorized"


class BadRequestError(GreenApiError):
    """HTTP 400 (code ``bad_request``)."""

    code = "bad_request"


class NotFoundError(GreenApiError):
    """HTTP 404: wrong method or path (code ``not_found``)."""

    code = "not_found"


class RateLimitedError(GreenApiError):
    """HTTP 429, still after every retry (code ``rate_limited``)."""

    code = "rate_limited"


class QuotaExceededError(GreenApiError):
    """HTTP 466: the plan's quota is used up (code ``quota_exceeded``)."""

    code = "quota_exceeded"


class ServerError(GreenApiError):
    """HTTP 5xx, still after every retry (code ``server_error``)."""

    code = "server_error"


class HttpStatusError(GreenApiError):
    """Any other status that is not 200, redirects included (code ``http_status``)."""

    code = "http_status"


class BadResponseError(GreenApiError):
    """HTTP 200 whose body is not a GetAvatar answer (``bad_response``) or is too large
    (``body_too_large``)."""

    code = "bad_response"


class CancelledError(GreenApiError):
    """The call was stopped before it had an answer because its Client was closed, before or
    during the call (code ``cancelled``). A Ctrl-C during a call raises ``KeyboardInterrupt``
    itself, not this."""

    code = "cancelled"


class ExpiredError(GreenApiError):
    """A picture's link has expired (code ``expired``): its ``oe=`` time is past, so it was not
    even asked, or the CDN answered 403, 404 or 410 for it. Ask ``get_avatar`` again for a new
    link."""

    code = "expired"
