# SPDX-License-Identifier: MIT
"""The encoder: exact output, line splitting, comments, errors and injection safety."""

from __future__ import annotations

import copy
import re
from typing import Any, List

import pytest

from sse_core import Decoder, Event, LocalProtocolError, encode, encode_batch, encode_comment
from sse_core._events import MAX_RETRY

from .helpers import decode_all_ways, run_decoder


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (Event("x"), b"data: x\n\n"),
        (Event("x", "update", "7", 3000), b"event: update\nid: 7\nretry: 3000\ndata: x\n\n"),
        (Event("x", "update"), b"event: update\ndata: x\n\n"),
        (Event("x", id="7"), b"id: 7\ndata: x\n\n"),
        (Event("x", retry=5), b"retry: 5\ndata: x\n\n"),
        (Event("", retry=0), b"retry: 0\ndata: \n\n"),
        (Event(""), b"data: \n\n"),
        (Event("x", id=""), b"id: \ndata: x\n\n"),
        (Event("x", "message"), b"data: x\n\n"),
        (Event("x", ""), b"data: x\n\n"),
        # multi-line data: one data line per line, whatever the line ending
        (Event("a\nb"), b"data: a\ndata: b\n\n"),
        (Event("a\r\nb\rc\nd"), b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
        (Event("a\n"), b"data: a\ndata: \n\n"),
        (Event("\n"), b"data: \ndata: \n\n"),
        (Event("\r\n\r\n"), b"data: \ndata: \ndata: \n\n"),
        (Event("\r\r"), b"data: \ndata: \ndata: \n\n"),
        (Event("\n\r"), b"data: \ndata: \ndata: \n\n"),
        # values that start with a space or a colon keep them
        (Event(" x"), b"data:  x\n\n"),
        (Event(":x"), b"data: :x\n\n"),
        (Event("a\n b"), b"data: a\ndata:  b\n\n"),
        (Event("x", " e", " 1"), b"event:  e\nid:  1\ndata: x\n\n"),
        # non-ASCII, NUL, and characters that are not SSE line breaks
        (Event("é😀", "ü", "ß"), "event: ü\nid: ß\ndata: é😀\n\n".encode()),
        (Event("a\x00b"), b"data: a\x00b\n\n"),
        (Event("a\u2028b\x85c\x0bd\x0ce"), "data: a\u2028b\x85c\x0bd\x0ce\n\n".encode()),
    ],
    ids=repr,
)
def test_exact_bytes(event: Event, wire: bytes) -> None:
    assert encode(event) == wire
    assert encode_batch([event]) == wire


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("ping", b": ping\n"),
        ("", b":\n"),
        (" x", b":  x\n"),
        ("a\nb", b": a\n: b\n"),
        ("a\r\nb\rc\nd", b": a\n: b\n: c\n: d\n"),
        ("\n", b": \n: \n"),
        ("\r", b": \n: \n"),
        ("x\r\n", b": x\n: \n"),
        ("data: evil", b": data: evil\n"),
        ("é", ": é\n".encode()),
    ],
)
def test_comment_bytes(text: str, wire: bytes) -> None:
    assert encode_comment(text) == wire


def test_comment_default_is_empty() -> None:
    assert encode_comment() == b":\n"


def test_comment_type_error() -> None:
    with pytest.raises(TypeError):
        encode_comment(b"x")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "ping", "a\nb", "\r\n\r\n", "\rdata: x\r\r", "id: 9\n\n"])
def test_comments_decode_to_nothing(text: str) -> None:
    wire = encode_comment(text) + b"data: after\n\n"
    result = decode_all_ways(wire)
    assert result.events == [Event("after", id="")]
    assert (result.last_event_id, result.retry) == ("", None)


@pytest.mark.parametrize(
    "event",
    [
        Event("\ud800"),
        Event("a\udfffb"),
        Event("x", "\ud83d"),
        Event("x", id="\udc00"),
    ],
    ids=repr,
)
def test_lone_surrogate_raises(event: Event) -> None:
    with pytest.raises(LocalProtocolError):
        encode(event)
    with pytest.raises(LocalProtocolError):
        encode_batch([Event("ok"), event])


def test_lone_surrogate_in_comment_raises() -> None:
    with pytest.raises(LocalProtocolError):
        encode_comment("\ud800")


class SubEvent(Event):
    __slots__ = ()


@pytest.mark.parametrize(
    "thing",
    [("x", "message", None, None), "data: x", b"data: x\n\n", None, SubEvent("x")],
    ids=repr,
)
def test_encode_refuses_non_events(thing: Any) -> None:
    with pytest.raises(TypeError):
        encode(thing)
    with pytest.raises(TypeError):
        encode_batch([Event("ok"), thing])


