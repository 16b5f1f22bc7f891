# SPDX-License-Identifier: MIT
"""The decoders: the WHATWG "interpret an event stream" algorithm, incrementally.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

:class:`Decoder` takes bytes, :class:`TextDecoder` takes already-decoded text
(it encodes it to UTF-8 and shares the same code); both return the events each
chunk completes, for any chunking.

Theory of operation
-------------------
One loop, :func:`_stream`, runs the whole algorithm.  It is a generator that
keeps the state of the stream (the incomplete line, the event being built, the
line ending cut between chunks) in its local variables: each chunk is sent in,
and the list of events it completed comes out.  ``feed()`` *is* that
generator's ``send`` (stored on the decoder, so a call costs no Python frame of
its own), and :meth:`~Decoder.iter_events` and :meth:`~Decoder.aiter_events`
send it each chunk of an iterable.  A resumed generator finds its state where
it left it; a method would load and store it from attributes on every call,
which costs as much as the rest of the work when chunks are small.

Lines are split on bytes and only field values are decoded, with "replace"
so that invalid bytes become U+FFFD.  CR and LF never occur inside a UTF-8
sequence, so decoding each value gives the same text as the spec's
decode-then-parse; working on bytes keeps one wide character (an
emoji in an LLM token) from widening a whole chunk, and an event's data is
decoded once, when it is dispatched.

A chunk with no CR or LF only extends the incomplete line: it is appended to
``tail``, a bytearray (amortised constant time, and one byte of memory per
byte however small the chunks), so a huge line fed in tiny chunks costs linear
time and no complete line is scanned twice.

The fast paths, each justified where it is written:

* **Short lines**: the three line endings are exactly the line boundaries of
  ``bytes.splitlines``, which cuts a chunk at all three in one C pass.  Long
  lines (large JSON events) are found with ``bytes.find`` (memchr) instead,
  one at a time, which is faster for them (:func:`_split_special`).
* **A long line ended in place**: a long ``data:`` line held back from earlier
  chunks is ended in its bytearray, not copied into the chunk to be cut again.
* **A line in many chunks**, under ``iter_events``: the chunks that follow
  in the same line are appended by a ``for`` of their own, which takes a
  chunk for less than a turn of the main loop (1-byte chunks about 25 %
  faster).
* **The first byte** of a line picks its rule; ``bytes.removeprefix`` then
  tests a field name spelled the common way (``data: ``, ``id: ``) and cuts its
  value in one call.  Anything else takes the general rules
  (:func:`_other_field`).
* **Remembered event types**: the value of an ``event: `` line is remembered
  by line (a stream uses a few), so a repeated one costs a dictionary look-up.
* **One data line**: the commonest event, a single ``data: ...`` line and a
  blank line, never builds a list, and until a field other than data is set
  the dispatch needs no look at the other buffers.
* **Strict decoding first**, which is faster, and again with replacement only
  if that fails.

Limits
------
One number, ``max_event_size``, bounds the length of every line and the size
of an event's data buffer (each data line plus its LF), both in bytes of the
UTF-8 stream.  Both are properties of the stream, not of its chunking, so the
same input fails at the same event however it is fed.  Text handed to the line
loop is never longer than the limit (longer text is cut at line ends first), so
the loop checks only the data buffer.  A chunk gives an event no more data than
its own length, so the loop keeps a bound on the open event's size (its size
or bound at the chunk's start plus the chunk's length) and counts it exactly,
line by line, only in a chunk that might take it past the limit.  A chunk that
breaks the limit still returns the events completed before the offending one;
the error is then raised by the next call to ``feed()`` or ``close()`` (at once
if there were no such events), and the decoder stays failed.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import sys
import types
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    AsyncIterable,
    Callable,
    Dict,
    Generator,
    Iterable,
    Iterator,
    List,
    NoReturn,
    Optional,
    Tuple,
    Union,
    cast,
)

from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import MAX_RETRY_DIGITS, Event

__all__ = ("DEFAULT_MAX_EVENT_SIZE", "Decoder", "TextDecoder")

#: Default bound, in bytes, on one line and on one event's data.
#: Real streams send events of bytes to a few hundred kilobytes (LLM tokens,
#: JSON documents); 16 MiB leaves room for large payloads such as inline images
#: while keeping what a hostile stream can make a decoder hold to tens of MB.
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

# Lines at least this long are found with bytes.find (memchr) one at a time;
# shorter ones are cut by one bytes.splitlines, whose C loop costs less per line
# but more per byte.  A text that starts with a long line takes the find path
# (the rest of its lines are usually long too: large JSON events).
_LONG_LINE = 512

# A text up to this long is cut by splitlines whatever its first line: looking
# for the first line end costs more, on every chunk, than splitlines' per-byte
# cost on the few texts of this size that start with a long line.
_SMALL_CHUNK = 8192

# Memory: a bytes object costs about 33 bytes beyond its contents, so an open
# event's data lines are not kept as many tiny objects.  Once it has more than
# _FEW_PIECES, at the end of each chunk its new lines are joined into one, and
# joined to the one before while that is shorter than _MERGED_PIECE.  Each byte
# is then copied a bounded number of times, and the overhead stays a fraction
# of the bytes held.  (Below _FEW_PIECES it costs less to leave them.)
_FEW_PIECES = 16
_MERGED_PIECE = 128

# The event types remembered by the "event: " line that set them: at most
# _KINDS_KEPT lines, each at most _KIND_LINE_KEPT bytes long.
_KINDS_KEPT = 32
_KIND_LINE_KEPT = 64

_BOM = b"\xef\xbb\xbf"
_CR = 13
_LF = 10

_tuple_new = tuple.__new__

_BytesLike = Union[bytes, bytearray, memoryview]

# The event type, last event ID and retry buffers of the event being built.
_Buffers = Tuple[str, str, Optional[int]]


_BYTES_LIKE = (bytes, bytearray, memoryview)

# Sent into the loop by close(): the end of the stream.
_END = object()


class _Pull:
    """Sent into the loop by iter_events(): take the chunks from ``chunks``."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: Iterable[_BytesLike]) -> None:
        self.chunks = iter(chunks)


