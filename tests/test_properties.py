# SPDX-License-Identifier: MIT
"""Property tests: chunking invariance, the reference oracle, and encode/decode round trips."""

from __future__ import annotations

from typing import List, Optional, Sequence, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sse_core import Decoder, Event, encode, encode_batch, encode_comment

from .helpers import (
    as_tuples,
    feed_until_error,
    iter_until_error,
    run_decoder,
    run_text_decoder,
    split_at,
)
from .reference import reference_decode

# Keep the whole file well under a minute on CPython, across 3.8 to 3.13.
FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

T = TypeVar("T", bytes, str)

#: Pieces that make interesting streams: field names (and near misses), the
#: colon and space, every line ending, byte order marks whole and cut, NUL,
#: non-ASCII characters, and invalid or truncated UTF-8.
BYTE_TOKENS = [
    b"data",
    b"id",
    b"event",
    b"retry",
    b"Data",
    b"dat",
    b":",
    b" ",
    b"  ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\xef\xbb\xbf",
    b"\xef\xbb",
    b"\xbf",
    b"\x00",
    b"0",
    b"1",
    b"42",
    b"x",
    "é".encode(),
    "€".encode(),
    "😀".encode(),
    "\u2028".encode(),
    "\u0661".encode(),
    b"\xff",
    b"\x80",
    b"\xe2\x82",
    b"\xf0\x9f",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
]


def _is_valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


TEXT_TOKENS = [t.decode("utf-8") for t in BYTE_TOKENS if _is_valid_utf8(t)] + [
    "\ufeff",
    "\x85",
    "\x0b",
]

token_streams = st.lists(st.sampled_from(BYTE_TOKENS), max_size=60).map(b"".join)
streams = st.one_of(token_streams, st.binary(max_size=120))
token_texts = st.lists(st.sampled_from(TEXT_TOKENS), max_size=60).map("".join)
# Any code point but a surrogate (which cannot be encoded as UTF-8).
no_surrogates = st.one_of(st.characters(max_codepoint=0xD7FF), st.characters(min_codepoint=0xE000))
texts = st.one_of(token_texts, st.text(alphabet=no_surrogates, max_size=80))


def _cut(data: T, points: Sequence[int]) -> List[T]:
    return split_at(data, sorted(set(points)))


@st.composite
def chunked(draw: st.DrawFn, source: st.SearchStrategy[T]) -> List[T]:
    data = draw(source)
    if len(data) < 2:
        return [data]
    points = draw(st.lists(st.integers(1, len(data) - 1), max_size=len(data)))
    return _cut(data, points)


# -- the decoder ----------------------------------------------------------------------


@FAST
@given(chunked(streams))
def test_chunking_invariance(chunks: List[bytes]) -> None:
    stream = b"".join(chunks)
    whole = run_decoder([stream])
    assert run_decoder(chunks) == whole
    assert run_decoder([stream[i : i + 1] for i in range(len(stream))]) == whole


@FAST
@given(streams, st.text(alphabet=no_surrogates, max_size=5))
def test_decoder_matches_reference(stream: bytes, seed: str) -> None:
    seed = seed.replace("\r", "").replace("\n", "").replace("\x00", "")
    result = run_decoder([stream], last_event_id=seed)
    events, last_event_id, retry = reference_decode(stream, seed)
    assert as_tuples(result.events) == events
    assert result.last_event_id == last_event_id
    assert result.retry == retry


@FAST
@given(chunked(texts))
def test_text_decoder_matches_decoder(chunks: List[str]) -> None:
    text = "".join(chunks)
    assert run_text_decoder(chunks) == run_decoder([text.encode("utf-8")])


@SLOW
@given(chunked(streams))
def test_text_decoder_matches_decoder_on_replaced_text(chunks: List[bytes]) -> None:
    stream = b"".join(chunks)
    text = stream.decode("utf-8", "replace")
    assert run_text_decoder([text]) == run_decoder(chunks)


