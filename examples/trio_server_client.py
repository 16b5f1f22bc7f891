# SPDX-License-Identifier: MIT
"""The sans-IO core on trio: a server and a client over 127.0.0.1.

Run it: ``pip install trio``, then ``python examples/trio_server_client.py``.
docs/sans-io.md walks through this program.
"""

from __future__ import annotations

import functools
import sys
from typing import List, Tuple

import trio

from sse_core import Decoder, Event, encode

RESPONSE_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Connection: close\r\n"
    b"\r\n"
)


async def read_head(stream: trio.SocketStream) -> Tuple[bytes, bytes]:
    """Read up to the blank line ending an HTTP head; return (head, bytes after it)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("connection closed inside the head")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


async def serve_events(stream: trio.SocketStream) -> None:
    async with stream:
        await read_head(stream)  # a real server parses it
        await stream.send_all(RESPONSE_HEAD)
        for n in range(1, 4):
            await stream.send_all(encode(Event(data=f"tick {n}", id=str(n))))
            await trio.sleep(0.05)


async def read_events(port: int) -> List[Event]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head, rest = await read_head(stream)
        assert head.startswith(b"HTTP/1.1 200 "), head
        decoder = Decoder()
        events = decoder.feed(rest)  # body bytes that came with the head
        while True:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            events += decoder.feed(chunk)
        events += decoder.close()
        return events


async def main() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, serve_events, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        events = await read_events(port)
        nursery.cancel_scope.cancel()  # stop serving
    for event in events:
        print(event.id, event.data)
    assert events == [Event(f"tick {n}", id=str(n)) for n in (1, 2, 3)]


if __name__ == "__main__":
    trio.run(main)
    if "--self-test" in sys.argv:
        print("self-test passed")