class _Report:
    """What the loop tells the decoder about the stream, kept apart from the
    decoder so that the loop, which the decoder holds, does not hold it."""

    __slots__ = ("last_event_id", "retry", "truncated")

    def __init__(self, last_event_id: str) -> None:
        self.last_event_id = last_event_id
        self.retry: Optional[int] = None
        self.truncated = False


class _DecoderBase:
    """State and rules shared by :class:`Decoder` and :class:`TextDecoder`."""

    __slots__ = (
        "__weakref__",
        "_closed",
        "_error",
        "_error_raised",
        "_feed_bytes",
        "_loop",
        "_max_event_size",
        "_reader",
        "_reading",
        "_report",
        "_send",
    )

    def __init__(
        self,
        *,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
        last_event_id: str = "",
    ) -> None:
        if max_event_size is not None and (type(max_event_size) is not int or max_event_size < 1):
            raise ValueError(
                f"max_event_size must be a positive int or None, got {max_event_size!r}"
            )
        if type(last_event_id) is not str:
            raise TypeError(f"last_event_id must be str, not {type(last_event_id).__name__}")
        if "\r" in last_event_id or "\n" in last_event_id or "\0" in last_event_id:
            raise ValueError("last_event_id must not contain CR, LF or NUL")
        self._max_event_size = max_event_size
        self._report = _Report(last_event_id)
        limit = sys.maxsize if max_event_size is None else max_event_size
        loop = _stream(self._report, weakref.ref(self), limit, last_event_id)
        next(loop)  # to its first yield, where it waits for a chunk
        self._loop = loop
        self._send: Callable[[object], List[Event]] = loop.send
        # What feed() calls: the loop's send while the decoder is usable, else
        # _refused, which says why not.
        self._feed_bytes: Callable[[_BytesLike], List[Event]] = self._send
        self._closed = False
        self._error: Optional[RemoteProtocolError] = None
        self._error_raised = False
        # A weak reference to the iterator from iter_events() or
        # aiter_events() that holds the decoder, if any.
        self._reader: Optional[weakref.ref[Any]] = None
        self._reading = False  # that iterator has started

    @property
    def last_event_id(self) -> str:
        """The last event ID string: set at each dispatch, ``""`` until then.

        As in a browser, it is updated when a blank line ends an event, even an
        event with no data, and persists for the rest of the stream.
        """
        return self._report.last_event_id

    @property
    def retry(self) -> Optional[int]:
        """The reconnection time in milliseconds from the last valid ``retry``
        field, or ``None`` if there was none.  Takes effect as soon as the
        ``retry`` line ends, as in the spec."""
        return self._report.retry

    @property
    def max_event_size(self) -> Optional[int]:
        """The limit given to the constructor (``None``: unlimited)."""
        return self._max_event_size

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def truncated(self) -> bool:
        """True if :meth:`close` discarded an incomplete event or line, or an
        iterator from :meth:`iter_events` or :meth:`aiter_events` was stopped
        before its chunks ended.

        The spec discards whatever follows the last blank line at end of
        stream; this flag tells a caller that the stream was cut mid-event.
        """
        return self._report.truncated

    def close(self) -> List[Event]:
        """Mark the end of the stream.

        Discards an incomplete event, as the spec requires, and records that in
        :attr:`truncated`.  Calling it again does nothing.  An iterator from
        :meth:`iter_events` that holds the decoder is stopped; one from
        :meth:`aiter_events` ends at its next step.

        Returns:
            Always an empty list: the spec dispatches nothing at end of stream.
            It is a list so that ``events += decoder.close()`` reads naturally.

        Raises:
            RemoteProtocolError: a limit was broken by the last chunk fed and
                that error was not raised yet.  The decoder is closed anyway.
        """
        reader = self._reader
        if reader is not None:
            self._reader = None
            holder = reader()
            if type(holder) is types.GeneratorType:
                holder.close()  # its end closes the decoder, as stopped early
            elif holder is not None and holder.ag_frame is not None:
                self._end(self._reading)  # it sees the end at its next step
        self._end(False)
        error = self._error
        if error is not None and not self._error_raised:
            self._error_raised = True
            raise error
        return []

    def iter_events(self, chunks: Iterable[_BytesLike]) -> Generator[Event, None, None]:
        """Decode a whole stream given as an iterable of chunks, lazily.

        The same events and errors as calling :meth:`feed` on each chunk and
        :meth:`close` at the end: the same loop runs.  Each event is yielded
        once the chunk that completes it is decoded, so :attr:`last_event_id`
        and :attr:`retry` are those at the end of that chunk (each event
        carries its own ``id``); stopped early, :attr:`last_event_id` is that
        of the last event taken, the one to resume from.

        The iterator holds the decoder from this call until it ends.  In the
        meantime :meth:`feed` and another iterator raise
        :class:`LocalProtocolError`, and :meth:`close` stops the iterator.
        However the iterator ends (its chunks exhausted, an exception, or
        stopped early by ``break`` or its own ``close()``), the decoder is then
        closed, or failed if a limit was broken.  Stopped early, it counts as
        :attr:`truncated`.

        Raises:
            RemoteProtocolError: as :meth:`feed` and :meth:`close`, once the
                events before the offending one have been yielded, and
                before another chunk is taken.
            LocalProtocolError: (from this call) the decoder is closed, or
                another iterator holds it.
            TypeError: a chunk is not bytes-like.
        """
        self._check_usable()
        iterator = self._iterate(chunks)
        self._hold(iterator)
        return iterator

    def aiter_events(self, chunks: AsyncIterable[_BytesLike]) -> AsyncGenerator[Event, None]:
        """:meth:`iter_events` for an async iterable of chunks: an httpx
        ``aiter_bytes()``, aiohttp's ``response.content.iter_any()``, an ASGI
        body loop.

        Same events, errors and hold on the decoder as :meth:`iter_events`,
        from the same loop.  :meth:`close` cannot stop an async iterator:
        it ends at its next step, without taking another chunk.  Finish one
        stopped early with ``await iterator.aclose()``.
        """
        self._check_usable()
        iterator = self._aiterate(chunks)
        self._hold(iterator)
        return iterator

    # -- internals -------------------------------------------------------

    def _hold(self, iterator: object) -> None:
        """Let ``iterator`` hold the decoder until it ends: feed() refuses."""
        # A weak reference: an iterator dropped unstarted frees the decoder.
        self._reader = weakref.ref(iterator)
        self._feed_bytes = _refusal(self)

    def _iterate(self, chunks: Iterable[_BytesLike]) -> Generator[Event, None, None]:
        """The iterator of :meth:`iter_events`: the loop takes the chunks
        itself and yields the events of each chunk that completes some."""
        stopped = True  # by an exception or the consumer, until the chunks end
        event = None
        self._reading = True
        try:
            loop = self._loop
            events: Optional[List[Event]] = []
            with contextlib.suppress(StopIteration):  # the chunks ended before an event
                events = self._send(_Pull(chunks))
            while events is not None:
                for event in events:
                    yield event
                events = None  # the list goes before the next chunks are decoded
                events = next(loop, None)
            stopped = False
        finally:
            # Stopped by the consumer (not by a broken limit, which leaves the
            # decoder as feed() would): resume from the last event taken.
            if stopped and event is not None and self._error is None:
                self._report.last_event_id = event.id or ""  # the last one taken
            self._finish(stopped)

    async def _aiterate(self, chunks: AsyncIterable[_BytesLike]) -> AsyncGenerator[Event, None]:
        """The iterator of :meth:`aiter_events`: :meth:`_iterate`, awaiting
        each chunk."""
        send = self._send
        stopped = True
        event = None
        self._reading = True
        try:
            async for chunk in chunks:
                if self._closed:  # by close() while this waited for the chunk
                    return
                for event in send(chunk):  # (no name holds the list: it goes once taken)
                    yield event
                if self._error is not None:  # a limit broken after these events
                    self._refuse()
            stopped = False
        finally:
            if stopped and event is not None and self._error is None:  # as in _iterate
                self._report.last_event_id = event.id or ""
            self._finish(stopped)

    def _finish(self, stopped: bool) -> None:
        """An iterator ended: however it ended, the stream has ended for the
        decoder, unless a broken limit failed it."""
        self._reader = None
        if self._error is None:
            self._end(stopped)

    def _end(self, stopped: bool) -> None:
        """Close the decoder: the loop, told the stream has ended, reports
        whether it cut an event.  ``stopped``: the consumer stopped reading,
        which cuts the stream whatever the loop holds."""
        self._feed_bytes = _refusal(self)
        if not self._closed and self._error is None:
            with contextlib.suppress(StopIteration):  # the loop returns
                self._send(_END)
            if stopped:
                self._report.truncated = True
        self._closed = True

    def _check_usable(self) -> None:
        """Raise if the decoder is closed, failed or held by an iterator."""
        if self._closed or self._error is not None:
            self._refuse()
        reader = self._reader
        if reader is not None:
            holder = reader()
            # The frame is None once it has ended, or was closed unstarted.
            if holder is not None and _frame(holder) is not None:
                raise LocalProtocolError(
                    "the decoder is held by an iterator from iter_events() or aiter_events()"
                    " until that ends"
                )
            self._reader = None

    def _refuse(self) -> NoReturn:
        """Raise the error for a call on a closed or failed decoder."""
        error = self._error
        if error is not None:
            if not self._error_raised:
                self._error_raised = True
                raise error
            raise RemoteProtocolError(
                f"the decoder failed earlier and cannot continue: {error}",
                limit=error.limit,
            ) from error
        raise LocalProtocolError("the decoder is closed")

    def _fail(self, error: RemoteProtocolError, raised: bool) -> None:
        """Enter the failed state: the loop broke a limit and ends, raising
        ``error`` now if ``raised`` (else the next call raises it)."""
        self._error = error
        self._error_raised = raised
        self._feed_bytes = _refusal(self)

    def _misused(self) -> None:
        """The loop was given a chunk that is not bytes-like, and has ended
        as at :meth:`close`."""
        self._closed = True
        self._feed_bytes = _refusal(self)


