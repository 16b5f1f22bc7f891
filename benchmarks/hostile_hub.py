# SPDX-License-Identifier: MIT
"""Measure what hostile publish patterns cost the in-process hub (issue 18, items 7, 8, 11).

Run from the project root (standard library only)::

    python benchmarks/hostile_hub.py           # full sizes, about half a minute
    python benchmarks/hostile_hub.py --quick   # smaller sizes
    python benchmarks/hostile_hub.py --child publish_cost 200 2000   # one case, as JSON

Each case runs in a fresh subprocess, so its peak memory (``ru_maxrss``) is
its own; the growth column is the peak minus the process's size before the
case started.

* ``burst``: N asyncio subscribers wait; a coroutine publishes P events in a
  row without yielding to the loop (the readers can run only afterwards).
  Reports the callbacks scheduled on the loop during the burst, the burst's
  time, the peak growth, and the time for every reader to drain.
* ``publish cost``: the time of one publish to 200 waiting asyncio
  subscribers, from inside the loop and from another thread.
* ``large events``: 1,000 events of 1 MB published with the default bounds;
  the memory the hub still holds afterwards.
* ``never started``: connect, send a request and reset, against
  ``asgi.handle_connection`` serving ``hub.subscribe``; the subscriptions left
  open once every connection ended.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import resource
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sse_core import asgi
from sse_core.broadcast import Broadcaster

MiB = 1024 * 1024


def _rss_peak() -> int:
    """Peak resident size of this process, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _CountingLoop(asyncio.SelectorEventLoop):
    scheduled = 0

    def call_soon(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.scheduled += 1
        return super().call_soon(*args, **kwargs)

    def call_soon_threadsafe(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.scheduled += 1
        return super().call_soon_threadsafe(*args, **kwargs)


def burst(subscribers: int, publishes: int, policy: str) -> Dict[str, Any]:
    hub = Broadcaster(policy=policy)
    loop = _CountingLoop()
    received: List[int] = []

    async def read(subscription: Any) -> None:
        count = 0
        async for _ in subscription:
            count += 1
        received.append(count)

    async def main() -> Dict[str, Any]:
        readers = [asyncio.ensure_future(read(hub.subscribe())) for _ in range(subscribers)]
        for _ in range(10):
            await asyncio.sleep(0)
        before_rss = _rss_peak()
        before = loop.scheduled
        start = time.perf_counter()
        for i in range(publishes):
            hub.publish(str(i))
        burst_seconds = time.perf_counter() - start
        scheduled = loop.scheduled - before
        hub.close()
        await asyncio.gather(*readers)
        return {
            "scheduled": scheduled,
            "burst_s": burst_seconds,
            "drain_s": time.perf_counter() - start - burst_seconds,
            "growth_mib": (_rss_peak() - before_rss) / MiB,
            "received_max": max(received),
        }

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def publish_cost(subscribers: int, publishes: int) -> Dict[str, Any]:
    hub = Broadcaster(queue_size=publishes * 2 + 10)
    results: Dict[str, Any] = {}

    async def read(subscription: Any) -> None:
        async for _ in subscription:
            pass

    async def main() -> None:
        readers = [asyncio.ensure_future(read(hub.subscribe())) for _ in range(subscribers)]
        for _ in range(10):
            await asyncio.sleep(0)
        # One publish at a time, each to readers that all wait again after it.
        total = 0.0
        for i in range(publishes):
            start = time.perf_counter()
            hub.publish(str(i))
            total += time.perf_counter() - start
            for _ in range(3):
                await asyncio.sleep(0)
        results["in_loop_us"] = total / publishes * 1e6
        times: List[float] = []

        def from_thread() -> None:
            start = time.perf_counter()
            hub.publish("t")
            times.append(time.perf_counter() - start)

        for _ in range(publishes):
            thread = threading.Thread(target=from_thread)
            thread.start()
            while thread.is_alive():
                await asyncio.sleep(0.0005)
            for _ in range(3):
                await asyncio.sleep(0)
        results["thread_us"] = sum(times) / len(times) * 1e6
        hub.close()
        await asyncio.gather(*readers)

    asyncio.run(main())
    return results


def large_events(count: int, size: int) -> Dict[str, Any]:
    before = _current_rss()
    hub = Broadcaster()
    for i in range(count):
        hub.publish(chr(ord("a") + i % 26) * size)
    return {"held_mib": (_current_rss() - before) / MiB}


def _current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def never_started(cycles: int) -> Dict[str, Any]:
    hub = Broadcaster()
    app = asgi.EventStreamResponse(lambda last_event_id: hub.subscribe(last_event_id))
    result: Dict[str, Any] = {}

    async def main() -> None:
        server = await asyncio.start_server(
            functools.partial(asgi.handle_connection, app), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        request = b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n"
        baseline = len(asyncio.all_tasks())

        def connect_and_reset() -> None:
            for _ in range(cycles):
                with socket.create_connection(("127.0.0.1", port)) as sock:
                    sock.sendall(request)
                    linger = struct.pack("ii", 1, 0)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)

        await asyncio.get_running_loop().run_in_executor(None, connect_and_reset)
        deadline = time.monotonic() + 30
        while len(asyncio.all_tasks()) > baseline and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        result["left_open"] = hub.subscriber_count
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    return result


def _child(case: str, args: List[str]) -> Dict[str, Any]:
    cases: Dict[str, Callable[..., Dict[str, Any]]] = {
        "burst": lambda n, p, policy: burst(int(n), int(p), policy),
        "publish_cost": lambda n, p: publish_cost(int(n), int(p)),
        "large_events": lambda n, s: large_events(int(n), int(s)),
        "never_started": lambda n: never_started(int(n)),
    }
    return cases[case](*args)


def _run(case: str, *args: object) -> Dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", case, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: Dict[str, Any] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1:])))
        return
    scale = 10 if args.quick else 1
    print(f"{platform.python_implementation()} {platform.python_version()}")
    for policy in ("disconnect", "drop_oldest"):
        subscribers, publishes = 500, 20_000 // scale
        r = _run("burst", subscribers, publishes, policy)
        print(
            f"burst, {policy:11} {subscribers} subscribers x {publishes} publishes:"
            f" loop callbacks scheduled: {r['scheduled']}, burst {r['burst_s']:.2f} s,"
            f" drained in {r['drain_s']:.2f} s, peak +{r['growth_mib']:.0f} MiB,"
            f" at most {r['received_max']} events per reader"
        )
    r = _run("publish_cost", 200, 2000 // scale)
    print(
        f"publish cost, 200 waiting asyncio subscribers: {r['in_loop_us']:.0f} us in the loop,"
        f" {r['thread_us']:.0f} us from a thread"
    )
    count = 1000 // scale
    r = _run("large_events", count, 1_000_000)
    print(f"large events, {count} x 1 MB, default bounds: {r['held_mib']:.1f} MiB held")
    cycles = 2000 // scale
    r = _run("never_started", cycles)
    print(
        f"never started, {cycles} connect+reset cycles on handle_connection:"
        f" {r['left_open']} subscriptions left open"
    )


if __name__ == "__main__":
    main()
