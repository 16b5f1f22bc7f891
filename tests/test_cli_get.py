# SPDX-License-Identifier: MIT
"""``python -m sse_core get``, run as a real process against real servers, and in process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import pytest

from sse_core import _cli

from .sse_servers import (
    STREAM_SERVERS,
    RawServer,
    Request,
    raw_standard_handler,
    raw_standard_server,
    send_head,
)

pytestmark = pytest.mark.timeout(60)


def run_get(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sse_core", "get", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


@pytest.fixture(params=sorted(STREAM_SERVERS))
def standard_server(request: Any) -> Iterator[str]:
    with STREAM_SERVERS[request.param]() as base:
        yield base


def test_json_lines_and_reconnection(standard_server: str) -> None:
    # /numbers ends after 3 events; --max-attempts 0 forbids the reconnection.
    result = run_get(standard_server + "/numbers", "--json", "--max-attempts", "0", "-v")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [{"event": "message", "data": f"n{i}", "id": str(i)} for i in (1, 2, 3)]
    assert result.returncode == 0, result.stderr  # ended; no reconnection asked
    assert result.stderr.endswith("* the stream ended\n")


def test_last_event_id_option(standard_server: str) -> None:
    result = run_get(
        standard_server + "/numbers", "--json", "--max-attempts", "0", "--last-event-id", "40"
    )
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert ids == ["41", "42", "43"]


def test_204_exits_0(standard_server: str) -> None:
    result = run_get(standard_server + "/nocontent", "-v")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "204" in result.stderr


def test_wrong_content_type_exits_1_with_a_clear_message(standard_server: str) -> None:
    result = run_get(standard_server + "/plain")
    assert result.returncode == 1
    assert "text/event-stream" in result.stderr
    assert "text/plain" in result.stderr
    assert "not a stream" in result.stderr  # the body the server sent
    assert "Traceback" not in result.stderr


def test_post_body_headers_and_human_output(standard_server: str) -> None:
    result = run_get(
        standard_server + "/echo", "-d", "hello", "-H", "X-Kind: greeting", "--max-attempts", "0"
    )
    assert result.stdout.startswith("[greeting]\nhello\n\n")


def test_headers_reconnects_and_verbose_log() -> None:
    seen: List[Request] = []

    def handler(conn: socket.socket, request: Request, index: int) -> None:
        seen.append(request)
        if index == 2:
            send_head(conn, 204, [("Content-Length", "0")], content_type=None)
            return
        send_head(conn)
        conn.sendall(f"retry: 10\nid: {index}\nevent: tick\ndata: {index}\n\n".encode())

    with RawServer(handler) as server:
        result = run_get(server.url("/feed"), "-H", "Authorization: Bearer t0k", "-v")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[tick id=0 retry=10]\n0\n\n[tick id=1 retry=10]\n1\n\n"
    assert [r.headers.get("authorization") for r in seen] == ["Bearer t0k"] * 3
    assert [r.headers.get("last-event-id") for r in seen] == [None, "0", "1"]
    assert "reconnecting in 0.01s" in result.stderr


def test_bad_header_is_a_usage_error() -> None:
    result = run_get("http://127.0.0.1:1/", "-H", "no colon")
    assert result.returncode == 2
    assert "Name: value" in result.stderr


def test_ctrl_c_exits_130_without_traceback() -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall(b"data: ready\n\n")
        server.wait_closed(conn)

    with RawServer(handler) as server, subprocess.Popen(
        [sys.executable, "-m", "sse_core", "get", server.url("/")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        # The with block closes the pipes however the test ends, so a failure
        # here cannot leave a ResourceWarning for a later test.
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == "[message]\n"  # connected and streaming
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    assert process.returncode == 130
    assert "Traceback" not in stderr


# -- in process: main(argv) against real servers, measured by the coverage run -------------


class _Stdin:
    """A stand-in for ``sys.stdin`` whose ``buffer`` is the given binary stream."""

    def __init__(self, buffer: object) -> None:
        self.buffer = buffer


def get(capsys: pytest.CaptureFixture[str], *args: str) -> Tuple[int, str, str]:
    status = _cli.main(["get", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_in_process_json_verbose_and_end_of_stream(capsys: pytest.CaptureFixture[str]) -> None:
    with raw_standard_server() as base:
        status, out, err = get(
            capsys, base + "/numbers", "--json", "--max-attempts", "0", "-v", "--last-event-id", "7"
        )
    assert status == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [
        {"event": "message", "data": f"n{i}", "id": str(i)} for i in (8, 9, 10)
    ]
    assert err.splitlines() == [
        f"> GET {base}/numbers (Last-Event-ID: 7)",
        "< 200 text/event-stream",
        "* the stream ended",
    ]


def test_in_process_reconnects_after_end_and_error_then_204(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        if index == 0:  # an event, then the end of the body
            send_head(conn)
            conn.sendall(b"retry: 10\nid: a\ndata: first\n\n")
        elif index == 1:  # an event, then silence: the read timeout fails the connection
            send_head(conn)
            conn.sendall(b"id: b\nevent: tick\ndata: second\n\n")
            server.wait_closed(conn)
        else:
            send_head(conn, 204, [("Content-Length", "0")], content_type=None)

    with RawServer(handler) as server:
        status, out, err = get(capsys, server.url("/feed"), "-v", "--timeout", "0.5")
    assert status == 0, err
    assert out == "[message id=a retry=10]\nfirst\n\n[tick id=b]\nsecond\n\n"
    lines = err.splitlines()
    assert lines[0] == f"> GET {server.url('/feed')}"
    assert lines[2] == "* reconnecting in 0.01s after end of stream"
    assert lines[3] == f"> GET {server.url('/feed')} (Last-Event-ID: a)"
    assert lines[5] == (
        f"sse_core: lost the stream from {server.url('/feed')}: timed out; retrying in 0.01s"
    )
    assert lines[-1] == "< 204: the server asked to stop"
    assert [r.headers.get("last-event-id") for r in server.requests] == [None, "a", "b"]


def test_in_process_failures_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        if request.target == "/plain":
            send_head(conn, 200, [("Content-Length", "12")], content_type="text/plain")
            conn.sendall(b"not a stream")
        elif request.target == "/empty-500":
            send_head(conn, 500, [("Content-Length", "0")], content_type="text/plain")
        else:
            send_head(conn)
            conn.sendall(b"data: " + b"x" * 100 + b"\n\n")

    with RawServer(handler) as server:
        status, out, err = get(capsys, server.url("/plain"), "-v")
        assert (status, out) == (1, "")
        assert "text/plain" in err and err.endswith("\nnot a stream\n")
        status, out, err = get(capsys, server.url("/empty-500"))
        assert (status, out) == (1, "")
        assert "500" in err and err.count("\n") == 1  # no body to show
        status, out, err = get(capsys, server.url("/big"), "--max-event-size", "50")
        assert (status, out) == (1, "")
        assert err.endswith("max_event_size (50 bytes); --max-event-size raises the limit\n")


def refused_url() -> str:
    """An http URL on 127.0.0.1 whose port refuses connections."""
    with socket.socket() as sock:  # bound, never listening: the port is ours and refuses
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


#: A host name that never resolves (RFC 6761 reserves .invalid), without the network.
UNRESOLVABLE_URL = "http://sse-core-test.invalid/events"


@pytest.mark.parametrize(
    ("target", "verbose", "attempts"),
    # One name lookup is enough (a resolver may take its time to say no).
    [("refused", False, 2), ("refused", True, 2), ("unresolvable", False, 0)],
)
def test_in_process_each_failed_attempt_is_reported_then_giving_up(
    target: str, verbose: bool, attempts: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url = refused_url() if target == "refused" else UNRESOLVABLE_URL
    args = ["--max-attempts", str(attempts), "--retry-delay", "0.01"] + (["-v"] if verbose else [])
    status, out, err = get(capsys, url, *args)
    assert (status, out) == (1, "")
    lines = err.splitlines()
    requests = [line for line in lines if line.startswith(">")]
    assert requests == ([f"> GET {url}"] * (attempts + 1) if verbose else [])
    failures = [line for line in lines if not line.startswith(">")]
    assert len(failures) == attempts + 1, err  # one per failed attempt; the last gives up
    for line in failures:
        assert line.startswith(f"sse_core: cannot connect to {url}: "), line
        if target == "refused":
            assert "Connection refused" in line
    # The first wait is --retry-delay's; later ones back off from ReconnectPolicy's floor.
    assert all(" retrying in " in line for line in failures[:-1]), err
    assert attempts == 0 or " retrying in 0.0" in failures[0], err
    assert failures[-1].endswith(
        f"; giving up after {attempts + 1} attempt(s) in a row without an event"
        f" (--max-attempts {attempts})"
    )


def test_failed_attempts_are_reported_while_retrying_for_ever() -> None:
    # Run as a user would, with no limit: it says why at once and keeps trying.
    url = refused_url()
    with subprocess.Popen(
        [sys.executable, "-m", "sse_core", "get", url, "--retry-delay", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stderr is not None
            lines = [process.stderr.readline() for _ in range(3)]
        finally:
            process.kill()
            process.communicate(timeout=30)
    for line in lines:
        assert line.startswith(f"sse_core: cannot connect to {url}: Connection refused;"), lines
        assert " retrying in " in line


def test_in_process_giving_up_after_ended_streams_and_server_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        if request.target == "/ends":  # a stream that ends with no event
            send_head(conn, 200, [("Content-Length", "0")])
        else:
            send_head(conn, 503, [("Content-Length", "4")], content_type="text/plain")
            conn.sendall(b"busy")

    with RawServer(handler) as server:
        ends, busy = server.url("/ends"), server.url("/busy")
        status, out, err = get(capsys, ends, "--max-attempts", "1", "--retry-delay", "0.01")
        assert (status, out) == (1, "")
        assert err == (
            f"sse_core: the stream from {ends} ended; giving up after 2 attempt(s) in a row"
            " without an event (--max-attempts 1)\n"
        )
        status, out, err = get(
            capsys, busy, "--max-attempts", "1", "--retry-delay", "0.01", "--retry-5xx", "-v"
        )
    assert (status, out) == (1, "")
    lines = err.splitlines()
    assert len(lines) == 6, err
    assert lines[0::3] == [f"> GET {busy}"] * 2
    assert lines[1::3] == ["< 503 text/plain"] * 2  # -v logs the status line
    assert lines[2].startswith(f"sse_core: {busy} answered 503 ")
    assert re.search(r"; retrying in 0\.0[12]s$", lines[2]), lines[2]
    assert lines[5].startswith(f"sse_core: {busy} answered 503 ")
    assert lines[5].endswith(
        "; giving up after 2 attempt(s) in a row without an event (--max-attempts 1)"
    )


@pytest.mark.parametrize(
    ("lines", "width", "size"),
    [(60, 40, "2400-byte"), (3, 300, "900-byte"), (200, 40, "4096-byte or longer")],
)
def test_in_process_a_long_error_page_is_cut(
    lines: int, width: int, size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    page = b"".join(b"%03d" % i + b"x" * (width - 4) + b"\n" for i in range(lines))

    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn, 200, [("Content-Length", str(len(page)))], content_type="text/html")
        conn.sendall(page)

    with RawServer(handler) as server:
        status, out, err = get(capsys, server.url("/"))
    assert (status, out) == (1, "")
    shown = err.splitlines()
    assert len(shown) == 1 + min(lines, 5) + 1, err  # the error, the page's start, a note
    assert shown[0].startswith("sse_core: ") and "answered 200 (Content-Type: 'text/html')" in err
    assert shown[1:-1] == [line[:200] for line in page.decode().splitlines()[:5]]
    assert shown[-1] == (
        f"sse_core: (that was the start of a {size} body: its first {min(lines, 5)} line(s),"
        " each cut at 200 characters)"
    )


def test_in_process_verbose_logs_every_status(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        if request.target == "/old":
            send_head(conn, 307, [("Location", "/new"), ("Content-Length", "0")], content_type=None)
        elif request.target == "/new":
            send_head(conn, 404, [("Content-Length", "9")], content_type="text/html")
            conn.sendall(b"not here\n")
        else:
            send_head(conn, 500, [("Content-Length", "0")], content_type=None)

    with RawServer(handler) as server:
        old, new = server.url("/old"), server.url("/new")
        status, out, err = get(capsys, old, "-v")
        assert (status, out) == (1, "")
        assert err.splitlines() == [
            f"> GET {old}",
            f"> GET {new} (redirected)",
            "< 404 text/html",
            f"sse_core: {new} answered 404 (Content-Type: 'text/html'): expected 200 with"
            " Content-Type: text/event-stream",
            "not here",
        ]
        status, out, err = get(capsys, server.url("/bare"), "-v")
        assert status == 1
        assert err.splitlines()[1] == "< 500 (no Content-Type)"


def test_in_process_request_bodies_and_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body_file = tmp_path / "body.json"
    body_file.write_bytes(b'{"from": "file"}')
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(b"from stdin")))
    with RawServer(raw_standard_handler) as server:
        url = server.url("/echo")
        for data, expected in [
            ("literal é", "literal é"),
            ("@" + str(body_file), '{"from": "file"}'),
            ("@-", "from stdin"),
        ]:
            status, out, err = get(
                capsys, url, "-d", data, "-H", "X-Kind: got", "--max-attempts", "0"
            )
            assert (status, out, err) == (0, f"[got]\n{expected}\n\n", "")
        status, out, err = get(capsys, url, "-X", "PUT", "--max-attempts", "0")
        assert status == 1  # the handler only answers POST with a stream
    assert [r.method for r in server.requests] == ["POST", "POST", "POST", "PUT"]
    status, out, err = get(capsys, url, "-d", "@" + str(tmp_path / "missing"))
    assert (status, out) == (1, "")
    assert err == f"sse_core: cannot read {tmp_path / 'missing'}: No such file or directory\n"


@pytest.fixture(scope="module")
def ca() -> Any:
    with warnings.catch_warnings():
        # cryptography (under trustme) warns on import that Python 3.8 support ends.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*Python 3.8")
        import trustme
    return trustme.CA()


def test_in_process_https_options(
    ca: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    with RawServer(raw_standard_handler, ssl_context=server_context) as server:
        url = server.url("/numbers")
        for option in (["--cacert", str(ca_file)], ["-k"], ["--insecure", "--cacert", "x"]):
            status, out, err = get(capsys, url, *option, "--json", "--max-attempts", "0")
            assert (status, len(out.splitlines()), err) == (0, 3, ""), option
        # Without either, the self-made CA is not trusted.
        status, out, err = get(capsys, url, "--max-attempts", "0")
        assert (status, out) == (1, "")
        assert "CERTIFICATE_VERIFY_FAILED" in err
    for bad in (str(tmp_path / "missing.pem"), str(not_pem)):
        status, out, err = get(capsys, url, "--cacert", bad)
        assert (status, out) == (1, "")
        assert err.startswith(f"sse_core: cannot load CA certificates from {bad}: ")


def test_in_process_closed_output_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    out = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        with raw_standard_server() as base, contextlib.redirect_stdout(out):
            status = _cli.main(["get", base + "/numbers"])
        assert os.path.samestat(os.fstat(write_end), os.stat(os.devnull))
    finally:
        out.close()
    assert (status, capsys.readouterr().err) == (0, "")


def test_in_process_non_utf8_output(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(conn: socket.socket, request: Request, index: int) -> None:
        send_head(conn)
        conn.sendall("event: caf\u00e9\ndata: \u00e9\U0001f600\n\n".encode())

    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    with RawServer(handler) as server, contextlib.redirect_stdout(out):
        assert _cli.main(["get", server.url("/"), "--max-attempts", "0"]) == 0
        assert _cli.main(["get", server.url("/"), "--max-attempts", "0", "--json"]) == 0
    out.flush()
    human, as_json = raw.getvalue().decode("ascii").split("\n\n", 1)
    assert human == "[caf\\xe9]\n\\xe9\\U0001f600"
    assert json.loads(as_json) == {"event": "caf\u00e9", "data": "\u00e9\U0001f600", "id": ""}
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.com/"], "sse_core: not an http or https URL: 'ftp://example.com/'\n"),
        (["http://h:99999/"], "sse_core: Port out of range 0-65535: 'http://h:99999/'\n"),
        (["http://[::1/"], "sse_core: Invalid IPv6 URL: 'http://[::1/'\n"),
        (["http://127.0.0.1:1/", "-H", "X-A: b\rc"], None),
        (["http://127.0.0.1:1/", "--last-event-id", "a\nb"], None),
    ],
)
def test_in_process_bad_request_exits_2(
    args: List[str], message: Optional[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = get(capsys, *args)
    assert (status, out) == (2, "")
    assert err.startswith("sse_core: ") and err.count("\n") == 1
    if message is not None:
        assert err == message


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--timeout", "0"),
        ("--timeout", "-1"),
        ("--timeout", "nan"),
        ("--connect-timeout", "inf"),
        ("--connect-timeout", "soon"),
        ("--max-attempts", "-1"),
        ("--max-attempts", "2.5"),
        ("--max-event-size", "0"),
        ("-H", "no colon"),
        ("-H", ": empty name"),
    ],
)
def test_bad_option_values_are_usage_errors(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        _cli.main(["get", "http://127.0.0.1:1/", option, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ")
    assert f"error: argument {option}" in err


def test_in_process_a_post_is_not_sent_again(capsys: pytest.CaptureFixture[str]) -> None:
    url = refused_url()
    status, out, err = get(capsys, url, "-d", "{}")  # no --max-attempts: it would retry GETs
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        f"sse_core: cannot connect to {url}: Connection refused; not sending POST again"
        " (--resume-get reconnects with a GET)"
    ]
