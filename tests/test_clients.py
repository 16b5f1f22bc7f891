"""The sync and asyncio EventSource against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
import warnings
from typing import Any, Iterator, List

import pytest

with warnings.catch_warnings():
    # cryptography (under trustme) warns on import that Python 3.8 support ends.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*Python 3.8")
    import trustme
from sse_core import (
    Event,
    ReadyState,
    ReconnectLimitError,
    RemoteProtocolError,
    ResponseError,
)
from sse_core.async_client import AsyncEventSource
from sse_core.client import EventSource

from .client_runner import CLIENT_KINDS, collect, fast
from .sse_servers import (
    STREAM_SERVERS,
    RawServer,
    Request,
    end_chunks,
    send_chunk,
    send_head,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=CLIENT_KINDS)
def kind(request: Any) -> str:
    return str(request.param)


@pytest.fixture(params=sorted(STREAM_SERVERS))
def standard_server(request: Any) -> Iterator[str]:
    with STREAM_SERVERS[request.param]() as base:
        yield base


# -- the standard endpoints, on every pluggable server -----------------------------------


def test_reconnects_with_last_event_id_across_responses(kind: str, standard_server: str) -> None:
    outcome = collect(kind, standard_server + "/numbers", limit=7, policy=fast())
    assert outcome.error is None
    assert [(e.data, e.id) for e in outcome.events] == [(f"n{i}", str(i)) for i in range(1, 8)]
    assert outcome.events[0].retry == 50
    assert outcome.last_event_id == "7"
    assert outcome.ready_state is ReadyState.CLOSED


def test_204_stops_quietly(kind: str, standard_server: str) -> None:
    outcome = collect(kind, standard_server + "/nocontent", policy=fast())
    assert outcome.error is None
    assert outcome.events == []
    assert outcome.status == 204
    assert outcome.ready_state is ReadyState.CLOSED


def test_wrong_content_type_fails_clearly(kind: str, standard_server: str) -> None:
    outcome = collect(kind, standard_server + "/plain", policy=fast())
    error = outcome.error
    assert isinstance(error, ResponseError)
    assert error.status == 200
    assert error.content_type is not None
    assert error.content_type.startswith("text/plain")
    assert "text/event-stream" in str(error)
    assert error.body == b"not a stream"
    assert outcome.ready_state is ReadyState.CLOSED


def test_post_with_body_and_headers(kind: str, standard_server: str) -> None:
    outcome = collect(
        kind,
        standard_server + "/echo",
        limit=1,
        method="POST",
        body=b'{"prompt": "hi"}',
        headers={"X-Kind": "completion"},
        policy=fast(),
    )
    assert outcome.error is None
    assert outcome.events == [Event(data='{"prompt": "hi"}', event="completion", id="")]


# -- edge cases on the scripted raw server ----------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
def test_drop_mid_event_discards_it_and_resumes_from_last_id(kind: str, chunked: bool) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn, chunked=chunked)
        if index == 0:
            payload = b"id: 1\ndata: first\n\nid: 2\ndata: cut off he"
            if chunked:
                # A chunk announced longer than what is sent: the cut is mid-chunk.
                conn.sendall(b"%x\r\n" % (len(payload) + 10) + payload)
            else:
                conn.sendall(payload)
            return  # the connection closes mid-event
        body = b"data: second\n\nid: 3\ndata: third\n\n"
        if chunked:
            send_chunk(conn, body)
        else:
            conn.sendall(body)
        server.wait_closed(conn)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), limit=3, policy=fast())
    assert outcome.error is None
    assert outcome.events == [
        Event(data="first", id="1"),
        Event(data="second", id="1"),
        Event(data="third", id="3"),
    ]
    assert "last-event-id" not in server.requests[0].headers
    assert server.requests[1].headers["last-event-id"] == "1"
    assert server.requests[0].headers["accept"] == "text/event-stream"


def test_retry_is_honoured(kind: str) -> None:
    arrivals: List[float] = []

    def handler(conn: socket.socket, request: Request, index: int) -> None:
        arrivals.append(time.monotonic())
        send_head(conn)
        conn.sendall(b"retry: 300\ndata: x\n\n")

    with RawServer(handler) as server:
        # The policy's own delay (60 s) would time the test out: only the
        # server's retry of 300 ms lets the third connection happen.
        outcome = collect(
            kind, server.url("/"), limit=3, policy=fast(initial_delay=60, max_delay=60)
        )
    assert outcome.error is None
    assert [e.data for e in outcome.events] == ["x", "x", "x"]
    assert len(arrivals) == 3
    assert arrivals[1] - arrivals[0] >= 0.3
    assert arrivals[2] - arrivals[1] >= 0.3


def test_silent_server_times_out_and_gives_up(kind: str) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn)
        server.wait_closed(conn)  # and say nothing

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), read_timeout=0.2, policy=fast(max_attempts=1))
    assert isinstance(outcome.error, ReconnectLimitError)
    assert isinstance(outcome.error.__cause__, (socket.timeout, asyncio.TimeoutError))
    assert len(server.requests) == 2
    assert outcome.ready_state is ReadyState.CLOSED


def test_silent_server_before_headers_times_out(kind: str) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        server.wait_closed(conn)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), read_timeout=0.2, policy=fast(max_attempts=0))
    assert isinstance(outcome.error, ReconnectLimitError)
    assert len(server.requests) == 1


def test_refused_connection_gives_up_after_max_attempts(kind: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there
        outcome = collect(kind, f"http://127.0.0.1:{port}/", policy=fast(max_attempts=2))
    assert isinstance(outcome.error, ReconnectLimitError)
    assert outcome.error.attempts == 2
    assert isinstance(outcome.error.__cause__, OSError)


@pytest.mark.parametrize("chunked", [False, True])
def test_one_byte_tcp_segments(kind: str, chunked: bool) -> None:
    stream = "event: note\nid: é1\ndata: héllo 🌍\ndata: line2\r\n\r\n: c\rdata: b\r\r".encode()

    def handler(conn: socket.socket, request: Request, index: int) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        send_head(conn, chunked=chunked)
        for i in range(len(stream)):
            byte = stream[i : i + 1]
            if chunked:
                send_chunk(conn, byte)
            else:
                conn.sendall(byte)
            time.sleep(0.002)
        server.wait_closed(conn)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), limit=2, policy=fast())
    assert outcome.error is None
    assert outcome.events == [
        Event(data="héllo 🌍\nline2", event="note", id="é1"),
        Event(data="b", id="é1"),
    ]


def test_multi_megabyte_event(kind: str) -> None:
    data = "x" * (5 * 1024 * 1024 - 3) + "end"

    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn, chunked=True)
        payload = ("data: " + data + "\n\n").encode()
        for start in range(0, len(payload), 1_000_000):
            send_chunk(conn, payload[start : start + 1_000_000])
        send_chunk(conn, b"data: small\n\n")
        end_chunks(conn)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), limit=2, policy=fast())
    assert outcome.error is None
    assert [len(e.data) for e in outcome.events] == [len(data), 5]
    assert outcome.events[0].data == data


def test_event_over_the_limit_fails_for_good(kind: str) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(b"data: ok\n\ndata: " + b"y" * 5000 + b"\n\n")
        server.wait_closed(conn)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), max_event_size=1000, policy=fast())
    assert [e.data for e in outcome.events] == ["ok"]
    assert isinstance(outcome.error, RemoteProtocolError)
    assert len(server.requests) == 1


def test_5xx_is_retried_only_when_asked(kind: str) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        if index == 0:
            send_head(conn, 503, [("Content-Length", "4"), ("Retry-After", "0")], content_type=None)
            conn.sendall(b"busy")
            return
        send_head(conn)
        conn.sendall(b"data: up\n\n")
        server.wait_closed(conn)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), limit=1, policy=fast(retry_server_errors=True))
    assert outcome.error is None
    assert [e.data for e in outcome.events] == ["up"]

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), policy=fast())
    assert isinstance(outcome.error, ResponseError)
    assert outcome.error.status == 503
    assert outcome.error.body == b"busy"
    assert len(server.requests) == 1


def test_redirect_is_followed(kind: str) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        if request.target == "/old":
            send_head(conn, 307, [("Location", "/new"), ("Content-Length", "0")], content_type=None)
            return
        send_head(conn)
        conn.sendall(b"data: moved\n\n")
        server.wait_closed(conn)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/old"), limit=1, policy=fast())
    assert outcome.error is None
    assert [e.data for e in outcome.events] == ["moved"]
    assert [r.target for r in server.requests] == ["/old", "/new"]


# -- HTTPS with a certificate made in the test --------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def https_handler(conn: Any, request: Request, index: int) -> None:
    send_head(conn, chunked=True)
    send_chunk(conn, b"id: s1\ndata: secure\n\n")
    end_chunks(conn)


def test_https_with_a_self_signed_certificate(kind: str, ca: trustme.CA) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with RawServer(https_handler, ssl_context=server_context) as server:
        outcome = collect(kind, server.url("/"), limit=1, ssl_context=client_context, policy=fast())
    assert outcome.error is None
    assert outcome.events == [Event(data="secure", id="s1")]


def test_https_refuses_an_untrusted_certificate(kind: str, ca: trustme.CA) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    with RawServer(https_handler, ssl_context=server_context) as server:
        outcome = collect(kind, server.url("/"), policy=fast(max_attempts=0))
    assert isinstance(outcome.error, ReconnectLimitError)
    assert isinstance(outcome.error.__cause__, ssl.SSLError)
    assert outcome.events == []


# -- closing ---------------------------------------------------------------------------------------


def test_sync_close_from_another_thread_unblocks_a_read() -> None:
    first = threading.Event()

    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(b"data: one\n\n")
        server.wait_closed(conn)

    with RawServer(handler) as server:
        source = EventSource(server.url("/"), policy=fast())
        received: List[Event] = []

        def consume() -> None:
            for event in source:
                received.append(event)
                first.set()

        thread = threading.Thread(target=consume)
        thread.start()
        assert first.wait(10)
        source.close()  # the consumer is blocked reading the silent socket
        thread.join(10)
        assert not thread.is_alive()
    assert [e.data for e in received] == ["one"]
    assert source.ready_state is ReadyState.CLOSED
    assert source.machine.state.name == "CLOSED"


def test_sync_close_cuts_a_reconnection_wait_short() -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(b"data: one\n\n")

    with RawServer(handler) as server:
        source = EventSource(server.url("/"), policy=fast(initial_delay=600, max_delay=600))
        events = iter(source)
        assert next(events).data == "one"
        timer = threading.Timer(0.2, source.close)
        timer.start()
        assert list(events) == []  # would wait 600 s without close()
        timer.cancel()
    assert source.ready_state is ReadyState.CLOSED


def test_async_cancelling_the_consumer_closes_the_socket() -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(b"data: one\n\n")
        server.wait_closed(conn)
        closed.set()

    closed = threading.Event()

    async def main() -> AsyncEventSource:
        source = AsyncEventSource(server.url("/"), policy=fast())
        got_one = asyncio.Event()

        async def consume() -> None:
            async for _event in source:
                got_one.set()

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(got_one.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return source

    with RawServer(handler) as server:
        source = asyncio.run(asyncio.wait_for(main(), 20))
        assert closed.wait(10)  # the server saw the socket close
    assert source.ready_state is ReadyState.CLOSED
    assert source.machine.state.name == "CLOSED"


def test_async_close_from_another_task() -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(b"data: one\n\n")
        server.wait_closed(conn)

    async def main() -> List[Event]:
        source = AsyncEventSource(server.url("/"), policy=fast())
        received: List[Event] = []

        async def consume() -> None:
            async for event in source:
                received.append(event)
                asyncio.get_running_loop().call_later(0.1, source.close)

        await asyncio.wait_for(consume(), 10)
        return received

    with RawServer(handler) as server:
        received = asyncio.run(main())
    assert [e.data for e in received] == ["one"]


def test_bad_url_is_refused_early() -> None:
    with pytest.raises(ValueError):
        EventSource("ftp://example.com/")
    with pytest.raises(ValueError):
        AsyncEventSource("http:///nohost")


def test_a_failed_answer_that_streams_for_ever_still_fails(kind: str) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn, 200, content_type="text/html")
        conn.sendall(b"<html>still going")
        server.wait_closed(conn)

    with RawServer(handler) as server:
        outcome = collect(kind, server.url("/"), policy=fast())
    assert isinstance(outcome.error, ResponseError)
    assert outcome.error.content_type == "text/html"
    assert outcome.error.body == b"<html>still going"


def self_signed_certificate(directory: Any) -> Any:
    """A self-signed certificate for 127.0.0.1, made here with cryptography."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sse_core test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_https_with_a_truly_self_signed_certificate(kind: str, tmp_path: Any) -> None:
    cert_file, key_file = self_signed_certificate(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(str(cert_file), str(key_file))
    client_context = ssl.create_default_context(cafile=str(cert_file))
    with RawServer(https_handler, ssl_context=server_context) as server:
        outcome = collect(kind, server.url("/"), limit=1, ssl_context=client_context, policy=fast())
    assert outcome.error is None
    assert outcome.events == [Event(data="secure", id="s1")]