# -- round trips ----------------------------------------------------------------------

line_safe = st.text(alphabet=no_surrogates.filter(lambda c: c not in "\r\n"))
id_safe = st.text(alphabet=no_surrogates.filter(lambda c: c not in "\r\n\x00"))
data_text = st.one_of(
    st.text(alphabet=no_surrogates),
    st.lists(st.sampled_from(["a", " ", ":", "\r", "\n", "\r\n", "data: x", "\x00", "é"])).map(
        "".join
    ),
)
events = st.builds(
    Event,
    data=data_text,
    event=line_safe,
    id=st.none() | id_safe,
    retry=st.none() | st.integers(0, 10**20),
)


def normalised(data: str) -> str:
    return data.replace("\r\n", "\n").replace("\r", "\n")


@FAST
@given(events)
def test_round_trip_one_event(event: Event) -> None:
    result = run_decoder([encode(event)])
    (decoded,) = result.events
    assert decoded.data == normalised(event.data)
    assert decoded.event == event.event
    assert decoded.id == (event.id if event.id is not None else "")
    assert decoded.retry == event.retry
    assert result.truncated is False
    assert result.retry == event.retry


@SLOW
@given(st.lists(events, max_size=8), st.data())
def test_round_trip_stream(batch: List[Event], data: st.DataObject) -> None:
    wire = encode_batch(batch)
    if len(wire) > 1:
        points = data.draw(st.lists(st.integers(1, len(wire) - 1), max_size=20))
        chunks = _cut(wire, points)
    else:
        chunks = [wire]
    result = run_decoder(chunks)
    assert len(result.events) == len(batch)
    last_id = ""
    last_retry: Optional[int] = None
    for sent, got in zip(batch, result.events):
        if sent.id is not None:
            last_id = sent.id  # ids persist until the stream sets another
        if sent.retry is not None:
            last_retry = sent.retry
        assert got == Event(normalised(sent.data), sent.event, last_id, sent.retry)
    assert result.last_event_id == last_id
    assert result.retry == last_retry
    assert result.truncated is False


# Batches whose events share a shape take encode_batch's whole-batch paths.
plain_events = st.builds(Event, data=data_text)
typed_events = st.builds(
    Event, data=data_text, event=line_safe.filter(lambda kind: kind != "message"), id=id_safe
)


@FAST
@given(st.one_of(st.lists(plain_events, max_size=12), st.lists(typed_events, max_size=12)))
def test_batch_of_one_shape_equals_concatenated_encode(batch: List[Event]) -> None:
    assert encode_batch(batch) == b"".join(map(encode, batch))


@SLOW
@given(st.lists(st.one_of(events, st.text(alphabet=no_surrogates, max_size=20)), max_size=8))
def test_comments_between_events_change_nothing(items: List[object]) -> None:
    wire = b"".join(
        encode(item) if isinstance(item, Event) else encode_comment(str(item)) for item in items
    )
    sent = [item for item in items if isinstance(item, Event)]
    assert run_decoder([wire]).events == run_decoder([encode_batch(sent)]).events


# -- limits ---------------------------------------------------------------------------


@FAST
@given(chunked(streams), st.integers(1, 24))
def test_limit_outcome_is_independent_of_chunking(chunks: List[bytes], limit: int) -> None:
    stream = b"".join(chunks)
    whole = feed_until_error(Decoder(max_event_size=limit), [stream])
    split = feed_until_error(Decoder(max_event_size=limit), chunks)
    by_iter = iter_until_error(Decoder(max_event_size=limit), chunks)
    assert by_iter[0] == split[0]
    assert (by_iter[1] is None) == (split[1] is None)
    assert split[0] == whole[0]
    assert (split[1] is None) == (whole[1] is None)
    if whole[1] is None:
        # Within the limit, the limit changes nothing.
        assert run_decoder([stream], max_event_size=limit) == run_decoder([stream])
