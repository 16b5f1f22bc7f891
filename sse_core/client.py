# SPDX-License-Identifier: MIT
"""Blocking clients: an :class:`EventSource` over ``http.client``, and
:func:`iter_events` for the byte iterators of requests, urllib3 or httpx.

All protocol decisions (which answers open a stream, when to reconnect and
with which headers, how long to wait) are the sans-IO state machine's, in
:mod:`sse_core._reconnect`; this module only moves bytes and sleeps.
"""

from __future__ import annotations

import contextlib
import http.client
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
    get_header,
    host_header,
    proxy_authorization,
    proxy_for,
    split_url,
)
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
    answer_too_large,
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
        read_timeout: seconds the server may stay silent, headers included,
            before the connection counts as failed and is reestablished.
            None waits for ever; set it above the server's heartbeat period.
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
        ValueError: not an http(s) URL, or a header value holds CR/LF/NUL.

    Iterating raises :class:`ResponseError` when the server's answer fails
    the connection, :class:`ReconnectLimitError` when the policy gives up and
    :class:`RemoteProtocolError` for an event above ``max_event_size``.
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
        # The connection in use, its socket (http.client drops its own
        # reference once the response owns the socket) and its response.
        self._connection: Optional[http.client.HTTPConnection] = None
        self._sock: Optional[socket.socket] = None
        self._response: Optional[http.client.HTTPResponse] = None
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
                        response = self._send(action)
                    except Exception as error:
                        if self._closing.is_set():
                            return
                        if not isinstance(error, (OSError, http.client.HTTPException)):
                            raise
                        self._drop_connection()
                        action = machine.network_error(error)
                        continue
                    action = machine.receive_response(response.status, response.getheaders())
                    if type(action) is Open:
                        if self.on_action is not None:
                            self.on_action(action)
                        action = yield from self._read_stream(response)
                    elif type(action) is Answer:
                        action = self._read_answer(response, action)
                    else:
                        if type(action) is Stop and isinstance(action.error, ResponseError):
                            action.error.body = self._read_error_body(response)
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

    def _read_stream(self, response: http.client.HTTPResponse) -> Generator[Event, None, Action]:
        """Yield the events of an open stream; return the machine's next action."""
        machine = self._machine
        try:
            length = response.getheader("content-length")
            if not response.chunked and length is not None and not length.strip().isdigit():
                # http.client would read such a body to EOF; the asyncio
                # client refuses it, as RFC 9112 says, and so do we.
                raise http.client.HTTPException(f"bad Content-Length: {length!r}")
            while True:
                chunk = response.read1(_CHUNK_SIZE)
                if not chunk:
                    # http.client ends quietly when the connection closes
                    # before a framed body is complete: that is a network
                    # error, not the end of the stream.
                    if (response.chunked and response.chunk_left) or response.length:
                        raise http.client.IncompleteRead(b"")
                    break
                events = machine.receive_data(chunk)
                for event in events:
                    self._delivered_id = event.id
                    yield event
                    if self._closing.is_set():
                        return machine.close()
                self._delivered_id = None
                if events:
                    # A chunk that completed events and then broke
                    # max_event_size keeps the error for the next feed: ask
                    # for it now, not after a read that may never return.
                    machine.receive_data(b"")
        except Exception as error:
            if self._closing.is_set():
                return machine.close()
            if not isinstance(error, (OSError, http.client.HTTPException)):
                raise
            self._drop_connection()
            return machine.network_error(error)
        self._drop_connection()
        return machine.stream_ended()

    def _read_answer(self, response: http.client.HTTPResponse, answer: Answer) -> Stop:
        """Read a whole answer's body into :attr:`answer`; the iteration then ends."""
        if self.on_action is not None:
            self.on_action(answer)
        limit = self._machine.max_answer_size
        assert limit is not None  # no Answer without it
        body = b""
        try:
            while len(body) <= limit:
                chunk = response.read1(limit + 1 - len(body))
                if not chunk:
                    # As in _read_stream: http.client ends quietly on a
                    # framed body cut short.
                    if (response.chunked and response.chunk_left) or response.length:
                        raise http.client.IncompleteRead(body)
                    break
                body += chunk
        except (OSError, http.client.HTTPException) as error:
            # The answer is all there is: an incomplete one cannot be read again.
            raise ResponseError(
                f"{self.url} answered {answer.status}, then the body broke: {error}",
                status=answer.status,
                content_type=get_header(answer.headers, "content-type"),
                url=self.url,
            ) from error
        finally:
            self._drop_connection()
        answer = answer._replace(body=body)
        if len(body) > limit:
            return Stop(answer.status, answer_too_large(answer, self.url, limit))
        self._answer = answer
        return Stop(answer.status, None)

    def _read_error_body(self, response: http.client.HTTPResponse) -> bytes:
        """Up to 4 KiB of a failed response's body, within about a second."""
        with self._lock:
            sock = self._sock
        assert sock is not None  # set by _send; only this thread drops it
        sock.settimeout(_ERROR_BODY_TIMEOUT)
        deadline = time.monotonic() + _ERROR_BODY_TIMEOUT
        data = b""
        with contextlib.suppress(Exception):  # the body is a courtesy
            while len(data) < _ERROR_BODY_SIZE and time.monotonic() < deadline:
                chunk = response.read1(_ERROR_BODY_SIZE - len(data))
                if not chunk:
                    break
                data += chunk
        return data

    def _send(self, request: Connect) -> http.client.HTTPResponse:
        scheme, host, port, target = split_url(request.url)
        headers: List[Tuple[str, str]] = list(request.headers)
        if get_header(headers, "host") is None:
            headers.insert(0, ("Host", host_header(scheme, host, port)))
        proxy = proxy_for(scheme, host) if self.trust_env else None
        connection: http.client.HTTPConnection
        tunnel: Optional[str] = None
        if scheme == "https":
            context = self.ssl_context or ssl.create_default_context()
            connection = http.client.HTTPSConnection(
                host, port, timeout=self.connect_timeout, context=context
            )
            tunnel = proxy
        elif proxy:
            _, proxy_host, proxy_port, _ = split_url(proxy)
            connection = http.client.HTTPConnection(
                proxy_host, proxy_port, timeout=self.connect_timeout
            )
            target = request.url  # absolute-form through a forward proxy
            auth = proxy_authorization(proxy)
            if auth:
                headers.append(("Proxy-Authorization", auth))
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
        with self._lock:
            self._connection = connection
        if self._closing.is_set():
            raise ConnectionAbortedError("closed")
        if tunnel is None:
            connection.connect()
        else:
            # http.client's own set_tunnel() leaks a socket on a refused
            # CONNECT before Python 3.12; the tunnel is simple enough to open here.
            connection.sock = self._open_tunnel(tunnel, host, port, context)
        sock = connection.sock
        assert sock is not None
        with self._lock:
            self._sock = sock
        sock.settimeout(self.read_timeout)
        if self._closing.is_set():
            raise ConnectionAbortedError("closed")
        connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        body = request.body
        if body is not None and get_header(headers, "content-length") is None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        with self._lock:
            self._response = response
        return response

    def _open_tunnel(
        self, proxy: str, host: str, port: int, context: ssl.SSLContext
    ) -> ssl.SSLSocket:
        """HTTPS through a proxy: ``CONNECT``, then TLS over the tunnel."""
        _, proxy_host, proxy_port, _ = split_url(proxy)
        sock = socket.create_connection((proxy_host, proxy_port), timeout=self.connect_timeout)
        try:
            with self._lock:
                self._sock = sock  # close() may interrupt from here on
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
        except BaseException:
            sock.close()
            raise

    def _drop_connection(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            response, self._response = self._response, None
            sock, self._sock = self._sock, None
        if response is not None:
            response.close()
        if connection is not None:
            connection.close()
        if sock is not None:
            sock.close()
