# SPDX-License-Identifier: MIT
"""The demo's task board and its MCP endpoint, over HTTP, on both adapters.

The board runs in process (WSGI under wsgiref, ASGI under sse_core's own
asyncio server), with a short step interval, and is driven with httpx.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import httpx
import pytest

from sse_core import Decoder, Event
from sse_core._demo import board_app, default_journal
from sse_core._demo import mcp as demo_mcp
from sse_core._demo.board import Board, agent_lines, check_text
from sse_core._demo.web import BoardApp, make_asgi_app, make_wsgi_app

from ._servers import Running, raw_asgi_server, wait_until, wsgiref_server

pytestmark = pytest.mark.timeout(60)

INTERVAL = 0.02
STEPS = len(agent_lines("x"))
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@contextlib.contextmanager
def serve(kind: str, app: BoardApp) -> Iterator[Running]:
    try:
        if kind == "wsgi":
            with wsgiref_server(make_wsgi_app(app)) as running:
                yield running
        else:
            with raw_asgi_server(make_asgi_app(app)) as running:
                yield running
    finally:
        app.board.close()


@pytest.fixture(params=["wsgi", "asgi"])
def kind(request: Any) -> str:
    return str(request.param)


def events_of(
    method: str,
    url: str,
    *,
    limit: Optional[int] = None,
    headers: Union[Dict[str, str], Dict[bytes, bytes], None] = None,
    body: Any = None,
) -> Tuple[httpx.Response, List[Event]]:
    """The events of one response, until ``limit`` or its end (10 s at most)."""
    got: List[Event] = []
    decoder = Decoder()
    deadline = time.monotonic() + 10
    with httpx.stream(method, url, headers=headers, json=body, timeout=10) as response:
        for chunk in response.iter_raw():
            got += decoder.feed(chunk)
            if limit is not None and len(got) >= limit:
                break
            assert time.monotonic() < deadline, got
    return response, got


# -- the board's REST API and streams -------------------------------------------------


def test_a_task_from_post_to_done_then_204(kind: str, tmp_path: Path) -> None:
    app = board_app(INTERVAL, str(tmp_path / "journal.jsonl"))
    with serve(kind, app) as running:
        base = running.url
        created = httpx.post(base + "/tasks", json={"title": " Write docs "}, timeout=10)
        assert created.status_code == 201
        assert created.json() == {"id": "2", "events": "/tasks/2/events"}
        assert created.headers["location"] == "/tasks/2/events"
        response, events = events_of("GET", base + "/tasks/2/events")
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert [e.id for e in events] == [str(n) for n in range(1, STEPS + 2)]
        assert [e.data for e in events[:-1]] == agent_lines("Write docs")
        assert events[-1].event == "done"
        assert json.loads(events[-1].data)["output"] == agent_lines("Write docs")[-1]
        # Done: from the start again, after an ID, and 204 after `done`.
        assert len(events_of("GET", base + "/tasks/2/events")[1]) == STEPS + 1
        # Only ASCII digits are digits: a superscript two is no ID (int() refuses it).
        superscript = {b"Last-Event-ID": "\u00b2".encode()}
        assert len(events_of("GET", base + "/tasks/2/events", headers=superscript)[1]) == STEPS + 1
        _, rest = events_of("GET", base + "/tasks/2/events", headers={"Last-Event-ID": "4"})
        assert [e.id for e in rest] == [str(n) for n in range(5, STEPS + 2)]
        last = {"Last-Event-ID": str(STEPS + 1)}
        assert httpx.get(base + "/tasks/2/events", headers=last, timeout=10).status_code == 204
        assert httpx.get(base + "/tasks/99/events", timeout=10).status_code == 404
        tasks = httpx.get(base + "/tasks", timeout=10).json()
        assert [(t["id"], t["state"]) for t in tasks][1] == ("2", "done")


def test_the_rest_of_the_api(kind: str) -> None:
    app = board_app(INTERVAL)
    with serve(kind, app) as running:
        base = running.url
        page = httpx.get(base + "/", timeout=10)
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert b'new EventSource("/events")' in page.content
        for method, path, status in [
            ("POST", "/", 405),
            ("PUT", "/tasks", 405),
            ("GET", "/nowhere", 404),
            ("GET", "/tasks/1/other", 404),
            ("PUT", "/mcp", 405),
        ]:
            assert httpx.request(method, base + path, timeout=10).status_code == status, path
        for body in [b"{", b"[]", b'{"title": 3}', b'{"title": "  "}', b'{"x": 1}']:
            answer = httpx.post(base + "/tasks", content=body, timeout=10)
            assert answer.status_code == 400, body
            assert "title" in answer.json()["error"]
        too_long = httpx.post(base + "/tasks", json={"title": "x" * 201}, timeout=10)
        assert too_long.status_code == 400
        huge = httpx.post(base + "/tasks", content=b"x" * (65 * 1024), timeout=10)
        assert huge.status_code == 413


def test_the_feed_has_consecutive_ids_and_resumes(kind: str) -> None:
    app = board_app(INTERVAL)
    with serve(kind, app) as running:
        base = running.url
        wait_until(lambda: app.board.tasks["1"].state == "done", what="the sample task")
        _, feed = events_of("GET", base + "/events", limit=3)
        assert [(e.id, e.event) for e in feed] == [("1", "task"), ("2", "task"), ("3", "task")]
        assert [json.loads(e.data)["state"] for e in feed] == ["created", "running", "done"]
        app.board.reply("1", "looks good")
        _, resumed = events_of("GET", base + "/events", limit=1, headers={"Last-Event-ID": "3"})
        assert [(e.id, e.event, json.loads(e.data)) for e in resumed] == [
            ("4", "reply", {"task_id": "1", "message": "looks good"})
        ]


def test_the_board_checks_what_it_is_given() -> None:
    assert check_text(" a ", "title", 5) == "a"
    for bad in (None, 3, "", " ", "toolong"):
        with pytest.raises(ValueError):
            check_text(bad, "title", 5)
    app = board_app(INTERVAL)
    try:
        with pytest.raises(KeyError):
            app.board.reply("42", "hello")
    finally:
        app.board.close()


def test_a_restarted_board_carries_on_from_its_journal(kind: str, tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.jsonl")
    first = board_app(INTERVAL, journal)
    wait_until(lambda: first.board.tasks["1"].state == "done", what="the sample task")
    first.board.reply("1", "thanks")
    first.board.interval = 30.0  # the next task stops after its first step
    first.board.create("Slow task")  # stopped before its first step
    first.board.close()
    with open(journal, "a", encoding="utf-8") as file:
        file.write('{"event": "task", "data": "{\\"cut\n')  # a line cut by a crash
    again = board_app(INTERVAL, journal)
    with serve(kind, again) as running:
        base = running.url
        assert [t.title for t in again.board.tasks.values()] == [
            "Fix the failing test in the line splitter",
            "Slow task",
        ]
        _, feed = events_of("GET", base + "/events", limit=6)
        assert [(e.id, e.event) for e in feed[:6]] == [
            ("1", "task"),
            ("2", "task"),
            ("3", "task"),
            ("4", "reply"),
            ("5", "task"),
            ("6", "task"),
        ]
        # The unfinished task ran again; a client that saw step 2 gets the rest.
        _, rest = events_of("GET", base + "/tasks/2/events", headers={"Last-Event-ID": "2"})
        assert [e.id for e in rest] == [str(n) for n in range(3, STEPS + 2)]
        _, done = events_of("GET", base + "/events", limit=1, headers={"Last-Event-ID": "6"})
        assert json.loads(done[0].data)["state"] == "done"
        # The finished one is whole at once.
        assert len(events_of("GET", base + "/tasks/1/events")[1]) == STEPS + 1
    assert default_journal(8000).endswith("sse_core-demo-8000.jsonl")


def test_a_board_without_a_journal_file_starts_fresh(tmp_path: Path) -> None:
    board = Board(_hub(), interval=INTERVAL, journal=str(tmp_path / "none.jsonl"))
    board.start()
    try:
        assert [t.title for t in board.tasks.values()] == [
            "Fix the failing test in the line splitter"
        ]
    finally:
        board.close()


def _hub() -> Any:
    from sse_core.broadcast import Broadcaster

    return Broadcaster()


# -- the MCP endpoint, by hand ------------------------------------------------------------


class Mcp:
    """A minimal MCP client over httpx, to reach every answer of the endpoint."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = ""
        self.next_id = 0

    def headers(self, **extra: str) -> Dict[str, str]:
        headers = dict(MCP_HEADERS)
        if self.session:
            headers["Mcp-Session-Id"] = self.session
        headers.update(extra)
        return headers

    def initialize(self, version: str = "2025-11-25") -> Dict[str, Any]:
        message = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t"}},
        }
        answer = httpx.post(self.url, json=message, headers=self.headers(), timeout=10)
        assert answer.status_code == 200
        self.session = answer.headers["mcp-session-id"]
        result: Dict[str, Any] = answer.json()["result"]
        return result

    def call(
        self, method: str, params: Any = None, limit: Optional[int] = None
    ) -> Tuple[httpx.Response, List[Event]]:
        self.next_id += 1
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        return events_of("POST", self.url, headers=self.headers(), body=message, limit=limit)


