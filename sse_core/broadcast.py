# SPDX-License-Identifier: MIT
"""In-process fan-out with replay: publish once, every subscriber's stream gets it.

:class:`Broadcaster` is the thread-safe, asyncio-aware shell around the sans-IO
bookkeeping in :mod:`sse_core._fanout` (IDs, replay buffer, bounded queues, the
full-queue policy).  This module owns only locking and waking: a
:class:`threading.Event` for subscribers iterated from threads (WSGI), an
:class:`asyncio.Event` for subscribers iterated on an event loop (ASGI).

A subscription is a source for either adapter::

    hub = Broadcaster()

    # ASGI (Starlette)
    async def events(request):
        return asgi.EventStreamResponse(hub.subscribe(asgi.last_event_id(request.scope)))

    # WSGI (Flask)
    @app.get("/events")
    def events():
        return wsgi.EventStreamResponse(hub.subscribe(wsgi.last_event_id(request.environ)))

    hub.publish("step 1 done")        # from any thread or coroutine; never blocks

The interface a multi-process backend (Redis streams, PostgreSQL
``LISTEN``/``NOTIFY``) would implement is just :meth:`Broadcaster.publish`,
:meth:`Broadcaster.subscribe` returning something iterable both ways, and
:meth:`Broadcaster.close`; IDs are opaque strings to the adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import AsyncIterator, Callable, Dict, Iterator, List, Optional, Tuple

from ._events import Event
from ._fanout import DEFAULT_QUEUE_SIZE, DEFAULT_REPLAY, FanoutCore, Member

__all__ = (
    "Broadcaster",
    "Subscription",
    "RedisBroadcaster",
    "BroadcastUnavailable",
    "DEFAULT_REPLAY",
    "DEFAULT_QUEUE_SIZE",
)

#: Seconds a thread-side subscription waits before yielding ``None`` (which
#: lets the WSGI adapter send a heartbeat or notice a departed client).
DEFAULT_IDLE_TIMEOUT = 1.0


class Broadcaster:
    """Publish events to every subscriber, keeping a replay buffer.

    Args:
        replay: how many recent events to keep for clients that reconnect
            with a ``Last-Event-ID`` (0 disables replay).
        queue_size: how many events one subscriber may have waiting.
        policy: what happens when a subscriber's queue is full:
            ``"disconnect"`` (default) ends that subscriber's stream so its
            client reconnects and catches up from the replay buffer;
            ``"drop_oldest"`` drops its oldest waiting event.  Either way a
            slow subscriber never blocks :meth:`publish` or other subscribers.
        idle_timeout: seconds a thread-side subscription waits for an event
            before yielding ``None`` (see :class:`Subscription`).

    Events get consecutive integer IDs ``"1"``, ``"2"``, ... in publish order.
    All methods are thread-safe.

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        *,
        replay: int = DEFAULT_REPLAY,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        policy: str = "disconnect",
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        if idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be > 0, got {idle_timeout}")
        self._core = FanoutCore(replay=replay, queue_size=queue_size, policy=policy)
        self._lock = threading.Lock()
        self._wakers: Dict[int, Callable[[], None]] = {}
        self._idle_timeout = idle_timeout

    @property
    def last_id(self) -> Optional[str]:
        """The ID of the last published event, ``None`` before the first."""
        with self._lock:
            return self._core.last_id

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        with self._lock:
            return self._core.subscriber_count

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: no more events are published."""
        return self._core.closed

    def publish(self, data: str, event: str = "message", retry: Optional[int] = None) -> Event:
        """Send an event to every subscriber; returns it with its new ``id``.

        Never blocks on a subscriber.  Safe from any thread and from coroutines.

        Raises:
            TypeError, LocalProtocolError: as :class:`~sse_core.Event`.
            RuntimeError: the broadcaster is closed.
        """
        with self._lock:
            item = self._core.publish(data, event, retry)
            wakers = list(self._wakers.values())
        for wake in wakers:
            wake()
        return item

    def subscribe(self, last_event_id: str = "") -> Subscription:
        """A new subscription, starting with the replay after ``last_event_id``.

        Pass the request's sanitised ``Last-Event-ID`` (``asgi.last_event_id``
        or ``wsgi.last_event_id``).  The subscription receives every event
        published from now on; iterate it once, from a thread or a coroutine.
        """
        with self._lock:
            member = self._core.subscribe(last_event_id)
        return Subscription(self, member, self._idle_timeout)

    def close(self) -> None:
        """End every subscription (after what each has queued) and refuse new
        publishes.  New subscriptions end at once.  Idempotent."""
        with self._lock:
            self._core.close()
            wakers = list(self._wakers.values())
        for wake in wakers:
            wake()

    # Called by Subscription.
    def _bind(self, member: Member, wake: Callable[[], None]) -> None:
        with self._lock:
            if not member.closed:
                self._wakers[id(member)] = wake

    def _take(self, member: Member) -> Tuple[List[Event], bool]:
        with self._lock:
            return member.take(), member.finished

    def _leave(self, member: Member) -> None:
        with self._lock:
            self._core.unsubscribe(member)
            self._wakers.pop(id(member), None)


class Subscription:
    """One subscriber's stream of events; iterate it from a thread or a loop.

    * ``for item in subscription``: yields each :class:`~sse_core.Event`, and
      ``None`` whenever ``idle_timeout`` seconds pass with nothing (so the
      WSGI adapter can send a heartbeat).
    * ``async for event in subscription``: yields events only.

    Iteration ends when the broadcaster is closed, or when the subscriber fell
    behind under the ``"disconnect"`` policy (:attr:`overflowed` is then
    true).  Closing the iterator, or calling :meth:`close`, unsubscribes.
    """

    def __init__(self, broadcaster: Broadcaster, member: Member, idle_timeout: float) -> None:
        self._broadcaster = broadcaster
        self._member = member
        self._idle_timeout = idle_timeout
        self._iterated = False

    @property
    def overflowed(self) -> bool:
        """True if the stream ended because the subscriber fell too far behind."""
        return self._member.overflowed

    @property
    def dropped(self) -> int:
        """Events dropped for this subscriber under the ``"drop_oldest"`` policy."""
        return self._member.dropped

    def close(self) -> None:
        """Unsubscribe (idempotent)."""
        self._broadcaster._leave(self._member)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _claim(self) -> None:
        if self._iterated:
            raise RuntimeError("a Subscription can be iterated only once")
        self._iterated = True

    def __iter__(self) -> Iterator[Optional[Event]]:
        self._claim()
        return self._iterate()

    def _iterate(self) -> Iterator[Optional[Event]]:
        ready = threading.Event()
        self._broadcaster._bind(self._member, ready.set)
        try:
            while True:
                ready.clear()
                events, finished = self._broadcaster._take(self._member)
                if events:
                    yield from events
                elif finished:
                    return
                elif not ready.wait(self._idle_timeout):
                    yield None
        finally:
            self.close()

    def __aiter__(self) -> AsyncIterator[Event]:
        self._claim()
        return self._aiterate()

    async def _aiterate(self) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop has no waiter left
                loop.call_soon_threadsafe(ready.set)

        self._broadcaster._bind(self._member, wake)
        try:
            while True:
                ready.clear()
                events, finished = self._broadcaster._take(self._member)
                if events:
                    for event in events:
                        yield event
                elif finished:
                    return
                else:
                    await ready.wait()
        finally:
            self.close()


from ._redis_hub import BroadcastUnavailable, RedisBroadcaster  # noqa: E402  (it uses Subscription)
