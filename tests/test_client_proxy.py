"""Both EventSources through an HTTP proxy set in the environment.

The proxy is a small real one written here: absolute-form requests for plain
HTTP, ``CONNECT`` tunnels for HTTPS, both piped byte for byte on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import warnings
from typing import Any, Iterator, List, Tuple

import pytest

from sse_core import Event, ReconnectLimitError, ReconnectPolicy
from sse_core._client_http import check_tunnel_answer, connect_request

from .client_runner import CLIENT_KINDS, collect
from .sse_servers import RawServer, Request, end_chunks, read_request, send_chunk, send_head

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*Python 3.8")
    import trustme

pytestmark = pytest.mark.timeout(60)


def _pipe(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    sockets = [a, b]
    while not stop.is_set():
        readable, _, _ = select.select(sockets, [], [], 0.1)
        for sock in readable:
            try:
                data = sock.recv(65536)
                if data:
                    (b if sock is a else a).sendall(data)
            except OSError:  # a side hung up with a reset: the client has its event
                return
            if not data:
                return


@contextlib.contextmanager
def proxy_server() -> Iterator[Tuple[int, List[Request]]]:
    """A forward and CONNECT proxy; yields its port and the requests it saw."""
    seen: List[Request] = []
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    threads: List[threading.Thread] = []

    def serve(client: socket.socket) -> None:
        with client:
            client.settimeout(10)
            request = read_request(client)
            if request is None:
                return
            seen.append(request)
            if request.method == "CONNECT":
                host, _, port = request.target.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=10)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                rest = request.target.split("://", 1)[1]
                hostport, _, path = rest.partition("/")
                host, _, port = hostport.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=10)
                head = [f"{request.method} /{path} HTTP/1.1"]
                head += [f"{k}: {v}" for k, v in request.headers.items()]
                upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + request.body)
            with upstream:
                _pipe(client, upstream, stop)

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=serve, args=(client,), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        stop.set()
        for thread in [acceptor, *threads]:
            thread.join(10)
        listener.close()


def stream_handler(conn: Any, request: Request, index: int) -> None:
    send_head(conn, chunked=True)
    send_chunk(conn, b"id: p1\ndata: via proxy\n\n")
    end_chunks(conn)


@pytest.fixture(params=CLIENT_KINDS)
def kind(request: Any) -> str:
    return str(request.param)


def first_event(kind: str, url: str, **options: Any) -> Event:
    policy = ReconnectPolicy(max_attempts=0, jitter=0)
    outcome = collect(kind, url, limit=1, policy=policy, read_timeout=10, **options)
    assert outcome.error is None, outcome.error
    return outcome.events[0]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    return monkeypatch


def test_http_through_a_forward_proxy(kind: str, clean_env: pytest.MonkeyPatch) -> None:
    with RawServer(stream_handler) as server, proxy_server() as (port, seen):
        clean_env.setenv("http_proxy", f"http://us%40er:p%3Ass@127.0.0.1:{port}")
        url = server.url("/s?q=1").replace("127.0.0.1", "user:pw@127.0.0.1") + "&x=a b"
        assert first_event(kind, url) == Event(data="via proxy", id="p1")
        assert first_event(kind, server.url("/s"), trust_env=False).data == "via proxy"
    assert len(seen) == 1  # trust_env=False went direct
    # The URL's user info stays out; a space is percent-encoded.
    assert seen[0].target == server.url("/s?q=1&x=a%20b")
    # base64("us@er:p:ss")
    assert seen[0].headers["proxy-authorization"] == "Basic dXNAZXI6cDpzcw=="
    assert seen[0].headers["host"] == f"127.0.0.1:{server.port}"


def test_https_through_a_connect_tunnel(kind: str, clean_env: pytest.MonkeyPatch) -> None:
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with RawServer(stream_handler, ssl_context=server_context) as server, proxy_server() as (
        port,
        seen,
    ):
        clean_env.setenv("https_proxy", f"http://127.0.0.1:{port}")
        event = first_event(kind, server.url("/"), ssl_context=client_context)
    assert event == Event(data="via proxy", id="p1")
    assert [(r.method, r.target) for r in seen] == [("CONNECT", f"127.0.0.1:{server.port}")]


def test_no_proxy_is_honoured(kind: str, clean_env: pytest.MonkeyPatch) -> None:
    with RawServer(stream_handler) as server, proxy_server() as (port, seen):
        clean_env.setenv("http_proxy", f"http://127.0.0.1:{port}")
        clean_env.setenv("no_proxy", "127.0.0.1")
        assert first_event(kind, server.url("/")).data == "via proxy"
    assert seen == []


def test_a_refused_tunnel_is_a_network_error(kind: str, clean_env: pytest.MonkeyPatch) -> None:
    def refuse(conn: Any, request: Request, index: int) -> None:
        send_head(conn, 407, [("Content-Length", "0")], content_type=None)

    with RawServer(refuse) as proxy:
        clean_env.setenv("https_proxy", proxy.url(""))
        outcome = collect(
            kind, "https://127.0.0.1:9/", policy=ReconnectPolicy(max_attempts=0, jitter=0)
        )
    assert isinstance(outcome.error, ReconnectLimitError)
    assert "407" in str(outcome.error.__cause__)
    assert [r.method for r in proxy.requests] == ["CONNECT"]


def test_a_proxy_answer_that_is_not_http_is_a_network_error(
    kind: str, clean_env: pytest.MonkeyPatch
) -> None:
    def garble(conn: Any, request: Request, index: int) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    with RawServer(garble) as proxy:
        clean_env.setenv("https_proxy", proxy.url(""))
        outcome = collect(
            kind, "https://127.0.0.1:9/", policy=ReconnectPolicy(max_attempts=0, jitter=0)
        )
    assert isinstance(outcome.error, ReconnectLimitError)
    assert "bad answer from the proxy" in str(outcome.error.__cause__)


def test_a_forward_proxy_without_credentials(kind: str, clean_env: pytest.MonkeyPatch) -> None:
    with RawServer(stream_handler) as server, proxy_server() as (port, seen):
        clean_env.setenv("http_proxy", f"http://127.0.0.1:{port}")
        assert first_event(kind, server.url("/s")).data == "via proxy"
    [request] = seen
    assert request.target == server.url("/s")
    assert "proxy-authorization" not in request.headers


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000])
def test_a_proxy_that_hangs_up_or_never_ends_its_answer(
    kind: str, clean_env: pytest.MonkeyPatch, answer: bytes
) -> None:
    def proxy(conn: Any, request: Request, index: int) -> None:
        conn.sendall(answer)  # and close, or say no more

    with RawServer(proxy) as server:
        clean_env.setenv("https_proxy", server.url(""))
        outcome = collect(
            kind, "https://127.0.0.1:9/", policy=ReconnectPolicy(max_attempts=0, jitter=0)
        )
    assert isinstance(outcome.error, ReconnectLimitError)
    assert "the proxy closed or sent an endless answer" in str(outcome.error.__cause__)


def test_connect_request_and_tunnel_answer_helpers() -> None:
    assert connect_request("::1", 8443, "Basic dTpw") == (
        b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n"
        b"Proxy-Authorization: Basic dTpw\r\n\r\n"
    )
    assert connect_request("h", 443, None) == b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"
    check_tunnel_answer(b"HTTP/1.1 200 Connection established\r\n\r\n")
    with pytest.raises(ConnectionError, match="refused the tunnel: 407"):
        check_tunnel_answer(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
    with pytest.raises(ConnectionError, match="bad answer"):
        check_tunnel_answer(b"HTTP/1.1 20 OK\r\n\r\n")