MIXED = [
    Event("plain"),
    Event(""),
    Event("multi\nline\r\ndata\r"),
    Event("x", "update"),
    Event("x", id="1"),
    Event("x", id=""),
    Event("x", retry=0),
    Event("x", "e", "2", 300),
    Event(" spaced", " e"),
    Event("é😀\x00"),
    Event("plain again"),
]


def test_encode_batch_equals_concatenated_encode() -> None:
    assert encode_batch(MIXED) == b"".join(encode(e) for e in MIXED)
    for i in range(len(MIXED)):
        part = MIXED[i:] + MIXED[:i]
        assert encode_batch(part) == b"".join(map(encode, part))


#: Batches of one shape each, for encode_batch's whole-batch paths.
SHAPED = {
    "one-line data": [Event("a"), Event(""), Event("é😀"), Event("b c")],
    "multi-line data": [Event("a"), Event("b\nc"), Event("d\r\ne\rf")],
    "typed": [Event("a", "t", "1"), Event("b\nc", "é", ""), Event("", "u", "3")],
    "typed, CR in data": [Event("a", "t", "1"), Event("b\rc", "t", "2")],
    "typed, one retry": [Event("a", "t", "1"), Event("b", "t", "2", 5)],
    "typed, one without id": [Event("a", "t", "1"), Event("b", "t")],
    "typed, one message": [Event("a", "t", "1"), Event("b", id="2")],
}


@pytest.mark.parametrize("batch", list(SHAPED.values()), ids=list(SHAPED))
def test_encode_batch_of_one_shape_equals_concatenated_encode(batch: List[Event]) -> None:
    assert encode_batch(batch) == b"".join(map(encode, batch))
    assert encode_batch(reversed(batch)) == b"".join(map(encode, reversed(batch)))


@pytest.mark.parametrize(
    "fields",
    [("x", "a\nb", "1", None), ("x", "t", "1\n\ndata: evil", None), ("x", "t", "1\0", None)],
    ids=repr,
)
def test_typed_batch_rechecks_events_built_around_the_constructor(fields: Any) -> None:
    event = tuple.__new__(Event, fields)
    with pytest.raises(LocalProtocolError):
        encode_batch([Event("ok", "t", "0"), event])


@pytest.mark.parametrize("event", [Event("\ud800"), Event("\ud800", "t", "1")], ids=repr)
def test_lone_surrogate_in_a_batch_of_one_shape_raises(event: Event) -> None:
    twin = Event("ok", event.event, event.id)
    with pytest.raises(LocalProtocolError):
        encode_batch([twin, event])


def test_encode_batch_takes_any_iterable() -> None:
    assert encode_batch(iter(MIXED)) == encode_batch(MIXED)
    assert encode_batch(e for e in MIXED) == encode_batch(tuple(MIXED))
    assert encode_batch([]) == b""


def test_encode_batch_decodes_back() -> None:
    result = run_decoder([encode_batch(MIXED)])
    assert [e.data for e in result.events] == [
        e.data.replace("\r\n", "\n").replace("\r", "\n") for e in MIXED
    ]
    assert [e.event for e in result.events] == [e.event for e in MIXED]
    assert [e.id for e in result.events] == ["", "", "", "", "1", "", "", "2", "2", "2", "2"]
    assert [e.retry for e in result.events] == [e.retry for e in MIXED]
    assert result.truncated is False


# -- injection ----------------------------------------------------------------------

LINE_BREAKS = ["\n", "\r", "\r\n", "\n\r", "\r\r", "\n\n", "\r\n\r\n"]
PAYLOADS = [
    "{0}",
    "a{0}b",
    "{0}data: evil{0}{0}",
    "x{0}{0}event: evil{0}data: evil{0}{0}",
    "x{0}id: 666{0}retry: 1{0}",
    "{0}{0}{0}",
    ": {0}data: evil",
]


@pytest.mark.parametrize("field", ["event", "id"])
@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("brk", LINE_BREAKS, ids=repr)
def test_line_breaks_in_event_or_id_are_refused(field: str, payload: str, brk: str) -> None:
    with pytest.raises(LocalProtocolError):
        if field == "event":
            Event("x", event=payload.format(brk))
        else:
            Event("x", id=payload.format(brk))


def test_other_ways_to_change_an_event_are_refused() -> None:
    event = Event("x")
    with pytest.raises(AttributeError):
        event.event = "a\nb"  # type: ignore[misc]
    replace = getattr(copy, "replace", None)
    if replace is not None:  # Python 3.13+
        with pytest.raises((TypeError, LocalProtocolError)):
            replace(event, event="a\nb")


FIELD_LINE = re.compile(rb"(data|event|id|retry)?:")


