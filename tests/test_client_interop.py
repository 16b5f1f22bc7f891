"""Both clients and ``python -m sse_core get`` against real servers: what goes on
the wire (``Last-Event-ID`` in UTF-8) and what comes back (compressed streams)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import subprocess
import sys
import threading
import zlib
from typing import Any, AsyncIterator, Callable, Iterator, List, Optional

import pytest

from sse_core import Event, ReconnectPolicy, ResponseError
from sse_core.async_client import AsyncEventSource
from sse_core.client import EventSource

from .client_runner import CLIENT_KINDS
from .sse_servers import RawServer, Request, end_chunks, send_chunk, send_head, uvicorn_server

pytestmark = pytest.mark.timeout(90)

TIMEOUT = 20.0


@pytest.fixture(params=CLIENT_KINDS)
def kind(request: Any) -> str:
    return str(request.param)


def once(**kwargs: Any) -> ReconnectPolicy:
    options: Any = {"initial_delay": 0.05, "min_delay": 0.05, "jitter": 0.0, "max_attempts": 0}
    options.update(kwargs)
    return ReconnectPolicy(**options)


def consume(
    kind: str, url: str, limit: int, on_event: Callable[[Event], None], **options: Any
) -> List[Event]:
    """Iterate a client of ``kind`` until ``limit`` events or its end; errors raise."""
    got: List[Event] = []
    if kind == "sync":
        source = EventSource(url, **options)
        timer = threading.Timer(TIMEOUT, source.close)
        timer.start()
        try:
            with source:
                for event in source:
                    got.append(event)
                    on_event(event)
                    if len(got) >= limit:
                        break
        finally:
            timer.cancel()
        return got

    async def main() -> None:
        async with AsyncEventSource(url, **options) as source:
            async for event in source:
                got.append(event)
                on_event(event)
                if len(got) >= limit:
                    break

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    return got


# -- Last-Event-ID in UTF-8 ------------------------------------------------------------


def numbered_ids_app(prefix: str, seen: List[str]) -> Any:
    """sse_core's ASGI adapter: two events ``<prefix>-<n>`` after the request's
    ``Last-Event-ID`` (read by the adapter, as UTF-8), then the end."""
    from sse_core.asgi import EventStreamResponse

    def stream(last_event_id: str) -> AsyncIterator[Event]:
        seen.append(last_event_id)
        start = int(last_event_id.rpartition("-")[2] or 0)

        async def events() -> AsyncIterator[Event]:
            for n in (start + 1, start + 2):
                yield Event(f"n{n}", id=f"{prefix}-{n}", retry=10 if n == 1 else None)

        return events()

    return EventStreamResponse(stream)


def starlette_ids_app(prefix: str, seen: List[str]) -> Any:
    """The same endpoint written with sse-starlette, which reads the header's bytes."""
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.applications import Starlette
    from starlette.requests import Request as StarletteRequest
    from starlette.routing import Route

    async def ids(request: StarletteRequest) -> Any:
        raw = dict(request.scope["headers"]).get(b"last-event-id", b"")
        last_event_id = raw.decode("utf-8")
        seen.append(last_event_id)
        start = int(last_event_id.rpartition("-")[2] or 0)

        async def events() -> Any:
            for n in (start + 1, start + 2):
                yield ServerSentEvent(data=f"n{n}", id=f"{prefix}-{n}", retry=10)

        return EventSourceResponse(events())

    return Starlette(routes=[Route("/", ids)])


@pytest.mark.parametrize("prefix", ["\u65e5\u672c", "\u00e9t\u00e9", "ascii"])
@pytest.mark.parametrize("server", ["sse_core-asgi", "sse-starlette"])
def test_a_non_ascii_last_event_id_survives_reconnection(
    kind: str, server: str, prefix: str
) -> None:
    # Issue 15.1: after id "日本-2" both clients crashed with UnicodeEncodeError
    # on reconnection; after "été-1" they sent Latin-1, which the server read
    # as no ID, and the stream started over.
    seen: List[str] = []
    app = numbered_ids_app if server == "sse_core-asgi" else starlette_ids_app
    with uvicorn_server(app(prefix, seen)) as base:
        got = consume(kind, base + "/", 4, lambda event: None, policy=once(max_attempts=3))
    assert [e.id for e in got] == [f"{prefix}-{n}" for n in (1, 2, 3, 4)]
    assert [e.data for e in got] == ["n1", "n2", "n3", "n4"]
    assert seen[:2] == ["", f"{prefix}-2"]


# -- compressed streams ----------------------------------------------------------------

EVENTS = [b"id: 1\ndata: first\n\n", b"id: 2\ndata: second\n\n", b"id: 3\ndata: third\n\n"]


class Gate:
    """Holds the server's second event until the client has delivered the first."""

    def __init__(self) -> None:
        self.delivered = threading.Event()
        self.waited: List[bool] = []

    def on_event(self, event: Event) -> None:
        self.delivered.set()

    async def wait(self) -> None:
        for _ in range(int(TIMEOUT / 0.01)):
            if self.delivered.is_set():
                break
            await asyncio.sleep(0.01)
        self.waited.append(self.delivered.is_set())

    def wait_sync(self) -> None:
        self.waited.append(self.delivered.wait(TIMEOUT))


