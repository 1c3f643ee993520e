"""The compiled part of greenapi (Rust, via PyO3). Import from ``greenapi`` instead."""

import os
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Literal,
    Optional,
    Tuple,
    Type,
    TypedDict,
    Union,
    final,
    type_check_only,
)

from typing_extensions import Unpack

from ._errors import GreenApiError
from ._stats import Stats

__version__: str
__all__ = ["Avatar", "AvatarIterator", "CancelToken", "Client", "_panic_for_tests", "file_stem", "__version__"]

@final
class Avatar:
    """What the service answered to GetAvatar (HTTP 200). Immutable; equal and hashable by value.

    Both answer shapes map onto it: the older one (``existsWhatsapp``, ``urlAvatar``,
    ``reason``) and the newer one (``urlAvatar``, ``available``). A field the answer did not
    carry (or carried as ``null``) is ``None``. It pickles and copies (all six fields), so it
    can come back from a process pool.
    """

    def __new__(
        cls,
        *,
        url_avatar: str = "",
        exists_whatsapp: Optional[bool] = None,
        available: Optional[bool] = None,
        reason: Optional[str] = None,
        http_status: int = 200,
        attempts: int = 1,
    ) -> Avatar: ...
    @property
    def exists_whatsapp(self) -> Optional[bool]:
        """The number has a WhatsApp account (older answers only)."""
    @property
    def available(self) -> Optional[bool]:
        """``False`` when privacy settings hide the avatar (newer answers only)."""
    @property
    def url_avatar(self) -> str:
        """Link to the picture; ``""`` when there is none, it is hidden, or there is no account."""
    @property
    def reason(self) -> Optional[str]:
        """Why the service could not check, e.g. ``"bad request data"``; ``None`` when it could."""
    @property
    def expires_at(self) -> Optional[datetime]:
        """When the link stops working (its ``oe=`` parameter), an aware UTC ``datetime``;
        ``None`` when the URL has none. Read from ``url_avatar``: not a field of its own."""
    @property
    def http_status(self) -> int:
        """HTTP status of the answer (200)."""
    @property
    def attempts(self) -> int:
        """HTTP attempts made: 1 + retries."""
    def to_dict(self) -> Dict[str, Union[str, bool]]:
        """The answer with the service's own keys.

        ``"urlAvatar"`` is always present (``""`` when there is no avatar); ``"existsWhatsapp"``,
        ``"available"`` and ``"reason"`` are present only when their value is not ``None``. So
        either answer shape comes back as the service sent it::

            {"existsWhatsapp": True, "urlAvatar": "https://..."}     # older shape
            {"urlAvatar": "https://...", "available": True}          # newer shape
            {"existsWhatsapp": False, "urlAvatar": "", "reason": "bad request data"}

        (A key the service sent as ``null`` is left out, like a missing one.)
        """
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]: ...

@type_check_only
class ClientOptions(TypedDict, total=False):
    """The keyword options of :class:`Client` (also of :func:`greenapi.get_avatar` and
    :class:`greenapi.AsyncClient`), with their defaults; ``help(greenapi.Client)`` says what
    each one does, its unit and bounds. Only for type checkers: it does not exist at run time.
    """

    api_url: Optional[str]  # None
    timeout: float  # 30.0
    connect_timeout: float  # 10.0
    max_retries: int  # 2
    rate_limit: float  # 10.0
    user_agent: Optional[str]  # None
    ca_file: Optional[Union[str, os.PathLike[str]]]  # None
    proxy: Optional[str]  # None
    max_body_bytes: int  # 1048576
    allow_insecure_http: bool  # False
    max_in_flight: int  # 64
    # 'host', 'process' or 'redis://[user:password@]host[:port][/db]'
    pacing: str  # 'host'
    # more hosts pictures may come from, besides whatsapp.net (each with the names under it)
    download_hosts: Union[List[str], Tuple[str, ...]]  # ()
    max_download_bytes: int  # 5242880

