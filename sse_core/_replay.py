# SPDX-License-Identifier: MIT
"""One topic's replay window for the in-process hub, sans-IO: IDs and recent events.

Theory of operation
-------------------
Every event published to a topic gets the topic's next integer ID (``"1"``,
``"2"``, ... as strings) and joins the window, a ``deque`` of the most recent
events bounded twice: by count (``replay``) and by size (``replay_bytes``,
counted by :func:`event_size`).  Eviction is from the old end only, so the
window always holds consecutive IDs, ``last - len + 1`` to ``last``.

A subscriber resumes after the ID its client sent (:meth:`ReplayWindow.after`):

* ``n`` with ``last - len <= n < last``: the events after ``n``, nothing lost;
* ``n`` below that: events were evicted that the client never saw, so it gets
  the whole window with a gap flag (the subscription then yields the
  ``sse-gap`` marker first);
* ``n >= last`` (up to date, or from the future, as after a restart), or not
  an ID at all: nothing, unless ``from_start`` asks for everything, which is
  the case of ``n = 0``.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Deque, List, Optional, Tuple

from ._events import Event

__all__ = ("DEFAULT_REPLAY", "DEFAULT_REPLAY_BYTES", "ReplayWindow", "event_size", "parse_id")

#: Events kept for replay, per topic.  A client that reconnects within a few
#: seconds at tens of events a second finds its place.
DEFAULT_REPLAY = 1000

#: Bytes of events kept for replay, per topic (see :func:`event_size`): the
#: default 1000 events fit whole up to 4 KiB each, and 1,000 events of 1 MB
#: cannot pin 1 GB.
DEFAULT_REPLAY_BYTES = 4 * 1024 * 1024

#: Longest ID string read as a number (``2**64`` has 20 digits).
_MAX_ID_DIGITS = 30


def event_size(event: Event) -> int:
    """The bytes an event counts against ``replay_bytes``.

    The UTF-8 length of its data, event type and ID (what ``encode`` writes,
    less the field names and line endings).
    """
    size = 0
    for text in (event.data, event.event, event.id or ""):
        # isascii is O(1) in CPython; only other text is encoded to be counted.
        size += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    return size


def parse_id(last_event_id: str) -> Optional[int]:
    """The integer an in-process ID names, or ``None`` if it is not one.

    Only ASCII digits count (``str.isdigit`` accepts superscripts and other scripts' digits).
    """
    if (
        not last_event_id.isdigit()
        or not last_event_id.isascii()
        or len(last_event_id) > _MAX_ID_DIGITS
    ):
        return None
    return int(last_event_id)


class ReplayWindow:
    """One topic's ID counter and recent events.

    Args:
        replay: events kept (0 keeps none).
        replay_bytes: total :func:`event_size` kept (0 keeps none); an event
            larger than this alone is delivered but not kept.
    """

    __slots__ = ("_events", "_replay", "_replay_bytes", "_size", "last")

    def __init__(self, replay: int = DEFAULT_REPLAY, replay_bytes: int = DEFAULT_REPLAY_BYTES):
        self._events: Deque[Tuple[Event, int]] = deque()
        self._size = 0
        self._replay = replay
        self._replay_bytes = replay_bytes
        #: The last ID given, 0 before the first event.
        self.last = 0

    @property
    def size(self) -> int:
        """The bytes kept, as counted by :func:`event_size`."""
        return self._size

    def __len__(self) -> int:
        return len(self._events)

    def append(self, data: str, event: str = "message", retry: Optional[int] = None) -> Event:
        """Make the next event of the topic, with its ID, and keep it.

        Raises:
            TypeError, LocalProtocolError: as :class:`Event` (no ID is used up).
        """
        item = Event(data, event, str(self.last + 1), retry)
        self.last += 1
        size = event_size(item)
        events = self._events
        events.append((item, size))
        self._size += size
        while len(events) > self._replay or self._size > self._replay_bytes:
            self._size -= events.popleft()[1]
        return item

    def after(self, last_event_id: str, from_start: bool = False) -> Tuple[bool, List[Event]]:
        """``(gap, events)`` to replay to a client that saw ``last_event_id``.

        See the module docstring.  ``gap`` is true when events after it were
        evicted; ``events`` is then the whole window.
        """
        wanted = parse_id(last_event_id)
        if wanted is None or wanted > self.last:
            if not from_start:
                return False, []
            wanted = 0
        kept = len(self._events)
        if wanted >= self.last:
            return False, []
        oldest_missing = self.last - kept  # the ID just before the window
        if wanted < oldest_missing:
            return True, [item for item, _ in self._events]
        return False, [item for item, _ in islice(self._events, wanted - oldest_missing, None)]
