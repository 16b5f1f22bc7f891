"""``python -m sse_core get``, run as a real process against real servers."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from typing import Any, Iterator, List

import pytest

from .sse_servers import STREAM_SERVERS, RawServer, Request, send_head

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
