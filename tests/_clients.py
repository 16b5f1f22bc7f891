# SPDX-License-Identifier: MIT
"""Clients for the adapter tests: httpx bytes into our own Decoder, httpx-sse.

Every read has a timeout, so a server that stops sending fails the test
instead of hanging it.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, List, Optional, Tuple

import httpx
from httpx_sse import connect_sse

with warnings.catch_warnings():
    # httpx imports httpcore when it makes its first client, and httpcore
    # imports h2: h2 4.1 (the last for Python 3.8) compares bytes with str at
    # import, which -bb turns into an error.  Import it here, quietly.
    warnings.simplefilter("ignore", BytesWarning)
    import httpcore  # noqa: F401

from sse_core import Decoder, Event

TIMEOUT = httpx.Timeout(10.0)


class Stream:
    """What one request got: status, headers, raw body, decoded events."""

    def __init__(self, status: int, headers: httpx.Headers, raw: bytes) -> None:
        self.status = status
        self.headers = headers
        self.raw = raw
        decoder = Decoder()
        self.events: List[Event] = decoder.feed(raw)
        self.events += decoder.close()
        self.retry = decoder.retry


def read_stream(
    url: str,
    *,
    events: Optional[int] = None,
    pings: Optional[int] = None,
    headers: Any = None,
    deadline: float = 15.0,
) -> Stream:
    """GET ``url`` and read until ``events`` events or ``pings`` heartbeats
    arrived, or the stream ended; then close the connection."""
    raw = bytearray()
    decoder = Decoder()
    count = 0
    stop_at = time.monotonic() + deadline
    with httpx.stream("GET", url, headers=headers, timeout=TIMEOUT) as response:
        for chunk in response.iter_raw():
            raw += chunk
            count += len(decoder.feed(chunk))
            if events is not None and count >= events:
                break
            if pings is not None and raw.count(b": ping\n") >= pings:
                break
            if time.monotonic() > stop_at:
                raise AssertionError(f"stream too slow: {bytes(raw[-200:])!r}")
        return Stream(response.status_code, response.headers, bytes(raw))


def read_with_httpx_sse(
    url: str, *, limit: int, headers: Optional[Dict[str, str]] = None
) -> Tuple[str, List[Tuple[str, str, str]]]:
    """(content type, [(event, data, id)]) through httpx-sse, up to ``limit``."""
    got: List[Tuple[str, str, str]] = []
    with httpx.Client(timeout=TIMEOUT) as client, connect_sse(
        client, "GET", url, headers=headers
    ) as source:
        content_type = source.response.headers["content-type"]
        for sse in source.iter_sse():
            got.append((sse.event, sse.data, sse.id))
            if len(got) >= limit:
                break
    return content_type, got
