# SPDX-License-Identifier: MIT
"""asyncio glue: an ASGI event-stream response, and a raw asyncio stream server.

:class:`EventStreamResponse` streams events from an async iterable to any ASGI
server (uvicorn, hypercorn, daphne, granian), either as a whole ASGI
application or returned from a Starlette, Quart or Litestar handler, which all
call an ASGI callable they are given.  It sends heartbeat comments while the
source is idle, notices the client leaving (``http.disconnect``) at once and
closes the source then, so its ``finally`` blocks run.

:func:`stream_events` serves the same stream on a plain
``asyncio.StreamReader``/``StreamWriter`` pair from :func:`asyncio.start_server`,
for programs with no ASGI server; :func:`handle_connection` runs any ASGI
application that way (one request per connection, HTTP/1.1, no TLS): enough
for a demo or a sidecar, not a general web server.

All protocol work (headers, ``Last-Event-ID``, encoding) is in the core; this
module only moves bytes and waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import abc
from typing import (
    Any,
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    List,
    MutableMapping,
    Optional,
    Set,
    Tuple,
    Union,
    cast,
)
from urllib.parse import unquote

from ._access import CORS, DEFAULT_METHODS, check_methods, early_answer
from ._http import (
    DEFAULT_HEARTBEAT,
    HEARTBEAT,
    HeaderInput,
    StreamItem,
    encode_item,
    last_event_id_from_asgi_headers,
    response_headers,
    status_line,
)
from ._shutdown import Shutdown

__all__ = (
    "CORS",
    "EventStreamResponse",
    "Shutdown",
    "handle_connection",
    "last_event_id",
    "stream_body",
    "stream_events",
)

logger = logging.getLogger("sse_core")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: A source: an async iterable of items, or a function that takes the
#: request's sanitised ``Last-Event-ID`` and returns one.
AsyncSource = Union[AsyncIterable[StreamItem], Callable[[str], AsyncIterable[StreamItem]]]

_END = object()
_TASK_PREFIX = "sse_core:"


def last_event_id(scope: Scope) -> str:
    """The request's ``Last-Event-ID``, sanitised (``""`` if absent or unsafe).

    Works on an ASGI scope, so also on ``request.scope`` in Starlette,
    FastAPI or Litestar.  The rule is in :mod:`sse_core._http`: UTF-8, at most
    1024 characters, no control characters.
    """
    return last_event_id_from_asgi_headers(scope.get("headers", ()))


def _encode_headers(headers: Iterable[Tuple[str, str]]) -> List[Tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def _send_empty(send: Send, status: int, headers: List[Tuple[bytes, bytes]]) -> None:
    """Send a whole response with no body."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _next_item(iterator: AsyncIterator[StreamItem]) -> object:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _END


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return


class _ClientGone(Exception):
    """A send failed or timed out: stop writing to this client."""


