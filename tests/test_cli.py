# SPDX-License-Identifier: MIT
"""``python -m sse_core decode``, run as a real subprocess, and in process for coverage."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import sse_core
from sse_core import _cli

TIMEOUT = 60
STREAM = (
    b"\xef\xbb\xbf: comment\r\n"
    b"data: hello\r\n\r\n"
    b'event: update\nid: 1\nretry: 500\ndata: {"x": 1}\ndata: \xc3\xa9\n\n'
    b"data: no id field\r\r"
)
EXPECTED = [
    {"event": "message", "data": "hello", "id": "", "retry": None},
    {"event": "update", "data": '{"x": 1}\né', "id": "1", "retry": 500},
    {"event": "message", "data": "no id field", "id": "1", "retry": None},
]


def cli(
    *args: str, stdin: bytes = b"", env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sse_core", *args],
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT,
        env=env,
    )


def cli_process(*args: str, stdin: bool = True) -> subprocess.Popen[bytes]:
    """``python -m sse_core *args`` running, its output (and input) on pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "sse_core", *args],
        stdin=subprocess.PIPE if stdin else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def json_lines(output: bytes) -> List[Any]:
    text = output.decode("utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_decode_stdin() -> None:
    completed = cli("decode", stdin=STREAM)
    assert completed.returncode == 0
    assert json_lines(completed.stdout) == EXPECTED
    assert completed.stderr == b""


def test_decode_stdin_dash() -> None:
    completed = cli("decode", "-", stdin=STREAM)
    assert (completed.returncode, json_lines(completed.stdout)) == (0, EXPECTED)


def test_decode_file(tmp_path: Path) -> None:
    path = tmp_path / "stream.txt"
    path.write_bytes(STREAM)
    completed = cli("decode", str(path))
    assert completed.returncode == 0
    assert json_lines(completed.stdout) == EXPECTED
    assert completed.stderr == b""


def test_one_json_object_per_line() -> None:
    # Data with line breaks and quotes still gives exactly one line per event.
    completed = cli("decode", stdin=b'data: a\ndata: "b"\ndata:\n\n' * 3)
    lines = completed.stdout.decode("utf-8").splitlines()
    assert len(lines) == 3
    assert all(json.loads(line)["data"] == 'a\n"b"\n' for line in lines)


def test_empty_input() -> None:
    completed = cli("decode")
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, b"", b"")


def test_truncated_stream_warns_on_stderr() -> None:
    completed = cli("decode", stdin=b"data: a\n\ndata: b\n")
    assert completed.returncode == 0
    assert json_lines(completed.stdout) == [
        {"event": "message", "data": "a", "id": "", "retry": None}
    ]
    assert b"ended inside an event" in completed.stderr


def test_clean_end_does_not_warn() -> None:
    assert cli("decode", stdin=b"data: a\n\n: bye\n").stderr == b""


def test_limit_error_exit_status() -> None:
    line = b"data: " + b"x" * sse_core.DEFAULT_MAX_EVENT_SIZE + b"\n\n"
    completed = cli("decode", stdin=b"data: first\n\n" + line)
    assert completed.returncode == 1
    assert json_lines(completed.stdout) == [
        {"event": "message", "data": "first", "id": "", "retry": None}
    ]
    assert completed.stderr.startswith(b"sse_core: ")
    assert b"Traceback" not in completed.stderr


def test_missing_file_is_reported_without_traceback(tmp_path: Path) -> None:
    completed = cli("decode", str(tmp_path / "missing.txt"))
    assert completed.returncode != 0
    assert b"missing.txt" in completed.stderr
    assert b"Traceback" not in completed.stderr


def test_non_utf8_terminal_still_gets_json_lines() -> None:
    # An ASCII or Latin-1 stdout (a C locale on old systems, a Windows
    # console) must not crash the command on non-ASCII data.
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    completed = cli("decode", stdin="data: é😀\n\n".encode(), env=env)
    assert completed.returncode == 0, completed.stderr
    assert [e["data"] for e in json_lines(completed.stdout)] == ["é😀"]


