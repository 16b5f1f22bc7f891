# SPDX-License-Identifier: MIT
"""Pure HTTP helpers the server adapters share: response headers, ``Last-Event-ID``.

Nothing here does I/O.  The ASGI and WSGI adapters call these so that both
send the same headers and read the request's ``Last-Event-ID`` by the same
rule, and so that the rule is tested once.

The ``Last-Event-ID`` rule
--------------------------
A browser reconnecting sends the last event ID it saw in a ``Last-Event-ID``
request header (WHATWG "reestablish the connection").  The value comes from the
network, so it is never trusted: :func:`sanitise_last_event_id` returns ``""``
(as if the header were absent) unless the value

* is at most :data:`MAX_LAST_EVENT_ID_LENGTH` characters once surrounding
  spaces and tabs are stripped, and
* holds no control character (U+0000 to U+001F, U+007F to U+009F).

So an application that echoes the value back as an event ``id`` can never
inject a line, and the value has a known maximum size.

The value is read as UTF-8, which is what the WHATWG EventSource algorithm
sends (WSGI servers hand header bytes over as a Latin-1 ``str``, per PEP 3333,
so those are first encoded back to the bytes received).  Bytes that are not
UTF-8 are read as Latin-1 instead: no browser sends them, but older clients,
sse_core's own among them, sent the ID as Latin-1, and reading it so lets such
a client resume after ``été-1`` rather than from nothing.  The two readings
disagree only on Latin-1 text that is also valid UTF-8 (``Ã©`` reads as
``é``), which no real event ID is likely to be.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Iterable, List, Mapping, Optional, Tuple, Union

from ._encoder import encode, encode_comment
from ._events import Event

__all__ = (
    "MAX_LAST_EVENT_ID_LENGTH",
    "DEFAULT_HEARTBEAT",
    "HEARTBEAT",
    "response_headers",
    "sanitise_last_event_id",
    "last_event_id_from_asgi_headers",
    "last_event_id_from_environ",
    "status_line",
    "encode_item",
    "StreamItem",
)

#: Longest ``Last-Event-ID`` value accepted, in characters.  Event IDs are
#: counters, UUIDs or stream offsets (a Redis stream ID is at most 41
#: characters); 1024 leaves room for composite IDs while bounding what one
#: request can make a server store or look up.
MAX_LAST_EVENT_ID_LENGTH = 1024

#: Default interval between heartbeat comments on an idle stream, in seconds.
#: Common proxies close idle connections after 30 to 120 seconds (nginx's
#: ``proxy_read_timeout`` defaults to 60), so 15 seconds keeps well inside them
#: and costs about four bytes a client.
DEFAULT_HEARTBEAT = 15.0

#: What both adapters write on an idle stream: a comment line, without the
#: blank line that would end a block.  WHATWG stream parsing ignores a line
#: starting with a colon wherever it comes, so the comment joining the next
#: event's block changes nothing for a conforming client, and the adapters
#: only ever write it between whole events, never inside one.  A blank line
#: would also be a no-op for a conforming client (a block with no data
#: dispatches nothing), but clients that split the stream on blank lines and
#: make an event of every block (sseclient among them) would report an empty
#: event per heartbeat.  What the heartbeat is for needs no block boundary:
#: the proxies in docs/deployment.md (nginx, load balancers, Cloudflare, the
#: Heroku router) time out on bytes, not on events, and none of them parses
#: the stream into events, so these seven bytes reset their idle timers as
#: they pass.
HEARTBEAT = encode_comment("ping")

_CONTENT_TYPE = "text/event-stream; charset=utf-8"

# Controls: C0, DEL and C1.  Built once; str.translate-free check below.
_CONTROL_CHARS = frozenset(chr(i) for i in [*range(0x20), *range(0x7F, 0xA0)])

_Header = Tuple[str, str]
HeaderInput = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]

# Headers a caller may not override: they are what makes the response a stream.
_FIXED = ("content-type",)


def response_headers(extra: HeaderInput = None) -> List[_Header]:
    """The headers of an event-stream response, with the caller's extras.

    Always ``Content-Type: text/event-stream; charset=utf-8``; by default also
    ``Cache-Control: no-cache`` (no cache may store a live stream) and
    ``X-Accel-Buffering: no`` (nginx would otherwise buffer the stream).
    ``extra`` (a mapping or pairs) adds headers; an extra header with the name
    of a default one (case-insensitive) replaces it, except ``Content-Type``.

    Raises:
        ValueError: a name or value holds CR, LF or NUL, or an extra header
            tries to set ``Content-Type``.
    """
    headers: List[_Header] = [
        ("Content-Type", _CONTENT_TYPE),
        ("Cache-Control", "no-cache"),
        ("X-Accel-Buffering", "no"),
    ]
    if extra is None:
        return headers
    pairs = list(extra.items()) if isinstance(extra, Mapping) else list(extra)
    overridden = set()
    for name, value in pairs:
        for part in (name, value):
            if not isinstance(part, str):
                raise TypeError(f"header names and values must be str, got {part!r}")
            if "\r" in part or "\n" in part or "\0" in part:
                raise ValueError(f"header {name!r} holds a line break or NUL")
        if name.lower() in _FIXED:
            raise ValueError("an event stream's Content-Type cannot be changed")
        overridden.add(name.lower())
    headers = [header for header in headers if header[0].lower() not in overridden]
    headers.extend(pairs)
    return headers


def status_line(status: int) -> str:
    """``"200 OK"`` for 200: the WSGI status string for an integer status."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{status} {phrase}"