def last_message(events: List[Event]) -> Dict[str, Any]:
    message: Dict[str, Any] = json.loads(events[-1].data)
    return message


def test_mcp_tools_over_the_transport(kind: str) -> None:
    app = board_app(INTERVAL)
    with serve(kind, app) as running:
        client = Mcp(running.url + "/mcp")
        result = client.initialize("2025-06-18")
        assert result["protocolVersion"] == "2025-06-18"
        assert result["capabilities"] == {"tools": {"listChanged": False}}
        assert Mcp(running.url + "/mcp").initialize("1999-01-01")["protocolVersion"] == "2025-11-25"
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        accepted = httpx.post(client.url, json=note, headers=client.headers(), timeout=10)
        assert (accepted.status_code, accepted.content) == (202, b"")
        response, events = client.call("tools/list")
        assert response.headers["mcp-session-id"] == client.session
        assert (events[0].data, events[0].id) == ("", "1:1")  # priming
        assert all(e.id for e in events)
        assert [t["name"] for t in last_message(events)["result"]["tools"]] == [
            "create_task",
            "reply",
        ]
        assert last_message(client.call("ping")[1])["result"] == {}
        assert last_message(client.call("nope")[1])["error"]["code"] == -32601
        assert last_message(client.call("ping", [1])[1])["error"]["code"] == -32602
        bad_tool = client.call("tools/call", {"name": "rm", "arguments": {}})[1]
        assert last_message(bad_tool)["error"]["code"] == -32602
        bad_title = client.call("tools/call", {"name": "create_task", "arguments": {"title": ""}})
        assert last_message(bad_title[1])["error"]["code"] == -32602
        reply_args = {"task_id": "1", "message": ""}
        bad_reply = client.call("tools/call", {"name": "reply", "arguments": reply_args})
        assert last_message(bad_reply[1])["error"]["code"] == -32602
        reply_args = {"task_id": "77", "message": "hi"}
        no_task = client.call("tools/call", {"name": "reply", "arguments": reply_args})[1]
        assert last_message(no_task)["result"]["isError"] is True
        call = {
            "name": "create_task",
            "arguments": {"title": "via MCP"},
            "_meta": {"progressToken": "p"},
        }
        _, events = client.call("tools/call", call)
        progress = [json.loads(e.data) for e in events[1:-1]]
        assert [p["params"]["progress"] for p in progress] == list(range(1, STEPS + 1))
        assert {p["params"]["total"] for p in progress} == {STEPS}
        result = last_message(events)["result"]
        assert result["structuredContent"]["output"] == agent_lines("via MCP")
        quiet = client.call("tools/call", {"name": "create_task", "arguments": {"title": "q"}})[1]
        assert len(quiet) == 2  # no token: the priming event and the result
        reply_args = {"task_id": result["structuredContent"]["id"], "message": "done!"}
        said = last_message(
            client.call("tools/call", {"name": "reply", "arguments": reply_args})[1]
        )
        assert said["result"]["isError"] is False
        assert app.mcp.runs == {"create_task": 3, "reply": 3}


