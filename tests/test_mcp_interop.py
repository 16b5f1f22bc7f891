# SPDX-License-Identifier: MIT
"""MCP's Streamable HTTP transport against software nobody here wrote.

* The official ``mcp`` SDK's client against the demo board's ``/mcp`` (both
  adapters): initialize, tools/list, create_task with progress before the
  result, reply reaching a board subscriber; then a stream cut mid-call that
  the SDK resumes by GET with Last-Event-ID, the tool run once.
* sse_core's ``EventSource``, ``AsyncEventSource`` and ``python -m sse_core
  get`` against the SDK's own server (``tests/mcp_sdk_server.py`` under
  uvicorn): a tool call cut mid-way resumes by GET with Last-Event-ID and the
  session header, gets the rest, and the tool ran once.

Every cut is real: a TCP proxy between client and server closes both
connections right after the response chunk that carries progress 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

import httpx
import pytest

from sse_core import Answer, ReconnectPolicy, Resume
from sse_core._demo import board_app
from sse_core._demo.board import agent_lines
from sse_core.async_client import AsyncEventSource
from sse_core.client import EventSource

from ._servers import (
    ROOT,
    Running,
    free_port,
    raw_asgi_server,
    subprocess_server,
    wsgiref_server,
)

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(sys.version_info < (3, 10), reason="the mcp SDK needs Python 3.10 or later"),
]

CUT_AT = re.compile(rb'"progress": ?2[,.}]')
TIMEOUT = 30.0


class CuttingProxy:
    """Forwards 127.0.0.1 connections to ``port``; logs each request head, and
    closes the connection that carries the first server bytes matching ``CUT_AT``."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: List[Tuple[str, Dict[str, str]]] = []
        self.cuts = 0
        self.armed = threading.Event()
        self._threads: List[threading.Thread] = []
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> CuttingProxy:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self.listener.close()
        for thread in self._threads:
            thread.join(10)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=TIMEOUT)
            self._spawn(self._pump, client, server, True)
            self._spawn(self._pump, server, client, False)

    def _pump(self, source: socket.socket, target: socket.socket, upstream: bool) -> None:
        head = b""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if upstream and b"\r\n\r\n" not in head:
                    head += data
                    if b"\r\n\r\n" in head:
                        self._log(head)
                target.sendall(data)
                if not upstream and self.armed.is_set() and CUT_AT.search(data):
                    self.armed.clear()
                    self.cuts += 1
                    break  # the cut: both connections close now
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _log(self, head: bytes) -> None:
        lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.requests.append((lines[0].rsplit(" ", 1)[0], headers))


# -- the SDK's client against the demo board -----------------------------------------------


@contextlib.contextmanager
def demo_board(kind: str, interval: float) -> Iterator[Tuple[Any, Running]]:
    from sse_core._demo.web import make_asgi_app, make_wsgi_app

    app = board_app(interval)
    serve = wsgiref_server if kind == "wsgi" else raw_asgi_server
    wrap = make_wsgi_app if kind == "wsgi" else make_asgi_app
    try:
        with serve(wrap(app)) as running:
            yield app, running
    finally:
        app.board.close()


