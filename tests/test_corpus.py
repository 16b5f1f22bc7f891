# SPDX-License-Identifier: MIT
"""Run every ``tests/data/*.txt`` stream against its ``.json`` expectations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from sse_core import Event

from .helpers import as_tuples, decode_all_ways
from .reference import reference_decode

DATA = Path(__file__).parent / "data"
STREAMS = sorted(DATA.glob("*.txt"))


def event_dicts(events: List[Event]) -> List[Dict[str, Any]]:
    return [{"event": e.event, "data": e.data, "id": e.id, "retry": e.retry} for e in events]


def test_every_stream_has_expectations() -> None:
    assert len(STREAMS) >= 10
    assert {p.stem for p in STREAMS} == {p.stem for p in DATA.glob("*.json")}


@pytest.mark.parametrize("path", STREAMS, ids=[p.stem for p in STREAMS])
def test_corpus_stream(path: Path) -> None:
    stream = path.read_bytes()
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert expected["spec"].startswith("https://html.spec.whatwg.org/")
    result = decode_all_ways(stream, three_way_max=0, random_count=50)
    assert event_dicts(result.events) == expected["events"], expected["description"]
    assert result.last_event_id == expected["last_event_id"]
    assert result.retry == expected["retry"]
    assert result.truncated is expected["truncated"]
    oracle = reference_decode(stream)
    assert oracle == (as_tuples(result.events), result.last_event_id, result.retry)
