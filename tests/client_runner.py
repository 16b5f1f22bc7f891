"""Run the sync or the asyncio EventSource the same way, with a time bound."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List, NamedTuple, Optional

from sse_core import Event, ReadyState, ReconnectPolicy
from sse_core.async_client import AsyncEventSource
from sse_core.client import EventSource

CLIENT_KINDS = ("sync", "async")
TIMEOUT = 20.0


def fast(**kwargs: Any) -> ReconnectPolicy:
    """Quick, deterministic reconnection for tests (no jitter, few attempts)."""
    options: Dict[str, Any] = {
        "initial_delay": 0.05,
        "min_delay": 0.05,
        "jitter": 0.0,
        "max_attempts": 3,
    }
    options.update(kwargs)
    return ReconnectPolicy(**options)


class Outcome(NamedTuple):
    events: List[Event]
    error: Optional[BaseException]
    status: Optional[int]
    ready_state: ReadyState
    last_event_id: str


def collect(kind: str, url: str, limit: Optional[int] = None, **options: Any) -> Outcome:
    """Iterate an EventSource until ``limit`` events, its end, or an error.

    The EventSource is closed after ``limit`` events.  The whole run is
    bounded by :data:`TIMEOUT` seconds (the source is closed at the bound).
    """
    if kind == "sync":
        return _collect_sync(url, limit, options)
    return asyncio.run(asyncio.wait_for(_collect_async(url, limit, options), TIMEOUT))


def _collect_sync(url: str, limit: Optional[int], options: Any) -> Outcome:
    events: List[Event] = []
    error: Optional[BaseException] = None
    source = EventSource(url, **options)
    timer = threading.Timer(TIMEOUT, source.close)
    timer.start()
    try:
        with source:
            for event in source:
                events.append(event)
                if limit is not None and len(events) >= limit:
                    break
    except Exception as exc:
        error = exc
    finally:
        timer.cancel()
    return Outcome(events, error, source.status, source.ready_state, source.last_event_id)


async def _collect_async(url: str, limit: Optional[int], options: Any) -> Outcome:
    events: List[Event] = []
    error: Optional[BaseException] = None
    source = AsyncEventSource(url, **options)
    try:
        async with source:
            async for event in source:
                events.append(event)
                if limit is not None and len(events) >= limit:
                    break
    except Exception as exc:
        error = exc
    return Outcome(events, error, source.status, source.ready_state, source.last_event_id)
