# SPDX-License-Identifier: MIT
"""The hub contract (``tests/hub_contract.py``), run against RedisBroadcaster on a real
redis-server."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from sse_core.broadcast import RedisBroadcaster

from ._redis import RedisServer, redis_server
from .hub_contract import *  # noqa: F403 - the contract's tests run here
from .hub_contract import HubFactory

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(Path(tmp_path_factory.mktemp("redis"))) as running:
        yield running


@pytest.fixture
def hub_factory(redis: RedisServer) -> Iterator[HubFactory]:
    hubs: List[RedisBroadcaster] = []
    clients: List[Any] = []

    def make(**options: Any) -> RedisBroadcaster:
        # A fresh, empty hub: its own key prefix on the shared server.
        client = redis.client()
        clients.append(client)
        options.setdefault("block", 0.2)
        hub = RedisBroadcaster(client, prefix=f"c{uuid.uuid4().hex[:10]}:", **options)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()
    for client in clients:
        client.close()
