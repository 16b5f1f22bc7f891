# SPDX-License-Identifier: MIT
"""The decoders: the WHATWG "interpret an event stream" algorithm, incrementally.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

:class:`Decoder` takes bytes, :class:`TextDecoder` takes already-decoded text;
both return the events that each chunk completes, for any chunking.

Theory of operation
-------------------
Bytes are decoded to text as they arrive (``codecs.utf_8_decode`` with
``final=False`` keeps a split multi-byte sequence for the next chunk).  CR and
LF never occur inside a UTF-8 sequence, so decoding before splitting lines
gives the same text as the spec's decode-then-parse, and all later work is on
``str``, one decode call per chunk rather than one per line or event.

The three line endings are equivalent and CR cannot appear in any field, so
each chunk is normalised to LF only (``str.replace``, in C).  A CR that ends a
chunk is remembered in ``_skip_lf``: an LF that starts the next chunk belongs to
the same line ending.

Normalised text is then cut at blank lines with ``str.split("\\n\\n")``.  Every
piece but the last is followed by a blank line, i.e. by a dispatch.  Most such
pieces are a single ``data: ...`` line (an LLM token, a JSON message) or a lone
comment (a heartbeat), and are handled without splitting them further: this is
the fast path, and the reason the decoder is fast.  Any other piece goes
through the line-by-line rules in :meth:`_DecoderBase._process_lines`.  The last
piece holds the complete lines of an event still in progress, processed at once
(so ``retry`` and ``id`` take effect as soon as their line ends, as in the
spec), and after its last LF an incomplete line, kept in ``_tail``.

``_tail`` is a list of pieces joined only when a line ending arrives, so a
huge line fed in tiny chunks costs linear time, and no complete line is ever
scanned twice.

Limits
------
One number, ``max_event_size`` (characters), bounds both the length of any
line and the size of an event's data buffer (each data line plus its LF).  Both
are properties of the stream, not of its chunking, so the same input fails at
the same event however it is fed.  A chunk whose processing breaks the limit
still returns the events completed before the offending one; the error is then
raised by the next call to ``feed()`` or ``close()`` (at once if there were
none), and the decoder stays failed.
"""

from __future__ import annotations

import codecs
import sys
from typing import List, NoReturn, Optional, Union

from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import Event

__all__ = ("Decoder", "TextDecoder", "DEFAULT_MAX_EVENT_SIZE")

#: Default bound, in characters, on one line and on one event's data.
#: Real streams send events of bytes to a few hundred kilobytes (LLM tokens,
#: JSON documents); 16 MiB leaves room for large payloads such as inline images
#: while keeping a hostile stream from holding more than ~64 MB of text
#: (4 bytes a character at worst) per decoder.
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

# Significant digits beyond which a retry value is ignored: CPython 3.11+
# refuses int() on longer strings, and converting them is quadratic anyway.
_MAX_RETRY_DIGITS = 4300

_utf8_decode = codecs.utf_8_decode
_tuple_new = tuple.__new__

_BytesLike = Union[bytes, bytearray, memoryview]


