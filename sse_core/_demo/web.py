# SPDX-License-Identifier: MIT
"""The board's HTTP API, once, and the WSGI and ASGI applications serving it.

Routes: ``GET /`` (the page), ``POST /tasks`` and ``GET /tasks`` (the tasks),
``GET /tasks/<id>/events`` (a task's output), ``GET /events`` (the board's
notifications), and ``/mcp`` (:mod:`.mcp`).  :meth:`BoardApp.handle` turns
a :class:`Request` into a :class:`Plain` answer or a :class:`Stream` of a hub
topic; the two adapters only move bytes.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .._events import Event
from .._http import last_event_id_from_asgi_headers, last_event_id_from_environ, status_line
from ..asgi import EventStreamResponse as AsgiResponse
from ..asgi import Message, Receive, Scope, Send
from ..wsgi import EventStreamResponse as WsgiResponse
from ..wsgi import Shutdown
from ._feed import Feed
from ._reply import Plain, Reply, Request, Stream, json_reply, text_reply
from .board import BOARD_TOPIC, Board, task_topic
from .mcp import McpServer
from .page import PAGE

__all__ = ("BoardApp", "make_asgi_app", "make_wsgi_app")

#: Reconnection delay the streams ask browsers to use, in milliseconds.
RETRY_MS = 1000
#: Largest request body accepted, in bytes.
MAX_BODY = 64 * 1024

_PAGE = PAGE.encode("utf-8")


def _is_done(event: Event) -> bool:
    return event.event == "done"


class BoardApp:
    """The board's routes over one :class:`Board`."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.mcp = McpServer(board)

    def handle(self, request: Request, last_event_id: str) -> Reply:
        """Answer ``request``; ``last_event_id`` is its sanitised ``Last-Event-ID``."""
        method, path = request.method, request.path
        if path == "/mcp":
            return self.mcp.handle(request)
        if path == "/":
            if method != "GET":
                return text_reply(405, "use GET\n", [("Allow", "GET")])
            return Plain(
                200,
                [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                _PAGE,
            )
        if path == "/tasks":
            if method == "GET":
                return json_reply(200, self.board.views())
            if method != "POST":
                return text_reply(405, "use GET or POST\n", [("Allow", "GET, POST")])
            return self._create(request.body)
        if path == "/events":
            feed = Feed(self.board.hub, BOARD_TOPIC, last_event_id, until=lambda event: False)
            return Stream(feed, [])
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "tasks" and parts[3] == "events":
            task = self.board.get(parts[2])
            if task is None:
                return text_reply(404, f"no task {parts[2]}\n")
            if last_event_id and last_event_id == task.done_id:
                return Plain(204, [], b"")  # seen to the end: stop reconnecting
            return Stream(
                Feed(self.board.hub, task_topic(task.id), last_event_id, until=_is_done), []
            )
        return text_reply(404, "not found\n")

    def _create(self, body: bytes) -> Plain:
        try:
            title = json.loads(body)["title"]
            task = self.board.create(title)
        except (ValueError, KeyError, TypeError) as problem:
            return json_reply(400, {"error": f'send JSON {{"title": "..."}}: {problem}'})
        view = task.view()
        return json_reply(
            201, {"id": task.id, "events": view["events"]}, [("Location", view["events"])]
        )


def make_wsgi_app(
    app: BoardApp, shutdown: Optional[Shutdown] = None
) -> Callable[..., Iterable[bytes]]:
    """The board as a WSGI application; triggering ``shutdown`` ends its streams."""

    def wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            start_response(status_line(413), [("Content-Type", "text/plain")])
            return [b"body too large\n"]
        body = environ["wsgi.input"].read(length) if length else b""
        request = Request(
            environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""), headers, body
        )
        reply = app.handle(request, last_event_id_from_environ(environ))
        if type(reply) is Stream:
            response = WsgiResponse(
                reply.feed, headers=reply.headers, retry=RETRY_MS, shutdown=shutdown
            )
            return response(environ, start_response)
        assert type(reply) is Plain
        start_response(
            status_line(reply.status), [*reply.headers, ("Content-Length", str(len(reply.body)))]
        )
        return [reply.body]

    return wsgi_app


def make_asgi_app(app: BoardApp) -> Callable[[Scope, Receive, Send], Any]:
    """The board as an ASGI application."""

    async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to set up
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers: Dict[str, str] = {}
        for name, value in scope["headers"]:
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await _send_plain(send, text_reply(413, "body too large\n"))
                return
        request = Request(scope["method"], scope["path"], headers, bytes(body))
        last = last_event_id_from_asgi_headers(scope["headers"])
        reply = app.handle(request, last)
        if type(reply) is Stream:
            await AsgiResponse(reply.feed, headers=reply.headers, retry=RETRY_MS)(
                scope, receive, send
            )
            return
        assert type(reply) is Plain
        await _send_plain(send, reply)

    return asgi_app


async def _send_plain(send: Send, reply: Plain) -> None:
    headers: List[Tuple[bytes, bytes]] = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers
    ]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    start: Message = {"type": "http.response.start", "status": reply.status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": reply.body})