def test_mcp_resumption_replays_one_stream(kind: str) -> None:
    app = board_app(0.2)
    with serve(kind, app) as running:
        client = Mcp(running.url + "/mcp")
        client.initialize()
        call = {"name": "create_task", "arguments": {"title": "cut"}, "_meta": {"progressToken": 7}}
        # Stop reading after the priming event and one progress notification.
        _, first = client.call("tools/call", call, limit=2)
        client.call("ping")  # another stream, whose events must not come back
        resume = client.headers(**{"Last-Event-ID": first[-1].id or ""})
        _, rest = events_of("GET", client.url, headers=resume)
        ids = [e.id for e in first + rest]
        assert ids == [f"1:{n}" for n in range(1, STEPS + 3)]
        assert "result" in last_message(rest)
        assert app.mcp.runs["create_task"] == 1
        done = client.headers(**{"Last-Event-ID": rest[-1].id or ""})
        assert httpx.get(client.url, headers=done, timeout=10).status_code == 204
        # The session's own stream for server messages: primed, nothing yet.
        response, primed = events_of("GET", client.url, headers=client.headers(), limit=1)
        assert (response.status_code, primed) == (200, [Event("", id="0:1", retry=1000)])
        for bad_id in ("x", "9:1", "1:", "1:x", "\u00b2:1", "1:\u00b2"):
            header = {k.encode(): v.encode() for k, v in client.headers().items()}
            header[b"Last-Event-ID"] = bad_id.encode()
            answer = httpx.get(client.url, headers=header)
            assert answer.status_code == 400, bad_id
        plain = client.headers(Accept="application/json")
        assert httpx.get(client.url, headers=plain, timeout=10).status_code == 406


