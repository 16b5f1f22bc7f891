# SPDX-License-Identifier: MIT
"""Scale-out over Redis: three servers of two workers each, a publisher process,
hundreds of clients across three topics.

The servers stand for three hosts: uvicorn ``--workers 2``, gunicorn with
uvicorn workers, and gunicorn ``gthread`` serving the WSGI app, each on its
own port, each worker with its own :class:`RedisBroadcaster`.  A publisher in
another process publishes to topics ``t0``, ``t1`` and ``t2``.  The clients
are raw sockets in this process's event loop, decoded by sse_core's
``Decoder``.  Every client must receive every event of its topic exactly once
and in order, also when it drops and reconnects to a *different* server, and
also when redis-server is SIGKILLed and restarted mid-stream.  Each test
prints its counts: published, delivered, lost, repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from sse_core import Decoder
from sse_core.broadcast import RedisBroadcaster

from ._redis import RedisServer, redis_server
from ._servers import TESTS, free_port, python_env, stop_process, wait_for_port

pytestmark = pytest.mark.timeout(120)

TOPICS = ("t0", "t1", "t2")
CLIENTS = 300
PER_TOPIC = 60


def _server_argvs(ports: List[int]) -> List[List[str]]:
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", "2", "--log-level", "warning"]
    gunicorn += ["--graceful-timeout", "2"]
    uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--workers", "2"]
    uvicorn_worker = ["--worker-class", "uvicorn.workers.UvicornWorker"]
    gthread = ["--worker-class", "gthread", "--threads", "250"]
    return [
        [*uvicorn, "--port", str(ports[0]), "--log-level", "warning", "_redis_apps:asgi_app"],
        [*gunicorn, "--bind", f"127.0.0.1:{ports[1]}", *uvicorn_worker, "_redis_apps:asgi_app"],
        [*gunicorn, "--bind", f"127.0.0.1:{ports[2]}", *gthread, "_redis_apps:wsgi_app"],
    ]


@contextlib.contextmanager
def servers(redis: RedisServer, prefix: str, logs: Path) -> Iterator[List[int]]:
    """The three servers, on the ports yielded, stopped at the end of the block."""
    ports = [free_port() for _ in range(3)]
    env = python_env(SSE_REDIS_URL=redis.url, SSE_REDIS_PREFIX=prefix)
    processes: List[subprocess.Popen[bytes]] = []
    try:
        for n, argv in enumerate(_server_argvs(ports)):
            with open(logs / f"server{n}.log", "wb") as log:
                processes.append(
                    subprocess.Popen(argv, cwd=str(TESTS), env=env, stdout=log, stderr=log)
                )
        for port, process in zip(ports, processes):
            wait_for_port(port, process=process)
        yield ports
    finally:
        for process in processes:
            stop_process(process)


def publisher(redis: RedisServer, prefix: str, out: Path, rate: float) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "_redis_apps", redis.url, prefix, str(PER_TOPIC), str(rate)]
    return subprocess.Popen([*argv, str(out)], cwd=str(TESTS), env=python_env())


def published_ids(out: Path) -> Tuple[Dict[str, List[str]], int]:
    ids: Dict[str, List[str]] = {topic: [] for topic in TOPICS}
    refused = 0
    for line in out.read_text().splitlines():
        topic, value = line.split()
        if topic == "refused":
            refused = int(value)
        else:
            ids[topic].append(value)
    return ids, refused


class Client:
    """One EventSource-like client: reconnects with its last ID to the server it is told."""

    def __init__(self, topic: str, last_id: str) -> None:
        self.topic = topic
        self.last_id = last_id
        self.received: List[str] = []
        self.connections = 0
        self.done = False
        self.log: List[Tuple[int, int, str]] = []

    async def read(self, port: int, until: int, deadline: float) -> None:
        """Stream from ``port`` until ``until`` events arrived in all, then hang up."""
        self.connections += 1
        self.log.append((port, len(self.received), self.last_id))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            request = f"GET /events?topic={self.topic} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
            writer.write(f"{request}Last-Event-ID: {self.last_id}\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            assert head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")), head
            decoder = Decoder()
            while not self.done and len(self.received) < until:
                timeout = deadline - time.monotonic()
                chunk = await asyncio.wait_for(reader.read(65536), max(timeout, 0.01))
                assert chunk, f"server on {port} ended the stream"
                for event in decoder.feed(chunk):
                    if event.data and event.id is not None:
                        self.received.append(event.id)
                        self.last_id = event.id
                        self.done = event.data.endswith(" last")
                        if self.done or len(self.received) >= until:
                            break
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def run_clients(
    ports: List[int],
    start_ids: Dict[str, str],
    drop: bool,
    timeout: float,
    made: Optional[List[Client]] = None,
) -> List[Client]:
    """Every client reads its topic's ``PER_TOPIC`` events; with ``drop``, a third
    of them hang up part-way and resume on the next server."""
    rng = random.Random(17)
    deadline = time.monotonic() + timeout
    clients = [Client(TOPICS[n % 3], start_ids[TOPICS[n % 3]]) for n in range(CLIENTS)]
    if made is not None:
        made += clients

    async def follow(n: int, client: Client) -> None:
        port = n % len(ports)
        if drop and n % 3 == 1:
            for cut in sorted(rng.sample(range(5, PER_TOPIC - 5), 2)):
                await client.read(ports[port], cut, deadline)
                port = (port + 1) % len(ports)  # a different server, as after a failover
        await client.read(ports[port], PER_TOPIC * 2, deadline)

    await asyncio.gather(*(follow(n, client) for n, client in enumerate(clients)))
    return clients


def stream_ids(redis: RedisServer, prefix: str, start_ids: Dict[str, str]) -> Dict[str, List[str]]:
    """What each topic's stream holds after its start marker: the truth the
    clients must match (it may hold more than the publisher counted: a publish
    whose connection broke after Redis wrote it raised, yet happened)."""
    client = redis.client()
    try:
        return {
            topic: [
                entry_id.decode()
                for entry_id, _ in client.execute_command(
                    "XRANGE", prefix + topic, "(" + start_ids[topic], "+"
                )
            ]
            for topic in TOPICS
        }
    finally:
        client.close()


def check(
    clients: List[Client], ids: Dict[str, List[str]], stream: Dict[str, List[str]], refused: int
) -> None:
    """Print the counts, then assert every client got its topic's stream once, in order."""
    counts = dict(
        published=sum(map(len, ids.values())),
        refused=refused,
        in_redis=sum(map(len, stream.values())),
        delivered=0,
        lost=0,
        repeated=0,
    )
    for client in clients:
        counts["delivered"] += len(client.received)
        counts["lost"] += len(set(ids[client.topic]) - set(client.received))
        counts["repeated"] += len(client.received) - len(set(client.received))
    counts["reconnected"] = sum(client.connections - 1 for client in clients)
    print(" ".join(f"{name}={value}" for name, value in counts.items()))
    for client in clients:
        assert set(ids[client.topic]) <= set(stream[client.topic])
        assert client.received == stream[client.topic]  # every one, once, in order
    assert counts["published"] == 3 * PER_TOPIC
    assert counts["delivered"] == sum(len(stream[client.topic]) for client in clients)
    assert counts["lost"] == counts["repeated"] == 0


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as running:
        yield running


