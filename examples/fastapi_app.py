# SPDX-License-Identifier: MIT
"""A FastAPI endpoint that streams events, resuming after ``Last-Event-ID``.

Run it (``pip install fastapi uvicorn``)::

    python examples/fastapi_app.py          # serves http://127.0.0.1:8000/events
    python -m sse_core get http://127.0.0.1:8000/events

``--self-test`` serves on a free port, reads three events with
``sse_core.client.EventSource``, and exits.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import AsyncIterator

import uvicorn
from fastapi import FastAPI, Request
from starlette.responses import Response

from sse_core import Event
from sse_core.asgi import EventStreamResponse, last_event_id
from sse_core.client import EventSource


class EventStream(EventStreamResponse, Response):
    """Lets a FastAPI path operation return an event stream."""

    background = None


app = FastAPI()


async def ticks(start: str) -> AsyncIterator[Event]:
    n = int(start) if start.isascii() and start.isdigit() else 0
    while True:
        n += 1
        yield Event(f"tick {n}", id=str(n))
        await asyncio.sleep(0.2)


@app.get("/events", response_class=EventStream)
async def events(request: Request) -> EventStream:
    return EventStream(ticks(last_event_id(request.scope)))


def self_test() -> None:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    received = []
    url = f"http://127.0.0.1:{port}/events"
    with EventSource(url, last_event_id="40", read_timeout=10) as source:
        for event in source:
            received.append(event.data)
            if len(received) == 3:
                break
    assert received == ["tick 41", "tick 42", "tick 43"], received
    server.should_exit = True
    thread.join(10)
    print("self-test passed")


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        self_test()
    else:
        uvicorn.run(app, host="127.0.0.1", port=8000)
