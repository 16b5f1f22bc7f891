# SPDX-License-Identifier: MIT
"""Feeding helpers: run a decoder over an input cut into chunks in every useful way.

A decoder must give the same result however its input is chunked.  These
helpers cut an input whole, byte by byte (with and without empty feeds in
between), at every two-way split point, at every three-way split for short
inputs, and at seeded random points, and check that every chunking gives the
same events, ``last_event_id``, ``retry`` and ``truncated``.
"""

from __future__ import annotations

import itertools
import random
from typing import (
    Any,
    Callable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from sse_core import Decoder, Event, RemoteProtocolError, TextDecoder

__all__ = (
    "DecodeResult",
    "EventTuple",
    "as_tuples",
    "chunkings",
    "decode_all_ways",
    "feed_until_error",
    "iter_until_error",
    "run_decoder",
    "run_text_decoder",
    "split_at",
    "text_decode_all_ways",
)

#: Inputs up to this length are also cut at every pair of split points.
THREE_WAY_MAX = 40
#: How many seeded random chunkings each input gets.
RANDOM_CHUNKINGS = 20

Chunk = TypeVar("Chunk", bytes, str)
EventTuple = Tuple[str, str, Optional[str], Optional[int]]
AnyDecoder = Union[Decoder, TextDecoder]


class DecodeResult(NamedTuple):
    """Everything a decoder reports about a whole stream."""

    events: List[Event]
    last_event_id: str
    retry: Optional[int]
    truncated: bool


def as_tuples(events: Sequence[Event]) -> List[EventTuple]:
    """Events as plain ``(data, event, id, retry)`` tuples, for comparing with the oracle."""
    return [(e.data, e.event, e.id, e.retry) for e in events]


def split_at(data: Chunk, points: Sequence[int]) -> List[Chunk]:
    """``data`` cut at the given (sorted) offsets."""
    bounds = [0, *points, len(data)]
    return [data[start:end] for start, end in zip(bounds, bounds[1:])]


def chunkings(
    data: Chunk,
    *,
    three_way_max: int = THREE_WAY_MAX,
    random_count: int = RANDOM_CHUNKINGS,
    seed: int = 0,
) -> Iterator[Tuple[str, List[Chunk]]]:
    """Yield ``(label, chunks)`` for every way of cutting ``data`` we test.

    The label says which cut failed when an assertion names it.
    """
    empty = data[:0]
    yield "whole", [data]
    yield "byte by byte", [data[i : i + 1] for i in range(len(data))]
    # Empty feeds before, between and after every unit of input.
    spaced: List[Chunk] = [empty]
    for i in range(len(data)):
        spaced += [data[i : i + 1], empty]
    yield "byte by byte with empty feeds", spaced
    for point in range(1, len(data)):
        yield f"split at {point}", split_at(data, [point])
    if len(data) <= three_way_max:
        for first, second in itertools.combinations(range(1, len(data)), 2):
            yield f"split at {first} and {second}", split_at(data, [first, second])
    rng = random.Random(seed)
    for n in range(random_count):
        if len(data) < 2:
            break
        count = rng.randint(1, min(len(data) - 1, 12))
        points = sorted(rng.sample(range(1, len(data)), count))
        yield f"random chunking {n} at {points}", split_at(data, points)


def _run(make: Callable[[], AnyDecoder], chunks: Sequence[Any]) -> DecodeResult:
    decoder = make()
    events: List[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    result = DecodeResult(events, decoder.last_event_id, decoder.retry, decoder.truncated)
    # iter_events has a fast path of its own: it must agree with feed().
    fresh = make()
    events = list(fresh.iter_events(chunks))
    again = DecodeResult(events, fresh.last_event_id, fresh.retry, fresh.truncated)
    assert again == result, f"iter_events gave {again!r}, feed gave {result!r}"
    return result


def run_decoder(chunks: Sequence[bytes], **kwargs: Any) -> DecodeResult:
    """Feed ``chunks`` to a new :class:`Decoder`, then close it."""
    return _run(lambda: Decoder(**kwargs), chunks)


def run_text_decoder(chunks: Sequence[str], **kwargs: Any) -> DecodeResult:
    """Feed ``chunks`` to a new :class:`TextDecoder`, then close it."""
    return _run(lambda: TextDecoder(**kwargs), chunks)


def _all_ways(
    data: Chunk,
    run: Callable[..., DecodeResult],
    kwargs: Any,
    random_count: int,
    three_way_max: int,
) -> DecodeResult:
    expected = run([data], **kwargs)
    for label, chunks in chunkings(data, random_count=random_count, three_way_max=three_way_max):
        got = run(chunks, **kwargs)
        assert got == expected, f"{label}: {chunks!r} gave {got!r}, whole gave {expected!r}"
        # Event objects compare by value; also check their exact types.
        assert all(type(e) is Event for e in got.events)
    return expected


def decode_all_ways(
    data: bytes,
    *,
    random_count: int = RANDOM_CHUNKINGS,
    three_way_max: int = THREE_WAY_MAX,
    **kwargs: Any,
) -> DecodeResult:
    """Decode ``data`` with :class:`Decoder` under every chunking; assert they agree.

    Returns the (common) result.  Keyword arguments go to the decoder.
    """
    return _all_ways(data, run_decoder, kwargs, random_count, three_way_max)


def text_decode_all_ways(
    text: str,
    *,
    random_count: int = RANDOM_CHUNKINGS,
    three_way_max: int = THREE_WAY_MAX,
    **kwargs: Any,
) -> DecodeResult:
    """As :func:`decode_all_ways`, for :class:`TextDecoder` and ``str`` input."""
    return _all_ways(text, run_text_decoder, kwargs, random_count, three_way_max)


def feed_until_error(
    decoder: AnyDecoder, chunks: Sequence[Any]
) -> Tuple[List[Event], Optional[RemoteProtocolError]]:
    """Feed chunks and then close, stopping at the first :class:`RemoteProtocolError`.

    Returns the events obtained before the error, and the error (None if none).
    """
    events: List[Event] = []
    try:
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.close()
    except RemoteProtocolError as error:
        return events, error
    return events, None


def iter_until_error(
    decoder: AnyDecoder, chunks: Sequence[Any]
) -> Tuple[List[Event], Optional[RemoteProtocolError]]:
    """As :func:`feed_until_error`, through ``decoder.iter_events``."""
    events: List[Event] = []
    try:
        for event in decoder.iter_events(chunks):
            events.append(event)
    except RemoteProtocolError as error:
        return events, error
    return events, None
