# SPDX-License-Identifier: MIT
"""Drive headless Chromium over the DevTools protocol, with the stdlib alone.

:func:`chromium` starts the Debian ``chromium`` binary on a page and yields a
:class:`DevTools` connection to that page; :meth:`DevTools.evaluate` runs
JavaScript in it.  The WebSocket client is the least RFC 6455 needs for this:
text frames out (masked), text frames in (unmasked, possibly fragmented).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from typing import Any, Dict, Iterator, Optional
from urllib.parse import urlsplit

from ._servers import stop_process

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


def find_chromium() -> Optional[str]:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class DevTools:
    """A DevTools protocol session over one WebSocket."""

    def __init__(self, ws_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(ws_url)
        assert parts.hostname is not None and parts.port is not None
        self._sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self._sock.sendall(request.encode("ascii"))
        self._buffer = b""
        head = self._read_until(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"WebSocket handshake refused: {head[:200]!r}")
        self._next_id = 0

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _fill(self) -> None:
        data = self._sock.recv(65536)
        if not data:
            raise ConnectionError("DevTools connection closed")
        self._buffer += data

    def _read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _send_text(self, text: str) -> None:
        payload = text.encode("utf-8")
        header = bytes([0x81])
        size = len(payload)
        if size < 126:
            header += bytes([0x80 | size])
        elif size < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", size)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", size)
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self._sock.sendall(header + mask + masked)

    def _receive_text(self) -> str:
        message = b""
        while True:
            first, second = self._read_exact(2)
            opcode = first & 0x0F
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._read_exact(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._read_exact(8))
            if second & 0x80:
                mask = self._read_exact(4)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read_exact(size)))
            else:
                payload = self._read_exact(size)
            if opcode == 0x8:
                raise ConnectionError("DevTools sent a close frame")
            if opcode in (0x9, 0xA):  # ping, pong: not used by DevTools
                continue
            message += payload
            if first & 0x80:
                return message.decode("utf-8")

    def call(self, method: str, params: Optional[Dict[str, Any]] = None) -> Any:
        self._next_id += 1
        wanted = self._next_id
        self._send_text(json.dumps({"id": wanted, "method": method, "params": params or {}}))
        while True:
            reply = json.loads(self._receive_text())
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        self._sock.close()


def _page_websocket(port: int, url: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
                targets = json.load(reply)
            for target in targets:
                if target.get("type") == "page" and target.get("url", "").startswith(url):
                    return str(target["webSocketDebuggerUrl"])
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no DevTools page target for {url}")
        time.sleep(0.1)


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError:
        return ""


@contextlib.contextmanager
def chromium(url: str, timeout: float = 60.0) -> Iterator[DevTools]:
    """Open ``url`` in headless Chromium; yield a session on that page."""
    binary = find_chromium()
    if binary is None:
        raise RuntimeError(
            "chromium is not installed: run 'apt-get install chromium' as root"
            " (bash scripts/setup.sh does, as root)"
        )
    profile = tempfile.mkdtemp(prefix="sse-core-chromium-")
    log = open(os.path.join(profile, "chromium.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    session = None
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while not _read_text(port_file).strip():
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                with open(os.path.join(profile, "chromium.log"), "rb") as file:
                    raise RuntimeError(f"chromium did not start: {file.read()[-2000:]!r}")
            time.sleep(0.1)
        port = int(_read_text(port_file).split()[0])
        session = DevTools(_page_websocket(port, url, timeout))
        yield session
    finally:
        if session is not None:
            session.close()
        stop_process(process)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
