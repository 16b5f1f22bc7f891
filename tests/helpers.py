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
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
)

from sse_core import Decoder, Event, RemoteProtocolError, TextDecoder

__all__ = (
    "DRIVERS",
    "DecodeResult",
    "EventTuple",
    "aiter_until_error",
    "as_tuples",
    "chunkings",
    "complete",
    "decode_all_ways",
    "decode_until_error",
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
T = TypeVar("T")
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


async def _async_chunks(chunks: Iterable[Any]) -> AsyncIterator[Any]:
    for chunk in chunks:
        yield chunk


def complete(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never waits (its async iterators have their items
    ready) to its end, without an event loop: many times faster than
    ``asyncio.run`` for the thousands of chunkings the decoder tests run."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise AssertionError("the coroutine waited for something")


def _aiter_list(decoder: AnyDecoder, chunks: Iterable[Any]) -> List[Event]:
    async def take() -> List[Event]:
        return [event async for event in decoder.aiter_events(_async_chunks(chunks))]

    return complete(take())


def _run(make: Callable[[], AnyDecoder], chunks: Sequence[Any]) -> DecodeResult:
    decoder = make()
    events: List[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    result = DecodeResult(events, decoder.last_event_id, decoder.retry, decoder.truncated)
    # iter_events and aiter_events drive the same loop otherwise: they must
    # agree with feed().
    for how, run in (
        ("iter_events", lambda d: list(d.iter_events(chunks))),
        ("aiter_events", lambda d: _aiter_list(d, chunks)),
    ):
        fresh = make()
        events = run(fresh)
        again = DecodeResult(events, fresh.last_event_id, fresh.retry, fresh.truncated)
        assert again == result, f"{how} gave {again!r}, feed gave {result!r}"
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


def aiter_until_error(
    decoder: AnyDecoder, chunks: Sequence[Any]
) -> Tuple[List[Event], Optional[RemoteProtocolError]]:
    """As :func:`feed_until_error`, through ``decoder.aiter_events``."""
    events: List[Event] = []

    async def take() -> Optional[RemoteProtocolError]:
        try:
            async for event in decoder.aiter_events(_async_chunks(chunks)):
                events.append(event)
        except RemoteProtocolError as error:
            return error
        return None

    return events, complete(take())


#: The three ways to drive a decoder: every decoder test runs through each.
DRIVERS = ("feed", "iter_events", "aiter_events")

_UNTIL_ERROR = {
    "feed": feed_until_error,
    "iter_events": iter_until_error,
    "aiter_events": aiter_until_error,
}


def decode_until_error(
    driver: str, decoder: AnyDecoder, chunks: Sequence[Any]
) -> Tuple[List[Event], Optional[RemoteProtocolError]]:
    """The events and the limit error (None if none) of ``chunks`` decoded to
    their end (``close()`` included) by ``driver``, one of :data:`DRIVERS`."""
    return _UNTIL_ERROR[driver](decoder, chunks)
