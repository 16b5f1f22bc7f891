# SPDX-License-Identifier: MIT
"""``python -m sse_core demo``: over HTTP with real clients, and in headless Chromium."""

from __future__ import annotations

import contextlib
import http.client
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Tuple
from urllib.parse import urlsplit

import pytest

from ._cdp import chromium
from ._clients import read_stream, read_with_httpx_sse
from ._servers import ROOT, Running, free_port, stop_process, wait_for_port, wait_until

SERVERS = ["wsgi", "asgi"]


@contextlib.contextmanager
def demo(server: str, port: int, interval: float = 0.1) -> Iterator[Running]:
    """Run the README's demo command (with a shorter interval) until the block ends."""
    argv = [sys.executable, "-m", "sse_core", "demo", "--port", str(port), "--server", server]
    argv += ["--interval", str(interval)]
    process = subprocess.Popen(
        argv, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process=process)
        yield Running(port)
    finally:
        stop_process(process)
        assert process.stdout is not None
        banner = process.stdout.read().decode()
        process.stdout.close()
        assert f"http://127.0.0.1:{port}/" in banner


@pytest.mark.parametrize("server", SERVERS)
def test_demo_streams_steps_and_resumes_after_last_event_id(server: str) -> None:
    with demo(server, free_port()) as running:
        first = read_stream(running.url + "/events", events=3)
        content_type, resumed = read_with_httpx_sse(
            running.url + "/events", limit=2, headers={"Last-Event-ID": "41"}
        )
        page = read_stream(running.url + "/")
    assert first.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert [(e.event, e.id) for e in first.events[:3]] == [
        ("message", "1"),
        ("message", "2"),
        ("message", "3"),
    ]
    assert first.events[0].data.startswith("step 1: ")
    assert first.retry == 1000
    assert content_type == "text/event-stream; charset=utf-8"
    assert [(kind, event_id) for kind, _, event_id in resumed] == [
        ("message", "42"),
        ("message", "43"),
    ]
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert b'new EventSource("/events")' in page.raw


def _log(browser: Any) -> List[Dict[str, str]]:
    log: List[Dict[str, str]] = browser.evaluate("window.sseLog || []")
    return log


@pytest.mark.parametrize("server", SERVERS)
def test_browser_receives_events_and_resumes_after_a_restart(server: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with chromium_and_demo(server, port, url) as (browser, restart):
        wait_until(lambda: len(_log(browser)) >= 5, timeout=60, what="events in the page")
        assert browser.evaluate("document.getElementById('status').textContent") == "open"
        assert browser.evaluate("document.querySelectorAll('#events li').length") >= 5
        restart()
        before = len(_log(browser))
        wait_until(
            lambda: len(_log(browser)) >= before + 5, timeout=60, what="events after restart"
        )
        assert browser.evaluate("window.sseOpens") >= 2
        log = _log(browser)
    ids = [int(entry["id"]) for entry in log]
    # The restarted server continued after the browser's Last-Event-ID: no
    # event was repeated or skipped across the restart.
    assert ids == list(range(1, len(ids) + 1))
    assert all(entry["data"].startswith(f"step {entry['id']}: ") for entry in log)


@contextlib.contextmanager
def chromium_and_demo(server: str, port: int, url: str) -> Iterator[Any]:
    """A browser on the demo page, and a function that restarts the demo server."""
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(contextlib.ExitStack())]
        servers[0].enter_context(demo(server, port))
        browser = stack.enter_context(chromium(url))

        def restart() -> None:
            servers[0].close()  # the demo process exits; the browser sees the drop
            time.sleep(0.5)
            servers[0] = stack.enter_context(contextlib.ExitStack())
            servers[0].enter_context(demo(server, port))

        yield browser, restart


# --- the same apps in-process (the tests above run the command) ---------------------


def test_demo_apps_in_process() -> None:
    from sse_core import _demo

    from ._servers import uvicorn_server, wsgiref_server

    for serve, app in (
        (wsgiref_server, _demo.make_wsgi_app(0.01)),
        (uvicorn_server, _demo.make_asgi_app(0.01)),
    ):
        with serve(app) as running:
            stream = read_stream(running.url + "/events", events=2, headers={"Last-Event-ID": "9"})
            assert [e.id for e in stream.events[:2]] == ["10", "11"]
            assert read_stream(running.url + "/nowhere").status == 404
            assert b"EventSource" in read_stream(running.url + "/").raw


@pytest.mark.parametrize(
    ("last_event_id", "first"), [("", 1), ("0", 1), ("41", 42), ("x", 1), ("9" * 30, 1)]
)
def test_demo_first_step(last_event_id: str, first: int) -> None:
    from sse_core._demo import first_step

    assert first_step(last_event_id) == first


def test_demo_refuses_a_bad_interval(capsys: pytest.CaptureFixture[str]) -> None:
    from sse_core._cli import main

    with pytest.raises(SystemExit):
        main(["demo", "--interval", "0"])
    assert "must be a finite number > 0, got 0" in capsys.readouterr().err


# --- the command itself in process: main(["demo", ...]) until a real Ctrl-C ---------


