"""Both EventSource clients at the edges: closing at each point of a
connection, user headers the clients would otherwise set, a long error body,
and the asyncio body reader on its own.  Real servers on 127.0.0.1 throughout.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import threading
import time
import warnings
from typing import Any, List, Optional

import pytest

with warnings.catch_warnings():
    # cryptography (under trustme) warns on import that Python 3.8 support ends.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*Python 3.8")
    import trustme

from sse_core import Connect, Event, ReadyState, ReconnectPolicy, ResponseError
from sse_core.async_client import AsyncEventSource
from sse_core.client import EventSource

from .client_runner import CLIENT_KINDS, collect
from .sse_servers import RawServer, Request, end_chunks, send_chunk, send_head, wait_closed

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 10.0


def once() -> ReconnectPolicy:
    return ReconnectPolicy(initial_delay=0.01, jitter=0.0, max_attempts=0)


@pytest.fixture(params=CLIENT_KINDS)
def kind(request: Any) -> str:
    return str(request.param)


def two_events_then_silence(conn: Any, request: Request, index: int) -> None:
    send_head(conn, chunked=True)
    send_chunk(conn, b"id: 1\ndata: one\n\nid: 2\ndata: two\n\n")
    wait_closed(conn)


# -- views and the context managers, before any connection ------------------------------


def test_views_before_iterating() -> None:
    source = EventSource("http://127.0.0.1:9/s")
    assert source.ready_state is ReadyState.CONNECTING
    assert iter(source) is iter(source)  # one iterator, whatever the calls
    fresh = EventSource("http://127.0.0.1:9/s")
    with fresh:
        pass  # never iterated: closing is all there is to do
    assert fresh.ready_state is ReadyState.CLOSED

    async def main() -> None:
        async_source = AsyncEventSource("http://127.0.0.1:9/s", last_event_id="7")
        assert async_source.url == "http://127.0.0.1:9/s"
        assert async_source.ready_state is ReadyState.CONNECTING
        assert async_source.last_event_id == "7"
        assert async_source.__aiter__() is async_source.__aiter__()
        fresh = AsyncEventSource("http://127.0.0.1:9/s")
        async with fresh:
            pass
        assert fresh.ready_state is ReadyState.CLOSED

    asyncio.run(main())


# -- closing at each point ---------------------------------------------------------------


def test_close_while_the_request_is_being_made(kind: str) -> None:
    # close() called as the machine hands out its Connect: no request leaves.
    sources: List[Any] = []

    def on_action(action: Any) -> None:
        if type(action) is Connect:
            sources[0].close()

    with RawServer(two_events_then_silence) as server:
        if kind == "sync":
            source: Any = EventSource(server.url("/"), on_action=on_action, policy=once())
            sources.append(source)
            assert list(source) == []
        else:

            async def main() -> List[Event]:
                async_source = AsyncEventSource(server.url("/"), on_action=on_action)
                sources.append(async_source)
                return [event async for event in async_source]

            assert asyncio.run(asyncio.wait_for(main(), TIMEOUT)) == []
            source = sources[0]
    assert server.requests == []
    assert source.ready_state is ReadyState.CLOSED
    assert source.machine.state.name == "CLOSED"


def test_close_between_two_events_of_one_chunk(kind: str) -> None:
    got: List[Event] = []
    with RawServer(two_events_then_silence) as server:
        if kind == "sync":
            source: Any = EventSource(server.url("/"), policy=once())
            for event in source:
                got.append(event)
                source.close()  # the loop goes on; the source ends it
        else:

            async def main() -> Any:
                async_source = AsyncEventSource(server.url("/"), policy=once())
                async for event in async_source:
                    got.append(event)
                    async_source.close()
                return async_source

            source = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert got == [Event(data="one", id="1")]
    assert source.last_event_id == "1"  # the second event was never handed out
    assert source.ready_state is ReadyState.CLOSED


def _in_read(thread: threading.Thread) -> bool:
    """True once ``thread`` is inside the sync client's socket read."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "_receive" and "sse_core" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def test_sync_close_during_a_chunked_read_ends_quietly() -> None:
    # Shutting the socket down cuts the chunked framing: the read fails, and
    # since the source was closed that is the end, not a network error.
    errors: List[BaseException] = []
    got: List[Event] = []
    with RawServer(two_events_then_silence) as server:
        source = EventSource(server.url("/"), policy=once())

        def consume() -> None:
            try:
                got.extend(source)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        thread = threading.Thread(target=consume)
        thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not (len(got) == 2 and _in_read(thread)) and time.monotonic() < deadline:
            time.sleep(0.01)
        source.close()
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    assert errors == []
    assert [e.data for e in got] == ["one", "two"]
    assert source.ready_state is ReadyState.CLOSED
    assert source.machine.state.name == "CLOSED"


def test_async_close_during_a_chunked_read_ends_quietly() -> None:
    async def main() -> List[Event]:
        source = AsyncEventSource(server.url("/"), policy=once())
        got: List[Event] = []
        async for event in source:
            got.append(event)
            if len(got) == 2:
                # Runs once the loop is back in the read, waiting for more.
                asyncio.get_running_loop().call_soon(source.close)
        assert source.ready_state is ReadyState.CLOSED
        return got

    with RawServer(two_events_then_silence) as server:
        got = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert [e.data for e in got] == ["one", "two"]


