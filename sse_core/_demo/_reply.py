# SPDX-License-Identifier: MIT
"""What the board's handlers take and give, whichever adapter serves them."""

from __future__ import annotations

import json
from typing import Any, Dict, List, NamedTuple, Sequence, Tuple, Union

from ._feed import Feed

Headers = List[Tuple[str, str]]


class Request(NamedTuple):
    """One request: ``headers`` has lower-case names (the last value wins)."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes


class Plain(NamedTuple):
    """A whole answer."""

    status: int
    headers: Headers
    body: bytes


class Stream(NamedTuple):
    """An event stream of ``feed``, with extra response headers."""

    feed: Feed
    headers: Headers


Reply = Union[Plain, Stream]


def json_reply(status: int, value: Any, headers: Sequence[Tuple[str, str]] = ()) -> Plain:
    """A JSON answer."""
    body = json.dumps(value).encode("utf-8")
    return Plain(status, [("Content-Type", "application/json"), *headers], body)


def text_reply(status: int, text: str, headers: Sequence[Tuple[str, str]] = ()) -> Plain:
    """A plain-text answer."""
    return Plain(status, [("Content-Type", "text/plain; charset=utf-8"), *headers], text.encode())