def _start_ids(redis: RedisServer, prefix: str) -> Dict[str, str]:
    """Publish a start marker (no data) per topic; clients resume after it, so
    none misses an event however late its subscription lands."""
    client = redis.client()
    hub = RedisBroadcaster(client, prefix=prefix)
    try:
        return {topic: hub.publish("", event="start", topic=topic).id or "" for topic in TOPICS}
    finally:
        hub.close()
        client.close()


def _logs(tmp_path: Path) -> str:
    return "\n".join(path.read_text(errors="replace")[-3000:] for path in tmp_path.glob("*.log"))


def test_every_client_gets_every_event_once_across_workers_and_hosts(
    redis: RedisServer, tmp_path: Path
) -> None:
    prefix = f"scale{uuid.uuid4().hex[:6]}:"
    start_ids = _start_ids(redis, prefix)
    with servers(redis, prefix, tmp_path) as ports:
        out = tmp_path / "published.txt"
        process = publisher(redis, prefix, out, rate=90.0)
        try:
            clients = asyncio.run(run_clients(ports, start_ids, drop=True, timeout=60))
        finally:
            assert process.wait(30) == 0, _logs(tmp_path)
        ids, refused = published_ids(out)
        check(clients, ids, stream_ids(redis, prefix, start_ids), refused)
        assert refused == 0
        assert sum(client.connections for client in clients) == CLIENTS + 2 * CLIENTS // 3


def test_redis_killed_and_restarted_under_the_servers(redis: RedisServer, tmp_path: Path) -> None:
    prefix = f"kill{uuid.uuid4().hex[:6]}:"
    start_ids = _start_ids(redis, prefix)
    with servers(redis, prefix, tmp_path) as ports:
        out = tmp_path / "published.txt"
        process: Optional[subprocess.Popen[bytes]] = None

        async def main() -> List[Client]:
            nonlocal process
            clients: List[Client] = []
            running = asyncio.ensure_future(
                run_clients(ports, start_ids, False, timeout=60, made=clients)
            )
            process = publisher(redis, prefix, out, rate=60.0)
            # Mid-stream: once every client is streaming (a subscription made
            # while Redis is down fails, as documented).
            deadline = time.monotonic() + 30
            while not (clients and all(len(c.received) >= 3 for c in clients)):
                assert time.monotonic() < deadline and not running.done()
                await asyncio.sleep(0.02)
            redis.kill()
            await asyncio.sleep(0.5)
            redis.start()
            return await running

        try:
            clients = asyncio.run(main())
        finally:
            assert process is not None and process.wait(30) == 0, _logs(tmp_path)
        ids, refused = published_ids(out)
        check(clients, ids, stream_ids(redis, prefix, start_ids), refused)
        assert refused > 0  # publishes during the outage raised BroadcastUnavailable
