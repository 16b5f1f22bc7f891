# SPDX-License-Identifier: MIT
"""``python -m sse_core demo``: a live page fed by an event stream, stdlib only.

Serves ``/``, a page that opens an ``EventSource`` on ``/events`` and lists
what arrives, and ``/events``, a stream that models an agent's task output
arriving step by step: one ``message`` event about every second, with
consecutive integer IDs.  A request carrying ``Last-Event-ID: N`` continues at
``N + 1``, so a browser that reconnects (say, after the server restarts) picks
up where it left off.

``--server wsgi`` (default) runs :mod:`sse_core.wsgi` under :mod:`wsgiref`
with a thread per connection; ``--server asgi`` runs :mod:`sse_core.asgi`
under the small asyncio HTTP/1.1 server in that module.  Neither needs anything
installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import socket
import socketserver
import sys
import time
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, List, Optional, Set, Tuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ._events import Event
from .asgi import EventStreamResponse as AsgiResponse
from .asgi import Message, Receive, Scope, Send, handle_connection
from .wsgi import EventStreamResponse as WsgiResponse
from .wsgi import Shutdown

__all__ = ("PAGE", "agent_steps", "first_step", "make_wsgi_app", "make_asgi_app", "serve")

#: Reconnection delay the stream asks browsers to use, in milliseconds.
RETRY_MS = 1000

_ACTIONS = (
    "reading the task description",
    "listing the repository",
    "opening sse_core/_decoder.py",
    "running the test suite",
    "3 tests failed; reading the first failure",
    "editing the line splitter",
    "re-running the failing tests",
    "all tests pass",
    "writing the summary",
    "waiting for the next task",
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sse_core demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 46em; }
  #status { font-weight: bold; }
  #status.open { color: #1a7f37; }
  #status.waiting { color: #9a6700; }
  ol { font-family: ui-monospace, monospace; padding-left: 4em; }
  li.new { background: #fff8c5; }
</style>
</head>
<body>
<h1>sse_core demo: an agent's task output, live</h1>
<p>Events from <code>/events</code> through the browser's <code>EventSource</code>.
Stop and restart the server: the page reconnects and resumes after the last ID
it saw (<code>Last-Event-ID</code>).</p>
<p>Connection: <span id="status" class="waiting">connecting</span>;
last event ID: <code id="last">none</code>; events received: <span id="count">0</span></p>
<ol id="events"></ol>
<script>
"use strict";
window.sseLog = [];
window.sseOpens = 0;
const list = document.getElementById("events");
const status = document.getElementById("status");
function setStatus(text, cls) { status.textContent = text; status.className = cls; }
const source = new EventSource("/events");
source.onopen = () => { window.sseOpens += 1; setStatus("open", "open"); };
source.onerror = () => {
  if (source.readyState === EventSource.CONNECTING) setStatus("reconnecting", "waiting");
  else setStatus("closed", "waiting");
};
source.onmessage = (event) => {
  window.sseLog.push({id: event.lastEventId, data: event.data});
  const item = document.createElement("li");
  item.value = Number(event.lastEventId) || 0;
  item.textContent = event.data;
  item.className = "new";
  setTimeout(() => { item.className = ""; }, 600);
  list.appendChild(item);
  document.getElementById("last").textContent = event.lastEventId;
  document.getElementById("count").textContent = String(window.sseLog.length);
  item.scrollIntoView({block: "nearest"});
};
</script>
</body>
</html>
"""


def first_step(last_event_id: str) -> int:
    """The step to start at: one after a numeric ``Last-Event-ID``, else 1."""
    if last_event_id.isdigit() and len(last_event_id) < 18:
        return int(last_event_id) + 1
    return 1


def _step_event(step: int) -> Event:
    return Event(f"step {step}: {_ACTIONS[(step - 1) % len(_ACTIONS)]}", id=str(step))


def agent_steps(last_event_id: str, interval: float) -> Iterator[Event]:
    """The demo stream, blocking: one event every ``interval`` seconds."""
    step = first_step(last_event_id)
    while True:
        yield _step_event(step)
        step += 1
        time.sleep(interval)


async def agent_steps_async(last_event_id: str, interval: float) -> AsyncIterator[Event]:
    """The demo stream for asyncio."""
    step = first_step(last_event_id)
    while True:
        yield _step_event(step)
        step += 1
        await asyncio.sleep(interval)


_PAGE_BYTES = PAGE.encode("utf-8")
_PAGE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", str(len(_PAGE_BYTES))),
    ("Cache-Control", "no-store"),
]
_NOT_FOUND = b"not found\n"


def make_wsgi_app(
    interval: float = 1.0, shutdown: Optional[Shutdown] = None
) -> Callable[..., Iterable[bytes]]:
    """The demo as a WSGI application; triggering ``shutdown`` ends its streams."""
    events = WsgiResponse(
        functools.partial(agent_steps, interval=interval), retry=RETRY_MS, shutdown=shutdown
    )

    def app(environ: Any, start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/events":
            return events(environ, start_response)
        if path == "/":
            start_response("200 OK", list(_PAGE_HEADERS))
            return [_PAGE_BYTES]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [_NOT_FOUND]

    return app


def make_asgi_app(interval: float = 1.0) -> Callable[[Scope, Receive, Send], Any]:
    """The demo as an ASGI application."""
    events = AsgiResponse(functools.partial(agent_steps_async, interval=interval), retry=RETRY_MS)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await events(scope, receive, send)  # answers lifespan messages
            return
        if scope["path"] == "/events":
            await events(scope, receive, send)
            return
        status, headers, body = 200, _PAGE_HEADERS, _PAGE_BYTES
        if scope["path"] != "/":
            status, headers, body = 404, [("Content-Type", "text/plain")], _NOT_FOUND
        start: Message = {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return app


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


def serve(host: str, port: int, server: str = "wsgi", interval: float = 1.0) -> None:
    """Run the demo until interrupted (Ctrl-C raises KeyboardInterrupt).

    Raises:
        OSError: ``host`` and ``port`` cannot be listened on.
    """
    if server == "wsgi":
        server_class = _ThreadingWSGIServer6 if ":" in host else _ThreadingWSGIServer
        shutdown = Shutdown()
        httpd = make_server(
            host,
            port,
            make_wsgi_app(interval, shutdown),
            server_class=server_class,
            handler_class=_LogHandler,
        )
        with httpd:
            _announce("wsgi", httpd.server_address)
            try:
                httpd.serve_forever()
            finally:
                # Open streams (their threads outlive the server) end at
                # their next event, and each client sees its response end.
                shutdown.trigger()
    else:
        asyncio.run(_serve_asgi(host, port, interval))
        raise KeyboardInterrupt  # what stopped it, handled inside the loop


async def _serve_asgi(host: str, port: int, interval: float) -> None:
    """Serve until SIGINT, then close every connection and return."""
    app = make_asgi_app(interval)
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
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)