@final
class Client:
    """A GetAvatar client for one instance. Share one between threads: calls release the GIL,
    connections are pooled and kept alive, and pacing (``rate_limit``) is shared by all callers.

    ``id_instance``: the instance id (digits; an ``int`` is accepted too).
    ``api_token_instance``: the instance's token (16 to 512 of A-Z a-z 0-9 - . _ ~); never shown by
    ``repr`` nor in any exception message. The options (keyword-only) are :class:`ClientOptions`;
    ``help(greenapi.Client)`` explains each.

    Raises :class:`greenapi.InvalidArgumentError` for a refused value and ``TypeError`` for a
    value of the wrong type.
    """

    def __new__(
        cls,
        id_instance: Union[str, int],
        api_token_instance: str,
        **options: Unpack[ClientOptions],
    ) -> Client: ...
    @staticmethod
    def _resolved(
        id_instance: Union[str, int],
        api_token_instance: str,
        **options: Unpack[ClientOptions],
    ) -> Tuple[str, Tuple[object, ...], Tuple[object, ...]]:
        """The arguments as the Client takes them, the token left out; for the one-shot cache."""
    def get_avatar(self, chat_id: str) -> Avatar:
        """Asks the service for the avatar of ``chat_id``.

        ``chat_id``: ``79001234567@c.us``, ``120363043968066561@g.us``,
        ``79001234567-1581234048@g.us``, ``120650379300963@lid``, or a bare phone number
        (``79001234567`` or ``+79001234567``, sent as ``79001234567@c.us``).

        Returns the :class:`Avatar`; raises a :class:`greenapi.GreenApiError` subclass on
        failure (:class:`greenapi.CancelledError` once the client is closed). The GIL is
        released during the call. A signal that arrives meanwhile (Ctrl-C) stops the call
        within about 0.1 s and its handler's exception (``KeyboardInterrupt``) is raised.
        """
    def _get_avatar_until(self, chat_id: str, token: CancelToken) -> Avatar:
        """:meth:`get_avatar`, also ended (``CancelledError``) by ``token.cancel()``; for
        greenapi's asyncio layer."""
    def download_avatar(self, avatar: Union[Avatar, str]) -> bytes:
        """Downloads the picture ``avatar`` links to (an :class:`Avatar` or its ``url_avatar``):
        https only, to ``whatsapp.net`` or a ``download_hosts`` entry (redirects too, at most
        3); JPEG, PNG or WebP by type and first bytes; at most ``max_download_bytes``. Raises
        :class:`greenapi.ExpiredError` for a link past ``expires_at`` (not asked) or one the
        CDN answers 403/404/410 for; :class:`greenapi.BadResponseError` for what is not a
        picture; :class:`greenapi.InvalidArgumentError` for an empty link or a host not allowed.
        The token is never sent there."""
    def save_avatar(self, avatar: Union[Avatar, str], path: Union[str, os.PathLike[str]]) -> Path:
        """Downloads as :meth:`download_avatar` and saves it as ``path`` plus its type's
        extension (``.jpg``, ``.png``, ``.webp``), written to a temporary file in the same
        directory, flushed and renamed into place (a symlink at the final name is replaced,
        not followed). Returns the path written."""
    def _download_avatar_until(self, avatar: Union[Avatar, str], token: CancelToken) -> bytes:
        """:meth:`download_avatar`, also ended by ``token.cancel()``; for the asyncio layer."""
    def _save_avatar_until(
        self, avatar: Union[Avatar, str], path: Union[str, os.PathLike[str]], token: CancelToken
    ) -> Path:
        """:meth:`save_avatar`, also ended by ``token.cancel()``; for the asyncio layer."""
    def get_avatars(
        self,
        chat_ids: Iterable[str],
        *,
        progress: Optional[Callable[[int, int], object]] = None,
    ) -> List[Union[Avatar, GreenApiError]]:
        """Asks for the avatars of many chats at once: one entry per chat id, in the order
        given, the :class:`Avatar` or the :class:`greenapi.GreenApiError` instance (not raised)
        saying why there is none.

        A malformed id gets :class:`greenapi.InvalidArgumentError` and is not sent; ids equal
        after normalisation are asked once. Up to ``max_in_flight`` requests in flight, in the
        client's pacing, GIL released. ``progress(done, total)`` is called on the calling
        thread after each result; an exception it raises stops the batch and propagates. A
        signal (Ctrl-C) stops the batch within about 0.1 s and leaves no thread running.
        """
    def iter_avatars(self, chat_ids: Iterable[str]) -> AvatarIterator:
        """Like :meth:`get_avatars`, but yields ``(chat_id, result)`` as each result completes;
        breaking out of the loop, ``close()`` or Ctrl-C stop the batch within about 0.1 s."""
    def close(self) -> None:
        """Stops the client: calls in progress on other threads raise
        :class:`greenapi.CancelledError` promptly, and so does every later call."""
    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
    def __enter__(self) -> Client: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Literal[False]:
        """Closes the client; an exception from the ``with`` block goes on (never swallowed)."""
    def stats(self) -> Stats:
        """What this client did so far (a frozen :class:`greenapi.Stats`): calls, attempts,
        retries, answers and failures by code, 429s, pacing waits, connections, TLS
        handshakes, bytes, requests in flight now and the rate in force now."""
    @property
    def id_instance(self) -> str:
        """The instance id this client calls."""
    @property
    def host(self) -> str:
        """The host of the API URL this client calls."""
    @property
    def max_in_flight(self) -> int:
        """The most requests of this client in flight at once, batches and single calls
        together (the ``max_in_flight`` option)."""
    @property
    def pacing(self) -> Literal["host", "process", "redis"]:
        """The pacing in force in this process: ``'redis'`` (a Redis pacing while Redis
        answers), ``'host'`` (shared by every client for the instance on this machine; also a
        Redis pacing while Redis cannot be reached) or ``'process'`` (this client alone)."""

