# SPDX-License-Identifier: MIT
"""The board's MCP server, on the Streamable HTTP transport (revisions
2025-06-18 and 2025-11-25), as an example of a protocol built on sse_core.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports

Transport, mapped onto the hub:

* ``POST /mcp`` carries one JSON-RPC message.  ``initialize`` opens a session
  (``Mcp-Session-Id``) and is answered in JSON; a notification or a response
  gets ``202``; any other request gets an event stream of its own, a hub
  topic ``mcp/<session>/<n>``: a priming event (an ID, empty data), progress
  notifications, then the response, which ends the stream.
* Every event's ID is ``<n>:<hub ID>``, so ``GET /mcp`` with
  ``Last-Event-ID`` names the stream to resume and where: the hub replays that
  topic only, after that ID.  The tool runs in a thread of its own, started by
  the POST, so a broken connection never stops it nor runs it again.
* ``GET /mcp`` without ``Last-Event-ID`` is the session's stream for server
  messages (topic ``mcp/<session>/0``); ``DELETE /mcp`` ends the session,
  and the hub forgets its topics (as when the oldest session is evicted).
* A foreign ``Origin`` gets 403 (DNS rebinding), an unknown session 404, a
  missing one 400, malformed JSON 400 with a JSON-RPC parse error.

Tools: ``create_task(title)`` runs a board task, sending ``notifications/progress``
per step when the call has a progress token, and returns the task's id and
output; ``reply(task_id, message)`` posts a message on the board's feed.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from .._events import Event
from .._replay import parse_id
from .._version import __version__
from ..broadcast import GAP_EVENT, Broadcaster
from ._feed import Feed
from ._reply import Plain, Reply, Request, Stream, json_reply
from .board import Board, agent_lines, task_topic

__all__ = ("PROTOCOL_VERSIONS", "McpServer")

#: The revisions spoken, newest first (the answer to an unknown one).
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
#: Sessions kept at most; the oldest is dropped beyond (its client gets 404).
MAX_SESSIONS = 1000

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602

TOOLS = [
    {
        "name": "create_task",
        "title": "Create a task",
        "description": "Start a task on the board and wait for the agent to finish it;"
        " reports progress per step.",
        "inputSchema": {
            "type": "object",
            "properties": {"title": {"type": "string", "description": "What to do"}},
            "required": ["title"],
        },
    },
    {
        "name": "reply",
        "title": "Reply on the board",
        "description": "Post a message about a task on the board's notification feed.",
        "inputSchema": {
            "type": "object",
            "properties": {"task_id": {"type": "string"}, "message": {"type": "string"}},
            "required": ["task_id", "message"],
        },
    },
]


def _error(status: int, code: int, message: str, request_id: Any = None) -> Plain:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return json_reply(status, body)


def _is_response(event: Event) -> bool:
    """True for the event that carries a JSON-RPC response: it ends its stream."""
    if not event.data:
        return False  # the priming event
    message = json.loads(event.data)
    return "method" not in message


class _Session:
    def __init__(self, session_id: str, version: str) -> None:
        self.id = session_id
        self.version = version
        self.streams = 0  # streams opened so far; stream 0 is GET's
        self.finals: Dict[int, str] = {}  # stream -> hub ID of its response
        self.ended = False  # deleted, or evicted by newer sessions
        self.lock = threading.Lock()

    def topic(self, stream: int) -> str:
        return f"mcp/{self.id}/{stream}"


class McpServer:
    """The ``/mcp`` endpoint of a board."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.hub: Broadcaster = board.hub
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()
        #: Tool calls started, by tool name (each runs once, whatever the network).
        self.runs: Dict[str, int] = {"create_task": 0, "reply": 0}

    # -- HTTP --------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        """Answer one request to ``/mcp``."""
        if not _same_origin(request.headers):
            return _error(403, INVALID_REQUEST, "Forbidden: the Origin is not this server's")
        if request.method == "POST":
            return self._post(request)
        if request.method in ("GET", "DELETE"):
            session, refusal = self._session(request)
            if session is None:
                assert refusal is not None
                return refusal
            if request.method == "DELETE":
                with self._lock:
                    self._sessions.pop(session.id, None)
                self._end(session)
                return Plain(204, [], b"")
            return self._get(request, session)
        return Plain(405, [("Allow", "GET, POST, DELETE")], b"")

    def _session(self, request: Request) -> Tuple[Optional[_Session], Optional[Plain]]:
        session_id = request.headers.get("mcp-session-id")
        if not session_id:
            return None, _error(400, INVALID_REQUEST, "Bad Request: no Mcp-Session-Id")
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            return None, _error(404, INVALID_REQUEST, "Session not found")
        version = request.headers.get("mcp-protocol-version")
        if version is not None and version not in PROTOCOL_VERSIONS:
            return None, _error(400, INVALID_REQUEST, f"Unsupported MCP-Protocol-Version {version}")
        return session, None

    def _post(self, request: Request) -> Reply:
        accept = request.headers.get("accept", "")
        if "application/json" not in accept or "text/event-stream" not in accept:
            return _error(
                406,
                INVALID_REQUEST,
                "Not Acceptable: accept application/json and text/event-stream",
            )
        try:
            message = json.loads(request.body)
        except ValueError:
            return _error(400, PARSE_ERROR, "Parse error")
        if (
            not isinstance(message, dict)
            or message.get("jsonrpc") != "2.0"
            or not isinstance(message.get("method", ""), str)
        ):
            return _error(400, INVALID_REQUEST, "Invalid Request: one JSON-RPC 2.0 message")
        if message.get("method") == "initialize" and "id" in message:
            return self._initialize(message)
        session, refusal = self._session(request)
        if session is None:
            assert refusal is not None
            return refusal
        if "method" not in message or "id" not in message:
            return Plain(202, [], b"")  # a notification or a response: nothing to answer
        return self._open_stream(session, message)

    def _initialize(self, message: Dict[str, Any]) -> Plain:
        params = message.get("params") or {}
        asked = params.get("protocolVersion") if isinstance(params, dict) else None
        version = asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]
        session = _Session(secrets.token_hex(16), version)
        # The session's GET stream starts with its priming event.
        self.board.publish("", topic=session.topic(0))
        with self._lock:
            self._sessions[session.id] = session
            evicted = []
            while len(self._sessions) > MAX_SESSIONS:
                evicted.append(self._sessions.popitem(last=False)[1])
        for old in evicted:
            self._end(old)
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "sse_core demo board", "version": __version__},
            "instructions": "create_task runs a task on the board; reply posts on its feed.",
        }
        body = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        return json_reply(200, body, [("Mcp-Session-Id", session.id)])

    def _end(self, session: _Session) -> None:
        """End a session: its streams end, and the hub forgets its topics, so
        sessions that come and go hold no memory once gone."""
        with session.lock:
            session.ended = True
            streams = session.streams
        for stream in range(streams + 1):
            self.hub.forget(session.topic(stream))

    def _get(self, request: Request, session: _Session) -> Reply:
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _error(406, INVALID_REQUEST, "Not Acceptable: accept text/event-stream")
        last = request.headers.get("last-event-id", "")
        if not last:
            return self._stream(session, 0, "")
        stream_text, _, hub_id = last.partition(":")
        if len(stream_text) >= 10 or parse_id(stream_text) is None or parse_id(hub_id) is None:
            return _error(400, INVALID_REQUEST, "Bad Request: a Last-Event-ID not from this server")
        stream = int(stream_text)
        with session.lock:
            known = stream <= session.streams
            final = session.finals.get(stream)
        if not known:
            return _error(400, INVALID_REQUEST, "Bad Request: no such stream in this session")
        if final == hub_id:
            return Plain(204, [], b"")  # the response was delivered: nothing follows
        return self._stream(session, stream, hub_id)

    def _stream(self, session: _Session, stream: int, after: str) -> Stream:
        def rename(event: Event) -> Event:
            if event.id is None:  # the hub's gap marker: sent as it is
                return event
            return Event(event.data, event=event.event, id=f"{stream}:{event.id}")

        never = stream == 0  # the GET stream has no response to end it
        feed = Feed(
            self.hub,
            session.topic(stream),
            after,
            until=(lambda event: False) if never else _is_response,
            rename=rename,
        )
        return Stream(feed, [("Mcp-Session-Id", session.id)])

    # -- JSON-RPC ----------------------------------------------------------------

    def _open_stream(self, session: _Session, message: Dict[str, Any]) -> Stream:
        """Answer a request on a stream of its own, its work running on a thread."""
        with session.lock:
            session.streams += 1
            stream = session.streams
        topic = session.topic(stream)
        self.board.publish("", topic=topic)  # priming: an ID to resume from
        worker = threading.Thread(
            target=self._answer, args=(session, stream, message), name=f"mcp-{stream}"
        )
        worker.daemon = True
        worker.start()
        return self._stream(session, stream, "")

    def _answer(self, session: _Session, stream: int, message: Dict[str, Any]) -> None:
        topic = session.topic(stream)
        request_id = message["id"]
        try:
            result = self._dispatch(message, topic)
            reply: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "result": result}
        except _RpcError as error:
            reply = {"jsonrpc": "2.0", "id": request_id, "error": error.body()}
        final = self.board.publish(json.dumps(reply), topic=topic)
        with session.lock:
            session.finals[stream] = final.id or ""
            ended = session.ended
        if ended:  # while this ran: what it published made the topic again
            self.hub.forget(topic)

    def _dispatch(self, message: Dict[str, Any], topic: str) -> Dict[str, Any]:
        method = message["method"]
        params = message.get("params") or {}
        if not isinstance(params, dict):
            raise _RpcError(INVALID_PARAMS, "params must be an object")
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": TOOLS}
        if method == "tools/call":
            return self._call(params, topic)
        raise _RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    def _call(self, params: Dict[str, Any], topic: str) -> Dict[str, Any]:
        name = params.get("name")
        arguments = params.get("arguments") or {}
        meta = params.get("_meta") or {}
        if name not in self.runs or not isinstance(arguments, dict):
            raise _RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
        with self._lock:
            self.runs[name] += 1
        if name == "reply":
            task_id, text = arguments.get("task_id"), arguments.get("message")
            try:
                event = self.board.reply(str(task_id), text)
            except KeyError:
                return _tool_result(f"no task {task_id}", error=True)
            except ValueError as problem:
                raise _RpcError(INVALID_PARAMS, str(problem)) from None
            return _tool_result(f"posted on the board as event {event.id}")
        try:
            task = self.board.create(arguments.get("title"))
        except ValueError as problem:
            raise _RpcError(INVALID_PARAMS, str(problem)) from None
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        total = len(agent_lines(task.title))
        output = []
        with self.hub.subscribe(topic=task_topic(task.id), from_start=True) as steps:
            for step in steps:
                if step is None or step.event == GAP_EVENT:
                    continue  # idle, or steps gone from the window: report the rest
                if step.event == "done":
                    break
                output.append(step.data)
                if token is not None:
                    progress = {
                        "progressToken": token,
                        "progress": len(output),
                        "total": total,
                        "message": step.data,
                    }
                    note = {
                        "jsonrpc": "2.0",
                        "method": "notifications/progress",
                        "params": progress,
                    }
                    self.board.publish(json.dumps(note), topic=topic)
        text = f"task {task.id} done:\n" + "\n".join(output)
        return _tool_result(text, structured={"id": task.id, "output": output})


def _tool_result(
    text: str, *, error: bool = False, structured: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    result: Dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": error}
    if structured is not None:
        result["structuredContent"] = structured
    return result


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    def body(self) -> Dict[str, Any]:
        return {"code": self.code, "message": str(self)}


def _same_origin(headers: Dict[str, str]) -> bool:
    """True without an ``Origin`` (not a browser), or when it names this server."""
    origin = headers.get("origin")
    if origin is None:
        return True
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        return False
    return bool(netloc) and netloc == headers.get("host")
