# SPDX-License-Identifier: MIT
"""WSGI glue: an event-stream response iterable, with heartbeats and ``close()``.

:class:`EventStreamResponse` is a WSGI application whose response body pulls
events from a plain iterator, one chunk per event, so the server writes each as
it comes.  Use it as the whole application, or return it from a Flask view
(``return EventStreamResponse(source)``: Flask calls WSGI applications it is
given) or wrap its body in Django's ``StreamingHttpResponse``; ``docs/wsgi.md``
shows both.

WSGI has no way to wait for "an item or a timeout" without a thread, so
heartbeats rely on the source: a source that yields ``None`` when it has
nothing ("still idle") lets the adapter send a heartbeat comment once the
interval has passed, and to notice a disconnected client when that write fails.
:meth:`sse_core.broadcast.Broadcaster.subscribe` yields ``None`` that way; a
generator reading a :class:`queue.Queue` can do it with
``queue.get(timeout=...)``.  A source that blocks inside ``next()`` gets no
heartbeats while it blocks.

When the client leaves, the server calls the response's ``close()`` (PEP 3333
requires it), which closes the source, so a generator's ``finally`` runs.
Servers notice a departed client only when a write fails: heartbeats bound
that delay.
"""

from __future__ import annotations

import logging
import time
from collections import abc
from typing import (
    Any,
    Callable,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from ._access import CORS, DEFAULT_METHODS, check_methods, early_answer
from ._encoder import encode_comment
from ._http import (
    DEFAULT_HEARTBEAT,
    HEARTBEAT,
    HeaderInput,
    StreamItem,
    encode_item,
    last_event_id_from_environ,
    response_headers,
    status_line,
)
from ._shutdown import Shutdown

__all__ = ("CORS", "EventStreamResponse", "Shutdown", "StreamBody", "last_event_id")

logger = logging.getLogger("sse_core")

# The first chunk of every body, before the source is asked for anything.
# WSGI servers send the status and headers with the first non-empty chunk
# (PEP 3333), so without it a client of an idle source would see nothing,
# not even the status, until the first event or heartbeat: httpx-sse's
# default 5 s timeout gave up, and browsers fired `open` only then.  A bare
# comment line: ignored by every client, and, like a heartbeat, it needs no
# blank line (see HEARTBEAT in _http.py).
_OPENING = encode_comment("")

Environ = Mapping[str, Any]
StartResponse = Callable[..., Any]

#: A source: an iterable of items, or a function that takes the request's
#: sanitised ``Last-Event-ID`` and returns one.
SyncSource = Union[Iterable[StreamItem], Callable[[str], Iterable[StreamItem]]]


def last_event_id(environ: Environ) -> str:
    """The request's ``Last-Event-ID``, sanitised (``""`` if absent or unsafe).

    Works on a WSGI ``environ`` (``request.environ`` in Flask,
    ``request.META`` in Django).  The rule is in :mod:`sse_core._http`.
    """
    return last_event_id_from_environ(environ)


class EventStreamResponse:
    """A WSGI application that streams server-sent events.

    Args:
        source: an iterable (a generator, a broadcaster subscription) yielding
            :class:`~sse_core.Event` objects, ``str`` (sent as a ``message``
            event's data), ``bytes`` (sent as they are) or ``None`` (nothing
            yet: a chance for a heartbeat).  Or a function taking the request's
            ``Last-Event-ID`` (sanitised, ``""`` if none) and returning such an
            iterable, called once per request, so the response can be mounted
            as an application serving many requests.
        status: the HTTP status (default 200).
        headers: extra response headers, a mapping or ``(name, value)`` pairs.
        heartbeat: seconds of silence after which the next ``None`` from the
            source becomes a ``: ping`` comment; ``None`` disables.
        shutdown: a :class:`Shutdown` switch; once triggered the stream ends at
            its next item or ``None``.
        retry: if set, a ``retry: N`` field (milliseconds) goes out with the
            first event (in its block: some clients, httpx-sse among them,
            turn a block with no data into an empty event).
        methods: the request methods a response built on a function answers
            (default ``("GET", "HEAD")``); any other gets ``405`` with
            ``Allow``, and ``HEAD`` the headers alone.  As for
            :class:`sse_core.asgi.EventStreamResponse`.
        cors: a :class:`CORS` to let pages from other origins read the
            stream, as for :class:`sse_core.asgi.EventStreamResponse`.

    If the source raises, the error is logged once (logger ``"sse_core"``) and
    the body ends normally, so the server sees a complete response.

    Raises:
        TypeError: ``source`` is neither iterable nor callable.
        ValueError: bad ``headers`` or ``methods``, or a non-positive
            ``heartbeat``.
        RuntimeError: from ``__call__``: a response built on an iterator (not
            a function) was served twice.
    """

    def __init__(
        self,
        source: SyncSource,
        *,
        status: int = 200,
        headers: HeaderInput = None,
        heartbeat: Optional[float] = DEFAULT_HEARTBEAT,
        shutdown: Optional[Shutdown] = None,
        retry: Optional[int] = None,
        methods: Iterable[str] = DEFAULT_METHODS,
        cors: Optional[CORS] = None,
    ) -> None:
        if not (hasattr(source, "__iter__") or callable(source)):
            raise TypeError(
                "source must be an iterable or a function returning one,"
                f" not {type(source).__name__}"
            )
        if heartbeat is not None and heartbeat <= 0:
            raise ValueError(f"heartbeat must be > 0 or None, got {heartbeat}")
        if retry is not None and (type(retry) is not int or retry < 0):
            raise ValueError(f"retry must be a non-negative int, got {retry!r}")
        self._source = source
        self._used = False
        self._stream_status = status_line(status)
        self._stream_headers: List[Tuple[str, str]] = response_headers(headers)
        self._stream_heartbeat = heartbeat
        self._stream_shutdown = shutdown
        self._stream_retry = retry
        self._stream_methods = check_methods(methods)
        self._stream_cors = cors

    def _open(self, environ: Environ) -> Iterator[StreamItem]:
        source = self._source
        if isinstance(source, abc.Iterable):
            if self._used:
                raise RuntimeError(
                    "this EventStreamResponse was built on an iterable and has"
                    " already been served; pass a function to serve many requests"
                )
            self._used = True
            return iter(source)
        return iter(source(last_event_id(environ)))

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        headers = list(self._stream_headers)
        if self._stream_cors is not None:
            headers += self._stream_cors.response_headers(origin)
        if not isinstance(self._source, abc.Iterable):
            method = str(environ.get("REQUEST_METHOD", "GET"))
            preflight = "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
            answer = early_answer(
                method, origin, preflight, self._stream_methods, self._stream_cors
            )
            if answer is not None:
                start_response(status_line(answer[0]), answer[1])
                return []
            if method == "HEAD":
                start_response(self._stream_status, headers)
                return []
        iterator = self._open(environ)
        start_response(self._stream_status, headers)
        return StreamBody(
            iterator,
            heartbeat=self._stream_heartbeat,
            shutdown=self._stream_shutdown,
            retry=self._stream_retry,
            path=str(environ.get("PATH_INFO", "?")),
        )


class StreamBody:
    """The response body of :class:`EventStreamResponse`: an iterator of chunks.

    The first ``next()`` returns a bare comment line (``:``), at once,
    so that the server sends the status and headers before the source has
    anything; each later one returns the bytes of one event, or a heartbeat
    comment.
    Public so that a framework wanting a plain iterable of bytes (Django's
    ``StreamingHttpResponse``) can take it and still get ``close()``.

    Args:
        source: an iterable of items, as for :class:`EventStreamResponse`.
        heartbeat, shutdown, retry: as for :class:`EventStreamResponse`.
        path: the request path, for the log message if the source fails.

    ``close()`` closes the source (idempotent).
    """

    def __init__(
        self,
        source: Iterable[StreamItem],
        *,
        heartbeat: Optional[float] = DEFAULT_HEARTBEAT,
        shutdown: Optional[Shutdown] = None,
        retry: Optional[int] = None,
        path: str = "?",
    ) -> None:
        if heartbeat is not None and heartbeat <= 0:
            raise ValueError(f"heartbeat must be > 0 or None, got {heartbeat}")
        if retry is not None and (type(retry) is not int or retry < 0):
            raise ValueError(f"retry must be a non-negative int, got {retry!r}")
        self._iterator: Optional[Iterator[StreamItem]] = iter(source)
        self._heartbeat = heartbeat
        self._shutdown = shutdown
        # A retry field rides in the first event's block.
        self._first = b"retry: %d\n" % retry if retry is not None else None
        self._path = path
        self._last_write = time.monotonic()
        self._opened = False

    def __iter__(self) -> StreamBody:
        return self

    def __next__(self) -> bytes:
        if not self._opened:
            self._opened = True
            return _OPENING
        while True:
            iterator = self._iterator
            if iterator is None or (self._shutdown is not None and self._shutdown.triggered):
                self.close()
                raise StopIteration
            try:
                data = encode_item(next(iterator))
            except StopIteration:
                self.close()
                raise
            except Exception:
                logger.exception(
                    "sse_core: the event source of %s raised; ending the stream", self._path
                )
                self.close()
                raise StopIteration from None
            now = time.monotonic()
            if data is not None:
                self._last_write = now
                if self._first is not None:
                    data, self._first = self._first + data, None
                return data
            if self._heartbeat is not None and now - self._last_write >= self._heartbeat:
                self._last_write = now
                return HEARTBEAT

    def close(self) -> None:
        """Close the source, so its ``finally`` blocks run (idempotent)."""
        iterator, self._iterator = self._iterator, None
        close = getattr(iterator, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                logger.exception("sse_core: the event source raised while closing")
