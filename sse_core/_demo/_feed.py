# SPDX-License-Identifier: MIT
"""One hub topic as the event source of one response, for either adapter.

A :class:`Feed` subscribes to a topic when it is iterated, from the start of
the topic's replay window or after a ``Last-Event-ID``, and ends after the
event ``until`` picks (a task's ``done``, an MCP response).  Events up to the
client's ID are skipped even when they come live: after a restart the board
publishes again what a client already saw, with the same IDs.
"""

from __future__ import annotations

from typing import AsyncIterator, Callable, Iterator, Optional

from .._events import Event
from .._replay import parse_id
from ..broadcast import Broadcaster

Rename = Callable[[Event], Event]


def _number(event_id: str) -> int:
    """An integer ID's value; 0 for anything else (nothing is skipped)."""
    return parse_id(event_id) or 0


class Feed:
    """The events of ``topic`` after ``last_event_id`` (all if empty), for one response.

    Args:
        hub: the hub (a :class:`~sse_core.broadcast.Broadcaster`).
        topic: the topic.
        last_event_id: the hub ID the client saw last; ``""`` starts at the
            beginning of the replay window.
        until: true for the event that ends the response (it is sent).
        rename: maps each hub event to the event sent (e.g. another ID).
    """

    def __init__(
        self,
        hub: Broadcaster,
        topic: str,
        last_event_id: str,
        *,
        until: Callable[[Event], bool],
        rename: Optional[Rename] = None,
    ) -> None:
        self._hub = hub
        self._topic = topic
        self._after = last_event_id
        self._seen = _number(last_event_id)
        self._until = until
        self._rename = rename

    def _fresh(self, event: Event) -> bool:
        return not (event.id and _number(event.id) and _number(event.id) <= self._seen)

    def _out(self, event: Event) -> Event:
        return event if self._rename is None else self._rename(event)

    def __iter__(self) -> Iterator[Optional[Event]]:
        # A usable ID wins over from_start; one the hub cannot use (none, a
        # foreign one, "²") starts at the beginning, as no ID does.
        subscription = self._hub.subscribe(self._after, topic=self._topic, from_start=True)
        with subscription:
            for item in subscription:
                if item is None:
                    yield None  # idle: the adapter may send a heartbeat
                elif self._fresh(item):
                    yield self._out(item)
                    if self._until(item):
                        return

    async def __aiter__(self) -> AsyncIterator[Event]:
        # A usable ID wins over from_start; one the hub cannot use (none, a
        # foreign one, "²") starts at the beginning, as no ID does.
        subscription = self._hub.subscribe(self._after, topic=self._topic, from_start=True)
        with subscription:
            async for item in subscription:
                if self._fresh(item):
                    yield self._out(item)
                    if self._until(item):
                        return
