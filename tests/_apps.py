# SPDX-License-Identifier: MIT
"""Test applications for the server adapters: one ASGI and one WSGI app.

Both route on the path, with the same endpoints:

* ``/count?n=N``: N events, IDs continuing after the request's Last-Event-ID
  (``start+1 .. start+N``), then the stream ends.
* ``/echo``: one event whose data is the Last-Event-ID the app received.
* ``/idle``: no events at all (heartbeats only).
* ``/late``: silence for 0.3 s (heartbeats), then one event, then the end.
* ``/forever``: an event every 20 ms until the client leaves.
* ``/raise``: two events, then the source raises ``RuntimeError("boom")``.
* ``/firehose``: 64 KiB events as fast as the client takes them.
* ``/hub``: a subscription to the app's :class:`Broadcaster`.

Every source records its start and its ``finally`` in a :class:`Tracker`, so
tests can check that a disconnect really closed it.  For apps served from a
subprocess (waitress, gunicorn) the tracker appends to the file named by
``SSE_TEST_TRACK_FILE``; ``tests/_apps.py`` is imported there as ``_apps``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any, AsyncIterator, Callable, Dict, Iterable, Iterator, List, Optional
from urllib.parse import parse_qs

from sse_core import Event, asgi, wsgi
from sse_core._http import DEFAULT_HEARTBEAT, StreamItem
from sse_core.broadcast import Broadcaster

BIG = "x" * 65536
LATE = 0.3


class Tracker:
    """Counts sources started and finished (their ``finally`` ran)."""

    def __init__(self, path: Optional[str] = None) -> None:
        self._lock = threading.Lock()
        self.started: List[str] = []
        self.finished: List[str] = []
        self._path = path

    def start(self, name: str) -> None:
        with self._lock:
            self.started.append(name)
            self._write("start " + name)

    def finish(self, name: str) -> None:
        with self._lock:
            self.finished.append(name)
            self._write("finish " + name)

    def _write(self, line: str) -> None:
        if self._path is not None:
            with open(self._path, "a", encoding="utf-8") as file:
                file.write(line + "\n")


def read_track_file(path: str) -> Dict[str, List[str]]:
    """The started/finished lists a subprocess's tracker wrote."""
    result: Dict[str, List[str]] = {"start": [], "finish": []}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as file:
            for line in file:
                kind, _, name = line.strip().partition(" ")
                result[kind].append(name)
    return result


#: Last-Event-ID values as a client sends them, and what the source must see:
#: UTF-8 as WHATWG clients send it, Latin-1 as older clients did, and digits
#: that are not ASCII (an ID like any other: no server may take them for a number).
RAW_IDS = [
    ("日本-2".encode(), "日本-2"),
    ("été-1".encode(), "été-1"),
    ("été-1".encode("latin-1"), "été-1"),
    ("²".encode(), "²"),
    ("\u0661".encode(), "\u0661"),  # ARABIC-INDIC DIGIT ONE
]


def check_heartbeats_then_late_event(raw: bytes, retry: bytes = b"") -> None:
    """``raw`` (from ``/late``) is heartbeats, at least two, then the event's
    block (starting with ``retry``, the field the app adds to it, if any)."""
    pings, _, rest = raw.rpartition(b": ping\n")
    assert pings.count(b": ping\n") >= 1
    assert pings.replace(b": ping\n", b"") == b""
    assert rest == retry + b"id: 1\ndata: late\n\n"


def _start_id(last_event_id: str) -> int:
    # Only ASCII digits are digits: str.isdigit() is also true for "²" and Arabic-Indic digits.
    digits = last_event_id.isascii() and last_event_id.isdigit()
    return int(last_event_id) if digits else 0


# --- sync sources (WSGI) --------------------------------------------------------


