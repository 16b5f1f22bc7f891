# SPDX-License-Identifier: MIT
"""The decoders: the WHATWG "interpret an event stream" algorithm, incrementally.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

:class:`Decoder` takes bytes, :class:`TextDecoder` takes already-decoded text
(it encodes it to UTF-8 and shares the same code); both return the events each
chunk completes, for any chunking.

Theory of operation
-------------------
Lines are split on bytes and only field values are decoded, with "replace"
so that invalid bytes become U+FFFD.  CR and LF never occur inside a UTF-8
sequence, so decoding each value gives the same text as the spec's
decode-then-parse; working on bytes keeps one wide character (an
emoji in an LLM token) from widening a whole chunk, and an event's data is
decoded once, when it is dispatched.

A chunk with no CR or LF only extends the incomplete line: it is appended to
``_tail``, a bytearray (amortised constant time, and one byte of memory per
byte however small the chunks), so a huge line fed in tiny chunks costs linear
time and no complete line is scanned twice.

The three line endings are equivalent and CR can never appear inside a field.
They are exactly the line boundaries of ``bytes.splitlines``, which cuts a chunk
at all three in one C pass, whatever the mix.  A CR that ends a chunk sets
``_skip_lf``: an LF that starts the next chunk ends the same line.

:meth:`Decoder.iter_events` runs the same rules in a generator that keeps the
state of the stream in local variables while it runs and yields each event as
its blank line is read; with small chunks, loading and storing that state for
every chunk, as ``feed`` must, is a quarter of the work.

Complete lines are cut with ``bytes.splitlines`` when they are short, or one
``bytes.find`` (memchr) at a time when they are long, where the C loop would be
the slower (a long line holding a CR is normalised to LF first).  The per-line
rules then run in one loop with the event being built in local variables:

* A line's first byte picks its rule; ``bytes.removeprefix`` then tests a field
  name spelled the common way (``data: ``, ``id: ``) and cuts its value in one
  call, returning the line itself when the name is not there.  Anything else
  takes the general rules.
* The event types of ``event: `` lines are remembered by line (a stream uses a
  few), so a repeated one costs a dictionary look-up, not a test and a decode.
* The commonest event, a single ``data: ...`` line and a blank line, never
  builds a list: the loop holds the value in ``single`` until the blank line
  turns it into an :class:`Event`.  Until a field other than data is set, the
  dispatch needs no look at the other buffers.
* Values are decoded strictly first, which is faster, and again with
  replacement only if that fails.

Limits
------
One number, ``max_event_size``, bounds the length of every line and the size
of an event's data buffer (each data line plus its LF), both in bytes of the
UTF-8 stream.  Both are properties of the stream, not of its chunking, so the
same input fails at the same event however it is fed.  Text handed to the line
loop is never longer than the limit (longer text is cut at line ends first), so
the loop checks only the data buffer.  A chunk gives an event no more data than
its own length, so the decoder keeps a bound on the open event's size (its size
or bound at the chunk's start plus the chunk's length) and counts it exactly,
line by line, only in a chunk that might take it past the limit.  A chunk that
breaks the limit still returns the events
completed before the offending one; the error is then raised by the next call
to ``feed()`` or ``close()`` (at once if there were no such events), and the
decoder stays failed.
"""

from __future__ import annotations

import sys
import weakref
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Generator,
    Iterable,
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
# iter_events also ends a long line held back from earlier chunks in its
# bytearray when the chunk that ends it is at most this long, and slices the
# value out without copying it; a larger chunk is joined to the line as feed()
# does (measured with large JSON events: in place is faster for small chunks,
# and no faster for large ones, where the copies are a smaller share).
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


