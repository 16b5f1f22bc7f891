"""Hostile servers against both EventSource clients and the decoding helpers.

Each case runs against a real server on 127.0.0.1 (the scripted raw-socket
server, or a bare TCP listener for the TLS failures) and checks the outcome
docs/security.md ("Hostile servers (client side)") promises: a clear
exception or the spec's behaviour, every event dispatched before the
trouble delivered, and no endless reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
import tracemalloc
import warnings
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, NamedTuple, Optional

import aiohttp
import httpx
import pytest

with warnings.catch_warnings():
    # cryptography (under trustme) warns on import that Python 3.8 support ends.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*Python 3.8")
    import trustme

    # h2 4.1 (the last for Python 3.8) compares bytes with str at import,
    # which -bb turns into an error; httpx imports it when it is installed.
    warnings.simplefilter("ignore", BytesWarning)
    with contextlib.suppress(ImportError):
        import h2.connection  # noqa: F401

from sse_core import (
    Event,
    ReadyState,
    ReconnectLimitError,
    RemoteProtocolError,
    ResponseError,
    Wait,
)
from sse_core._client_http import MAX_LAST_EVENT_ID_SIZE
from sse_core._client_response import MAX_INTERIM_RESPONSES, MalformedResponseError
from sse_core._reconnect import MAX_RECONNECTION_TIME, MAX_REDIRECTS
from sse_core.async_client import AsyncEventSource, aiter_events
from sse_core.client import EventSource, iter_events

from .client_runner import CLIENT_KINDS, fast
from .sse_servers import RawServer, Request, reset_on_close, send_chunk, send_head

pytestmark = pytest.mark.timeout(120)

TIMEOUT = 20.0  # seconds any one client run may take


@pytest.fixture(params=CLIENT_KINDS)
def kind(request: Any) -> str:
    return str(request.param)


class Run(NamedTuple):
    events: List[Event]
    error: Optional[BaseException]
    actions: List[Any]
    ready_state: ReadyState
    last_event_id: str


def run(
    kind: str,
    url: str,
    *,
    limit: Optional[int] = None,
    on_event: Optional[Callable[[Event], None]] = None,
    close_on_wait: bool = False,
    **options: Any,
) -> Run:
    """Iterate an EventSource of ``kind`` until ``limit`` events, its end or an error.

    Every action of its state machine is recorded; with ``close_on_wait`` the
    source is closed by the first :class:`Wait`, so the delay it chose is
    seen without being slept.  The run is bounded by :data:`TIMEOUT`.
    """
    actions: List[Any] = []
    events: List[Event] = []
    sources: List[Any] = []

    def on_action(action: Any) -> None:
        actions.append(action)
        if close_on_wait and type(action) is Wait:
            sources[0].close()

    def take(event: Event) -> bool:
        events.append(event)
        if on_event is not None:
            on_event(event)
        return limit is not None and len(events) >= limit

    error: Optional[BaseException] = None
    if kind == "sync":
        source = EventSource(url, on_action=on_action, **options)
        sources.append(source)
        timer = threading.Timer(TIMEOUT, source.close)
        timer.start()
        try:
            with source:
                for event in source:
                    if take(event):
                        break
        except Exception as exc:
            error = exc
        finally:
            timer.cancel()
        return Run(events, error, actions, source.ready_state, source.last_event_id)

    async def main() -> Run:
        nonlocal error
        async_source = AsyncEventSource(url, on_action=on_action, **options)
        sources.append(async_source)
        try:
            async with async_source:
                async for event in async_source:
                    if take(event):
                        break
        except Exception as exc:
            error = exc
        return Run(events, error, actions, async_source.ready_state, async_source.last_event_id)

    return asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def waits(actions: List[Any]) -> List[Wait]:
    return [a for a in actions if type(a) is Wait]


# -- an endless line -------------------------------------------------------------------

LIMIT = 1024 * 1024  # max_event_size in the memory tests
BLOCK = b"x" * 65536
ENDLESS = 256 * 1024 * 1024  # what the server is ready to send: far past any limit
BEFORE = b"id: 1\ndata: one\n\nid: 2\ndata: two\n\ndata: "
EVENTS_BEFORE = [Event(data="one", id="1"), Event(data="two", id="2")]


def endless_handler(chunked: bool) -> Callable[[Any, Request, int], None]:
    """Two events, then ``data: `` and an endless run of ``x`` with no newline."""

    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, chunked=chunked)
        with contextlib.suppress(OSError):  # the client hangs up: done
            if chunked:
                send_chunk(conn, BEFORE)
            else:
                conn.sendall(BEFORE)
            for _ in range(ENDLESS // len(BLOCK)):
                if chunked:
                    send_chunk(conn, BLOCK)
                else:
                    conn.sendall(BLOCK)

    return handler


def measure(action: Callable[[], Any]) -> Any:
    """``(result, peak bytes)`` of ``action`` under tracemalloc."""
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


# What a client holds besides the decoder's line: a read buffer or two of
# 64 KiB, the HTTP machinery, the events.  Measured at about 0.5 MiB on 3.11.
SLACK = 1024 * 1024
# With a third-party HTTP client under iter_events / aiter_events, its own
# buffers come on top: measured up to 0.85 MiB (aiohttp, Python 3.8).
HELPER_SLACK = 2 * 1024 * 1024


@pytest.mark.parametrize("chunked", [False, True], ids=["close-delimited", "chunked"])
def test_endless_line_fails_at_the_limit_with_bounded_memory(kind: str, chunked: bool) -> None:
    with RawServer(endless_handler(chunked)) as server:
        outcome, peak = measure(
            lambda: run(kind, server.url("/"), max_event_size=LIMIT, policy=fast())
        )
    assert outcome.events == EVENTS_BEFORE
    error = outcome.error
    assert isinstance(error, RemoteProtocolError)
    assert error.limit == LIMIT
    assert "longer than max_event_size" in str(error)
    # It fails for good: the server would send the same line again.
    assert len(server.requests) == 1
    assert waits(outcome.actions) == []
    assert outcome.ready_state is ReadyState.CLOSED
    assert outcome.last_event_id == "2"
    assert peak < LIMIT + SLACK, peak


def test_endless_line_at_the_default_limit(kind: str) -> None:
    with RawServer(endless_handler(False)) as server:
        outcome = run(kind, server.url("/"), policy=fast())
    assert outcome.events == EVENTS_BEFORE
    assert isinstance(outcome.error, RemoteProtocolError)
    assert outcome.error.limit == 16 * 1024 * 1024
    assert len(server.requests) == 1


def test_limit_error_is_raised_before_the_next_read(kind: str) -> None:
    # The events and the line that breaks the limit come in one piece, then
    # the server goes silent, holding the connection open until released: a
    # client that waits for more bytes before raising hangs until then.
    release = threading.Event()

    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(BEFORE + b"y" * 5000)
        release.wait(2 * TIMEOUT)

    outcomes: List[Run] = []
    with RawServer(handler) as server:
        url = server.url("/")
        options: Dict[str, Any] = {"max_event_size": 1000, "policy": fast()}
        thread = threading.Thread(target=lambda: outcomes.append(run(kind, url, **options)))
        thread.start()
        thread.join(TIMEOUT / 2)  # a hang bound, below run()'s own
        hung = thread.is_alive()
        release.set()
        thread.join(TIMEOUT)
    assert not hung
    [outcome] = outcomes
    assert outcome.events == EVENTS_BEFORE
    assert isinstance(outcome.error, RemoteProtocolError)
    assert len(server.requests) == 1


def test_decoding_helpers_raise_a_limit_before_asking_for_more() -> None:
    # One chunk holds the events and the line that breaks the limit; a
    # helper that asked for another chunk first would wait on a silent server.
    def chunks() -> Iterator[bytes]:
        yield BEFORE + b"y" * 5000
        raise AssertionError("asked for another chunk")

    async def async_chunks() -> AsyncIterator[bytes]:
        for chunk in chunks():
            yield chunk

    got: List[Event] = []
    with pytest.raises(RemoteProtocolError):
        for event in iter_events(chunks(), max_event_size=1000):
            got.append(event)
    assert got == EVENTS_BEFORE

    async def main() -> None:
        async for event in aiter_events(async_chunks(), max_event_size=1000):
            got.append(event)

    got.clear()
    with pytest.raises(RemoteProtocolError):
        asyncio.run(main())
    assert got == EVENTS_BEFORE


@pytest.mark.parametrize("chunked", [False, True], ids=["close-delimited", "chunked"])
def test_iter_events_on_an_endless_line(chunked: bool) -> None:
    got: List[Event] = []

    def consume(client: httpx.Client, url: str) -> BaseException:
        with client.stream("GET", url) as response:
            try:
                for event in iter_events(response.iter_raw(), max_event_size=LIMIT):
                    got.append(event)
            except RemoteProtocolError as error:
                return error
        raise AssertionError("no error")

    # The client is made outside the measure: its SSL context alone (the
    # CA bundle) takes megabytes.
    with RawServer(endless_handler(chunked)) as server, httpx.Client(timeout=10.0) as client:
        error, peak = measure(lambda: consume(client, server.url("/")))
    assert got == EVENTS_BEFORE
    assert isinstance(error, RemoteProtocolError)
    assert error.limit == LIMIT
    assert peak < LIMIT + HELPER_SLACK, peak


@pytest.mark.parametrize("chunked", [False, True], ids=["close-delimited", "chunked"])
def test_aiter_events_on_an_endless_line(chunked: bool) -> None:
    # Through aiohttp, whose body reader stops reading the socket while its
    # buffer is full.  (httpx's asyncio transport reads ahead without such a
    # bound on some Pythons: 5 MB on 3.8 here, which is not the decoder's.)
    got: List[Event] = []

    async def consume(session: aiohttp.ClientSession, url: str) -> BaseException:
        async with session.get(url) as response:
            try:
                async for event in aiter_events(response.content.iter_any(), max_event_size=LIMIT):
                    got.append(event)
            except RemoteProtocolError as error:
                return error
        raise AssertionError("no error")

    async def main(url: str) -> Any:
        async with aiohttp.ClientSession() as session:
            tracemalloc.start()  # the session (and its SSL context) is made first
            try:
                error = await asyncio.wait_for(consume(session, url), TIMEOUT)
                return error, tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    with RawServer(endless_handler(chunked)) as server:
        error, peak = asyncio.run(main(server.url("/")))
    assert got == EVENTS_BEFORE
    assert isinstance(error, RemoteProtocolError)
    assert peak < LIMIT + HELPER_SLACK, peak


# -- a wrong content type --------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type, shown",
    [
        ("application/json", "Content-Type: 'application/json'"),
        ("text/event-streams", "Content-Type: 'text/event-streams'"),
        (None, "no Content-Type"),
    ],
)
def test_wrong_content_type_says_what_it_got(
    kind: str, content_type: Optional[str], shown: str
) -> None:
    body = b'{"error": "not here"}'

    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, 200, [("Content-Length", str(len(body)))], content_type=content_type)
        conn.sendall(body)

    with RawServer(handler) as server:
        outcome = run(kind, server.url("/"), policy=fast())
    error = outcome.error
    assert isinstance(error, ResponseError)
    assert (error.status, error.content_type, error.body) == (200, content_type, body)
    assert shown in str(error)
    assert "expected 200 with Content-Type: text/event-stream" in str(error)
    assert len(server.requests) == 1  # failed for good, as the spec says
    assert outcome.ready_state is ReadyState.CLOSED


# -- redirects -------------------------------------------------------------------------


@pytest.mark.parametrize("loop", ["A-B-A", "self"])
def test_redirect_loop_fails_after_the_limit(kind: str, loop: str) -> None:
    def handler(conn: Any, request: Request, index: int) -> None:
        target = {"/a": "/b", "/b": "/a"}[request.target] if loop == "A-B-A" else "/a"
        send_head(conn, 302, [("Location", target), ("Content-Length", "0")], content_type=None)

    with RawServer(handler) as server:
        outcome = run(kind, server.url("/a"), policy=fast())
    error = outcome.error
    assert isinstance(error, ResponseError)
    assert error.status == 302
    assert f"too many redirects (more than {MAX_REDIRECTS} in a row)" in str(error)
    # The first request and the 20 redirects it followed; no reconnection.
    assert len(server.requests) == MAX_REDIRECTS + 1
    assert waits(outcome.actions) == []
    assert outcome.ready_state is ReadyState.CLOSED


@pytest.mark.parametrize(
    "location", ["http://127.0.0.1:99999/", "http://[::1/", "http://:80/x", "ftp://x/"]
)
def test_redirect_to_an_unusable_location_fails(kind: str, location: str) -> None:
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, 307, [("Location", location), ("Content-Length", "0")], content_type=None)

    with RawServer(handler) as server:
        outcome = run(kind, server.url("/"), policy=fast())
    assert isinstance(outcome.error, ResponseError)
    assert "a redirect without a usable http(s) Location" in str(outcome.error)
    assert len(server.requests) == 1


# -- huge retry values -----------------------------------------------------------------


@pytest.mark.parametrize(
    "digits, expected",
    [
        ("1" + "0" * 30, MAX_RECONNECTION_TIME),  # 10**30 ms: clamped to 24 h
        ("9" * 4300, MAX_RECONNECTION_TIME),  # the longest retry the decoder reads
        ("9" * 4301, 0.05),  # longer: ignored by the decoder, the policy's delay
        ("86400000", MAX_RECONNECTION_TIME),  # exactly 24 h
        ("1234", 1.234),
    ],
    ids=["10**30", "4300-digits", "4301-digits", "24h", "1234ms"],
)
def test_huge_retry_is_clamped(kind: str, digits: str, expected: float) -> None:
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(b"retry: " + digits.encode() + b"\nid: 1\ndata: x\n\n")

    with RawServer(handler) as server:
        outcome = run(kind, server.url("/"), policy=fast(), close_on_wait=True)
    assert outcome.error is None
    assert [e.data for e in outcome.events] == ["x"]
    [wait] = waits(outcome.actions)
    assert wait.delay == expected
    assert outcome.ready_state is ReadyState.CLOSED


def test_huge_retry_after_is_clamped(kind: str) -> None:
    def handler(conn: Any, request: Request, index: int) -> None:
        headers = [("Retry-After", "999999999"), ("Content-Length", "0")]
        send_head(conn, 503, headers, content_type=None)

    with RawServer(handler) as server:
        outcome = run(
            kind, server.url("/"), policy=fast(retry_server_errors=True), close_on_wait=True
        )
    assert outcome.error is None
    [wait] = waits(outcome.actions)
    assert wait.delay == MAX_RECONNECTION_TIME
    assert isinstance(wait.error, ResponseError)


# -- a reset mid-event ----------------------------------------------------------------


def reset(conn: Any) -> None:
    """Close ``conn`` with a TCP RST instead of a FIN."""
    reset_on_close(conn)
    conn.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["close-delimited", "chunked"])
def test_reset_mid_event_discards_it_and_resumes(kind: str, chunked: bool) -> None:
    got_first = threading.Event()

    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, chunked=chunked)
        if index == 0:
            payload = b"id: 1\ndata: first\n\nid: 2\ndata: cut off he"
            if chunked:
                send_chunk(conn, payload)
            else:
                conn.sendall(payload)
            got_first.wait(TIMEOUT)  # the client holds the partial event now
            reset(conn)
            return
        body = b"data: second\n\nid: 3\ndata: third\n\n"
        if chunked:
            send_chunk(conn, body)
        else:
            conn.sendall(body)
        server.wait_closed(conn)

    with RawServer(handler) as server:
        outcome = run(
            kind,
            server.url("/"),
            limit=3,
            policy=fast(),
            on_event=lambda event: got_first.set(),
        )
    assert outcome.error is None
    assert outcome.events == [
        Event(data="first", id="1"),
        Event(data="second", id="1"),
        Event(data="third", id="3"),
    ]
    assert server.requests[1].headers["last-event-id"] == "1"
    [wait] = waits(outcome.actions)
    assert isinstance(wait.error, ConnectionResetError)


@pytest.mark.parametrize("side", ["sync", "async"])
def test_decoding_helpers_on_a_reset_mid_event(side: str) -> None:
    got_first = threading.Event()

    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, chunked=True)
        send_chunk(conn, b"id: 1\ndata: first\n\nid: 2\ndata: cut off he")
        got_first.wait(TIMEOUT)
        reset(conn)

    got: List[Event] = []

    def consume_sync(url: str) -> BaseException:
        with httpx.stream("GET", url, timeout=10.0) as response:
            try:
                for event in iter_events(response.iter_raw()):
                    got.append(event)
                    got_first.set()
            except httpx.TransportError as error:
                return error
        raise AssertionError("no error")

    async def consume_async(url: str) -> BaseException:
        async with httpx.AsyncClient(timeout=10.0) as client, client.stream("GET", url) as response:
            try:
                async for event in aiter_events(response.aiter_raw()):
                    got.append(event)
                    got_first.set()
            except httpx.TransportError as error:
                return error
        raise AssertionError("no error")

    with RawServer(handler) as server:
        if side == "sync":
            error = consume_sync(server.url("/"))
        else:
            error = asyncio.run(asyncio.wait_for(consume_async(server.url("/")), TIMEOUT))
    # The helpers decode one body and never reconnect: the HTTP client's
    # error reaches the caller, after every complete event.
    assert got == [Event(data="first", id="1")]
    assert isinstance(error, httpx.TransportError)


# -- TLS failures ----------------------------------------------------------------------


class Listener(RawServer):
    """RawServer's accept loop, with each bare TCP connection handed to
    ``handler(conn)`` before any TLS or HTTP."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        super().__init__(self._never_called)
        self.tcp_handler = handler

    @staticmethod
    def _never_called(conn: Any, request: Request, index: int) -> None:
        raise AssertionError("Listener reads no request")

    @property
    def connections(self) -> int:
        return self._accepted

    def https_url(self, host: str) -> str:
        return f"https://{host}:{self.port}/"

    def _serve(self, raw: socket.socket, index: int) -> None:
        try:
            raw.settimeout(10.0)
            self.tcp_handler(raw)
        except OSError as error:  # ssl.SSLError included
            self.errors.append(error)
        finally:
            raw.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, hostname: str, **options: Any) -> Callable[[socket.socket], None]:
    """A TLS server with a certificate for ``hostname`` that streams one event."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(hostname).configure_cert(context)
    for name, value in options.items():
        setattr(context, name, value)

    def handler(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)
            send_head(tls)
            tls.sendall(b"data: secure\n\n")

    return handler


def plain_http(conn: socket.socket) -> None:
    """What a plain HTTP server says to a TLS ClientHello."""
    conn.recv(65536)
    conn.sendall(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 11\r\nConnection: close\r\n\r\nBad Request"
    )


def abort_handshake(conn: socket.socket) -> None:
    """Read the ClientHello, then reset the connection."""
    conn.recv(65536)
    reset(conn)


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


TLS_CASES = ["untrusted", "hostname-mismatch", "plain-http", "aborted", "client-cert-required"]


@pytest.mark.parametrize("case", TLS_CASES)
def test_tls_failures_are_network_errors_with_backoff(kind: str, ca: trustme.CA, case: str) -> None:
    trust: Optional[ssl.SSLContext] = client_context(ca)
    host = "127.0.0.1"
    handler: Callable[[socket.socket], None]
    if case == "untrusted":
        handler, trust = tls_server(ca, "127.0.0.1"), None  # the system's CAs only
    elif case == "hostname-mismatch":
        handler, host = tls_server(ca, "example.org"), "localhost"
    elif case == "plain-http":
        handler = plain_http
    elif case == "aborted":
        handler = abort_handshake
    else:
        handler = tls_server(ca, "127.0.0.1", verify_mode=ssl.CERT_REQUIRED)
    with Listener(handler) as server:
        outcome = run(
            kind,
            server.https_url(host),
            ssl_context=trust,
            policy=fast(max_attempts=2, multiplier=2.0),
        )
    error = outcome.error
    assert isinstance(error, ReconnectLimitError)
    assert error.attempts == 2
    cause = error.__cause__
    assert isinstance(cause, OSError)  # ssl.SSLError is an OSError
    if case in ("untrusted", "hostname-mismatch"):
        assert isinstance(cause, ssl.SSLCertVerificationError)
        expected = "mismatch" if case == "hostname-mismatch" else "unable to get local issuer"
        assert expected in str(cause)
    elif case == "plain-http":
        assert isinstance(cause, ssl.SSLError)
    assert outcome.events == []
    # Backoff, not a storm: 0.05 s, then 0.1 s, then the policy gives up.
    assert [w.delay for w in waits(outcome.actions)] == [0.05, 0.1]
    assert server.connections == 3
    assert outcome.ready_state is ReadyState.CLOSED


# -- retry: 0 --------------------------------------------------------------------------


def test_retry_zero_still_backs_off(kind: str) -> None:
    # Issue 18.3: after "retry: 0" every failure reconnected at once.  The
    # server asks for it on every connection and never sends an event.
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(b"retry: 0\n\n")

    with RawServer(handler) as server:
        outcome = run(kind, server.url("/"), policy=fast(max_attempts=4, min_delay=0.01))
    assert isinstance(outcome.error, ReconnectLimitError)
    # The first reconnection waits the reconnection time the server set
    # (0 ms); the next ones back off from min_delay.
    assert [w.delay for w in waits(outcome.actions)] == [0.0, 0.02, 0.04, 0.08]
    assert len(server.requests) == 5


# -- malformed HTTP framing ------------------------------------------------------------


def test_a_negative_chunk_size_fails_at_once_with_bounded_memory(kind: str) -> None:
    # Issue 18.1: "-1" made AsyncEventSource read to the end of the
    # connection, keeping all of it (220 MiB sent: +220 MiB), and deliver
    # nothing.  Both clients now refuse the size line and reconnect.
    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn, chunked=True)
        with contextlib.suppress(OSError):
            conn.sendall(b"-1\r\n")
            for _ in range(ENDLESS // len(BLOCK)):
                conn.sendall(BLOCK)

    with RawServer(handler) as server:
        outcome, peak = measure(
            lambda: run(kind, server.url("/"), max_event_size=LIMIT, policy=fast(max_attempts=1))
        )
    error = outcome.error
    assert isinstance(error, ReconnectLimitError)
    assert isinstance(error.__cause__, MalformedResponseError)
    assert "bad chunk size line: b'-1'" in str(error.__cause__)
    assert len(server.requests) == 2
    assert peak < SLACK, peak


@pytest.mark.parametrize(
    "head, body, message",
    [
        ([("Content-Length", "\u00b2")], b"data: x\n\n", "bad Content-Length"),
        ([("Content-Length", "\u0661")], b"data: x\n\n", "bad Content-Length"),
        ([("Transfer-Encoding", "chunked")], b"1;" + b"x" * 70000 + b"\r\n", "longer than 8192"),
        ([("Transfer-Encoding", "chunked")], b"\xd9\xa1\r\nx\r\n", "bad chunk size line"),
    ],
    ids=["superscript-two", "arabic-indic-one", "64KiB-size-line", "non-ascii-size"],
)
def test_malformed_framing_is_a_network_error_in_both_clients(
    kind: str, head: List[Any], body: bytes, message: str
) -> None:
    # Issue 18.2: AsyncEventSource let a bare ValueError escape, with no
    # reconnection, where the sync client reconnected.  One rule for both.
    def handler(conn: Any, request: Request, index: int) -> None:
        # The raw server writes header values as Latin-1; send "²" as UTF-8
        # bytes would be, as a hostile server could.
        fields = [(name, value.encode().decode("latin-1")) for name, value in head]
        send_head(conn, 200, fields)
        with contextlib.suppress(OSError):
            conn.sendall(body)

    with RawServer(handler) as server:
        outcome = run(kind, server.url("/"), policy=fast(max_attempts=2))
    error = outcome.error
    assert isinstance(error, ReconnectLimitError)
    assert isinstance(error.__cause__, MalformedResponseError)
    assert message in str(error.__cause__)
    assert [type(w.error) for w in waits(outcome.actions)] == [MalformedResponseError] * 2
    assert len(server.requests) == 3


# -- endless interim responses ---------------------------------------------------------


def endless_interim(conn: Any, request: Request, index: int) -> None:
    with contextlib.suppress(OSError):
        while True:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 8)
            time.sleep(0.001)


@pytest.mark.parametrize("read_timeout", [None, 5.0])
def test_endless_interim_responses_are_bounded(kind: str, read_timeout: Optional[float]) -> None:
    # Issue 18.4: both clients skipped 1xx answers for ever.
    with RawServer(endless_interim) as server:
        outcome = run(kind, server.url("/"), read_timeout=read_timeout, policy=fast(max_attempts=1))
    error = outcome.error
    assert isinstance(error, ReconnectLimitError)
    assert isinstance(error.__cause__, MalformedResponseError)
    assert f"more than {MAX_INTERIM_RESPONSES} interim (1xx) responses" in str(error.__cause__)
    assert len(server.requests) == 2


def test_a_trickled_head_is_bounded_by_read_timeout(kind: str) -> None:
    # Each byte comes well within read_timeout, the head never ends: the
    # whole head must arrive within read_timeout.
    def handler(conn: Any, request: Request, index: int) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(b"HTTP/1.1 103 Early Hints\r\n")
            while True:
                conn.sendall(b"X")
                time.sleep(0.02)

    with RawServer(handler) as server:
        outcome = run(kind, server.url("/"), read_timeout=0.5, policy=fast(max_attempts=1))
    error = outcome.error
    assert isinstance(error, ReconnectLimitError)
    assert isinstance(error.__cause__, (TimeoutError, asyncio.TimeoutError, socket.timeout))
    assert len(server.requests) == 2


@pytest.mark.parametrize("read_timeout", [None, 5.0])
def test_cancelling_the_consumer_ends_it_during_endless_interim_responses(
    read_timeout: Optional[float],
) -> None:
    # Issue 18.4: on Python 3.11, with read_timeout, task.cancel() was lost
    # inside asyncio.wait_for in 5 of 5 trials and the task ran on.
    policy = fast(max_attempts=None, initial_delay=0.0, min_delay=0.0)

    async def consume(url: str) -> None:
        async with AsyncEventSource(url, read_timeout=read_timeout, policy=policy) as source:
            async for _ in source:
                raise AssertionError("no event is ever sent")

    async def trial(url: str) -> bool:
        task = asyncio.ensure_future(consume(url))
        await asyncio.sleep(0.2)  # well inside the 1xx loop and its reconnections
        task.cancel()
        done, _ = await asyncio.wait((task,), timeout=TIMEOUT / 4)  # a hang bound
        return bool(done) and task.cancelled()

    with RawServer(endless_interim) as server:
        results = [asyncio.run(trial(server.url("/"))) for _ in range(5)]
    assert results == [True] * 5


# -- closing from another task ---------------------------------------------------------


@pytest.mark.parametrize("where", ["reading", "waiting", "connecting"])
def test_aclose_from_another_task_ends_the_reading_task(where: str) -> None:
    # Issue 18.5: aclose() from another task raised RuntimeError
    # ("asynchronous generator is already running").
    def handler(conn: Any, request: Request, index: int) -> None:
        if where == "connecting":  # no answer at all
            server.wait_closed(conn)
            return
        send_head(conn)
        conn.sendall(b"id: 1\ndata: one\n\n")
        if where == "reading":
            server.wait_closed(conn)

    got: List[Event] = []
    ended: List[str] = []

    async def consume(source: AsyncEventSource) -> None:
        try:
            async for event in source:
                got.append(event)
        finally:
            ended.append("finally")

    async def main(url: str) -> ReadyState:
        policy = fast(initial_delay=30.0)  # "waiting" waits 30 s unless closed
        source = AsyncEventSource(url, policy=policy)
        reader = asyncio.ensure_future(consume(source))
        while not (server.requests and (got or where == "connecting")):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the reader is back inside the iterator
        await source.aclose()
        assert ended == ["finally"]  # aclose() returned after the reader ended
        await reader  # no error
        return source.ready_state

    with RawServer(handler) as server:
        state = asyncio.run(asyncio.wait_for(main(server.url("/")), TIMEOUT))
    assert state is ReadyState.CLOSED
    assert [e.data for e in got] == ([] if where == "connecting" else ["one"])
    assert len(server.requests) == 1


# -- the last event ID sent back -------------------------------------------------------


@pytest.mark.parametrize(
    "size, sent", [(MAX_LAST_EVENT_ID_SIZE, True), (MAX_LAST_EVENT_ID_SIZE + 1, False)]
)
def test_a_huge_last_event_id_is_not_sent_back(kind: str, size: int, sent: bool) -> None:
    # Issue 18.6: an 8 MiB id went back as an 8 MiB header on every
    # reconnection.  Past MAX_LAST_EVENT_ID_SIZE bytes of UTF-8 it is not sent.
    big_id = "\u00e9" * (size // 2) + "x" * (size % 2)  # 2 bytes a character

    def handler(conn: Any, request: Request, index: int) -> None:
        send_head(conn)
        if index == 0:
            conn.sendall(b"id: " + big_id.encode() + b"\ndata: one\n\n")
        else:
            conn.sendall(b"data: two\n\n")

    with RawServer(handler) as server:
        outcome = run(kind, server.url("/"), limit=2, policy=fast())
    assert [e.data for e in outcome.events] == ["one", "two"]
    assert outcome.last_event_id == big_id  # kept, and given to the events
    header = server.requests[1].headers.get("last-event-id")
    if sent:
        assert header is not None
        assert header.encode("latin-1").decode() == big_id
    else:
        assert header is None