def test_mcp_refusals(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_mcp, "MAX_SESSIONS", 2)
    app = board_app(INTERVAL)
    with serve(kind, app) as running:
        url = running.url + "/mcp"
        client = Mcp(url)
        client.initialize()
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        host = running.url.split("//")[1]

        def post(body: Any, **headers: str) -> httpx.Response:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            return httpx.post(url, content=content, headers=client.headers(**headers), timeout=10)

        foreign = post(ping, Origin="http://evil.example")
        assert foreign.status_code == 403
        assert foreign.json()["error"]["code"] == -32600
        assert post(ping, Origin="http://[::1").status_code == 403
        assert post(ping, Origin="null").status_code == 403
        same = post(ping, Origin=f"http://{host}")
        assert same.status_code == 200
        parse = post(b"{nope")
        assert (parse.status_code, parse.json()["error"]["code"]) == (400, -32700)
        for invalid in ([ping], {"id": 1, "method": "ping"}, {"jsonrpc": "2.0", "method": 5}):
            assert post(invalid).status_code == 400, invalid
        assert post(ping, Accept="application/json").status_code == 406
        assert post(ping, **{"Mcp-Session-Id": "unknown"}).status_code == 404
        assert post(ping, **{"MCP-Protocol-Version": "1999-01-01"}).status_code == 400
        assert post(ping, **{"MCP-Protocol-Version": "2025-06-18"}).status_code == 200
        no_session = httpx.post(url, json=ping, headers=MCP_HEADERS, timeout=10)
        assert no_session.status_code == 400
        assert httpx.delete(url, headers=MCP_HEADERS, timeout=10).status_code == 400
        # Ending the session: then it is unknown.
        assert httpx.delete(url, headers=client.headers(), timeout=10).status_code == 204
        assert post(ping).status_code == 404
        # Beyond MAX_SESSIONS, the oldest session is dropped.
        clients = [Mcp(url) for _ in range(3)]
        for each in clients:
            each.initialize()
        assert httpx.post(url, json=ping, headers=clients[0].headers()).status_code == 404
        assert httpx.post(url, json=ping, headers=clients[2].headers()).status_code == 200