def _frame(holder: Any) -> object:
    """The frame of a generator or an async generator (None once ended)."""
    if type(holder) is types.GeneratorType:
        return holder.gi_frame
    return holder.ag_frame


def _refusal(decoder: _DecoderBase) -> Callable[[_BytesLike], List[Event]]:
    """What ``feed`` calls while the decoder is closed, failed or held."""
    # A weak reference: the decoder holds this.
    return functools.partial(_refused, weakref.ref(decoder))


def _refused(owner: Callable[[], Optional[_DecoderBase]], data: _BytesLike) -> List[Event]:
    """``feed`` while the decoder was not usable: raise why, or, if an
    iterator held it and has gone away unstarted, feed the chunk."""
    decoder = cast(_DecoderBase, owner())  # alive: it is being called
    decoder._check_usable()
    decoder._feed_bytes = decoder._send
    return decoder._send(data)


def _line_too_long(limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"a line of the event stream is longer than max_event_size ({limit} bytes)",
        limit=limit,
    )


def _data_too_large(limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"an event's data is larger than max_event_size ({limit} bytes)",
        limit=limit,
    )


class Decoder(_DecoderBase):
    """Incremental decoder for a ``text/event-stream`` byte stream.

    Feed it the bytes of the response body as they arrive, in chunks of any
    size; it returns the events each chunk completes.  ``feed`` mutates the
    decoder's state; a decoder serves one stream (one HTTP response).
    :meth:`iter_events` and :meth:`aiter_events` run the same decoding over an
    iterable or an async iterable of chunks.

    Args:
        max_event_size: bound, in bytes, on the length of any line and on the
            size of one event's data; ``None`` disables it.  See
            :data:`DEFAULT_MAX_EVENT_SIZE`.
        last_event_id: the last event ID to start from, e.g. when a client
            reconnects with ``Last-Event-ID``.  Events without an ``id`` field
            report it until the stream sets another.

    Raises:
        ValueError: an argument is out of range.
        TypeError: an argument has the wrong type.

    Example::

        decoder = Decoder()
        for chunk in response_chunks:
            for event in decoder.feed(chunk):
                handle(event)
        decoder.close()

    ``feed(data) -> list[Event]`` processes a chunk of the stream.

    Args:
        data: the next bytes of the stream (bytes, bytearray or memoryview;
            the decoder copies what it keeps).  ``b""`` is allowed and does
            nothing: end of stream is :meth:`close`, not an empty chunk.
            Invalid UTF-8 decodes to U+FFFD, as the spec requires.

    Returns:
        The events this chunk completed, in stream order (often none).

    Raises:
        RemoteProtocolError: a line or an event's data exceeded
            ``max_event_size``.  Events completed before the offending one are
            returned first, and the error is raised by the next call.  The
            decoder is then failed for good.
        LocalProtocolError: the decoder was closed, or an iterator from
            :meth:`iter_events` or :meth:`aiter_events` holds it.
        TypeError: ``data`` is not bytes-like; the decoder is then closed, as
            at :meth:`close`.
    """

    __slots__ = ()

    if TYPE_CHECKING:  # pragma: no cover - documents the alias below for mypy

        def feed(self, data: _BytesLike) -> List[Event]: ...

    else:
        # The slot holding the decoding loop's send itself, not a method
        # calling it: a call to feed() runs no Python frame but the loop's.
        feed = _DecoderBase._feed_bytes


