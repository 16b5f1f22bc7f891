# SPDX-License-Identifier: MIT
"""The broadcaster's bookkeeping, sans-IO: IDs, the replay buffer, subscriber queues.

:class:`sse_core.broadcast.Broadcaster` wraps this with locks and wake-ups
(threading and asyncio); nothing here blocks, sleeps or knows about threads.

Theory of operation
-------------------
Every published event gets the next integer ID (as a string, ``"1"``, ``"2"``,
...), goes into a bounded replay buffer (a ``deque`` with ``maxlen``), and is
appended to the queue of every current subscriber.  A new subscriber passes the
``Last-Event-ID`` its client sent; if it names an event still in the replay
buffer, the events after it are queued first, so a reconnecting client misses
nothing that the buffer still holds.

Each subscriber queue is bounded.  When a publish finds a queue full, the
policy decides:

* ``"disconnect"`` (the default): the subscriber is marked overflowed and its
  queue cleared; its stream ends after nothing more.  The client reconnects with
  its ``Last-Event-ID`` and catches up from the replay buffer, so a slow client
  loses nothing the buffer still holds, and never holds memory for more than
  ``queue_size`` events.
* ``"drop_oldest"``: the oldest queued event is dropped to make room; the
  client sees a gap but stays connected.

Either way a slow subscriber never delays a publish or another subscriber.
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Dict, List, Optional

from ._events import Event

__all__ = ("FanoutCore", "Member", "DEFAULT_REPLAY", "DEFAULT_QUEUE_SIZE", "POLICIES")

#: Events kept for replay.  A client that reconnects within a few seconds at
#: tens of events a second finds its place; 1000 small events are ~100 KB.
DEFAULT_REPLAY = 1000

#: Events a subscriber may have waiting before the full-queue policy applies.
DEFAULT_QUEUE_SIZE = 1000

POLICIES = ("disconnect", "drop_oldest")


class Member:
    """One subscriber's queue and flags (driven by :class:`FanoutCore`)."""

    __slots__ = ("closed", "dropped", "overflowed", "queue")

    def __init__(self) -> None:
        self.queue: Deque[Event] = deque()
        self.overflowed = False
        self.closed = False
        #: Events dropped under the ``drop_oldest`` policy.
        self.dropped = 0

    def take(self) -> List[Event]:
        """Remove and return every queued event."""
        events = list(self.queue)
        self.queue.clear()
        return events

    @property
    def finished(self) -> bool:
        """True when the subscriber's stream should end once its queue is empty."""
        return self.closed or self.overflowed


class FanoutCore:
    """IDs, replay buffer and subscriber queues of one broadcaster.

    Args:
        replay: events kept for replay (0 disables replay).
        queue_size: events a subscriber may have queued (at least 1).
        policy: ``"disconnect"`` or ``"drop_oldest"``; see the module docstring.
        first_id: the ID the first published event gets.

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        replay: int = DEFAULT_REPLAY,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        policy: str = "disconnect",
        first_id: int = 1,
    ) -> None:
        if replay < 0:
            raise ValueError(f"replay must be >= 0, got {replay}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        self._replay: Deque[Event] = deque(maxlen=replay)
        self._queue_size = queue_size
        self._policy = policy
        self._next_id = first_id
        self._members: Dict[int, Member] = {}
        self.closed = False

    @property
    def last_id(self) -> Optional[str]:
        """The ID of the last published event, ``None`` before the first."""
        return self._replay[-1].id if self._replay else None

    @property
    def subscriber_count(self) -> int:
        return len(self._members)

    def publish(self, data: str, event: str = "message", retry: Optional[int] = None) -> Event:
        """Give the next ID to a new event, buffer it and queue it for everyone.

        Returns the event as sent (with its ``id``).

        Raises:
            TypeError, LocalProtocolError: as :class:`Event`.
            RuntimeError: the broadcaster is closed.
        """
        if self.closed:
            raise RuntimeError("publish() on a closed broadcaster")
        item = Event(data, event, str(self._next_id), retry)
        self._next_id += 1
        self._replay.append(item)
        for member in self._members.values():
            self._offer(member, item)
        return item

    def _offer(self, member: Member, item: Event) -> None:
        if member.finished:
            return
        if len(member.queue) >= self._queue_size:
            if self._policy == "disconnect":
                member.overflowed = True
                member.queue.clear()
                return
            member.queue.popleft()
            member.dropped += 1
        member.queue.append(item)

    def subscribe(self, last_event_id: str = "") -> Member:
        """A new subscriber; queues the replay after ``last_event_id``, if found.

        ``last_event_id`` is the client's ``Last-Event-ID`` (sanitised by the
        adapter).  If it is the ID of an event still in the replay buffer, the
        events after it are queued.  If it is older than the buffer (an integer
        below the oldest buffered ID), the whole buffer is queued: the client
        missed more than can be replayed, and gets what there is.  Any other
        value (empty, unknown, or from the future, as after a restart) replays
        nothing.
        """
        member = Member()
        if self.closed:
            member.closed = True
            return member
        for item in self._replay_after(last_event_id)[-self._queue_size :]:
            member.queue.append(item)
        self._members[id(member)] = member
        return member

    def _replay_after(self, last_event_id: str) -> List[Event]:
        if not self._replay or not last_event_id.isdigit() or len(last_event_id) > 30:
            return []
        wanted = int(last_event_id)
        first = int(self._replay[0].id or 0)
        last = first + len(self._replay) - 1
        if wanted >= last:
            return []
        start = max(0, wanted - first + 1)
        return list(self._replay)[start:]

    def unsubscribe(self, member: Member) -> None:
        """Forget a subscriber (idempotent)."""
        self._members.pop(id(member), None)
        member.closed = True

    def close(self) -> List[Member]:
        """End every subscription; returns the members to wake up."""
        self.closed = True
        members = list(self._members.values())
        for member in members:
            member.closed = True
        self._members.clear()
        return members
