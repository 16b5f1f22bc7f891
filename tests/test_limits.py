# SPDX-License-Identifier: MIT
"""The decoder's ``max_event_size`` limit, and memory use under hostile input.

Semantics (``sse_core/_decoder.py`` module docstring): one number, in bytes
of the UTF-8 stream, bounds the length of any line and the size of one event's data
buffer (each data line plus its LF).  A chunk that breaks the limit still
returns the events completed before the offending one; the error is raised by
the next ``feed()`` or ``close()`` (at once if there were none), and the
decoder stays failed.  The outcome does not depend on the chunking.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import AsyncIterator, Iterator, List, Optional, Tuple

import pytest

from sse_core import (
    DEFAULT_MAX_EVENT_SIZE,
    Decoder,
    Event,
    RemoteProtocolError,
    SSEError,
    TextDecoder,
)

from .helpers import (
    DRIVERS,
    EventTuple,
    aiter_until_error,
    as_tuples,
    chunkings,
    decode_until_error,
    feed_until_error,
    iter_until_error,
)
from .memory import measure_peak, requires_tracemalloc

LIMIT = 16


def msg(data: str, id: str = "") -> Event:
    return Event(data, "message", id, None)


def outcome(chunks: List[bytes], limit: Optional[int] = LIMIT) -> Tuple[List[EventTuple], bool]:
    events, error = feed_until_error(Decoder(max_event_size=limit), chunks)
    for other in (iter_until_error, aiter_until_error):
        by_other = other(Decoder(max_event_size=limit), chunks)
        assert by_other[0] == events
        assert type(by_other[1]) is type(error)
    if error is not None:
        assert error.limit == limit
    return as_tuples(events), error is not None


def assert_same_outcome_all_ways(
    data: bytes, expected: Tuple[List[Event], bool], limit: int = LIMIT
) -> None:
    want = (as_tuples(expected[0]), expected[1])
    for label, chunks in chunkings(data, three_way_max=24, random_count=10):
        assert outcome(chunks, limit) == want, label


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        # a line of exactly the limit is allowed; one more character is not
        (b"data: 0123456789\n\n", ([msg("0123456789")], False)),
        (b"data: 0123456789a\n\n", ([], True)),
        # line endings do not count, whatever they are
        (b"data: 0123456789\r\n\r\n", ([msg("0123456789")], False)),
        (b"data: 0123456789\r\r", ([msg("0123456789")], False)),
        # bytes count, not characters: 4 x 3-byte characters make the line
        # 22 bytes; one in place of three digits makes 16, which fits
        ("data: 0123456789".replace("0123", "€€€€").encode() + b"\n\n", ([], True)),
        ("data: 0123456789".replace("012", "€").encode() + b"\n\n", None),
        # the byte order mark is not part of the first line
        (b"\xef\xbb\xbfdata: 0123456789\n\n", ([msg("0123456789")], False)),
        # any kind of line: comment, unknown field, event, id, retry
        (b": " + b"c" * 15 + b"\ndata: x\n\n", ([], True)),
        (b"foo: " + b"f" * 12 + b"\ndata: x\n\n", ([], True)),
        (b"event: " + b"e" * 10 + b"\ndata: x\n\n", ([], True)),
        (b"id: " + b"1" * 13 + b"\ndata: x\n\n", ([], True)),
        (b"retry: " + b"1" * 10 + b"\ndata: x\n\n", ([], True)),
        # an endless line without a line ending
        (b"data: " + b"x" * 40, ([], True)),
        # events before the offending one come out first
        (
            b"data: a\n\ndata: b\n\ndata: " + b"x" * 11 + b"\n\ndata: c\n\n",
            ([msg("a"), msg("b")], True),
        ),
        # data size: each data line plus its LF; 4 x "ab\n" = 12 fits, 6 x does not
        (b"data: ab\n" * 4 + b"\n", ([msg("ab\nab\nab\nab")], False)),
        (b"data: abc\n" * 3 + b"data: abc\n\n", ([msg("abc\nabc\nabc\nabc")], False)),
        (b"data: abc\n" * 3 + b"data: abcd\n\n", ([], True)),
        (b"data: ab\n" * 6 + b"\n", ([], True)),
        (b"data: a\n\n" + b"data\n" * 17 + b"\n", ([msg("a")], True)),
        # the data size is per event
        ((b"data: abcd\n" * 3 + b"\n") * 4, ([msg("abcd\nabcd\nabcd")] * 4, False)),
        # an incomplete, oversized event at end of stream still fails
        (b"data: a\n\n" + b"data: abcdefg\n" * 3, ([msg("a")], True)),
    ],
)
def test_limit_outcome_is_independent_of_chunking(
    stream: bytes, expected: Optional[Tuple[List[Event], bool]]
) -> None:
    if expected is None:
        expected = ([msg("€3456789")], False)
    assert_same_outcome_all_ways(stream, expected)


@pytest.mark.parametrize("driver", DRIVERS)
def test_text_decoder_has_the_same_limit(driver: str) -> None:
    decoder = TextDecoder(max_event_size=LIMIT)
    events, error = decode_until_error(
        driver, decoder, ["data: 0123456789\n\n", "data: 0123456789a"]
    )
    assert events == [msg("0123456789")]
    assert error is not None and error.limit == LIMIT


def test_error_comes_from_the_next_call_after_the_events() -> None:
    decoder = Decoder(max_event_size=LIMIT)
    events = decoder.feed(b"data: a\n\ndata: b\n\ndata: " + b"x" * 20 + b"\n\ndata: c\n\n")
    assert events == [msg("a"), msg("b")]
    with pytest.raises(RemoteProtocolError) as info:
        decoder.feed(b"data: d\n\n")
    assert info.value.limit == LIMIT
    assert info.value.error_status_hint == 413
    assert isinstance(info.value, SSEError)


def test_iter_events_raises_after_the_events_without_taking_another_chunk() -> None:
    taken = []

    def body() -> Iterator[bytes]:
        for chunk in (b"data: a\n\ndata: " + b"x" * 20 + b"\n\n", b"data: never\n\n"):
            taken.append(chunk)
            yield chunk

    events = Decoder(max_event_size=LIMIT).iter_events(body())
    assert next(events) == msg("a")
    with pytest.raises(RemoteProtocolError) as info:
        next(events)
    assert info.value.limit == LIMIT
    assert len(taken) == 1  # a silent server's next chunk is never waited for


def test_aiter_events_raises_after_the_events_without_taking_another_chunk() -> None:
    taken = []

    async def body() -> AsyncIterator[bytes]:
        for chunk in (b"data: a\n\ndata: " + b"x" * 20 + b"\n\n", b"data: never\n\n"):
            taken.append(chunk)
            yield chunk

    async def run() -> None:
        events = Decoder(max_event_size=LIMIT).aiter_events(body())
        assert await events.__anext__() == msg("a")
        with pytest.raises(RemoteProtocolError) as info:
            await events.__anext__()
        assert info.value.limit == LIMIT

    asyncio.run(run())
    assert len(taken) == 1


def test_pending_error_is_raised_by_close() -> None:
    decoder = Decoder(max_event_size=LIMIT)
    assert decoder.feed(b"data: a\n\n" + b"data: abcd\n" * 5) == [msg("a")]
    with pytest.raises(RemoteProtocolError):
        decoder.close()
    assert decoder.closed
    # The error was raised once; closing again does nothing.
    assert decoder.close() == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_error_is_raised_at_once_without_events(driver: str) -> None:
    events, error = decode_until_error(
        driver, Decoder(max_event_size=LIMIT), [b"data: " + b"x" * 20 + b"\n"]
    )
    assert events == [] and error is not None


@pytest.mark.parametrize("driver", DRIVERS)
def test_failed_decoder_stays_failed(driver: str) -> None:
    decoder = Decoder(max_event_size=LIMIT)
    assert decode_until_error(driver, decoder, [b"x" * 20])[1] is not None
    for chunk in [b"", b"\n\ndata: ok\n\n", b"data: ok\n\n"]:
        with pytest.raises(RemoteProtocolError):
            decoder.feed(chunk)
    # close() then marks it closed without raising a second time, and a later
    # feed still reports the failure rather than a use-after-close.
    assert decoder.close() == []
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"data: ok\n\n")


@pytest.mark.parametrize("driver", DRIVERS)
def test_failed_decoder_state_is_not_updated(driver: str) -> None:
    decoder = Decoder(max_event_size=LIMIT)
    stream = b"id: 1\ndata: a\n\nid: 2\nretry: 3\ndata: " + b"x" * 20 + b"\n\n"
    events, error = decode_until_error(driver, decoder, [stream, b""])
    assert events == [msg("a", "1")] and error is not None
    assert decoder.last_event_id == "1"
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"")


@pytest.mark.parametrize("driver", DRIVERS)
def test_none_disables_the_limit(driver: str) -> None:
    size = DEFAULT_MAX_EVENT_SIZE + 1
    line = b"data: " + b"x" * (size - 6)
    step = 1 << 20
    chunks = [line[start : start + step] for start in range(0, len(line), step)]
    limited = Decoder()
    assert limited.max_event_size == DEFAULT_MAX_EVENT_SIZE
    assert decode_until_error(driver, limited, chunks) == ([], limited._error)
    assert limited._error is not None
    unlimited = Decoder(max_event_size=None)
    assert unlimited.max_event_size is None
    events, error = decode_until_error(
        driver, unlimited, [*chunks, b"\n\n", b"data\n" * 100_000 + b"\n"]
    )
    assert error is None
    assert len(events[0].data) == size - 6
    assert events[1:] == [msg("\n" * 99_999)]


@pytest.mark.parametrize("driver", DRIVERS)
def test_limit_of_one(driver: str) -> None:
    events, error = decode_until_error(driver, Decoder(max_event_size=1), [b"\n\n:\n\r\n", b"da"])
    assert events == [] and error is not None


@pytest.mark.parametrize("cut", [1, 2])
def test_a_byte_order_mark_held_back_does_not_count_against_the_limit(cut: int) -> None:
    # The start of a BOM waits in the line buffer until its end arrives; it is
    # not part of any line, so even a limit of one byte lets it through.
    stream = b"\xef\xbb\xbfa\n\n"
    assert outcome([stream[:cut], stream[cut:]], limit=1) == ([], False)
    assert outcome([stream[:cut], stream[cut:3], b"data:x\n\n"], limit=6) == (
        [("x", "message", "", None)],
        False,
    )


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True, b"1"])
def test_invalid_limits_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        Decoder(max_event_size=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TextDecoder(max_event_size=bad)  # type: ignore[arg-type]


def test_absurd_retry_is_ignored_not_converted() -> None:
    # Deliberate deviation from the spec (which would set the reconnection time
    # to the integer): converting thousands of digits is quadratic, and
    # CPython 3.11+ refuses it, so a retry value longer than 4300 significant
    # digits is ignored.  Leading zeros do not count.
    decoder = Decoder()
    decoder.feed(b"retry: " + b"0" * 10_000 + b"5\n")
    assert decoder.retry == 5
    decoder.feed(b"retry: " + b"9" * 5_000 + b"\ndata: x\n\n")
    assert decoder.retry == 5


# -- memory -------------------------------------------------------------------------

MEMORY_LIMIT = 64 * 1024
#: Peak traced memory allowed while decoding hostile input, as a multiple of
#: max_event_size.  The module docstring promises text held at up to 4 bytes a
#: character; 6 leaves room for one transient copy on top of ASCII buffers.
MEMORY_FACTOR = 6


def peak_while_feeding(unit: bytes, chunk_size: int, how: str) -> Tuple[int, bool]:
    """Feed ``unit`` repeated, in chunks of about ``chunk_size`` bytes, up to
    10 x the limit or an error, with ``how``, one of :data:`DRIVERS`."""
    chunk = unit * (chunk_size // len(unit) + 1)
    count = 10 * MEMORY_LIMIT // len(chunk) + 1
    decoder = Decoder(max_event_size=MEMORY_LIMIT)

    def run() -> bool:
        try:
            if how == "feed":
                for _ in range(count):
                    decoder.feed(chunk)
            elif how == "iter_events":
                for _ in decoder.iter_events(itertools.repeat(chunk, count)):
                    pass
            else:

                async def chunks() -> AsyncIterator[bytes]:
                    for _ in range(count):
                        yield chunk

                async def take() -> None:
                    async for _ in decoder.aiter_events(chunks()):
                        pass

                asyncio.run(take())
        except RemoteProtocolError:
            return True
        return False

    return measure_peak(run)


@pytest.mark.parametrize(
    ("unit", "should_fail"),
    [
        (b"x", True),  # one endless line
        ("\U0001f600".encode(), True),  # one endless line of 4-byte characters
        (b"data: " + b"x" * 1000 + b"\n", True),  # long data lines, never dispatched
        (b"data: ab\n", True),  # short data lines, never dispatched
        (b"data: abcdefgh\n", True),
        (b"data:\n", True),  # empty data lines
        (b"data\n", True),
        (b": keep-alive\n", False),  # comments forever
        (b"foo: bar\n", False),  # unknown fields forever
        (b"id: 12345\n", False),  # ids forever
        (b"event: e\n", False),
        (b"retry: 1000\n", False),
        (b"\n", False),  # blank lines forever
        (b"data: " + b"x" * 1000 + b"\n\n", False),  # events, each well within the limit
    ],
)
@pytest.mark.parametrize("how", DRIVERS)
@pytest.mark.parametrize("chunk_size", [1024, 5])
@requires_tracemalloc
def test_memory_is_bounded_on_hostile_input(
    unit: bytes, should_fail: bool, chunk_size: int, how: str
) -> None:
    peak, failed = peak_while_feeding(unit, chunk_size, how)
    assert failed is should_fail
    assert peak < MEMORY_FACTOR * MEMORY_LIMIT, f"peak {peak / MEMORY_LIMIT:.1f} x the limit"


def test_last_event_id_seed_of_the_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Decoder(last_event_id=b"1")  # type: ignore[arg-type]


def test_text_decoder_turns_a_lone_surrogate_into_one_replacement_character() -> None:
    # No UTF-8 stream can hold a surrogate; as a browser's USVString
    # conversion, each becomes U+FFFD.
    decoder = TextDecoder()
    assert decoder.feed("data: a\ud800b\udfff\n\n") == [msg("a\ufffdb\ufffd")]


LONG_LIMIT = 700  # above the 512 bytes from which iter_events ends a long line in place


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"data: a\n\ndata: " + b"x" * 690 + b"\n\n", ([msg("a"), msg("x" * 690)], False)),
        (b"data: a\r\n\r\ndata: " + b"x" * 700 + b"\r\n\r\n", ([msg("a")], True)),  # the line
        (b"data: a\r\rid: " + b"x" * 697 + b"\r\r", ([msg("a")], True)),
        (b"data: " + b"x" * 600 + b"\ndata: " + b"y" * 150 + b"\n\n", ([], True)),  # the data
        (b": " + b"x" * 690 + b"\ndata: " + b"y" * 600 + b"\n\n", ([msg("y" * 600)], False)),
        (b"data: " + b"x" * 600 + b"\n" + b"y" * 800, ([], True)),  # the next line, unended
    ],
)
def test_long_line_limits_are_independent_of_chunking(
    stream: bytes, expected: Tuple[List[Event], bool]
) -> None:
    assert_same_outcome_all_ways(stream, expected, LONG_LIMIT)


def test_many_line_events_near_the_limit_in_any_chunks() -> None:
    # An event of many data lines spread over many chunks: the decoder keeps a
    # bound on its size until a chunk might take it past the limit, then counts
    # exactly.  9 bytes a line: 111 lines are 999 bytes, 112 are 1008.
    limit = 1000
    fits = b"data: abcdefgh\n" * 111 + b"\n"
    breaks = b"data: abcdefgh\n" * 112 + b"\n"
    small = b"id: 1\ndata: a\n\n"
    one = "\n".join(["abcdefgh"] * 111)
    for stream, expected in [
        (small + fits + small + fits, ([msg("a", "1"), msg(one, "1")] * 2, False)),
        (
            small + fits + small + breaks + small,
            ([msg("a", "1"), msg(one, "1"), msg("a", "1")], True),
        ),
        (fits * 3 + b": " + b"x" * 990 + b"\n" + breaks, ([msg(one)] * 3, True)),
    ]:
        want = (as_tuples(expected[0]), expected[1])
        for size in (1, 3, 16, 40, 100, 333, 999, 1000, 1001, 4096, len(stream)):
            chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
            assert outcome(chunks, limit) == want, size
