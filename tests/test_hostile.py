# SPDX-License-Identifier: MIT
"""Hostile streams: the decoder's outcome and its peak memory on each.

A server that is broken or malicious can send anything.  For every hostile
shape below, fed in realistic chunk sizes and byte by byte, the decoder must
give the documented outcome (the events, or ``RemoteProtocolError`` at the
documented point and nothing else) while its peak memory, measured with
tracemalloc, stays under a small multiple of ``max_event_size`` plus a term
for the chunk in hand.  (PyPy has no tracemalloc: there only the outcomes are
checked; see ``tests/memory.py``.)  ``docs/security.md`` lists the outcomes;
``benchmarks/hostile.py`` measures the time, which must grow linearly.

``test_limits.py`` holds the limit's exact semantics on small inputs; this
file feeds each shape far past the limit.
"""

from __future__ import annotations

import random
from typing import AsyncIterator, Callable, Iterator, List, NamedTuple, Optional, Tuple

import pytest

from sse_core import (
    DEFAULT_MAX_EVENT_SIZE,
    Decoder,
    Event,
    RemoteProtocolError,
    TextDecoder,
)

from .helpers import (
    DRIVERS,
    as_tuples,
    complete,
    decode_until_error,
    feed_until_error,
    run_decoder,
)
from .memory import measure_peak, requires_tracemalloc
from .reference import reference_decode

#: max_event_size for the realistic chunk sizes: small, so the tests are fast.
LIMIT = 64 * 1024
#: max_event_size when feeding byte by byte (a feed call per byte is slow).
SMALL_LIMIT = 4 * 1024
#: Streams that never break the limit are fed for this many times the limit.
RUN_LENGTH = 8

#: The memory budget for a decoder with limit L fed chunks of C bytes:
#: MEMORY_FACTOR * L for what it holds (an incomplete line or event, at up to
#: 4 bytes a character, plus one transient copy), CHUNK_FACTOR * C for the
#: chunk in hand (its text and the events it completes, which belong to the
#: caller), and MEMORY_CONSTANT for the rest (lists, small objects).
MEMORY_FACTOR = 6
CHUNK_FACTOR = 32
MEMORY_CONSTANT = 64 * 1024

BOM = b"\xef\xbb\xbf"
#: Invalid UTF-8 of every kind: a lone continuation byte, bytes that never
#: occur (C0, C1, F5-FF), overlong forms, a surrogate, a code point past
#: U+10FFFF, and sequences cut short by the next byte.
INVALID_UTF8 = [
    b"\x80",
    b"\xbf",
    b"\xc0\xaf",
    b"\xc1\xbf",
    b"\xe0\x80\xaf",
    b"\xf0\x80\x80\xaf",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xfe",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
]
INVALID_STORM = b"".join(INVALID_UTF8)
EVERY_BYTE = bytes(range(256))
#: Every byte value but CR and LF: one line.
ONE_LINE_OF_EVERY_BYTE = EVERY_BYTE.replace(b"\n", b"").replace(b"\r", b"")


def message(data: str, id: str = "") -> Event:
    return Event(data, "message", id, None)


class Hostile(NamedTuple):
    """A stream made of ``prefix`` then ``unit`` repeated without end.

    The outcome is either ``RemoteProtocolError`` once the limit breaks, or,
    for a stream that never breaks it, ``events_per_unit`` copies of ``event``
    per unit and no error.
    """

    name: str
    unit: bytes
    prefix: bytes = b""
    #: For a stream that breaks the limit L: how many bytes of the stream,
    #: prefix included, it takes to break it.
    breaks: Optional[Callable[[int], int]] = None
    event: Optional[Event] = None
    events_per_unit: int = 0
    #: Whether the stream, cut after a whole unit, ends inside a line or event.
    truncated: bool = False


