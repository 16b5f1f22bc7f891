# SPDX-License-Identifier: MIT
"""Fan-out over Redis against the in-process broadcaster, and one worker's capacity.

Needs ``redis-server`` on PATH, uvicorn and redis-py (the ``test`` extra)::

    python benchmarks/fanout.py latency      # 1,000 subscribers, 100 events/s
    python benchmarks/fanout.py capacity     # 10,000 idle subscribers, one worker
    python benchmarks/fanout.py all --quick  # smaller numbers, a smoke run

``latency`` serves the same ASGI app twice: uvicorn ``--workers 4`` with one
``RedisBroadcaster`` per worker, then one uvicorn process with an in-process
``Broadcaster``.  The subscribers are raw sockets in this process's event
loop (HTTP/1.0, decoded by sse_core's ``Decoder``).  Each event carries the
wall-clock time it was published; latency is its arrival time minus that.  The
CPU cost per delivered event is the CPU time of the server processes (and of
redis-server) over the run, from ``/proc``, divided by the events delivered;
this process's client CPU is left out.

``capacity`` opens 10,000 idle streams on one uvicorn worker (Redis backend,
one topic), raising the descriptor limit first, and reports the worker's
memory per open stream (its RSS growth divided by the streams) and how late
each ``: ping`` heartbeat arrives after the one before it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent

#: The app both backends serve, written to a temporary module.  It reads its
#: configuration from the environment: BACKEND (redis or memory), REDIS_URL,
#: HEARTBEAT (seconds).
APP = """
import os, threading, time
from urllib.parse import parse_qs
from sse_core import asgi
from sse_core.broadcast import Broadcaster, RedisBroadcaster

if os.environ["BACKEND"] == "redis":
    import redis
    hub = RedisBroadcaster(redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=10),
                           prefix=os.environ["PREFIX"])
else:
    hub = Broadcaster()
HEARTBEAT = float(os.environ.get("HEARTBEAT", "15"))

