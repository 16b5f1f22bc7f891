# SPDX-License-Identifier: MIT
"""In-process fan-out with topics and replay: publish once, every subscriber gets it.

:class:`Broadcaster` gives each event its ID and keeps each topic's replay
window (:mod:`sse_core._replay`, sans-IO), and hands the events to the
subscribers of this process through :class:`sse_core._fanout.LocalHub`, the
local delivery seam every backend shares (bounded queues, the full-queue
policy, coalesced wake-ups for threads and asyncio).

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
    hub.publish("42%", topic="task-7")  # one hub, many topics

The interface the adapters rely on, and that every backend implements, is
``publish(data, event, retry, *, topic)``, ``subscribe(last_event_id, *,
topic, from_start)`` returning a :class:`Subscription`, and ``close()``; IDs
are opaque strings to the adapters.
"""

from __future__ import annotations

from typing import Dict, Optional

from ._events import Event
from ._fanout import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_TOPIC,
    GAP_EVENT,
    LocalHub,
    Subscription,
)
from ._redis_hub import BroadcastUnavailable, RedisBroadcaster
from ._replay import DEFAULT_REPLAY, DEFAULT_REPLAY_BYTES, ReplayWindow

__all__ = (
    "Broadcaster",
    "RedisBroadcaster",
    "BroadcastUnavailable",
    "Subscription",
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_REPLAY",
    "DEFAULT_REPLAY_BYTES",
    "DEFAULT_TOPIC",
    "GAP_EVENT",
)


class Broadcaster:
    """Publish events to every subscriber of a topic, keeping a replay window.

    Args:
        replay: how many recent events of each topic to keep for clients that
            reconnect with a ``Last-Event-ID`` (0 disables replay).
        replay_bytes: how many bytes of recent events each topic keeps, at
            most, counting the UTF-8 size of each event's data, type and ID;
            the older events go first, and an event larger than this alone is
            not kept (0 disables replay).
        queue_size: how many events one subscriber may have waiting.
        policy: what happens when a subscriber's queue is full:
            ``"disconnect"`` (default) ends that subscriber's stream so its
            client reconnects and catches up from the replay window;
            ``"drop_oldest"`` drops its oldest waiting event.  Either way a
            slow subscriber never blocks :meth:`publish` or other subscribers.
        idle_timeout: seconds a thread-side subscription waits for an event
            before yielding ``None`` (see :class:`Subscription`).

    The events of each topic get consecutive integer IDs ``"1"``, ``"2"``,
    ... in publish order: the counter is per topic, so an ID names an event
    of the topic it was received on.  A topic published to keeps its window
    until :meth:`forget` drops it, so a server whose topics come and go (a
    task, a session) forgets each one it is done with.  All methods are
    thread-safe.

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        *,
        replay: int = DEFAULT_REPLAY,
        replay_bytes: int = DEFAULT_REPLAY_BYTES,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        policy: str = "disconnect",
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        if replay < 0:
            raise ValueError(f"replay must be >= 0, got {replay}")
        if replay_bytes < 0:
            raise ValueError(f"replay_bytes must be >= 0, got {replay_bytes}")
        self._local = LocalHub(queue_size=queue_size, policy=policy, idle_timeout=idle_timeout)
        self._lock = self._local.lock
        self._replay = replay
        self._replay_bytes = replay_bytes
        self._windows: Dict[str, ReplayWindow] = {}

    @property
    def last_id(self) -> Optional[str]:
        """The ID of the last event published to the default topic, ``None`` before the first."""
        window = self._windows.get(DEFAULT_TOPIC)
        return str(window.last) if window is not None else None

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open, in every topic."""
        return self._local.subscriber_count

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: no more events are published."""
        return self._local.closed

    def publish(
        self,
        data: str,
        event: str = "message",
        retry: Optional[int] = None,
        *,
        topic: str = DEFAULT_TOPIC,
    ) -> Event:
        """Send an event to every subscriber of ``topic``; returns it with its new ``id``.

        Never blocks on a subscriber.  Safe from any thread and from coroutines.

        Raises:
            TypeError, LocalProtocolError: as :class:`~sse_core.Event`; a
                ``topic`` that is not a ``str`` raises ``TypeError``.
            RuntimeError: the broadcaster is closed.
        """
        with self._lock:
            if self._local.closed:
                raise RuntimeError("publish() on a closed broadcaster")
            window = self._windows.get(topic)
            if window is None:
                if type(topic) is not str:
                    raise TypeError(f"topic must be a str, not {type(topic).__name__}")
                window = self._windows[topic] = ReplayWindow(self._replay, self._replay_bytes)
            item = window.append(data, event, retry)
            self._local.deliver(topic, (item,))
        return item

    def subscribe(
        self, last_event_id: str = "", *, topic: str = DEFAULT_TOPIC, from_start: bool = False
    ) -> Subscription:
        """A new subscription to ``topic``, starting with the replay after ``last_event_id``.

        Pass the request's sanitised ``Last-Event-ID`` (``asgi.last_event_id``
        or ``wsgi.last_event_id``).  The subscription then receives every
        event published from now on; iterate it once, from a thread or a
        coroutine.

        * An ID still in the topic's window: the events after it come first.
        * An ID older than the window: a gap marker first,
          ``Event(data="", event=GAP_EVENT)`` with no ID (the client missed
          events it can no longer get: it should refetch its state), then the
          whole window.
        * No ID, one not of this topic's form, or one not older than the last
          event (as after a server restart): no replay, unless ``from_start``
          is true, which replays the whole window (after the gap marker if
          the topic's first events have already left it).

        At most ``queue_size`` items are replayed; a longer replay keeps its
        newest events and starts with the gap marker.

        Raises:
            TypeError: ``topic`` is not a ``str``.
        """
        if type(topic) is not str:
            raise TypeError(f"topic must be a str, not {type(topic).__name__}")
        with self._lock:
            window = self._windows.get(topic)
            if window is None:
                return self._local.open(topic)
            gap, backlog = window.after(last_event_id, from_start)
            return self._local.open(topic, backlog, gap=gap)

    def forget(self, topic: str) -> None:
        """Drop ``topic``: end its subscriptions (after what each has queued)
        and discard its replay window and ID counter.

        For a topic that is done with (a finished task, an ended session):
        the broadcaster then holds nothing for it.  Publishing to it again
        starts it anew, with IDs from ``"1"``; an ID of the old topic then
        replays nothing.

        Raises:
            TypeError: ``topic`` is not a ``str``.
        """
        if type(topic) is not str:
            raise TypeError(f"topic must be a str, not {type(topic).__name__}")
        with self._lock:
            self._windows.pop(topic, None)
            self._local.end(topic)

    def close(self) -> None:
        """End every subscription (after what each has queued) and refuse new
        publishes.  New subscriptions end at once.  Idempotent."""
        self._local.close()
