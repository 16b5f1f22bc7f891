# SPDX-License-Identifier: MIT
"""A cross-origin EventSource in headless Chromium, against the ``cors=`` option.

Two loopback ports are two origins: the page comes from one (wsgiref), the
streams from the other (uvicorn for ``sse_core.asgi``, wsgiref for
``sse_core.wsgi``).  The browser itself applies the CORS rules.
"""

from __future__ import annotations

import json
import threading
from typing import Any, AsyncIterator, Callable, Dict, Iterable, Iterator, List

import pytest

from sse_core import Event, asgi, wsgi

from ._cdp import chromium
from ._servers import uvicorn_server, wait_until, wsgiref_server

#: The page: a credentialed EventSource on the CORS stream, which ends after
#: two events so the browser reconnects with Last-Event-ID, and a plain one on
#: a stream without CORS headers, which the browser must refuse.
PAGE = """<!doctype html><meta charset="utf-8"><title>cors</title><script>
window.got = []; window.refused = null; window.leaked = [];
const allowed = new EventSource(%(allowed)s, {withCredentials: true});
allowed.onmessage = (e) => {
  window.got.push([e.lastEventId, e.data]);
  if (window.got.length >= 4) allowed.close();
};
const closed = new EventSource(%(closed)s);
closed.onmessage = (e) => window.leaked.push(e.data);
closed.onerror = () => { window.refused = closed.readyState; closed.close(); };
</script>"""


def _page_app(stream_url: List[str]) -> Callable[..., Iterable[bytes]]:
    """The page, for streams at ``stream_url[0]`` (known once they are served)."""

    def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        html = PAGE % {
            "allowed": json.dumps(stream_url[0] + "/allowed"),
            "closed": json.dumps(stream_url[0] + "/closed"),
        }
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html.encode()]

    return app


def _start(last_event_id: str) -> int:
    return int(last_event_id) if last_event_id.isascii() and last_event_id.isdigit() else 0


class Seen:
    """What the stream server was asked: (method, path, Last-Event-ID)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: List[Any] = []

    def add(self, *request: Any) -> None:
        with self.lock:
            self.requests.append(request)


def _asgi_streams(origin: str, seen: Seen) -> asgi.ASGIApp:
    async def two(last_event_id: str) -> AsyncIterator[Event]:
        start = _start(last_event_id)
        for i in (start + 1, start + 2):
            yield Event(f"e{i}", id=str(i))

    allowed = asgi.EventStreamResponse(two, cors=asgi.CORS(origin, credentials=True), retry=50)
    closed = asgi.EventStreamResponse(two)

    async def app(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] == "http":
            seen.add(scope["method"], scope["path"], asgi.last_event_id(scope))
        await (allowed if scope.get("path") == "/allowed" else closed)(scope, receive, send)

    return app


def _wsgi_streams(origin: str, seen: Seen) -> Callable[..., Iterable[bytes]]:
    def two(last_event_id: str) -> Iterator[Event]:
        start = _start(last_event_id)
        for i in (start + 1, start + 2):
            yield Event(f"e{i}", id=str(i))

    allowed = wsgi.EventStreamResponse(two, cors=wsgi.CORS(origin, credentials=True), retry=50)
    closed = wsgi.EventStreamResponse(two)

    def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        seen.add(environ["REQUEST_METHOD"], path, wsgi.last_event_id(environ))
        return (allowed if path == "/allowed" else closed)(environ, start_response)

    return app


@pytest.mark.parametrize("adapter", ["asgi", "wsgi"])
def test_cross_origin_event_source_with_credentials(adapter: str) -> None:
    seen = Seen()
    stream_url: List[str] = []
    with wsgiref_server(_page_app(stream_url)) as page:
        if adapter == "asgi":
            streams = uvicorn_server(_asgi_streams(page.url, seen))
        else:
            streams = wsgiref_server(_wsgi_streams(page.url, seen))
        with streams as stream_server:
            stream_url.append(stream_server.url)
            with chromium(page.url + "/") as browser:
                wait_until(
                    lambda: browser.evaluate(
                        "(window.got || []).length >= 4 && window.refused != null"
                    ),
                    timeout=30,
                    what="the page's events",
                )
                got = browser.evaluate("window.got")
                refused = browser.evaluate("window.refused")
                leaked = browser.evaluate("window.leaked")
    # Four events across a reconnection that sent Last-Event-ID cross-origin.
    assert got == [["1", "e1"], ["2", "e2"], ["3", "e3"], ["4", "e4"]]
    assert ("GET", "/allowed", "2") in seen.requests
    # Chromium sends no preflight for an EventSource, not even for that one.
    assert all(method == "GET" for method, _, _ in seen.requests)
    # The stream without CORS headers: the browser gave up (CLOSED = 2) and
    # handed the page nothing, although the server sent two events.
    assert refused == 2
    assert leaked == []
    assert ("GET", "/closed", "") in seen.requests
