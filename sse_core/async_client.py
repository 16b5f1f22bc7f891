# SPDX-License-Identifier: MIT
"""asyncio clients: :class:`AsyncEventSource` over asyncio streams, and
:func:`aiter_events` for the async byte iterators of httpx or aiohttp.

:class:`AsyncEventSource` speaks just enough HTTP/1.1 itself (request line
and headers out; status line, headers, then a chunked, Content-Length or
close-delimited body in) to need nothing beyond the standard library.  Every
protocol decision is the sans-IO state machine's (:mod:`sse_core._reconnect`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import (
    Any,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    List,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

from ._client_http import (
    MAX_HEAD_SIZE,
    Headers,
    HeadersInput,
    check_tunnel_answer,
    connect_request,
    get_header,
    host_header,
    parse_response_head,
    proxy_authorization,
    proxy_for,
    split_url,
)
from ._client_views import _EventSourceViews
from ._decoder import DEFAULT_MAX_EVENT_SIZE, Decoder
from ._events import Event
from ._reconnect import (
    Action,
    Connect,
    EventSourceState,
    Open,
    ReadyState,
    ReconnectPolicy,
    ResponseError,
    State,
    Stop,
    Wait,
)

__all__ = ("AsyncEventSource", "aiter_events")

_T = TypeVar("_T")
_BytesLike = Union[bytes, bytearray, memoryview]

_CHUNK_SIZE = 64 * 1024
_ERROR_BODY_SIZE = 4096
_ERROR_BODY_TIMEOUT = 1.0

# What a failed connection looks like on asyncio streams: OSError (refused,
# reset, TLS errors are OSError too), a timeout, an EOF inside a framed body,
# a head too long.  ConnectionError is raised for malformed responses.
_NETWORK_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
)


def aiter_events(
    chunks: AsyncIterable[_BytesLike],
    *,
    max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
    last_event_id: str = "",
) -> AsyncIterator[Event]:
    """Decode an async iterable of byte chunks (a response body) into events.

    Works with any asyncio HTTP client, with no import of it::

        async with httpx.AsyncClient() as client:
            async with client.stream("GET", url) as response:
                async for event in aiter_events(response.aiter_bytes()):
                    ...

    With aiohttp, pass ``response.content.iter_any()``.  One response, no
    reconnection (see :class:`AsyncEventSource`); an incomplete event at the
    end is discarded.

    Raises:
        RemoteProtocolError: the stream broke ``max_event_size``.
    """
    decoder = Decoder(max_event_size=max_event_size, last_event_id=last_event_id)
    return decoder.aiter_events(chunks)


class _Body:
    """Reads one response body with HTTP/1.1 framing, chunk by chunk."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        headers: Headers,
        timeout: Optional[float],
    ) -> None:
        self._reader = reader
        self._timeout = timeout
        encoding = (get_header(headers, "transfer-encoding") or "").lower()
        length = get_header(headers, "content-length")
        self._chunked = encoding.rsplit(",", 1)[-1].strip() == "chunked"
        self._remaining: Optional[int] = None  # bytes left: body or current chunk
        self._done = False
        if not self._chunked and length is not None:
            if not length.strip().isdigit():
                raise ConnectionError(f"bad Content-Length: {length!r}")
            self._remaining = int(length)

    async def _io(self, awaitable: Awaitable[_T]) -> _T:
        if self._timeout is None:  # skip wait_for's task per read
            return await awaitable
        return await asyncio.wait_for(awaitable, self._timeout)

    async def read(self) -> bytes:
        """The next piece of the body; ``b""`` at its end.

        Raises:
            ConnectionError: the connection closed before a framed body ended,
                or the chunked framing is malformed.
        """
        if self._done:
            return b""
        if self._chunked:
            return await self._read_chunked()
        if self._remaining is None:  # close-delimited
            data = await self._io(self._reader.read(_CHUNK_SIZE))
            self._done = not data
            return data
        if self._remaining == 0:
            self._done = True
            return b""
        data = await self._io(self._reader.read(min(self._remaining, _CHUNK_SIZE)))
        if not data:
            raise ConnectionError("the connection closed before the body's end")
        self._remaining -= len(data)
        return data

    async def _read_chunked(self) -> bytes:
        if not self._remaining:
            if self._remaining == 0:  # the CRLF after a chunk's data
                await self._line()
            size_line = await self._line()
            size = size_line.split(b";", 1)[0].strip()
            try:
                self._remaining = int(size, 16)
            except ValueError:
                raise ConnectionError(f"bad chunk size line: {size_line!r:.40}") from None
            if self._remaining == 0:
                while await self._line() not in (b"\r\n", b"\n"):
                    pass  # trailer fields are ignored
                self._done = True
                return b""
        data = await self._io(self._reader.read(min(self._remaining, _CHUNK_SIZE)))
        if not data:
            raise ConnectionError("the connection closed inside a chunk")
        self._remaining -= len(data)
        return data

    async def _line(self) -> bytes:
        line = await self._io(self._reader.readline())
        if not line.endswith(b"\n"):
            raise ConnectionError("the connection closed inside the chunked framing")
        return line


