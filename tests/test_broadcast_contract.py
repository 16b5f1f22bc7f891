# SPDX-License-Identifier: MIT
"""The hub contract (``tests/hub_contract.py``), run against the in-process Broadcaster."""

from __future__ import annotations

from typing import Any, Iterator, List

import pytest

from sse_core.broadcast import Broadcaster

from .hub_contract import *  # noqa: F403 - the contract's tests run here
from .hub_contract import HubFactory


@pytest.fixture
def hub_factory() -> Iterator[HubFactory]:
    hubs: List[Broadcaster] = []

    def make(**options: Any) -> Broadcaster:
        hub = Broadcaster(**options)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()
