# SPDX-License-Identifier: MIT
"""The decoders: the WHATWG "interpret an event stream" algorithm, incrementally.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

:class:`Decoder` takes bytes, :class:`TextDecoder` takes already-decoded text;
both return the events that each chunk completes, for any chunking.

Theory of operation
-------------------
Each chunk is decoded to ``str`` as it arrives: CR and LF never occur inside a
UTF-8 sequence, so decoding before splitting lines gives the same text as the
spec's decode-then-parse, one C-level decode per chunk.  A chunk that ends
inside a multi-byte sequence takes the slow path (``codecs.utf_8_decode`` with
``final=False``), which keeps the partial sequence for the next chunk.

The three line endings are equivalent and CR can never appear inside a field,
so text is normalised to LF (``str.replace``, in C).  A CR that ends a chunk
sets ``_skip_lf``: an LF that starts the next chunk ends the same line.

Text up to the last LF is complete lines; what follows is an incomplete line,
kept in ``_tail`` as a list of pieces that is joined only when a line ending
arrives.  So a huge line fed in tiny chunks costs linear time, and no complete
line is ever scanned twice.

Complete lines are cut with ``str.split("\\n")`` when they are short, or one
``str.find`` (memchr) at a time when they are long, where the C split loop
would be the slower of the two.  The per-line rules then run in one loop with
the event's state in local variables.  The commonest event, a single
``data: ...`` line and a blank line, never builds a list: the loop holds the
value in ``single`` until the blank line turns it into an :class:`Event`.

Limits
------
One number, ``max_event_size``, bounds the length of every line (in
characters) and the size of an event's data buffer (each data line plus its
LF).  Both are properties of the decoded stream, not of its chunking, so the
same input fails at the same event however it is fed.  Text handed to the line
loop is never longer than the limit (longer text is cut at line ends first), so
the loop checks only the data buffer, and only when an event is dispatched or
left unfinished.  A chunk that breaks the limit still returns the events
completed before the offending one; the error is then raised by the next call
to ``feed()`` or ``close()`` (at once if there were no such events), and the
decoder stays failed.
"""

from __future__ import annotations

import codecs
import sys
from typing import List, NoReturn, Optional, Tuple, Union

from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import MAX_RETRY_DIGITS, Event

__all__ = ("DEFAULT_MAX_EVENT_SIZE", "Decoder", "TextDecoder")

#: Default bound, in characters, on one line and on one event's data.
#: Real streams send events of bytes to a few hundred kilobytes (LLM tokens,
#: JSON documents); 16 MiB leaves room for large payloads such as inline images
#: while keeping a hostile stream from holding more than ~64 MB of text
#: (4 bytes a character at worst) per decoder.
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024


# Lines at least this long are found with str.find (memchr) one at a time;
# shorter ones are cut by one str.split, whose C loop costs less per line but
# more per character (about 0.2 ns, against memchr's 0.01 ns).
_LONG_LINE = 512

# Memory: a str costs about 50 bytes beyond its characters, so the incomplete
# line and an open event's data lines are not kept as many tiny strings: a
# piece shorter than _SMALL_PIECE is appended to the last one while that is
# shorter than _MERGED_PIECE.  Each character is then copied a bounded number
# of times, and the overhead stays a fraction of the characters held.
_SMALL_PIECE = 32
_MERGED_PIECE = 128

_utf8_decode = codecs.utf_8_decode
_tuple_new = tuple.__new__