class EventStreamResponse:
    """An ASGI response (and application) that streams server-sent events.

    Args:
        source: an async iterable (an async generator, a broadcaster
            subscription) yielding :class:`~sse_core.Event` objects, ``str``
            (sent as a ``message`` event's data), ``bytes`` (sent as they are,
            e.g. from :func:`~sse_core.encode_batch`) or ``None`` (nothing yet).
            Or a function taking the request's ``Last-Event-ID`` (sanitised,
            ``""`` if none) and returning such an iterable; it is called once
            per request, so the response can then be mounted as an
            application serving many requests.
        status: the HTTP status (default 200).
        headers: extra response headers, a mapping or ``(name, value)`` pairs;
            see :func:`sse_core._http.response_headers`.
        heartbeat: seconds of silence after which a ``: ping`` comment is
            sent, so proxies keep the connection open; ``None`` disables.
        send_timeout: seconds one write may wait for a slow client before the
            stream is abandoned (``None``, the default, waits for ever).  This
            bounds the memory one stalled client can pin.
        shutdown: a :class:`Shutdown` switch; triggering it ends the stream.
        retry: if set, a ``retry: N`` field (milliseconds) goes out with the
            first event, setting the client's reconnection delay.  (It rides
            in the first event's block rather than alone, because some
            clients, httpx-sse among them, turn a block with no data into an
            empty event.)
        methods: the request methods a response built on a function answers
            (default ``("GET", "HEAD")``; ``("POST",)`` for a stream that
            takes a prompt).  Any other gets ``405`` with ``Allow``;
            ``HEAD`` gets the headers and no body, without opening a source.
            A response built on an iterable was routed by its framework, and
            answers whatever request it is given.
        cors: a :class:`CORS` to let pages from other origins read the stream
            (``Access-Control-Allow-Origin`` and the rest; a response built
            on a function also answers ``OPTIONS`` preflights).

    When the source ends, the response ends.  When the client disconnects,
    the shutdown switch is triggered or the server cancels the request, the
    source is closed (``aclose()``), so its ``finally`` blocks run, and no task
    is left behind.  If the source raises, the error is logged once (logger
    ``"sse_core"``) and the response ends normally, so the server logs nothing.

    Raises:
        TypeError: ``source`` is neither an async iterable nor a callable.
        ValueError: bad ``headers`` (see ``response_headers``) or
            ``methods``, or a
            ``heartbeat``/``send_timeout`` that is not positive.
        RuntimeError: from ``__call__``: a response built on an iterable (not
            a function) was served twice.
    """

    def __init__(
        self,
        source: AsyncSource,
        *,
        status: int = 200,
        headers: HeaderInput = None,
        heartbeat: Optional[float] = DEFAULT_HEARTBEAT,
        send_timeout: Optional[float] = None,
        shutdown: Optional[Shutdown] = None,
        retry: Optional[int] = None,
        methods: Iterable[str] = DEFAULT_METHODS,
        cors: Optional[CORS] = None,
    ) -> None:
        if not (hasattr(source, "__aiter__") or callable(source)):
            raise TypeError(
                "source must be an async iterable or a function returning one,"
                f" not {type(source).__name__}"
            )
        for name, value in (("heartbeat", heartbeat), ("send_timeout", send_timeout)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None, got {value}")
        if retry is not None and (type(retry) is not int or retry < 0):
            raise ValueError(f"retry must be a non-negative int, got {retry!r}")
        self._source = source
        self._used = False
        self._stream_status = status
        self._stream_headers = _encode_headers(response_headers(headers))
        self._stream_heartbeat = heartbeat
        self._stream_send_timeout = send_timeout
        self._stream_shutdown = shutdown
        self._stream_retry = retry
        self._stream_methods = check_methods(methods)
        self._stream_cors = cors

    def _open(self, scope: Scope) -> AsyncIterator[StreamItem]:
        source = self._source
        if isinstance(source, abc.AsyncIterable):
            if self._used:
                raise RuntimeError(
                    "this EventStreamResponse was built on an iterable and has"
                    " already been served; pass a function to serve many requests"
                )
            self._used = True
            return source.__aiter__()
        return source(last_event_id(scope)).__aiter__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"EventStreamResponse serves HTTP, not {scope['type']!r}")
        fields = {name.lower(): value for name, value in scope.get("headers", ())}
        origin = fields[b"origin"].decode("latin-1") if b"origin" in fields else None
        headers = list(self._stream_headers)
        if self._stream_cors is not None:
            headers += _encode_headers(self._stream_cors.response_headers(origin))
        if not isinstance(self._source, abc.AsyncIterable):
            method = scope.get("method", "GET")
            preflight = b"access-control-request-method" in fields
            answer = early_answer(
                method, origin, preflight, self._stream_methods, self._stream_cors
            )
            if answer is not None:
                await _send_empty(send, answer[0], _encode_headers(answer[1]))
                return
            if method == "HEAD":
                await _send_empty(send, self._stream_status, headers)
                return
        iterator = self._open(scope)
        await self._run(iterator, scope, receive, send, headers)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._stream_shutdown is not None:
                    self._stream_shutdown.trigger()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _send(self, send: Send, message: Message) -> None:
        try:
            if self._stream_send_timeout is None:
                await send(message)
            else:
                await asyncio.wait_for(send(message), self._stream_send_timeout)
        except asyncio.TimeoutError:
            logger.warning(
                "sse_core: a client took over %ss to accept a write; dropping its stream",
                self._stream_send_timeout,
            )
            raise _ClientGone from None
        except OSError as error:  # the server reports the client gone
            raise _ClientGone from error

    async def _run(
        self,
        iterator: AsyncIterator[StreamItem],
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: List[Tuple[bytes, bytes]],
    ) -> None:
        tasks: List[asyncio.Future[Any]] = []

        def start(coroutine: Awaitable[Any], what: str) -> asyncio.Future[Any]:
            task = asyncio.ensure_future(coroutine)
            task.set_name(_TASK_PREFIX + what)
            tasks.append(task)
            return task

        disconnected = start(_wait_for_disconnect(receive), "disconnect")
        watched: Set[asyncio.Future[Any]] = {disconnected}
        if self._stream_shutdown is not None:
            watched.add(start(self._stream_shutdown.wait(), "shutdown"))
        try:
            await self._send(
                send,
                {
                    "type": "http.response.start",
                    "status": self._stream_status,
                    "headers": headers,
                },
            )
            chunks = _body_chunks(
                iterator,
                tasks,
                watched,
                heartbeat=self._stream_heartbeat,
                retry=self._stream_retry,
                where=f" of {scope.get('path', '?')}",
            )
            try:
                async for chunk in chunks:
                    await self._body(send, chunk)
            finally:
                await chunks.aclose()
            if not disconnected.done():
                await self._send(send, {"type": "http.response.body", "body": b""})
        except _ClientGone:
            pass
        finally:
            await _end(iterator, tasks)

    async def _body(self, send: Send, chunk: bytes) -> None:
        await self._send(send, {"type": "http.response.body", "body": chunk, "more_body": True})


