# SPDX-License-Identifier: MIT
"""The sans-IO core on asyncio streams: a server and a client, nothing else.

Run it: ``python examples/asyncio_server_client.py`` (prints three events).
docs/sans-io.md walks through this program.
"""

from __future__ import annotations

import asyncio
import sys
from typing import List

from sse_core import Decoder, Event, encode, encode_comment

RESPONSE_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Connection: close\r\n"
    b"\r\n"
)


async def serve_events(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer any request with three events, then close (a real server parses the head)."""
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE_HEAD)
        for n in range(1, 4):
            writer.write(encode(Event(data=f"tick {n}", id=str(n))))
            await writer.drain()  # back-pressure: wait while the client is slow
            await asyncio.sleep(0.05)
        writer.write(encode_comment("bye"))  # comments are ignored by clients
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


async def read_events(port: int) -> List[Event]:
    """GET the stream and decode it until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head  # check status and type in real code
        decoder = Decoder()
        events: List[Event] = []
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            events += decoder.feed(chunk)  # any chunking: events come out whole
        events += decoder.close()  # always []; decoder.truncated says if it cut one
        return events
    finally:
        writer.close()
        await writer.wait_closed()


async def main() -> None:
    server = await asyncio.start_server(serve_events, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        events = await read_events(port)
    for event in events:
        print(event.id, event.data)
    assert events == [Event(f"tick {n}", id=str(n)) for n in (1, 2, 3)]


if __name__ == "__main__":
    asyncio.run(main())
    if "--self-test" in sys.argv:
        print("self-test passed")
