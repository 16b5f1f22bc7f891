"""HTTP/1.1 framing the clients must read, and their action hook, on real sockets."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Dict, List

import pytest

from sse_core import Connect, Event, Open, ReconnectLimitError, ReconnectPolicy, Stop, Wait
from sse_core._client_http import (
    host_header,
    normalise_headers,
    parse_response_head,
    parse_retry_after,
    split_url,
)
from sse_core.async_client import AsyncEventSource
from sse_core.client import EventSource

from .client_runner import CLIENT_KINDS, collect
from .sse_servers import RawServer, Request, send_head

pytestmark = pytest.mark.timeout(60)

BODY = b"id: 1\ndata: a\n\ndata: b\n\n"
EVENTS = [Event(data="a", id="1"), Event(data="b", id="1")]


def once(**kwargs: Any) -> ReconnectPolicy:
    options: Dict[str, Any] = {"initial_delay": 0.01, "jitter": 0.0, "max_attempts": 0}
    options.update(kwargs)
    return ReconnectPolicy(**options)


@pytest.fixture(params=CLIENT_KINDS)
def kind(request: Any) -> str:
    return str(request.param)


def serve_raw(head: bytes, body: bytes) -> Any:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        conn.sendall(head + body)

    return RawServer(handler)


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"


def test_content_length_body_ends_cleanly(kind: str) -> None:
    head = SSE_HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY)
    with serve_raw(head, BODY) as server:
        outcome = collect(kind, server.url("/"), policy=once())
    assert outcome.events == EVENTS
    assert outcome.error is None  # no reconnection asked: the end is the end


def test_content_length_body_cut_short_is_a_network_error(kind: str) -> None:
    head = SSE_HEAD + b"Content-Length: %d\r\n\r\n" % (len(BODY) + 50)
    with serve_raw(head, BODY) as server:
        outcome = collect(kind, server.url("/"), policy=once())
    assert outcome.events == EVENTS
    assert isinstance(outcome.error, ReconnectLimitError)
    assert outcome.error.__cause__ is not None


@pytest.mark.parametrize(
    "head, body",
    [
        (SSE_HEAD + b"Transfer-Encoding: chunked\r\n\r\n", b"zz\r\nboom\r\n"),
        (SSE_HEAD + b"Content-Length: nope\r\n\r\n", BODY),
        (b"HTTP/2 banana\r\n\r\n", b""),
        (b"ICY 200 OK\r\n\r\n", b""),
    ],
)
def test_malformed_responses_are_network_errors(kind: str, head: bytes, body: bytes) -> None:
    with serve_raw(head, body) as server:
        outcome = collect(kind, server.url("/"), policy=once())
    assert outcome.events == []
    assert isinstance(outcome.error, ReconnectLimitError)


def test_chunk_extensions_and_trailers(kind: str) -> None:
    body = b"%x;ext=1\r\n%s\r\n" % (len(BODY), BODY) + b"0\r\nX-Trailer: yes\r\n\r\n"
    with serve_raw(SSE_HEAD + b"Transfer-Encoding: chunked\r\n\r\n", body) as server:
        outcome = collect(kind, server.url("/"), policy=once())
    assert outcome.events == EVENTS
    assert outcome.error is None


def test_interim_100_continue_is_skipped(kind: str) -> None:
    head = b"HTTP/1.1 100 Continue\r\n\r\n" + SSE_HEAD + b"\r\n"
    with serve_raw(head, BODY) as server:
        outcome = collect(kind, server.url("/"), limit=2, policy=once())
    assert outcome.events == EVENTS


def test_on_action_sees_every_decision(kind: str) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        if index == 1:
            send_head(conn, 204, [("Content-Length", "0")], content_type=None)
            return
        send_head(conn)
        conn.sendall(b"data: x\n\n")

    actions: List[Any] = []
    with RawServer(handler) as server:
        outcome = collect(
            kind, server.url("/"), policy=once(max_attempts=1), on_action=actions.append
        )
    assert outcome.error is None
    assert [type(a) for a in actions] == [Connect, Open, Wait, Connect, Stop]
    assert actions[-1] == Stop(204, None)


def test_close_before_iterating_yields_nothing() -> None:
    source = EventSource("http://127.0.0.1:1/")
    source.close()
    assert list(source) == []
    assert source.url == "http://127.0.0.1:1/"

    async def main() -> List[Event]:
        async_source = AsyncEventSource("http://127.0.0.1:1/")
        async_source.close()
        return [event async for event in async_source]

    assert asyncio.run(main()) == []


def test_response_head_parser() -> None:
    status, reason, headers = parse_response_head(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Long: a\r\n  b\r\n\r\n"
    )
    assert (status, reason) == (200, "OK")
    assert headers == [("Content-Type", "text/event-stream"), ("X-Long", "a b")]
    assert parse_response_head(b"HTTP/1.0 204\n\n")[:2] == (204, "")
    for bad in (b"HTTP/1.1 2000 X\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"):
        with pytest.raises(ValueError):
            parse_response_head(bad)


def test_url_and_header_helpers() -> None:
    assert split_url("HTTPS://[::1]:8443/a?b=c") == ("https", "::1", 8443, "/a?b=c")
    assert split_url("http://h") == ("http", "h", 80, "/")
    assert host_header("https", "::1", 8443) == "[::1]:8443"
    assert host_header("https", "h", 443) == "h"
    with pytest.raises(ValueError):
        split_url("http://")
    with pytest.raises(TypeError):
        normalise_headers([("X", 1)])  # type: ignore[list-item]
    assert normalise_headers(None) == []
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after(" 12 ") == 12.0