def test_an_ended_mcp_session_leaves_nothing_in_the_hub(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_mcp, "MAX_SESSIONS", 1)
    app = board_app(INTERVAL)

    def topics(session: Optional[str]) -> List[str]:
        return sorted(t for t in app.board.hub._windows if t.startswith(f"mcp/{session}/"))

    with serve(kind, app) as running:
        url = running.url + "/mcp"
        deleted = Mcp(url)
        deleted.initialize()
        assert last_message(deleted.call("ping")[1])["result"] == {}
        assert topics(deleted.session) == [f"mcp/{deleted.session}/{n}" for n in (0, 1)]
        assert httpx.delete(url, headers=deleted.headers(), timeout=10).status_code == 204
        assert topics(deleted.session) == []
        # Evicted by a newer session (MAX_SESSIONS is 1 here): forgotten too.
        evicted, newest = Mcp(url), Mcp(url)
        evicted.initialize()
        assert last_message(evicted.call("ping")[1])["result"] == {}
        newest.initialize()
        assert topics(evicted.session) == []
        assert topics(newest.session) == [f"mcp/{newest.session}/0"]


def test_a_request_still_running_when_its_session_ends_leaves_nothing() -> None:
    app = board_app(0.05)
    server = app.mcp
    session = demo_mcp._Session("s", demo_mcp.PROTOCOL_VERSIONS[0])
    call = {"name": "create_task", "arguments": {"title": "t"}}
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}
    server._open_stream(session, message)  # its tool runs on a thread
    server._end(session)  # forgets the topics now; the thread publishes after
    wait_until(lambda: 1 in session.finals, 10, "the tool's response")
    assert [t for t in app.board.hub._windows if t.startswith("mcp/s/")] == []
    app.board.close()


# -- the edges: idle subscriptions, a board closed mid-call, odd requests ---------------


def test_a_feed_yields_none_while_its_topic_is_idle() -> None:
    from sse_core._demo._feed import Feed
    from sse_core.broadcast import Broadcaster

    hub = Broadcaster(idle_timeout=0.01)
    feed = Feed(hub, "t", "", until=lambda event: event.event == "done")
    items = iter(feed)
    assert next(items) is None  # nothing yet: the adapter may send a heartbeat
    hub.publish("last", "done", topic="t")
    assert [item for item in items if item is not None] == [Event("last", event="done", id="1")]
    hub.close()


def _mcp_request(app: BoardApp, session: str, message: Dict[str, Any]) -> Any:
    from sse_core._demo._reply import Request

    headers = {"accept": "application/json, text/event-stream"}
    if session:
        headers["mcp-session-id"] = session
    return app.mcp.handle(Request("POST", "/mcp", headers, json.dumps(message).encode()))


