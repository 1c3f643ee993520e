"""greenapi.AsyncClient: the asyncio API, on top of the native Client.

The network wait never happens on the event loop's thread: a single call runs on one of the
client's ``max_in_flight`` worker threads (which bounds how many are in flight however many
tasks await), a batch on the native batch's own workers with one thread handing its results to
the loop. Those threads release the GIL while they wait, so the loop keeps running. Cancelling
the awaiting task cancels the request: a call not started is never sent, one in flight is
interrupted through its :class:`~greenapi._native.CancelToken` (within 50 ms), a batch is
aborted.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional, Tuple, Type, Union

from ._errors import GreenApiError
from ._native import Avatar, AvatarIterator, CancelToken, Client

if TYPE_CHECKING:
    # Type checkers only: ClientOptions exists in the stub alone, and Unpack needs Python 3.11.
    from typing_extensions import Unpack

    from ._native import ClientOptions

__all__ = ["AsyncClient", "AsyncAvatarIterator"]

Result = Union[Avatar, GreenApiError]

# Results the thread of an AsyncAvatarIterator takes from the native batch ahead of the task
# that awaits them: no more, so that an ``async for`` body that awaits holds the batch back
# (the native batch then stops sending once a few of its own results wait).
_AHEAD = 8


class _Batch:
    """The native batch of an :class:`AsyncAvatarIterator` once its thread made it, and whether
    it was asked to stop: either may come first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._native: Optional[AvatarIterator] = None
        self._cancelled = False
        # Taken by the thread before each result it fetches, given back as the task takes one.
        self.room = threading.Semaphore(_AHEAD)

    def started(self, native: AvatarIterator) -> None:
        with self._lock:
            self._native = native
            cancelled = self._cancelled
        if cancelled:
            native._cancel()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            native = self._native
        if native is not None:
            native._cancel()
        # A thread waiting for room goes on, to find the batch ended.
        self.room.release()


class AsyncAvatarIterator:
    """The results of :meth:`AsyncClient.iter_avatars`, each as it completes:
    ``async for chat_id, result in client.iter_avatars(chat_ids)``, where ``chat_id`` is the
    entry as given and ``result`` an :class:`~greenapi.Avatar` or a
    :class:`~greenapi.GreenApiError` instance (not raised). Every entry comes out once.

    The batch starts at the first ``async for`` step (or ``await``), on a thread of its own:
    turning the chat ids into the native batch never runs on the loop's thread. Leaving the loop
    early does not stop the batch by itself (an ``async for`` never closes its iterator): ``await
    it.aclose()`` does, as does letting go of the iterator. Stopping interrupts the requests in
    flight and sends no more. Cancelling a task waiting in ``async for`` loses no result: the
    next ``__anext__`` gets it.
    """

    def __init__(self, start: Callable[[], AvatarIterator], total: int) -> None:
        # Called on the thread that hands the results out, never on the loop's.
        self._make_native = start
        # What that thread shares with this iterator. Never the iterator itself: the thread
        # would keep it alive, and letting go of it would not stop the batch.
        self._batch = _Batch()
        self._total = total
        self._queue: Optional[asyncio.Queue[Any]] = None
        self._thread: Optional[threading.Thread] = None
        self._ended = False
        # The thread filling the queue runs ahead of what was handed out.
        self._done = 0

    @property
    def total(self) -> int:
        """How many chat ids the batch was given."""
        return self._total

    @property
    def done(self) -> int:
        """How many results were handed out so far."""
        return self._done

    def __aiter__(self) -> AsyncAvatarIterator:
        return self

    async def __anext__(self) -> Tuple[str, Result]:
        item = await self._next_indexed()
        if item is None:
            raise StopAsyncIteration
        return item[1], item[2]

    async def aclose(self) -> None:
        """Stops the batch: requests in flight are interrupted, no more are sent, results not
        taken yet are dropped and the iteration ends. Returns once the batch's threads are gone
        (about 0.1 s), without blocking the loop. Calling it again does nothing."""
        if self._ended:
            return
        self._cancel()
        if self._queue is None:
            # Never started: there is no batch to stop.
            self._ended = True
            return
        queue = self._start()
        while True:
            item = await queue.get()
            self._batch.room.release()
            if item is None or isinstance(item, BaseException):
                break
        self._end()

    def __del__(self) -> None:
        # Let go of without aclose(): the thread handing out the results stops the batch and
        # ends by itself.
        if not self._ended:
            self._cancel()

    def _cancel(self) -> None:
        self._batch.cancel()

    def _start(self) -> asyncio.Queue[Any]:
        """The queue the results arrive in; starts the thread that fills it."""
        if self._queue is not None:
            return self._queue
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        make, batch = self._make_native, self._batch

        def hand_out() -> None:
            # Makes the native batch (the ids' conversion and the batch's planning, seconds
            # for a million ids), then waits for each result with the GIL released and puts it
            # in the queue through the loop; None (the end) or an exception comes last.
            try:
                native = make()
            except BaseException as e:  # noqa: BLE001 - handed to the awaiting task
                loop.call_soon_threadsafe(queue.put_nowait, e)
                return
            batch.started(native)
            while True:
                batch.room.acquire()
                try:
                    item: Any = native._next_indexed()
                except BaseException as e:  # noqa: BLE001 - handed to the awaiting task
                    item = e
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                except RuntimeError:
                    # The loop is closed: nobody will take the results.
                    native.close()
                    return
                if item is None or isinstance(item, BaseException):
                    return

        self._queue = queue
        self._thread = threading.Thread(target=hand_out, name="greenapi-batch-results", daemon=True)
        self._thread.start()
        return queue

    def _end(self) -> None:
        self._ended = True
        if self._thread is not None:
            # Its last act was to hand the end over: this join does not wait.
            self._thread.join()

    async def _next_indexed(self) -> Optional[Tuple[int, str, Result]]:
        """The next ``(index, chat_id, result)``, or None at the end."""
        if self._ended:
            return None
        item = await self._start().get()
        self._batch.room.release()
        if item is None:
            self._end()
            return None
        if isinstance(item, BaseException):
            self._end()
            raise item
        index, chat_id, result = item
        self._done += 1
        return index, chat_id, result

    def __repr__(self) -> str:
        return f"AsyncAvatarIterator(done={self.done}, total={self.total})"