async def sdk_session_on_the_board(url: str, board_url: str, proxy: CuttingProxy) -> Dict[str, Any]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    seen: Dict[str, Any] = {"order": [], "replies": []}

    async def board_subscriber() -> None:
        # A board page's feed, from its start: a reply must arrive here.
        async with AsyncEventSource(board_url + "/events", read_timeout=TIMEOUT) as feed:
            async for event in feed:
                if event.event == "reply":
                    seen["replies"].append(json.loads(event.data))

    subscriber = asyncio.ensure_future(board_subscriber())
    try:
        async with streamable_http_client(url) as (read, write), ClientSession(
            read, write
        ) as session:
            init = await session.initialize()
            seen["version"] = init.protocol_version
            seen["server"] = init.server_info.name
            seen["tools"] = [tool.name for tool in (await session.list_tools()).tools]

            async def progress(done: float, total: Optional[float], message: Optional[str]) -> None:
                seen["order"].append(("progress", done, total, message))

            first = await session.call_tool(
                "create_task", {"title": "Through the SDK"}, progress_callback=progress
            )
            seen["order"].append(("result", first.structured_content))
            task_id = (first.structured_content or {})["id"]
            said = await session.call_tool(
                "reply", {"task_id": task_id, "message": "Done, merged."}
            )
            seen["reply_result"] = said.content[0].text
            # The cut: the proxy closes the POST's stream after progress 2.
            cut_progress: List[float] = []

            async def on_cut_progress(
                done: float, total: Optional[float], message: Optional[str]
            ) -> None:
                cut_progress.append(done)

            proxy.armed.set()
            cut = await session.call_tool(
                "create_task", {"title": "Cut in the middle"}, progress_callback=on_cut_progress
            )
            seen["cut_progress"] = cut_progress
            seen["cut_result"] = cut.structured_content
        for _ in range(100):
            if seen["replies"]:
                break
            await asyncio.sleep(0.05)
    finally:
        subscriber.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await subscriber
    return seen


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_the_sdk_client_uses_the_board_and_resumes_a_cut_call(kind: str) -> None:
    with demo_board(kind, 0.1) as (app, running), CuttingProxy(running.port) as proxy:
        seen = asyncio.run(
            asyncio.wait_for(sdk_session_on_the_board(proxy.url + "/mcp", running.url, proxy), 60)
        )
        titles = [task.title for task in app.board.tasks.values()]
    steps = agent_lines("x")
    assert seen["version"] == "2025-11-25"
    assert seen["tools"] == ["create_task", "reply"]
    # Progress notifications, each step once and in order, before the result.
    kinds = [entry[0] for entry in seen["order"]]
    assert kinds == ["progress"] * len(steps) + ["result"]
    assert [entry[1] for entry in seen["order"][:-1]] == list(range(1, len(steps) + 1))
    assert seen["order"][-1][1]["output"] == agent_lines("Through the SDK")
    assert seen["replies"] == [{"task_id": "2", "message": "Done, merged."}]
    # The cut call: every progress once, the result, one task, one run.
    assert proxy.cuts == 1
    assert seen["cut_progress"] == list(range(1, len(steps) + 1))
    assert seen["cut_result"]["output"] == agent_lines("Cut in the middle")
    assert titles.count("Cut in the middle") == 1
    assert app.mcp.runs == {"create_task": 2, "reply": 1}
    methods = [line for line, _ in proxy.requests]
    resumed = [headers for line, headers in proxy.requests if "last-event-id" in headers]
    assert len(resumed) == 1
    assert resumed[0]["mcp-session-id"]
    assert methods.count("GET /mcp") >= 1
    # What the SDK sent, for the record: POSTs, its GET stream, the resumption, DELETE.
    print("SDK requests:", methods, "resumed with", resumed[0]["last-event-id"])


# -- sse_core's clients against the SDK's server -----------------------------------------------


@pytest.fixture(scope="module")
def sdk_server() -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "tests.mcp_sdk_server:app"]
    argv += ["--port", str(port), "--log-level", "warning"]
    with subprocess_server(argv, port, PYTHONPATH=str(ROOT)) as running:
        yield running.url


def rpc(method: str, request_id: Optional[int], params: Any) -> bytes:
    message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if request_id is not None:
        message["id"] = request_id
    return json.dumps(message).encode()


HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def mcp_session(url: str) -> Dict[str, str]:
    """Initialize with sse_core's EventSource; the headers every later request carries."""
    init = rpc(
        "initialize",
        0,
        {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "sse_core", "version": "1"},
        },
    )
    source = EventSource(
        url,
        method="POST",
        headers=HEADERS,
        body=init,
        max_answer_size=1 << 20,
        policy=ReconnectPolicy(max_attempts=0),
        read_timeout=TIMEOUT,
    )
    with source:
        messages = [json.loads(e.data) for e in source if e.data]
    if source.answer is not None:  # the server chose JSON
        messages = [json.loads(source.answer.body)]
    assert messages[0]["result"]["protocolVersion"] == "2025-11-25", messages
    session = source.header("mcp-session-id")
    assert session
    headers = dict(HEADERS, **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})
    # notifications/initialized: a 202 with no body, read as an Answer.
    note = EventSource(
        url,
        method="POST",
        headers=headers,
        body=rpc("notifications/initialized", None, {}),
        max_answer_size=0,
        read_timeout=TIMEOUT,
    )
    with note:
        assert list(note) == []
    assert isinstance(note.answer, Answer) and note.answer.status == 202
    return headers


def call_steps(request_id: int) -> bytes:
    params = {"name": "steps", "arguments": {"count": 5}, "_meta": {"progressToken": request_id}}
    return rpc("tools/call", request_id, params)