class _DecoderBase:
    """State and rules shared by :class:`Decoder` and :class:`TextDecoder`."""

    __slots__ = (
        "_limit",
        "_max_event_size",
        "_tail",
        "_tail_size",
        "_at_start",
        "_skip_lf",
        "_data",
        "_data_size",
        "_event_type",
        "_event_retry",
        "_id_buffer",
        "_in_event",
        "_last_event_id",
        "_retry",
        "_unusable",
        "_closed",
        "_error",
        "_error_raised",
        "_truncated",
    )

    def __init__(
        self,
        *,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
        last_event_id: str = "",
    ) -> None:
        if max_event_size is not None and (
            type(max_event_size) is not int or max_event_size < 1
        ):
            raise ValueError(
                f"max_event_size must be a positive int or None, got {max_event_size!r}"
            )
        if type(last_event_id) is not str or any(c in last_event_id for c in "\r\n\0"):
            raise ValueError("last_event_id must be a str without CR, LF or NUL")
        self._max_event_size = max_event_size
        self._limit = sys.maxsize if max_event_size is None else max_event_size
        # The incomplete line, in pieces; joined when its line ending arrives.
        self._tail: List[str] = []
        self._tail_size = 0
        self._at_start = True  # a leading BOM is still to be stripped
        self._skip_lf = False  # the last chunk ended with CR
        # The spec's buffers for the event being built.
        self._data: List[str] = []
        self._data_size = 0
        self._event_type = ""
        self._event_retry: Optional[int] = None
        self._id_buffer = last_event_id
        # True once a field of the event being built was seen: the fast path
        # only handles events that start from clean buffers.
        self._in_event = False
        self._last_event_id = last_event_id
        self._retry: Optional[int] = None
        self._unusable = False  # closed or failed: one flag for the hot path
        self._closed = False
        self._error: Optional[RemoteProtocolError] = None
        self._error_raised = False
        self._truncated = False

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
        """True if :meth:`close` discarded an incomplete event or line.

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
        self._closed = True
        self._unusable = True
        error = self._error
        if error is None:
            if self._tail or self._in_event or self._has_pending_input():
                self._truncated = True
        self._clear_buffers()
        if error is not None and not self._error_raised:
            self._error_raised = True
            raise error
        return []

    # -- internals -------------------------------------------------------

    def _has_pending_input(self) -> bool:
        return False

    def _clear_buffers(self) -> None:
        self._tail = []
        self._tail_size = 0
        self._data = []
        self._data_size = 0
        self._event_type = ""
        self._event_retry = None
        self._in_event = False

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
        raise LocalProtocolError("feed() called after close()")

    def _line_too_long(self) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"a line of the event stream is longer than max_event_size"
            f" ({self._limit} characters)",
            limit=self._limit,
        )

    def _feed_text(self, text: str) -> List[Event]:
        """Run the algorithm over newly decoded text."""
        if self._at_start and text:
            self._at_start = False
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored."
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            # "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A
            # LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF)
            # character, or a single U+000D CARRIAGE RETURN (CR) character."
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            if text:
                self._tail.append(text)
                self._tail_size += len(text)
                if self._tail_size > self._limit:
                    error = self._line_too_long()
                    self._fail(error)
                    self._error_raised = True
                    raise error
            return []
        if self._tail:
            self._tail.append(text)
            text = "".join(self._tail)
            self._tail = []
            self._tail_size = 0
        events: List[Event] = []
        try:
            self._process(text, events)
        except RemoteProtocolError as error:
            self._fail(error)
            if events:
                return events
            self._error_raised = True
            raise
        return events

    def _fail(self, error: RemoteProtocolError) -> None:
        self._error = error
        self._unusable = True
        self._clear_buffers()

    def _process(self, text: str, events: List[Event]) -> None:
        """Process LF-normalised text that starts at a line start."""
        limit = self._limit
        blocks = text.split("\n\n")
        last = blocks.pop()
        if blocks:
            if self._in_event:
                # The first block ends the event the previous chunk began.
                self._process_lines(blocks[0], events)
                self._dispatch(events)
                del blocks[0]
            last_event_id = self._last_event_id
            append = events.append
            for block in blocks:
                if block[:6] == "data: " and "\n" not in block:
                    # Fast path: an event made of one data line.
                    if len(block) > limit:
                        raise self._line_too_long()
                    append(_tuple_new(Event, (block[6:], "message", last_event_id, None)))
                elif block[:1] == ":" and "\n" not in block:
                    # Fast path: a lone comment, such as a heartbeat.
                    if len(block) > limit:
                        raise self._line_too_long()
                else:
                    self._process_lines(block, events)
                    self._dispatch(events)
                    last_event_id = self._last_event_id
        end = last.rfind("\n")
        if end >= 0:
            self._process_lines(last[:end], events)
            last = last[end + 1 :]
        if last:
            if len(last) > limit:
                raise self._line_too_long()
            self._tail = [last]
            self._tail_size = len(last)

    def _process_lines(self, block: str, events: List[Event]) -> None:
        """Apply the spec's per-line rules to complete lines joined by LF."""
        limit = self._limit
        for line in block.split("\n"):
            if not line:
                # "If the line is empty (a blank line): Dispatch the event."
                self._dispatch(events)
                continue
            if len(line) > limit:
                raise self._line_too_long()
            colon = line.find(":")
            if colon == 0:
                # "If the line starts with a U+003A COLON character (:)": a comment.
                continue
            if colon > 0:
                # "Collect the characters on the line before the first U+003A
                # COLON character (:) ... after the first colon. If value starts
                # with a U+0020 SPACE character, remove it from value."
                field = line[:colon]
                value = line[colon + 1 :]
                if value[:1] == " ":
                    value = value[1:]
            else:
                # "using the whole line as the field name, and the empty string
                # as the field value."
                field = line
                value = ""
            if field == "data":
                # "Append the field value to the data buffer, then append a
                # single U+000A LINE FEED (LF) character to the data buffer."
                self._data_size += len(value) + 1
                if self._data_size > limit:
                    raise RemoteProtocolError(
                        f"an event's data is larger than max_event_size"
                        f" ({limit} characters)",
                        limit=limit,
                    )
                self._data.append(value)
                self._in_event = True
            elif field == "event":
                # "Set the event type buffer to field value."
                self._event_type = value
                self._in_event = True
            elif field == "id":
                # "If the field value does not contain U+0000 NULL, then set the
                # last event ID buffer to the field value. Otherwise, ignore."
                if "\0" not in value:
                    self._id_buffer = value
                    self._in_event = True
            elif field == "retry":
                # "If the field value consists of only ASCII digits, then
                # interpret the field value as an integer in base ten, and set
                # the event stream's reconnection time to that integer.
                # Otherwise, ignore the field."
                if value.isdigit() and value.isascii():
                    digits = value.lstrip("0") or "0"
                    if len(digits) <= _MAX_RETRY_DIGITS:
                        self._retry = self._event_retry = int(digits)
                        self._in_event = True
            # "Otherwise: The field is ignored."

    def _dispatch(self, events: List[Event]) -> None:
        """The spec's "dispatch the event" steps, for a blank line."""
        # "Set the last event ID string of the event source to the value of
        # the last event ID buffer."
        last_event_id = self._last_event_id = self._id_buffer
        if self._data:
            # "If the data buffer's last character is a U+000A LINE FEED (LF)
            # character, then remove the last character from the data buffer."
            # Joining the lines with LF leaves that last LF out.
            events.append(
                _tuple_new(
                    Event,
                    (
                        "\n".join(self._data),
                        self._event_type or "message",
                        last_event_id,
                        self._event_retry,
                    ),
                )
            )
            self._data = []
            self._data_size = 0
        # "If the data buffer is an empty string, set the data buffer and the
        # event type buffer to the empty string and return."
        self._event_type = ""
        self._event_retry = None
        self._in_event = False


