# SPDX-License-Identifier: MIT
"""Topics over the in-process hub, as the board and its MCP server use them.

``publish(data, event, *, topic)`` and ``subscribe(last_event_id, *, topic,
from_start)`` are the hub's topic API; until :class:`~sse_core.broadcast.Broadcaster`
has topics, this holds one broadcaster per topic behind that API.
"""

from __future__ import annotations

import threading
from typing import Dict, Optional

from .._events import Event
from ..broadcast import Broadcaster, Subscription


class TopicHub:
    """One :class:`Broadcaster` per topic, created on first use; thread-safe."""

    def __init__(self, *, replay: int = 1000) -> None:
        self._replay = replay
        self._topics: Dict[str, Broadcaster] = {}
        self._lock = threading.Lock()

    def _topic(self, topic: str) -> Broadcaster:
        with self._lock:
            hub = self._topics.get(topic)
            if hub is None:
                hub = self._topics[topic] = Broadcaster(replay=self._replay, idle_timeout=0.5)
            return hub

    def publish(
        self, data: str, event: str = "message", retry: Optional[int] = None, *, topic: str
    ) -> Event:
        return self._topic(topic).publish(data, event, retry)

    def subscribe(
        self, last_event_id: str = "", *, topic: str, from_start: bool = False
    ) -> Subscription:
        # IDs count from 1: after "0" is the whole replay window.
        return self._topic(topic).subscribe(last_event_id or ("0" if from_start else ""))

    def close(self) -> None:
        with self._lock:
            topics = list(self._topics.values())
        for hub in topics:
            hub.close()
