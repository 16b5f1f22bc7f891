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
    HeadersInput,
    check_tunnel_answer,
    connect_request,
    encode_request,
    get_header,
    host_header,
    proxy_authorization,
    proxy_for,
    split_url,
)
from ._client_response import ResponseHead, ResponseReader, head_time_left
from ._client_views import _EventSourceViews
from ._decoder import DEFAULT_MAX_EVENT_SIZE, Decoder
from ._events import Event
from ._reconnect import (
    Action,
    Answer,
    Connect,
    EventSourceState,
    Open,
    ReadyState,
    ReconnectPolicy,
    ResponseError,
    Resume,
    State,
    Stop,
    Wait,
    answer_broken,
    read_answer,
)

__all__ = ("AsyncEventSource", "aiter_events")

_T = TypeVar("_T")
_BytesLike = Union[bytes, bytearray, memoryview]

_CHUNK_SIZE = 64 * 1024
_ERROR_BODY_SIZE = 4096
_ERROR_BODY_TIMEOUT = 1.0

# What a failed connection looks like on asyncio streams: OSError (refused,
# reset, TLS errors, a malformed response: MalformedResponseError is a
# ConnectionError), or a timeout.
_NETWORK_ERRORS = (OSError, asyncio.TimeoutError)


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
    once and leaves the EventSource CLOSED, on every supported Python (no
    read goes through ``asyncio.wait_for``, which can lose a cancellation
    before 3.12).  :meth:`close` and :meth:`aclose` may be called from any
    task of the same event loop; the iterating task then ends its loop.

    Args:
        url, method, headers, body, last_event_id, policy, connect_timeout,
        read_timeout, ssl_context, trust_env, max_event_size, on_action,
        resume, max_answer_size: as for the sync
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
        resume: Optional[Resume] = None,
        max_answer_size: Optional[int] = None,
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
            resume=resume,
            max_answer_size=max_answer_size,
        )
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.ssl_context = ssl_context
        self.trust_env = trust_env
        self.on_action = on_action
        self._closing = False
        self._wake: Optional[asyncio.Event] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._timed_out = False  # the read timer aborted the connection
        self._pending: Optional[asyncio.Future[Any]] = None  # a connect or a wait
        self._events: Optional[AsyncIterator[Event]] = None
        # True while the iterator runs between two events (inside an await),
        # when only the iterating task may resume it; set once it has ended.
        self._busy = False
        self._ended: Optional[asyncio.Event] = None
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
        """Close for good: abort the connection, end a connect or a reconnection wait.

        Call it from the event loop's thread, from any task; the iteration
        ends without an error.
        """
        self._closing = True
        self._abort()
        if self._pending is not None:
            self._pending.cancel()
        if self._wake is not None:
            self._wake.set()

    async def aclose(self) -> None:
        """:meth:`close`, then wait until the iterator has finished (its
        ``finally`` blocks run), from the iterating task or any other."""
        self.close()
        events = self._events
        if events is None:
            return
        if self._busy:
            # Another task is inside the iterator: closing it from here
            # would raise "asynchronous generator is already running".
            # close() woke that task; wait for its loop to end.
            assert self._ended is not None
            await self._ended.wait()
        else:
            await events.aclose()  # type: ignore[attr-defined]

    def _abort(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.transport.abort()

    def _time_out(self) -> None:
        self._timed_out = True
        self._abort()

    async def _receive(
        self, stream: asyncio.StreamReader, response: ResponseReader, timeout: Optional[float]
    ) -> None:
        """Pass what the connection gives next to ``response``, within ``timeout``.

        The timeout is a timer that aborts the connection, not
        ``asyncio.wait_for``: no task per read, and a cancellation of the
        reading task is never lost.
        """
        timer = None
        if timeout is not None:
            timer = asyncio.get_running_loop().call_later(timeout, self._time_out)
        try:
            data = await stream.read(_CHUNK_SIZE)
        finally:
            if timer is not None:
                timer.cancel()
        if self._timed_out:
            raise asyncio.TimeoutError(f"nothing received within {timeout} s")
        if data:
            response.feed(data)
        else:
            response.feed_eof()

    async def _within(self, awaitable: Awaitable[_T], timeout: Optional[float]) -> _T:
        """Await ``awaitable`` within ``timeout``; :meth:`close` cancels it.

        Unlike ``asyncio.wait_for`` before Python 3.12, a cancellation of the
        calling task is never lost when the awaitable finishes at the same
        moment.

        Raises:
            asyncio.TimeoutError: ``timeout`` passed.
            ConnectionAbortedError: :meth:`close` was called.
        """
        task = asyncio.ensure_future(awaitable)
        self._pending = task
        try:
            await asyncio.wait((task,), timeout=timeout)
        except BaseException:  # the calling task is cancelled
            _give_up(task)
            raise
        finally:
            self._pending = None
        if not task.done():
            _give_up(task)
            raise asyncio.TimeoutError(f"not done within {timeout} s")
        if task.cancelled():  # by close()
            raise ConnectionAbortedError("closed")
        return task.result()

    async def _run(self) -> AsyncIterator[Event]:
        machine = self._machine
        self._wake = asyncio.Event()
        self._ended = asyncio.Event()
        self._busy = True
        try:
            if self._closing:
                return
            action: Any = machine.connect()
            while not self._closing:
                if self.on_action is not None:
                    self.on_action(action)
                if type(action) is Connect:
                    try:
                        stream, response, head = await self._send(action)
                    except _NETWORK_ERRORS as error:
                        self._abort()
                        if self._closing:
                            return
                        action = machine.network_error(error)
                        continue
                    action = machine.receive_response(head.status, head.headers)
                    if type(action) is Open:
                        if self.on_action is not None:
                            self.on_action(action)
                        try:
                            while True:
                                piece = response.next_piece()
                                if piece is None:
                                    await self._receive(stream, response, self.read_timeout)
                                    continue
                                if not piece:
                                    break
                                events = machine.receive_data(piece)
                                for event in events:
                                    self._delivered_id = event.id
                                    self._busy = False
                                    yield event
                                    self._busy = True
                                    if self._closing:
                                        return
                                self._delivered_id = None
                                if events:
                                    # An error held back by the decoder (a
                                    # piece completed events, then broke
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
                    elif type(action) is Answer:
                        action = await self._read_answer(stream, response, action)
                    else:
                        if type(action) is Stop and isinstance(action.error, ResponseError):
                            action.error.body = await self._error_body(stream, response)
                        self._abort()
                elif type(action) is Wait:
                    self._abort()
                    with contextlib.suppress(asyncio.TimeoutError, ConnectionAbortedError):
                        await self._within(self._wake.wait(), action.delay)
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
            self._busy = False
            self._abort()
            if machine.state is not State.CLOSED:
                machine.close()
            self._ended.set()

    async def _read_answer(
        self, stream: asyncio.StreamReader, response: ResponseReader, answer: Answer
    ) -> Stop:
        """Read a whole answer's body into :attr:`answer`; the iteration then ends."""
        if self.on_action is not None:
            self.on_action(answer)
        limit = self._machine.max_answer_size
        assert limit is not None  # no Answer without it
        data = bytearray()
        try:
            while len(data) <= limit:
                piece = response.next_piece()
                if piece is None:
                    await self._receive(stream, response, self.read_timeout)
                    continue
                if not piece:
                    break
                data.extend(piece)
        except _NETWORK_ERRORS as error:
            # The answer is all there is: an incomplete one cannot be read again.
            raise answer_broken(answer, self.url, error) from error
        finally:
            self._abort()
        self._answer, stop = read_answer(answer, bytes(data), self.url, limit)
        return stop

    async def _error_body(self, stream: asyncio.StreamReader, response: ResponseReader) -> bytes:
        """Up to 4 KiB of a failed response's body, within about a second."""
        data = bytearray()

        async def read() -> None:
            while len(data) < _ERROR_BODY_SIZE:
                piece = response.next_piece()
                if piece is None:
                    await self._receive(stream, response, None)
                    continue
                if not piece:
                    break
                data.extend(piece)

        # The body is a courtesy: a failed answer may stream for ever.
        with contextlib.suppress(*_NETWORK_ERRORS):
            await self._within(read(), _ERROR_BODY_TIMEOUT)
        return bytes(data[:_ERROR_BODY_SIZE])

    async def _send(
        self, request: Connect
    ) -> Tuple[asyncio.StreamReader, ResponseReader, ResponseHead]:
        """Connect, send ``request`` and read the final response's head.

        The whole head, interim responses included, must arrive within
        ``read_timeout``.
        """
        scheme, host, port, target = split_url(request.url)
        context: Optional[ssl.SSLContext] = None
        if scheme == "https":
            context = self.ssl_context or ssl.create_default_context()
        headers: List[Tuple[str, str]] = list(request.headers)
        proxy = proxy_for(scheme, host) if self.trust_env else None
        if proxy is None:
            connection = asyncio.open_connection(
                host, port, ssl=context, server_hostname=host if context else None
            )
        elif context is None:
            # Plain HTTP through a forward proxy: absolute-form request target.
            _, proxy_host, proxy_port, _ = split_url(proxy)
            connection = asyncio.open_connection(proxy_host, proxy_port)
            target = f"{scheme}://{host_header(scheme, host, port)}{target}"
            authorization = proxy_authorization(proxy)
            if authorization:
                headers.append(("Proxy-Authorization", authorization))
        else:
            connection = self._open_tunnel(proxy, host, port, context)
        stream, writer = await self._within(connection, self.connect_timeout)
        self._writer = writer
        self._timed_out = False
        if self._closing:
            raise ConnectionAbortedError("closed")
        if get_header(headers, "host") is None:
            headers.insert(0, ("Host", host_header(scheme, host, port)))
        loop = asyncio.get_running_loop()
        deadline = None if self.read_timeout is None else loop.time() + self.read_timeout
        writer.write(encode_request(request.method, target, headers, request.body))
        response = ResponseReader(request.method)
        while True:
            head = response.next_head()
            if head is not None:
                return stream, response, head
            await self._receive(stream, response, head_time_left(deadline, loop.time()))

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


def _give_up(task: asyncio.Future[Any]) -> None:
    """Cancel ``task``, and close the connection it made if it is too late."""
    if task.done():
        _discard(task)
    else:
        task.cancel()
        task.add_done_callback(_discard)


def _discard(task: asyncio.Future[Any]) -> None:
    """Close what a task finished with after its caller gave up on it."""
    if task.cancelled() or task.exception() is not None:  # retrieved: not logged
        return
    result = task.result()
    if isinstance(result, tuple) and isinstance(result[-1], asyncio.StreamWriter):
        result[-1].transport.abort()