async def _end(iterator: AsyncIterator[StreamItem], tasks: List[Any]) -> None:
    """Cancel a stream's tasks, then close its source."""
    for task in tasks:
        task.cancel()
    # Wait for cancellation to land, so the source is not running when
    # aclose() is called.  asyncio.wait never raises the tasks' errors.
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            logger.error("sse_core: error while ending a stream", exc_info=task.exception())
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:
            logger.exception("sse_core: the event source raised while closing")


async def _body_chunks(
    iterator: AsyncIterator[StreamItem],
    tasks: List[asyncio.Future[Any]],
    watched: Set[asyncio.Future[Any]],
    *,
    heartbeat: Optional[float],
    retry: Optional[int],
    where: str,
) -> AsyncGenerator[bytes, None]:
    """The chunks of an event-stream body, for both adapters' asyncio sides:
    each item of ``iterator`` encoded (the first after a ``retry`` line), or a
    heartbeat comment after ``heartbeat`` seconds of silence.  Ends when the
    iterator ends or fails (logged, naming the stream ``where``), or when one
    of ``watched`` completes.  The tasks it starts are added to ``tasks``, which
    the caller ends with :func:`_end`."""
    loop = asyncio.get_running_loop()
    pending: Optional[asyncio.Future[Any]] = None
    prefix = b"" if retry is None else b"retry: %d\n" % retry
    last_write = loop.time()
    while True:
        if pending is None:
            pending = asyncio.ensure_future(_next_item(iterator))
            pending.set_name(_TASK_PREFIX + "next")
            tasks.append(pending)
        timeout = None
        if heartbeat is not None:
            timeout = max(0.0, last_write + heartbeat - loop.time())
        done, _ = await asyncio.wait(
            watched | {pending}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not done.isdisjoint(watched):  # the client left, or the server stops
            return
        if pending in done:
            task, pending = pending, None
            tasks.remove(task)
            try:
                item = task.result()
                chunk = None if item is _END else encode_item(cast(StreamItem, item))
            except Exception:
                logger.exception("sse_core: the event source%s raised; ending the stream", where)
                return
            if item is _END:
                return
            if chunk is not None:
                yield prefix + chunk if prefix else chunk
                prefix = b""
                last_write = loop.time()
        else:
            # Nothing finished: the wait timed out, so the stream has been
            # silent for a heartbeat interval (to within the loop clock's
            # resolution, which may end a wait early).
            yield HEARTBEAT
            last_write = loop.time()


async def stream_body(
    source: AsyncIterable[StreamItem],
    *,
    heartbeat: Optional[float] = DEFAULT_HEARTBEAT,
    shutdown: Optional[Shutdown] = None,
    retry: Optional[int] = None,
) -> AsyncGenerator[bytes, None]:
    """The encoded stream of ``source`` as an async iterator of chunks.

    For frameworks whose streaming response takes an async iterator of bytes
    rather than an ASGI callable: Django's ``StreamingHttpResponse`` under
    ASGI (``docs/django.md``).  Each chunk is one event, or a heartbeat
    comment after ``heartbeat`` seconds of silence; ``shutdown`` and
    ``retry`` are as for :class:`EventStreamResponse`.  The framework owns
    the connection, so it must notice a client leaving: when it stops the
    iteration (``aclose()``, or cancelling the task, as Django does on
    ``http.disconnect``), the source is closed, so its ``finally`` blocks
    run.  A failing source is logged once and ends the body.

    Raises:
        ValueError: a ``heartbeat`` that is not positive, a negative ``retry``
            (when iteration starts).
    """
    if heartbeat is not None and heartbeat <= 0:
        raise ValueError(f"heartbeat must be > 0 or None, got {heartbeat}")
    if retry is not None and (type(retry) is not int or retry < 0):
        raise ValueError(f"retry must be a non-negative int, got {retry!r}")
    iterator = source.__aiter__()
    tasks: List[asyncio.Future[Any]] = []
    watched: Set[asyncio.Future[Any]] = set()
    if shutdown is not None:
        watched.add(asyncio.ensure_future(shutdown.wait()))
        tasks.extend(watched)
    chunks = _body_chunks(iterator, tasks, watched, heartbeat=heartbeat, retry=retry, where="")
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        await chunks.aclose()
        await _end(iterator, tasks)


# --- a minimal HTTP/1.1 server for ASGI apps over asyncio streams -------------

#: Largest request head accepted by :func:`handle_connection`, in bytes.
MAX_REQUEST_HEAD = 64 * 1024

#: Largest request body :func:`handle_connection` accepts, in bytes, unless
#: given ``max_body=``.  An event-stream request carries at most a small
#: prompt or filter; a larger ``Content-Length`` gets ``413`` unread.
MAX_REQUEST_BODY = 1024 * 1024

#: Seconds :func:`handle_connection` gives a client to send its whole request
#: (head and body), unless given ``request_timeout=``.  A client that sends
#: half a head and waits would otherwise hold the connection for ever; it gets
#: ``408``.
REQUEST_TIMEOUT = 10.0

#: Seconds :func:`handle_connection` waits, after a complete response, for the
#: client to take the bytes still buffered before it aborts the connection.  A
#: client that never reads would otherwise pin the connection, its buffers and
#: the task for as long as it stays connected.
CLOSE_TIMEOUT = 10.0


# Response headers that already say where the body ends.
_FRAMING_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def _parse_head(head: bytes) -> Tuple[str, str, str, List[Tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    method, target, version = lines[0].decode("latin-1").split(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(version)
    headers = []
    # No line is empty: the head ends at the first empty line.
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if not name or name != name.strip():
            raise ValueError(line)
        headers.append((name.lower(), value.strip(b" \t")))
    return method, target, version[5:], headers


class _Refused(Exception):
    """The request cannot be served: answer ``status`` and close."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


_Request = Tuple[str, str, str, List[Tuple[bytes, bytes]], bytes]


async def _read_request(reader: asyncio.StreamReader, max_body: int) -> _Request:
    """Method, target, HTTP version, headers and body of the next request.

    Raises:
        _Refused: 400 for a malformed or cut request, 413 for a body over
            ``max_body``.
    """
    try:
        # The reader's own limit (64 KiB unless start_server was given
        # another) bounds what is buffered; this bounds what is accepted.
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_REQUEST_HEAD:
            raise ValueError("request head too large")
        method, target, http_version, headers = _parse_head(head[:-4])
        length = _content_length(headers)
        if length > max_body:
            raise _Refused(413)
        body = await reader.readexactly(length) if length else b""
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
        raise _Refused(400) from None
    return method, target, http_version, headers, body


def _content_length(headers: List[Tuple[bytes, bytes]]) -> int:
    """The request's ``Content-Length`` (0 if none).

    Raises:
        ValueError: a value that is not ASCII digits (``int()`` alone would
            take ``+5``, ``1_0`` or surrounding spaces), or two that differ.
    """
    values = {value for name, value in headers if name == b"content-length"}
    if not values:
        return 0
    value = values.pop()
    # bytes.isdigit() is true for ASCII digits only (str.isdigit() is not).
    if values or not value.isdigit():
        raise ValueError(value)
    return int(value)


async def handle_connection(
    app: ASGIApp,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    max_body: int = MAX_REQUEST_BODY,
    request_timeout: Optional[float] = REQUEST_TIMEOUT,
) -> None:
    """Serve one HTTP/1.1 request from ``reader``/``writer`` with an ASGI app.

    For :func:`asyncio.start_server`: ``start_server(partial(handle_connection,
    app), host, port)``.  Reads one request head (and a ``Content-Length``
    body), runs ``app`` on it, writes the response with ``Connection: close``,
    and closes the connection.  ``receive()`` reports
    ``http.disconnect`` as soon as the client closes its side.  An HTTP/1.1
    response with no ``Content-Length`` is sent chunked, each ``send`` one
    chunk; to HTTP/1.0 it is ended by closing the connection.  Chunked request
    bodies, pipelining and keep-alive are not supported.  Errors are logged to
    the ``"sse_core"`` logger, never raised.

    A malformed request gets ``400``; a ``Content-Length`` over ``max_body``
    bytes gets ``413`` (the body is not read); a request not all received
    within ``request_timeout`` seconds (``None``: no limit) gets ``408``.

    A response the application did not complete (it returned or raised
    midway, or abandoned a write after its ``send_timeout``) is aborted: the
    connection is reset and nothing still buffered is sent.  A complete one is
    flushed, for at most :data:`CLOSE_TIMEOUT` seconds.
    """
    peer = writer.get_extra_info("peername")
    sock = writer.get_extra_info("sockname")
    started = False
    finished = False
    complete = False  # the whole response was handed to the kernel's buffers
    try:
        try:
            request = _read_request(reader, max_body)
            method, target, http_version, headers, body = await asyncio.wait_for(
                request, request_timeout
            )
        except asyncio.TimeoutError:
            writer.write(_refusal(408))
            return
        except _Refused as refused:
            writer.write(_refusal(refused.status))
            return
        path, _, query = target.partition("?")
        scope: Dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": http_version,
            "method": method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": headers,
            "client": tuple(peer[:2]) if peer else None,
            "server": tuple(sock[:2]) if sock else None,
        }
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            while not finished:
                try:
                    if not await reader.read(4096):
                        break
                except OSError:
                    break
            return {"type": "http.disconnect"}

        # How the body is framed: "chunked" (HTTP/1.1, no Content-Length),
        # "none" (HEAD, 1xx, 204 and 304 have no body), or "raw": the bytes
        # as they come, ended by the Content-Length or by closing the
        # connection (HTTP/1.0).  Chunks let a client hand each event over as
        # it arrives: with a close-delimited body a reader that fills a
        # buffer before returning (requests' iter_content, iter_lines) waits
        # for the buffer, not for the event.
        framing = "raw"

        async def send(message: Message) -> None:
            nonlocal started, finished, complete, framing
            if finished:
                raise OSError("the response is complete")
            if message["type"] == "http.response.start":
                status = int(message["status"])
                fields = list(message.get("headers", []))
                names = {name.lower() for name, _ in fields}
                if method == "HEAD" or status < 200 or status in (204, 304):
                    framing = "none"
                elif http_version == "1.1" and not names & _FRAMING_HEADERS:
                    framing = "chunked"
                    fields.append((b"Transfer-Encoding", b"chunked"))
                lines = [f"HTTP/1.1 {status_line(status)}".encode("latin-1")]
                lines += [name + b": " + value for name, value in fields]
                lines.append(b"Connection: close")
                writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
                started = True
            elif message["type"] == "http.response.body":
                if not started:
                    raise RuntimeError("http.response.body before http.response.start")
                chunk = bytes(message.get("body", b""))
                more = message.get("more_body", False)
                if framing == "raw":
                    writer.write(chunk)
                elif framing == "chunked":
                    if chunk:
                        writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                    if not more:
                        writer.write(b"0\r\n\r\n")
                if not more:
                    finished = True
            await writer.drain()
            complete = finished

        try:
            await app(scope, receive, send)
        except asyncio.CancelledError:
            # The server is stopping.  End a chunked body as closing the
            # connection ends a close-delimited one, so the client sees the
            # response end (an EventSource then reconnects) rather than an
            # incomplete response.
            if framing == "chunked" and started and not finished:
                writer.write(b"0\r\n\r\n")
                complete = True
            raise
        except OSError:
            pass
        except Exception:
            logger.exception("sse_core: error in ASGI application")
            if not started:
                writer.write(_refusal(500))
    finally:
        finished = True
        await _close(writer, abort=started and not complete)


def _refusal(status: int) -> bytes:
    """A whole response with no body, closing the connection."""
    line = f"HTTP/1.1 {status_line(status)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    return line.encode("latin-1")


async def _close(writer: asyncio.StreamWriter, *, abort: bool) -> None:
    if abort:
        writer.transport.abort()
    else:
        writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
    except asyncio.TimeoutError:
        # The client is not reading: drop what is still buffered.
        writer.transport.abort()
    except OSError:
        pass  # the client reset the connection


async def stream_events(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    source: AsyncSource,
    **options: Any,
) -> None:
    """Answer the request on ``reader``/``writer`` with an event stream.

    The raw-asyncio counterpart of :class:`EventStreamResponse`, for programs
    with no ASGI server::

        async def on_connect(reader, writer):
            await stream_events(reader, writer, ticker)   # ticker(last_event_id)

        server = await asyncio.start_server(on_connect, "127.0.0.1", 8000)

    Reads the request head, then streams as :class:`EventStreamResponse` does
    (``options`` are its keyword arguments), whatever the path (a function
    ``source`` answers the methods in ``methods=``, ``GET`` and ``HEAD`` by
    default).
    Closes the connection when done.
    """
    await handle_connection(EventStreamResponse(source, **options), reader, writer)
