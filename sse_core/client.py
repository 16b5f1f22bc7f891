# SPDX-License-Identifier: MIT
"""Blocking clients: an :class:`EventSource` over sockets, and
:func:`iter_events` for the byte iterators of requests, urllib3 or httpx.

All protocol decisions (which answers open a stream, when to reconnect and
with which headers, how long to wait) are the sans-IO state machine's, in
:mod:`sse_core._reconnect`; this module only moves bytes and sleeps.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from typing import Any, Callable, Generator, Iterable, Iterator, List, Optional, Tuple, Union

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

__all__ = ("EventSource", "iter_events")

_BytesLike = Union[bytes, bytearray, memoryview]

#: Bytes asked of the socket per read; ``read1`` returns as soon as any arrive.
_CHUNK_SIZE = 64 * 1024
#: Bytes of a failed response's body kept on the error, to show the server's message.
_ERROR_BODY_SIZE = 4096
#: Seconds spent reading it at most: a failed answer may stream for ever.
_ERROR_BODY_TIMEOUT = 1.0


def iter_events(
    chunks: Iterable[_BytesLike],
    *,
    max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
    last_event_id: str = "",
) -> Iterator[Event]:
    """Decode an iterable of byte chunks (a response body) into events.

    Works with any HTTP client that streams bytes, with no import of it::

        with requests.get(url, stream=True, headers={"Accept": "text/event-stream"}) as r:
            for event in iter_events(r.iter_content(chunk_size=None)):
                ...

    Use ``httpx``'s ``response.iter_bytes()`` or urllib3's
    ``response.stream()`` the same way.  This decodes one response; it does
    not reconnect (use :class:`EventSource` for that).  An incomplete event
    at the end is discarded, as the spec says.

    Raises:
        RemoteProtocolError: the stream broke ``max_event_size``.
    """
    decoder = Decoder(max_event_size=max_event_size, last_event_id=last_event_id)
    # A limit broken after a chunk's events raises once they are taken, before
    # another chunk is read: a silent server is never waited for.
    yield from decoder.iter_events(chunks)


class EventSource(_EventSourceViews):
    """A blocking EventSource: iterate it to get events, across reconnections.

    ::

        with EventSource("https://example.com/stream") as source:
            for event in source:
                print(event.event, event.data)

    It follows the browser's rules: a 200 ``text/event-stream`` answer opens
    the stream; on a network error or the end of the body it reconnects after
    the reconnection time (the server's ``retry``, backed off and jittered
    by ``policy``), sending ``Last-Event-ID``; a 204 ends the iteration
    quietly; any other answer raises :class:`ResponseError`.

    Args:
        url: an ``http`` or ``https`` URL.
        method: the request method (``"POST"`` for most LLM APIs).
        headers: extra request headers, a mapping or ``(name, value)`` pairs.
        body: the request body.  It is sent again on each reconnection,
            unless ``resume`` names another request.
        last_event_id: resume from this ID on the first request.
        policy: a :class:`ReconnectPolicy`: backoff, ``max_attempts``,
            ``max_elapsed``, 5xx retries.
        connect_timeout: seconds to open the TCP (and TLS) connection.
        read_timeout: seconds the server may stay silent before the
            connection counts as failed and is reestablished; the whole
            response head (interim ``1xx`` answers included) must also
            arrive within it.  None waits for ever; set it above the
            server's heartbeat period.
        ssl_context: for ``https``; default ``ssl.create_default_context()``.
        trust_env: use the proxies set by ``http_proxy``, ``https_proxy`` and
            ``no_proxy`` (``https`` through a CONNECT tunnel).
        max_event_size: see :class:`~sse_core.Decoder`.
        on_action: called with each action of the state machine before it is
            carried out (:class:`Connect`, :class:`Open`, :class:`Wait`,
            :class:`Stop`, :class:`Answer`), e.g. to log connections and
            reconnections.
        resume: a :class:`Resume`, the request reconnections send instead of
            repeating the first (a GET with the session header after a POST's
            stream broke, for MCP).
        max_answer_size: accept a 2xx answer that is not an event stream
            (a ``202``, ``application/json``): the iteration ends without
            events and :attr:`answer` holds status, headers and the body, read
            whole up to this many bytes (a longer one raises
            :class:`ResponseError`).  None fails such answers, as a browser.

    Raises:
        ValueError: not an http(s) URL, the method or a header name is not an
            HTTP token, or a header value holds CR/LF/NUL.

    Iterating raises :class:`ResponseError` when the server's answer fails
    the connection (a content coding other than gzip or deflate included),
    :class:`ReconnectLimitError` when the policy gives up (a
    :class:`~sse_core.MalformedResponseError` is retried as a network error,
    and may be its cause) and :class:`RemoteProtocolError` for an event above
    ``max_event_size``.  Header values are sent as UTF-8; a last event ID
    over ``MAX_LAST_EVENT_ID_SIZE`` bytes is not sent.
    :meth:`close` may be called from any thread; the iteration then ends.
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
        split_url(url)  # fail early on a bad URL
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
        self.on_action = on_action
        self.trust_env = trust_env
        self._closing = threading.Event()
        self._lock = threading.Lock()
        # The socket in use, and the reader of its response.
        self._sock: Optional[socket.socket] = None
        self._response: Optional[ResponseReader] = None
        self._events: Optional[Iterator[Event]] = None
        self._delivered_id = None

    # -- state -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL given to the constructor."""
        return self._machine.url

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED, as a browser's ``readyState``."""
        if self._closing.is_set():
            return ReadyState.CLOSED
        return self._machine.ready_state

    # -- iteration ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        if self._events is None:
            self._events = self._run()
        return self._events

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
        events = self._events
        if events is not None:
            with contextlib.suppress(ValueError):  # running in another thread
                events.close()  # type: ignore[attr-defined]

    def close(self) -> None:
        """Close the EventSource for good; safe to call from any thread.

        A blocked read is interrupted (the socket is shut down) and a
        reconnection delay is cut short; the iteration then stops without
        an error.
        """
        self._closing.set()
        with self._lock:
            sock = self._sock
        if sock is not None:
            # The base class's shutdown, also for an SSLSocket: it wakes a
            # blocked read without touching the TLS state another thread uses.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _run(self) -> Iterator[Event]:
        machine = self._machine
        try:
            if self._closing.is_set():
                return
            action: Any = machine.connect()
            while True:
                if self._closing.is_set():
                    return
                if self.on_action is not None:
                    self.on_action(action)
                if type(action) is Connect:
                    try:
                        head = self._send(action)
                    except OSError as error:
                        if self._closing.is_set():
                            return
                        self._drop_connection()
                        action = machine.network_error(error)
                        continue
                    action = machine.receive_response(head.status, head.headers)
                    if type(action) is Open:
                        if self.on_action is not None:
                            self.on_action(action)
                        action = yield from self._read_stream()
                    elif type(action) is Answer:
                        action = self._read_answer(action)
                    else:
                        if type(action) is Stop and isinstance(action.error, ResponseError):
                            action.error.body = self._read_error_body()
                        self._drop_connection()
                elif type(action) is Wait:
                    self._drop_connection()
                    if self._closing.wait(action.delay):
                        return
                    action = machine.delay_elapsed()
                else:
                    assert type(action) is Stop
                    self._drop_connection()
                    if action.error is not None:
                        raise action.error
                    return
        finally:
            self._drop_connection()
            if machine.state is not State.CLOSED:
                machine.close()
            self._closing.set()

    def _read_stream(self) -> Generator[Event, None, Action]:
        """Yield the events of an open stream; return the machine's next action."""
        machine = self._machine
        sock, response = self._sock, self._response
        assert sock is not None and response is not None  # set by _send
        try:
            while True:
                piece = response.next_piece()
                if piece is None:
                    _receive(sock, response)
                    continue
                if not piece:
                    break
                events = machine.receive_data(piece)
                for event in events:
                    self._delivered_id = event.id
                    yield event
                    if self._closing.is_set():
                        return machine.close()
                self._delivered_id = None
                if events:
                    # A piece that completed events and then broke
                    # max_event_size keeps the error for the next feed: ask
                    # for it now, not after a read that may never return.
                    machine.receive_data(b"")
        except OSError as error:
            if self._closing.is_set():
                return machine.close()
            self._drop_connection()
            return machine.network_error(error)
        self._drop_connection()
        return machine.stream_ended()

    def _read_answer(self, answer: Answer) -> Stop:
        """Read a whole answer's body into :attr:`answer`; the iteration then ends."""
        if self.on_action is not None:
            self.on_action(answer)
        limit = self._machine.max_answer_size
        assert limit is not None  # no Answer without it
        sock, response = self._sock, self._response
        assert sock is not None and response is not None  # set by _send
        body = bytearray()
        try:
            while len(body) <= limit:
                piece = response.next_piece()
                if piece is None:
                    _receive(sock, response)
                    continue
                if not piece:
                    break
                body += piece
        except OSError as error:  # MalformedResponseError (a body cut short) included
            # The answer is all there is: an incomplete one cannot be read again.
            raise answer_broken(answer, self.url, error) from error
        finally:
            self._drop_connection()
        self._answer, stop = read_answer(answer, bytes(body), self.url, limit)
        return stop

    def _read_error_body(self) -> bytes:
        """Up to 4 KiB of a failed response's body, within about a second."""
        sock, response = self._sock, self._response
        assert sock is not None and response is not None  # set by _send
        deadline = time.monotonic() + _ERROR_BODY_TIMEOUT
        data = b""
        with contextlib.suppress(Exception):  # the body is a courtesy
            while len(data) < _ERROR_BODY_SIZE:
                piece = response.next_piece()
                if piece is None:
                    sock.settimeout(max(deadline - time.monotonic(), 0.001))
                    _receive(sock, response)
                    continue
                if not piece:
                    break
                data += piece
        return data[:_ERROR_BODY_SIZE]

    def _send(self, request: Connect) -> ResponseHead:
        """Connect, send ``request`` and read the final response's head.

        The whole head, interim responses included, must arrive within
        ``read_timeout``.
        """
        scheme, host, port, target = split_url(request.url)
        headers: List[Tuple[str, str]] = list(request.headers)
        if get_header(headers, "host") is None:
            headers.insert(0, ("Host", host_header(scheme, host, port)))
        proxy = proxy_for(scheme, host) if self.trust_env else None
        sock: socket.socket
        if scheme == "https":
            context = self.ssl_context or ssl.create_default_context()
            if proxy:
                sock = self._open_tunnel(proxy, host, port, context)
            else:
                # The raw socket is not handed to close() before TLS wraps it:
                # shutting it down under the handshake can make the ssl
                # module drop the SSLSocket unclosed.  connect_timeout bounds
                # the handshake; close() acts once it is over.
                raw = self._connect(host, port, closable=False)
                try:
                    sock = context.wrap_socket(raw, server_hostname=host)
                finally:
                    raw.close()  # detached by a successful wrap: a no-op then
            with self._lock:
                self._sock = sock
        elif proxy:
            _, proxy_host, proxy_port, _ = split_url(proxy)
            sock = self._connect(proxy_host, proxy_port)
            # absolute-form through a forward proxy
            target = f"{scheme}://{host_header(scheme, host, port)}{target}"
            auth = proxy_authorization(proxy)
            if auth:
                headers.append(("Proxy-Authorization", auth))
        else:
            sock = self._connect(host, port)
        if self._closing.is_set():
            raise ConnectionAbortedError("closed")
        deadline = None if self.read_timeout is None else time.monotonic() + self.read_timeout
        sock.settimeout(self.read_timeout)
        sock.sendall(encode_request(request.method, target, headers, request.body))
        response = self._response = ResponseReader(request.method)
        while True:
            head = response.next_head()
            if head is not None:
                sock.settimeout(self.read_timeout)
                return head
            sock.settimeout(head_time_left(deadline, time.monotonic()))
            _receive(sock, response)

    def _connect(self, host: str, port: int, *, closable: bool = True) -> socket.socket:
        """A TCP connection, which :meth:`close` can interrupt once it is
        made if ``closable``."""
        if self._closing.is_set():
            raise ConnectionAbortedError("closed")
        sock = socket.create_connection((host, port), timeout=self.connect_timeout)
        if closable:
            with self._lock:
                self._sock = sock
        return sock

    def _open_tunnel(
        self, proxy: str, host: str, port: int, context: ssl.SSLContext
    ) -> ssl.SSLSocket:
        """HTTPS through a proxy: ``CONNECT``, then TLS over the tunnel."""
        _, proxy_host, proxy_port, _ = split_url(proxy)
        sock = self._connect(proxy_host, proxy_port)
        sock.sendall(connect_request(host, port, proxy_authorization(proxy)))
        head = b""
        while b"\r\n\r\n" not in head:
            # The proxy sends nothing after its answer until TLS starts,
            # so reading in pieces cannot swallow tunnel bytes.
            data = sock.recv(4096)
            if not data or len(head) > MAX_HEAD_SIZE:
                raise ConnectionError("the proxy closed or sent an endless answer")
            head += data
        check_tunnel_answer(head)
        return context.wrap_socket(sock, server_hostname=host)

    def _drop_connection(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
            self._response = None
        if sock is not None:
            sock.close()


def _receive(sock: socket.socket, response: ResponseReader) -> None:
    """Pass what the socket gives next to ``response`` (the end, too)."""
    data = sock.recv(_CHUNK_SIZE)
    if data:
        response.feed(data)
    else:
        response.feed_eof()