def check_resumed(messages: List[Dict[str, Any]], proxy: CuttingProxy, session: str) -> str:
    """Progress 1-5 once each, then the result; the proxy saw POST, cut, GET with
    Last-Event-ID and the session.  Returns the Last-Event-ID sent."""
    progress = [m["params"]["progress"] for m in messages if m.get("method")]
    assert progress == [1, 2, 3, 4, 5]
    assert messages[-1]["result"]["content"][0]["text"] == "5 steps done"
    assert proxy.cuts == 1
    calls = [(line, h) for line, h in proxy.requests if line in ("POST /mcp", "GET /mcp")]
    assert [line for line, _ in calls][-2:] == ["POST /mcp", "GET /mcp"]
    get = calls[-1][1]
    assert get["mcp-session-id"] == session
    print("requests:", [line for line, _ in proxy.requests], "resumed after", get["last-event-id"])
    return get["last-event-id"]


def runs(url: str) -> int:
    return int(httpx.get(url + "/runs", timeout=10).json()["steps"])


def test_sync_event_source_resumes_an_sdk_server_tool_call(sdk_server: str) -> None:
    with CuttingProxy(int(sdk_server.rsplit(":", 1)[1])) as proxy:
        url = proxy.url + "/mcp"
        headers = mcp_session(url)
        before = runs(sdk_server)
        proxy.armed.set()
        source = EventSource(
            url,
            method="POST",
            headers=headers,
            body=call_steps(1),
            resume=Resume(headers=headers),
            read_timeout=TIMEOUT,
            policy=ReconnectPolicy(initial_delay=0.1, jitter=0, max_attempts=3),
        )
        messages: List[Dict[str, Any]] = []
        ids: List[str] = []
        with source:
            for event in source:
                ids.append(event.id or "")
                if event.data:
                    messages.append(json.loads(event.data))
                    if "result" in messages[-1]:
                        break
        last_id = check_resumed(messages, proxy, headers["Mcp-Session-Id"])
        assert last_id in ids and len(ids) == len(set(ids))  # nothing repeated
        assert runs(sdk_server) == before + 1


def test_async_event_source_resumes_an_sdk_server_tool_call(sdk_server: str) -> None:
    with CuttingProxy(int(sdk_server.rsplit(":", 1)[1])) as proxy:
        url = proxy.url + "/mcp"
        headers = mcp_session(url)
        before = runs(sdk_server)
        proxy.armed.set()

        async def call() -> Tuple[List[Dict[str, Any]], List[str]]:
            messages: List[Dict[str, Any]] = []
            ids: List[str] = []
            source = AsyncEventSource(
                url,
                method="POST",
                headers=headers,
                body=call_steps(2),
                resume=Resume(headers=headers),
                read_timeout=TIMEOUT,
                policy=ReconnectPolicy(initial_delay=0.1, jitter=0, max_attempts=3),
            )
            async with source:
                async for event in source:
                    ids.append(event.id or "")
                    if event.data:
                        messages.append(json.loads(event.data))
                        if "result" in messages[-1]:
                            break
            return messages, ids

        messages, ids = asyncio.run(asyncio.wait_for(call(), TIMEOUT))
        last_id = check_resumed(messages, proxy, headers["Mcp-Session-Id"])
        assert last_id in ids and len(ids) == len(set(ids))
        assert runs(sdk_server) == before + 1


def test_the_get_command_resumes_an_sdk_server_tool_call(sdk_server: str) -> None:
    with CuttingProxy(int(sdk_server.rsplit(":", 1)[1])) as proxy:
        url = proxy.url + "/mcp"
        headers = mcp_session(url)
        before = runs(sdk_server)
        proxy.armed.set()
        argv = [sys.executable, "-m", "sse_core", "get", url, "--json", "-v", "--resume-get"]
        argv += ["-d", call_steps(3).decode()]
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        process = subprocess.Popen(
            argv, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        messages: List[Dict[str, Any]] = []
        timer = threading.Timer(TIMEOUT, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                data = json.loads(line)["data"]
                if data:
                    messages.append(json.loads(data))
                    if "result" in messages[-1]:
                        break
        finally:
            timer.cancel()
            process.terminate()
            _, err = process.communicate(timeout=10)
        last_id = check_resumed(messages, proxy, headers["Mcp-Session-Id"])
        assert f"> GET {url} (Last-Event-ID: {last_id})" in err
        assert runs(sdk_server) == before + 1
