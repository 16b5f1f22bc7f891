# SPDX-License-Identifier: MIT
"""Event streams shared by every worker and host, through Redis.

Each worker process has one ``RedisBroadcaster``; a client can reconnect to
any worker, on any host, with its ``Last-Event-ID`` and miss nothing.  Run it
(``pip install sse-core[redis] starlette uvicorn``, and a Redis 6.2+)::

    REDIS_URL=redis://127.0.0.1:6379/0 \\
        uvicorn redis_app:app --app-dir examples --workers 4 --port 8000
    python -m sse_core get http://127.0.0.1:8000/topics/news/events
    curl -X POST --data 'hello' http://127.0.0.1:8000/topics/news   # from any worker

``GET /health`` answers 503 while the worker's Redis reader is failing.

``--self-test`` starts ``redis-server`` on a free port in a temporary
directory and two servers of this app, publishes from this process, reads
two events from the first server, resumes on the second, and exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from itertools import islice
from typing import Any, AsyncIterator, List

with warnings.catch_warnings():
    # redis-py compares bytes with str at import: harmless, but an error under
    # ``python -bb``, which the test suite runs this script with.
    warnings.simplefilter("ignore", BytesWarning)
    warnings.filterwarnings("ignore", message=".*Python 3.8")  # cryptography, imported by redis
    import redis

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sse_core import asgi
from sse_core.broadcast import BroadcastUnavailable, RedisBroadcaster
from sse_core.client import EventSource

# One hub per worker process.  Making it does no I/O; its reader thread starts
# with the first subscription, after the server has forked its workers.
client = redis.Redis.from_url(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    socket_timeout=5,  # longer than the reader's 1 s XREAD BLOCK
    socket_connect_timeout=2,
)
hub = RedisBroadcaster(client, prefix="example:")


async def events(request: Request) -> Response:
    try:
        subscription = await hub.asubscribe(
            asgi.last_event_id(request.scope), topic=request.path_params["topic"]
        )
    except BroadcastUnavailable:
        return PlainTextResponse("Redis is unavailable; retry later", status_code=503)
    return asgi.EventStreamResponse(subscription, retry=2000)


async def publish(request: Request) -> Response:
    data = (await request.body()).decode("utf-8", "replace")
    try:
        event = await hub.apublish(data, topic=request.path_params["topic"])
    except BroadcastUnavailable:
        return PlainTextResponse("Redis is unavailable; retry later", status_code=503)
    return PlainTextResponse(event.id or "", status_code=201)


async def health(request: Request) -> Response:
    healthy = hub.healthy
    return PlainTextResponse("ok" if healthy else "redis reader failing", 200 if healthy else 503)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    hub.close()  # ends this worker's streams and stops its reader


app = Starlette(
    routes=[
        Route("/topics/{topic}/events", events),
        Route("/topics/{topic}", publish, methods=["POST"]),
        Route("/health", health),
    ],
    lifespan=lifespan,
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, f"the process for port {port} exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listening on {port}"
            time.sleep(0.05)


def self_test() -> None:
    binary = shutil.which("redis-server")
    assert binary, "the self-test needs redis-server: apt-get install -y redis-server"
    processes: List[Any] = []
    with tempfile.TemporaryDirectory() as directory:
        try:
            redis_port = _free_port()
            argv = [binary, "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""]
            argv += ["--appendonly", "no", "--dir", directory, "--logfile", ""]
            processes.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
            _wait_for(redis_port, processes[0])
            url = f"redis://127.0.0.1:{redis_port}/0"
            ports = [_free_port(), _free_port()]
            here = os.path.dirname(os.path.abspath(__file__))
            for port in ports:  # two servers, standing for two hosts
                argv = [sys.executable, "-m", "uvicorn", "redis_app:app", "--app-dir", here]
                argv += ["--port", str(port), "--log-level", "warning"]
                processes.append(subprocess.Popen(argv, env={**os.environ, "REDIS_URL": url}))
            for port, process in zip(ports, processes[1:]):
                _wait_for(port, process)
            publisher = RedisBroadcaster(
                redis.Redis.from_url(url, socket_timeout=5), prefix="example:"
            )
            first = publisher.publish("first", topic="news")
            later = ["second", "third", "fourth"]
            timer = threading.Timer(
                0.5, lambda: [publisher.publish(data, topic="news") for data in later]
            )
            timer.start()
            stream = f"http://127.0.0.1:{ports[0]}/topics/news/events"
            with EventSource(stream, last_event_id=first.id or "", read_timeout=10) as source:
                seen = [(event.id, event.data) for event in islice(source, 2)]
            assert [data for _, data in seen] == ["second", "third"], seen
            # Resume on the other server: the entry ID means the same there.
            stream = f"http://127.0.0.1:{ports[1]}/topics/news/events"
            with EventSource(stream, last_event_id=seen[-1][0] or "", read_timeout=10) as source:
                rest = [event.data for event in islice(source, 1)]
            assert rest == ["fourth"], rest
            timer.join(10)
            publisher.close()
        finally:
            for process in reversed(processes):
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
    print("self-test passed")


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        self_test()
    else:
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=8000)
