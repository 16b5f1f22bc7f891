# SPDX-License-Identifier: MIT
"""``python -m sse_core demo``: over HTTP with real clients, and in headless Chromium."""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple
from urllib.parse import urlsplit

import httpx
import pytest

from sse_core._demo import default_journal
from sse_core._demo.board import SAMPLE_TITLE, agent_lines

from ._cdp import chromium
from ._clients import read_stream, read_with_httpx_sse
from ._servers import ROOT, Running, free_port, stop_process, wait_for_port, wait_until

SERVERS = ["wsgi", "asgi"]


@contextlib.contextmanager
def demo(server: str, port: int, interval: float = 0.1, journal: str = "") -> Iterator[Running]:
    """Run the README's demo command (with a shorter interval) until the block ends."""
    argv = [sys.executable, "-m", "sse_core", "demo", "--port", str(port), "--server", server]
    argv += ["--interval", str(interval), "--journal", journal]
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
def test_demo_serves_the_board(server: str) -> None:
    with demo(server, free_port()) as running:
        content_type, sample = read_with_httpx_sse(
            running.url + "/tasks/1/events", limit=20, headers={}
        )
        created = httpx.post(running.url + "/tasks", json={"title": "Try it"}, timeout=10)
        _, output = read_with_httpx_sse(
            running.url + created.json()["events"], limit=20, headers={}
        )
        _, feed = read_with_httpx_sse(
            running.url + "/events", limit=2, headers={"Last-Event-ID": "3"}
        )
        page = read_stream(running.url + "/")
    assert content_type == "text/event-stream; charset=utf-8"
    assert [(kind, event_id) for kind, _, event_id in sample][-1] == ("done", "7")
    assert [data for _, data, _ in sample[:-1]] == agent_lines(SAMPLE_TITLE)
    assert created.status_code == 201
    assert [data for _, data, _ in output[:-1]] == agent_lines("Try it")
    assert [(kind, event_id) for kind, _, event_id in feed] == [("task", "4"), ("task", "5")]
    assert json.loads(feed[0][1])["title"] == "Try it"
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert b'new EventSource("/events")' in page.raw


def _board(browser: Any) -> Dict[str, Any]:
    board: Dict[str, Any] = browser.evaluate(
        "JSON.parse(JSON.stringify(window.board || {feed: [], output: []}))"
    )
    return board


@pytest.mark.parametrize("server", SERVERS)
def test_browser_submits_a_task_and_resumes_after_a_restart(server: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    journal = str(tmp_path / "board.jsonl")
    with chromium_and_demo(server, port, url, journal) as (browser, restart):
        wait_until(lambda: len(_board(browser)["feed"]) >= 3, timeout=60, what="the feed")
        browser.evaluate(
            "document.getElementById('title').value = 'Task from the page';"
            "document.getElementById('new').requestSubmit()"
        )
        wait_until(
            lambda: _board(browser).get("opened") == "2" and len(_board(browser)["output"]) >= 2,
            timeout=60,
            what="the new task's output",
        )
        restart()  # mid-task: the agent has 6 steps of 0.5 s

        def finished() -> bool:
            board = _board(browser)
            done = any(entry.get("done") for entry in board["output"])
            feed = [
                (e["data"]["id"], e["data"]["state"]) for e in board["feed"] if e["type"] == "task"
            ]
            return done and ("2", "done") in feed

        wait_until(finished, timeout=60, what="the task's end after the restart, on both streams")
        board = _board(browser)
        shown = browser.evaluate("document.querySelectorAll('#output li').length")
    output = board["output"]
    # The page resumed the task's stream after the last ID it saw: every step
    # once, in order, across the restart.
    assert [entry["id"] for entry in output] == [str(n) for n in range(1, 8)]
    assert [entry["data"] for entry in output[:-1]] == agent_lines("Task from the page")
    assert shown == 7
    assert board["outputOpens"] >= 2
    # The feed too: consecutive IDs, none repeated, and the task's end after it.
    ids = [int(entry["id"]) for entry in board["feed"]]
    assert ids == list(range(1, len(ids) + 1))
    assert board["feedOpens"] >= 2
    states = [(e["data"]["id"], e["data"]["state"]) for e in board["feed"] if e["type"] == "task"]
    assert states[-1] == ("2", "done")
    assert ("2", "created") in states


@contextlib.contextmanager
def chromium_and_demo(server: str, port: int, url: str, journal: str) -> Iterator[Any]:
    """A browser on the demo page, and a function that restarts the demo server."""
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(contextlib.ExitStack())]
        servers[0].enter_context(demo(server, port, 0.5, journal))
        browser = stack.enter_context(chromium(url))

        def restart() -> None:
            servers[0].close()  # the demo process exits; the browser sees the drop
            time.sleep(0.5)
            servers[0] = stack.enter_context(contextlib.ExitStack())
            servers[0].enter_context(demo(server, port, 0.5, journal))

        yield browser, restart


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
    """What a browser does: the page, the feed (resuming after ID 1), a typo."""
    from sse_core.client import EventSource

    seen: Dict[str, Any] = {}
    with EventSource(base + "/events", last_event_id="1", read_timeout=10) as source:
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
    server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    journal = ["--journal", str(tmp_path / "j.jsonl")]
    status, seen = run_demo(monkeypatch, ["--server", server, *journal], _use_the_demo)
    out, err = capsys.readouterr()
    assert status == 130  # Ctrl-C, and no traceback
    assert "Traceback" not in err
    assert out.startswith(f"sse_core demo ({server}) on http://127.0.0.1:")
    assert out.endswith("/  (Ctrl-C stops)\n")
    assert [(e.id, e.event) for e in seen["events"]] == [("2", "task"), ("3", "task")]
    assert [json.loads(e.data)["state"] for e in seen["events"]] == ["running", "done"]
    status_code, content_type, page = seen["/"]
    assert (status_code, content_type) == (200, "text/html; charset=utf-8")
    assert b'new EventSource("/events")' in page
    assert seen["/nowhere"] == (404, "text/plain; charset=utf-8", b"not found\n")
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

    # No --journal: the default one, named after the port.
    status, (connection, response, start) = run_demo(monkeypatch, ["--server", server], open_stream)
    try:
        rest = response.read()  # returns at the end of the body; a timeout fails the test
    finally:
        connection.close()
        port = connection.port
    journal = Path(default_journal(port))
    assert json.loads(journal.read_text().splitlines()[0])["event"] == "task"
    journal.unlink()
    assert status == 130
    assert start == b"retry: 1000\n"
    assert rest.startswith(b"event: task\nid: 1\ndata: {")
    assert "Traceback" not in capsys.readouterr().err


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