def run_demo(
    monkeypatch: pytest.MonkeyPatch, args: List[str], client: Callable[[str], Any]
) -> Tuple[int, Any]:
    """Run ``main(["demo", *args])`` in this (the main) thread; once it serves,
    call ``client(base_url)`` in another thread, then press Ctrl-C: SIGINT to
    the main thread.  Return main's status and what ``client`` returned."""
    from sse_core import _cli, _demo

    announced: queue.Queue[Tuple[Any, ...]] = queue.Queue()
    announce = _demo._announce

    def announce_and_tell(server: str, address: Tuple[Any, ...]) -> None:
        announce(server, address)
        announced.put(address)

    monkeypatch.setattr(_demo, "_announce", announce_and_tell)
    finished = threading.Event()
    outcome: Dict[str, Any] = {}
    main_thread = threading.get_ident()

    def drive() -> None:
        deadline = time.monotonic() + 20
        while True:  # the banner, or main() returned without serving
            try:
                address = announced.get(timeout=0.05)
                break
            except queue.Empty:
                if finished.is_set() or time.monotonic() > deadline:
                    outcome["error"] = AssertionError("the demo did not start")
                    return
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        try:
            outcome["value"] = client(f"http://{host}:{address[1]}")
        except BaseException as error:
            outcome["error"] = error
        finally:
            signal.pthread_kill(main_thread, signal.SIGINT)

    before = set(threading.enumerate())
    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    try:
        status = _cli.main(["demo", "--port", "0", "--interval", "0.02", *args])
    finally:
        finished.set()
        thread.join(30)
    for leftover in set(threading.enumerate()) - before:  # the server's connection threads
        leftover.join(10)
        assert not leftover.is_alive(), leftover
    if "error" in outcome:
        raise outcome["error"]
    return status, outcome.get("value")


def _use_the_demo(base: str) -> Dict[str, Any]:
    """What a browser does: the page, the stream (resuming after ID 41), a typo."""
    from sse_core.client import EventSource

    seen: Dict[str, Any] = {}
    with EventSource(base + "/events", last_event_id="41", read_timeout=10) as source:
        seen["events"] = [event for _, event in zip(range(2), source)]
    parts = urlsplit(base)
    for path in ("/", "/nowhere"):
        connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            seen[path] = (response.status, response.getheader("Content-Type"), response.read())
        finally:
            connection.close()
    return seen


@pytest.mark.parametrize("server", SERVERS)
def test_demo_command_in_process_until_ctrl_c(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, seen = run_demo(monkeypatch, ["--server", server], _use_the_demo)
    out, err = capsys.readouterr()
    assert status == 130  # Ctrl-C, and no traceback
    assert "Traceback" not in err
    assert out.startswith(f"sse_core demo ({server}) on http://127.0.0.1:")
    assert out.endswith("/  (Ctrl-C stops)\n")
    assert [(e.id, e.data) for e in seen["events"]] == [
        ("42", "step 42: " + _demo_actions()[1]),
        ("43", "step 43: " + _demo_actions()[2]),
    ]
    status_code, content_type, page = seen["/"]
    assert (status_code, content_type) == (200, "text/html; charset=utf-8")
    assert b'new EventSource("/events")' in page
    assert seen["/nowhere"] == (404, "text/plain", b"not found\n")
    if server == "wsgi":  # wsgiref logs each request to stderr
        assert '"GET / HTTP/1.1" 200' in err
        assert '"GET /nowhere HTTP/1.1" 404' in err


@pytest.mark.parametrize("server", SERVERS)
def test_ctrl_c_ends_the_streams_still_open(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A browser tab still open when the demo is stopped: its stream must end
    # (so the browser reconnects) and nothing may be left running.
    def open_stream(base: str) -> Tuple[http.client.HTTPConnection, Any, bytes]:
        parts = urlsplit(base)
        connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=10)
        connection.request("GET", "/events")
        response = connection.getresponse()
        start = response.readline()  # "retry: 1000"
        if start == b":\n":  # the WSGI body's opening comment
            start = response.readline()
        return connection, response, start

    status, (connection, response, start) = run_demo(monkeypatch, ["--server", server], open_stream)
    try:
        rest = response.read()  # returns at the end of the body; a timeout fails the test
    finally:
        connection.close()
    assert status == 130
    assert start == b"retry: 1000\n"
    assert rest.startswith(b"id: 1\ndata: step 1: ")
    assert "Traceback" not in capsys.readouterr().err


def _demo_actions() -> Tuple[str, ...]:
    from sse_core import _demo

    return _demo._ACTIONS


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
@pytest.mark.parametrize("server", SERVERS)
def test_demo_command_on_ipv6(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def page(base: str) -> int:
        connection = http.client.HTTPConnection("::1", urlsplit(base).port, timeout=10)
        try:
            connection.request("GET", "/")
            return connection.getresponse().status
        finally:
            connection.close()

    status, page_status = run_demo(monkeypatch, ["--server", server, "--host", "::1"], page)
    assert (status, page_status) == (130, 200)
    assert capsys.readouterr().out.startswith(f"sse_core demo ({server}) on http://[::1]:")


@pytest.mark.parametrize("server", SERVERS)
def test_demo_command_reports_a_taken_port(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    from sse_core._cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["demo", "--port", str(port), "--server", server])
    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    assert err.startswith(f"sse_core: cannot serve on 127.0.0.1 port {port}: ")
    assert "in use" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--port", "65536"), ("--port", "-1"), ("--port", "http"), ("--interval", "inf")],
)
def test_demo_bad_option_values_are_usage_errors(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sse_core._cli import main

    with pytest.raises(SystemExit) as info:
        main(["demo", option, value])
    assert info.value.code == 2
    assert f"error: argument {option}: " in capsys.readouterr().err
