"""The client features a protocol such as MCP's Streamable HTTP transport needs:
resuming a broken POST stream with another request (``resume``), the
response's headers on the source (``response_headers``, ``header``), and
whole answers that are not streams (``max_answer_size``, ``answer``).

Both clients against a WSGI app under wsgiref, over 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Callable, Dict, Iterable, Iterator, List, Tuple

import pytest

from sse_core import Answer, Connect, Event, ReconnectPolicy, ResponseError, Resume
from sse_core._reconnect import EventSourceState, Input, State
from sse_core.async_client import AsyncEventSource
from sse_core.client import EventSource

from ._servers import wsgiref_server
from .client_runner import CLIENT_KINDS

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 15.0
Seen = List[Tuple[str, str, Dict[str, str], bytes]]


def recording_app(seen: Seen) -> Callable[..., Iterable[bytes]]:
    """POST /stream: events 1 and 2, then the body ends (the stream broke).
    GET /stream with Last-Event-ID 2: event 3.  /accepted: 202, no body.
    /json: a JSON answer.  /big: 100 bytes of JSON.  /short: a body cut short.
    """

    def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        headers = {k[5:].lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        seen.append((method, path, headers, environ["wsgi.input"].read(length)))
        sse = [("Content-Type", "text/event-stream"), ("Mcp-Session-Id", "s-1")]
        if path == "/stream" and method == "POST":
            start_response("200 OK", sse)
            return [b"retry: 10\nid: 1\ndata: one\n\n", b"id: 2\ndata: two\n\n"]
        if path == "/stream" and headers.get("last_event_id") == "2":
            start_response("200 OK", sse)
            return [b"id: 3\ndata: three\n\n"]
        if path == "/accepted":
            start_response("202 Accepted", [("Content-Length", "0"), ("Mcp-Session-Id", "s-2")])
            return []
        if path in ("/json", "/big"):
            body = b'{"ok": true}' if path == "/json" else b"[" + b"1," * 49 + b"1]"
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if path == "/short":
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", "50")]
            )
            return [b'{"cut']
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no"]

    return app


@pytest.fixture(scope="module")
def served() -> Iterator[Tuple[str, Seen]]:
    seen: Seen = []
    with wsgiref_server(recording_app(seen)) as running:
        yield running.url, seen


def run(kind: str, url: str, limit: int, **options: Any) -> Tuple[Any, List[Event], Any]:
    """Iterate a source until ``limit`` events or its end; returns (source, events, error)."""
    events: List[Event] = []
    error: Any = None
    if kind == "sync":
        source: Any = EventSource(url, **options)
        source.seen_open = []
        timer = threading.Timer(TIMEOUT, source.close)
        timer.start()
        try:
            with source:
                for event in source:
                    events.append(event)
                    source.seen_open.append((source.status, source.header("mcp-session-id")))
                    if len(events) >= limit:
                        break
        except Exception as exc:
            error = exc
        finally:
            timer.cancel()
        return source, events, error

    async def main() -> Any:
        source: Any = AsyncEventSource(url, **options)
        source.seen_open = []
        try:
            async with source:
                async for event in source:
                    events.append(event)
                    source.seen_open.append((source.status, source.header("mcp-session-id")))
                    if len(events) >= limit:
                        break
        except ResponseError as exc:
            return source, exc
        return source, None

    source, error = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    return source, events, error


def fast() -> ReconnectPolicy:
    return ReconnectPolicy(initial_delay=0.01, jitter=0.0, max_attempts=3)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_a_broken_post_stream_resumes_with_a_get_and_the_post_is_sent_once(
    kind: str, served: Tuple[str, Seen]
) -> None:
    url, seen = served
    seen.clear()
    source, events, error = run(
        kind,
        url + "/stream",
        3,
        method="POST",
        headers={"Content-Type": "application/json", "Mcp-Session-Id": "s-1"},
        body=b'{"call": 1}',
        policy=fast(),
        resume=Resume(headers={"Mcp-Session-Id": "s-1", "X-Resumed": "yes"}),
    )
    assert error is None
    assert [(e.id, e.data) for e in events] == [("1", "one"), ("2", "two"), ("3", "three")]
    requests = [(m, p, h.get("last_event_id"), h.get("x_resumed"), b) for m, p, h, b in seen]
    assert requests == [
        ("POST", "/stream", None, None, b'{"call": 1}'),
        ("GET", "/stream", "2", "yes", b""),
    ]
    assert "content_type" not in seen[1][2]  # the first request's headers stay behind
    # Read while open, at each event.
    assert source.seen_open == [(200, "s-1")] * 3
    assert source.response_headers is not None
    assert ("Mcp-Session-Id", "s-1") in source.response_headers
    assert source.header("MCP-SESSION-ID") == "s-1"
    assert source.header("x-missing") is None
    assert source.answer is None


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_a_202_without_a_body_is_an_answer(kind: str, served: Tuple[str, Seen]) -> None:
    url, _ = served
    source, events, error = run(
        kind, url + "/accepted", 1, method="POST", body=b"{}", max_answer_size=0
    )
    assert (events, error) == ([], None)
    assert source.answer.status == 202
    assert source.answer.body == b""
    assert source.header("mcp-session-id") == "s-2"
    assert source.status == 202


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_a_json_answer_is_read_whole(kind: str, served: Tuple[str, Seen]) -> None:
    url, _ = served
    actions: List[Any] = []
    source, events, error = run(
        kind, url + "/json", 1, max_answer_size=1000, on_action=actions.append
    )
    assert (events, error) == ([], None)
    assert isinstance(source.answer, Answer)
    assert source.answer.body == b'{"ok": true}'
    assert ("Content-Type", "application/json") in source.answer.headers
    assert [type(a).__name__ for a in actions] == ["Connect", "Answer", "Stop"]


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_an_answer_over_the_bound_is_a_response_error(kind: str, served: Tuple[str, Seen]) -> None:
    url, _ = served
    source, events, error = run(kind, url + "/big", 1, max_answer_size=10)
    assert events == []
    assert isinstance(error, ResponseError)
    assert error.status == 200
    assert error.content_type == "application/json"
    assert error.body == b"[1,1,1,1,1"
    assert "max_answer_size" in str(error)
    assert source.answer is None


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_an_answer_cut_short_is_a_response_error(kind: str, served: Tuple[str, Seen]) -> None:
    url, _ = served
    _, events, error = run(kind, url + "/short", 1, max_answer_size=1000)
    assert events == []
    assert isinstance(error, ResponseError)
    assert "body broke" in str(error)
    assert error.status == 200


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_without_max_answer_size_json_still_fails(kind: str, served: Tuple[str, Seen]) -> None:
    url, _ = served
    _, _, error = run(kind, url + "/json", 1)
    assert isinstance(error, ResponseError)
    assert error.body == b'{"ok": true}'


def test_the_machine_resumes_with_its_own_request() -> None:
    machine = EventSourceState(
        "http://127.0.0.1/a",
        method="post",
        body=b"x",
        resume=Resume(method="get", url="http://127.0.0.1/b", headers=[("S", "1")]),
        policy=ReconnectPolicy(initial_delay=0, jitter=0),
    )
    first = machine.connect()
    assert (first.method, first.url, first.body) == ("POST", "http://127.0.0.1/a", b"x")
    machine.receive_response(200, {"content-type": "text/event-stream", "x": "1"})
    assert machine.response_headers == [("content-type", "text/event-stream"), ("x", "1")]
    machine.receive_data(b"id: 7\n\n")
    machine.network_error(OSError("cut"))
    again = machine.delay_elapsed()
    assert again.method == "GET" and again.url == "http://127.0.0.1/b" and again.body is None
    assert again.headers == [
        ("S", "1"),
        ("Accept", "text/event-stream"),
        ("Cache-Control", "no-cache"),
        ("Last-Event-ID", "7"),
    ]
    # A redirect of the resumed request follows from it.
    redirected = machine.receive_response(307, {"location": "/c"})
    assert isinstance(redirected, Connect)
    assert (redirected.method, redirected.url) == ("GET", "http://127.0.0.1/c")


def test_the_machine_takes_answers_only_when_asked() -> None:
    machine = EventSourceState("http://127.0.0.1/a", max_answer_size=5)
    machine.connect()
    action = machine.receive_response(202, [])
    assert action == Answer(202, [])
    assert machine.state is State.CLOSED and machine.last_input is Input.RESPONSE_ANSWER
    for status in (204, 400):
        machine = EventSourceState("http://127.0.0.1/a", max_answer_size=5)
        machine.connect()
        assert type(machine.receive_response(status, [])).__name__ == "Stop"


def test_bad_resume_and_answer_options() -> None:
    with pytest.raises(ValueError):
        EventSourceState("http://127.0.0.1/a", resume=Resume(url="ftp://x/"))
    with pytest.raises(ValueError):
        EventSourceState("http://127.0.0.1/a", max_answer_size=-1)
    with pytest.raises(ValueError):
        EventSourceState("http://127.0.0.1/a", resume=Resume(headers={"a": "b\n"}))


def test_the_get_command_resumes_with_a_get(
    served: Tuple[str, Seen], capsys: pytest.CaptureFixture[str]
) -> None:
    from sse_core._cli import main

    url, seen = served
    seen.clear()
    argv = ["get", url + "/stream", "-d", "{}", "-H", "X-Resumed: yes", "--resume-get", "--json"]
    status = main([*argv, "--max-attempts", "1"])
    out = capsys.readouterr().out
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["1", "2", "3"]
    # POST once; then GETs: after 2 (event 3), after 3 (a 404 ends it).
    assert [(m, h.get("last_event_id"), h.get("x_resumed"), b) for m, _, h, b in seen] == [
        ("POST", None, "yes", b"{}"),
        ("GET", "2", "yes", b""),
        ("GET", "3", "yes", b""),
    ]
    assert status == 1