def test_version() -> None:
    completed = cli("--version")
    assert completed.returncode == 0
    assert completed.stdout.decode().strip() == sse_core.__version__


def test_no_command_is_a_usage_error() -> None:
    completed = cli()
    assert completed.returncode == 2
    assert b"usage:" in completed.stderr


def test_events_are_written_as_they_arrive() -> None:
    # The command streams: an event is printed before stdin is closed.
    with cli_process("decode") as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(b"data: early\n\n")
            proc.stdin.flush()
            deadline = time.monotonic() + TIMEOUT
            output = b""
            while not output.endswith(b"\n") and time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stdout], [], [], 1.0)
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    assert chunk, "the command exited early"
                    output += chunk
            assert json.loads(output) == {
                "event": "message",
                "data": "early",
                "id": "",
                "retry": None,
            }
            proc.stdin.close()
            assert proc.wait(timeout=TIMEOUT) == 0
        finally:
            proc.kill()


# -- in process: the same code paths, measured by the coverage run ---------------------


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> Tuple[int, str, str]:
    status = _cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


class _Stdin:
    """A stand-in for ``sys.stdin`` whose ``buffer`` is the given binary stream."""

    def __init__(self, buffer: object) -> None:
        self.buffer = buffer


def test_main_decodes_a_file_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stream.txt"
    path.write_bytes(STREAM)
    status, out, err = run_main(capsys, "decode", str(path))
    assert (status, json_lines(out.encode()), err) == (0, EXPECTED, "")


def test_main_decodes_stdin_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(b"data: a\n\ndata: b\n")))
    status, out, err = run_main(capsys, "decode", "-")
    assert status == 0
    assert [line["data"] for line in json_lines(out.encode())] == ["a"]
    assert "ended inside an event" in err


def test_main_reports_limit_and_missing_file_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_main(capsys, "decode", str(tmp_path / "missing.txt"))
    assert (status, out) == (1, "")
    assert err.startswith("sse_core: cannot read ")
    big = b"data: " + b"x" * sse_core.DEFAULT_MAX_EVENT_SIZE + b"\n\n"
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(big)))
    status, out, err = run_main(capsys, "decode")
    assert (status, out) == (1, "")
    assert err.startswith("sse_core: ") and "max_event_size" in err


def test_decode_stream_escapes_for_a_non_utf8_output() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="latin-1")
    assert _cli.decode_stream(io.BytesIO("data: é😀\n\n".encode()), out) == 0
    out.flush()
    text = raw.getvalue().decode("ascii")
    assert json.loads(text)["data"] == "é😀"


def test_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Interrupted:
        def read(self, size: int = -1) -> bytes:
            raise KeyboardInterrupt

        read1 = read

    monkeypatch.setattr(sys, "stdin", _Stdin(Interrupted()))
    assert run_main(capsys, "decode")[0] == 130


def test_usage_line_names_the_command_as_typed() -> None:
    assert cli().stderr.startswith(b"usage: python -m sse_core ")
    script = Path(sys.executable).parent / "sse-core"  # installed by pip with the package
    completed = subprocess.run([str(script)], capture_output=True, timeout=TIMEOUT)
    assert completed.returncode == 2
    assert completed.stderr.startswith(b"usage: sse-core ")


@pytest.mark.parametrize(
    ("argv", "program"),
    [
        (["/usr/local/bin/sse-core"], "sse-core"),
        (["/site-packages/sse_core/__main__.py"], "python -m sse_core"),
        (["-c"], "python -m sse_core"),
        ([], "python -m sse_core"),
    ],
)
def test_usage_line_in_process(
    argv: List[str],
    program: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit):
        _cli.main(["get"])
    assert capsys.readouterr().err.startswith(f"usage: {program} get ")


