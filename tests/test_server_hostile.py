# SPDX-License-Identifier: MIT
"""Hostile clients against the server adapters, through real servers on 127.0.0.1.

Each test plays a client a public server meets sooner or later, and counts what
it costs the server: bytes pulled from the source, tasks, threads, file
descriptors, log lines.  Every server runs in this process (uvicorn, the raw
``asgi.handle_connection`` helper, wsgiref, waitress), so the counts are the
server's own.  The numbers the tests see are in docs/security.md, "Hostile
clients (server side)".

* A client that never reads: what the source is pulled for stays bounded by
  the socket buffers (plus waitress's own output buffer), and an ASGI stream
  with ``send_timeout`` is dropped after it.
* A client that leaves in the middle of a large event, with FIN or RST: the
  source is closed and nothing is logged.
* 10,000 connect/disconnect cycles: no task, thread or descriptor is left.
* A hostile ``Last-Event-ID`` (1 MB, control characters, invalid UTF-8): the
  source gets ``""`` and the value never reaches the response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from typing import (
    Any,
    AsyncIterator,
    Callable,
    ContextManager,
    Dict,
    Iterator,
    List,
    Optional,
    Tuple,
)

import pytest

from sse_core import Event, asgi, wsgi
from sse_core._http import MAX_LAST_EVENT_ID_LENGTH, StreamItem

from ._servers import Running, raw_asgi_server, uvicorn_server, wait_until, wsgiref_server
from .sse_servers import reset_on_close

#: Size of each event a firehose source yields.
EVENT_SIZE = 64 * 1024
#: The never-reading client's receive buffer (the kernel doubles it).
CLIENT_RCVBUF = 4096
#: asyncio's default high-water mark for a transport's write buffer, which
#: uvicorn and the raw helper both keep.
TRANSPORT_HIGH_WATER = 64 * 1024
SEND_TIMEOUT = 0.5
CYCLES = 10_000

ServerFactory = Callable[[Any], ContextManager[Running]]


def _kernel_send_buffer_max() -> int:
    """The most a TCP send buffer may autotune to (``tcp_wmem``'s maximum)."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem", encoding="ascii") as file:
            return int(file.read().split()[2])
    except (OSError, ValueError, IndexError):  # pragma: no cover - Linux has it
        return 4 * 1024 * 1024


def _fd_count() -> int:
    """Open socket descriptors of this process (servers included).

    Tests wait for the count to come back to at most what it was: an
    unrelated descriptor closed meanwhile (a garbage-collected socket of an
    earlier test) must not fail them, and a leaked one still does.  Only
    sockets count: what an earlier test left to the garbage collector (a
    file on /dev/null, a pipe) may be opened or closed at any time.
    """
    count = 0
    for name in os.listdir("/proc/self/fd"):
        # OSError: closed meanwhile, or the listing's own descriptor.
        with contextlib.suppress(OSError):
            count += os.readlink("/proc/self/fd/" + name).startswith("socket:")
    return count


def _problems(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def _task_count() -> int:
    """Tasks in the running loop, not counting the one asking."""
    return len(asyncio.all_tasks()) - 1


def _waitress_port(server: Any) -> int:
    return int(server.effective_port)


@contextlib.contextmanager
def waitress_server(app: Any, **adjustments: Any) -> Iterator[Running]:
    """waitress in a thread of this process, with its own dispatcher threads."""
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4, **adjustments)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # A dispatcher thread counts as busy until it first waits for a task; a
    # request arriving before then is queued and waitress warns ("Task queue
    # depth is 1"), which the tests count as a problem.  Slow starts happen
    # under load, so wait for every thread to be idle.
    dispatcher = server.task_dispatcher
    wait_until(lambda: dispatcher.active_count == 0, what="waitress's threads to start")
    try:
        yield Running(_waitress_port(server))
    finally:
        server.close()
        thread.join(10)
        assert not thread.is_alive(), "waitress did not stop"


ASGI_SERVERS: Dict[str, ServerFactory] = {"uvicorn": uvicorn_server, "raw": raw_asgi_server}
WSGI_SERVERS: Dict[str, ServerFactory] = {"wsgiref": wsgiref_server, "waitress": waitress_server}


class Probe:
    """Sources that count what the server pulls from them and when they close."""

    def __init__(self, event_size: int = EVENT_SIZE) -> None:
        self._lock = threading.Lock()
        self._item = "x" * event_size
        self.pulled = 0  # bytes of data handed to the adapter
        self.started = 0
        self.finished = 0
        self.last_pull = 0.0
        self.finished_at = 0.0
        self.ids: List[str] = []

    def _start(self, last_event_id: str) -> None:
        with self._lock:
            self.started += 1
            self.ids.append(last_event_id)

    def _pull(self, size: int) -> None:
        with self._lock:
            self.pulled += size
            self.last_pull = time.monotonic()

    def _finish(self) -> None:
        with self._lock:
            self.finished += 1
            self.finished_at = time.monotonic()

    # Every source is a function of the request's Last-Event-ID, so one
    # response object serves every request.

    async def firehose(self, last_event_id: str) -> AsyncIterator[StreamItem]:
        self._start(last_event_id)
        try:
            while True:
                self._pull(len(self._item))
                yield self._item
        finally:
            self._finish()

    def sync_firehose(self, last_event_id: str) -> Iterator[StreamItem]:
        self._start(last_event_id)
        try:
            while True:
                self._pull(len(self._item))
                yield self._item
        finally:
            self._finish()

    async def hello_then_idle(self, last_event_id: str) -> AsyncIterator[StreamItem]:
        self._start(last_event_id)
        try:
            yield Event("hello", id="1")
            await asyncio.sleep(3600)
        finally:
            self._finish()

    def sync_hello_then_idle(self, last_event_id: str) -> Iterator[StreamItem]:
        # The None items give the adapter a heartbeat to write, which is how
        # a WSGI server notices the client has gone.
        self._start(last_event_id)
        try:
            yield Event("hello", id="1")
            while True:
                time.sleep(0.002)
                yield None
        finally:
            self._finish()

    async def echo(self, last_event_id: str) -> AsyncIterator[StreamItem]:
        self._start(last_event_id)
        try:
            yield Event(f"got [{last_event_id}]", event="echo")
        finally:
            self._finish()

    def sync_echo(self, last_event_id: str) -> Iterator[StreamItem]:
        self._start(last_event_id)
        try:
            yield Event(f"got [{last_event_id}]", event="echo")
        finally:
            self._finish()


def _request(path: str = "/", extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n"


@contextlib.contextmanager
def _connect(port: int, *, rcvbuf: Optional[int] = None) -> Iterator[socket.socket]:
    sock = socket.socket()
    try:
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        yield sock
    finally:
        sock.close()


def _read_until(sock: socket.socket, marker: bytes, limit: int = 1 << 20) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk or len(data) > limit:
            raise AssertionError(f"no {marker!r} in {data[:300]!r}")
        data += chunk
    return data


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def _wait_stable(read: Callable[[], int], quiet: float = 1.0, timeout: float = 30.0) -> int:
    """``read()`` once it has not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise AssertionError(f"still growing after {timeout}s: {value}")
        time.sleep(0.05)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


def _in_flight_bound(client: socket.socket, server_buffer: int) -> int:
    """The most bytes that can sit between a source and a client that never reads.

    The client's receive buffer, the server's kernel send buffer (autotuned up
    to ``tcp_wmem``'s maximum), the server's own buffer, and two events: the
    one being written (it may overshoot a high-water mark) and the next one.
    """
    rcvbuf = client.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return rcvbuf + _kernel_send_buffer_max() + server_buffer + 2 * EVENT_SIZE


# --- 1. a client that never reads ------------------------------------------------


@pytest.mark.parametrize("kind", sorted(ASGI_SERVERS))
def test_asgi_client_that_never_reads_is_bounded_then_dropped(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    probe = Probe()
    app = asgi.EventStreamResponse(probe.firehose, heartbeat=None, send_timeout=SEND_TIMEOUT)
    with ASGI_SERVERS[kind](app) as server:
        tasks = server.run_in_loop(_task_count())
        fds = _fd_count()
        with _connect(server.port, rcvbuf=CLIENT_RCVBUF) as client:
            client.sendall(_request())
            wait_until(
                lambda: probe.finished == 1, timeout=SEND_TIMEOUT + 20, what="the stream to drop"
            )
            pulled = probe.pulled
            # The last write waited the whole send timeout (less the loop
            # clock's resolution), and then the source was closed.
            assert probe.finished_at - probe.last_pull >= SEND_TIMEOUT - 0.01
            assert pulled <= _in_flight_bound(client, TRANSPORT_HIGH_WATER)
            # While the client is still connected, nothing of the stream is
            # left running on the server.
            wait_until(lambda: server.run_in_loop(_task_count()) == tasks, what="tasks to end")
            if kind == "raw":
                # The raw helper aborts the unfinished response, so the
                # connection is released; uvicorn keeps it (and its buffers)
                # until the client reads or leaves.
                wait_until(lambda: _fd_count() <= fds + 1, what="the server's socket to close")
            time.sleep(0.2)
            assert probe.pulled == pulled
        wait_until(lambda: _fd_count() <= fds, what="every socket to close")
    assert probe.started == 1
    ours = [m for m in _problems(caplog) if "sse_core" in m]
    assert ours == [
        f"sse_core: a client took over {SEND_TIMEOUT}s to accept a write; dropping its stream"
    ]
    if kind == "uvicorn":
        # uvicorn adds its own line when an app returns mid-response.
        assert _problems(caplog) == [*ours, "ASGI callable returned without completing response."]
    else:
        assert _problems(caplog) == ours


@pytest.mark.parametrize("kind", sorted(ASGI_SERVERS))
def test_asgi_client_that_never_reads_pins_bounded_memory_without_a_timeout(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    probe = Probe()
    app = asgi.EventStreamResponse(probe.firehose, heartbeat=None)
    with ASGI_SERVERS[kind](app) as server:
        tasks = server.run_in_loop(_task_count())
        with _connect(server.port, rcvbuf=CLIENT_RCVBUF) as client:
            client.sendall(_request())
            wait_until(lambda: probe.pulled > 0, what="the stream to start")
            pulled = _wait_stable(lambda: probe.pulled)
            assert pulled <= _in_flight_bound(client, TRANSPORT_HIGH_WATER)
            assert probe.finished == 0
        # Leaving (with unread data, so the kernel sends RST) ends it.
        wait_until(lambda: probe.finished == 1, what="the source's finally")
        wait_until(lambda: server.run_in_loop(_task_count()) == tasks, what="tasks to end")
    assert _problems(caplog) == []


@pytest.mark.parametrize("kind", sorted(WSGI_SERVERS))
def test_wsgi_client_that_never_reads_pins_bounded_memory(
    kind: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = Probe()
    app = wsgi.EventStreamResponse(probe.sync_firehose, heartbeat=None)
    # waitress buffers the response itself, up to outbuf_high_watermark
    # (16 MiB by default, spilling to a temporary file past outbuf_overflow)
    # before it blocks the application's thread.
    server_buffer = 16 * 1024 * 1024 if kind == "waitress" else 0
    with WSGI_SERVERS[kind](app) as server:
        threads = threading.active_count()
        with _connect(server.port, rcvbuf=CLIENT_RCVBUF) as client:
            client.sendall(_request())
            wait_until(lambda: probe.pulled > 0, what="the stream to start")
            pulled = _wait_stable(lambda: probe.pulled)
            assert pulled <= _in_flight_bound(client, server_buffer)
            assert probe.finished == 0
        # The server's blocked write fails once the client is gone, and it
        # closes the body, which closes the source.
        wait_until(lambda: probe.finished == 1, what="the source's finally")
        wait_until(lambda: threading.active_count() <= threads, what="the handler thread")
    assert _problems(caplog) == []
    assert "Traceback" not in capsys.readouterr().err


def test_raw_helper_resets_a_complete_response_the_client_never_takes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A finished response still buffered is flushed for CLOSE_TIMEOUT, then dropped."""
    monkeypatch.setattr(asgi, "CLOSE_TIMEOUT", 0.3)
    # Under asyncio's 64 KiB high-water mark, so the final write's drain
    # returns, but more than the small kernel buffers below can hold.
    body = b"x" * 60_000
    sent: List[bool] = []

    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        sent.append(True)

    with raw_asgi_server(app, sndbuf=4096) as server:
        tasks = server.run_in_loop(_task_count())
        fds = _fd_count()
        with _connect(server.port, rcvbuf=CLIENT_RCVBUF) as client:
            client.sendall(_request())
            wait_until(lambda: sent == [True], what="the response to be handed over")
            wait_until(lambda: server.run_in_loop(_task_count()) == tasks, what="tasks to end")
            wait_until(lambda: _fd_count() <= fds + 1, what="the server's socket to close")
            got = _read_all(client)
    assert got.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(got) < len(body)
    assert _problems(caplog) == []


# --- 2. a client that leaves in the middle of a large event -----------------------


def _leave_mid_event(port: int, close: str) -> None:
    """Read 100 KB of a large event's stream, then leave: FIN, or RST if ``close`` is "rst"."""
    with _connect(port) as client:
        client.sendall(_request())
        got = _read_until(client, b"\r\n\r\n")
        while len(got) < 100_000:
            got += client.recv(65536)
        if close == "rst":
            reset_on_close(client)
        else:
            client.shutdown(socket.SHUT_WR)


@pytest.mark.parametrize("close", ["fin", "rst"])
@pytest.mark.parametrize("kind", sorted(ASGI_SERVERS))
def test_asgi_client_leaving_mid_event_closes_the_source(
    kind: str, close: str, caplog: pytest.LogCaptureFixture
) -> None:
    probe = Probe(event_size=1 << 20)
    app = asgi.EventStreamResponse(probe.firehose, heartbeat=None)
    with ASGI_SERVERS[kind](app) as server:
        tasks = server.run_in_loop(_task_count())
        fds = _fd_count()
        _leave_mid_event(server.port, close)
        wait_until(lambda: probe.finished == 1, what="the source's finally")
        wait_until(lambda: server.run_in_loop(_task_count()) == tasks, what="tasks to end")
        wait_until(lambda: _fd_count() <= fds, what="the server's socket to close")
    assert probe.started == 1
    assert _problems(caplog) == []


@pytest.mark.parametrize("close", ["fin", "rst"])
@pytest.mark.parametrize("kind", sorted(WSGI_SERVERS))
def test_wsgi_client_leaving_mid_event_closes_the_source(
    kind: str,
    close: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    probe = Probe(event_size=1 << 20)
    app = wsgi.EventStreamResponse(probe.sync_firehose, heartbeat=None)
    with WSGI_SERVERS[kind](app) as server:
        threads = threading.active_count()
        fds = _fd_count()
        _leave_mid_event(server.port, close)
        wait_until(lambda: probe.finished == 1, what="the source's finally")
        wait_until(lambda: threading.active_count() <= threads, what="the handler thread")
        wait_until(lambda: _fd_count() <= fds, what="the server's socket to close")
    assert probe.started == 1
    assert _problems(caplog) == []
    assert "Traceback" not in capsys.readouterr().err


# --- 3. 10,000 connect/disconnect cycles ----------------------------------------


def _cycles(port: int, count: int) -> None:
    """Open a stream, read its first event, leave (FIN and RST in turn)."""
    for i in range(count):
        with _connect(port) as client:
            client.sendall(_request())
            _read_until(client, b"data: hello\n\n")
            if i % 2:
                reset_on_close(client)


@pytest.mark.parametrize("kind", sorted(ASGI_SERVERS))
def test_asgi_10000_connect_disconnect_cycles_leak_nothing(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    probe = Probe()
    app = asgi.EventStreamResponse(probe.hello_then_idle, heartbeat=None)
    with ASGI_SERVERS[kind](app) as server:
        tasks = server.run_in_loop(_task_count())
        threads = threading.active_count()
        fds = _fd_count()
        _cycles(server.port, CYCLES)
        wait_until(lambda: probe.finished == CYCLES, what="every source's finally")
        wait_until(lambda: server.run_in_loop(_task_count()) == tasks, what="tasks to end")
        wait_until(lambda: _fd_count() <= fds, what="every socket to close")
        assert threading.active_count() <= threads
    assert probe.started == CYCLES
    assert _problems(caplog) == []


def test_wsgi_10000_connect_disconnect_cycles_leak_nothing(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # wsgiref, a thread per connection.  (waitress, with its fixed pool of
    # threads each held until a write notices the client gone, takes about
    # four times as long and warns of a queue: not a leak, a slower test.)
    probe = Probe()
    app = wsgi.EventStreamResponse(probe.sync_hello_then_idle, heartbeat=0.001)
    with wsgiref_server(app) as server:
        threads = threading.active_count()
        fds = _fd_count()
        _cycles(server.port, CYCLES)
        wait_until(lambda: probe.finished == CYCLES, what="every source's finally")
        wait_until(lambda: threading.active_count() <= threads, what="handler threads to end")
        wait_until(lambda: _fd_count() <= fds, what="every socket to close")
    assert probe.started == CYCLES
    assert _problems(caplog) == []
    assert "Traceback" not in capsys.readouterr().err


# --- 4. a hostile Last-Event-ID ---------------------------------------------------

#: Header values no server may pass on as a Last-Event-ID, as raw bytes.
HOSTILE_IDS: List[Tuple[str, bytes]] = [
    ("1 MB", b"7" * 1_000_000),
    ("1025 characters", b"7" * (MAX_LAST_EVENT_ID_LENGTH + 1)),
    *[(f"C0 {c:#04x}", b"ab" + bytes([c]) + b"cd") for c in range(0x20) if c != 0x09],
    ("DEL", b"ab\x7fcd"),
    ("C1 U+0085 in UTF-8", b"ab\xc2\x85cd"),
    ("C1 U+0085 in Latin-1 (not UTF-8)", b"ab\x85cd"),
]

#: Tab is allowed in a header value, so servers pass it on: inside the value
#: it is a control character the sanitiser refuses.
INNER_TAB = ("tab", b"ab\tcd")


def _leaked(value: bytes, response: bytes) -> bool:
    """Whether ``value`` (or, for long values, a 1 KiB run of it) is in ``response``."""
    return value[:1024] in response


@pytest.mark.parametrize(("name", "value"), [*HOSTILE_IDS, INNER_TAB])
def test_hostile_last_event_id_through_the_asgi_adapter(name: str, value: bytes) -> None:
    probe = Probe()
    app = asgi.EventStreamResponse(probe.echo, heartbeat=None)
    scope = {"type": "http", "path": "/", "headers": [(b"last-event-id", value)]}
    sent: List[Any] = []

    async def main() -> None:
        async def receive() -> Any:
            await asyncio.sleep(3600)

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(asyncio.wait_for(main(), 10))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert probe.ids == [""]
    assert body == b"event: echo\ndata: got []\n\n"
    assert not _leaked(value, body)


@pytest.mark.parametrize(("name", "value"), [*HOSTILE_IDS, INNER_TAB])
def test_hostile_last_event_id_through_the_wsgi_adapter(name: str, value: bytes) -> None:
    probe = Probe()
    app = wsgi.EventStreamResponse(probe.sync_echo, heartbeat=None)
    # WSGI servers decode header bytes as Latin-1 (PEP 3333).
    environ = {"PATH_INFO": "/", "HTTP_LAST_EVENT_ID": value.decode("latin-1")}
    body = b"".join(app(environ, lambda status, headers: None))
    assert probe.ids == [""]
    assert body == b":\nevent: echo\ndata: got []\n\n"
    assert not _leaked(value, body)


#: What each server did with each hostile header: filled in by the test below
#: (the numbers in docs/security.md come from printing it).
OUTCOMES: Dict[str, Dict[str, str]] = {}

#: Raw header lines a client can send: the values above (CR and LF among
#: them, bare), a tab, and an obsolete line folding inside the value.
RAW_LINES: List[Tuple[str, bytes]] = [
    *[(name, b"Last-Event-ID: " + value + b"\r\n") for name, value in HOSTILE_IDS],
    ("tab", b"Last-Event-ID: ab\tcd\r\n"),
    ("folded", b"Last-Event-ID: ab\r\n cd\r\n"),
]


#: What a server may legitimately make of a raw line, besides refusing it: a
#: bare LF may end the header line (RFC 9112, section 2.2), and so, for
#: wsgiref, whose header parser is the email package's, may a bare CR; an
#: obsolete line folding may be replaced by a space (section 5.2).  No line
#: break or other control character gets through either way.
PARSED_AS: Dict[str, Tuple[str, ...]] = {
    "C0 0x0a": ("", "ab"),
    "C0 0x0d": ("", "ab"),
    "folded": ("", "ab cd"),
}


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.") else 0


@pytest.mark.parametrize("kind", ["uvicorn", "raw", "wsgiref", "waitress"])
def test_hostile_last_event_id_through_real_servers(kind: str) -> None:
    probe = Probe()
    app: Any
    if kind in ASGI_SERVERS:
        app = asgi.EventStreamResponse(probe.echo, heartbeat=None)
        serve = ASGI_SERVERS[kind]
    else:
        app = wsgi.EventStreamResponse(probe.sync_echo, heartbeat=None)
        serve = WSGI_SERVERS[kind]
    outcomes = OUTCOMES.setdefault(kind, {})
    with serve(app) as server:
        for name, line in RAW_LINES:
            started = probe.started
            with _connect(server.port) as client:
                # The server may refuse the head before it was all sent.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    client.sendall(_request(extra=b"Connection: close\r\n" + line))
                response = _read_all(client)
            status = _status(response)
            if probe.started > started:
                # Served: the source saw nothing usable, and nothing of the
                # value came back.
                assert status == 200, (name, response[:200])
                seen = probe.ids[-1]
                assert seen in PARSED_AS.get(name, ("",)), name
                assert f"data: got [{seen}]\n\n".encode() in response, name
                value = line[len(b"Last-Event-ID: ") : -2]
                assert not _leaked(value, response.partition(b"\r\n\r\n")[2]), name
                outcomes[name] = f"served, Last-Event-ID {seen!r}"
            else:
                # Refused by the server itself, before the application.
                assert status in (0, 400, 431), (name, response[:200])
                # (waitress's error page quotes the offending line: its own
                # text/plain answer, never an event stream.)
                outcomes[name] = f"refused ({status or 'connection closed'})"
        wait_until(lambda: probe.finished == probe.started, what="every source's finally")
    assert len(outcomes) == len(RAW_LINES)
    if os.environ.get("SSE_PRINT_OUTCOMES"):
        print(kind, outcomes)


def test_raw_helper_refuses_a_head_over_its_limit_whatever_the_reader_allows() -> None:
    probe = Probe()
    app = asgi.EventStreamResponse(probe.echo, heartbeat=None)

    async def main() -> bytes:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asgi.handle_connection(app, reader, writer)

        server = await asyncio.start_server(handler, "127.0.0.1", 0, limit=4 << 20)
        try:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(extra=b"Last-Event-ID: " + b"7" * 1_000_000 + b"\r\n"))
            reply = await reader.read()
            writer.close()
            return reply
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(asyncio.wait_for(main(), 10)).startswith(b"HTTP/1.1 400 ")
    assert probe.started == 0
