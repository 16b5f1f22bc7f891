# SPDX-License-Identifier: MIT
"""sse_core.asgi under real ASGI servers (uvicorn, hypercorn) over 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from typing import Any, AsyncIterator, Callable, ContextManager, Dict, List, Optional

import httpx
import pytest

from sse_core import Decoder, Event, asgi

from ._apps import RAW_IDS, Tracker, check_heartbeats_then_late_event, make_asgi_app
from ._clients import TIMEOUT, read_stream, read_with_httpx_sse
from ._servers import Running, hypercorn_server, raw_asgi_server, uvicorn_server, wait_until

SERVERS = {"uvicorn": uvicorn_server, "hypercorn": hypercorn_server}


@pytest.fixture(params=sorted(SERVERS))
def serve(request: Any) -> Callable[[Any], ContextManager[Running]]:
    factory: Callable[[Any], ContextManager[Running]] = SERVERS[request.param]
    return factory


def _problems(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


async def _our_tasks() -> List[str]:
    return [
        task.get_name() for task in asyncio.all_tasks() if task.get_name().startswith("sse_core:")
    ]


def test_headers_events_and_clean_end(
    serve: Callable[[Any], ContextManager[Running]], caplog: pytest.LogCaptureFixture
) -> None:
    tracker = Tracker()
    with serve(make_asgi_app(tracker)) as server:
        stream = read_stream(server.url + "/count?n=3")
        wait_until(lambda: tracker.finished == ["/count"], what="the source's finally")
    assert stream.status == 200
    assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.headers["x-accel-buffering"] == "no"
    assert stream.headers["x-test"] == "yes"
    assert [(e.data, e.id) for e in stream.events] == [
        ("event 1", "1"),
        ("event 2", "2"),
        ("event 3", "3"),
    ]
    assert not _problems(caplog)


def test_last_event_id_resumes_with_httpx_sse(
    serve: Callable[[Any], ContextManager[Running]],
) -> None:
    with serve(make_asgi_app(Tracker())) as server:
        content_type, got = read_with_httpx_sse(
            server.url + "/count?n=3", limit=10, headers={"Last-Event-ID": "41"}
        )
    assert content_type.startswith("text/event-stream")
    assert got == [
        ("message", "event 42", "42"),
        ("message", "event 43", "43"),
        ("message", "event 44", "44"),
    ]


@pytest.mark.parametrize(
    ("sent", "seen"),
    [("abc-7", "abc-7"), ("x" * 1025, ""), ("é".encode().decode("latin-1"), "é")],
)
def test_last_event_id_is_sanitised(sent: str, seen: str) -> None:
    with uvicorn_server(make_asgi_app(Tracker())) as server:
        stream = read_stream(
            server.url + "/echo", headers={b"Last-Event-ID": sent.encode("latin-1")}
        )
    assert stream.events == [Event(seen, event="echo", id="")]


@pytest.mark.parametrize(("sent", "seen"), RAW_IDS)
def test_last_event_id_is_read_as_utf8_from_a_real_client(
    serve: Callable[[Any], ContextManager[Running]], sent: bytes, seen: str
) -> None:
    with serve(make_asgi_app(Tracker())) as server:
        stream = read_stream(server.url + "/echo", headers={b"Last-Event-ID": sent})
    assert stream.status == 200
    assert stream.events == [Event(seen, event="echo", id="")]


def test_heartbeat_is_a_comment_line_that_joins_the_next_block(
    serve: Callable[[Any], ContextManager[Running]],
) -> None:
    with serve(make_asgi_app(Tracker())) as server:
        stream = read_stream(server.url + "/late")
        _, got = read_with_httpx_sse(server.url + "/late", limit=5, headers={})
    check_heartbeats_then_late_event(stream.raw)
    # One event, and no empty one, for sse_core's decoder and for httpx-sse.
    assert [(e.event, e.data, e.id) for e in stream.events] == [("message", "late", "1")]
    assert got == [("message", "late", "1")]


def test_a_mounted_stream_answers_get_and_head_and_405_to_other_methods(
    serve: Callable[[Any], ContextManager[Running]],
) -> None:
    tracker = Tracker()
    with serve(make_asgi_app(tracker)) as server, httpx.Client(timeout=TIMEOUT) as client:
        posted = client.post(server.url + "/count?n=1", content=b"x")
        deleted = client.delete(server.url + "/count?n=1")
        head = client.head(server.url + "/count?n=1")
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")
    assert (deleted.status_code, deleted.headers["allow"]) == (405, "GET, HEAD")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert tracker.started == []  # no source was opened for any of them


def test_a_post_stream_and_cors_through_a_real_server(
    serve: Callable[[Any], ContextManager[Running]],
) -> None:
    page = "http://127.0.0.1:1"

    async def completion(last_event_id: str) -> AsyncIterator[str]:
        for word in ("a", "b"):
            yield word

    app = asgi.EventStreamResponse(
        completion, methods=["post"], cors=asgi.CORS([page], allow_headers=["Content-Type"])
    )

    preflight_headers = {"Origin": page, "Access-Control-Request-Method": "POST"}
    with serve(app) as server, httpx.Client(timeout=TIMEOUT) as client:
        posted = client.post(server.url, json={"prompt": "x"}, headers={"Origin": page})
        got = client.get(server.url, headers={"Origin": page})
        preflight = client.options(server.url, headers=preflight_headers)
        foreign = client.post(server.url, headers={"Origin": "http://127.0.0.1:2"})
    assert posted.status_code == 200
    assert [e.data for e in Decoder().feed(posted.content)] == ["a", "b"]
    assert posted.headers["access-control-allow-origin"] == page
    assert posted.headers["vary"] == "Origin"
    assert (got.status_code, got.headers["allow"]) == (405, "POST, OPTIONS")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == page
    assert preflight.headers["access-control-allow-methods"] == "POST"
    assert preflight.headers["access-control-allow-headers"] == "Content-Type"
    assert preflight.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in preflight.headers
    # Another origin is served, without the header that would let its page read it.
    assert foreign.status_code == 200
    assert "access-control-allow-origin" not in foreign.headers


def test_heartbeats_while_idle(serve: Callable[[Any], ContextManager[Running]]) -> None:
    tracker = Tracker()
    with serve(make_asgi_app(tracker)) as server:
        stream = read_stream(server.url + "/idle", pings=3)
        wait_until(lambda: tracker.finished == ["/idle"], what="the idle source to close")
    assert stream.raw.count(b": ping\n") >= 3
    assert stream.events == []


def test_disconnect_closes_the_source_and_leaves_no_task(
    serve: Callable[[Any], ContextManager[Running]], caplog: pytest.LogCaptureFixture
) -> None:
    tracker = Tracker()
    with serve(make_asgi_app(tracker, heartbeat=None)) as server:
        stream = read_stream(server.url + "/forever", events=3)
        assert len(stream.events) >= 3
        wait_until(lambda: tracker.finished == ["/forever"], what="the source's finally")
        wait_until(lambda: server.run_in_loop(_our_tasks()) == [], what="tasks to end")
    assert tracker.started == ["/forever"]
    assert not _problems(caplog)


def test_source_that_raises_ends_the_stream_and_is_logged_once(
    serve: Callable[[Any], ContextManager[Running]], caplog: pytest.LogCaptureFixture
) -> None:
    tracker = Tracker()
    with serve(make_asgi_app(tracker)) as server:
        stream = read_stream(server.url + "/raise")  # reads to the end of the response
        wait_until(lambda: tracker.finished == ["/raise"], what="the source's finally")
    assert [e.data for e in stream.events] == ["one", "two"]
    problems = _problems(caplog)
    assert [(r.name, r.levelname) for r in problems] == [("sse_core", "ERROR")]
    assert problems[0].exc_info is not None
    assert "boom" in str(problems[0].exc_info[1])


def test_100_concurrent_streams() -> None:
    tracker = Tracker()

    async def one(client: httpx.AsyncClient, url: str) -> List[Event]:
        decoder = Decoder()
        events: List[Event] = []
        async with client.stream("GET", url) as response:
            async for chunk in response.aiter_raw():
                events += decoder.feed(chunk)
        return events

    async def main(url: str) -> List[List[Event]]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
            return list(
                await asyncio.wait_for(asyncio.gather(*[one(client, url) for _ in range(100)]), 60)
            )

    with uvicorn_server(make_asgi_app(tracker)) as server:
        results = asyncio.run(main(server.url + "/count?n=5"))
        wait_until(lambda: len(tracker.finished) == 100, what="100 sources to finish")
    assert len(results) == 100
    for events in results:
        assert [e.id for e in events] == ["1", "2", "3", "4", "5"]


def test_slow_client_is_dropped_after_send_timeout(caplog: pytest.LogCaptureFixture) -> None:
    tracker = Tracker()
    app = make_asgi_app(tracker, send_timeout=0.3)
    with uvicorn_server(app) as server, socket.socket() as slow:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(10)
        slow.connect(("127.0.0.1", server.port))
        slow.sendall(b"GET /firehose HTTP/1.1\r\nHost: x\r\n\r\n")
        # The slow client never reads; a fast one is served meanwhile.
        wait_until(lambda: "/firehose" in tracker.started, what="the firehose to start")
        assert [e.id for e in read_stream(server.url + "/count?n=2").events] == ["1", "2"]
        wait_until(
            lambda: "/firehose" in tracker.finished, timeout=20, what="the stalled stream to end"
        )
    assert any("took over 0.3s" in record.getMessage() for record in caplog.records)


def test_shutdown_switch_ends_open_streams(
    serve: Callable[[Any], ContextManager[Running]],
) -> None:
    tracker = Tracker()
    switch = asgi.Shutdown()
    results: List[Any] = []
    with serve(make_asgi_app(tracker, shutdown=switch)) as server:
        reader = threading.Thread(
            target=lambda: results.append(read_stream(server.url + "/forever"))
        )
        reader.start()
        wait_until(lambda: "/forever" in tracker.started, what="the stream to start")
        switch.trigger()
        reader.join(15)
        assert not reader.is_alive()
        wait_until(lambda: tracker.finished == ["/forever"], what="the source's finally")
    assert results and results[0].status == 200  # the response ended cleanly


def test_starlette_handler_returns_the_response() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    closed: List[str] = []

    async def steps(start: int) -> AsyncIterator[Event]:
        try:
            for i in range(start + 1, start + 4):
                yield Event(f"step {i}", id=str(i))
        finally:
            closed.append("done")

    async def events(request: Request) -> asgi.EventStreamResponse:
        resume = asgi.last_event_id(request.scope)
        return asgi.EventStreamResponse(
            steps(int(resume) if resume.isdigit() else 0), headers={"X-Handler": "starlette"}
        )

    app = Starlette(routes=[Route("/events", events)])
    with uvicorn_server(app) as server:
        content_type, got = read_with_httpx_sse(
            server.url + "/events", limit=10, headers={"Last-Event-ID": "6"}
        )
        stream = read_stream(server.url + "/events")
        wait_until(lambda: closed == ["done", "done"], what="both sources to close")
    assert content_type == "text/event-stream; charset=utf-8"
    assert got == [("message", f"step {i}", str(i)) for i in (7, 8, 9)]
    assert stream.headers["x-handler"] == "starlette"


def test_response_built_on_an_iterable_serves_once() -> None:
    async def source() -> AsyncIterator[str]:
        yield "only"

    response = asgi.EventStreamResponse(source())

    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        await response(scope, receive, send)

    with uvicorn_server(app) as server:
        assert [e.data for e in read_stream(server.url).events] == ["only"]
        assert httpx.get(server.url, timeout=TIMEOUT).status_code == 500


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"heartbeat": 0}, ValueError),
        ({"send_timeout": -1}, ValueError),
        ({"retry": -5}, ValueError),
        ({"headers": {"Content-Type": "text/plain"}}, ValueError),
        ({"headers": {"X-Bad": "a\r\nb"}}, ValueError),
    ],
)
def test_bad_arguments_are_refused(kwargs: Any, error: type) -> None:
    async def source() -> AsyncIterator[str]:
        yield "x"

    with pytest.raises(error):
        asgi.EventStreamResponse(source(), **kwargs)
    with pytest.raises(TypeError):
        asgi.EventStreamResponse(42)  # type: ignore[arg-type]


# --- the raw asyncio helper -------------------------------------------------------


@contextlib.asynccontextmanager
async def _raw_server(handler: Any) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def test_stream_events_on_a_raw_asyncio_server() -> None:
    finished: List[str] = []

    async def ticks(last_event_id: str) -> AsyncIterator[Event]:
        start = int(last_event_id) if last_event_id.isdigit() else 0
        try:
            i = start
            while True:
                i += 1
                yield Event(f"tick {i}", id=str(i))
                await asyncio.sleep(0.01)
        finally:
            finished.append(last_event_id)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asgi.stream_events(reader, writer, ticks, heartbeat=0.05)

    async def main() -> None:
        async with _raw_server(handler) as url, httpx.AsyncClient(timeout=TIMEOUT) as client:
            decoder = Decoder()
            events: List[Event] = []
            headers = {"Last-Event-ID": "9"}
            async with client.stream("GET", url + "/any", headers=headers) as response:
                assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
                async for chunk in response.aiter_raw():
                    events += decoder.feed(chunk)
                    if len(events) >= 3:
                        break
            assert [e.id for e in events[:3]] == ["10", "11", "12"]
            for _ in range(500):
                if finished:
                    break
                await asyncio.sleep(0.01)
            assert finished == ["9"]
            assert await _our_tasks() == []

    asyncio.run(asyncio.wait_for(main(), 30))


def _one_event_then_idle() -> asgi.EventStreamResponse:
    async def source(last_event_id: str) -> AsyncIterator[Event]:
        yield Event("first", id="1")
        await asyncio.sleep(3600)

    return asgi.EventStreamResponse(source, heartbeat=None)


@pytest.mark.parametrize("how", ["iter_lines", "iter_content"])
def test_handle_connection_chunks_so_requests_gets_each_event_at_once(how: str) -> None:
    import requests

    # The read timeout is the bound: with a body ended only by closing the
    # connection, requests waits to fill its buffer and times out.
    with raw_asgi_server(_one_event_then_idle()) as server, requests.get(
        server.url, stream=True, timeout=(5, 5)
    ) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        if how == "iter_lines":
            lines = response.iter_lines(chunk_size=512)
            got = [next(lines), next(lines)]
        else:
            got = next(response.iter_content(chunk_size=512)).split(b"\n")[:2]
    assert got == [b"id: 1", b"data: first"]


def _raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        reply = b""
        while True:
            data = client.recv(65536)
            if not data:
                return reply
            reply += data


def test_handle_connection_frames_each_kind_of_response() -> None:
    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        status = int(scope["path"][1:])
        headers = [(b"content-length", b"2")] if scope["query_string"] == b"sized" else []
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"ab", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    with raw_asgi_server(app) as server:

        def get(target: str, version: str = "1.1", method: str = "GET") -> bytes:
            request = f"{method} {target} HTTP/{version}\r\nHost: x\r\n\r\n"
            return _raw_exchange(server.port, request.encode())

        chunked = get("/200")
        assert b"\r\nTransfer-Encoding: chunked\r\n" in chunked
        assert chunked.endswith(b"\r\n\r\n2\r\nab\r\n0\r\n\r\n")
        assert get("/200", "1.0").endswith(b"Connection: close\r\n\r\nab")
        assert get("/200?sized").endswith(b"content-length: 2\r\nConnection: close\r\n\r\nab")
        for no_body in (get("/200", method="HEAD"), get("/204"), get("/304")):
            assert no_body.endswith(b"Connection: close\r\n\r\n")
            assert b"Transfer-Encoding" not in no_body


@pytest.mark.parametrize(
    "request_head",
    [
        b"NONSENSE\r\n\r\n",
        b"GET / SPDY/3\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\n Folded: header\r\n\r\n",
        b"GET / HTTP/1.1\r\n",  # the client gave up mid-head
    ],
)
def test_handle_connection_answers_bad_requests_with_400(request_head: bytes) -> None:
    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        raise AssertionError("not called")  # pragma: no cover

    async def main() -> bytes:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asgi.handle_connection(app, reader, writer)

        async with _raw_server(handler) as url:
            port = int(url.rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request_head)
            writer.write_eof()
            reply = await reader.read()
            writer.close()
            return reply

    assert asyncio.run(asyncio.wait_for(main(), 10)).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    "length", [b"+3", b"0_3", "\u00b3".encode(), "\u0663".encode(), b"3\r\nContent-Length: 4"]
)
def test_handle_connection_reads_content_length_as_ascii_digits_only(length: bytes) -> None:
    # Each of these would be 3 to int(); the three bytes of body are there.
    served: List[bytes] = []

    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        served.append((await receive())["body"])

    async def main() -> bytes:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asgi.handle_connection(app, reader, writer)

        async with _raw_server(handler) as url:
            port = int(url.rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST / HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\nabc")
            reply = await reader.read()
            writer.close()
            return reply

    assert asyncio.run(asyncio.wait_for(main(), 10)).startswith(b"HTTP/1.1 400 ")
    assert served == []


def test_handle_connection_bounds_the_request_body() -> None:
    bodies: List[bytes] = []

    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        bodies.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> List[bytes]:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asgi.handle_connection(app, reader, writer, max_body=10)

        replies = []
        async with _raw_server(handler) as url:
            port = int(url.rsplit(":", 1)[1])
            for body in (b"x" * 10, b"x" * 11):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                head = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body)
                writer.write(head + body)
                replies.append(await reader.read())
                writer.close()
            # The default limit: a Content-Length of 300 MiB is refused before
            # any of the body is read (none is sent).
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (300 << 20))
            replies.append(await reader.read())
            writer.close()
        return replies

    fits, over, default_over = asyncio.run(asyncio.wait_for(main(), 10))
    assert fits.startswith(b"HTTP/1.1 204 ")
    assert over.startswith(b"HTTP/1.1 413 ")
    assert default_over.startswith(b"HTTP/1.1 413 ")
    assert bodies == [b"x" * 10]
    assert asgi.MAX_REQUEST_BODY == 1 << 20


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET / HTTP/1.1\r\nHost: x\r\n", b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"],
)
def test_handle_connection_answers_408_to_a_request_not_sent_in_time(sent: bytes) -> None:
    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        raise AssertionError("not called")  # pragma: no cover

    async def main() -> List[bytes]:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asgi.handle_connection(app, reader, writer, request_timeout=0.2)

        async with _raw_server(handler) as url:
            port = int(url.rsplit(":", 1)[1])
            # Fifty clients that stop part-way, each still connected.
            clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(50)]
            for _, writer in clients:
                writer.write(sent)
            replies = [await reader.read() for reader, _ in clients]
            for _, writer in clients:
                writer.close()
            return replies

    replies = asyncio.run(asyncio.wait_for(main(), 10))
    assert all(reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n") for reply in replies)


def test_handle_connection_serves_bodies_and_reports_app_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        message = await receive()
        if scope["path"] == "/fail":
            raise RuntimeError("app failed")
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": message["body"][::-1]})

    async def main() -> List[httpx.Response]:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asgi.handle_connection(app, reader, writer)

        async with _raw_server(handler) as url, httpx.AsyncClient(timeout=TIMEOUT) as client:
            return [
                await client.post(url + "/echo", content=b"abc"),
                await client.get(url + "/fail"),
            ]

    echoed, failed = asyncio.run(asyncio.wait_for(main(), 10))
    assert (echoed.status_code, echoed.content) == (201, b"cba")
    assert failed.status_code == 500
    assert [r.getMessage() for r in caplog.records] == ["sse_core: error in ASGI application"]


def test_lifespan_and_other_scopes() -> None:
    switch = asgi.Shutdown()

    async def source() -> AsyncIterator[str]:
        yield "x"

    response = asgi.EventStreamResponse(source(), shutdown=switch)

    async def main() -> List[Any]:
        sent: List[Any] = []
        messages = iter(
            [
                {"type": "lifespan.startup"},
                {"type": "lifespan.unknown"},  # ignored
                {"type": "lifespan.shutdown"},
            ]
        )

        async def receive() -> Any:
            return next(messages)

        async def send(message: Any) -> None:
            sent.append(message["type"])

        await response({"type": "lifespan"}, receive, send)
        with pytest.raises(RuntimeError):
            await response({"type": "websocket"}, receive, send)
        return sent

    assert asyncio.run(main()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert switch.triggered


def test_uvicorn_exit_hook_recipe_stops_the_server_with_streams_open() -> None:
    """docs/asgi.md: trigger the switch from uvicorn's handle_exit."""
    import signal

    import uvicorn

    tracker = Tracker()
    switch = asgi.Shutdown()

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            switch.trigger()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        make_asgi_app(tracker, shutdown=switch), port=0, log_config=None, log_level="warning"
    )
    server = Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    results: List[Any] = []
    try:
        wait_until(lambda: server.started, what="uvicorn to start")
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/forever"
        readers = [
            threading.Thread(target=lambda: results.append(read_stream(url))) for _ in range(3)
        ]
        for reader in readers:
            reader.start()
        wait_until(lambda: len(tracker.started) == 3, what="three open streams")
        server.handle_exit(signal.SIGTERM, None)
        thread.join(15)
        assert not thread.is_alive(), "uvicorn waited for the open streams"
        for reader in readers:
            reader.join(15)
    finally:
        server.should_exit = server.force_exit = True
        thread.join(10)
    assert len(results) == 3 and all(r.status == 200 and r.events for r in results)
    assert sorted(tracker.finished) == ["/forever"] * 3


