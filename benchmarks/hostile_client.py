# SPDX-License-Identifier: MIT
"""Peak memory of both EventSource clients against a hostile server over 127.0.0.1.

Run from the project root (standard library only)::

    python benchmarks/hostile_client.py            # 64 MB after the bad chunk size
    python benchmarks/hostile_client.py --mb 220

The server answers ``200 text/event-stream``, chunked, with a chunk size line
of ``-1`` and then N MB of bytes until it closes the connection (issue 18.1:
``AsyncEventSource`` used to read all of it into memory and deliver nothing).
Each client runs with ``max_event_size`` 64 KiB and no reconnection; the table
gives its tracemalloc peak, the time until it gave up, the bytes the server
managed to send, and how it ended.  To measure an older checkout, put its
directory first: ``PYTHONPATH=/path/to/old python benchmarks/hostile_client.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import socket
import sys
import threading
import time
import tracemalloc
from typing import Any, Callable, List, Tuple

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sse_core import ReconnectPolicy
from sse_core.async_client import AsyncEventSource
from sse_core.client import EventSource

MiB = 1024 * 1024
BLOCK = b"x" * 65536
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n-1\r\n"
)


class NegativeChunkServer:
    """Serves one connection: the head, ``-1``, then ``total`` bytes."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, contextlib.suppress(OSError):
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(HEAD)
            while self.sent < self.total:
                conn.sendall(BLOCK)
                self.sent += len(BLOCK)

    def close(self) -> None:
        self.thread.join(60)
        self.listener.close()


def run_sync(url: str) -> str:
    policy = ReconnectPolicy(max_attempts=0)
    events = 0
    try:
        with EventSource(url, policy=policy, max_event_size=64 * 1024) as source:
            for _ in source:
                events += 1
    except Exception as error:
        cause = error.__cause__
        return f"{events} events, {type(error).__name__} ({type(cause).__name__})"
    return f"{events} events, ended quietly"


def run_async(url: str) -> str:
    async def main() -> str:
        policy = ReconnectPolicy(max_attempts=0)
        events = 0
        try:
            async with AsyncEventSource(url, policy=policy, max_event_size=64 * 1024) as source:
                async for _ in source:
                    events += 1
        except Exception as error:
            cause = error.__cause__
            return f"{events} events, {type(error).__name__} ({type(cause).__name__})"
        return f"{events} events, ended quietly"

    return asyncio.run(main())


def measure(total: int, client: Callable[[str], str]) -> Tuple[float, float, int, str]:
    server = NegativeChunkServer(total)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        outcome = client(f"http://127.0.0.1:{server.port}/")
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        server.close()
    return peak / MiB, elapsed, server.sent, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=64, help="MB the server sends (default 64)")
    args = parser.parse_args()
    total = args.mb * 1000 * 1000
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{python}, -1 chunk then {args.mb} MB")
    rows: List[Tuple[str, Any]] = [("sync", run_sync), ("async", run_async)]
    print(f"{'client':8} {'peak MiB':>9} {'seconds':>8} {'MB sent':>8}  outcome")
    for name, client in rows:
        peak, elapsed, sent, outcome = measure(total, client)
        print(f"{name:8} {peak:9.2f} {elapsed:8.3f} {sent / 1e6:8.1f}  {outcome}")


if __name__ == "__main__":
    main()
