# SPDX-License-Identifier: MIT
"""A real ``redis-server`` for the Redis backend's tests, started and stopped here.

:class:`RedisServer` runs the operating system's ``redis-server`` on a free
127.0.0.1 port in a temporary directory, with append-only persistence fsynced
on every write, so a ``SIGKILL`` loses nothing that was acknowledged and a
restart on the same port and directory comes back with every stream.  When the
binary is missing the tests fail (never skip) and say how to install it.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, List, Optional

from ._servers import free_port, wait_for_port

with warnings.catch_warnings():
    # redis-py compares bytes with str at import, which -bb turns into an
    # error, and on Python 3.8 imports cryptography, which warns about 3.8.
    warnings.simplefilter("ignore", BytesWarning)
    warnings.filterwarnings("ignore", message=".*Python 3.8")
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

INSTALL_HINT = (
    "redis-server is not installed; the Redis backend's tests need it: "
    "apt-get install redis-server (bash scripts/setup.sh does, as root)"
)


def redis_server_binary() -> str:
    """The path of ``redis-server``; raises (so the test fails) with the install command."""
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError(INSTALL_HINT)
    return path


class RedisServer:
    """One ``redis-server`` process on ``port``, with its data in ``directory``."""

    def __init__(self, directory: Path, port: Optional[int] = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> List[str]:
        return [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            # Every acknowledged XADD is on disk before the reply, so SIGKILL
            # loses none (the default, everysec, may lose a second of them).
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--logfile",
            str(self.directory / "redis.log"),
        ]

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        self.process = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL)
        try:
            wait_for_port(self.port, process=self.process)
            # The port opens before the AOF is loaded; PING answers LOADING until then.
            client = self.client()
            deadline = time.monotonic() + 20
            try:
                while True:
                    try:
                        client.ping()
                        return
                    except redis.RedisError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
            finally:
                client.close()
        except BaseException:
            self.stop()  # never leave a server behind
            raise

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no final fsync) and reap it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def client(self, *, retries: int = 1, **options: Any) -> Any:
        """A new redis-py client for this server: short timeouts, so a test never
        hangs, and ``retries`` immediate retries (one covers a pooled connection
        that a restart closed; redis-py's default backs off for seconds)."""
        options.setdefault("retry", Retry(NoBackoff(), retries))
        options.setdefault("socket_timeout", 5.0)
        options.setdefault("socket_connect_timeout", 2.0)
        return redis.Redis(host="127.0.0.1", port=self.port, **options)


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    """A running server for the block, always stopped at its end."""
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
