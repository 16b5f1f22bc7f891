# SPDX-License-Identifier: MIT
"""Both adapters against the npm ``eventsource`` package under Node.

``scripts/setup.sh`` (run by ``scripts/test.sh``) installs node and runs
``npm ci`` in ``tests/node``.  The client
reconnects when a stream ends, sending ``Last-Event-ID``, so one run checks
the format, the ``retry`` field and resumption.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any, Callable, ContextManager, Dict

import pytest

from ._apps import Tracker, make_asgi_app, make_wsgi_app
from ._servers import TESTS, Running, uvicorn_server, wsgiref_server

NODE_DIR = TESTS / "node"

SERVERS: Dict[str, Callable[[], ContextManager[Running]]] = {
    "asgi-uvicorn": lambda: uvicorn_server(make_asgi_app(Tracker(), retry=50)),
    "wsgi-wsgiref": lambda: wsgiref_server(make_wsgi_app(Tracker(), retry=50)),
}


def _collect(url: str, count: int) -> Any:
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, (
        "node is not installed: run 'apt-get install nodejs npm' as root"
        " (bash scripts/setup.sh does, as root)"
    )
    assert (NODE_DIR / "node_modules" / "eventsource").is_dir(), (
        "the npm eventsource client is not installed: run 'npm ci' in tests/node"
        " (bash scripts/setup.sh does)"
    )
    result = subprocess.run(
        [node, "collect.mjs", url, str(count)],
        cwd=str(NODE_DIR),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_node_eventsource_reads_and_resumes(server: str) -> None:
    with SERVERS[server]() as running:
        result = _collect(running.url + "/count?n=3", 6)
    assert result["events"] == [
        {"type": "message", "data": f"event {i}", "id": str(i)} for i in range(1, 7)
    ]
    assert result["opens"] >= 2
