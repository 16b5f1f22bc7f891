# SPDX-License-Identifier: MIT
"""Reading an HTTP/1.1 response, with no I/O: the one set of rules both clients use.

The sync and asyncio EventSource clients read bytes from their sockets and
hand them to a :class:`ResponseReader`, which gives back the final response
head (interim ``1xx`` responses skipped, counted and bounded), then the body
in pieces: its framing removed (chunked, ``Content-Length`` or read to the
close) and its content coding undone (``gzip``, ``deflate``).

Theory of operation
-------------------
Every byte a server controls is bounded before it is kept: the head (all
interim responses included) by :data:`MAX_HEAD_SIZE`, each framing line (a
chunk size with its extensions, a trailer field) by :data:`MAX_FRAMING_LINE`,
all trailers together by :data:`MAX_HEAD_SIZE`, a chunk size by 16 hex digits.
Body bytes are passed on as they arrive, never gathered; a compressed body is
inflated at most :data:`MAX_PIECE` bytes per :meth:`ResponseReader.next_piece`,
so a small compressed input that inflates to gigabytes (a "zip bomb") is
handed out piece by piece, each one checked by the event decoder's limit
before the next is made.

Anything that breaks the grammar of RFC 9112 raises
:class:`MalformedResponseError`, a :class:`ConnectionError`: the clients treat
it as a network error and reconnect with backoff, as for a reset.
"""

from __future__ import annotations

import re
import zlib
from typing import List, NamedTuple, Optional, Sequence, Tuple

from ._client_http import MAX_HEAD_SIZE, Headers, get_header, parse_response_head
from ._errors import SSEError

__all__ = (
    "MAX_FRAMING_LINE",
    "MAX_HEAD_SIZE",
    "MAX_INTERIM_RESPONSES",
    "MAX_PIECE",
    "MalformedResponseError",
    "ResponseHead",
    "ResponseReader",
    "head_time_left",
    "unsupported_coding",
)

#: Interim responses skipped before the final one: a server sends one
#: ``100 Continue`` and perhaps a few ``103 Early Hints``; an endless run of
#: them would keep a client connecting for ever.
MAX_INTERIM_RESPONSES = 10
#: Bound on one line of chunked framing: a chunk size with its extensions, or
#: a trailer field.
MAX_FRAMING_LINE = 8 * 1024
#: The most body bytes one :meth:`ResponseReader.next_piece` returns.
MAX_PIECE = 64 * 1024

# A chunk size: 1 to 16 hex digits (no sign, no prefix, no spaces inside),
# then optional whitespace and extensions, which are ignored (RFC 9112 7.1.1).
_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
_DIGITS = re.compile(r"[0-9]{1,18}")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_NO_BODY_STATUSES = frozenset((204, 304))

# Content codings the clients undo, with zlib's wbits for each: gzip, and
# deflate, which HTTP defines as the zlib format (RFC 9110 8.4.1.2); a raw
# deflate stream, which some servers send instead, is recognised by its
# missing zlib header.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_CONTENT_CODINGS = {"gzip": _GZIP_WBITS, "x-gzip": _GZIP_WBITS, "deflate": zlib.MAX_WBITS}


class MalformedResponseError(SSEError, ConnectionError):
    """The server's HTTP response breaks HTTP/1.1's grammar or a client limit.

    A bad status line or header, a bad ``Content-Length``, malformed chunked
    framing, too many interim responses, a head, framing line or trailer over
    its bound, a body cut short, or compressed bytes that do not inflate.  It
    is a :class:`ConnectionError`, so the clients handle it as a network
    error: the connection is dropped and reestablished with backoff.
    """


class ResponseHead(NamedTuple):
    """A final response's status line and headers (names as sent)."""

    status: int
    reason: str
    headers: Headers


def unsupported_coding(headers: Sequence[Tuple[str, str]]) -> Optional[str]:
    """A description of the transfer or content coding of ``headers`` that
    :class:`ResponseReader` cannot undo, or None if it can read the body."""
    transfer = get_header(headers, "transfer-encoding")
    if transfer is not None and _codings(transfer) != ["chunked"]:
        return f"Transfer-Encoding: {transfer!r:.100}"
    content = get_header(headers, "content-encoding")
    if content is not None:
        codings = [c for c in _codings(content) if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in _CONTENT_CODINGS):
            return f"Content-Encoding: {content!r:.100}"
    return None