HOSTILE = [
    # -- a line that never ends: fails once it is longer than the limit
    Hostile("endless line", b"x", breaks=lambda L: L + 1),
    Hostile("endless data line", b"x", b"data: ", breaks=lambda L: L + 1),
    Hostile("endless comment", b"x", b":", breaks=lambda L: L + 1),
    # the limit counts bytes, so a line of 4-byte characters breaks it at L + 1 bytes
    Hostile("endless line of 4-byte characters", "😀".encode(), breaks=lambda L: L + 1),
    Hostile("endless line of NUL", b"\0", b"data: ", breaks=lambda L: L + 1),
    # the first BOM is stripped; every later one is a character of the line
    Hostile("endless line of BOMs", BOM, breaks=lambda L: L + 4),
    Hostile("endless line of 0xFF", b"\xff", breaks=lambda L: L + 1),
    Hostile("endless line of continuation bytes", b"\x80", breaks=lambda L: L + 1),
    # E2 82 is a valid start cut short: one U+FFFD for two bytes
    Hostile("endless line of cut sequences", b"\xe2\x82", breaks=lambda L: L + 1),
    # -- data lines with no blank line: fail once the data (lines + LFs) passes the limit
    Hostile("endless short data lines", b"data: ab\n", breaks=lambda L: 9 * (L // 3 + 1)),
    Hostile("endless empty data lines", b"data\n", breaks=lambda L: 5 * (L + 1)),
    Hostile("endless data lines ending CR", b"data: ab\r", breaks=lambda L: 9 * (L // 3 + 1)),
    Hostile(
        "endless data lines ending CRLF", b"data: ab\r\n", breaks=lambda L: 10 * (L // 3 + 1) - 1
    ),
    Hostile("endless NUL data lines", b"data: \0\n", breaks=lambda L: 8 * (L // 2 + 1)),
    Hostile(
        "endless invalid UTF-8 data lines",
        b"data: \xff\n",
        breaks=lambda L: 8 * (L // 2 + 1),
    ),
    # -- streams that never break the limit: no growth, the events as they come
    Hostile("blank lines", b"\n"),
    Hostile("CR storm", b"\r"),
    Hostile("CRLF storm", b"\r\n"),
    Hostile("LF CR storm", b"\n\r"),
    Hostile("empty comments", b":\n"),
    Hostile("keep-alive comments", b": keep-alive\r\n"),
    Hostile("unknown fields", b"foo: bar\n"),
    Hostile("ids without data", b"id: 1\n\n"),
    # lines of control characters, a field name with a colon, and invalid UTF-8
    Hostile("every byte value", EVERY_BYTE, truncated=True),
    Hostile("invalid UTF-8 lines", INVALID_STORM + b"\n"),
    Hostile("BOM lines", BOM + b"data: x\n\n", BOM),
    Hostile("NUL field names", b"\0\0\0: x\n"),
    Hostile("tiny events", b"data: x\n\n", event=message("x"), events_per_unit=1),
    Hostile("tiny events ending CR", b"data: x\r\r", event=message("x"), events_per_unit=1),
    Hostile("tiny events ending CRLF", b"data: x\r\n\r\n", event=message("x"), events_per_unit=1),
    Hostile("empty events", b"data\n\n", event=message(""), events_per_unit=1),
    Hostile("NUL events", b"data: \0\n\n", event=message("\0"), events_per_unit=1),
    Hostile("NUL in id is ignored", b"id: \0\ndata: x\n\n", event=message("x"), events_per_unit=1),
    Hostile(
        "invalid UTF-8 events",
        b"data: " + INVALID_STORM + b"\n\n",
        event=message(INVALID_STORM.decode("utf-8", "replace")),
        events_per_unit=1,
    ),
    Hostile(
        "every byte value as data",
        b"data: " + ONE_LINE_OF_EVERY_BYTE + b"\n\n",
        event=message(ONE_LINE_OF_EVERY_BYTE.decode("utf-8", "replace")),
        events_per_unit=1,
    ),
    Hostile(
        "events of 1000 data lines",
        b"data\n" * 1000 + b"\n",
        event=message("\n" * 999),
        events_per_unit=1,
    ),
]


class Outcome(NamedTuple):
    events: int  # how many events came out (each checked against the expected one)
    error: Optional[RemoteProtocolError]
    fed: int  # bytes fed up to and including the call that raised


def stream_chunks(case: Hostile, chunk_size: int, limit: int) -> Iterator[bytes]:
    """The stream cut into chunks: up to its break point, or RUN_LENGTH x the limit."""
    units = (RUN_LENGTH * limit) // len(case.unit) + 1
    if case.breaks is not None:
        units = (case.breaks(limit) + 2 * chunk_size) // len(case.unit) + 2
    stream = case.prefix + case.unit * units
    for start in range(0, len(stream), chunk_size):
        yield stream[start : start + chunk_size]


def drive(
    decoder: Decoder, chunks: Iterator[bytes], expected: Optional[Event], driver: str = "feed"
) -> Outcome:
    """Decode every chunk with ``driver`` (one of DRIVERS), then close; count
    the events, checking each one."""
    count = 0
    fed = 0

    def counted() -> Iterator[bytes]:
        nonlocal fed
        for chunk in chunks:
            fed += len(chunk)
            yield chunk

    async def acounted() -> AsyncIterator[bytes]:
        for chunk in counted():
            yield chunk

    async def take() -> None:
        nonlocal count
        async for event in decoder.aiter_events(acounted()):
            assert event == expected
            count += 1

    try:
        if driver == "feed":
            for chunk in counted():
                for event in decoder.feed(chunk):
                    assert event == expected
                    count += 1
            decoder.close()
        elif driver == "iter_events":
            for event in decoder.iter_events(counted()):
                assert event == expected
                count += 1
        else:
            complete(take())
    except RemoteProtocolError as error:
        return Outcome(count, error, fed)
    return Outcome(count, None, fed)


def check_hostile(case: Hostile, chunk_size: int, limit: int, driver: str = "feed") -> None:
    stream = list(stream_chunks(case, chunk_size, limit))
    size = sum(map(len, stream))
    decoder = Decoder(max_event_size=limit)
    peak, outcome = measure_peak(lambda: drive(decoder, iter(stream), case.event, driver))
    budget = MEMORY_FACTOR * limit + CHUNK_FACTOR * chunk_size + MEMORY_CONSTANT
    assert peak < budget, f"peak {peak} bytes, budget {budget}"
    if case.breaks is not None:
        assert outcome.error is not None, "the limit never broke"
        assert outcome.error.limit == limit
        assert outcome.events == 0
        # The error comes from the call that fed the byte that broke the
        # limit (allowing for a character cut by the chunking).
        break_at = case.breaks(limit)
        assert break_at <= outcome.fed < break_at + chunk_size + 4
    else:
        assert outcome.error is None, outcome.error
        assert outcome.fed == size
        units = (size - len(case.prefix)) // len(case.unit)
        assert outcome.events == units * case.events_per_unit
        assert decoder.truncated is case.truncated


#: (chunk size, limit): realistic chunks, and tiny ones (byte by byte, and 7
#: bytes, which puts CR, LF and multi-byte characters at every chunk boundary)
#: against a smaller limit, since each feed call costs the same however small.
CHUNKINGS = [(1, SMALL_LIMIT), (7, SMALL_LIMIT), (1024, LIMIT), (65536, LIMIT)]


@pytest.mark.parametrize(("chunk_size", "limit"), CHUNKINGS, ids=[f"{c}B" for c, _ in CHUNKINGS])
@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
@pytest.mark.parametrize("driver", DRIVERS)
def test_hostile_stream(case: Hostile, chunk_size: int, limit: int, driver: str) -> None:
    if driver != "feed":
        # The same loop behind another entry: the small limit keeps the run
        # short, and makes the large chunks cross it (the path for a chunk
        # over the limit).
        limit = SMALL_LIMIT
    check_hostile(case, chunk_size, limit, driver)


# -- the same shapes through TextDecoder ----------------------------------------------

ASCII_CASES = [case for case in HOSTILE if (case.prefix + case.unit).isascii()]


@pytest.mark.parametrize("case", ASCII_CASES, ids=[case.name for case in ASCII_CASES])
def test_hostile_text_stream(case: Hostile) -> None:
    # ASCII streams, so characters and bytes count alike.
    chunks = [chunk.decode("ascii") for chunk in stream_chunks(case, 1024, LIMIT)]
    decoder = TextDecoder(max_event_size=LIMIT)

    def run() -> Tuple[int, Optional[RemoteProtocolError]]:
        count = 0
        try:
            for chunk in chunks:
                for event in decoder.feed(chunk):
                    assert event == case.event
                    count += 1
            decoder.close()
        except RemoteProtocolError as error:
            return count, error
        return count, None

    peak, (count, error) = measure_peak(run)
    assert peak < MEMORY_FACTOR * LIMIT + CHUNK_FACTOR * 1024 + MEMORY_CONSTANT
    assert (error is not None) is (case.breaks is not None)
    if case.breaks is None:
        units = (sum(map(len, chunks)) - len(case.prefix)) // len(case.unit)
        assert count == units * case.events_per_unit


# -- sizes: a 100 MB event, millions of tiny events -------------------------------------

MiB = 1024 * 1024


def feed_big_event(
    decoder: Decoder, size: int, line: int = 0
) -> Tuple[List[Event], int, Optional[RemoteProtocolError]]:
    """Feed one event of about ``size`` bytes in 1 MiB chunks, then a blank line.

    The event is one ``data:`` line if ``line`` is 0, else data lines of
    ``line`` bytes each.  Returns the events, the bytes fed up to the call that
    returned or raised, and the error if one was raised.
    """
    if line:
        block = (b"data: " + b"x" * (line - 7) + b"\n") * (MiB // line)
    else:
        block = b"x" * MiB
    events: List[Event] = []
    fed = 0
    try:
        if not line:
            fed += 6
            events += decoder.feed(b"data: ")
        while fed < size:
            fed += len(block)
            events += decoder.feed(block)
        fed += 2
        events += decoder.feed(b"\n\n")
        events += decoder.close()
    except RemoteProtocolError as error:
        return events, fed, error
    return events, fed, None


@pytest.mark.parametrize("line", [0, 1024], ids=["one line", "1 KiB lines"])
def test_100_mb_event_fails_promptly_at_the_default_limit(line: int) -> None:
    decoder = Decoder()
    peak, (events, fed, error) = measure_peak(lambda: feed_big_event(decoder, 100 * MiB, line))
    assert events == []
    assert error is not None
    assert error.limit == DEFAULT_MAX_EVENT_SIZE
    # Stopped by the chunk that broke the limit, not after 100 MB.
    assert DEFAULT_MAX_EVENT_SIZE < fed <= DEFAULT_MAX_EVENT_SIZE + 2 * MiB
    assert peak < 2 * DEFAULT_MAX_EVENT_SIZE


@pytest.mark.parametrize("line", [0, 1024], ids=["one line", "1 KiB lines"])
def test_big_event_decodes_without_a_limit(line: int) -> None:
    # 20 MB rather than 100 MB keeps CI fast; benchmarks/hostile.py goes further.
    size = 20 * MiB
    decoder = Decoder(max_event_size=None)
    peak, (events, _, error) = measure_peak(lambda: feed_big_event(decoder, size, line))
    assert error is None
    (event,) = events
    if line:
        lines = event.data.split("\n")
        assert len(lines) == size // line
        assert set(lines) == {"x" * (line - 7)}
    else:
        assert event.data == "x" * size
    # Unbounded by design, but still proportional: the event itself plus a
    # few transient copies (the joined line and its slices).
    assert peak < 5 * size


def test_hundreds_of_thousands_of_tiny_events() -> None:
    count = 300_000
    unit = b"data: x\n\n"
    stream = unit * count
    chunk_size = 4096
    decoder = Decoder(max_event_size=LIMIT)
    expected = message("x")

    def run() -> int:
        got = 0
        for start in range(0, len(stream), chunk_size):
            events = decoder.feed(stream[start : start + chunk_size])
            assert events.count(expected) == len(events)
            got += len(events)
        decoder.close()
        return got

    peak, got = measure_peak(run)
    assert got == count
    assert not decoder.truncated
    assert peak < CHUNK_FACTOR * chunk_size + MEMORY_CONSTANT


# -- exact outcomes on the hostile characters ---------------------------------------------


def test_every_byte_value_in_every_position_matches_the_oracle() -> None:
    for value in range(256):
        byte = bytes([value])
        stream = (
            b"data: "
            + byte
            + b"\n\n"
            + b"event: "
            + byte
            + b"\ndata: x\n\n"
            + b"id: "
            + byte
            + b"\ndata: y\n\n"
            + byte
            + b"data: z\n\n"
            + b"data"
            + byte
            + b" w\n\n"
            + b"retry: 1"
            + byte
            + b"\ndata: v\n\n"
        )
        for chunks in ([stream], [stream[i : i + 1] for i in range(len(stream))]):
            result = run_decoder(chunks)
            assert (as_tuples(result.events), result.last_event_id, result.retry) == (
                reference_decode(stream)
            ), value


def test_random_bytes_match_the_oracle_at_any_chunking() -> None:
    rng = random.Random(6)
    for size in [1000, 100_000]:
        # Bytes weighted towards the ones the format treats specially.
        alphabet = list(range(256)) + [10, 13, 58, 32] * 16 + list(b"dataidevent") * 4
        stream = bytes(rng.choice(alphabet) for _ in range(size))
        expected = reference_decode(stream)
        whole = run_decoder([stream])
        assert (as_tuples(whole.events), whole.last_event_id, whole.retry) == expected
        for chunk_size in [1, 3, 7, 1000]:
            if chunk_size == 1 and size > 10_000:
                continue
            chunks = [stream[i : i + chunk_size] for i in range(0, size, chunk_size)]
            assert run_decoder(chunks) == whole


@pytest.mark.parametrize("sequence", INVALID_UTF8, ids=[s.hex() for s in INVALID_UTF8])
def test_invalid_utf8_becomes_replacement_characters(sequence: bytes) -> None:
    # As the spec's UTF-8 decode does: each maximal invalid subpart becomes
    # one U+FFFD, wherever the chunking cuts the sequence.
    stream = b"data: a" + sequence + b"b\n\ndata: " + sequence + b"\n\nid: " + sequence + b"\n\n"
    want = sequence.decode("utf-8", "replace")
    for chunks in ([stream], [stream[i : i + 1] for i in range(len(stream))]):
        result = run_decoder(chunks)
        assert result.events == [message("a" + want + "b"), message(want)]
        assert result.last_event_id == want
        assert not result.truncated


@pytest.mark.parametrize("sequence", [b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98"])
def test_a_cut_sequence_at_end_of_stream_is_truncation(sequence: bytes) -> None:
    for chunks in ([b"data: x\n\n" + sequence], [b"data: x\n\n", sequence]):
        result = run_decoder(chunks)
        assert result.events == [message("x")]
        assert result.truncated


def test_nul_bytes() -> None:
    stream = (
        b"data: a\0b\n\n"  # kept in data
        b"event: \0\ndata: c\n\n"  # kept in the event type
        b"id: 1\0\ndata: d\n\n"  # an id with NUL is ignored
        b"\0data: e\n\n"  # not the data field
        b"\0\0\0\n\n"
    )
    result = run_decoder([stream[i : i + 1] for i in range(len(stream))])
    assert result.events == [message("a\0b"), Event("c", "\0", "", None), message("d")]
    assert result.last_event_id == ""


def test_bom_mid_stream_is_an_ordinary_character() -> None:
    # Only one leading BOM is stripped; any other U+FEFF belongs to its line.
    stream = BOM + b"data: a\n\n" + BOM + b"data: b\n\ndata: " + BOM + b"c\n\n"
    for chunks in ([stream], [stream[i : i + 1] for i in range(len(stream))]):
        assert run_decoder(chunks).events == [message("a"), message("\ufeffc")]
    # A second leading BOM makes the first line's field name "\ufeffdata".
    assert run_decoder([BOM + BOM + b"data: a\n\ndata: b\n\n"]).events == [message("b")]


def test_cr_storm_across_chunk_boundaries() -> None:
    # A CR ending one chunk and an LF starting the next are one line ending;
    # CR then CR are two.
    crlf = [b"data: x\r", b"\n\r", b"\n"] * 1000
    assert run_decoder(crlf).events == [message("x")] * 1000
    cr_cr = [b"data: x\r", b"\r"] * 1000
    assert run_decoder(cr_cr).events == [message("x")] * 1000
    storm = [b"\r"] * 10_000 + [b"\n"] * 10_000
    assert run_decoder(storm) == run_decoder([b"\r" * 10_000 + b"\n" * 10_000])


#: The worst case: an open event and an incomplete line both just under the
#: limit, then a line ending.  The decoder then holds 2 L bytes and, for a
#: moment, copies of them (the joined line, its value, the joined data): a few
#: L bytes in all, whatever the characters, since the decoder keeps bytes until
#: an event is dispatched.  docs/security.md quotes this bound.
WORST_CASE_COPIES = 8


@pytest.mark.parametrize(
    ("char", "width"),
    [("x", 1), ("é", 1), ("€", 2), ("😀", 4)],
    ids=["ASCII", "Latin-1", "BMP", "astral"],
)
def test_worst_case_peak_is_a_few_copies_of_the_limit(char: str, width: int) -> None:
    body = char.encode() * ((LIMIT - 8) // len(char.encode()))
    assert LIMIT - 12 < len(body) <= LIMIT - 8
    stream = b"data: " + body + b"\ndata: " + body + b"\n\n"
    chunks = [stream[i : i + 1024] for i in range(0, len(stream), 1024)]
    decoder = Decoder(max_event_size=LIMIT)
    peak, (events, error) = measure_peak(lambda: feed_until_error(decoder, chunks))
    assert events == []
    assert error is not None  # two lines of about L - 8 bytes: the data breaks the limit
    assert peak < WORST_CASE_COPIES * LIMIT + CHUNK_FACTOR * 1024 + MEMORY_CONSTANT


#: One legal event (or ID) at the limit, by shape, and the peak it may cost,
#: in multiples of the limit, whatever the chunks and the driver (measured:
#: 2.1, 3.1, 6.1, 8.1 and 5.2 to 5.8 times).  The peak includes the event's text, which
#: CPython holds at up to 4 bytes a character: one character over U+FFFF makes
#: every U+FFFD of the invalid bytes 4 bytes wide, and its decoder reserves 4
#: bytes for every byte it decodes into such a text before it trims it.
#: docs/security.md quotes these bounds.
LEGAL_AT_THE_LIMIT = [
    ("ASCII", lambda n: b"data: " + b"x" * (n - 7) + b"\n\n", 2.5),
    ("2-byte", lambda n: b"data: " + "é".encode() * ((n - 7) // 2) + b"\n\n", 3.5),
    ("4-byte", lambda n: b"data: " + "😀".encode() * ((n - 7) // 4) + b"\n\n", 6.5),
    (
        "invalid UTF-8 and one 4-byte",
        lambda n: b"data: " + b"\xff" * (n - 11) + "😀".encode() + b"\n\n",
        8.5,
    ),
    ("maximal id lines", lambda n: (b"id: " + b"x" * (n - 4) + b"\n") * 8 + b"data: x\n\n", 6),
]
LEGAL_LIMIT = 256 * 1024


@requires_tracemalloc
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("chunk_size", [1024, 65536])
@pytest.mark.parametrize(
    ("name", "make", "factor"), LEGAL_AT_THE_LIMIT, ids=[shape[0] for shape in LEGAL_AT_THE_LIMIT]
)
def test_peak_for_one_legal_event_at_the_limit(
    name: str, make: Callable[[int], bytes], factor: float, chunk_size: int, driver: str
) -> None:
    stream = make(LEGAL_LIMIT)
    chunks = [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]
    decoder = Decoder(max_event_size=LEGAL_LIMIT)
    peak, (events, error) = measure_peak(lambda: decode_until_error(driver, decoder, chunks))
    assert error is None and len(events) == 1
    assert peak < factor * LEGAL_LIMIT, f"{name}: {peak / LEGAL_LIMIT:.2f} x the limit"


# -- the state a limit error leaves ------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        # The third data line breaks the limit; the retry line after it must
        # not count, even in the same chunk.
        b"data: abcdefg\ndata: abcdefg\ndata: abc\nretry: 77\n",
        # The failing event's id must not become the last event ID.
        b"id: 9\ndata: abcdefghij\ndata: abcdefgh\n\n",
    ],
    ids=["retry after the failure", "id of the failing event"],
)
def test_state_after_a_limit_error_does_not_depend_on_chunking(stream: bytes) -> None:
    # Lines past the failure point, even in the same chunk, change nothing:
    # retry and last_event_id are the same however the stream was cut.
    def state(chunks: List[bytes]) -> Tuple[str, Optional[int]]:
        decoder = Decoder(max_event_size=16)
        _, error = feed_until_error(decoder, chunks)
        assert error is not None
        return decoder.last_event_id, decoder.retry

    whole = state([stream])
    for point in range(1, len(stream)):
        assert state([stream[:point], stream[point:]]) == whole, point
