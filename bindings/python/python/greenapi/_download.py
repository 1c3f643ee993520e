"""Batches of pictures: ``iter_saved_avatars`` asks GetAvatar for many chats (paced, as
``Client.iter_avatars``) and saves each picture as its link arrives, the downloads running
alongside on threads of their own (not paced: the CDN is not the service, but at most
``max_in_flight`` at once). Used by the command line's ``--download``.

A helper of its own rather than an ``iter_avatars(..., download_to=DIR)`` option: the items
``iter_avatars`` yields keep one shape, ``(chat_id, Avatar or error)``, and a program that only
wants links never starts a thread pool.
"""

import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Iterable, NamedTuple, Optional, Set, Union

from ._errors import ExpiredError, GreenApiError
from ._native import Avatar, AvatarIterator, Client, file_stem

__all__ = ["SavedAvatar", "iter_saved_avatars", "MISSING_REASONS"]

#: Why an entry has no picture: ``no_avatar`` (the service sent no link: no avatar or no
#: account), ``hidden`` (privacy settings hide it), ``expired`` (the link was expired, and so was
#: the one asked again), ``refused`` (the CDN's answer was not a picture, too large, or the host
#: was not allowed), ``error`` (GetAvatar or the download failed otherwise).
MISSING_REASONS = ("no_avatar", "hidden", "expired", "refused", "error")


class SavedAvatar(NamedTuple):
    """One entry of :func:`iter_saved_avatars`."""

    chat_id: str
    #: The GetAvatar answer (the second one if the first link had expired), or its error.
    result: Union[Avatar, GreenApiError]
    #: The picture's file (``directory / (file_stem(chat_id) + ext)``, the chat id normalised:
    #: ``79001234567`` is ``79001234567@c.us``), or None.
    path: Optional[Path]
    #: None when ``path`` is there, else one of :data:`MISSING_REASONS`.
    missing: Optional[str]
    #: The download's error, when there was one.
    error: Optional[GreenApiError] = None


def normalized(chat_id: str) -> str:
    """The chat id as the library asks it: a phone number, optionally after "+", is
    digits@c.us; any other id is itself (a refused one too)."""
    if "@" not in chat_id:
        digits = chat_id[1:] if chat_id.startswith("+") else chat_id
        if digits.isascii() and digits.isdigit():
            return digits + "@c.us"
    return chat_id


def _why(e: GreenApiError) -> str:
    if isinstance(e, ExpiredError):
        return "expired"
    if e.code in ("bad_response", "body_too_large", "invalid_argument", "http_status"):
        return "refused"
    return "error"


def _save(client: Client, chat_id: str, avatar: Avatar, directory: Path) -> SavedAvatar:
    """Saves one picture; a link found expired (before or by the CDN) is asked again once."""
    if not avatar.url_avatar:
        return SavedAvatar(chat_id, avatar, None, "hidden" if avatar.available is False else "no_avatar")
    # Named after the chat as asked, so 79001234567 and +79001234567 share one file.
    target = directory / file_stem(normalized(chat_id))
    try:
        return SavedAvatar(chat_id, avatar, client.save_avatar(avatar, target), None)
    except ExpiredError:
        pass
    except GreenApiError as e:
        return SavedAvatar(chat_id, avatar, None, _why(e), e)
    try:
        fresh = client.get_avatar(chat_id)
    except GreenApiError as e:
        return SavedAvatar(chat_id, e, None, "error", e)
    if not fresh.url_avatar:
        return _save(client, chat_id, fresh, directory)
    try:
        return SavedAvatar(chat_id, fresh, client.save_avatar(fresh, target), None)
    except GreenApiError as e:
        return SavedAvatar(chat_id, fresh, None, _why(e), e)


class SavedAvatarIterator:
    """The entries of :func:`iter_saved_avatars` as each picture is saved (or found missing).
    ``close()`` (or leaving a ``with`` block) stops the GetAvatar batch; downloads already
    started finish (each bounded by the client's timeout)."""

    def __init__(self, client: Client, chat_ids: Iterable[str], directory: Union[str, "os.PathLike[str]"]) -> None:
        self._client = client
        self._directory = Path(directory)
        if not self._directory.is_dir():
            raise NotADirectoryError(f"{self._directory} is not a directory")
        self._batch: AvatarIterator = client.iter_avatars(chat_ids)
        self._pool = ThreadPoolExecutor(max_workers=client.max_in_flight, thread_name_prefix="greenapi-download")
        self._pending: Set["Future[SavedAvatar]"] = set()
        self._exhausted = False
        self._closed = False

    @property
    def batch(self) -> AvatarIterator:
        """The GetAvatar batch underneath (``_cancel()`` it to stop asking)."""
        return self._batch

    def __iter__(self) -> "SavedAvatarIterator":
        return self

    def __enter__(self) -> "SavedAvatarIterator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self) -> Optional[SavedAvatar]:
        done = [f for f in self._pending if f.done()]
        if not done:
            return None
        self._pending.remove(done[0])
        return done[0].result()

    def __next__(self) -> SavedAvatar:
        while True:
            ready = self._take()
            if ready is not None:
                return ready
            # Keep the pool fed while there are links to fetch and room to fetch them.
            if not self._exhausted and len(self._pending) < 2 * self._client.max_in_flight:
                try:
                    chat_id, result = next(self._batch)
                except StopIteration:
                    self._exhausted = True
                    continue
                if isinstance(result, GreenApiError):
                    return SavedAvatar(chat_id, result, None, "error", result)
                self._pending.add(self._pool.submit(_save, self._client, chat_id, result, self._directory))
                continue
            if not self._pending:
                self.close()
                raise StopIteration
            wait(self._pending, return_when=FIRST_COMPLETED)

    def close(self) -> None:
        """Stops the batch, drops the downloads not started and waits for those running."""
        if self._closed:
            return
        self._closed = True
        self._batch.close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __del__(self) -> None:
        # Let go of without close(): the batch stops itself (AvatarIterator does on its own);
        # the download threads are told to end without waiting for them here.
        pool = getattr(self, "_pool", None)
        if pool is not None and not getattr(self, "_closed", True):
            pool.shutdown(wait=False, cancel_futures=True)


def iter_saved_avatars(
    client: Client, chat_ids: Iterable[str], directory: Union[str, "os.PathLike[str]"]
) -> SavedAvatarIterator:
    """Asks for the avatars of ``chat_ids`` (as :meth:`Client.iter_avatars`: paced, up to
    ``max_in_flight`` at once) and saves each picture into ``directory`` as it arrives, as
    ``file_stem(chat_id)`` plus its type's extension (:meth:`Client.save_avatar`: atomic, never
    through a symlink). Yields a :class:`SavedAvatar` per chat id as each is done. A link that
    has expired is asked again once. ``directory`` must exist."""
    return SavedAvatarIterator(client, chat_ids, directory)
