# SPDX-License-Identifier: MIT
"""sse_core.wsgi under real WSGI servers over 127.0.0.1: wsgiref, waitress, gunicorn."""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple, cast

import httpx
import pytest

from sse_core import Decoder, Event, wsgi

from ._apps import (
    RAW_IDS,
    Tracker,
    check_heartbeats_then_late_event,
    make_wsgi_app,
    read_track_file,
)
from ._clients import TIMEOUT, read_stream, read_with_httpx_sse
from ._servers import (
    ROOT,
    TESTS,
    Running,
    free_port,
    gunicorn_argv,
    python_env,
    stop_process,
    subprocess_server,
    wait_for_port,
    wait_until,
    waitress_argv,
    wsgiref_server,
)

Tracked = Callable[[], Dict[str, List[str]]]
SERVERS = ["wsgiref", "waitress", "gunicorn-sync", "gunicorn-gthread"]


@contextlib.contextmanager
def _serve(kind: str, tmp_path: Path) -> Iterator[Tuple[Running, Tracked]]:
    if kind == "wsgiref":
        tracker = Tracker()
        with wsgiref_server(make_wsgi_app(tracker, retry=50)) as server:
            yield server, lambda: {"start": tracker.started, "finish": tracker.finished}
        return
    track_file = str(tmp_path / "track.txt")
    port = free_port()
    argv = waitress_argv(port) if kind == "waitress" else gunicorn_argv(port, kind.split("-")[1])
    with subprocess_server(argv, port, SSE_TEST_TRACK_FILE=track_file) as server:
        yield server, lambda: read_track_file(track_file)


@pytest.fixture(params=SERVERS)
def served(request: Any, tmp_path: Path) -> Iterator[Tuple[Running, Tracked]]:
    with _serve(request.param, tmp_path) as result:
        yield result


def test_headers_events_and_clean_end(served: Tuple[Running, Tracked]) -> None:
    server, tracked = served
    stream = read_stream(server.url + "/count?n=3")
    wait_until(lambda: tracked()["finish"] == ["/count"], what="the source's finally")
    assert stream.status == 200
    assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.headers["x-accel-buffering"] == "no"
    assert stream.headers["x-test"] == "yes"
    assert stream.retry == 50
    assert [(e.data, e.id) for e in stream.events] == [
        ("event 1", "1"),
        ("event 2", "2"),
        ("event 3", "3"),
    ]


def test_last_event_id_resumes_with_httpx_sse(served: Tuple[Running, Tracked]) -> None:
    server, _ = served
    content_type, got = read_with_httpx_sse(
        server.url + "/count?n=3", limit=10, headers={"Last-Event-ID": "41"}
    )
    assert content_type == "text/event-stream; charset=utf-8"
    assert got == [
        ("message", "event 42", "42"),
        ("message", "event 43", "43"),
        ("message", "event 44", "44"),
    ]


@pytest.mark.parametrize(("sent", "seen"), RAW_IDS)
def test_last_event_id_is_read_as_utf8_from_a_real_client(
    served: Tuple[Running, Tracked], sent: bytes, seen: str
) -> None:
    server, _ = served
    stream = read_stream(server.url + "/echo", headers={b"Last-Event-ID": sent})
    assert stream.status == 200
    assert [(e.event, e.data) for e in stream.events] == [("echo", seen)]


