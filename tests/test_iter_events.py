# SPDX-License-Identifier: MIT
"""``Decoder.iter_events``: what it shares with ``feed`` is checked on every spec
vector and chunking (tests/helpers.py); this module checks what is its own.

The iterator holds the decoder from the call until it ends; it yields each
event as its blank line is read, so ``last_event_id`` and ``retry`` are those
of the last event taken; however it ends, the decoder is closed (or failed).
"""

from __future__ import annotations

import asyncio
import gc
from typing import AsyncIterator, Iterator, List, Union

import pytest

from sse_core import Decoder, Event, LocalProtocolError, RemoteProtocolError, TextDecoder


def msg(data: str, id: str = "") -> Event:
    return Event(data, "message", id, None)


def test_continues_a_stream_begun_with_feed() -> None:
    decoder = Decoder()
    assert decoder.feed(b"\xef\xbb\xbfid: 1\ndata: a\r") == []
    events = list(decoder.iter_events([b"\ndata: b\n", b"\n", b"data: c\n\n"]))
    assert events == [Event("a\nb", "message", "1", None), msg("c", "1")]
    assert decoder.closed and not decoder.truncated


def test_last_event_id_and_retry_are_those_at_the_end_of_the_chunk_taken() -> None:
    decoder = Decoder()
    events = decoder.iter_events(
        [b"id: 1\nretry: 5\ndata: a\n\nid: 2\nretry: 7\ndata: b\n\n", b"id: 3\ndata: c\n\n"]
    )
    assert next(events).id == "1"
    assert (decoder.last_event_id, decoder.retry) == ("2", 7)
    assert next(events).id == "2"
    assert next(events).id == "3"
    assert (decoder.last_event_id, decoder.retry) == ("3", 7)