class _ClosingContext(ssl.SSLContext):
    """A client TLS context that closes an EventSource as its handshake
    starts, or once it is over."""

    source: Optional[EventSource] = None
    after_handshake = False

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
        assert self.source is not None
        if self.after_handshake:
            tls = super().wrap_socket(*args, **kwargs)
            self.source.close()
            return tls
        self.source.close()
        return super().wrap_socket(*args, **kwargs)


@pytest.mark.parametrize("after_handshake", [False, True], ids=["before", "after"])
def test_sync_close_while_connecting_stops_before_the_request(after_handshake: bool) -> None:
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    context = _ClosingContext(ssl.PROTOCOL_TLS_CLIENT)
    context.after_handshake = after_handshake
    ca.configure_trust(context)
    with RawServer(two_events_then_silence, ssl_context=server_context) as server:
        source = EventSource(server.url("/"), ssl_context=context, policy=once())
        context.source = source
        assert list(source) == []
    assert server.requests == []
    assert source.ready_state is ReadyState.CLOSED


# -- what the server gets ------------------------------------------------------------------


def test_user_host_and_connection_headers_are_sent_as_given(kind: str) -> None:
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, chunked=True)
        send_chunk(conn, b"data: x\n\n")
        end_chunks(conn)

    headers = {"Host": "stream.example", "Connection": "close"}
    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), limit=1, headers=headers, policy=once())
    assert outcome.error is None
    [request] = server.requests
    assert request.headers["host"] == "stream.example"
    assert request.headers["connection"] == "close"


def test_header_values_go_out_as_utf_8(kind: str) -> None:
    # Issue 15.1: values were sent as Latin-1, and any other character
    # crashed the request with UnicodeEncodeError.
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, chunked=True)
        send_chunk(conn, b"data: x\n\n")
        end_chunks(conn)

    with RawServer(handler) as server:
        outcome = collect(
            kind, server.url("/"), limit=1, headers={"X-Name": "\u20ac \xe9"}, policy=once()
        )
    assert outcome.error is None
    [request] = server.requests
    # The raw server decodes heads as Latin-1: these are the UTF-8 bytes.
    assert request.headers["x-name"].encode("latin-1") == "\u20ac \xe9".encode()


@pytest.mark.parametrize(
    "options",
    [
        {"headers": {"X-Name": "a\r\nInjected: yes"}},
        {"headers": {"X-Name": "a\0"}},
        {"headers": {"Bad Name": "a"}},
        {"headers": {"": "a"}},
        {"method": "GET /x"},
        {"last_event_id": "a\nb"},
    ],
    ids=["CRLF", "NUL", "space-in-name", "empty-name", "method", "last-event-id"],
)
def test_a_request_that_cannot_be_sent_is_refused_at_once(kind: str, options: Any) -> None:
    cls = EventSource if kind == "sync" else AsyncEventSource
    with pytest.raises(ValueError, match=r"invalid|must not contain"):
        cls("http://127.0.0.1:1/", **options)


@pytest.mark.parametrize("body", ["text", 1])
def test_a_body_that_is_not_bytes_is_refused_at_once(kind: str, body: Any) -> None:
    cls = EventSource if kind == "sync" else AsyncEventSource
    with pytest.raises(TypeError, match="body must be bytes or None"):
        cls("http://127.0.0.1:1/", method="POST", body=body)


def test_a_long_error_body_is_cut_at_4_kib(kind: str) -> None:
    body = bytes(range(256)) * 40  # 10 KiB

    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, 500, [("Content-Length", str(len(body)))], content_type="text/plain")
        conn.sendall(body)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), policy=once())
    assert isinstance(outcome.error, ResponseError)
    assert outcome.error.body == body[:4096]


def test_a_connection_made_after_it_was_given_up_on_is_closed() -> None:
    # _within() gives up on a connect when its caller is cancelled or times
    # out; if the connect still finishes, its connection must not leak.
    from sse_core.async_client import _discard, _give_up

    async def main(url: str) -> None:
        loop = asyncio.get_running_loop()
        host, port = url.split("//")[1].rstrip("/").split(":")
        connection = await asyncio.open_connection(host, int(port))
        done: asyncio.Future[Any] = loop.create_future()
        done.set_result(connection)
        _give_up(done)  # too late to cancel: closed at once
        assert connection[1].transport.is_closing()
        late = asyncio.ensure_future(asyncio.open_connection(host, int(port)))
        _give_up(late)  # cancelled before it connects
        with pytest.raises(asyncio.CancelledError):
            await late
        for result in (True, None):  # a wait's result: nothing to close
            other: asyncio.Future[Any] = loop.create_future()
            other.set_result(result)
            _discard(other)
        failed: asyncio.Future[Any] = loop.create_future()
        failed.set_exception(OSError("refused"))
        _discard(failed)  # retrieved, so asyncio does not log it

    with RawServer(two_events_then_silence) as server:
        asyncio.run(asyncio.wait_for(main(server.url("/")), TIMEOUT))