def test_headers_arrive_before_the_first_event(served: Tuple[Running, Tracked]) -> None:
    # An idle source and the default 15 s heartbeat: the status and headers
    # must come at once, not with the first heartbeat.  httpx's read timeout
    # is the bound (the status line is read before stream() returns).
    server, _ = served
    timeout = httpx.Timeout(10.0, read=3.0)
    with httpx.stream("GET", server.url + "/idle?heartbeat=default", timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert next(response.iter_raw()) == b":\n"


def test_heartbeat_is_a_comment_line_that_joins_the_next_block(
    served: Tuple[Running, Tracked],
) -> None:
    server, _ = served
    stream = read_stream(server.url + "/late")
    _, got = read_with_httpx_sse(server.url + "/late", limit=5, headers={})
    opening, raw = stream.raw[:2], stream.raw[2:]
    assert opening == b":\n"
    check_heartbeats_then_late_event(raw, retry=b"retry: 50\n")
    assert [(e.event, e.data, e.id) for e in stream.events] == [("message", "late", "1")]
    assert stream.retry == 50
    assert got == [("message", "late", "1")]


def test_a_mounted_stream_answers_get_and_head_and_405_to_other_methods(
    served: Tuple[Running, Tracked],
) -> None:
    server, tracked = served
    with httpx.Client(timeout=TIMEOUT) as client:
        posted = client.post(server.url + "/count?n=1", content=b"x")
        head = client.head(server.url + "/count?n=1")
        got = client.get(server.url + "/count?n=1")
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert got.status_code == 200
    wait_until(lambda: tracked()["finish"] == ["/count"], what="the GET's source to end")
    assert tracked()["start"] == ["/count"]  # the GET's, and no other


def test_a_post_stream_with_cors_and_its_preflight() -> None:
    page = "http://127.0.0.1:1"
    response = wsgi.EventStreamResponse(
        lambda last_event_id: iter(["a", "b"]),
        methods=("POST",),
        cors=wsgi.CORS(page, credentials=True),
        heartbeat=None,
    )
    preflight_headers = {"Origin": page, "Access-Control-Request-Method": "POST"}
    with wsgiref_server(response) as server, httpx.Client(timeout=TIMEOUT) as client:
        posted = client.post(server.url, content=b"{}", headers={"Origin": page})
        got = client.get(server.url)
        preflight = client.options(server.url, headers=preflight_headers)
    assert [e.data for e in Decoder().feed(posted.content)] == ["a", "b"]
    assert posted.headers["access-control-allow-origin"] == page
    assert posted.headers["access-control-allow-credentials"] == "true"
    assert (got.status_code, got.headers["allow"]) == (405, "POST, OPTIONS")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-headers"] == "Last-Event-ID"
    assert preflight.headers["access-control-allow-credentials"] == "true"


def test_heartbeats_while_idle(served: Tuple[Running, Tracked]) -> None:
    server, tracked = served
    stream = read_stream(server.url + "/idle", pings=3)
    assert stream.raw.count(b": ping\n") >= 3
    assert stream.events == []
    # The next heartbeat write fails, and the server closes the source.
    wait_until(lambda: tracked()["finish"] == ["/idle"], what="the idle source to close")


def test_disconnect_closes_the_source(served: Tuple[Running, Tracked]) -> None:
    server, tracked = served
    stream = read_stream(server.url + "/forever", events=3)
    assert [e.id for e in stream.events[:3]] == ["1", "2", "3"]
    wait_until(lambda: tracked()["finish"] == ["/forever"], what="the source's finally")
    assert tracked()["start"] == ["/forever"]


def test_source_that_raises_ends_the_stream(served: Tuple[Running, Tracked]) -> None:
    server, tracked = served
    stream = read_stream(server.url + "/raise")  # reads to the end of the response
    assert [e.data for e in stream.events] == ["one", "two"]
    wait_until(lambda: tracked()["finish"] == ["/raise"], what="the source's finally")


def test_errors_are_logged_once_and_threads_do_not_leak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = Tracker()
    before = set(threading.enumerate())
    with wsgiref_server(make_wsgi_app(tracker)) as server:
        stream = read_stream(server.url + "/raise")
        assert [e.data for e in stream.events] == ["one", "two"]
        read_stream(server.url + "/forever", events=2)
        wait_until(lambda: sorted(tracker.finished) == ["/forever", "/raise"], what="finally")
    # The server's thread is joined; every per-request thread has ended too.
    wait_until(lambda: set(threading.enumerate()) <= before, what="handler threads to end")
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.levelname) for r in problems] == [("sse_core", "ERROR")]
    assert problems[0].exc_info is not None
    assert "boom" in str(problems[0].exc_info[1])