class _DecoderBase:
    """State and rules shared by :class:`Decoder` and :class:`TextDecoder`."""

    __slots__ = (
        "_at_start",
        "_closed",
        "_data",
        "_data_size",
        "_error",
        "_error_raised",
        "_event_retry",
        "_event_type",
        "_fields",
        "_id_buffer",
        "_kinds",
        "_last_event_id",
        "_limit",
        "_max_event_size",
        "_reader",
        "_retry",
        "_size_exact",
        "_skip_lf",
        "_special",
        "_tail",
        "_truncated",
        "_unusable",
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
        self._limit = sys.maxsize if max_event_size is None else max_event_size
        # The incomplete line, until its line ending arrives.
        self._tail = bytearray()
        self._at_start = True  # a leading BOM is still to be stripped
        self._skip_lf = False  # the last chunk ended with CR
        # True when the next chunk cannot take feed()'s fast path: at the
        # start, after a CR, closed or failed, or held by an iterator.
        self._special = True
        # The spec's buffers for the event being built.
        self._data: List[bytes] = []
        # The size of _data as the spec counts it (lines plus LFs), or a bound
        # on it when not _size_exact.
        self._data_size = 0
        self._size_exact = True
        self._event_type = ""
        self._event_retry: Optional[int] = None
        self._id_buffer = last_event_id
        self._fields = False  # a field other than data set since the last dispatch
        # The event types of the "event: " lines seen, by line: a stream uses
        # few, and a dictionary look-up is cheaper than testing and decoding.
        self._kinds: Dict[bytes, str] = {}
        self._last_event_id = last_event_id
        self._retry: Optional[int] = None
        self._unusable = False  # closed or failed
        self._closed = False
        self._error: Optional[RemoteProtocolError] = None
        self._error_raised = False
        self._truncated = False
        # A weak reference to the iterator from iter_events() that holds the
        # decoder, if any.
        self._reader: Optional[Callable[[], Optional[Generator[Event, None, None]]]] = None

    @property
    def last_event_id(self) -> str:
        """The last event ID string: set at each dispatch, ``""`` until then.

        As in a browser, it is updated when a blank line ends an event, even an
        event with no data, and persists for the rest of the stream.
        """
        return self._last_event_id

    @property
    def retry(self) -> Optional[int]:
        """The reconnection time in milliseconds from the last valid ``retry``
        field, or ``None`` if there was none.  Takes effect as soon as the
        ``retry`` line ends, as in the spec."""
        return self._retry

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
        iterator from :meth:`iter_events` was stopped before its chunks ended.

        The spec discards whatever follows the last blank line at end of
        stream; this flag tells a caller that the stream was cut mid-event.
        """
        return self._truncated

    def close(self) -> List[Event]:
        """Mark the end of the stream.

        Discards an incomplete event, as the spec requires, and records that in
        :attr:`truncated`.  Calling it again does nothing.

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
            iterator = reader()
            if iterator is not None:
                iterator.close()  # an iterator that ends closes the decoder
        if self._error is None and not self._closed:
            self._truncated = bool(self._tail or self._data or self._fields)
        self._closed = True
        self._unusable = self._special = True
        self._clear_buffers()
        error = self._error
        if error is not None and not self._error_raised:
            self._error_raised = True
            raise error
        return []

    def iter_events(self, chunks: Iterable[_BytesLike]) -> Generator[Event, None, None]:
        """Decode a whole stream given as an iterable of chunks, lazily.

        The same events and errors as calling :meth:`feed` on each chunk and
        :meth:`close` at the end, and faster: while the iterator runs, the
        decoder's state lives in it, and each event is yielded as soon as its
        blank line is read.  So :attr:`last_event_id` and :attr:`retry` are
        always those of the last event taken.

        The iterator holds the decoder from this call until it ends.  In the
        meantime :meth:`feed` and another ``iter_events`` raise
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
        if self._special:
            self._check_usable()
        iterator = self._run(chunks)
        # A weak reference: an iterator dropped unstarted frees the decoder.
        self._reader = weakref.ref(iterator)
        self._special = True  # feed() takes the path that refuses
        return iterator

    # -- internals -------------------------------------------------------

    def _clear_buffers(self) -> None:
        self._tail = bytearray()
        self._data = []
        self._data_size = 0
        self._size_exact = True
        self._event_type = ""
        self._event_retry = None
        self._fields = False

    def _check_usable(self) -> None:
        """Raise if the decoder is closed, failed or held by an iterator."""
        if self._unusable:
            self._refuse()
        reader = self._reader
        if reader is not None:
            iterator = reader()
            # gi_frame is None once it has ended, or was closed unstarted.
            if iterator is not None and iterator.gi_frame is not None:
                raise LocalProtocolError(
                    "the decoder is held by an iterator from iter_events() until that ends"
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

    def _fail(self, error: RemoteProtocolError, raise_now: bool) -> None:
        """Enter the failed state; raise ``error`` now if ``raise_now``
        (else the next call raises it)."""
        self._error = error
        self._unusable = self._special = True
        self._clear_buffers()
        if raise_now:
            self._error_raised = True
            raise error

    def _line_too_long(self) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"a line of the event stream is longer than max_event_size ({self._limit} bytes)",
            limit=self._limit,
        )

    def _data_too_large(self) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"an event's data is larger than max_event_size ({self._limit} bytes)",
            limit=self._limit,
        )

    def _other_field(
        self, line: bytes, event_type: str, id_buffer: str, event_retry: Optional[int]
    ) -> Union[bytes, _Buffers, None]:
        """The general rules for a line that is no comment, not blank and not
        spelled ``data: ``, ``id: `` or ``event: ``, given the event type, last
        event ID and retry buffers (the loops keep them in local variables).

        Returns:
            The value of a ``data`` field; else the three buffers, one of them
            set by the line; None if the line was ignored.
        """
        # "If the line contains a U+003A COLON character (:) Collect the
        # characters on the line before the first U+003A COLON character (:),
        # and let field be that string. Collect the characters on the line
        # after the first U+003A COLON character (:), and let value be that
        # string. If value starts with a U+0020 SPACE character, remove it from
        # value."  Otherwise the whole line is the field name and the value is
        # empty.
        field, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            return value
        if field == b"id":
            # "If the field value does not contain U+0000 NULL, then set the
            # last event ID buffer to the field value. Otherwise, ignore the
            # field."
            if 0 in value:  # NUL
                return None
            return event_type, value.decode("utf-8", "replace"), event_retry
        if field == b"event":
            # "Set the event type buffer to field value."
            return value.decode("utf-8", "replace"), id_buffer, event_retry
        if field == b"retry":
            # "If the field value consists of only ASCII digits, then interpret
            # the field value as an integer in base ten, and set the event
            # stream's reconnection time to that integer. Otherwise, ignore the
            # field."  (bytes.isdigit is true for ASCII digits only.)
            if not value.isdigit():
                return None
            digits = value.lstrip(b"0") or b"0"
            if len(digits) > MAX_RETRY_DIGITS:
                return None
            self._retry = int(digits)
            return event_type, id_buffer, self._retry
        # "Otherwise: The field is ignored."
        return None

    def _event_field(self, line: bytes) -> Optional[str]:
        """The event type an ``event: `` line sets, remembered for the next
        time (for a few short lines); None if the line is something else."""
        value = _removeprefix(line, b"event: ")
        if value is line:
            return None
        kind = value.decode("utf-8", "replace")
        if len(self._kinds) < _KINDS_KEPT and len(line) <= _KIND_LINE_KEPT:
            self._kinds[line] = kind
        return kind

    def _feed_bytes(self, data: _BytesLike) -> List[Event]:
        """Process a chunk of the stream (``Decoder.feed``).

        One method runs the whole algorithm: with small chunks, a call costs
        as much as a chunk's work.
        """
        if self._special or type(data) is not bytes:
            if self._special:
                self._check_usable()
            data = self._prepare(data)
            self._special = self._skip_lf or self._at_start
            if not data:  # also when _prepare holds the start of a BOM in _tail
                return []
        tail = self._tail
        if 10 not in data and 13 not in data:  # no LF, no CR
            # The middle of a line: keep it.  Most chunks, when chunks are small.
            tail += data
            if len(tail) > self._limit:
                self._fail(self._line_too_long(), True)
            return []
        if tail:  # never holds a CR or an LF
            data = b"".join((tail, data))  # one copy, not two
            tail.clear()
        limit = self._limit
        events: List[Event] = []
        append = events.append
        deferred: Optional[RemoteProtocolError] = None
        big = False
        if (len(data) <= _SMALL_CHUNK or data.find(b"\n") < _LONG_LINE) and len(data) <= limit:
            # The common case: short lines, within the limit.  "Lines must be
            # separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED
            # (CRLF) character pair, a single U+000A LINE FEED (LF) character,
            # or a single U+000D CARRIAGE RETURN (CR) character": exactly the
            # line boundaries of bytes.splitlines, which cuts at all three in
            # one pass, as fast as split(b"\n") on LF alone.
            lines = data.splitlines()
            last = data[-1]
            if last == _LF:
                rest = b""
            elif last == _CR:
                rest = b""
                # The next chunk may start with the LF of this CRLF.
                self._skip_lf = self._special = True
            else:
                rest = lines.pop()  # after the last line ending: an incomplete line
        else:
            if data[-1] == _CR:
                self._skip_lf = self._special = True
            lines, deferred, big = self._split_special(data)
            rest = lines.pop()  # after the last line ending: an incomplete line

        # The per-line rules, with the spec's buffers in local variables (see
        # _run for what they hold).  Between calls the data lines are all in
        # self._data.
        buffer = self._data
        single: Optional[bytes] = None
        fields = self._fields
        event_type = self._event_type
        id_buffer = self._id_buffer
        event_retry = self._event_retry
        last_event_id = self._last_event_id
        size = self._data_size
        check = big or (size and size + len(data) > limit)
        if check and not self._size_exact:
            size = _size(buffer)
        kinds = self._kinds
        removeprefix = _removeprefix
        try:
            try:
                for line in lines:
                    if not line:
                        # "If the line is empty (a blank line): Dispatch the
                        # event."  The data is the buffer's lines joined by
                        # LFs: "If the data buffer's last character is a U+000A
                        # LINE FEED (LF) character, then remove the last
                        # character from the data buffer."
                        if buffer:
                            value = b"\n".join(buffer)
                            buffer = []
                            check = big
                        elif single is not None:
                            value = single
                            single = None
                        else:
                            if fields:
                                # The last event ID is set as below, then "If
                                # the data buffer is an empty string, set the
                                # data buffer and the event type buffer to the
                                # empty string and return."
                                last_event_id = self._last_event_id = id_buffer
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
                            # "Set the last event ID string of the event source
                            # to the value of the last event ID buffer."  With
                            # no field since the last dispatch, they are equal,
                            # and the other buffers are empty.
                            last_event_id = self._last_event_id = id_buffer
                            event = _tuple_new(
                                Event, (text, event_type or "message", last_event_id, event_retry)
                            )
                            event_type = ""
                            event_retry = None
                            fields = False
                        else:
                            event = _tuple_new(Event, (text, "message", last_event_id, None))
                        append(event)
                        continue
                    # The first byte spares most lines a comparison: comments
                    # (heartbeats) and fields other than data.  removeprefix
                    # tests a name and cuts the value in one call; it returns
                    # the line itself when the name is not there.
                    first = line[0]
                    if first != 100 or (value := removeprefix(line, b"data: ")) is line:
                        if first == 58:  # ":"
                            # "If the line starts with a U+003A COLON character
                            # (:) Ignore the line."
                            continue
                        # The commonest fields, spelled the common way, skip the
                        # general rules below; they do what those would do.
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
                            or (kind := self._event_field(line)) is not None
                        ):
                            event_type = kind  # the few types a stream uses, decoded once
                            fields = True
                            continue
                        other = self._other_field(line, event_type, id_buffer, event_retry)
                        if other is None:
                            continue
                        if isinstance(other, tuple):
                            event_type, id_buffer, event_retry = other
                            fields = True
                            continue
                        value = other
                    # "data": "Append the field value to the data buffer, then
                    # append a single U+000A LINE FEED (LF) character to the
                    # data buffer."  The LFs are added by the join at dispatch.
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
                            raise self._data_too_large()
            finally:
                if single is not None:
                    buffer.append(single)  # to an empty buffer
                self._data = buffer
                self._fields = fields
                self._event_type = event_type
                self._id_buffer = id_buffer
                self._event_retry = event_retry
            if deferred is not None:
                raise deferred
            # As at the end of a chunk in _run.
            if buffer:
                if not check:
                    size += len(data)
                self._data_size = size
                self._size_exact = bool(check)
                if len(buffer) > _FEW_PIECES:
                    _merge_pieces(buffer)
            elif self._data_size:
                self._data_size = 0
                self._size_exact = True
            if rest:  # within the limit: _cut_lines checks the longer text
                tail += rest
        except RemoteProtocolError as error:
            # Events before the offending one are returned; the next call raises.
            self._fail(error, not events)
        return events

    def _run(self, chunks: Iterable[_BytesLike]) -> Generator[Event, None, None]:
        """The iterator of :meth:`iter_events`: the rules of :meth:`feed`,
        over the whole stream, yielding each event when its blank line is read.

        The state of the stream lives in local variables while it runs, not in
        the decoder's attributes: loading and storing them for every chunk, as
        ``feed`` must, and gathering each chunk's events in a list, cost a
        quarter of the time with small chunks.  Only ``last_event_id`` and
        ``retry`` are kept on the decoder as they change.  The price is the
        line loop twice over, here and in :meth:`_feed_bytes`; the rarer rules
        are shared (:meth:`_prepare`, :meth:`_split_special`,
        :meth:`_other_field`, :meth:`_event_field`, :func:`_merge_pieces`).
        """
        tail = self._tail  # never holds a CR or an LF
        limit = self._limit
        small = min(limit, _SMALL_CHUNK)  # feed()'s two bounds on a text, taken once
        skip_lf = self._skip_lf
        special = skip_lf or self._at_start  # the next chunk goes through _prepare
        # The spec's data buffer: its first line alone in `single` while it
        # has one (most events have one: no list to build and join), then
        # all of its lines in `buffer`.
        single: Optional[bytes] = None
        buffer = self._data
        # Whether a field other than data was set since the last dispatch:
        # until then the other buffers need no look at dispatch.
        fields = self._fields
        event_type = self._event_type
        id_buffer = self._id_buffer
        event_retry = self._event_retry
        last_event_id = self._last_event_id
        # The open event's data size as the spec counts it (lines plus LFs),
        # or when not `exact` a bound on it.  A chunk gives an event no more
        # data than its own length, so only a chunk that might take the event
        # past the limit needs the size counted exactly and then kept line by
        # line; either way the error comes at the same line.
        size = self._data_size
        exact = self._size_exact
        kinds = self._kinds
        removeprefix = _removeprefix
        stopped = True  # by an exception or the consumer, until the loop ends
        try:
            for data in chunks:
                if special or type(data) is not bytes:
                    self._skip_lf = skip_lf
                    data = self._prepare(data)
                    skip_lf = self._skip_lf
                    special = skip_lf or self._at_start
                    if not data:  # also when _prepare holds the start of a BOM
                        continue
                if 10 not in data and 13 not in data:  # no LF, no CR
                    # The middle of a line: keep it.
                    tail += data
                    if len(tail) > limit:
                        raise self._line_too_long()
                    continue
                # The chunk is over the limit, or ends a long data line held
                # from earlier chunks (below): then its data is counted line
                # by line.
                big = False
                if tail:
                    if (
                        len(tail) < _LONG_LINE
                        or len(data) > _SMALL_CHUNK
                        or single is not None
                        or buffer
                        or fields
                        or tail[:6] != b"data: "
                    ):
                        data = b"".join((tail, data))  # one copy, not two
                        tail.clear()
                    else:
                        # A long data line ends in this small chunk (a large
                        # JSON event in small chunks): end it in its bytearray,
                        # which becomes the value (deleting its start is O(1)),
                        # rather than copy it into the chunk to cut it again.
                        # It serves as bytes: it is only measured and decoded.
                        end = data.find(b"\n")
                        if end < 0:
                            end = len(data)
                        cr = data.find(b"\r", 0, end)
                        if cr >= 0:
                            end = cr
                        tail += data[:end]
                        if len(tail) > limit:
                            raise self._line_too_long()
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
                                raise self._line_too_long()
                            continue
                deferred: Optional[RemoteProtocolError] = None
                if len(data) <= small or (len(data) <= limit and data.find(b"\n") < _LONG_LINE):
                    # The common case: short lines, within the limit.  "Lines
                    # must be separated by either a U+000D CARRIAGE RETURN
                    # U+000A LINE FEED (CRLF) character pair, a single U+000A
                    # LINE FEED (LF) character, or a single U+000D CARRIAGE
                    # RETURN (CR) character": exactly the line boundaries of
                    # bytes.splitlines, which cuts at all three in one pass,
                    # as fast as split(b"\n") on LF alone.
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
                    lines, deferred, over = self._split_special(data)
                    big = big or over
                    rest = lines.pop()
                check = big or (size and size + len(data) > limit)
                if check and not exact:
                    size = len(single) + 1 if single is not None else _size(buffer)
                    exact = True
                for line in lines:
                    if not line:
                        # "If the line is empty (a blank line): Dispatch the
                        # event."  The data is the buffer's lines joined by
                        # LFs: "If the data buffer's last character is a U+000A
                        # LINE FEED (LF) character, then remove the last
                        # character from the data buffer."
                        if buffer:
                            value = b"\n".join(buffer)
                            buffer = []
                            check = big
                        elif single is not None:
                            value = single
                            single = None
                        else:
                            if fields:
                                # The last event ID is set as below, then "If
                                # the data buffer is an empty string, set the
                                # data buffer and the event type buffer to the
                                # empty string and return."
                                last_event_id = self._last_event_id = id_buffer
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
                            # "Set the last event ID string of the event source
                            # to the value of the last event ID buffer."  With
                            # no field since the last dispatch, they are equal,
                            # and the other buffers are empty.
                            last_event_id = self._last_event_id = id_buffer
                            event = _tuple_new(
                                Event, (text, event_type or "message", last_event_id, event_retry)
                            )
                            event_type = ""
                            event_retry = None
                            fields = False
                        else:
                            event = _tuple_new(Event, (text, "message", last_event_id, None))
                        yield event
                        continue
                    # The first byte spares most lines a comparison: comments
                    # (heartbeats) and fields other than data.  removeprefix
                    # tests a name and cuts the value in one call; it returns
                    # the line itself when the name is not there.
                    first = line[0]
                    if first != 100 or (value := removeprefix(line, b"data: ")) is line:
                        if first == 58:  # ":"
                            # "If the line starts with a U+003A COLON character
                            # (:) Ignore the line."
                            continue
                        # The commonest fields, spelled the common way, skip the
                        # general rules below; they do what those would do.
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
                            or (kind := self._event_field(line)) is not None
                        ):
                            event_type = kind  # the few types a stream uses, decoded once
                            fields = True
                            continue
                        other = self._other_field(line, event_type, id_buffer, event_retry)
                        if other is None:
                            continue
                        if isinstance(other, tuple):
                            event_type, id_buffer, event_retry = other
                            fields = True
                            continue
                        value = other
                    # "data": "Append the field value to the data buffer, then
                    # append a single U+000A LINE FEED (LF) character to the
                    # data buffer."  The LFs are added by the join at dispatch.
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
                            raise self._data_too_large()
                if deferred is not None:
                    raise deferred
                # The open event's data size, and its lines kept few and large,
                # so the list costs little beyond the bytes it holds, however
                # the stream is chunked.
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
            stopped = False
        except RemoteProtocolError as error:
            self._fail(error, True)
        finally:
            self._reader = None
            if self._error is None:
                # However the iterator ends, the stream has ended for the
                # decoder: the iterator held all of its state.
                self._truncated = stopped or bool(tail or single is not None or buffer or fields)
                self._closed = self._unusable = True
                self._clear_buffers()

    def _prepare(self, data: _BytesLike) -> bytes:
        """A chunk that is not bytes, or comes in a special state, made ready
        for the line rules: as bytes, without a leading BOM or the LF of a CRLF
        split across chunks (``b""`` if nothing is left to process yet)."""
        if type(data) is not bytes:
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(
                    f"the decoder takes bytes, bytearray or memoryview, not {type(data).__name__}"
                )
            data = bytes(data)  # a copy: the caller may reuse its buffer
        if self._at_start:
            if self._tail:  # the start of a BOM, held back by the last call
                data = bytes(self._tail) + data
                self._tail.clear()
            if len(data) < 3 and _BOM.startswith(data):
                self._tail += data
                return b""
            self._at_start = False
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored if
            # any are present."
            if data[:3] == _BOM:
                data = data[3:]
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == _LF:
                data = data[1:]  # the LF of a CRLF split across chunks
        return data

    def _split_special(
        self, data: bytes
    ) -> Tuple[List[bytes], Optional[RemoteProtocolError], bool]:
        """Split a chunk that starts with a long line, or is longer than the
        limit, into lines.

        Returns:
            The lines as from ``bytes.split`` (the incomplete one last), an error
            to raise once they are processed (see :meth:`_cut_lines`), and
            whether the chunk was longer than the limit.
        """
        limit = self._limit
        if _CR in data:
            # The three line endings are equivalent: make them all LF.
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if len(data) <= limit and data.find(b"\n") < _LONG_LINE:
            return data.split(b"\n"), None, False
        lines, deferred = self._cut_lines(data)
        return lines, deferred, len(data) > limit

    def _cut_lines(self, data: bytes) -> Tuple[List[bytes], Optional[RemoteProtocolError]]:
        """Split LF-normalised bytes longer than the limit or starting with a
        long line.

        Long lines are found with ``bytes.find`` (memchr), faster than the split
        loop for them.  Bytes over the limit are cut into pieces of at most
        ``limit + 1`` bytes that end at a line end, so no line in a piece can
        be too long; a line that fits in no piece is.

        Returns:
            The lines (the incomplete one after the last LF last, as from
            ``bytes.split``), and the error for a line too long, raised once the
            lines before it are processed.
        """
        limit = self._limit
        end = data.rfind(b"\n") + 1
        lines: List[bytes] = []
        start = 0
        while start < end:
            cut = data.rfind(b"\n", start, start + limit + 1) + 1
            if not cut:
                lines.append(b"")  # stands in for the rest, which is discarded
                return lines, self._line_too_long()
            _add_lines(lines, data, start, cut)
            start = cut
        lines.append(data[end:])
        if len(data) - end > limit:
            return lines, self._line_too_long()
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


class Decoder(_DecoderBase):
    """Incremental decoder for a ``text/event-stream`` byte stream.

    Feed it the bytes of the response body as they arrive, in chunks of any
    size; it returns the events each chunk completes.  ``feed`` mutates the
    decoder's state; a decoder serves one stream (one HTTP response).

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
    """

    __slots__ = ()

    if TYPE_CHECKING:  # pragma: no cover - documents the alias below for mypy

        def feed(self, data: _BytesLike) -> List[Event]: ...

    else:
        # The base method itself, not a wrapper: one call less per chunk.
        feed = _DecoderBase._feed_bytes
        feed.__doc__ = """Process a chunk of the stream.

        Args:
            data: the next bytes of the stream (bytes, bytearray or memoryview;
                the decoder copies what it keeps).  ``b""`` is allowed and does
                nothing: end of stream is :meth:`close`, not an empty chunk.
                Invalid UTF-8 decodes to U+FFFD, as the spec requires.

        Returns:
            The events this chunk completed, in stream order (often none).

        Raises:
            RemoteProtocolError: a line or an event's data exceeded
                ``max_event_size``.  Events completed before the offending one
                are returned first, and the error is raised by the next call.
                The decoder is then failed for good.
            LocalProtocolError: the decoder was closed.
            TypeError: ``data`` is not bytes-like.
        """


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
        """Process a chunk of the stream; see :meth:`Decoder.feed`.

        Raises:
            TypeError: ``text`` is not a ``str``.
        """
        return self._feed_bytes(_utf8(text))

    def iter_events(self, chunks: Iterable[str]) -> Generator[Event, None, None]:  # type: ignore[override]
        """Decode a whole stream given as an iterable of ``str`` chunks, lazily;
        see :meth:`Decoder.iter_events`."""
        return super().iter_events(map(_utf8, chunks))


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8, a lone surrogate (which no UTF-8 stream can hold)
    as U+FFFD."""
    if type(text) is not str:
        raise TypeError(f"TextDecoder takes str, not {type(text).__name__}")
    try:
        return text.encode()
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text).encode()
