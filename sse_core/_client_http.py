# SPDX-License-Identifier: MIT
"""Pure HTTP helpers for the clients: request headers, response checks, URLs.

Nothing here does I/O.  The reconnection state machine uses the checks; the
sync and asyncio clients use the URL splitting and the response-head parser
(the asyncio client speaks HTTP/1.1 itself; the sync one has ``http.client``).
"""

from __future__ import annotations

import re
from base64 import b64encode
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, unquote, urlsplit

__all__ = (
    "EVENT_STREAM",
    "Headers",
    "HeadersInput",
    "MAX_HEAD_SIZE",
    "get_header",
    "host_header",
    "is_token",
    "is_event_stream",
    "normalise_headers",
    "parse_retry_after",
    "proxy_authorization",
    "proxy_for",
    "request_headers",
    "split_url",
    "parse_response_head",
    "check_tunnel_answer",
    "connect_request",
    "encode_request",
    "MAX_LAST_EVENT_ID_SIZE",
)

EVENT_STREAM = "text/event-stream"

Headers = List[Tuple[str, str]]
HeadersInput = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]

#: Bound on the bytes of a response head (status line and headers), interim
#: ``1xx`` heads before it included, of a chunked body's trailers and of a
#: proxy's answer to ``CONNECT``; real SSE servers send well under 8 KiB.
MAX_HEAD_SIZE = 64 * 1024

#: Bound on the ``Last-Event-ID`` the clients send, in bytes of UTF-8.  A
#: server's ``id`` can be as long as ``max_event_size``, and the header goes
#: out on every reconnection; servers and proxies refuse request heads past
#: 8 KiB a line or so (nginx's default), which would fail the connection for
#: good.  A longer last event ID is not sent: the server sees a new client.
MAX_LAST_EVENT_ID_SIZE = 4096

# A header field name or method: an RFC 9110 token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A host as urlsplit gives it: a registered name or an IP literal, no spaces
# or controls that would break the request head.
_HOST = re.compile(r"[0-9A-Za-z\-._~!$&'()*+,;=:%]+")
# Characters a request target keeps as they are: visible ASCII but ``%``
# escapes are left alone too.
_TARGET_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


def normalise_headers(headers: HeadersInput) -> Headers:
    """Headers given as a mapping or as pairs, as a list of ``(name, value)``.

    Raises:
        ValueError: a name is not an HTTP token, or a value holds CR, LF or
            NUL (header injection).
    """
    if headers is None:
        return []
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    result: Headers = []
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("header names and values must be str")
        if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\0"):
            raise ValueError(f"invalid header {name!r}: {value!r:.80}")
        result.append((name, value))
    return result


def is_token(value: str) -> bool:
    """True if ``value`` is an HTTP token (a method or a header name)."""
    return _TOKEN.fullmatch(value) is not None


def get_header(headers: Sequence[Tuple[str, str]], name: str) -> Optional[str]:
    """The first value of header ``name`` (case-insensitive), or None."""
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def request_headers(headers: Headers, last_event_id: str) -> Headers:
    """The headers of an EventSource request.

    As the WHATWG fetch steps say: ``Accept: text/event-stream``, caching off
    (``Cache-Control: no-cache``), and ``Last-Event-ID`` when the last event
    ID string is not empty.  User headers come first and win: an ``Accept`` or
    ``Cache-Control`` the user set is kept, and ``Last-Event-ID`` is always
    the machine's (a user value is replaced, since the stream moved on).  A
    last event ID longer than :data:`MAX_LAST_EVENT_ID_SIZE` bytes of UTF-8
    is not sent.
    """
    result = [(k, v) for k, v in headers if k.lower() != "last-event-id"]
    names = {k.lower() for k, _ in result}
    if "accept" not in names:
        result.append(("Accept", EVENT_STREAM))
    if "cache-control" not in names:
        result.append(("Cache-Control", "no-cache"))
    if last_event_id and len(last_event_id.encode("utf-8")) <= MAX_LAST_EVENT_ID_SIZE:
        result.append(("Last-Event-ID", last_event_id))
    return result


