# SPDX-License-Identifier: MIT
"""``python -m sse_core demo``: over HTTP with real clients, and in headless Chromium."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from typing import Any, Dict, Iterator, List

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
    assert "must be > 0" in capsys.readouterr().err