class TextDecoder(_DecoderBase):
    """Incremental decoder for an event stream that is already text.

    For transports that hand over ``str`` (a test, a bridge from another
    runtime, a file opened in text mode with ``newline=""``).  Same rules,
    arguments and errors as :class:`Decoder`, which it drives with the text's
    UTF-8 encoding (so ``max_event_size`` counts UTF-8 bytes); a leading
    U+FEFF is stripped.  A lone surrogate, which no UTF-8 stream can hold,
    becomes U+FFFD.
    """

    __slots__ = ()

    def feed(self, text: str) -> List[Event]:
        """Process a chunk of the stream; see :class:`Decoder` (``feed``).

        Raises:
            TypeError: ``text`` is not a ``str`` (the decoder stays usable).
        """
        return self._feed_bytes(_utf8(text))

    def iter_events(self, chunks: Iterable[str]) -> Generator[Event, None, None]:  # type: ignore[override]
        """Decode a whole stream given as an iterable of ``str`` chunks, lazily;
        see :meth:`Decoder.iter_events`."""
        return super().iter_events(map(_utf8, chunks))

    def aiter_events(self, chunks: AsyncIterable[str]) -> AsyncGenerator[Event, None]:  # type: ignore[override]
        """Decode an async iterable of ``str`` chunks, lazily; see
        :meth:`Decoder.aiter_events`."""
        return super().aiter_events(_aencode(chunks))


