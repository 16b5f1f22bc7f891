# SPDX-License-Identifier: MIT
"""A blocking client: print a stream's events, reconnecting like a browser.

Run it against any stream, e.g. ``python -m sse_core demo --port 8000``::

    python examples/sync_client.py http://127.0.0.1:8000/events

``--self-test`` starts a stream on a free port (``sse_core.asgi`` on plain
asyncio, standard library only) that ends after each two events, and checks
that the client reconnects with ``Last-Event-ID`` and carries on.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from typing import AsyncIterator, List

from sse_core import Event, ReconnectPolicy
from sse_core.asgi import EventStreamResponse, handle_connection
from sse_core.client import EventSource


def follow(url: str, limit: int = 0) -> List[Event]:
    """Print events as they come; stop after ``limit`` of them (0: never)."""
    received: List[Event] = []
    policy = ReconnectPolicy(initial_delay=1.0, max_attempts=5)
    with EventSource(url, read_timeout=60, policy=policy) as source:
        for event in source:
            print(f"{event.event} id={event.id!r}: {event.data}", flush=True)
            received.append(event)
            if len(received) == limit:
                break
    return received


async def two_at_a_time(last_event_id: str) -> AsyncIterator[Event]:
    start = int(last_event_id) if last_event_id.isascii() and last_event_id.isdigit() else 0
    for n in range(start + 1, start + 3):
        yield Event(f"event {n}", id=str(n), retry=100)


def self_test() -> None:
    loop = asyncio.new_event_loop()
    app = EventStreamResponse(two_at_a_time)
    server = loop.run_until_complete(
        asyncio.start_server(functools.partial(handle_connection, app), "127.0.0.1", 0)
    )
    port = server.sockets[0].getsockname()[1]
    threading.Thread(target=loop.run_forever, daemon=True).start()
    events = follow(f"http://127.0.0.1:{port}/", limit=5)
    assert [e.data for e in events] == [f"event {n}" for n in range(1, 6)], events
    print("self-test passed")


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        self_test()
    else:
        follow(sys.argv[1])