def test_handle_connection_edge_cases_of_the_asgi_protocol(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: Dict[str, str] = {}
    start = {"type": "http.response.start", "status": 200, "headers": []}

    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        path = scope["path"]
        await receive()  # the request
        if path == "/after-the-end":
            await send(start)
            await send({"type": "http.response.body", "body": b"done"})
            seen[path] = (await receive())["type"]  # at once: the response is over
            await send({"type": "http.response.body", "body": b"more"})  # OSError
        elif path == "/client-sends-more":
            await send(start)
            seen[path] = (await receive())["type"]  # after the extra bytes, at EOF
            await send({"type": "http.response.body", "body": b"bye"})
        elif path == "/unknown-message":
            await send(start)
            await send({"type": "http.response.trailers", "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        elif path == "/body-first":
            await send({"type": "http.response.body", "body": b"x"})
        else:
            await send(start)
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise RuntimeError("failed midway")

    async def fetch(port: int, path: str, extra: bytes = b"") -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode() + extra)
        if extra:
            writer.write_eof()
        reply = b""
        with contextlib.suppress(ConnectionResetError):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                reply += chunk
        writer.close()
        return reply

    async def main() -> Dict[str, bytes]:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asgi.handle_connection(app, reader, writer)

        async with _raw_server(handler) as url:
            port = int(url.rsplit(":", 1)[1])
            return {
                "/after-the-end": await fetch(port, "/after-the-end"),
                "/client-sends-more": await fetch(port, "/client-sends-more", b"junk"),
                "/unknown-message": await fetch(port, "/unknown-message"),
                "/body-first": await fetch(port, "/body-first"),
                "/midway": await fetch(port, "/midway"),
            }

    replies = asyncio.run(asyncio.wait_for(main(), 20))
    assert replies["/after-the-end"].endswith(b"\r\n\r\n4\r\ndone\r\n0\r\n\r\n")
    assert replies["/client-sends-more"].endswith(b"\r\n\r\n3\r\nbye\r\n0\r\n\r\n")
    assert replies["/unknown-message"].endswith(b"\r\n\r\n2\r\nok\r\n0\r\n\r\n")
    assert replies["/body-first"].startswith(b"HTTP/1.1 500 ")
    # Cut short: no last chunk, so the client can tell.
    assert replies["/midway"].startswith(b"HTTP/1.1 200 OK\r\n")
    assert replies["/midway"].endswith(b"\r\n\r\n7\r\npartial\r\n")
    assert seen == {"/after-the-end": "http.disconnect", "/client-sends-more": "http.disconnect"}
    assert [r.getMessage() for r in caplog.records] == [
        "sse_core: error in ASGI application",
        "sse_core: error in ASGI application",
    ]
    assert [str(r.exc_info and r.exc_info[1]) for r in caplog.records] == [
        "http.response.body before http.response.start",
        "failed midway",
    ]


class _Source:
    """A bare async iterator (no ``aclose``), or one whose ``aclose`` raises."""

    def __init__(self, items: List[Any], close_raises: bool = False) -> None:
        self._items = list(items)
        if close_raises:
            self.aclose = self._failing_aclose

    def __aiter__(self) -> _Source:
        return self

    async def __anext__(self) -> Any:
        if not self._items:
            raise StopAsyncIteration
        return self._items.pop(0)

    async def _failing_aclose(self) -> None:
        raise OSError("close failed")


async def _serve_directly(
    response: asgi.EventStreamResponse, receive: Optional[asgi.Receive] = None
) -> bytes:
    """Run one request through the ASGI callable, as a server would; the body."""
    body: List[bytes] = []

    async def wait_for_ever() -> asgi.Message:
        await asyncio.sleep(3600)
        raise AssertionError("not reached")  # pragma: no cover

    async def send(message: asgi.Message) -> None:
        body.append(message.get("body", b""))

    scope = {"type": "http", "path": "/", "headers": []}
    await response(scope, receive or wait_for_ever, send)
    return b"".join(body)


def test_sources_without_aclose_none_items_and_failing_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> List[bytes]:
        return [
            await _serve_directly(asgi.EventStreamResponse(_Source([None, "a", None, "b"]))),
            await _serve_directly(asgi.EventStreamResponse(_Source(["c"], close_raises=True))),
        ]

    plain, failing = asyncio.run(asyncio.wait_for(main(), 10))
    assert plain == b"data: a\n\ndata: b\n\n"  # None sends nothing
    assert failing == b"data: c\n\n"
    assert [r.getMessage() for r in caplog.records] == [
        "sse_core: the event source raised while closing"
    ]


def test_a_failing_receive_ends_the_stream_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: List[bool] = []

    async def idle() -> AsyncIterator[str]:
        try:
            await asyncio.sleep(3600)
            yield "never"  # pragma: no cover
        finally:
            closed.append(True)

    async def receive() -> asgi.Message:
        raise RuntimeError("receive failed")

    body = asyncio.run(
        asyncio.wait_for(_serve_directly(asgi.EventStreamResponse(idle()), receive), 10)
    )
    assert body == b""
    assert closed == [True]
    assert [r.getMessage() for r in caplog.records] == ["sse_core: error while ending a stream"]


def test_stream_body_encodes_heartbeats_and_closes_the_source(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: List[str] = []

    async def source() -> AsyncIterator[Any]:
        try:
            yield Event("a", id="1")
            yield None  # ignored: the body keeps time itself
            await asyncio.sleep(0.2)  # silence: a heartbeat (every 50 ms)
            yield "b"
            yield 42  # not an item: logged, and the body ends
        finally:
            closed.append("source")

    async def main() -> List[bytes]:
        return [chunk async for chunk in asgi.stream_body(source(), heartbeat=0.05, retry=7)]

    chunks = asyncio.run(asyncio.wait_for(main(), 10))
    assert chunks[0] == b"retry: 7\nid: 1\ndata: a\n\n"
    assert chunks[-1] == b"data: b\n\n"
    assert set(chunks[1:-1]) == {b": ping\n"} and len(chunks) >= 3
    assert closed == ["source"]
    assert [r.getMessage() for r in caplog.records] == [
        "sse_core: the event source raised; ending the stream"
    ]


def test_stream_body_closed_or_cancelled_or_shut_down_closes_the_source() -> None:
    closed: List[str] = []

    async def forever(name: str) -> AsyncIterator[str]:
        try:
            yield "first"
            await asyncio.sleep(3600)
            yield "never"  # pragma: no cover
        finally:
            closed.append(name)

    async def main() -> List[bytes]:
        # aclose() by the framework, after the first chunk
        body = asgi.stream_body(forever("aclose"), heartbeat=None)
        assert await body.__anext__() == b"data: first\n\n"
        await body.aclose()
        # a cancelled task (what Django does on http.disconnect)
        chunks: List[bytes] = []

        async def consume() -> None:
            async for chunk in asgi.stream_body(forever("cancel")):
                chunks.append(chunk)

        task = asyncio.ensure_future(consume())
        while not chunks:
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # a shutdown switch, before and after it is triggered
        switch = asgi.Shutdown()
        body = asgi.stream_body(forever("shutdown"), heartbeat=None, shutdown=switch)
        assert await body.__anext__() == b"data: first\n\n"
        switch.trigger()
        chunks += [chunk async for chunk in body]
        later = [c async for c in asgi.stream_body(forever("late"), shutdown=switch)]
        return chunks + later

    assert asyncio.run(asyncio.wait_for(main(), 10)) == [b"data: first\n\n"]
    assert closed == ["aclose", "cancel", "shutdown", "late"]


def test_stream_body_ends_with_a_source_without_aclose_and_checks_its_arguments() -> None:
    async def main() -> List[bytes]:
        return [c async for c in asgi.stream_body(_Source(["x", None, "y"]), heartbeat=None)]

    assert asyncio.run(main()) == [b"data: x\n\n", b"data: y\n\n"]
    for kwargs in ({"heartbeat": 0}, {"retry": -1}):

        async def bad(kwargs: Any = kwargs) -> None:
            async for _ in asgi.stream_body(_Source([]), **kwargs):
                pass  # pragma: no cover

        with pytest.raises(ValueError):
            asyncio.run(bad())


@pytest.mark.parametrize(
    ("request_line", "reply_end"),
    [
        (b"GET /wait HTTP/1.1", b""),  # cancelled before the response: nothing sent
        (b"GET /stream HTTP/1.0", b"\r\n\r\nstarted"),  # close-delimited: the close ends it
        (b"GET /stream HTTP/1.1", b"\r\n\r\n7\r\nstarted\r\n0\r\n\r\n"),  # the last chunk
    ],
)
def test_handle_connection_cancelled_by_a_stopping_server(
    request_line: bytes, reply_end: bytes
) -> None:
    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"started", "more_body": True})
        await asyncio.sleep(3600)

    async def main() -> bytes:
        tasks: List[asyncio.Task[Any]] = []

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            tasks.append(asyncio.current_task())  # type: ignore[arg-type]
            with contextlib.suppress(asyncio.CancelledError):
                await asgi.handle_connection(app, reader, writer)

        async with _raw_server(handler) as url:
            port = int(url.rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request_line + b"\r\nHost: x\r\n\r\n")
            head = b""
            if request_line.startswith(b"GET /stream"):
                head = await reader.readuntil(b"started")
            else:
                while not tasks:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.1)  # the request is read; the app waits
            tasks[0].cancel()
            reply = head + await reader.read()
            writer.close()
            return reply

    reply = asyncio.run(asyncio.wait_for(main(), 10))
    assert reply.endswith(reply_end)
    if not reply_end:
        assert reply == b""