def sanitise_last_event_id(value: Union[str, bytes, None]) -> str:
    """The request's ``Last-Event-ID`` if it is safe to use, else ``""``.

    ``value`` is the raw header value: ``bytes`` (ASGI), a Latin-1 decoded
    ``str`` (WSGI's ``environ``) or ``None`` (no header).  See the module
    docstring for the rule.  Never raises.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = value.encode("latin-1")
        except UnicodeEncodeError:
            return ""
    try:
        text = bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        text = bytes(value).decode("latin-1")  # an older client's Latin-1: see above
    text = text.strip(" \t")
    if len(text) > MAX_LAST_EVENT_ID_LENGTH:
        return ""
    if not _CONTROL_CHARS.isdisjoint(text):
        return ""
    return text


def last_event_id_from_asgi_headers(headers: Iterable[Tuple[bytes, bytes]]) -> str:
    """The sanitised ``Last-Event-ID`` from an ASGI scope's ``headers`` list.

    A request with the header more than once is treated as having none.
    """
    found: Optional[bytes] = None
    for name, value in headers:
        if name.lower() == b"last-event-id":
            if found is not None:
                return ""
            found = value
    return sanitise_last_event_id(found)


def last_event_id_from_environ(environ: Mapping[str, object]) -> str:
    """The sanitised ``Last-Event-ID`` from a WSGI ``environ``."""
    value = environ.get("HTTP_LAST_EVENT_ID")
    if value is not None and not isinstance(value, str):
        return ""
    return sanitise_last_event_id(value)


#: What a stream's source may yield: an :class:`Event`; a ``str``, sent as the
#: data of a ``message`` event; ``bytes``, already encoded and sent as they are;
#: or ``None``, meaning "nothing yet", which lets a blocking source give the
#: adapter a chance to send a heartbeat.
StreamItem = Union[Event, str, bytes, None]


def encode_item(item: StreamItem) -> Optional[bytes]:
    """The bytes to write for one source item, or ``None`` for ``None``.

    Raises:
        TypeError: ``item`` is none of the accepted types.
        LocalProtocolError: as :func:`sse_core.encode`.
    """
    if type(item) is Event:
        return encode(item)
    if isinstance(item, str):
        return encode(Event(item))
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if item is None:
        return None
    raise TypeError(
        f"an event stream's source must yield Event, str, bytes or None, not {type(item).__name__}"
    )