def gzip_flushes_each_message() -> bool:
    """True if this Starlette's GZipMiddleware flushes each body message.

    Recent Starlettes do (``Z_SYNC_FLUSH``; 1.10 here), and leave
    ``text/event-stream`` uncompressed unless told otherwise; older ones
    (0.44, the last for Python 3.8) compress event streams too, but hold
    the compressed bytes until the compressor's buffer fills or the body ends.
    """
    from starlette.middleware.gzip import GZipMiddleware

    return "exclude_content_types" in inspect.signature(GZipMiddleware).parameters


def gzip_middleware_app(gate: Gate) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    flushes = gzip_flushes_each_message()

    async def stream(request: StarletteRequest) -> Any:
        async def body() -> AsyncIterator[bytes]:
            yield EVENTS[0]
            if flushes:  # else the first event cannot reach the client yet
                await gate.wait()
            yield EVENTS[1]
            yield EVENTS[2]

        return StreamingResponse(body(), media_type="text/event-stream")

    options: Any = {"minimum_size": 0}
    if flushes:
        options["exclude_content_types"] = ()  # compress text/event-stream too
    return Starlette(
        routes=[Route("/", stream)], middleware=[Middleware(GZipMiddleware, **options)]
    )


def expected_waits(server: str) -> List[bool]:
    """What the gate saw: the server waited, and the first event came first."""
    return [] if server == "starlette-gzip" and not gzip_flushes_each_message() else [True]


def sync_flush_handler(gate: Gate, coding: str) -> Callable[[Any, Request, int], None]:
    """A raw server compressing each event with Z_SYNC_FLUSH, chunked."""

    def handler(conn: Any, request: Request, index: int) -> None:
        wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}[coding]
        compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
        send_head(conn, 200, [("Content-Encoding", coding)], chunked=True)
        for n, event in enumerate(EVENTS):
            if n == 1:
                gate.wait_sync()
            send_chunk(conn, compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH))
        send_chunk(conn, compressor.flush())
        end_chunks(conn)

    return handler


@contextlib.contextmanager
def compressing_server(name: str, gate: Gate) -> Iterator[str]:
    if name == "starlette-gzip":
        with uvicorn_server(gzip_middleware_app(gate)) as base:
            yield base + "/"
    else:
        with RawServer(sync_flush_handler(gate, name.split("-")[1])) as server:
            yield server.url("/")


SERVERS = ["starlette-gzip", "raw-gzip", "raw-deflate"]


@pytest.mark.parametrize("server", SERVERS)
def test_compressed_streams_are_read_event_by_event(kind: str, server: str) -> None:
    # Issue 15.3: behind GZipMiddleware, or with Accept-Encoding: gzip, the
    # clients yielded no events and no error.
    gate = Gate()
    with compressing_server(server, gate) as url:
        got = consume(
            kind,
            url,
            3,
            gate.on_event,
            headers={"Accept-Encoding": "gzip, deflate"},
            policy=once(),
        )
    assert [e.data for e in got] == ["first", "second", "third"]
    # The first event came out before the second was sent.
    assert gate.waited == expected_waits(server)


CLI_OPTIONS = ["--json", "--max-attempts", "0", "-H", "Accept-Encoding: gzip"]


@pytest.mark.parametrize("server", SERVERS)
def test_cli_get_prints_compressed_events_as_they_arrive(server: str) -> None:
    gate = Gate()
    with compressing_server(server, gate) as url, subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sse_core",
            "get",
            url,
            "--json",
            "--max-attempts",
            "0",
            "-H",
            "Accept-Encoding: gzip",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        gate.delivered.set()
        # Read on through the same buffered file: communicate() reads the
        # pipe itself and would miss lines readline() already buffered.
        out = process.stdout.read()
        err = process.stderr.read() if process.stderr is not None else ""
        process.wait(TIMEOUT)
    assert json.loads(first)["data"] == "first"
    lines = (first + out).splitlines()
    assert [json.loads(line)["data"] for line in lines] == ["first", "second", "third"]
    assert process.returncode == 0, err
    assert gate.waited == expected_waits(server)


def test_an_unsupported_content_coding_is_a_clear_error(kind: str) -> None:
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, 200, [("Content-Encoding", "br"), ("Content-Length", "4")])
        conn.sendall(b"\x8b\x02\x80\x03")

    with RawServer(handler) as server, pytest.raises(ResponseError) as info:
        consume(kind, server.url("/"), 1, lambda event: None, policy=once(max_attempts=3))
    assert "cannot decode its Content-Encoding: 'br'" in str(info.value)
    assert len(server.requests) == 1  # fails for good: the server would send the same


def test_cli_get_refuses_an_unsupported_content_coding() -> None:
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, 200, [("Content-Encoding", "br"), ("Content-Length", "4")])
        conn.sendall(b"\x8b\x02\x80\x03")

    with RawServer(handler) as server:
        result = subprocess.run(
            [sys.executable, "-m", "sse_core", "get", server.url("/")],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "cannot decode its Content-Encoding: 'br'" in result.stderr


def test_a_corrupt_compressed_stream_is_an_error_not_an_empty_stream(kind: str) -> None:
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, 200, [("Content-Encoding", "gzip")], chunked=True)
        send_chunk(conn, b"this is not gzip")
        end_chunks(conn)

    with RawServer(handler) as server, pytest.raises(Exception) as info:
        consume(kind, server.url("/"), 1, lambda event: None, policy=once(max_attempts=1))
    error: Optional[BaseException] = info.value
    assert type(error).__name__ == "ReconnectLimitError"
    assert error is not None
    assert "does not inflate" in str(error.__cause__)
    assert len(server.requests) == 2