def is_event_stream(content_type: Optional[str]) -> bool:
    """True if a Content-Type value's MIME type essence is ``text/event-stream``.

    Type and subtype compare case-insensitively; parameters such as
    ``charset=utf-8`` are allowed (the stream is UTF-8 whatever they say).
    """
    if content_type is None:
        return False
    essence = content_type.split(";", 1)[0].strip(" \t").lower()
    return essence == EVENT_STREAM


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """A ``Retry-After`` header in seconds; None for an absent or HTTP-date value."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit() and value.isascii() and len(value) < 10:
        return float(int(value))
    return None


def split_url(url: str) -> Tuple[str, str, int, str]:
    """Split an http(s) URL into ``(scheme, host, port, target)``.

    ``target`` is the request target: path and query, ``/`` when empty, with
    spaces, controls and non-ASCII characters percent-encoded (as a browser
    does).  IPv6 hosts come back without brackets; an internationalised host
    name comes back in its ASCII (IDNA) form.

    Raises:
        ValueError: not an ``http`` or ``https`` URL, no host, a port out of
            range, a broken IPv6 literal, or a host name that cannot be sent;
            the message names the URL.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # urllib's message does not say which URL
        raise ValueError(f"{error}: {url!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"not an http or https URL: {url!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"no host in URL: {url!r}")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"bad host name in URL: {url!r}") from None
    if not _HOST.fullmatch(host):
        raise ValueError(f"bad host name in URL: {url!r}")
    port = port or (443 if scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return scheme, host, port, quote(target, safe=_TARGET_SAFE)


def host_header(scheme: str, host: str, port: int) -> str:
    """The ``Host`` header for a request to ``host:port``."""
    name = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return name if port == default else f"{name}:{port}"


def proxy_for(scheme: str, host: str) -> Optional[str]:
    """The proxy URL that ``http_proxy`` / ``https_proxy`` set for
    ``scheme://host``, or None (none set, or ``no_proxy`` matches).

    Reads the environment when called, never at import time.
    """
    import urllib.request  # heavy; only the clients with trust_env need it

    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)


def proxy_authorization(proxy_url: str) -> Optional[str]:
    """A ``Proxy-Authorization: Basic`` value from the user info of a proxy URL."""
    parts = urlsplit(proxy_url)
    if parts.username is None:
        return None
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return "Basic " + b64encode(credentials.encode("utf-8")).decode("ascii")


def connect_request(host: str, port: int, authorization: Optional[str]) -> bytes:
    """A ``CONNECT`` request opening a tunnel to ``host:port`` through a proxy."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if authorization:
        lines.append(f"Proxy-Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def encode_request(method: str, target: str, headers: Headers, body: Optional[bytes]) -> bytes:
    """The bytes of an HTTP/1.1 request: both clients send exactly these.

    Header values go out as UTF-8, as the WHATWG spec says of
    ``Last-Event-ID`` (ASCII values are the same bytes in any encoding).
    ``Content-Length`` is added for a body, ``Connection: close`` unless set.

    Raises:
        ValueError: the method or a header name is not an HTTP token, the
            target holds a space or control, or a value holds CR, LF or NUL.
    """
    if not _TOKEN.fullmatch(method):
        raise ValueError(f"invalid method {method!r:.40}")
    if not target or any(c <= " " or c == "\x7f" for c in target):
        raise ValueError(f"invalid request target {target!r:.100}")
    headers = list(headers)
    if body is not None and get_header(headers, "content-length") is None:
        headers.append(("Content-Length", str(len(body))))
    if get_header(headers, "connection") is None:
        headers.append(("Connection", "close"))
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\0"):
            raise ValueError(f"invalid header {name!r:.40}: {value!r:.80}")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")


def check_tunnel_answer(head: bytes) -> None:
    """Check a proxy's answer to ``CONNECT``.

    Raises:
        ConnectionError: not a 2xx answer, or not HTTP.
    """
    try:
        status, reason, _ = parse_response_head(head)
    except ValueError as error:
        raise ConnectionError(f"bad answer from the proxy: {error}") from None
    if not 200 <= status < 300:
        raise ConnectionError(f"the proxy refused the tunnel: {status} {reason}")


def parse_response_head(head: bytes) -> Tuple[int, str, Headers]:
    """Parse an HTTP/1.x status line and header block (ending in a blank line).

    Returns:
        ``(status, reason, headers)``; header values are stripped, obsolete
        line folding is joined with a space.

    Raises:
        ValueError: not an HTTP/1.x response head.
    """
    text = head.decode("iso-8859-1")
    # Lines end in CRLF or, as RFC 9112 lets a recipient accept, a bare LF.
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    status_line = lines[0]
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x status line: {status_line!r:.100}")
    code = parts[1]
    if len(code) != 3 or not (code.isdigit() and code.isascii()):
        raise ValueError(f"bad status code in {status_line!r:.100}")
    reason = parts[2] if len(parts) > 2 else ""
    headers: Headers = []
    for line in lines[1:]:
        if not line:
            continue
        if "\r" in line or "\0" in line:
            raise ValueError(f"a CR or NUL inside a header line: {line!r:.100}")
        if line[0] in " \t" and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(" \t"))
            continue
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            raise ValueError(f"bad header line {line!r:.100}")
        headers.append((name, value.strip(" \t")))
    return int(code), reason, headers
