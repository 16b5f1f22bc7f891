# SPDX-License-Identifier: MIT
"""Local delivery: one process's subscribers, their bounded queues and wake-ups.

This is the seam every hub backend shares.  A backend (the in-process
:class:`~sse_core.broadcast.Broadcaster`, a Redis Streams reader) decides what
the events are and what IDs they carry; :class:`LocalHub` only hands events
that already have their IDs to the subscribers of a topic in this process,
and makes the :class:`Subscription` objects the adapters iterate.

Theory of operation
-------------------
Subscribers are kept per topic (``dict`` topic -> members), so delivering to
one topic costs only its own subscribers.  Each subscription has a bounded
queue (``queue_size`` events).  :meth:`LocalHub.deliver` appends to the queue
of every subscriber of the topic; when a queue is full, the policy decides:

* ``"disconnect"`` (the default): the subscriber's queue is cleared and its
  stream ends; it gets nothing more.  Its client reconnects with its
  ``Last-Event-ID`` and is replayed what it missed from the backend's window.
* ``"drop_oldest"``: the oldest queued event is dropped to make room; the
  client sees a gap but stays connected (:attr:`Subscription.dropped`).

Either way a slow subscriber never delays a delivery or another subscriber.

Wake-ups are coalesced.  A reader that finds its queue empty *arms* its
subscription with a wake-up callable (setting a :class:`threading.Event`, or
an :class:`asyncio.Event` on its loop) and waits; the first delivery calls it
once and disarms it.  So a delivery costs one append per subscriber, a reader
busy with earlier events costs no wake-up at all, and at most one wake-up per
subscriber is ever pending, whatever the publish rate.

All state is guarded by :attr:`LocalHub.lock`, a re-entrant lock a backend may
hold around its own bookkeeping and a call to :meth:`~LocalHub.open` or
:meth:`~LocalHub.deliver`, to make "read the backlog, then open" atomic with
respect to deliveries (the in-process broadcaster does so).  Wake-ups are
made after the hub's own acquisition is released and never block.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from typing import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Deque,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

from ._events import Event

__all__ = (
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_TOPIC",
    "GAP",
    "GAP_EVENT",
    "LocalHub",
    "POLICIES",
    "Subscription",
)

#: The topic of ``publish`` and ``subscribe`` calls that name none.
DEFAULT_TOPIC = "default"

#: The event type of the marker a subscription yields first when its client
#: resumed from an ID older than the replay window: events were lost, so the
#: client should refetch its state.  The marker has empty data and no ID, so
#: it leaves the client's last event ID as it was.
GAP_EVENT = "sse-gap"

#: The gap marker itself.
GAP = Event("", GAP_EVENT)

#: Events a subscriber may have waiting before the full-queue policy applies.
DEFAULT_QUEUE_SIZE = 1000

#: Seconds a thread-side subscription waits before yielding ``None`` (which
#: lets the WSGI adapter send a heartbeat or notice a departed client).
DEFAULT_IDLE_TIMEOUT = 1.0

POLICIES = ("disconnect", "drop_oldest")

Waker = Callable[[], None]
TopicListener = Callable[[str, bool], None]


class LocalHub:
    """The subscribers of one process, by topic; delivers events to them.

    Args:
        queue_size: events one subscriber may have waiting (at least 1).
        policy: ``"disconnect"`` or ``"drop_oldest"``; see the module docstring.
        idle_timeout: seconds a thread-side subscription waits for an event
            before yielding ``None``.
        on_topic: called as ``on_topic(topic, True)`` when a topic gets its
            first subscriber and ``on_topic(topic, False)`` when it loses its
            last, so a backend can start or stop reading it.  It runs on the
            thread that opened or closed the subscription (possibly inside
            :attr:`lock`), so it must be quick and must not block.

    Thread-safe.

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        policy: str = "disconnect",
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        on_topic: Optional[TopicListener] = None,
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        if idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be > 0, got {idle_timeout}")
        #: Guards every subscription's state; re-entrant, see the module docstring.
        self.lock = threading.RLock()
        self.queue_size = queue_size
        self.idle_timeout = idle_timeout
        self._drop_oldest = policy == "drop_oldest"
        self._on_topic = on_topic
        self._topics: Dict[str, Dict[Subscription, None]] = {}
        self._count = 0
        self.closed = False

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open (in every topic)."""
        return self._count

    def topics(self) -> List[str]:
        """The topics that have at least one subscriber now."""
        with self.lock:
            return list(self._topics)

    def open(self, topic: str, backlog: Sequence[Event] = (), *, gap: bool = False) -> Subscription:
        """Subscribe to ``topic``, with ``backlog`` queued before any delivery.

        ``backlog`` is what the backend replays (events with their IDs, oldest
        first); with ``gap`` true the :data:`GAP` marker is queued before it.
        At most ``queue_size`` items are queued: a longer backlog keeps its
        newest events, and then starts with the marker, as events were lost.
        Once the hub is closed the subscription ends at once.
        """
        subscription = Subscription(self, topic)
        room = self.queue_size
        if gap or len(backlog) > room:
            subscription._queue.append(GAP)
            room -= 1
        if room and backlog:
            subscription._queue.extend(backlog[-room:])
        with self.lock:
            if self.closed:
                subscription._closed = True
                subscription._queue.clear()
                return subscription
            members = self._topics.get(topic)
            first = members is None
            if members is None:
                members = self._topics[topic] = {}
            members[subscription] = None
            self._count += 1
            if first and self._on_topic is not None:
                self._on_topic(topic, True)
        return subscription

    def deliver(self, topic: str, events: Sequence[Event]) -> None:
        """Queue ``events`` (in order, IDs already set) for every subscriber of ``topic``.

        Applies the full-queue policy and wakes the readers that wait.  Never
        blocks on a subscriber.  Events for a topic nobody here subscribes to
        are ignored.
        """
        wakers: List[Waker] = []
        with self.lock:
            members = self._topics.get(topic)
            if not members:
                return
            limit = self.queue_size
            overflowed: List[Subscription] = []
            for subscription in members:
                queue = subscription._queue
                for event in events:
                    if len(queue) >= limit:
                        if self._drop_oldest:
                            queue.popleft()
                            subscription.dropped += 1
                        else:
                            queue.clear()
                            subscription._overflowed = True
                            overflowed.append(subscription)
                            break
                    queue.append(event)
                waker = subscription._waker
                if waker is not None:
                    subscription._waker = None
                    wakers.append(waker)
            for subscription in overflowed:
                self._forget(subscription)
        for wake in wakers:
            wake()

    def close(self) -> None:
        """End every subscription after what it has queued; later ones end at once.

        Idempotent.
        """
        wakers: List[Waker] = []
        with self.lock:
            self.closed = True
            for members in list(self._topics.values()):
                wakers += self._end_all(members)
        for wake in wakers:
            wake()

    def end(self, topic: str) -> None:
        """End every subscription of ``topic`` after what it has queued.
        Later subscriptions to it are not affected."""
        with self.lock:
            members = self._topics.get(topic)
            wakers = self._end_all(members) if members else []
        for wake in wakers:
            wake()

    def _end_all(self, members: Dict[Subscription, None]) -> List[Waker]:
        """End these subscriptions (lock held); return the wakers of those waiting."""
        wakers: List[Waker] = []
        for subscription in list(members):
            subscription._closed = True
            if subscription._waker is not None:
                wakers.append(subscription._waker)
                subscription._waker = None
            self._forget(subscription)
        return wakers

    # --- used by Subscription ----------------------------------------------------

    def _forget(self, subscription: Subscription) -> None:
        # Called with the lock held.
        members = self._topics.get(subscription.topic)
        if members is None or members.pop(subscription, False) is False:
            return
        self._count -= 1
        if not members:
            del self._topics[subscription.topic]
            if self._on_topic is not None:
                self._on_topic(subscription.topic, False)

    def _leave(self, subscription: Subscription) -> None:
        with self.lock:
            subscription._closed = True
            subscription._queue.clear()
            subscription._waker = None
            self._forget(subscription)

    def _take(self, subscription: Subscription, waker: Waker) -> Tuple[Deque[Event], bool]:
        """The queued events, or none and whether the stream is finished.

        With nothing queued and the stream still open, arms ``waker``.
        """
        with self.lock:
            queue = subscription._queue
            if queue:
                subscription._queue = deque()
                return queue, False
            if subscription._closed or subscription._overflowed:
                return deque(), True
            subscription._waker = waker
            return deque(), False


class Subscription:
    """One subscriber's stream of events; iterate it once, from a thread or a loop.

    * ``for item in subscription``: yields each :class:`~sse_core.Event`, and
      ``None`` whenever ``idle_timeout`` seconds pass with nothing (so the
      WSGI adapter can send a heartbeat).
    * ``async for event in subscription``: yields events only.

    Iteration ends when the hub is closed, or when the subscriber fell behind
    under the ``"disconnect"`` policy (:attr:`overflowed` is then true).
    Closing the iterator (``close()`` or ``aclose()``, even before it yielded
    anything), calling :meth:`close`, or leaving ``with subscription:``
    unsubscribes.

    Made by a hub's ``subscribe()``; do not construct it.
    """

    def __init__(self, hub: LocalHub, topic: str) -> None:
        self._hub = hub
        #: The topic subscribed to.
        self.topic = topic
        self._queue: Deque[Event] = deque()
        self._waker: Optional[Waker] = None
        self._closed = False
        self._overflowed = False
        self._iterated = False
        #: Events dropped for this subscriber under the ``"drop_oldest"`` policy.
        self.dropped = 0

    @property
    def overflowed(self) -> bool:
        """True if the stream ended because the subscriber fell too far behind."""
        return self._overflowed

    def close(self) -> None:
        """Unsubscribe (idempotent)."""
        self._hub._leave(self)

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
        return _ThreadReader(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        self._claim()
        return _LoopReader(self)


class _ThreadReader:
    """The blocking iterator of a :class:`Subscription`; ``close()`` unsubscribes."""

    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription
        self._batch: Deque[Event] = deque()
        self._ready = threading.Event()

    def __iter__(self) -> _ThreadReader:
        return self

    def __next__(self) -> Optional[Event]:
        subscription = self._subscription
        while not self._batch:
            self._ready.clear()
            self._batch, finished = subscription._hub._take(subscription, self._ready.set)
            if finished:
                self.close()
                raise StopIteration
            if not self._batch and not self._ready.wait(subscription._hub.idle_timeout):
                return None
        return self._batch.popleft()

    def close(self) -> None:
        """Unsubscribe (idempotent), whether or not iteration began."""
        self._batch = deque()
        self._subscription.close()

    # A consumer that breaks out of its loop drops the iterator; unsubscribe
    # then, as a generator's ``finally`` would.
    __del__ = close


class _LoopReader:
    """The asyncio iterator of a :class:`Subscription`; ``aclose()`` unsubscribes.

    The events come from an async generator, so that the loop finalizes it
    as it does any (``asyncio.run`` closes those left open); this wrapper
    adds what a generator lacks: closing it before it started still runs
    its cleanup.
    """

    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription
        self._events = self._run()

    def __aiter__(self) -> _LoopReader:
        return self

    def __anext__(self) -> Awaitable[Event]:
        return self._events.__anext__()

    async def aclose(self) -> None:
        """Unsubscribe (idempotent), whether or not iteration began."""
        try:
            await self._events.aclose()
        finally:
            self._subscription.close()

    def __del__(self) -> None:
        self._subscription.close()

    async def _run(self) -> AsyncGenerator[Event, None]:
        subscription = self._subscription
        # The event and the waker are made on the loop that iterates (on
        # Python 3.8 and 3.9 asyncio.Event binds to a loop when made).
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        loop_thread = threading.get_ident()
        batch = _LoopWakeups.of(loop)

        def wake() -> None:
            batch.add(loop, ready, threading.get_ident() == loop_thread)

        try:
            while True:
                ready.clear()
                events, finished = subscription._hub._take(subscription, wake)
                if finished:
                    return
                if not events:
                    await ready.wait()
                while events:
                    yield events.popleft()
        finally:
            subscription.close()


class _LoopWakeups:
    """Sets the reader events of one loop in batches, with one loop callback each.

    A publish that wakes 200 readers of a loop appends 200 events to a list
    and schedules one callback, which sets them: the publisher does not pay
    for the 200 task wake-ups, and from another thread it writes to the
    loop's self-pipe (``call_soon_threadsafe``) once, not 200 times.
    """

    def __init__(self) -> None:
        # Holds no reference to its loop, so the loop can be collected.
        self._pending: List[asyncio.Event] = []
        self._pending_lock = threading.Lock()

    @staticmethod
    def of(loop: asyncio.AbstractEventLoop) -> _LoopWakeups:
        """The one batcher of ``loop`` (every hub's readers on it share it)."""
        with _WAKEUPS_LOCK:
            wakeups = _WAKEUPS.get(loop)
            if wakeups is None:
                wakeups = _WAKEUPS[loop] = _LoopWakeups()
            return wakeups

    def add(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Event, in_loop: bool) -> None:
        """Set ``ready`` on ``loop`` soon; ``in_loop`` says the caller runs on its thread."""
        with self._pending_lock:
            self._pending.append(ready)
            if len(self._pending) > 1:
                return  # a flush is already scheduled
        try:
            if in_loop:
                loop.call_soon(self._flush)
            else:
                loop.call_soon_threadsafe(self._flush)
        except RuntimeError:  # a closed loop has no waiter left
            self._flush_pending()

    def _flush(self) -> None:
        for ready in self._flush_pending():
            ready.set()

    def _flush_pending(self) -> List[asyncio.Event]:
        with self._pending_lock:
            pending, self._pending = self._pending, []
        return pending


_WAKEUPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopWakeups]
_WAKEUPS = weakref.WeakKeyDictionary()
_WAKEUPS_LOCK = threading.Lock()