def _sync_source(
    tracker: Tracker, hub: Broadcaster, path: str, query: Dict[str, List[str]]
) -> Callable[[str], Iterable[StreamItem]]:
    def source(last_event_id: str) -> Iterator[StreamItem]:
        tracker.start(path)
        try:
            if path == "/count":
                start = _start_id(last_event_id)
                for i in range(start + 1, start + 1 + int(query["n"][0])):
                    yield Event(f"event {i}", id=str(i))
            elif path == "/echo":
                yield Event(last_event_id, event="echo")
            elif path == "/idle":
                while True:
                    time.sleep(0.01)
                    yield None
            elif path == "/late":
                until = time.monotonic() + LATE
                while time.monotonic() < until:
                    time.sleep(0.01)
                    yield None
                yield Event("late", id="1")
            elif path == "/forever":
                i = 0
                while True:
                    i += 1
                    yield Event(f"tick {i}", id=str(i))
                    time.sleep(0.02)
            elif path == "/raise":
                yield "one"
                yield "two"
                raise RuntimeError("boom")
            elif path == "/firehose":
                while True:
                    yield BIG
            elif path == "/hub":
                yield from hub.subscribe(last_event_id)
            else:
                raise LookupError(path)
        finally:
            tracker.finish(path)

    return source


def make_wsgi_app(
    tracker: Tracker,
    hub: Optional[Broadcaster] = None,
    *,
    heartbeat: Optional[float] = 0.05,
    shutdown: Optional[wsgi.Shutdown] = None,
    retry: Optional[int] = None,
) -> Callable[..., Iterable[bytes]]:
    hub = hub if hub is not None else Broadcaster(idle_timeout=0.02)

    def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        response = wsgi.EventStreamResponse(
            _sync_source(tracker, hub, path, query),
            heartbeat=DEFAULT_HEARTBEAT if "heartbeat" in query else heartbeat,
            shutdown=shutdown,
            retry=retry,
            headers={"X-Test": "yes"},
        )
        return response(environ, start_response)

    return app


# --- async sources (ASGI) -------------------------------------------------------


def _async_source(
    tracker: Tracker, hub: Broadcaster, path: str, query: Dict[str, List[str]]
) -> Callable[[str], AsyncIterator[StreamItem]]:
    async def source(last_event_id: str) -> AsyncIterator[StreamItem]:
        tracker.start(path)
        try:
            if path == "/count":
                start = _start_id(last_event_id)
                for i in range(start + 1, start + 1 + int(query["n"][0])):
                    yield Event(f"event {i}", id=str(i))
            elif path == "/echo":
                yield Event(last_event_id, event="echo")
            elif path == "/idle":
                await asyncio.sleep(3600)
            elif path == "/late":
                await asyncio.sleep(LATE)
                yield Event("late", id="1")
            elif path == "/forever":
                i = 0
                while True:
                    i += 1
                    yield Event(f"tick {i}", id=str(i))
                    await asyncio.sleep(0.02)
            elif path == "/raise":
                yield "one"
                yield "two"
                raise RuntimeError("boom")
            elif path == "/firehose":
                while True:
                    yield BIG
                    await asyncio.sleep(0)
            elif path == "/hub":
                async for event in hub.subscribe(last_event_id):
                    yield event
            else:
                raise LookupError(path)
        finally:
            tracker.finish(path)

    return source


def make_asgi_app(
    tracker: Tracker,
    hub: Optional[Broadcaster] = None,
    *,
    heartbeat: Optional[float] = 0.05,
    send_timeout: Optional[float] = None,
    shutdown: Optional[asgi.Shutdown] = None,
    retry: Optional[int] = None,
) -> asgi.ASGIApp:
    hub = hub if hub is not None else Broadcaster()

    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] == "lifespan":
            # EventStreamResponse answers lifespan messages itself.
            await asgi.EventStreamResponse(lambda _: _never())(scope, receive, send)
            return
        path = scope["path"]
        query = parse_qs(scope["query_string"].decode("latin-1"))
        response = asgi.EventStreamResponse(
            _async_source(tracker, hub, path, query),
            heartbeat=heartbeat,
            send_timeout=send_timeout,
            shutdown=shutdown,
            retry=retry,
            headers={"X-Test": "yes"},
        )
        await response(scope, receive, send)

    return app


async def _never() -> AsyncIterator[StreamItem]:
    return
    yield  # pragma: no cover


# For waitress and gunicorn, which import the app by name in a subprocess.
# The switch the shutdown recipes in docs/wsgi.md trigger ("from app import shutdown").
shutdown = wsgi.Shutdown()
_track_file = os.environ.get("SSE_TEST_TRACK_FILE")
wsgi_app = make_wsgi_app(Tracker(_track_file), retry=50, shutdown=shutdown) if _track_file else None