def _publish(rate, count, size):
    start = time.monotonic()
    pad = "x" * size
    for n in range(count):
        hub.publish("%.6f %s" % (time.time(), pad))
        if rate:
            delay = start + (n + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["path"] == "/start":
        q = {k: float(v[0]) for k, v in parse_qs(scope["query_string"].decode()).items()}
        threading.Thread(target=_publish, args=(q["rate"], int(q["count"]), int(q["size"]))).start()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
        return
    if scope["path"] == "/pid":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
        return
    if os.environ["BACKEND"] == "redis":
        subscription = await hub.asubscribe(asgi.last_event_id(scope))
    else:
        subscription = hub.subscribe(asgi.last_event_id(scope))
    await asgi.EventStreamResponse(subscription, heartbeat=HEARTBEAT)(scope, receive, send)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def children(pid: int) -> List[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


class Servers:
    """redis-server and the app's uvicorn, started and always stopped."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.processes: List[subprocess.Popen[bytes]] = []
        self.redis_port = free_port()
        Path(directory, "fanout_app.py").write_text(APP)

    def start_redis(self) -> int:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is needed: apt-get install -y redis-server")
        argv = [binary, "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", ""]
        argv += ["--appendonly", "no", "--dir", self.directory, "--logfile", ""]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        self.processes.append(process)
        wait_for_port(self.redis_port)
        return process.pid

    def start_app(self, backend: str, workers: int, heartbeat: float) -> Tuple[int, int]:
        port = free_port()
        env = dict(os.environ, BACKEND=backend, HEARTBEAT=str(heartbeat), PREFIX="bench:")
        env["REDIS_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), self.directory])
        argv = [sys.executable, "-m", "uvicorn", "fanout_app:app", "--port", str(port)]
        argv += ["--log-level", "warning", "--backlog", "4096", "--no-access-log"]
        if workers > 1:
            argv += ["--workers", str(workers)]
        process = subprocess.Popen(argv, cwd=self.directory, env=env)
        self.processes.append(process)
        wait_for_port(port)
        return port, process.pid

    def stop_last(self) -> None:
        process = self.processes.pop()
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def stop(self) -> None:
        while self.processes:
            self.stop_last()


async def http_get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    body = (await reader.read()).split(b"\r\n\r\n", 1)[1]
    writer.close()
    return body.decode()


class Subscriber:
    def __init__(self) -> None:
        self.latencies: List[float] = []
        self.pings: List[float] = []
        self.writer: Optional[asyncio.StreamWriter] = None

    async def open(self, port: int) -> asyncio.StreamReader:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(b"GET /events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        return reader

    async def read(self, reader: asyncio.StreamReader, count: int) -> None:
        from sse_core import Decoder

        decoder = Decoder()
        while len(self.latencies) < count:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.time()
            if b": ping" in chunk:
                self.pings.extend([time.monotonic()] * chunk.count(b": ping"))
            for event in decoder.feed(chunk):
                self.latencies.append(now - float(event.data.split(" ", 1)[0]))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def open_all(
    port: int, count: int, parallel: int = 200
) -> List[Tuple[Subscriber, asyncio.StreamReader]]:
    opened: List[Tuple[Subscriber, asyncio.StreamReader]] = []
    limit = asyncio.Semaphore(parallel)

    async def one() -> None:
        async with limit:
            subscriber = Subscriber()
            opened.append((subscriber, await subscriber.open(port)))

    await asyncio.gather(*(one() for _ in range(count)))
    return opened


def percentile(values: List[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def fanout_run(
    port: int, pids: List[int], subscribers: int, rate: float, count: int, size: int
) -> Dict[str, float]:
    opened = await open_all(port, subscribers)
    await asyncio.sleep(1.0)  # every subscription made, the readers following
    readers = [asyncio.ensure_future(s.read(r, count)) for s, r in opened]
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    client_before = time.process_time()
    started = time.monotonic()
    await http_get(port, f"/start?rate={rate}&count={count}&size={size}")
    await asyncio.wait_for(asyncio.gather(*readers), timeout=count / (rate or 1000) + 120)
    elapsed = time.monotonic() - started
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    client_cpu = time.process_time() - client_before
    for subscriber, _ in opened:
        subscriber.close()
    latencies = [value for s, _ in opened for value in s.latencies]
    delivered = len(latencies)
    assert delivered == subscribers * count, (delivered, subscribers * count)
    return {
        "delivered": delivered,
        "seconds": elapsed,
        "per_second": delivered / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "cpu_s": cpu,
        "cpu_us_per_event": cpu / delivered * 1e6,
        "client_busy": client_cpu / elapsed,
    }


def latency(subscribers: int, events: int, rates: Tuple[float, ...], size: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        servers = Servers(directory)
        try:
            redis_pid = servers.start_redis()
            rows = []
            for backend, workers in (("redis", 4), ("memory", 1)):
                for this_rate in (*rates, 0.0):
                    port, master = servers.start_app(backend, workers, heartbeat=15)
                    # About five seconds of publishing at each rate.
                    count = max(50, int(this_rate * 5)) if this_rate else events
                    pids = children(master) if workers > 1 else [master]
                    if backend == "redis":
                        pids.append(redis_pid)
                    result = asyncio.run(
                        fanout_run(port, pids, subscribers, this_rate, count, size)
                    )
                    rows.append((backend, workers, this_rate, count, result))
                    servers.stop_last()
        finally:
            servers.stop()
    print(f"\n{subscribers} subscribers, events of {size} B")
    print(
        "| backend | workers | publish rate | events | delivered/s | p50 ms | p99 ms | max ms "
        "| server CPU per delivered event | client process busy |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for backend, workers, this_rate, count, r in rows:
        shown = f"{this_rate:.0f}/s" if this_rate else "as fast as it can"
        print(
            f"| {backend} | {workers} | {shown} | {count} | {r['per_second']:,.0f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} "
            f"| {r['cpu_us_per_event']:.1f} µs | {r['client_busy']:.0%} |"
        )


def raise_descriptor_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else max(soft, min(wanted, hard))
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def capacity_run(port: int, pid: int, streams: int, heartbeat: float, periods: int) -> None:
    warm = await open_all(port, 10)
    await asyncio.sleep(1.0)
    base = rss_bytes(pid)
    started = time.monotonic()
    opened = await open_all(port, streams - 10)
    connect_seconds = time.monotonic() - started
    readers = [asyncio.ensure_future(s.read(r, 1)) for s, r in warm + opened]
    await asyncio.sleep(heartbeat * (periods + 1) + 1)
    grown = rss_bytes(pid) - base
    lateness = []
    counted = 0
    for subscriber, _ in warm + opened:
        pings = subscriber.pings
        counted += len(pings) >= periods
        lateness += [b - a - heartbeat for a, b in zip(pings, pings[1:])]
    for reader in readers:
        reader.cancel()
    for subscriber, _ in warm + opened:
        subscriber.close()
    print(f"\n{streams} idle streams on one uvicorn worker, heartbeat every {heartbeat:g} s")
    print(f"opened in {connect_seconds:.1f} s; streams with {periods}+ heartbeats: {counted}")
    print("| memory per open stream | heartbeat lateness p50 | p99 | max |")
    print("| --- | --- | --- | --- |")
    print(
        f"| {grown / (streams - 10) / 1024:.1f} KiB | {percentile(lateness, 0.5) * 1000:.0f} ms "
        f"| {percentile(lateness, 0.99) * 1000:.0f} ms | {max(lateness) * 1000:.0f} ms |"
    )


def capacity(streams: int, heartbeat: float, periods: int) -> None:
    raise_descriptor_limit(streams * 2 + 1000)  # inherited by the server too
    with tempfile.TemporaryDirectory() as directory:
        servers = Servers(directory)
        try:
            servers.start_redis()
            port, pid = servers.start_app("redis", 1, heartbeat)
            asyncio.run(capacity_run(port, pid, streams, heartbeat, periods))
        finally:
            servers.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["latency", "capacity", "all"])
    parser.add_argument("--quick", action="store_true", help="small numbers, a smoke run")
    args = parser.parse_args()
    if args.what in ("latency", "all"):
        if args.quick:
            latency(subscribers=100, events=50, rates=(100,), size=100)
        else:
            latency(subscribers=1000, events=200, rates=(10, 100), size=100)
    if args.what in ("capacity", "all"):
        if args.quick:
            capacity(streams=500, heartbeat=1.0, periods=2)
        else:
            capacity(streams=10_000, heartbeat=5.0, periods=3)


if __name__ == "__main__":
    main()