def test_a_tool_call_outlives_idle_steps_and_a_closed_board() -> None:
    from sse_core.broadcast import Broadcaster

    board = Board(Broadcaster(idle_timeout=0.01), interval=0.05)
    app = BoardApp(board)
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}
    session = _mcp_request(app, "", init).headers[-1][1]
    call = {"name": "create_task", "arguments": {"title": "idle"}}
    stream = _mcp_request(
        app, session, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}
    )
    answer = [item for item in stream.feed if item is not None][-1]
    # Steps 0.05 s apart, subscriptions idle after 0.01 s: the call waited them out.
    assert json.loads(answer.data)["result"]["structuredContent"]["output"] == agent_lines("idle")
    board.interval = 30.0
    _mcp_request(app, session, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
    board.close()  # mid-call: the call ends, its answer unsent, nothing raised
    wait_until(lambda: app.mcp._sessions[session].finals.get(2) == "", what="the call's end")
    assert board.reply("1", "after the end").id is None


def test_odd_requests_to_the_apps(tmp_path: Path) -> None:
    import http.client
    import socket

    from ._servers import uvicorn_server

    app = board_app(INTERVAL)
    try:
        with wsgiref_server(make_wsgi_app(app)) as running:
            connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
            connection.putrequest("POST", "/tasks")
            connection.putheader("Content-Length", "many")
            connection.endheaders()
            assert connection.getresponse().status == 413
            connection.close()
        # Under uvicorn: lifespan messages, and a client that leaves mid-body.
        with uvicorn_server(make_asgi_app(app)) as running:
            assert httpx.get(running.url + "/tasks", timeout=10).status_code == 200
            with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
                sock.sendall(b"POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            assert httpx.get(running.url + "/", timeout=10).status_code == 200
    finally:
        app.board.close()


def test_a_feed_skips_what_its_client_saw_when_it_comes_again() -> None:
    import asyncio

    from sse_core._demo._feed import Feed
    from sse_core.broadcast import Broadcaster

    def feeds(hub: Broadcaster) -> Tuple[Feed, Feed]:
        # Last-Event-ID 2 on a topic that has no event yet (a restarted board):
        # the hub replays nothing, and the events 1 and 2 published again are skipped.
        def until(event: Event) -> bool:
            return event.id == "3"

        return Feed(hub, "t", "2", until=until), Feed(hub, "t", "2", until=until)

    hub = Broadcaster(idle_timeout=0.01)
    sync_feed, async_feed = feeds(hub)
    items = iter(sync_feed)
    assert next(items) is None

    async def collect() -> List[Event]:
        return [event async for event in async_feed]

    async def main() -> List[Event]:
        task = asyncio.ensure_future(collect())
        await asyncio.sleep(0.05)
        for n in range(3):
            hub.publish(f"e{n + 1}", topic="t")
        return await asyncio.wait_for(task, 10)

    got_async = asyncio.run(main())
    got_sync = [item for item in items if item is not None]
    assert [e.id for e in got_async] == [e.id for e in got_sync] == ["3"]
    hub.close()


def test_an_mcp_stream_resumed_before_its_window_starts_with_the_gap() -> None:
    from sse_core.broadcast import GAP_EVENT, Broadcaster

    board = Board(Broadcaster(replay=2), interval=0.001)
    app = BoardApp(board)
    try:
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}
        session = _mcp_request(app, "", init).headers[-1][1]
        call = {"name": "create_task", "arguments": {"title": "g"}, "_meta": {"progressToken": 1}}
        request = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}
        events = [e for e in _mcp_request(app, session, request).feed if e is not None]
        assert events[-1].id == "1:8"  # priming, 6 progress, the result
        from sse_core._demo._reply import Request, Stream

        headers = {"accept": "text/event-stream", "mcp-session-id": session}
        again = app.mcp.handle(
            Request("GET", "/mcp", dict(headers, **{"last-event-id": "1:1"}), b"")
        )
        assert isinstance(again, Stream)
        resumed = [e for e in again.feed if e is not None]
        assert resumed[0] == Event("", event=GAP_EVENT)  # events 2 to 6 are gone
        assert [e.id for e in resumed[1:]] == ["1:7", "1:8"]
    finally:
        board.close()