def test_python_dash_m_runs_main(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "stream.txt"
    path.write_bytes(STREAM)
    monkeypatch.setattr(sys, "argv", ["python -m sse_core", "decode", str(path)])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("sse_core", run_name="__main__", alter_sys=True)
    assert info.value.code == 0
    assert json_lines(capsys.readouterr().out.encode()) == EXPECTED


# -- a user's view: closed pipes, hostile input, bad arguments ----------------------


def test_closed_output_pipe_exits_quietly(tmp_path: Path) -> None:
    # `python -m sse_core decode big | head -1`: head exits after one line.
    path = tmp_path / "big.txt"
    path.write_bytes(b"data: hello\n\n" * 200_000)  # ~12 MB of JSON: far beyond a pipe buffer
    with cli_process("decode", str(path), stdin=False) as proc:
        assert proc.stdout is not None
        try:
            first = proc.stdout.readline()
            proc.stdout.close()
            _, stderr = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(TIMEOUT)
    assert json.loads(first)["data"] == "hello"
    assert (proc.returncode, stderr) == (0, b"")


def test_ctrl_c_while_waiting_for_input_exits_130() -> None:
    with cli_process("decode") as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(b"data: waiting\n\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["data"] == "waiting"  # reading stdin now
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(TIMEOUT)
    assert proc.returncode == 130
    assert stderr == b""


def test_closed_output_pipe_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stream.txt"
    path.write_bytes(STREAM)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    out = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        with contextlib.redirect_stdout(out):
            status = _cli.main(["decode", str(path)])
        # stdout now writes to the null device, so Python's flush at exit
        # (here: ours) no longer fails.
        assert os.path.samestat(os.fstat(write_end), os.stat(os.devnull))
        out.flush()
    finally:
        out.close()
    assert status == 0
    assert capsys.readouterr().err == ""


def test_closed_output_that_is_not_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # main() called with a stand-in stdout: no file descriptor to redirect.
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    path = tmp_path / "stream.txt"
    path.write_bytes(STREAM)
    with contextlib.redirect_stdout(ClosedPipe()):
        status = _cli.main(["decode", str(path)])
    assert (status, capsys.readouterr().err) == (0, "")


def test_endless_line_hits_the_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A hostile producer that never sends a line break, and never stops.
    limit = sse_core.DEFAULT_MAX_EVENT_SIZE

    class Endless(io.RawIOBase):
        total = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            assert self.total < 4 * limit, "the limit did not stop the command"
            buffer[: len(buffer)] = b"x" * len(buffer)
            self.total += len(buffer)
            return len(buffer)

    source = Endless()
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BufferedReader(source)))
    status, out, err = run_main(capsys, "decode")
    assert (status, out) == (1, "")
    assert err == (
        f"sse_core: a line of the event stream is longer than max_event_size ({limit} bytes);"
        " --max-event-size raises the limit\n"
    )
    # It stopped within a read of the limit: memory stays bounded by it.
    assert limit < source.total <= limit + 2 * 65536


def test_max_event_size_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = b"data: short\n\ndata: " + b"x" * 100 + b"\n\n"
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(stream)))
    status, out, err = run_main(capsys, "decode", "--max-event-size", "50")
    assert status == 1
    assert [line["data"] for line in json_lines(out.encode())] == ["short"]
    assert "max_event_size (50 bytes); --max-event-size raises the limit" in err
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(stream)))
    status, out, err = run_main(capsys, "decode", "--max-event-size", "200")
    assert (status, len(json_lines(out.encode())), err) == (0, 2, "")


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "lots"])
def test_bad_max_event_size_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        _cli.main(["decode", "--max-event-size", value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ")
    assert "argument --max-event-size: " in err


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux's /proc")
def test_read_error_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    # Reading /proc/self/mem at offset 0 (unmapped) fails with EIO: a real
    # read error from the operating system, after a successful open.
    status, out, err = run_main(capsys, "decode", "/proc/self/mem")
    assert (status, out) == (1, "")
    assert err.startswith("sse_core: cannot read /proc/self/mem: ")