class AsyncEventSource(_EventSourceViews):
    """An asyncio EventSource: ``async for`` over its events, across reconnections.

    ::

        async with AsyncEventSource("https://example.com/stream") as source:
            async for event in source:
                print(event.event, event.data)

    Same rules and options as :class:`sse_core.client.EventSource` (browser
    semantics, ``Last-Event-ID``, ``retry``, backoff from ``policy``, 204
    ends quietly, other answers raise :class:`ResponseError`, environment
    proxies with ``trust_env``).

    Cancellation-safe: cancelling the task that iterates closes the socket at
    once and leaves the EventSource CLOSED.  :meth:`close` may be called from
    another task of the same event loop.

    Args:
        url, method, headers, body, last_event_id, policy, connect_timeout,
        read_timeout, ssl_context, trust_env, max_event_size, on_action: as for the sync
        :class:`~sse_core.client.EventSource`.
    """

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: HeadersInput = None,
        body: Optional[bytes] = None,
        last_event_id: str = "",
        policy: Optional[ReconnectPolicy] = None,
        connect_timeout: Optional[float] = 10.0,
        read_timeout: Optional[float] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
        trust_env: bool = True,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
        on_action: Optional[Callable[[Action], None]] = None,
    ) -> None:
        split_url(url)
        self._machine = EventSourceState(
            url,
            method=method,
            headers=headers,
            body=body,
            last_event_id=last_event_id,
            policy=policy,
            max_event_size=max_event_size,
        )
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.ssl_context = ssl_context
        self.trust_env = trust_env
        self.on_action = on_action
        self._closing = False
        self._wake: Optional[asyncio.Event] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._events: Optional[AsyncIterator[Event]] = None
        self._delivered_id = None

    @property
    def url(self) -> str:
        """The URL given to the constructor."""
        return self._machine.url

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED, as a browser's ``readyState``."""
        return ReadyState.CLOSED if self._closing else self._machine.ready_state

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._events is None:
            self._events = self._run()
        return self._events

    async def __aenter__(self) -> AsyncEventSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def close(self) -> None:
        """Close for good: abort the connection, end a reconnection wait.

        Call it from the event loop's thread; the iteration ends without an
        error.
        """
        self._closing = True
        self._abort()
        if self._wake is not None:
            self._wake.set()

    async def aclose(self) -> None:
        """:meth:`close`, then finish the iterator (its ``finally`` blocks run)."""
        self.close()
        events = self._events
        if events is not None:
            await events.aclose()  # type: ignore[attr-defined]

    def _abort(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.transport.abort()

    async def _run(self) -> AsyncIterator[Event]:
        machine = self._machine
        self._wake = asyncio.Event()
        try:
            if self._closing:
                return
            action: Any = machine.connect()
            while not self._closing:
                if self.on_action is not None:
                    self.on_action(action)
                if type(action) is Connect:
                    try:
                        reader, status, headers = await self._send(action)
                    except _NETWORK_ERRORS as error:
                        self._abort()
                        if self._closing:
                            return
                        action = machine.network_error(error)
                        continue
                    action = machine.receive_response(status, headers)
                    if type(action) is Open:
                        if self.on_action is not None:
                            self.on_action(action)
                        try:
                            body = _Body(reader, headers, self.read_timeout)
                            while True:
                                chunk = await body.read()
                                if not chunk:
                                    break
                                events = machine.receive_data(chunk)
                                for event in events:
                                    self._delivered_id = event.id
                                    yield event
                                    if self._closing:
                                        return
                                self._delivered_id = None
                                if events:
                                    # An error held back by the decoder (a
                                    # chunk completed events, then broke
                                    # max_event_size): raise it now.
                                    machine.receive_data(b"")
                        except _NETWORK_ERRORS as error:
                            self._abort()
                            if self._closing:
                                return
                            action = machine.network_error(error)
                        else:
                            self._abort()
                            action = machine.stream_ended()
                    else:
                        if type(action) is Stop and isinstance(action.error, ResponseError):
                            action.error.body = await self._error_body(reader, headers)
                        self._abort()
                elif type(action) is Wait:
                    self._abort()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), action.delay)
                    if self._closing:
                        return
                    action = machine.delay_elapsed()
                else:
                    assert type(action) is Stop
                    self._abort()
                    if action.error is not None:
                        raise action.error
                    return
        finally:
            # No await here: this also runs when the consumer is cancelled.
            self._closing = True
            self._abort()
            if machine.state is not State.CLOSED:
                machine.close()

    async def _error_body(self, reader: asyncio.StreamReader, headers: Headers) -> bytes:
        """Up to 4 KiB of a failed response's body, within about a second."""
        data = bytearray()

        async def read() -> None:
            body = _Body(reader, headers, None)
            while len(data) < _ERROR_BODY_SIZE:
                chunk = await body.read()
                if not chunk:
                    break
                data.extend(chunk)

        # The body is a courtesy: a failed answer may stream for ever.
        with contextlib.suppress(*_NETWORK_ERRORS):
            await asyncio.wait_for(read(), _ERROR_BODY_TIMEOUT)
        return bytes(data[:_ERROR_BODY_SIZE])

    async def _send(self, request: Connect) -> Tuple[asyncio.StreamReader, int, Headers]:
        scheme, host, port, target = split_url(request.url)
        context: Optional[ssl.SSLContext] = None
        if scheme == "https":
            context = self.ssl_context or ssl.create_default_context()
        headers: List[Tuple[str, str]] = list(request.headers)
        proxy = proxy_for(scheme, host) if self.trust_env else None
        if proxy is None:
            connection = asyncio.open_connection(
                host,
                port,
                ssl=context,
                server_hostname=host if context else None,
                limit=MAX_HEAD_SIZE,
            )
        elif context is None:
            # Plain HTTP through a forward proxy: absolute-form request target.
            _, proxy_host, proxy_port, _ = split_url(proxy)
            connection = asyncio.open_connection(proxy_host, proxy_port, limit=MAX_HEAD_SIZE)
            target = request.url
            authorization = proxy_authorization(proxy)
            if authorization:
                headers.append(("Proxy-Authorization", authorization))
        else:
            connection = self._open_tunnel(proxy, host, port, context)
        reader, writer = await asyncio.wait_for(connection, self.connect_timeout)
        self._writer = writer
        if self._closing:
            raise ConnectionAbortedError("closed")
        if get_header(headers, "host") is None:
            headers.insert(0, ("Host", host_header(scheme, host, port)))
        body = request.body
        if body is not None and get_header(headers, "content-length") is None:
            headers.append(("Content-Length", str(len(body))))
        if get_header(headers, "connection") is None:
            headers.append(("Connection", "close"))
        lines = [f"{request.method} {target} HTTP/1.1"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        await asyncio.wait_for(writer.drain(), self.read_timeout)
        while True:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.read_timeout)
            try:
                status, _, response_headers = parse_response_head(head)
            except ValueError as error:
                raise ConnectionError(str(error)) from None
            if not 100 <= status < 200:  # skip interim responses (100 Continue)
                return reader, status, response_headers

    async def _open_tunnel(
        self, proxy: str, host: str, port: int, context: ssl.SSLContext
    ) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """HTTPS through a proxy: ``CONNECT`` on a plain socket, then TLS over it."""
        _, proxy_host, proxy_port, _ = split_url(proxy)
        loop = asyncio.get_running_loop()
        # getaddrinfo raises socket.gaierror (an OSError) rather than
        # returning no address.
        infos = await loop.getaddrinfo(proxy_host, proxy_port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
            request = connect_request(host, port, proxy_authorization(proxy))
            await loop.sock_sendall(sock, request)
            head = b""
            while b"\r\n\r\n" not in head:
                # The proxy sends nothing after its answer until TLS starts,
                # so reading in pieces cannot swallow tunnel bytes.
                data = await loop.sock_recv(sock, 4096)
                if not data or len(head) > MAX_HEAD_SIZE:
                    raise ConnectionError("the proxy closed or sent an endless answer")
                head += data
            check_tunnel_answer(head)
            return await asyncio.open_connection(
                sock=sock, ssl=context, server_hostname=host, limit=MAX_HEAD_SIZE
            )
        except BaseException:
            sock.close()
            raise