def wire_lines(wire: bytes) -> List[bytes]:
    lines = re.split(rb"\r\n|\r|\n", wire)
    assert lines[-1] == b""  # output always ends with a line ending
    return lines[:-1]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("brk", LINE_BREAKS, ids=repr)
def test_line_breaks_in_data_never_make_another_event(payload: str, brk: str) -> None:
    data = payload.format(brk)
    event = Event(data, "kind", "5", 100)
    wire = encode(event)
    # Every line is a field line the encoder meant to write, and only the last
    # line is blank, so exactly one event is dispatched, at the end.
    lines = wire_lines(wire)
    assert lines[-1] == b""
    assert all(FIELD_LINE.match(line) for line in lines[:-1]), lines
    assert sum(1 for line in lines if line.startswith(b"event:")) == 1
    assert sum(1 for line in lines if line.startswith(b"id:")) == 1
    assert sum(1 for line in lines if line.startswith(b"retry:")) == 1
    result = decode_all_ways(wire + b"data: next\n\n", random_count=5, three_way_max=0)
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    assert result.events == [Event(expected, "kind", "5", 100), Event("next", id="5")]
    assert (result.last_event_id, result.retry) == ("5", 100)


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("brk", LINE_BREAKS, ids=repr)
def test_line_breaks_in_comments_never_make_a_field(payload: str, brk: str) -> None:
    wire = encode_comment(payload.format(brk))
    assert all(line.startswith(b":") for line in wire_lines(wire))
    decoder = Decoder()
    assert decoder.feed(wire + b"\n") == []
    assert (decoder.last_event_id, decoder.retry) == ("", None)


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x00"])
def test_unicode_separators_stay_in_their_line(char: str) -> None:
    # They are not line endings in an event stream, so they pass through.
    event = Event(f"a{char}b", f"e{char}", f"i{char}" if char != "\x00" else "i")
    wire = encode(event)
    assert len(wire_lines(wire)) == 4
    assert run_decoder([wire]).events == [Event(event.data, event.event, event.id)]


@pytest.mark.parametrize(
    "fields",
    [
        ("x", "a\ndata: evil", None, None),
        ("x", "a\rb", None, None),
        ("x", "message", "1\n\ndata: evil", None),
        ("x", "message", "1\0", None),
    ],
)
def test_encode_rechecks_events_built_around_the_constructor(fields: Any) -> None:
    # tuple.__new__ skips validation (the decoder's private fast path); the
    # encoder still refuses to let such a value inject a line.
    event = tuple.__new__(Event, fields)
    with pytest.raises(LocalProtocolError):
        encode(event)
    with pytest.raises(LocalProtocolError):
        encode_batch([event])


# -- what the encoder writes, it validates, whatever built the event ---------------------

#: Fields an Event() would refuse, each in an event built around the
#: constructor with tuple.__new__: every field, by type and by value.
UNCHECKED_FIELDS = [
    ("x", "message", None, "1\ndata: injected\n\n"),  # retry as text: an injection
    ("x", "t", "1", "1\ndata: injected\n\n"),
    ("x", "message", None, -1),
    ("x", "message", None, MAX_RETRY + 1),
    ("x", "message", None, True),
    ("x", "message", None, 1.5),
    (b"x\n\ndata: injected", "message", None, None),
    (1, "message", None, None),
    ("x", None, None, None),
    ("x", b"t", "1", None),
    ("x", "t", 1, None),
    ("x", "t", b"1\n", None),
    ("x", "a\nb", "1", None),
    ("x", "t", "1\n\ndata: evil", None),
    ("x", "t", "1\0", None),
    ("x", "message", "1\r", None),
]


class _Liar(str):
    """A str whose methods hide its line breaks."""

    def replace(self, *args: Any) -> str:
        return self

    def __contains__(self, item: object) -> bool:
        return False


UNCHECKED_FIELDS += [
    (_Liar("a\n\ndata: injected"), "message", None, None),
    ("x", _Liar("a\n\ndata: injected"), "1", None),
    ("x", "t", _Liar("1\n\ndata: injected"), None),
]


@pytest.mark.parametrize("fields", UNCHECKED_FIELDS, ids=lambda f: repr(f[:3])[:60])
def test_every_field_is_validated_whatever_built_the_event(fields: Any) -> None:
    from sse_core._http import encode_item  # what both adapters write events with

    event = tuple.__new__(Event, fields)
    ok = Event("ok", "t", "0")
    for write in (
        encode,
        encode_item,
        lambda e: encode_batch([e]),
        lambda e: encode_batch([ok, e]),
        lambda e: encode_batch([Event("ok"), e]),
        lambda e: encode_batch([e, Event("ok", retry=1)]),
    ):
        with pytest.raises((TypeError, LocalProtocolError), match="refusing to encode"):
            write(event)
