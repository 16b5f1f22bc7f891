# SPDX-License-Identifier: MIT
"""Adapter glue: :class:`Shutdown`, a switch that ends every stream watching it.

Shared by the ASGI and WSGI adapters (re-exported by both), so one switch can
end streams served from threads and from event loops alike.  Not part of the
sans-IO core: it imports :mod:`threading`, and :mod:`asyncio` when awaited.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Callable, List, Tuple

if TYPE_CHECKING:  # pragma: no cover
    import asyncio

__all__ = ("Shutdown",)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Shutdown:
    """Ends every open stream given it as ``shutdown=``, when triggered.

    Call :meth:`trigger` from any thread (a signal handler, a lifespan
    shutdown hook, a server's exit hook): ASGI streams end at once, WSGI streams
    at their next item or heartbeat.  Each ends cleanly: the client sees the
    response finish, and the source is closed.  Once triggered it stays
    triggered, and new streams given it end straight away.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._waiters: List[Tuple[Any, asyncio.Future[None]]] = []
        self._callbacks: List[Callable[[], None]] = []

    @property
    def triggered(self) -> bool:
        """True once :meth:`trigger` was called."""
        return self._event.is_set()

    def trigger(self) -> None:
        """End every stream watching this switch (idempotent, thread-safe)."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            waiters, self._waiters = self._waiters, []
            callbacks, self._callbacks = self._callbacks, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop has no waiter left
                loop.call_soon_threadsafe(_resolve, future)
        for callback in callbacks:
            callback()

    async def wait(self) -> None:
        """Return once :meth:`trigger` has been called."""
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:  # so a trigger() in another thread sees the waiter or is seen
            if self._event.is_set():
                return
            self._waiters.append(entry)
        try:
            await future
        finally:
            with self._lock:
                if entry in self._waiters:
                    self._waiters.remove(entry)

    def add_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (from the triggering thread) on :meth:`trigger`.

        Calls it at once if already triggered.  Returns a function that
        removes the callback.
        """
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)

                def remove() -> None:
                    with self._lock:
                        if callback in self._callbacks:
                            self._callbacks.remove(callback)

                return remove
        callback()
        return lambda: None