_BytesLike = Union[bytes, bytearray, memoryview]


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
        "_id_buffer",
        "_in_event",
        "_last_event_id",
        "_limit",
        "_max_event_size",
        "_pending",
        "_retry",
        "_skip_lf",
        "_special",
        "_tail",
        "_tail_size",
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
        # The incomplete line, in pieces; joined when its line ending arrives.
        self._tail: List[str] = []
        self._tail_size = 0
        self._pending = b""  # an incomplete UTF-8 sequence (Decoder only)
        self._at_start = True  # a leading BOM is still to be stripped
        self._skip_lf = False  # the last chunk ended with CR
        # True when the next chunk cannot take the fast path: at start, after
        # a CR, with a partial UTF-8 sequence, or closed or failed.
        self._special = True
        # The spec's buffers for the event being built.  _in_event is True once
        # they differ from their state right after a dispatch.
        self._data: List[str] = []
        self._data_size = 0  # size of _data as the spec counts it: lines + LFs
        self._event_type = ""
        self._event_retry: Optional[int] = None
        self._id_buffer = last_event_id
        self._in_event = False
        self._last_event_id = last_event_id
        self._retry: Optional[int] = None
        self._unusable = False  # closed or failed
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
        if self._error is None and not self._closed:
            self._truncated = bool(self._tail or self._in_event or self._pending)
        self._closed = True
        self._unusable = self._special = True
        self._clear_buffers()
        error = self._error
        if error is not None and not self._error_raised:
            self._error_raised = True
            raise error
        return []

    # -- internals -------------------------------------------------------

    def _clear_buffers(self) -> None:
        self._tail = []
        self._tail_size = 0
        self._pending = b""
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

    def _fail(self, error: RemoteProtocolError, events: List[Event]) -> List[Event]:
        """Enter the failed state; return ``events`` if any, else raise."""
        self._error = error
        self._unusable = self._special = True
        self._clear_buffers()
        if events:
            return events
        self._error_raised = True
        raise error

    def _line_too_long(self) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"a line of the event stream is longer than max_event_size ({self._limit} characters)",
            limit=self._limit,
        )

    def _data_too_large(self) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"an event's data is larger than max_event_size ({self._limit} characters)",
            limit=self._limit,
        )

    def _start_text(self, text: str) -> str:
        """Handle the states that keep ``_special`` set; return text to feed."""
        if self._at_start and text:
            self._at_start = False
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored if
            # any are present."
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]  # the LF of a CRLF split across chunks
        self._special = self._at_start or self._skip_lf or bool(self._pending)
        return text

    def _feed_text(self, text: str) -> List[Event]:
        """Run the algorithm over the next decoded text."""
        if "\n" not in text and "\r" not in text:
            return self._extend_line(text)
        return self._process_text(text)

    def _extend_line(self, text: str) -> List[Event]:
        """Keep text that ends no line; it continues the incomplete line."""
        if text:
            tail = self._tail
            if len(text) < _SMALL_PIECE and tail and len(tail[-1]) < _MERGED_PIECE:
                tail[-1] += text
            else:
                tail.append(text)
            self._tail_size += len(text)
            if self._tail_size > self._limit:
                return self._fail(self._line_too_long(), [])
        return []

    def _process_text(self, text: str) -> List[Event]:
        """Run the algorithm over text that holds at least one line ending."""
        tail = self._tail
        if tail:  # never holds a CR or an LF
            tail.append(text)
            text = "".join(tail)
        limit = self._limit
        events: List[Event] = []
        append = events.append
        if (
            "\r" not in text
            and len(text) <= limit
            and (len(text) < _LONG_LINE or text.find("\n") < _LONG_LINE)
        ):
            # The common case: LF line endings, short lines, within the limit.
            lines = text.split("\n")
            deferred: Optional[RemoteProtocolError] = None
            big = False
        else:
            lines, deferred, big = self._split_special(text)
        rest = lines.pop()  # after the last line ending: an incomplete line

        # The per-line rules, with the event being built in local variables.
        # state 0: nothing since the last dispatch; 1: exactly one "data: "
        # line, held in `single`; 2: anything else, held in the spec's buffers.
        data = data_before = self._data
        len_before = len(data)
        carried = self._data_size  # data size from earlier chunks, if any
        # Text within the limit cannot hold more data than the limit, so only
        # an event begun in an earlier chunk, or text over the limit, needs its
        # size checked when it is dispatched.
        check = carried or big
        state = 2 if self._in_event else 0
        single = ""
        last_event_id = self._last_event_id
        try:
            try:
                for line in lines:
                    if not line:
                        # "If the line is empty (a blank line): Dispatch the event."
                        if state == 1:
                            append(_tuple_new(Event, (single, "message", last_event_id, None)))
                            state = 0
                        elif state == 2:
                            # "Set the last event ID string of the event source to
                            # the value of the last event ID buffer."
                            last_event_id = self._last_event_id = self._id_buffer
                            if data:
                                # The data buffer less its trailing LF: "If the data
                                # buffer's last character is a U+000A LINE FEED (LF)
                                # character, then remove the last character."
                                value = "\n".join(data)
                                if check:
                                    if len(value) >= limit:
                                        raise self._data_too_large()
                                    check = big
                                append(
                                    _tuple_new(
                                        Event,
                                        (
                                            value,
                                            self._event_type or "message",
                                            last_event_id,
                                            self._event_retry,
                                        ),
                                    )
                                )
                                data = []
                            # "If the data buffer is an empty string, set the data
                            # buffer and the event type buffer to the empty string
                            # and return."  Either way both end up empty.
                            self._event_type = ""
                            self._event_retry = None
                            state = 0
                        continue
                    if line[:6] == "data: ":
                        if state == 0:
                            single = line[6:]
                            state = 1
                            continue
                        value = line[6:]
                    else:
                        first = line[0]
                        if first == ":":
                            # "If the line starts with a U+003A COLON character
                            # (:) Ignore the line."
                            continue
                        # The first character spares most lines a comparison.
                        if first == "i" and line[:4] == "id: ":
                            field = "id"
                            value = line[4:]
                        elif first == "e" and line[:7] == "event: ":
                            field = "event"
                            value = line[7:]
                        else:
                            # "If the line contains a U+003A COLON character (:)
                            # Collect the characters on the line before the first
                            # U+003A COLON character (:), and let field be that
                            # string. Collect the characters on the line after the
                            # first U+003A COLON character (:), and let value be
                            # that string. If value starts with a U+0020 SPACE
                            # character, remove it from value."  Otherwise the whole
                            # line is the field name and the value is empty.
                            field, _, value = line.partition(":")
                            if value[:1] == " ":
                                value = value[1:]
                        if field != "data":
                            if field == "id":
                                # "If the field value does not contain U+0000 NULL,
                                # then set the last event ID buffer to the field
                                # value. Otherwise, ignore the field."
                                if "\0" in value:
                                    continue
                                self._id_buffer = value
                            elif field == "event":
                                # "Set the event type buffer to field value."
                                self._event_type = value
                            elif field == "retry":
                                # "If the field value consists of only ASCII digits,
                                # then interpret the field value as an integer in
                                # base ten, and set the event stream's reconnection
                                # time to that integer. Otherwise, ignore the field."
                                if not (value.isdigit() and value.isascii()):
                                    continue
                                digits = value.lstrip("0") or "0"
                                if len(digits) > MAX_RETRY_DIGITS:
                                    continue
                                self._retry = self._event_retry = int(digits)
                            else:
                                # "Otherwise: The field is ignored."
                                continue
                            if state == 1:
                                data.append(single)
                            state = 2
                            continue
                    # "data": "Append the field value to the data buffer, then
                    # append a single U+000A LINE FEED (LF) character."  The LFs
                    # are added by the join at dispatch.
                    if state == 1:
                        data.append(single)
                    data.append(value)
                    state = 2
            finally:
                if state == 1:
                    data.append(single)
                    state = 2
                self._data = data
                self._in_event = state == 2
            if deferred is not None:
                raise deferred
            if data:
                # Count the data lines this chunk gave an event still open, so
                # that endless short data lines cannot grow memory unbounded.
                if data is data_before:
                    added = data[len_before:] if len_before else data
                else:  # a dispatch replaced the list: all its lines are new
                    added = data
                    carried = 0
                self._data_size = carried + sum(map(len, added)) + len(added)
                if self._data_size > limit:
                    raise self._data_too_large()
                # Keep an open event's lines few and large, so the list costs
                # little beyond the characters it holds, however it is chunked.
                if len(added) > 1:
                    data[len(data) - len(added) :] = ["\n".join(added)]
                if len(data) > 1 and len(data[-2]) < _MERGED_PIECE:
                    data[-2:] = [data[-2] + "\n" + data[-1]]
            elif carried:
                self._data_size = 0
            if rest:  # within the limit: _cut_lines checks the longer text
                self._tail = [rest]
                self._tail_size = len(rest)
            elif tail:
                self._tail = []
                self._tail_size = 0
        except RemoteProtocolError as error:
            return self._fail(error, events)
        return events

    def _split_special(self, text: str) -> Tuple[List[str], Optional[RemoteProtocolError], bool]:
        """Split text with CRs, long lines or more than the limit into lines.

        Returns:
            The lines as from ``str.split`` (the incomplete one last), an error
            to raise once they are processed (see :meth:`_cut_lines`), and
            whether the text was longer than the limit.
        """
        limit = self._limit
        if "\r" in text:
            # "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A
            # LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF)
            # character, or a single U+000D CARRIAGE RETURN (CR) character."
            if len(text) <= limit and text.find("\r") < _LONG_LINE:
                # CRLF throughout is common and needs no normalising copy.
                lines = text.split("\r\n")
                joined = "".join(lines)
                if "\r" not in joined and "\n" not in joined:
                    return lines, None, False
            if text[-1] == "\r":
                # The next chunk may start with the LF of this CRLF.
                self._skip_lf = self._special = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) <= limit and text.find("\n") < _LONG_LINE:
            return text.split("\n"), None, False
        lines, deferred = self._cut_lines(text)
        return lines, deferred, len(text) > limit

    def _cut_lines(self, text: str) -> Tuple[List[str], Optional[RemoteProtocolError]]:
        """Split LF-normalised text that is longer than the limit or starts with
        a long line.

        Long lines are found with ``str.find`` (memchr), faster than the split
        loop for them.  Text longer than the limit is cut into pieces of at
        most ``limit + 1`` characters that end at a line end, so no line in a
        piece can be too long; a line that fits in no piece is.

        Returns:
            The lines (the incomplete one after the last LF last, as from
            ``str.split``), and the error for a line too long, raised once the
            lines before it are processed.
        """
        limit = self._limit
        end = text.rfind("\n") + 1
        lines: List[str] = []
        start = 0
        while start < end:
            cut = text.rfind("\n", start, start + limit + 1) + 1
            if not cut:
                lines.append("")  # stands in for the rest, which is discarded
                return lines, self._line_too_long()
            _add_lines(lines, text, start, cut)
            start = cut
        lines.append(text[end:])
        if len(text) - end > limit:
            return lines, self._line_too_long()
        return lines, None


