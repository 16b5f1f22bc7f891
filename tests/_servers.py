# SPDX-License-Identifier: MIT
"""Real servers on 127.0.0.1 for the adapter tests, each with hard timeouts.

In-process servers run in a thread (uvicorn, hypercorn, wsgiref), so tests can
look inside: the source's ``finally`` ran, no task or thread was left.
Servers that import the app by name run in a subprocess (waitress, gunicorn,
and the demo command).  Every helper is a context manager that always stops
what it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = START_TIMEOUT, process: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.01)


class Running:
    """A started server: ``url`` to reach it, ``loop`` for in-process asyncio ones."""

    def __init__(self, port: int, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.loop = loop

    def run_in_loop(self, coroutine: Any, timeout: float = 10.0) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@contextlib.contextmanager
def uvicorn_server(app: Any) -> Iterator[Running]:
    import uvicorn

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        log_config=None,
        # "auto": apps that answer lifespan messages get them (and fail to
        # start if startup fails); Django's ASGI handler, which refuses them,
        # still serves.
        lifespan="auto",
        access_log=False,
    )
    server = uvicorn.Server(config)
    loops: List[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, START_TIMEOUT, "uvicorn to start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Running(port, loops[0])
    finally:
        server.should_exit = True
        thread.join(5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(10)
        assert not thread.is_alive(), "uvicorn did not stop"


@contextlib.contextmanager
def raw_asgi_server(app: Any, *, sndbuf: Optional[int] = None) -> Iterator[Running]:
    """``asgi.handle_connection`` on :func:`asyncio.start_server`, in a thread.

    ``sndbuf`` sets the listening socket's ``SO_SNDBUF``, which the accepted
    connections inherit, to make the server's kernel buffer small and known.
    """
    from sse_core import asgi

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    listener = socket.socket()
    if sndbuf is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    listener.bind(("127.0.0.1", 0))

    async def start() -> asyncio.AbstractServer:
        handler = functools.partial(asgi.handle_connection, app)
        return await asyncio.start_server(handler, sock=listener)

    async def stop(server: asyncio.AbstractServer) -> None:
        server.close()
        # Python 3.12 also waits here for every connection to end.
        await asyncio.wait_for(server.wait_closed(), 10)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)

    try:
        server = asyncio.run_coroutine_threadsafe(start(), loop).result(START_TIMEOUT)
        try:
            yield Running(listener.getsockname()[1], loop)
        finally:
            asyncio.run_coroutine_threadsafe(stop(server), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        assert not thread.is_alive(), "the raw server's loop did not stop"
        loop.close()
        listener.close()


@contextlib.contextmanager
def hypercorn_server(app: Any) -> Iterator[Running]:
    with warnings.catch_warnings():
        # h2 4.1 (the last for Python 3.8) builds a set of both bytes and str
        # at import, which -bb turns into an error; HTTP/1.1 never uses it.
        warnings.simplefilter("ignore", BytesWarning)
        import h2.connection  # noqa: F401
        import hypercorn.protocol  # noqa: F401
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    config.graceful_timeout = 1.0
    loops: List[asyncio.AbstractEventLoop] = []
    stop: List[asyncio.Event] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        stop.append(asyncio.Event())
        await serve(app, config, shutdown_trigger=stop[0].wait)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    try:
        wait_until(lambda: bool(stop), START_TIMEOUT, "hypercorn's loop")
        wait_for_port(port)
        yield Running(port, loops[0])
    finally:
        if loops:
            loops[0].call_soon_threadsafe(stop[0].set)
        thread.join(15)
        assert not thread.is_alive(), "hypercorn did not stop"


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver's listen backlog is 5: a hundred clients connecting at once
    # would have their SYNs dropped and retried after 1, 3, 7 s on a loaded
    # machine, past a stream's deadline.
    request_queue_size = 128


class _SilentHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgiref_server(app: Any) -> Iterator[Running]:
    httpd = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_SilentHandler
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Running(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
        assert not thread.is_alive()


def python_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS)])
    env.update(extra)
    return env


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Ask ``process`` to stop, and kill it if it has not within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@contextlib.contextmanager
def subprocess_server(argv: List[str], port: int, **env: str) -> Iterator[Running]:
    """Run ``argv`` (a server listening on ``port``) until the block ends."""
    process = subprocess.Popen(
        argv,
        cwd=str(TESTS),
        env=python_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process=process)
        yield Running(port)
    finally:
        stop_process(process)
        assert process.stdout is not None
        process.stdout.close()


def waitress_argv(port: int) -> List[str]:
    return [
        sys.executable,
        "-m",
        "waitress",
        f"--listen=127.0.0.1:{port}",
        "--threads=8",
        "_apps:wsgi_app",
    ]


def gunicorn_argv(port: int, worker: str) -> List[str]:
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    argv += ["--worker-class", worker, "--graceful-timeout", "2", "--log-level", "warning"]
    if worker == "gthread":
        argv += ["--threads", "8"]
    return [*argv, "_apps:wsgi_app"]
