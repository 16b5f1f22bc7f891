# SPDX-License-Identifier: MIT
"""The exceptions sse_core raises: one base class and two kinds.

* :class:`LocalProtocolError` means *our caller* asked for something illegal:
  an event name with a line break in it, data fed after ``close()``.
* :class:`RemoteProtocolError` means *the peer's stream* broke a limit we
  enforce to keep memory bounded.  The WHATWG algorithm itself never fails: bad
  fields are ignored as the spec says, so this is only ever about limits.
"""

from __future__ import annotations

__all__ = ("SSEError", "LocalProtocolError", "RemoteProtocolError")


class SSEError(Exception):
    """Base class of every exception sse_core raises on purpose."""


class LocalProtocolError(SSEError, ValueError):
    """The caller asked for something the protocol or the API forbids.

    Raised by the event constructor and the encoders for a value that would
    inject a line or an event, and by a decoder used after ``close()``.  It is a
    :class:`ValueError` too, so code that already catches that keeps working.
    """


class RemoteProtocolError(SSEError):
    """The incoming stream broke one of the decoder's limits.

    Attributes:
        limit: the limit that was exceeded, in bytes of the UTF-8 stream.
        error_status_hint: an HTTP status a server could answer with (413).
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.error_status_hint = 413