def _add_lines(lines: List[str], text: str, start: int, end: int) -> None:
    """Append the lines of ``text[start:end]``, which ends with an LF.

    Long lines are found with ``str.find`` one at a time; at the first short
    line that is not blank, one ``str.split`` takes the rest, since its C loop
    is faster for short lines.
    """
    find = text.find
    append = lines.append
    while start < end:
        line_end = find("\n", start)
        if line_end - start < _LONG_LINE and line_end != start:
            rest = text[start:end].split("\n")
            rest.pop()  # the empty string after the last LF
            lines += rest
            return
        append(text[start:line_end])
        start = line_end + 1


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
            TypeError: ``data`` is not bytes-like.
        """
        if self._special:
            return self._feed_special(data)
        try:
            text = data.decode()  # type: ignore[union-attr]
        except (AttributeError, UnicodeDecodeError):
            return self._feed_special(data)
        if "\n" not in text and "\r" not in text:
            # The middle of a line: keep it.  The same as _extend_line, inline
            # because it runs for most chunks when chunks are small.
            if text:
                tail = self._tail
                if len(text) < _SMALL_PIECE and tail and len(tail[-1]) < _MERGED_PIECE:
                    tail[-1] += text
                else:
                    tail.append(text)
                self._tail_size += len(text)
                if self._tail_size > self._limit:
                    return self._fail(self._line_too_long(), [])
            return []
        return self._process_text(text)

    def _feed_special(self, data: _BytesLike) -> List[Event]:
        if self._unusable:
            self._refuse()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"Decoder.feed() takes bytes, not {type(data).__name__}")
        if self._pending:
            data = self._pending + data
        # final=False keeps a multi-byte sequence split by the chunking for the
        # next call; "replace" turns invalid bytes into U+FFFD as the spec says.
        text, used = _utf8_decode(data, "replace", False)
        self._pending = bytes(data[used:])
        return self._feed_text(self._start_text(text))


class TextDecoder(_DecoderBase):
    """Incremental decoder for an event stream that is already text.

    For transports that hand over ``str`` (a test, a bridge from another
    runtime, a file opened in text mode with ``newline=""``).  Same rules,
    arguments and errors as :class:`Decoder`; a leading U+FEFF is stripped.
    """

    __slots__ = ()

    def feed(self, text: str) -> List[Event]:
        """Process a chunk of the stream; see :meth:`Decoder.feed`.

        Raises:
            TypeError: ``text`` is not a ``str``.
        """
        if type(text) is not str:
            raise TypeError(f"TextDecoder.feed() takes str, not {type(text).__name__}")
        if self._special:
            if self._unusable:
                self._refuse()
            text = self._start_text(text)
        return self._feed_text(text)