class Decoder(_DecoderBase):
    """Incremental decoder for a ``text/event-stream`` byte stream.

    Feed it the bytes of the response body as they arrive, in chunks of any
    size; it returns the events each chunk completes.  ``feed`` mutates the
    decoder's state; a decoder serves one stream (one HTTP response).

    Args:
        max_event_size: bound, in characters, on the length of any line and on
            the size of one event's data; ``None`` disables it.  See
            :data:`DEFAULT_MAX_EVENT_SIZE`.
        last_event_id: the last event ID to start from, e.g. when a client
            reconnects with ``Last-Event-ID``.  Events without an ``id`` field
            report it until the stream sets another.

    Example::

        decoder = Decoder()
        for chunk in response_chunks:
            for event in decoder.feed(chunk):
                handle(event)
        decoder.close()
    """

    __slots__ = ("_pending_bytes",)

    def __init__(
        self,
        *,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
        last_event_id: str = "",
    ) -> None:
        super().__init__(max_event_size=max_event_size, last_event_id=last_event_id)
        self._pending_bytes = b""  # an incomplete UTF-8 sequence

    def feed(self, data: _BytesLike) -> List[Event]:
        """Process a chunk of the stream.

        Args:
            data: the next bytes of the stream; ``b""`` is allowed and does
                nothing (end of stream is :meth:`close`, not an empty chunk).
                Invalid UTF-8 decodes to U+FFFD, as the spec requires.

        Returns:
            The events this chunk completed, in stream order (often none).

        Raises:
            RemoteProtocolError: a line or an event's data exceeded
                ``max_event_size``.  Events completed before the offending one
                are returned first, and the error is raised by the next call.
                The decoder is then failed for good.
            LocalProtocolError: the decoder was closed.
        """
        if self._unusable:
            self._refuse()
        if self._pending_bytes:
            data = self._pending_bytes + data
        text, used = _utf8_decode(data, "replace", False)
        self._pending_bytes = bytes(data[used:]) if used < len(data) else b""
        return self._feed_text(text)

    def _has_pending_input(self) -> bool:
        return bool(self._pending_bytes)

    def _clear_buffers(self) -> None:
        super()._clear_buffers()
        self._pending_bytes = b""


class TextDecoder(_DecoderBase):
    """Incremental decoder for an event stream that is already text.

    For transports that hand over ``str`` (a WebSocket-like bridge, a test, a
    file opened in text mode with ``newline=""``).  Same rules, arguments and
    errors as :class:`Decoder`; a leading U+FEFF is stripped.
    """

    __slots__ = ()

    def feed(self, text: str) -> List[Event]:
        """Process a chunk of the stream; see :meth:`Decoder.feed`.

        Raises:
            TypeError: ``text`` is not a ``str``.
        """
        if self._unusable:
            self._refuse()
        if type(text) is not str:
            raise TypeError(f"TextDecoder.feed() takes str, not {type(text).__name__}")
        return self._feed_text(text)