async def _aencode(chunks: AsyncIterable[str]) -> AsyncGenerator[bytes, None]:
    async for text in chunks:
        yield _utf8(text)


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8, a lone surrogate (which no UTF-8 stream can hold)
    as U+FFFD."""
    if type(text) is not str:
        raise TypeError(f"TextDecoder takes str, not {type(text).__name__}")
    try:
        return text.encode()
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text).encode()


def _stream(
    report: _Report,
    owner: Callable[[], Optional[_DecoderBase]],
    limit: int,
    last_event_id: str,
) -> Generator[List[Event], object, None]:
    """The decoding loop: sent each chunk of the stream, it yields the events
    that chunk completed (see "Theory of operation" above).

    ``report`` receives the last event ID and reconnection time as they
    change and, at the end, whether an event was cut.  ``owner`` (a weak
    reference: the decoder holds the loop) is told when the loop ends early:
    by a broken limit or a chunk of the wrong type.  ``_END`` ends the stream.
    """
    tail = bytearray()  # the incomplete line; never holds a CR or an LF
    at_start = True  # a leading BOM may still come
    skip_lf = False  # the last chunk ended with CR: an LF next ends no line
    special = True  # the next chunk goes through _prepare: at_start or skip_lf
    small = min(limit, _SMALL_CHUNK)  # two bounds on a short-lined text, taken once
    # The spec's data buffer: its first line alone in `single` while it has
    # one (most events have one: no list to build and join), then all of its
    # lines in `buffer`.
    single: Optional[bytes] = None
    buffer: List[bytes] = []
    # Whether a field other than data was set since the last dispatch: until
    # then the other buffers need no look at dispatch.
    fields = False
    event_type = ""
    id_buffer = last_event_id
    event_retry: Optional[int] = None
    # The open event's data size as the spec counts it (lines plus LFs), or
    # when not `exact` a bound on it.  A chunk gives an event no more data
    # than its own length, so only a chunk that might take the event past the
    # limit needs the size counted exactly and then kept line by line; either
    # way the error comes at the same line.
    size = 0
    exact = True
    # The event types of the "event: " lines seen, by line: a stream uses
    # few, and a dictionary look-up is cheaper than testing and decoding.
    kinds: Dict[bytes, str] = {}
    removeprefix = _removeprefix
    events: List[Event] = []
    # How the loop gets its chunks: sent by feed() (or an async iterator),
    # when this is None, and then it yields after every chunk; or taken from
    # the iterable of iter_events(), which sends its iterator as a _Pull, and
    # then it yields only the events, as chunks complete them, and runs on its
    # own in between (no switch to another frame for a chunk of a line).
    # (next(source) costs less than a stored source.__next__: CPython calls
    # the builtin without building a method-wrapper.)
    source: Optional[Iterator[Any]] = None
    try:
        while True:
            if source is None or events:  # the test feed() needs, first
                data: Any = yield events
                events = []
                if data is None and source is not None:  # resumed by iter_events
                    data = next(source)
            else:
                data = next(source)
            if special or type(data) is not bytes:
                if type(data) is _Pull:
                    source = data.chunks
                    continue
                if data is _END or not isinstance(data, _BYTES_LIKE):
                    # The end of the stream, or a chunk of the wrong type,
                    # which ends it too.  "Once the end of the file is reached,
                    # any pending data must be discarded."
                    report.truncated = _is_open(tail, single, buffer, fields)
                    if data is _END:
                        return
                    decoder = owner()
                    if decoder is not None:  # (gone when called as Decoder().feed(...))
                        decoder._misused()
                    raise TypeError(
                        "the decoder takes bytes, bytearray or memoryview, not "
                        + type(data).__name__
                    )
                data, at_start, skip_lf = _prepare(data, tail, at_start, skip_lf)
                special = skip_lf or at_start
                if not data:  # also when _prepare holds the start of a BOM
                    continue
            if 10 not in data and 13 not in data:  # no LF, no CR
                # The middle of a line: keep it.  Most chunks, when chunks
                # are small.
                tail += data
                if len(tail) > limit:
                    raise _line_too_long(limit)
                if source is None:
                    continue
                # Under iter_events, the chunks that follow in the same line
                # (a long line in small chunks) are taken by a loop of their
                # own, which costs less a chunk than going round this one.
                for data in source:
                    if type(data) is not bytes or 10 in data or 13 in data:
                        break
                    tail += data
                    if len(tail) > limit:
                        raise _line_too_long(limit)
                else:  # the chunks ended: the top's next() says so
                    continue
                if type(data) is not bytes:  # back to the top, for the checks there
                    source = itertools.chain((data,), source)
                    continue
            # The chunk is over the limit, or ends a long data line held from
            # earlier chunks (below): then its data is counted line by line.
            big = False
            if tail:
                if (
                    len(tail) < _LONG_LINE
                    or single is not None
                    or buffer
                    or fields
                    or tail[:6] != b"data: "
                ):
                    data = b"".join((tail, data))  # one copy, not two
                    tail.clear()
                else:
                    # A long line ended in place: a long data line ends in
                    # this chunk (a large JSON event).  End it in its
                    # bytearray, which becomes the value (deleting its start
                    # is O(1)), rather than copy it into the chunk to cut it
                    # again: faster with small chunks, as fast with large
                    # ones, and an event at the limit is held once, not three
                    # times (joined, cut, its value).  It serves as bytes: it
                    # is only measured and decoded.
                    end = data.find(b"\n")
                    if end < 0:
                        end = len(data)
                    cr = data.find(b"\r", 0, end)
                    if cr >= 0:
                        end = cr
                    tail += data[:end]
                    if len(tail) > limit:
                        raise _line_too_long(limit)
                    del tail[:6]
                    single = cast(bytes, tail)
                    size = len(single) + 1
                    exact = big = True
                    tail = bytearray()
                    if data[end] == _CR:
                        if end + 1 == len(data):
                            skip_lf = special = True  # as below
                        elif data[end + 1] == _LF:
                            end += 1
                    data = data[end + 1 :]
                    if 10 not in data and 13 not in data:  # (or empty)
                        tail += data
                        if len(tail) > limit:
                            raise _line_too_long(limit)
                        continue
            deferred: Optional[RemoteProtocolError] = None
            if len(data) <= small or (len(data) <= limit and data.find(b"\n") < _LONG_LINE):
                # Short lines, within the limit.  "Lines must be separated by
                # either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF)
                # character pair, a single U+000A LINE FEED (LF) character, or
                # a single U+000D CARRIAGE RETURN (CR) character": exactly the
                # line boundaries of bytes.splitlines, which cuts at all three
                # in one pass, as fast as split(b"\n") on LF alone.
                lines = data.splitlines()
                last = data[-1]
                if last == _LF:
                    rest = b""
                elif last == _CR:
                    rest = b""
                    # The next chunk may start with the LF of this CRLF.
                    skip_lf = special = True
                else:
                    rest = lines.pop()  # after the last line ending: an incomplete line
            else:
                if data[-1] == _CR:
                    skip_lf = special = True
                lines, deferred, over = _split_special(data, limit)
                big = big or over
                rest = lines.pop()
            check = big or (size and size + len(data) > limit)
            if check and not exact:
                size = len(single) + 1 if single is not None else _size(buffer)
                exact = True
            append = events.append
            for line in lines:
                if not line:
                    # "If the line is empty (a blank line): Dispatch the
                    # event."  The data is the buffer's lines joined by LFs:
                    # "If the data buffer's last character is a U+000A LINE
                    # FEED (LF) character, then remove the last character from
                    # the data buffer."
                    if buffer:
                        value = b"\n".join(buffer)
                        buffer = []
                        check = big
                    elif single is not None:
                        value = single
                        single = None
                    else:
                        if fields:
                            # The last event ID is set as below, then "If the
                            # data buffer is an empty string, set the data
                            # buffer and the event type buffer to the empty
                            # string and return."
                            last_event_id = report.last_event_id = id_buffer
                            event_type = ""
                            event_retry = None
                            fields = False
                        continue
                    size = 0
                    try:
                        text = value.decode()  # strict, faster when it can be
                    except UnicodeDecodeError:
                        text = value.decode("utf-8", "replace")
                    if fields:
                        # "Set the last event ID string of the event source to
                        # the value of the last event ID buffer."  With no
                        # field since the last dispatch, they are equal, and
                        # the other buffers are empty.
                        last_event_id = report.last_event_id = id_buffer
                        append(
                            _tuple_new(
                                Event, (text, event_type or "message", last_event_id, event_retry)
                            )
                        )
                        event_type = ""
                        event_retry = None
                        fields = False
                    else:
                        append(_tuple_new(Event, (text, "message", last_event_id, None)))
                    continue
                # The first byte spares most lines a comparison: comments
                # (heartbeats) and fields other than data.  removeprefix tests
                # a name and cuts the value in one call; it returns the line
                # itself when the name is not there.
                first = line[0]
                if first != 100 or (value := removeprefix(line, b"data: ")) is line:
                    if first == 58:  # ":"
                        # "If the line starts with a U+003A COLON character
                        # (:) Ignore the line."
                        continue
                    # The commonest fields, spelled the common way, skip the
                    # general rules; they do what those would do.
                    if first == 105 and (value := removeprefix(line, b"id: ")) is not line:
                        if 0 in value:  # NUL: the field is ignored
                            continue
                        try:
                            id_buffer = value.decode()
                        except UnicodeDecodeError:
                            id_buffer = value.decode("utf-8", "replace")
                        fields = True
                        continue
                    if first == 101 and (
                        (kind := kinds.get(line)) is not None
                        or (kind := _event_field(line, kinds)) is not None
                    ):
                        event_type = kind  # the few types a stream uses, decoded once
                        fields = True
                        continue
                    other = _other_field(line, event_type, id_buffer, event_retry, report)
                    if other is None:
                        continue
                    if isinstance(other, tuple):
                        event_type, id_buffer, event_retry = other
                        fields = True
                        continue
                    value = other
                # "data": "Append the field value to the data buffer, then
                # append a single U+000A LINE FEED (LF) character to the data
                # buffer."  The LFs are added by the join at dispatch.
                if buffer:
                    buffer.append(value)
                elif single is None:
                    single = value
                    if check:
                        size = len(value) + 1
                    continue
                else:
                    buffer = [single, value]
                    single = None
                if check:
                    size += len(value) + 1
                    if size > limit:
                        raise _data_too_large(limit)
            if deferred is not None:
                raise deferred
            # The open event's data size, and its lines kept few and large,
            # so the list costs little beyond the bytes it holds, however the
            # stream is chunked.
            if single is not None:
                if not check:
                    size = len(single) + 1
                    exact = True
            elif buffer:
                if not check:
                    size += len(data)
                    exact = False
                if len(buffer) > _FEW_PIECES:
                    _merge_pieces(buffer)
            else:
                size = 0
                exact = True
            if rest:  # within the limit: _cut_lines checks the longer text
                tail += rest
    except StopIteration:  # the chunks of iter_events() ended
        report.truncated = _is_open(tail, single, buffer, fields)
    except RemoteProtocolError as error:
        decoder = owner()
        if decoder is not None:
            decoder._fail(error, raised=not events)
        if not events:
            raise
        # The events completed before the offending one are returned; the
        # next call raises (or iter_events, resuming the loop once it has
        # yielded them).  What the stream held is dropped first.
        del tail, single, buffer, data, lines, decoder
        yield events
        # Only iter_events resumes a failed loop, and it holds the decoder.
        cast(_DecoderBase, owner())._error_raised = True
        raise error from None


def _is_open(tail: bytearray, single: Optional[bytes], buffer: List[bytes], fields: bool) -> bool:
    """Whether the stream ends inside a line or an event."""
    return bool(tail or single is not None or buffer or fields)


def _prepare(
    data: _BytesLike, tail: bytearray, at_start: bool, skip_lf: bool
) -> Tuple[bytes, bool, bool]:
    """A chunk that is not bytes, or comes at the start or after a CR, made
    ready for the line rules: as bytes, without a leading BOM or the LF of a
    CRLF split across chunks (``b""`` if nothing is left to process yet).

    Returns:
        The chunk, and the new ``at_start`` and ``skip_lf``.
    """
    if type(data) is not bytes:
        data = bytes(data)  # a copy: the caller may reuse its buffer
    if at_start:
        if tail:  # the start of a BOM, held back from the last chunk
            data = bytes(tail) + data
            tail.clear()
        if len(data) < 3 and _BOM.startswith(data):
            tail += data
            return b"", True, skip_lf
        # "One leading U+FEFF BYTE ORDER MARK character must be ignored if any
        # are present."
        if data[:3] == _BOM:
            data = data[3:]
    if skip_lf and data:
        skip_lf = False
        if data[0] == _LF:
            data = data[1:]  # the LF of a CRLF split across chunks
    return data, False, skip_lf


def _other_field(
    line: bytes,
    event_type: str,
    id_buffer: str,
    event_retry: Optional[int],
    report: _Report,
) -> Union[bytes, _Buffers, None]:
    """The general rules for a line that is no comment, not blank and not
    spelled ``data: ``, ``id: `` or ``event: ``, given the event type, last
    event ID and retry buffers (the loop keeps them in local variables).

    Returns:
        The value of a ``data`` field; else the three buffers, one of them set
        by the line; None if the line was ignored.
    """
    # "If the line contains a U+003A COLON character (:) Collect the characters
    # on the line before the first U+003A COLON character (:), and let field be
    # that string. Collect the characters on the line after the first U+003A
    # COLON character (:), and let value be that string. If value starts with a
    # U+0020 SPACE character, remove it from value."  Otherwise the whole line
    # is the field name and the value is empty.
    field, _, value = line.partition(b":")
    if value[:1] == b" ":
        value = value[1:]
    if field == b"data":
        return value
    if field == b"id":
        # "If the field value does not contain U+0000 NULL, then set the last
        # event ID buffer to the field value. Otherwise, ignore the field."
        if 0 in value:  # NUL
            return None
        return event_type, value.decode("utf-8", "replace"), event_retry
    if field == b"event":
        # "Set the event type buffer to field value."
        return value.decode("utf-8", "replace"), id_buffer, event_retry
    if field == b"retry":
        # "If the field value consists of only ASCII digits, then interpret the
        # field value as an integer in base ten, and set the event stream's
        # reconnection time to that integer. Otherwise, ignore the field."
        # (bytes.isdigit is true for ASCII digits only.)
        if not value.isdigit():
            return None
        digits = value.lstrip(b"0") or b"0"
        if len(digits) > MAX_RETRY_DIGITS:
            return None
        report.retry = int(digits)
        return event_type, id_buffer, report.retry
    # "Otherwise: The field is ignored."
    return None


def _event_field(line: bytes, kinds: Dict[bytes, str]) -> Optional[str]:
    """The event type an ``event: `` line sets, remembered in ``kinds`` for
    the next time (for a few short lines); None if the line is something
    else."""
    value = _removeprefix(line, b"event: ")
    if value is line:
        return None
    kind = value.decode("utf-8", "replace")
    if len(kinds) < _KINDS_KEPT and len(line) <= _KIND_LINE_KEPT:
        kinds[line] = kind
    return kind


def _split_special(
    data: bytes, limit: int
) -> Tuple[List[bytes], Optional[RemoteProtocolError], bool]:
    """Split a chunk that starts with a long line, or is longer than the
    limit, into lines.

    Returns:
        The lines as from ``bytes.split`` (the incomplete one last), an error to
        raise once they are processed (see :func:`_cut_lines`), and whether the
        chunk was longer than the limit.
    """
    if _CR in data:
        # The three line endings are equivalent: make them all LF.
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if len(data) <= limit and data.find(b"\n") < _LONG_LINE:
        return data.split(b"\n"), None, False
    lines, deferred = _cut_lines(data, limit)
    return lines, deferred, len(data) > limit


def _cut_lines(data: bytes, limit: int) -> Tuple[List[bytes], Optional[RemoteProtocolError]]:
    """Split LF-normalised bytes longer than the limit or starting with a
    long line.

    Long lines are found with ``bytes.find`` (memchr), faster than the split
    loop for them.  Bytes over the limit are cut into pieces of at most
    ``limit + 1`` bytes that end at a line end, so no line in a piece can be
    too long; a line that fits in no piece is.

    Returns:
        The lines (the incomplete one after the last LF last, as from
        ``bytes.split``), and the error for a line too long, raised once the
        lines before it are processed.
    """
    end = data.rfind(b"\n") + 1
    lines: List[bytes] = []
    start = 0
    while start < end:
        cut = data.rfind(b"\n", start, start + limit + 1) + 1
        if not cut:
            lines.append(b"")  # stands in for the rest, which is discarded
            return lines, _line_too_long(limit)
        _add_lines(lines, data, start, cut)
        start = cut
    lines.append(data[end:])
    if len(data) - end > limit:
        return lines, _line_too_long(limit)
    return lines, None


def _size(buffer: List[bytes]) -> int:
    """The size of a data buffer as the spec counts it: lines plus LFs (its
    pieces are lines joined with LFs)."""
    return sum(map(len, buffer)) + len(buffer)


def _merge_pieces(buffer: List[bytes]) -> None:
    """Join the short pieces at the end of an open event's data buffer (its
    lines, or lines already joined with LFs) into one, so the list costs
    little beyond the bytes it holds.  Only short pieces are copied again."""
    start = len(buffer) - 1
    while start and len(buffer[start - 1]) < _MERGED_PIECE:
        start -= 1
    if start < len(buffer) - 1:
        buffer[start:] = [b"\n".join(buffer[start:])]


def _removeprefix_38(line: bytes, prefix: bytes) -> bytes:
    """bytes.removeprefix before Python 3.9: the line itself when it does not
    start with the prefix."""
    if line[: len(prefix)] == prefix:
        return line[len(prefix) :]
    return line


def _keeps_identity(removeprefix: Callable[[bytes, bytes], bytes]) -> bool:
    """Whether ``removeprefix`` returns the line itself when the prefix is
    not there, as CPython's and PyPy's ``bytes.removeprefix`` do (the
    language does not promise it)."""
    line = bytes(bytearray(b"id: 1"))  # a new object, not a shared constant
    return removeprefix(line, b"data: ") is line


#: ``line[len(prefix):]`` if the line starts with the prefix, else the line
#: itself (the same object, so ``is`` tells the two apart).
_removeprefix: Callable[[bytes, bytes], bytes] = _removeprefix_38
if sys.version_info >= (3, 9) and _keeps_identity(bytes.removeprefix):  # pragma: no branch
    _removeprefix = bytes.removeprefix


def _add_lines(lines: List[bytes], data: bytes, start: int, end: int) -> None:
    """Append the lines of ``data[start:end]``, which ends with an LF.

    Long lines are found with ``bytes.find`` one at a time; at the first short
    line that is not blank, one ``bytes.split`` takes the rest, since its C
    loop is faster for short lines.
    """
    find = data.find
    append = lines.append
    while start < end:
        line_end = find(b"\n", start)
        if line_end - start < _LONG_LINE and line_end != start:
            rest = data[start:end].split(b"\n")
            rest.pop()  # the empty string after the last LF
            lines += rest
            return
        append(data[start:line_end])
        start = line_end + 1
