"""Real servers on 127.0.0.1 for the client tests.

* :class:`RawServer`: a scripted HTTP/1.1 server on plain sockets, for edge
  cases no framework will produce (a drop mid-event, 1-byte TCP segments,
  silence).  Each connection runs ``handler(conn, request, index)`` in its own
  thread; the requests are recorded.
* :func:`uvicorn_server`: any ASGI app under uvicorn in a thread (used with
  sse-starlette, a server nobody here wrote, and with the project's own ASGI
  adapter); the project's WSGI adapter runs under wsgiref.

Pluggable servers: :data:`STREAM_SERVERS` maps a name to a context manager
yielding the base URL of a server that implements the *standard endpoints*
below; every test parametrized over it runs against each.  To add a server
(say the project's own ASGI or WSGI adapter), write such a context manager
and add it to the dict.

Standard endpoints:
    ``GET /numbers``: events ``data: n<i>`` with ``id: <i>`` for three
        consecutive ``i`` starting after the request's ``Last-Event-ID``
        (0 if none), the first one carrying ``retry: 50``; then the response
        ends.  A client that reconnects therefore sees 1, 2, 3, 4, ...
    ``GET /nocontent``: 204.
    ``GET /plain``: 200 with ``text/plain``.
    ``POST /echo``: one event whose data is the request body and whose
        event type is the ``X-Kind`` request header; then the response ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple, TypeVar

import uvicorn

TIMEOUT = 10.0  # seconds any socket operation in a test server may take


class Request(NamedTuple):
    method: str
    target: str
    headers: Dict[str, str]  # lower-case names
    body: bytes


Handler = Callable[[socket.socket, Request, int], None]
_Server = TypeVar("_Server", bound="RawServer")


def read_request(conn: Any) -> Optional[Request]:
    """Read one request head (and Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Request(method, target, headers, rest[:length])


def send_head(
    conn: Any,
    status: int = 200,
    headers: Optional[List[Tuple[str, str]]] = None,
    *,
    content_type: Optional[str] = "text/event-stream",
    chunked: bool = False,
) -> None:
    """Send a status line and headers; the body is close-delimited unless chunked."""
    lines = [f"HTTP/1.1 {status} X"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.append("Cache-Control: no-cache")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    lines.append("Connection: close")
    lines.extend(f"{k}: {v}" for k, v in headers or [])
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def send_chunk(conn: Any, data: bytes) -> None:
    conn.sendall(b"%x\r\n%s\r\n" % (len(data), data))


def end_chunks(conn: Any) -> None:
    conn.sendall(b"0\r\n\r\n")


class RawServer:
    """A scripted server on 127.0.0.1 (HTTPS when given an SSL context)."""

    def __init__(self, handler: Handler, *, ssl_context: Optional[ssl.SSLContext] = None):
        self.handler = handler
        self.ssl_context = ssl_context
        self.requests: List[Request] = []
        self.errors: List[BaseException] = []
        self.stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()
        self._accepted = 0

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def __enter__(self: _Server) -> _Server:
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        for thread in list(self._threads):
            thread.join(TIMEOUT)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the 0.1 s accept timeout
                continue
            with self._lock:
                index = self._accepted
                self._accepted += 1
            thread = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, raw: socket.socket, index: int) -> None:
        conn: Any = raw
        try:
            conn.settimeout(TIMEOUT)
            if self.ssl_context is not None:
                conn = self.ssl_context.wrap_socket(raw, server_side=True)
            request = read_request(conn)
            if request is None:
                return
            self.requests.append(request)
            self.handler(conn, request, index)
        except (OSError, ssl.SSLError) as error:  # the client went away
            self.errors.append(error)
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def wait_closed(self, conn: Any) -> None:
        """Block (bounded) until the client closes ``conn`` or the server stops."""
        wait_closed(conn, self.stopping)


def reset_on_close(sock: Any) -> None:
    """Make ``close()`` send RST rather than FIN (SO_LINGER with a zero timeout)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def wait_closed(conn: Any, stopping: Optional[threading.Event] = None) -> None:
    """Block (bounded) until the client closes ``conn``, or ``stopping`` is set."""
    conn.settimeout(0.1)
    deadline = time.monotonic() + TIMEOUT
    while not (stopping is not None and stopping.is_set()) and time.monotonic() < deadline:
        try:
            if not conn.recv(1024):
                return
        except socket.timeout:
            continue
        except OSError:
            return


@contextlib.contextmanager
def uvicorn_server(app: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: uvicorn's default config would stop its loggers from
    # propagating, for the rest of the test process, and hide their lines
    # from the tests that read them with caplog.
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", log_config=None, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)

    def run() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(TIMEOUT)
        sock.close()


def sse_starlette_app() -> Any:
    """The standard endpoints, written with sse-starlette on Starlette."""
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.applications import Starlette
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def numbers(request: StarletteRequest) -> Any:
        start = int(request.headers.get("last-event-id") or 0)

        async def events() -> Any:
            for i in range(start + 1, start + 4):
                yield ServerSentEvent(data=f"n{i}", id=str(i), retry=50 if i == start + 1 else None)

        return EventSourceResponse(events())

    async def nocontent(request: StarletteRequest) -> Response:
        return Response(status_code=204)

    async def plain(request: StarletteRequest) -> Response:
        return PlainTextResponse("not a stream")

    async def echo(request: StarletteRequest) -> Any:
        body = (await request.body()).decode()
        kind = request.headers.get("x-kind", "message")

        async def events() -> Any:
            yield ServerSentEvent(data=body, event=kind)

        return EventSourceResponse(events())

    return Starlette(
        routes=[
            Route("/numbers", numbers),
            Route("/nocontent", nocontent),
            Route("/plain", plain),
            Route("/echo", echo, methods=["POST"]),
        ]
    )


def raw_standard_handler(conn: Any, request: Request, index: int) -> None:
    """The standard endpoints on the raw server (chunked, as most servers send)."""
    path = request.target.split("?")[0]
    if path == "/numbers":
        start = int(request.headers.get("last-event-id") or 0)
        send_head(conn, chunked=True)
        for i in range(start + 1, start + 4):
            retry = "retry: 50\n" if i == start + 1 else ""
            send_chunk(conn, f"id: {i}\n{retry}data: n{i}\n\n".encode())
        end_chunks(conn)
    elif path == "/nocontent":
        send_head(conn, 204, [("Content-Length", "0")], content_type=None)
    elif path == "/plain":
        send_head(conn, 200, [("Content-Length", "12")], content_type="text/plain")
        conn.sendall(b"not a stream")
    elif path == "/echo" and request.method == "POST":
        kind = request.headers.get("x-kind", "message")
        send_head(conn)
        conn.sendall(f"event: {kind}\ndata: ".encode() + request.body + b"\n\n")
    else:
        send_head(conn, 404, [("Content-Length", "0")], content_type=None)


@contextlib.contextmanager
def raw_standard_server() -> Iterator[str]:
    with RawServer(raw_standard_handler) as server:
        yield server.url("").rstrip("/")


@contextlib.contextmanager
def sse_starlette_server() -> Iterator[str]:
    with uvicorn_server(sse_starlette_app()) as url:
        yield url


#: Servers implementing the standard endpoints; tests run against each.
def sse_core_asgi_app() -> Any:
    """The standard endpoints, written with the project's own ASGI adapter."""
    from sse_core import Event
    from sse_core.asgi import EventStreamResponse, last_event_id

    async def plain_response(send: Any, status: int, content_type: str, body: bytes) -> None:
        headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/numbers":
            start = int(last_event_id(scope) or 0)

            async def numbers() -> Any:
                for i in range(start + 1, start + 4):
                    yield Event(f"n{i}", id=str(i), retry=50 if i == start + 1 else None)

            await EventStreamResponse(numbers())(scope, receive, send)
        elif path == "/nocontent":
            await plain_response(send, 204, "text/plain", b"")
        elif path == "/plain":
            await plain_response(send, 200, "text/plain", b"not a stream")
        elif path == "/echo" and scope["method"] == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
            kind = headers.get("x-kind", "message")

            async def echo() -> Any:
                yield Event(body.decode(), event=kind)

            await EventStreamResponse(echo())(scope, receive, send)
        else:
            await plain_response(send, 404, "text/plain", b"")

    return app


def sse_core_wsgi_app() -> Any:
    """The standard endpoints, written with the project's own WSGI adapter."""
    from sse_core import Event
    from sse_core.wsgi import EventStreamResponse, last_event_id

    def plain(start_response: Any, status: str, body: bytes) -> List[bytes]:
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    def app(environ: Any, start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        if path == "/numbers":
            start = int(last_event_id(environ) or 0)
            events = [
                Event(f"n{i}", id=str(i), retry=50 if i == start + 1 else None)
                for i in range(start + 1, start + 4)
            ]
            return EventStreamResponse(events)(environ, start_response)
        if path == "/nocontent":
            return plain(start_response, "204 No Content", b"")
        if path == "/plain":
            return plain(start_response, "200 OK", b"not a stream")
        if path == "/echo" and environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length).decode()
            kind = environ.get("HTTP_X_KIND", "message")
            return EventStreamResponse([Event(body, event=kind)])(environ, start_response)
        return plain(start_response, "404 Not Found", b"")

    return app


@contextlib.contextmanager
def sse_core_asgi_server() -> Iterator[str]:
    with uvicorn_server(sse_core_asgi_app()) as url:
        yield url


@contextlib.contextmanager
def sse_core_wsgi_server() -> Iterator[str]:
    from ._servers import wsgiref_server

    with wsgiref_server(sse_core_wsgi_app()) as running:
        yield running.url


STREAM_SERVERS: Dict[str, Callable[[], contextlib.AbstractContextManager[str]]] = {
    "raw-socket": raw_standard_server,
    "sse-starlette": sse_starlette_server,
    "sse_core-asgi": sse_core_asgi_server,
    "sse_core-wsgi": sse_core_wsgi_server,
}