def test_stopped_early_the_last_event_id_is_that_of_the_last_event_taken() -> None:
    # The ID to resume from: the events after it were never taken.
    decoder = Decoder()
    events = decoder.iter_events([b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n"])
    assert next(events).id == "1"
    events.close()
    assert (decoder.last_event_id, decoder.truncated, decoder.closed) == ("1", True, True)


def test_feed_and_another_iterator_are_refused_while_one_holds_the_decoder() -> None:
    decoder = Decoder()
    events = decoder.iter_events([b"data: a\n\n", b"data: b\n\n"])
    with pytest.raises(LocalProtocolError, match="held by an iterator"):
        decoder.feed(b"data: x\n\n")  # even before the iterator starts
    assert next(events) == msg("a")
    with pytest.raises(LocalProtocolError, match="held by an iterator"):
        decoder.feed(b"")
    with pytest.raises(LocalProtocolError, match="held by an iterator"):
        decoder.iter_events([])
    assert list(events) == [msg("b")]
    assert decoder.closed
    with pytest.raises(LocalProtocolError, match="closed"):
        decoder.feed(b"")


def test_an_iterator_dropped_or_closed_unstarted_frees_the_decoder() -> None:
    decoder = Decoder()
    events = decoder.iter_events([b"data: a\n\n"])
    events.close()  # never started: nothing of the stream was taken
    assert decoder.feed(b"data: b\n\n") == [msg("b")]
    decoder.iter_events([b"data: c\n\n"])  # dropped at once
    gc.collect()  # PyPy frees it only when it collects
    assert decoder.feed(b"data: d\n\n") == [msg("d")]
    assert not decoder.closed


def test_close_after_an_iterator_was_dropped_unstarted() -> None:
    decoder = Decoder()
    decoder.feed(b"data: a")
    decoder.iter_events([b"\n\n"])  # dropped at once, never started
    gc.collect()
    assert decoder.close() == []
    assert decoder.closed and decoder.truncated  # "data: a" never ended


def test_stopping_early_closes_the_decoder_as_truncated() -> None:
    decoder = Decoder()
    for event in decoder.iter_events([b"data: a\n\ndata: b\n\n"]):
        assert event == msg("a")
        break
    gc.collect()  # PyPy finalises the abandoned iterator only when it collects
    assert decoder.closed and decoder.truncated
    assert decoder.close() == []  # closing again does nothing
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"data: c\n\n")


def test_close_stops_the_iterator() -> None:
    decoder = Decoder()
    events = decoder.iter_events([b"data: a\n\ndata: b\n\n"])
    assert next(events) == msg("a")
    assert decoder.close() == []
    assert decoder.closed and decoder.truncated
    assert list(events) == []


def test_close_before_the_iterator_starts_leaves_it_empty() -> None:
    decoder = Decoder()
    events = decoder.iter_events([b"data: a\n\n"])
    decoder.close()
    assert list(events) == []
    assert decoder.closed and not decoder.truncated


def test_an_error_from_the_chunks_closes_the_decoder_and_propagates() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"data: a\n\ndata: b"
        raise ConnectionResetError("the server went away")

    decoder = Decoder()
    taken: List[Event] = []
    with pytest.raises(ConnectionResetError):
        for event in decoder.iter_events(chunks()):
            taken.append(event)
    assert taken == [msg("a")]
    assert decoder.closed and decoder.truncated  # "data: b" was cut


def test_a_chunk_of_the_wrong_type_closes_the_decoder() -> None:
    decoder = Decoder()
    with pytest.raises(TypeError, match="not str"):
        list(decoder.iter_events([b"data: a\n\n", "data: b\n\n"]))  # type: ignore[list-item]
    assert decoder.closed
    with pytest.raises(TypeError, match="TextDecoder takes str, not bytes"):
        list(TextDecoder().iter_events(["data: a\n\n", b"data: b\n\n"]))  # type: ignore[list-item]


def test_bytearray_and_memoryview_chunks_are_copied() -> None:
    def chunks() -> Iterator[Union[bytearray, memoryview]]:
        buffer = bytearray(b"data: ab")
        yield buffer
        buffer[:] = b"XXXXXXXX"  # a caller reusing its read buffer
        yield memoryview(b"c\n\n")

    assert list(Decoder().iter_events(chunks())) == [msg("abc")]


def test_a_closed_or_failed_decoder_refuses_at_the_call() -> None:
    closed = Decoder()
    closed.close()
    with pytest.raises(LocalProtocolError, match="closed"):
        closed.iter_events([])
    failed = Decoder(max_event_size=8)
    assert failed.feed(b"data: a\n\ndata: ab\ndata: cd\ndata: ef\n") == [msg("a")]
    with pytest.raises(RemoteProtocolError, match="larger than max_event_size"):
        failed.iter_events([])  # the pending error
    with pytest.raises(RemoteProtocolError, match="failed earlier"):
        failed.iter_events([])


def test_a_broken_limit_leaves_the_decoder_failed_not_closed() -> None:
    decoder = Decoder(max_event_size=8)
    events = decoder.iter_events([b"data: a\n\n", b"x" * 9])
    assert next(events) == msg("a")
    with pytest.raises(RemoteProtocolError, match="line"):
        next(events)
    assert not decoder.closed
    with pytest.raises(RemoteProtocolError, match="failed earlier"):
        decoder.feed(b"")


# -- aiter_events: what is its own (the shared rules run through tests/helpers.py) --


async def _chunks(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def test_aiter_events_holds_the_decoder_until_it_ends() -> None:
    decoder = Decoder()

    async def run() -> None:
        events = decoder.aiter_events(_chunks(b"data: a\n\n", b"data: b\n\n"))
        with pytest.raises(LocalProtocolError, match="held by an iterator"):
            decoder.feed(b"")  # even before it starts
        assert await events.__anext__() == msg("a")
        with pytest.raises(LocalProtocolError, match="held by an iterator"):
            decoder.iter_events([])
        assert [event async for event in events] == [msg("b")]

    asyncio.run(run())
    assert decoder.closed and not decoder.truncated


def test_close_ends_an_async_iterator_at_its_next_step() -> None:
    decoder = Decoder()
    taken: List[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for chunk in (b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n", b"data: c\n\n"):
            taken.append(chunk)
            yield chunk

    async def run() -> List[Event]:
        events = decoder.aiter_events(body())
        first = await events.__anext__()
        assert decoder.close() == []  # from the consumer, between two events
        return [first] + [event async for event in events]

    # The events of the chunk in hand were decoded: the rest are not taken,
    # and the stream counts as cut.
    assert [event.id for event in asyncio.run(run())] == ["1", "2"]
    assert decoder.closed and decoder.truncated
    assert len(taken) == 2  # the next chunk is taken, and dropped unread


def test_close_before_an_async_iterator_starts_leaves_it_empty() -> None:
    decoder = Decoder()
    events = decoder.aiter_events(_chunks(b"data: a\n\n"))
    decoder.close()

    async def run() -> List[Event]:
        return [event async for event in events]

    assert asyncio.run(run()) == []
    assert decoder.closed and not decoder.truncated


def test_a_decoder_dropped_at_once_still_raises_its_limit_error() -> None:
    # Decoder(...).feed keeps only the loop: nothing is left to mark failed.
    with pytest.raises(RemoteProtocolError):
        Decoder(max_event_size=4).feed(b"data: abcdef")
    with pytest.raises(TypeError):
        Decoder().feed("data: a\n\n")  # type: ignore[arg-type]


def test_a_chunk_of_the_wrong_type_for_feed_closes_the_decoder() -> None:
    decoder = Decoder()
    assert decoder.feed(b"data: a") == []
    with pytest.raises(TypeError, match="not str"):
        decoder.feed("\n\n")  # type: ignore[arg-type]
    assert decoder.closed and decoder.truncated
    with pytest.raises(LocalProtocolError, match="closed"):
        decoder.feed(b"\n\n")
