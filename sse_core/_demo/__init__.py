# SPDX-License-Identifier: MIT
"""``python -m sse_core demo``: an agent task board over server-sent events, stdlib only.

Submit a task (from the page, or ``POST /tasks``) and a simulated agent works
on it: its output streams step by step from ``/tasks/<id>/events``, and the
board's notifications from ``/events``; agents talk to the board over MCP at
``/mcp``.  Every stream is a topic of one in-process hub, resumable with
``Last-Event-ID``; a journal lets a restarted board carry on where it stopped.

``--server wsgi`` (default) runs :mod:`sse_core.wsgi` under :mod:`wsgiref`
with a thread per connection; ``--server asgi`` runs :mod:`sse_core.asgi`
under the small asyncio HTTP/1.1 server in that module.  Neither needs anything
installed.  The modules: :mod:`.board` (tasks, agents, journal), :mod:`.web`
(routes and the two applications), :mod:`.mcp` (the MCP server),
:mod:`.page` (the HTML), :mod:`._feed` (a hub topic as a response's events).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import socketserver
import sys
import tempfile
from typing import Any, List, Optional, Set, Tuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..asgi import handle_connection
from ..broadcast import Broadcaster
from ..wsgi import Shutdown
from .board import Board
from .web import BoardApp, make_asgi_app, make_wsgi_app

__all__ = ("board_app", "default_journal", "serve")


def default_journal(port: int) -> str:
    """Where the board on ``port`` keeps its journal unless told otherwise."""
    return os.path.join(tempfile.gettempdir(), f"sse_core-demo-{port}.jsonl")


def board_app(interval: float = 1.0, journal: Optional[str] = None) -> BoardApp:
    """A started board (sample task running) and its routes."""
    board = Board(Broadcaster(), interval=interval, journal=journal)
    board.start()
    return BoardApp(board)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _ThreadingWSGIServer6(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _LogHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def _announce(server: str, address: Tuple[Any, ...]) -> None:
    host, port = address[0], address[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"sse_core demo ({server}) on http://{shown}:{port}/  (Ctrl-C stops)", flush=True)


def serve(
    host: str,
    port: int,
    server: str = "wsgi",
    interval: float = 1.0,
    journal: Optional[str] = None,
) -> None:
    """Run the demo until interrupted (Ctrl-C raises KeyboardInterrupt).

    ``journal`` is the board's journal file (None: :func:`default_journal` of
    the port listened on; ``""``: none).

    Raises:
        OSError: ``host`` and ``port`` cannot be listened on.
    """
    if server == "wsgi":
        server_class = _ThreadingWSGIServer6 if ":" in host else _ThreadingWSGIServer
        shutdown = Shutdown()
        httpd = make_server(
            host, port, _unset, server_class=server_class, handler_class=_LogHandler
        )
        with httpd:
            app = _board_for(httpd.server_address[1], interval, journal)
            httpd.set_app(make_wsgi_app(app, shutdown))
            _announce("wsgi", httpd.server_address)
            try:
                httpd.serve_forever()
            finally:
                # Open streams (their threads outlive the server) end at
                # their next event, and each client sees its response end.
                shutdown.trigger()
                app.board.close()
    else:
        asyncio.run(_serve_asgi(host, port, interval, journal))
        raise KeyboardInterrupt  # what stopped it, handled inside the loop


def _unset(environ: Any, start_response: Any) -> List[bytes]:  # pragma: no cover
    raise AssertionError("replaced before serving")  # the board needs the bound port first


def _board_for(port: int, interval: float, journal: Optional[str]) -> BoardApp:
    return board_app(interval, default_journal(port) if journal is None else journal or None)


async def _serve_asgi(host: str, port: int, interval: float, journal: Optional[str]) -> None:
    """Serve until SIGINT, then close every connection and return."""
    app: Any = None
    connections: Set[Any] = set()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        connections.add(task)
        try:
            await handle_connection(app, reader, writer)
        except asyncio.CancelledError:
            # Stopping: the task ends normally rather than cancelled, because
            # the stream server's done callback on Python 3.11 and 3.12 calls
            # task.exception() on a cancelled task and logs a traceback.
            # Nothing awaits this task, so nobody misses the cancellation.
            pass
        finally:
            connections.discard(task)

    listener = await asyncio.start_server(connection, host, port)
    sockets: List[Any] = list(listener.sockets or [])
    board = _board_for(sockets[0].getsockname()[1], interval, journal)
    app = make_asgi_app(board)
    stop = asyncio.Event()
    with contextlib.ExitStack() as stack:
        # Ctrl-C sets `stop` between two callbacks, rather than raising
        # KeyboardInterrupt wherever the loop happens to be (what Python
        # before 3.11 does), so every connection closes cleanly.
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, stop.set)
            stack.callback(loop.remove_signal_handler, signal.SIGINT)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            # Windows' loops have no signal handlers, and none can be set
            # outside the main thread: Ctrl-C then raises KeyboardInterrupt
            # out of the loop, which still stops the demo.
            pass
        _announce("asgi", sockets[0].getsockname())
        try:
            await stop.wait()
        finally:
            # Not Server.serve_forever() or `async with listener`: on Python
            # 3.12 they wait for every connection to end, and a stream never does.
            listener.close()
            board.board.close()
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)