class AsyncClient:
    """A GetAvatar client for asyncio programs; same arguments and options as
    :class:`greenapi.Client` (see ``help(greenapi.Client)``), same errors.

    ``await client.get_avatar(chat_id)``, ``await client.get_avatars(chat_ids)``,
    ``async for chat_id, result in client.iter_avatars(chat_ids)``; ``async with`` or
    ``await client.aclose()`` to stop it.

    The event loop is never blocked: the network wait happens on other threads, with the GIL
    released. Single calls run at most ``max_in_flight`` at once however many tasks await
    (the others wait their turn without a thread); every call and batch of the client takes
    its turns from one dispatcher, round robin, in its pacing (``rate_limit``), with at most
    ``max_in_flight`` requests in flight in all.
    Cancelling the awaiting task (``asyncio.wait_for``, a ``TaskGroup`` failing) cancels the
    request. Use a client from one event loop at a time.
    """

    # What help() and inspect show: Client's own options, names and defaults, rather than
    # **options (they are passed on as given).
    __signature__ = inspect.signature(Client)

    def __init__(
        self,
        id_instance: Union[str, int],
        api_token_instance: str,
        **options: Unpack[ClientOptions],
    ) -> None:
        self._client = Client(id_instance, api_token_instance, **options)
        self._lock = threading.Lock()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pid = os.getpid()

    def _workers(self) -> Optional[ThreadPoolExecutor]:
        """The threads single calls run on (made on first use); None once closed."""
        if self._pid != os.getpid():
            # A forked child: the pool's threads (and whoever held the lock) stayed in the
            # parent. Both are left as they are, never used or shut down, and made afresh.
            self._lock = threading.Lock()
            self._pool = None
            self._pid = os.getpid()
        with self._lock:
            if self._pool is None and not self._client.closed:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._client.max_in_flight, thread_name_prefix="greenapi-async"
                )
            return self._pool

    async def get_avatar(self, chat_id: str) -> Avatar:
        """Asks the service for the avatar of ``chat_id``; see :meth:`greenapi.Client.get_avatar`
        for the chat ids taken, the :class:`~greenapi.Avatar` returned and the
        :class:`~greenapi.GreenApiError` subclasses raised (:class:`~greenapi.CancelledError`
        once the client is closed).

        The call waits on a worker thread, not the loop. Cancelling the awaiting task cancels
        the request (not sent yet: never sent; in flight: interrupted within 50 ms).
        """
        return await self._on_worker(self._client.get_avatar, self._client._get_avatar_until, chat_id)

    async def download_avatar(self, avatar: Union[Avatar, str]) -> bytes:
        """Downloads the picture of ``avatar`` (an :class:`~greenapi.Avatar` or its
        ``url_avatar``) and returns its bytes; see :meth:`greenapi.Client.download_avatar` for
        the rules and the errors (:class:`~greenapi.ExpiredError`: ask again). Waits on a
        worker thread; cancelling the awaiting task interrupts the download."""
        return await self._on_worker(
            self._client.download_avatar, self._client._download_avatar_until, avatar
        )

    async def save_avatar(self, avatar: Union[Avatar, str], path: Union[str, "os.PathLike[str]"]) -> Path:
        """Downloads the picture and saves it as ``path`` plus its type's extension, atomically
        (see :meth:`greenapi.Client.save_avatar`); returns the path written. Waits on a worker
        thread; cancelling the awaiting task interrupts the download (nothing is left behind)."""
        return await self._on_worker(
            self._client.save_avatar, self._client._save_avatar_until, avatar, path
        )

    async def _on_worker(self, direct: Callable[..., Any], until: Callable[..., Any], *args: Any) -> Any:
        """``until(*args, token)`` on a worker thread, cancelled with the awaiting task;
        ``direct(*args)`` once closed (the native call refuses at once, with the right
        exception)."""
        pool = self._workers()
        if pool is None:
            return direct(*args)
        token = CancelToken()
        try:
            # The token goes last, after the call's own arguments.
            future = asyncio.get_running_loop().run_in_executor(pool, lambda: until(*args, token))
        except RuntimeError:
            # aclose() shut the threads down meanwhile.
            return direct(*args)
        try:
            return await future
        except BaseException:
            token.cancel()
            raise

    async def get_avatars(
        self,
        chat_ids: Iterable[str],
        *,
        progress: Optional[Callable[[int, int], object]] = None,
    ) -> List[Result]:
        """Asks for the avatars of many chats at once; returns one entry per chat id, in the
        order given: the :class:`~greenapi.Avatar` or the :class:`~greenapi.GreenApiError`
        instance (not raised) saying why there is none. Refusals, duplicates, pacing and
        ``max_in_flight`` as in :meth:`greenapi.Client.get_avatars`.

        ``progress(done, total)`` is called on the loop after each result; an exception it
        raises stops the batch and propagates. Cancelling the awaiting task stops the batch
        (requests in flight interrupted) before the cancellation goes on.
        """
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be callable or None, not {type(progress).__name__}")
        it = self.iter_avatars(chat_ids)
        results: List[Optional[Result]] = [None] * it.total
        try:
            while True:
                item = await it._next_indexed()
                if item is None:
                    break
                results[item[0]] = item[2]
                if progress is not None:
                    progress(it.done, it.total)
        finally:
            await it.aclose()
        return [r for r in results if r is not None]

    def iter_avatars(self, chat_ids: Iterable[str]) -> AsyncAvatarIterator:
        """Asks for the avatars of many chats at once and yields ``(chat_id, result)`` as each
        result completes (see :class:`AsyncAvatarIterator`); refusals, duplicates and pacing
        as in :meth:`greenapi.Client.get_avatars`. The batch starts at the first ``async for``
        step, off the loop's thread; ``await it.aclose()`` (or letting go of the iterator) stops
        it. A ``chat_ids`` that is a str or not iterable raises ``TypeError`` here; an entry
        that is not a str raises it at the first step."""
        if isinstance(chat_ids, str):
            raise TypeError("chat_ids must be an iterable of str, not a str")
        try:
            # Only this copy runs on the loop's thread (the iterable may be a generator).
            ids = list(chat_ids)
        except TypeError:
            raise TypeError(f"chat_ids must be an iterable of str, not {type(chat_ids).__name__}") from None
        client = self._client
        return AsyncAvatarIterator(lambda: client.iter_avatars(ids), len(ids))

    async def aclose(self) -> None:
        """Stops the client: calls and batches in progress end promptly (their entries and
        awaiting tasks get :class:`~greenapi.CancelledError`), and so does every later call.
        Returns once the client's worker threads are gone. Calling it again does nothing."""
        self._client.close()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            # The calls in flight end within 50 ms of close(); wait for their threads off the loop.
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._client.closed

    @property
    def id_instance(self) -> str:
        """The instance id this client calls."""
        return self._client.id_instance

    @property
    def host(self) -> str:
        """The host of the API URL this client calls."""
        return self._client.host

    @property
    def max_in_flight(self) -> int:
        """The most requests of this client in flight at once (single calls and batches)."""
        return self._client.max_in_flight

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        """Closes the client; an exception from the ``async with`` block goes on."""
        await self.aclose()

    def __repr__(self) -> str:
        return "Async" + repr(self._client)