def test_100_concurrent_streams() -> None:
    tracker = Tracker()
    results: List[List[Event]] = []
    lock = threading.Lock()

    def one(url: str) -> None:
        events = read_stream(url, events=5).events
        with lock:
            results.append(events)

    with wsgiref_server(make_wsgi_app(tracker)) as server:
        threads = [
            threading.Thread(target=one, args=(server.url + "/count?n=5",)) for _ in range(100)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        wait_until(lambda: len(tracker.finished) == 100, timeout=30, what="100 sources")
    assert len(results) == 100
    for events in results:
        assert [e.id for e in events] == ["1", "2", "3", "4", "5"]


def _docs_block(marker: str) -> str:
    """The ```python block of docs/wsgi.md that contains ``marker``."""
    text = (ROOT / "docs" / "wsgi.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M)
    (block,) = [block for block in blocks if marker in block]
    return str(block)


def _open_streams(url: str, count: int) -> List[threading.Thread]:
    """``count`` clients reading ``url`` to its end, each in a thread."""

    def read() -> None:
        with contextlib.suppress(httpx.HTTPError):
            read_stream(url, deadline=60)

    threads = [threading.Thread(target=read, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("worker", ["gthread", "sync"])
def test_gunicorn_sigterm_recipe_runs_every_finally(worker: str, tmp_path: Path) -> None:
    config = tmp_path / "gunicorn.conf.py"
    recipe = _docs_block("def post_worker_init(worker):")
    config.write_text(recipe.replace("from app import shutdown", "from _apps import shutdown"))
    track_file = str(tmp_path / "track.txt")

    def tracked() -> Dict[str, List[str]]:
        return read_track_file(track_file)

    port = free_port()
    streams = 10 if worker == "gthread" else 1  # a sync worker serves one at a time
    argv = gunicorn_argv(port, worker)
    # The graceful timeout is long, so that only the recipe can end the streams in time.
    argv[argv.index("--graceful-timeout") + 1] = "60"
    argv[-1:-1] = ["--threads", "16", "--config", str(config)]
    process = subprocess.Popen(
        argv,
        cwd=str(TESTS),
        env=python_env(SSE_TEST_TRACK_FILE=track_file),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process)
        readers = _open_streams(f"http://127.0.0.1:{port}/forever", streams)
        wait_until(lambda: len(tracked()["start"]) == streams, what="the streams to start")
        process.send_signal(signal.SIGTERM)
        process.wait(30)  # well inside the 60 s graceful timeout
    finally:
        stop_process(process)
    assert process.returncode == 0
    assert len(tracked()["finish"]) == streams  # every finally ran
    for reader in readers:
        reader.join(10)
        assert not reader.is_alive()  # each client saw its response end


def test_waitress_sigterm_recipe_runs_every_finally(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    recipe = _docs_block("waitress.create_server(app, **options)")
    port = free_port()
    script.write_text(
        "from _apps import shutdown, wsgi_app\n"
        + recipe
        + f"\nserve(wsgi_app, shutdown, listen='127.0.0.1:{port}', threads=16)\n"
    )
    track_file = str(tmp_path / "track.txt")

    def tracked() -> Dict[str, List[str]]:
        return read_track_file(track_file)

    process = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=str(TESTS),
        env=python_env(SSE_TEST_TRACK_FILE=track_file),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process)
        readers = _open_streams(f"http://127.0.0.1:{port}/forever", 10)
        wait_until(lambda: len(tracked()["start"]) == 10, what="the streams to start")
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    finally:
        stop_process(process)
    assert process.returncode == 0
    assert len(tracked()["finish"]) == 10  # every finally ran
    for reader in readers:
        reader.join(10)
        assert not reader.is_alive()


def test_shutdown_switch_ends_open_streams() -> None:
    tracker = Tracker()
    switch = wsgi.Shutdown()
    results: List[Any] = []
    with wsgiref_server(make_wsgi_app(tracker, shutdown=switch)) as server:
        reader = threading.Thread(
            target=lambda: results.append(read_stream(server.url + "/forever"))
        )
        reader.start()
        wait_until(lambda: "/forever" in tracker.started, what="the stream to start")
        switch.trigger()
        reader.join(15)
        assert not reader.is_alive()
        wait_until(lambda: tracker.finished == ["/forever"], what="the source's finally")
        # A stream started after the trigger ends at once.
        assert read_stream(server.url + "/forever").events == []
    assert results and results[0].status == 200


def test_response_built_on_an_iterable_serves_once() -> None:
    response = wsgi.EventStreamResponse(iter(["only"]), heartbeat=None)

    def app(environ: Any, start_response: Any) -> Any:
        return response(environ, start_response)

    with wsgiref_server(app) as server:
        assert [e.data for e in read_stream(server.url).events] == ["only"]
        assert httpx.get(server.url, timeout=TIMEOUT).status_code == 500


def test_stream_body_close_closes_the_source() -> None:
    closed: List[bool] = []

    def source() -> Iterator[str]:
        try:
            yield "a"
            yield "b"
        finally:
            closed.append(True)

    body = wsgi.StreamBody(source(), heartbeat=None)
    assert next(body) == b":\n"  # before the source is asked for anything
    assert closed == []
    assert next(body) == b"data: a\n\n"
    body.close()
    body.close()
    assert closed == [True]
    with pytest.raises(StopIteration):
        next(body)


def test_heartbeat_only_after_the_interval() -> None:
    items: List[Any] = [None, None, "x"]
    body = wsgi.StreamBody(iter(items), heartbeat=3600)
    # Two idle markers within the interval send nothing; the event follows.
    assert list(body) == [b":\n", b"data: x\n\n"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"heartbeat": 0}, ValueError),
        ({"retry": -5}, ValueError),
        ({"headers": [("content-type", "text/plain")]}, ValueError),
    ],
)
def test_bad_arguments_are_refused(kwargs: Any, error: type) -> None:
    with pytest.raises(error):
        wsgi.EventStreamResponse(["x"], **kwargs)
    with pytest.raises(TypeError):
        wsgi.EventStreamResponse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [{"heartbeat": 0}, {"heartbeat": -1.0}, {"retry": -1}, {"retry": 1.5}]
)
def test_stream_body_refuses_bad_arguments(kwargs: Any) -> None:
    with pytest.raises(ValueError):
        wsgi.StreamBody(["x"], **kwargs)


def test_a_bad_item_ends_the_stream_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    body = wsgi.StreamBody(cast(Any, ["a", 1, "b"]), heartbeat=None)
    assert list(body) == [b":\n", b"data: a\n\n"]
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert isinstance(caplog.records[0].exc_info and caplog.records[0].exc_info[1], TypeError)


def test_a_source_whose_close_raises_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    class Source:
        def __iter__(self) -> Source:
            return self

        def __next__(self) -> str:
            return "x"

        def close(self) -> None:
            raise OSError("close failed")

    body = wsgi.StreamBody(Source(), heartbeat=None)
    assert next(body) == b":\n"
    assert next(body) == b"data: x\n\n"
    body.close()
    assert [r.getMessage() for r in caplog.records] == [
        "sse_core: the event source raised while closing"
    ]
