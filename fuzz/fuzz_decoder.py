# SPDX-License-Identifier: MIT
"""Fuzz target: the decoders on arbitrary bytes, at arbitrary chunkings.

Input layout: byte 0 picks ``max_event_size`` (or none), byte 1 picks how the
stream is cut, the rest is the stream.  For every input:

* feeding gives lists of :class:`Event` and, at most, ``RemoteProtocolError``
  (whose ``limit`` is the one configured); any other exception is a failure;
* whole, byte by byte, in fixed-size chunks and at random cuts (seeded by byte
  1), the result is the same: events, error or not, and the final state
  (``last_event_id``, ``retry``, ``truncated``), after an error too, and
  ``Decoder.iter_events`` gives the same as ``feed``;
* without a limit error, the result is the reference model's
  (``tests/reference.py``), and the same as with no limit at all;
* on valid UTF-8, :class:`TextDecoder` fed the same text agrees.

Run: ``bash fuzz/run.sh 60`` (see fuzz/README.md).
"""

from __future__ import annotations

import random
from typing import Any, List, Optional, Sequence, Tuple

import _harness  # first: it puts the project root on sys.path

from sse_core import Decoder, Event, RemoteProtocolError, TextDecoder
from tests.reference import reference_decode

#: The limits byte 0 chooses from; None is "no limit".
LIMITS: List[Optional[int]] = [None, 1, 2, 3, 4, 5, 7, 8, 12, 16, 32, 64, 100, 1000]

Outcome = Tuple[List[Event], Optional[int], str, Optional[int], bool]


def feed_all(decoder: Any, chunks: Sequence[Any]) -> Outcome:
    """Feed and close; return (events, error limit or None, last id, retry, truncated)."""
    events: List[Event] = []
    try:
        for chunk in chunks:
            got = decoder.feed(chunk)
            assert type(got) is list
            events += got
        assert decoder.close() == []
    except RemoteProtocolError as error:
        assert type(error.limit) is int
        assert error.error_status_hint == 413
        # The state a failed decoder reports must not depend on the chunking
        # either; truncated is only set by a close() that succeeds.
        return events, error.limit, decoder.last_event_id, decoder.retry, False
    assert all(type(event) is Event for event in events)
    return events, None, decoder.last_event_id, decoder.retry, decoder.truncated


def iterate_all(decoder: Any, chunks: Sequence[Any]) -> Outcome:
    """As :func:`feed_all`, through ``decoder.iter_events`` (its own fast path)."""
    events: List[Event] = []
    try:
        for event in decoder.iter_events(chunks):
            events.append(event)
    except RemoteProtocolError as error:
        return events, error.limit, decoder.last_event_id, decoder.retry, False
    assert decoder.closed
    return events, None, decoder.last_event_id, decoder.retry, decoder.truncated


def cut(data: Any, size: int) -> List[Any]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [data]


def cut_randomly(data: Any, rng: random.Random) -> List[Any]:
    if len(data) < 2:
        return [data]
    points = sorted(set(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 16)))))
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def chunkings(data: Any, how: int) -> List[List[Any]]:
    rng = random.Random(how)
    return [
        cut(data, 1),
        cut(data, how % 13 + 2),
        cut_randomly(data, rng),
        # empty feeds must change nothing
        [c for chunk in cut_randomly(data, rng) for c in (chunk, data[:0])],
    ]


def check(data: bytes) -> None:
    if len(data) < 2:
        return
    limit = LIMITS[data[0] % len(LIMITS)]
    how = data[1]
    stream = data[2:]

    whole = feed_all(Decoder(max_event_size=limit), [stream])
    if whole[1] is not None:
        assert whole[1] == limit
    for chunks in chunkings(stream, how):
        assert feed_all(Decoder(max_event_size=limit), chunks) == whole, chunks
        assert iterate_all(Decoder(max_event_size=limit), chunks) == whole, chunks

    if whole[1] is None:
        events, last_event_id, retry = reference_decode(stream)
        assert [tuple(e) for e in whole[0]] == events
        assert (whole[2], whole[3]) == (last_event_id, retry)
        if limit is not None:
            assert feed_all(Decoder(max_event_size=None), [stream]) == whole

    try:
        text = stream.decode("utf-8")
    except UnicodeDecodeError:
        return
    assert feed_all(TextDecoder(max_event_size=limit), [text]) == whole
    for chunks in chunkings(text, how):
        assert feed_all(TextDecoder(max_event_size=limit), chunks) == whole, chunks


if __name__ == "__main__":
    _harness.main(check)