@final
class AvatarIterator:
    """The results of :meth:`Client.iter_avatars`, each as it completes: ``(chat_id, result)``,
    ``result`` an :class:`Avatar` or a :class:`greenapi.GreenApiError` instance (not raised).

    Stopping it (``close()``, the end of a ``with`` block, Ctrl-C while it waits, or letting go
    of it, which CPython does once the last reference is gone) interrupts the requests in
    flight, sends no more and leaves no thread running. A ``break`` out of a ``for`` over an
    iterator held in a variable does not stop it: use ``with client.iter_avatars(ids) as it:``.
    """

    def __iter__(self) -> AvatarIterator: ...
    def __enter__(self) -> AvatarIterator: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
    def __next__(self) -> Tuple[str, Union[Avatar, GreenApiError]]: ...
    def _next_indexed(self) -> Optional[Tuple[int, str, Union[Avatar, GreenApiError]]]:
        """The next ``(index, chat_id, result)``; None at the end. For the asyncio layer."""
    def close(self) -> None:
        """Stops the batch and waits for its threads; the iteration ends. Idempotent."""
    def _cancel(self) -> None:
        """Asks the batch to stop without waiting. For the asyncio layer."""
    @property
    def total(self) -> int:
        """How many chat ids the batch was given."""
    @property
    def done(self) -> int:
        """How many results were handed out so far."""

@final
class CancelToken:
    """Stops one :meth:`Client._get_avatar_until` call within 50 ms of :meth:`cancel`."""

    def __new__(cls) -> CancelToken: ...
    def cancel(self) -> None:
        """Stops the call this token was given to."""
    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""

def file_stem(chat_id: str) -> str:
    """A safe file name (no extension) for ``chat_id``'s picture: characters other than ASCII
    letters, digits and ``@ . _ + -`` become ``_``, a leading ``.`` too, at most 100 bytes."""

def _panic_for_tests() -> None:
    """Test hook: panics inside the core-call wrapper; raises GreenApiError(code="panic")."""
