"""iter_events / aiter_events with the HTTP clients people already use.

Each third-party client (requests, urllib3, httpx sync and async, aiohttp) is
a test-only dependency; sse_core itself never imports them.  They read from
every pluggable server of ``sse_servers.STREAM_SERVERS`` and from a raw server
sending 1-byte TCP segments.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from typing import Any, Iterator, List

import aiohttp
import httpx
import pytest
import requests
import urllib3

from sse_core import Event, RemoteProtocolError
from sse_core.async_client import aiter_events
from sse_core.client import iter_events

from .sse_servers import STREAM_SERVERS, RawServer, Request, send_head

pytestmark = pytest.mark.timeout(60)

ACCEPT = {"Accept": "text/event-stream"}
EXPECTED = [Event(data=f"n{i}", id=str(i), retry=50 if i == 1 else None) for i in (1, 2, 3)]


@pytest.fixture(params=sorted(STREAM_SERVERS))
def standard_server(request: Any) -> Iterator[str]:
    with STREAM_SERVERS[request.param]() as base:
        yield base


def test_requests(standard_server: str) -> None:
    with requests.get(standard_server + "/numbers", headers=ACCEPT, stream=True, timeout=10) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = list(iter_events(r.iter_content(chunk_size=None)))
    assert events == EXPECTED


def test_urllib3(standard_server: str) -> None:
    http = urllib3.PoolManager()
    response = http.request(
        "GET", standard_server + "/numbers", headers=ACCEPT, preload_content=False, timeout=10
    )
    try:
        events = list(iter_events(response.stream(1024)))
    finally:
        response.release_conn()
    assert events == EXPECTED


def test_httpx_sync(standard_server: str) -> None:
    with httpx.Client(timeout=10) as client, client.stream(
        "GET", standard_server + "/numbers", headers=ACCEPT
    ) as response:
        events = list(iter_events(response.iter_bytes()))
    assert events == EXPECTED


def test_httpx_async(standard_server: str) -> None:
    async def main() -> List[Event]:
        async with httpx.AsyncClient(timeout=10) as client, client.stream(
            "GET", standard_server + "/numbers", headers=ACCEPT
        ) as response:
            return [event async for event in aiter_events(response.aiter_bytes())]

    assert asyncio.run(asyncio.wait_for(main(), 20)) == EXPECTED


def test_aiohttp(standard_server: str) -> None:
    async def main() -> List[Event]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(
            standard_server + "/numbers", headers=ACCEPT
        ) as response:
            return [event async for event in aiter_events(response.content.iter_any())]

    assert asyncio.run(asyncio.wait_for(main(), 20)) == EXPECTED


def test_helpers_resume_from_a_last_event_id() -> None:
    events = list(iter_events([b"data: a\n\nid: 9\ndata: b\n\n"], last_event_id="8"))
    assert events == [Event(data="a", id="8"), Event(data="b", id="9")]


def test_helpers_discard_a_trailing_partial_event() -> None:
    async def chunks() -> Any:
        for piece in (b"data: a\n", b"\ndata: cut"):
            yield piece

    async def main() -> List[Event]:
        return [event async for event in aiter_events(chunks())]

    assert asyncio.run(main()) == [Event(data="a", id="")]
    assert list(iter_events([b"data: a\n", b"\ndata: cut"])) == [Event(data="a", id="")]


def test_helpers_enforce_the_size_limit() -> None:
    with pytest.raises(RemoteProtocolError):
        list(iter_events([b"data: " + b"z" * 100 + b"\n\n"], max_event_size=10))


def test_one_byte_segments_through_requests_and_httpx() -> None:
    stream = "id: 1\ndata: ünïcode\n\ndata: two\n\n".encode()

    def handler(conn: socket.socket, request: Request, index: int) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        send_head(conn)
        for i in range(len(stream)):
            conn.sendall(stream[i : i + 1])
            time.sleep(0.002)

    expected = [Event(data="ünïcode", id="1"), Event(data="two", id="1")]
    with RawServer(handler) as server:
        with requests.get(server.url("/"), stream=True, timeout=10) as r:
            assert list(iter_events(r.iter_content(chunk_size=None))) == expected
        with httpx.stream("GET", server.url("/"), timeout=10) as response:
            assert list(iter_events(response.iter_bytes())) == expected


def test_sse_core_does_not_import_http_clients() -> None:
    code = (
        "import sys, sse_core, sse_core.client, sse_core.async_client\n"
        "bad = {'requests', 'httpx', 'aiohttp', 'urllib3'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