def head_time_left(deadline: Optional[float], now: float) -> Optional[float]:
    """Seconds left to receive the response head, or None if it has no deadline.

    The whole head, interim responses included, must arrive by ``deadline``
    (a client sets it ``read_timeout`` after sending its request), so a
    server cannot keep a client waiting by trickling it byte by byte.

    Raises:
        TimeoutError: the deadline has passed.
    """
    if deadline is None:
        return None
    left = deadline - now
    if left <= 0:
        raise TimeoutError("no complete response head within read_timeout")
    return left


def _codings(value: str) -> List[str]:
    return [c.strip(" \t").lower() for c in value.split(",") if c.strip(" \t")]


class ResponseReader:
    """The sans-IO reader of one HTTP/1.1 response.

    Feed it what the socket gives with :meth:`feed` (and :meth:`feed_eof` when
    the connection ends); take the head with :meth:`next_head`, then the body
    with :meth:`next_piece`.  Both return None when they need more bytes.

    Args:
        method: the request's method (the answer to ``HEAD`` has no body).
    """

    def __init__(self, method: str = "GET") -> None:
        self._buffer = bytearray()
        self._eof = False
        self._method = method.upper()
        self._head: Optional[ResponseHead] = None
        self._head_bytes = 0  # of the interim heads skipped so far
        self._interim = 0
        self._scanned = 0  # bytes of the buffer known to hold no head end
        # The body: its framing, then its content coding.
        self._chunked = False
        self._remaining: Optional[int] = None  # of the body or current chunk
        self._framing = "data"  # chunked: "size", "data", "crlf", "trailer"
        self._trailer_bytes = 0
        self._body_done = False
        self._inflater: Optional[zlib._Decompress] = None
        self._wbits = 0
        self._pending = b""  # compressed bytes the inflater has not taken yet

    # -- input -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Add bytes received from the server."""
        self._buffer += data

    def feed_eof(self) -> None:
        """Say that the connection ended; no more bytes will come."""
        self._eof = True

    # -- the head ----------------------------------------------------------------------

    def next_head(self) -> Optional[ResponseHead]:
        """The final response's head, or None until all of it has arrived.

        Interim responses (``1xx`` but ``101``) are skipped.

        Raises:
            MalformedResponseError: the head is not HTTP/1.x, more than
                :data:`MAX_INTERIM_RESPONSES` came, the heads passed
                :data:`MAX_HEAD_SIZE`, or the connection ended first.
        """
        while self._head is None:
            buffer = self._buffer
            match = _HEAD_END.search(buffer, max(0, self._scanned - 3))
            if match is None:
                self._scanned = len(buffer)
                if self._head_bytes + len(buffer) > MAX_HEAD_SIZE:
                    raise MalformedResponseError(
                        f"the response head is longer than {MAX_HEAD_SIZE} bytes"
                    )
                if self._eof:
                    raise MalformedResponseError("the connection closed before the response head")
                return None
            end = match.end()
            self._head_bytes += end
            if self._head_bytes > MAX_HEAD_SIZE:
                raise MalformedResponseError(
                    f"the response head is longer than {MAX_HEAD_SIZE} bytes"
                )
            try:
                status, reason, headers = parse_response_head(bytes(buffer[:end]))
            except ValueError as error:
                raise MalformedResponseError(str(error)) from None
            del buffer[:end]
            self._scanned = 0
            if 100 <= status < 200 and status != 101:
                self._interim += 1
                if self._interim > MAX_INTERIM_RESPONSES:
                    raise MalformedResponseError(
                        f"more than {MAX_INTERIM_RESPONSES} interim (1xx) responses"
                    )
                continue
            self._head = ResponseHead(status, reason, headers)
            self._start_body(status, headers)
        return self._head

    def _start_body(self, status: int, headers: Headers) -> None:
        if self._method == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
            self._remaining = 0
            return
        coding = unsupported_coding(headers)
        if coding is not None:
            # The caller is told by the head (classify_response fails the
            # connection); reading such a body would only yield garbage.
            self._remaining = 0
            return
        self._chunked = get_header(headers, "transfer-encoding") is not None
        if self._chunked:
            self._framing = "size"
        else:
            lengths = {
                value.strip(" \t")
                for name, field in headers
                if name.lower() == "content-length"
                for value in field.split(",")
            }
            if len(lengths) > 1 or not all(_DIGITS.fullmatch(v) for v in lengths):
                raise MalformedResponseError(f"bad Content-Length: {sorted(lengths)!r:.100}")
            if lengths:
                self._remaining = int(lengths.pop())
        content = get_header(headers, "content-encoding")
        codings = [c for c in _codings(content or "") if c != "identity"]
        if codings:
            self._wbits = _CONTENT_CODINGS[codings[0]]

    # -- the body ----------------------------------------------------------------------

    def next_piece(self) -> Optional[bytes]:
        """The next piece of the body (at most :data:`MAX_PIECE` bytes);
        ``b""`` at its end; None until more bytes arrive.

        Raises:
            MalformedResponseError: bad framing, a body cut short by the end
                of the connection, or content that does not inflate.
        """
        assert self._head is not None, "next_head() first"
        if not self._wbits:
            return self._next_framed()
        while True:
            # Two bytes tell a zlib stream from a raw deflate one.
            if len(self._pending) > 1 or (self._pending and self._inflater is not None):
                piece = self._inflate()
                if piece:
                    return piece
                continue
            data = self._next_framed()
            if data is None:
                return None
            if not data:
                if self._pending:  # one byte, and then the end
                    self._inflate()
                self._finish_inflating()
                return b""
            self._pending += data

    def _inflate(self) -> bytes:
        inflater = self._inflater
        if inflater is None:
            wbits = self._wbits
            if wbits == zlib.MAX_WBITS and not _has_zlib_header(self._pending):
                wbits = -zlib.MAX_WBITS  # a raw deflate stream
            inflater = self._inflater = zlib.decompressobj(wbits)
        try:
            piece = inflater.decompress(self._pending, MAX_PIECE)
        except zlib.error as error:
            raise MalformedResponseError(f"the compressed body does not inflate: {error}") from None
        self._pending = inflater.unconsumed_tail
        if inflater.eof:
            # Another gzip member may follow (RFC 1952 allows several).
            self._pending = inflater.unused_data + self._pending
            self._inflater = None
        return piece

    def _finish_inflating(self) -> None:
        if self._inflater is not None:
            raise MalformedResponseError("the body ended inside its compressed stream")

    def _next_framed(self) -> Optional[bytes]:
        """The next piece of the body with its framing removed (as next_piece)."""
        if self._body_done:
            return b""
        buffer = self._buffer
        if self._chunked:
            while self._framing != "data":
                if not self._framing_line():
                    return None
                if self._body_done:
                    return b""
        remaining = self._remaining
        if remaining == 0 and not self._chunked:
            self._body_done = True
            return b""
        if not buffer:
            if not self._eof:
                return None
            if remaining is None:  # close-delimited: the close is the end
                self._body_done = True
                return b""
            raise MalformedResponseError("the connection closed before the body's end")
        size = MAX_PIECE if remaining is None else min(remaining, MAX_PIECE)
        piece = bytes(buffer[:size])
        del buffer[:size]
        if remaining is not None:
            self._remaining = remaining - len(piece)
            if self._chunked and not self._remaining:
                self._framing = "crlf"
        return piece

    def _framing_line(self) -> bool:
        """Read one line of chunked framing; False until it has all arrived."""
        buffer = self._buffer
        end = buffer.find(b"\n", 0, MAX_FRAMING_LINE + 2)
        if end < 0:
            if len(buffer) > MAX_FRAMING_LINE:
                raise MalformedResponseError(
                    f"a chunked framing line is longer than {MAX_FRAMING_LINE} bytes"
                )
            if self._eof:
                raise MalformedResponseError("the connection closed inside the chunked framing")
            return False
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if self._framing == "crlf":
            if line:
                raise MalformedResponseError("chunk data longer than its size")
            self._framing = "size"
        elif self._framing == "size":
            match = _CHUNK_SIZE_LINE.fullmatch(line)
            if match is None:
                raise MalformedResponseError(f"bad chunk size line: {line!r:.40}")
            self._remaining = int(match.group(1), 16)
            self._framing = "data" if self._remaining else "trailer"
        else:  # trailer fields, which are ignored, up to a blank line
            self._trailer_bytes += end + 1
            if self._trailer_bytes > MAX_HEAD_SIZE:
                raise MalformedResponseError(f"trailers longer than {MAX_HEAD_SIZE} bytes")
            if not line:
                self._body_done = True
        return True


def _has_zlib_header(data: bytes) -> bool:
    """True if ``data`` starts like a zlib stream (RFC 1950): deflate method,
    a header checksum that divides by 31."""
    if len(data) < 2:
        return True  # too short to tell: zlib, as HTTP defines deflate
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
