# SPDX-License-Identifier: MIT
"""The decoders against the WHATWG event stream rules, one vector per rule.

Every vector is decoded by :class:`Decoder` whole, byte by byte, at every
two-way split, at every three-way split and at random splits (all must agree),
by :class:`TextDecoder` the same ways on the UTF-8-decoded text, and by the
reference model in ``tests/reference.py``; all must give the expected result.

Spec sections quoted below:
  PARSE    https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
  INTERP   https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
  DISPATCH https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
"""

from __future__ import annotations

import sys
from typing import Dict, List, NamedTuple, Optional

import pytest

from sse_core import Decoder, Event, LocalProtocolError, TextDecoder

from .helpers import (
    DecodeResult,
    as_tuples,
    decode_all_ways,
    run_decoder,
    run_text_decoder,
    text_decode_all_ways,
)
from .reference import reference_decode

SPEC = "https://html.spec.whatwg.org/multipage/server-sent-events.html"
PARSE = SPEC + "#parsing-an-event-stream"
INTERP = SPEC + "#event-stream-interpretation"
DISPATCH = SPEC + "#dispatchMessage"

FFFD = "\ufffd"


class Case(NamedTuple):
    name: str
    stream: bytes
    events: List[Event]
    last_event_id: str
    retry: Optional[int]
    truncated: bool
    rule: str  # the spec text the vector proves, and where it is


def case(
    name: str,
    stream: bytes,
    events: List[Event],
    *,
    rule: str,
    last_event_id: str = "",
    retry: Optional[int] = None,
    truncated: bool = False,
) -> Case:
    return Case(name, stream, events, last_event_id, retry, truncated, rule)


def msg(data: str, event: str = "message", id: str = "", retry: Optional[int] = None) -> Event:
    """A decoded event: decoded events always carry the last event ID string."""
    return Event(data, event, id, retry)


UTF8 = INTERP + ': "Streams must be decoded using the UTF-8 decode algorithm."'
BOM = (
    INTERP + ': "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM),'
    ' if any."  PARSE: "stream = [ bom ] *event"'
)
LINES = (
    INTERP + ': "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single'
    " U+000A LINE FEED (LF) character not preceded by a U+000D CARRIAGE RETURN (CR)"
    " character, and a single U+000D CARRIAGE RETURN (CR) character not followed by a"
    ' U+000A LINE FEED (LF) character being the ways in which a line can end."'
)
COMMENT = INTERP + ': "If the line starts with a U+003A COLON character (:) Ignore the line."'
FIELD = (
    INTERP + ': "Collect the characters on the line before the first U+003A COLON character'
    " (:), and let field be that string. Collect the characters on the line after the"
    " first U+003A COLON character (:), and let value be that string. If value starts"
    ' with a U+0020 SPACE character, remove it from value."'
)
NO_COLON = (
    INTERP + ': "Otherwise, the string is not empty but does not contain a U+003A COLON'
    " character (:) Process the field using the steps described below, using the whole"
    ' line as the field name, and the empty string as the field value."'
)
CASE_SENSITIVE = INTERP + ': "Field names must be compared literally, with no case folding."'
EVENT = INTERP + ": \"If the field name is 'event': Set the event type buffer to field value.\""
DATA = (
    INTERP + ": \"If the field name is 'data': Append the field value to the data buffer,"
    ' then append a single U+000A LINE FEED (LF) character to the data buffer."'
)
ID = (
    INTERP + ": \"If the field name is 'id': If the field value does not contain U+0000 NULL,"
    ' then set the last event ID buffer to the field value. Otherwise, ignore the field."'
)
RETRY = (
    INTERP + ": \"If the field name is 'retry': If the field value consists of only ASCII"
    " digits, then interpret the field value as an integer in base ten, and set the event"
    " stream's reconnection time to that integer. Otherwise, ignore the field.\""
)
UNKNOWN = INTERP + ': "Otherwise: The field is ignored."'
BLANK = INTERP + ': "If the line is empty (a blank line): Dispatch the event."'
EMPTY_DATA = (
    DISPATCH + ': "If the data buffer is an empty string, set the data buffer and the event'
    ' type buffer to the empty string and return."'
)
TRAILING_LF = (
    DISPATCH + ": \"If the data buffer's last character is a U+000A LINE FEED (LF) character,"
    ' then remove the last character from the data buffer."'
)
TYPE = (
    DISPATCH + ": \"Initialize event's type attribute to 'message' ... If the event type"
    " buffer has a value other than the empty string, change the type of the newly"
    ' created event to equal the value of the event type buffer."'
)
RESET = DISPATCH + ': "Set the data buffer and the event type buffer to the empty string."'
LAST_ID = (
    DISPATCH + ': "Set the last event ID string of the event source to the value of the last'
    " event ID buffer. The buffer does not get reset, so the last event ID string of the"
    ' event source remains set to this value until the next time it is set by the server."'
)
EOF = (
    INTERP + ': "Once the end of the file is reached, any pending data must be discarded.'
    " (If the file ends in the middle of an event, before the final empty line, the"
    ' incomplete event is not dispatched.)"'
)

CASES = (
    [
        # -- UTF-8 decoding ---------------------------------------------------------
        case("utf8 multi-byte characters", "data: é€😀\n\n".encode(), [msg("é€😀")], rule=UTF8),
        case(
            "utf8 four-byte character in an id and an event type",
            "event: 😀\nid: ü\ndata: x\n\n".encode(),
            [msg("x", "😀", "ü")],
            last_event_id="ü",
            rule=UTF8,
        ),
        case(
            "utf8 lone continuation byte", b"data: a\x80b\n\n", [msg("a" + FFFD + "b")], rule=UTF8
        ),
        case("utf8 byte 0xFF", b"data: \xff\n\n", [msg(FFFD)], rule=UTF8),
        case(
            "utf8 invalid bytes in every field value",
            b"event: \xff\nid: a\x80\ndata: b\xc0\ndata: \xfe\n\nid:\xff\ndata:\xff\n\n",
            [msg("b" + FFFD + "\n" + FFFD, FFFD, "a" + FFFD), msg(FFFD, id=FFFD)],
            last_event_id=FFFD,
            rule=UTF8,
        ),
        case("utf8 overlong encoding", b"data: \xc0\xaf\n\n", [msg(FFFD * 2)], rule=UTF8),
        case("utf8 encoded surrogate", b"data: \xed\xa0\x80\n\n", [msg(FFFD * 3)], rule=UTF8),
        case(
            "utf8 code point above U+10FFFF",
            b"data: \xf4\x90\x80\x80\n\n",
            [msg(FFFD * 4)],
            rule=UTF8,
        ),
        case(
            "utf8 truncated sequence before ASCII",
            b"data: \xe2\x82A\n\n",
            [msg(FFFD + "A")],
            rule=UTF8,
        ),
        case(
            "utf8 truncated sequence before a line ending",
            b"data: \xf0\x9f\x98\ndata: \xe2\r\n\n",
            [msg(FFFD + "\n" + FFFD)],
            rule=UTF8,
        ),
        case(
            "utf8 two truncated sequences in a row",
            b"data: \xe2\x82\xe2\x82\xac\n\n",
            [msg(FFFD + "€")],
            rule=UTF8,
        ),
        case(
            "utf8 invalid byte in a field name makes an unknown field",
            b"d\xffata: x\n\ndata: y\n\n",
            [msg("y")],
            rule=UTF8,
        ),
        case(
            "utf8 UTF-16 byte order mark is two U+FFFD",
            b"\xff\xfedata: 1\n\ndata: 2\n\n",
            [msg("2")],
            rule=UTF8,
        ),
        case(
            "utf8 incomplete sequence at end of stream",
            b"data: a\n\ndata: \xe2\x82",
            [msg("a")],
            truncated=True,
            rule=UTF8 + " / " + EOF,
        ),
        # -- byte order mark ----------------------------------------------------------
        case("bom stripped", b"\xef\xbb\xbfdata: x\n\n", [msg("x")], rule=BOM),
        case("bom before a blank line", b"\xef\xbb\xbf\ndata: x\n\n", [msg("x")], rule=BOM),
        case(
            "bom second one is kept",
            b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n",
            [msg("y")],
            rule=BOM,
        ),
        case(
            "bom mid-stream is kept",
            b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n",
            [msg("a"), msg("c")],
            rule=BOM,
        ),
        case(
            "bom inside a value is kept", "data: \ufeffx\n\n".encode(), [msg("\ufeffx")], rule=BOM
        ),
        case(
            "bom truncated at stream start is U+FFFD",
            b"\xef\xbbdata: x\n\ndata: y\n\n",
            [msg("y")],
            rule=BOM + " / " + UTF8,
        ),
        case("bom only", b"\xef\xbb\xbf", [], rule=BOM),
        # -- line endings -------------------------------------------------------------
        case("lines LF", b"data: a\ndata: b\n\n", [msg("a\nb")], rule=LINES),
        case("lines CRLF", b"data: a\r\ndata: b\r\n\r\n", [msg("a\nb")], rule=LINES),
        case("lines CR", b"data: a\rdata: b\r\r", [msg("a\nb")], rule=LINES),
        case(
            "lines mixed",
            b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\n\n",
            [msg("a\nb\nc"), msg("d")],
            rule=LINES,
        ),
        case(
            "lines CR CR LF is a line end then a blank line",
            b"data: a\r\r\ndata: b\n\n",
            [msg("a"), msg("b")],
            rule=LINES,
        ),
        case(
            "lines LF CR is a line end then a blank line",
            b"data: a\n\rdata: b\n\n",
            [msg("a"), msg("b")],
            rule=LINES,
        ),
        case(
            "lines CR LF LF dispatches once",
            b"data: a\r\n\ndata: b\r\r\n",
            [msg("a"), msg("b")],
            rule=LINES,
        ),
        case(
            "lines CR at end of stream ends the line",
            b"data: a\r\r",
            [msg("a")],
            rule=LINES,
        ),
        case(
            "lines not broken by U+2028 U+2029 U+0085 VT FF FS GS RS",
            "data: a\u2028b\u2029c\u0085d\x0be\x0cf\x1cg\x1dh\x1ei\n\n".encode(),
            [msg("a\u2028b\u2029c\u0085d\x0be\x0cf\x1cg\x1dh\x1ei")],
            rule=LINES,
        ),
        case("lines NUL in data is kept", b"data: a\x00b\n\n", [msg("a\x00b")], rule=DATA),
        # -- comments -----------------------------------------------------------------
        case("comment ignored", b": hello\ndata: x\n\n", [msg("x")], rule=COMMENT),
        case("comment empty", b":\n\ndata: x\n\n", [msg("x")], rule=COMMENT),
        case(
            "comment between data lines",
            b"data: a\n:data: c\ndata: b\n\n",
            [msg("a\nb")],
            rule=COMMENT,
        ),
        case(
            "comment alone dispatches nothing", b": ping\n\n", [], rule=COMMENT + " / " + EMPTY_DATA
        ),
        case(
            "comment looks like a field",
            b":id: 1\n:retry: 5\n\ndata: x\n\n",
            [msg("x")],
            rule=COMMENT,
        ),
        # -- field / value splitting ----------------------------------------------------
        case("field split at first colon", b"data: a: b:c\n\n", [msg("a: b:c")], rule=FIELD),
        case("field no space after colon", b"data:a\n\n", [msg("a")], rule=FIELD),
        case("field one space removed", b"data:  a\n\n", [msg(" a")], rule=FIELD),
        case("field three spaces, one removed", b"data:   a\n\n", [msg("  a")], rule=FIELD),
        case("field tab not removed", b"data:\ta\n\n", [msg("\ta")], rule=FIELD),
        case("field trailing space kept", b"data: a \n\n", [msg("a ")], rule=FIELD),
        case("field value only a space", b"data: \n\n", [msg("")], rule=FIELD),
        case("field value only a colon", b"data::\n\n", [msg(":")], rule=FIELD),
        case(
            "field name with a space is unknown", b"data : x\n\n", [], rule=FIELD + " / " + UNKNOWN
        ),
        case(
            "field name after a space is unknown", b" data: x\n\n", [], rule=FIELD + " / " + UNKNOWN
        ),
        case("field without colon: data", b"data\n\n", [msg("")], rule=NO_COLON),
        case("field without colon: two data lines", b"data\ndata\n\n", [msg("\n")], rule=NO_COLON),
        case(
            "field without colon: event resets the type",
            b"event: a\nevent\ndata: x\n\n",
            [msg("x")],
            rule=NO_COLON,
        ),
        case(
            "field without colon: id resets the last event ID",
            b"id: 1\ndata: a\n\nid\ndata: b\n\n",
            [msg("a", id="1"), msg("b")],
            rule=NO_COLON,
        ),
        case(
            "field without colon: retry is ignored",
            b"retry: 5\n\nretry\n\n",
            [],
            retry=5,
            rule=NO_COLON + " / " + RETRY,
        ),
        case(
            "field names are case-sensitive",
            b"Data: a\nDATA: b\nEvent: e\nID: 1\nRetry: 5\ndata: x\n\n",
            [msg("x")],
            rule=CASE_SENSITIVE,
        ),
        case("field name case: Data only", b"Data: x\n\n", [], rule=CASE_SENSITIVE),
        case(
            "field unknown ignored",
            b"foo: bar\ndata2: y\ndat: z\ndata: x\nevent2: e\nid2: 9\n\n",
            [msg("x")],
            rule=UNKNOWN,
        ),
        case("field unknown alone dispatches nothing", b"foo: bar\n\n", [], rule=UNKNOWN),
        # -- event ------------------------------------------------------------------------
        case("event sets the type", b"event: add\ndata: 1\n\n", [msg("1", "add")], rule=EVENT),
        case(
            "event last one wins", b"event: a\nevent: b\ndata: x\n\n", [msg("x", "b")], rule=EVENT
        ),
        case("event after data", b"data: x\nevent: e\n\n", [msg("x", "e")], rule=EVENT),
        case("event empty value is message", b"event:\ndata: x\n\n", [msg("x")], rule=TYPE),
        case(
            "event type keeps spaces", b"event:  a b \ndata: x\n\n", [msg("x", " a b ")], rule=EVENT
        ),
        case(
            "event type resets after dispatch",
            b"event: add\ndata: 1\n\ndata: 2\n\n",
            [msg("1", "add"), msg("2")],
            rule=RESET,
        ),
        case(
            "event type resets when nothing is dispatched",
            b"event: add\n\ndata: 2\n\n",
            [msg("2")],
            rule=EMPTY_DATA,
        ),
        case("event type named message", b"event: message\ndata: x\n\n", [msg("x")], rule=TYPE),
        case(
            "event type set again by the same line",
            b"event: add\ndata: 1\n\nevent: add\ndata: 2\n\ndata: 3\n\nevent:add\ndata: 4\n\n",
            [msg("1", "add"), msg("2", "add"), msg("3"), msg("4", "add")],
            rule=RESET,
        ),
        case(
            "event line not quite an event field",
            b"events: a\ndata: 1\n\nevent a\ndata: 2\n\neVent: a\ndata: 3\n\n",
            [msg("1"), msg("2"), msg("3")],
            rule=UNKNOWN,
        ),
        case(
            "event type with NUL is kept",
            b"event: a\x00\ndata: x\n\n",
            [msg("x", "a\x00")],
            rule=EVENT,
        ),
        # -- data -------------------------------------------------------------------------
        case(
            "data lines joined with LF",
            b"data: a\ndata: b\ndata: c\n\n",
            [msg("a\nb\nc")],
            rule=DATA,
        ),
        case(
            "data empty lines",
            b"data\ndata\ndata\n\n",
            [msg("\n\n")],
            rule=DATA + " / " + TRAILING_LF,
        ),
        case(
            "data only one trailing LF removed",
            b"data: a\ndata:\n\n",
            [msg("a\n")],
            rule=TRAILING_LF,
        ),
        case("data leading empty line kept", b"data:\ndata: a\n\n", [msg("\na")], rule=DATA),
        case(
            "data JSON with colons and spaces",
            b'data: {"a": 1, "b": "x: y"}\n\n',
            [msg('{"a": 1, "b": "x: y"}')],
            rule=FIELD,
        ),
        # -- id -----------------------------------------------------------------------------
        case(
            "id sets the last event ID",
            b"id: 1\ndata: x\n\n",
            [msg("x", id="1")],
            last_event_id="1",
            rule=ID,
        ),
        case(
            "id persists across events",
            b"id: 1\ndata: a\n\ndata: b\n\n",
            [msg("a", id="1"), msg("b", id="1")],
            last_event_id="1",
            rule=LAST_ID,
        ),
        case(
            "id after data in the same block",
            b"data: x\nid: 3\n\n",
            [msg("x", id="3")],
            last_event_id="3",
            rule=ID,
        ),
        case(
            "id with NUL is ignored",
            b"id: 1\n\nid: a\x00b\ndata: x\n\n",
            [msg("x", id="1")],
            last_event_id="1",
            rule=ID,
        ),
        case(
            "id with NUL and no space is ignored",
            b"id:1\n\nid:a\x00b\ndata: x\n\n",
            [msg("x", id="1")],
            last_event_id="1",
            rule=ID,
        ),
        case(
            "id with no space after a data line",
            b"data: x\nid:5\n\n",
            [msg("x", id="5")],
            last_event_id="5",
            rule=ID,
        ),
        case(
            "id NUL alone is ignored",
            b"id: 7\ndata: a\n\nid: \x00\ndata: b\n\n",
            [msg("a", id="7"), msg("b", id="7")],
            last_event_id="7",
            rule=ID,
        ),
        case(
            "id empty value resets",
            b"id: 1\ndata: a\n\nid:\ndata: b\n\n",
            [msg("a", id="1"), msg("b", id="")],
            rule=ID,
        ),
        case(
            "id space value resets",
            b"id: 1\ndata: a\n\nid: \ndata: b\n\n",
            [msg("a", id="1"), msg("b", id="")],
            rule=ID,
        ),
        case(
            "id keeps inner spaces",
            b"id:  7 \ndata: x\n\n",
            [msg("x", id=" 7 ")],
            last_event_id=" 7 ",
            rule=ID,
        ),
        case(
            "id last one in a block wins",
            b"id: 1\nid: 2\ndata: x\n\n",
            [msg("x", id="2")],
            last_event_id="2",
            rule=ID,
        ),
        case(
            "id updated by a dispatch without data",
            b"id: 7\n\n",
            [],
            last_event_id="7",
            rule=LAST_ID + " / " + EMPTY_DATA,
        ),
        case(
            "id applies to later events after a dispatch without data",
            b"id: 7\n\ndata: x\n\n",
            [msg("x", id="7")],
            last_event_id="7",
            rule=LAST_ID,
        ),
        case(
            "id of an incomplete event is never set",
            b"id: 1\ndata: a\n\nid: 2\ndata: b\n",
            [msg("a", id="1")],
            last_event_id="1",
            truncated=True,
            rule=LAST_ID + " / " + EOF,
        ),
        # -- retry ------------------------------------------------------------------------
        case("retry sets the reconnection time", b"retry: 1000\n\n", [], retry=1000, rule=RETRY),
        case(
            "retry reported on its event",
            b"retry: 5\ndata: a\n\ndata: b\n\n",
            [msg("a", retry=5), msg("b")],
            retry=5,
            rule=RETRY,
        ),
        case(
            "retry of a block without data is not on the next event",
            b"retry: 5\n\ndata: b\n\n",
            [msg("b")],
            retry=5,
            rule=RETRY,
        ),
        case("retry zero", b"retry: 0\n\n", [], retry=0, rule=RETRY),
        case("retry leading zeros", b"retry: 0007\n\n", [], retry=7, rule=RETRY),
        case("retry no space", b"retry:42\n\n", [], retry=42, rule=RETRY),
        case(
            "retry huge value",
            b"retry: 123456789012345678901234567890\n\n",
            [],
            retry=123456789012345678901234567890,
            rule=RETRY,
        ),
        case("retry later one wins", b"retry: 1\nretry: 2\n\n", [], retry=2, rule=RETRY),
        case(
            "retry invalid keeps the previous value",
            b"retry: 5\n\nretry: x\n\n",
            [],
            retry=5,
            rule=RETRY,
        ),
        case(
            "retry takes effect without a dispatch",
            b"retry: 7\ndata: x",
            [],
            retry=7,
            truncated=True,
            rule=RETRY + " / " + EOF,
        ),
        case(
            "retry takes effect at its line end",
            b"retry: 7\n",
            [],
            retry=7,
            truncated=True,
            rule=RETRY,
        ),
        case("retry unterminated line is not processed", b"retry: 7", [], truncated=True, rule=EOF),
        case(
            "retry in an incomplete event is still seen",
            b"data: a\n\nretry: 9\ndata: b\n",
            [msg("a")],
            retry=9,
            truncated=True,
            rule=RETRY + " / " + EOF,
        ),
    ]
    + [
        case(f"retry rejects {value!r}", b"retry: " + value.encode() + b"\n\n", [], rule=RETRY)
        for value in [
            "1.5",
            " 1",  # "retry:  1": one space is stripped, the second is not a digit
            "-1",
            "+1",
            "1e3",
            "0x10",
            "1 ",
            "12a",
            "",
            "\u0661\u0662",  # ARABIC-INDIC DIGITS ONE, TWO
            "\u00b2",  # SUPERSCRIPT TWO
            "\uff11",  # FULLWIDTH DIGIT ONE
            "\u0967",  # DEVANAGARI DIGIT ONE
            "1_000",
            "\t1",
        ]
    ]
    + [
        # -- dispatch -----------------------------------------------------------------------
        case("dispatch empty stream", b"", [], rule=EOF),
        case("dispatch only blank lines", b"\n\n\r\n\r\r", [], rule=EMPTY_DATA),
        case("dispatch event only dispatches nothing", b"event: x\n\n", [], rule=EMPTY_DATA),
        case(
            "dispatch several events in order",
            b"data: 1\n\ndata: 2\n\n\n\ndata: 3\n\n",
            [msg("1"), msg("2"), msg("3")],
            rule=BLANK,
        ),
        case(
            "dispatch event then comment heartbeat",
            b"data: 1\n\n: ping\n\n: ping\n",
            [msg("1")],
            rule=COMMENT,
        ),
        case(
            "eof incomplete event discarded",
            b"data: a\n\ndata: b\n",
            [msg("a")],
            truncated=True,
            rule=EOF,
        ),
        case(
            "eof incomplete line discarded",
            b"data: a\n\ndata: b",
            [msg("a")],
            truncated=True,
            rule=EOF,
        ),
        case("eof data without blank line", b"data: a\n", [], truncated=True, rule=EOF),
        case("eof partial field name", b"dat", [], truncated=True, rule=EOF),
        case("eof event field pending", b"event: x\n", [], truncated=True, rule=EOF),
        case("eof CR ended event is complete", b"data: a\r\r", [msg("a")], rule=EOF),
        case("eof clean end", b"data: a\n\n", [msg("a")], rule=EOF),
        case("eof clean end with CRLF", b"data: a\r\n\r\n", [msg("a")], rule=EOF),
    ]
)


@pytest.mark.parametrize("vector", CASES, ids=[c.name for c in CASES])
def test_decoder_follows_spec(vector: Case) -> None:
    expected = DecodeResult(vector.events, vector.last_event_id, vector.retry, vector.truncated)
    assert decode_all_ways(vector.stream) == expected, vector.rule


@pytest.mark.parametrize("vector", CASES, ids=[c.name for c in CASES])
def test_text_decoder_follows_spec(vector: Case) -> None:
    expected = DecodeResult(vector.events, vector.last_event_id, vector.retry, vector.truncated)
    text = vector.stream.decode("utf-8", "replace")
    assert text_decode_all_ways(text) == expected, vector.rule


@pytest.mark.parametrize("vector", CASES, ids=[c.name for c in CASES])
def test_reference_model_agrees_with_vector(vector: Case) -> None:
    # Checks the oracle itself against the hand-written expectations.
    events, last_event_id, retry = reference_decode(vector.stream)
    assert events == as_tuples(vector.events), vector.rule
    assert (last_event_id, retry) == (vector.last_event_id, vector.retry), vector.rule


# -- UTF-8 and BOM across chunks ------------------------------------------------------


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: \xe2", b"\x82\xac\n\n"],
        [b"data: \xe2\x82", b"\xac\n\n"],
        [b"data: \xf0", b"\x9f", b"\x98", b"\x80\n\n"],
        [b"data: \xf0\x9f\x98", b"", b"\x80\n", b"\n"],
    ],
)
def test_multibyte_character_split_across_chunks(chunks: List[bytes]) -> None:
    # UTF8: a character is decoded from its bytes however they arrive.
    assert run_decoder(chunks).events == [msg("€" if b"\xe2" in chunks[0] else "😀")]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"\xef", b"\xbb\xbfdata: x\n\n"],
        [b"\xef\xbb", b"\xbfdata: x\n\n"],
        [b"\xef", b"\xbb", b"\xbf", b"data: x\n\n"],
        [b"", b"\xef\xbb\xbf", b"", b"data: x\n\n"],
    ],
)
def test_bom_split_across_chunks(chunks: List[bytes]) -> None:
    assert run_decoder(chunks).events == [msg("x")], BOM


def test_bom_after_first_chunk_is_kept() -> None:
    # Only the very start of the stream may hold the byte order mark.
    assert run_decoder([b"data: a\n\n", b"\xef\xbb\xbfdata: b\n\n"]).events == [msg("a")], BOM


def test_text_decoder_strips_one_bom() -> None:
    assert run_text_decoder(["\ufeff", "data: x\n\n"]).events == [msg("x")]
    assert run_text_decoder(["\ufeff\ufeffdata: x\n\n"]).events == []


def test_cr_at_chunk_end_then_lf() -> None:
    # LINES: CR at the end of one chunk and LF at the start of the next are one
    # line ending, so this is one event, not an event and an empty dispatch.
    result = run_decoder([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert result.events == [msg("a\nb")]
    assert result.truncated is False


def test_cr_at_chunk_end_then_cr() -> None:
    assert run_decoder([b"data: a\r", b"\r", b"data: b\r", b"\r\n"]).events == [
        msg("a"),
        msg("b"),
    ]


# -- the decoder's own API -------------------------------------------------------------


def test_last_event_id_seed() -> None:
    decoder = Decoder(last_event_id="41")
    assert decoder.last_event_id == "41"
    assert decoder.feed(b"data: a\n\nid: 42\ndata: b\n\nid\ndata: c\n\n") == [
        msg("a", id="41"),
        msg("b", id="42"),
        msg("c", id=""),
    ]
    assert decoder.last_event_id == ""


def test_last_event_id_seed_all_ways() -> None:
    result = decode_all_ways(b"data: a\n\nid: \x00\ndata: b\n\n", last_event_id="seed")
    assert result == DecodeResult([msg("a", id="seed"), msg("b", id="seed")], "seed", None, False)


def test_last_event_id_seed_kept_for_incomplete_event() -> None:
    result = run_decoder([b"id: 2\ndata: x\n"], last_event_id="1")
    assert (result.events, result.last_event_id, result.truncated) == ([], "1", True)


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
def test_last_event_id_seed_rejects_what_a_stream_cannot_set(bad: str) -> None:
    with pytest.raises(ValueError):
        Decoder(last_event_id=bad)
    with pytest.raises(ValueError):
        TextDecoder(last_event_id=bad)


def test_last_event_id_seed_must_be_str() -> None:
    with pytest.raises((TypeError, ValueError)):
        Decoder(last_event_id=b"1")  # type: ignore[arg-type]


def test_initial_state() -> None:
    decoder = Decoder()
    assert (decoder.last_event_id, decoder.retry, decoder.truncated, decoder.closed) == (
        "",
        None,
        False,
        False,
    )


def test_last_event_id_updates_as_events_are_dispatched() -> None:
    decoder = Decoder()
    decoder.feed(b"id: 1\ndata: a\n")
    assert decoder.last_event_id == ""  # not dispatched yet
    decoder.feed(b"\n")
    assert decoder.last_event_id == "1"


def test_retry_updates_as_soon_as_its_line_ends() -> None:
    decoder = Decoder()
    decoder.feed(b"retry: 12")
    assert decoder.retry is None
    decoder.feed(b"3")
    assert decoder.retry is None
    decoder.feed(b"\r")
    assert decoder.retry == 123


def test_empty_feeds_do_nothing() -> None:
    decoder = Decoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: x\n") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == [msg("x")]
    assert decoder.feed(b"") == []
    assert decoder.close() == []
    assert decoder.truncated is False


def test_empty_feed_after_cr_keeps_crlf_pairing() -> None:
    assert run_decoder([b"data: a\r", b"", b"\n", b"", b"\n"]).events == [msg("a")]


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_decoder_accepts_bytes_like(kind: type) -> None:
    decoder = Decoder()
    assert decoder.feed(kind(b"data: \xe2\x82")) == []
    assert decoder.feed(kind(b"\xac\n\n")) == [msg("€")]


def test_decoder_refuses_str() -> None:
    with pytest.raises(TypeError):
        Decoder().feed("data: x\n\n")  # type: ignore[arg-type]


def test_text_decoder_refuses_bytes() -> None:
    with pytest.raises(TypeError):
        TextDecoder().feed(b"data: x\n\n")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [Decoder, TextDecoder])
def test_feed_after_close_raises(cls: type) -> None:
    decoder = cls()
    decoder.close()
    assert decoder.closed
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"" if cls is Decoder else "")
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"data: x\n\n" if cls is Decoder else "data: x\n\n")


def test_close_is_idempotent() -> None:
    decoder = Decoder()
    decoder.feed(b"data: a\n\ndata: b")
    assert decoder.close() == []
    assert decoder.truncated is True
    assert decoder.close() == []
    assert decoder.truncated is True
    assert decoder.closed


def test_close_after_clean_end_is_not_truncated() -> None:
    decoder = Decoder()
    decoder.feed(b"data: a\n\n")
    decoder.close()
    decoder.close()
    assert decoder.truncated is False


def test_truncated_only_after_close() -> None:
    decoder = Decoder()
    decoder.feed(b"data: a")
    assert decoder.truncated is False
    decoder.close()
    assert decoder.truncated is True


def test_comment_heartbeat_at_end_is_not_truncation() -> None:
    # A stream that ends after a heartbeat comment was not cut inside an event.
    assert run_decoder([b"data: a\n\n: keep-alive\n"]).truncated is False


def test_events_are_returned_by_the_feed_that_completes_them() -> None:
    decoder = Decoder()
    assert decoder.feed(b"data: a\n\ndata: b\n") == [msg("a")]
    assert decoder.feed(b"\ndata: c\n\ndata") == [msg("b"), msg("c")]
    assert decoder.feed(b": d\n\n") == [msg("d")]


def test_decoders_are_independent() -> None:
    first, second = Decoder(), Decoder()
    first.feed(b"id: 1\nretry: 5\ndata: a")
    assert second.feed(b"data: b\n\n") == [msg("b")]
    assert (second.last_event_id, second.retry) == ("", None)


# -- long lines across chunks ---------------------------------------------------------

# Lines this long reach iter_events' path for a long line ended by a later chunk
# (sse_core._decoder._LONG_LINE is 512): it ends the line where it was kept,
# rather than copying it into the chunk.  Every line kind, ending and position.
LONG = "".join(chr(0x61 + i % 26) for i in range(600)).encode()
LONG_STREAMS = [
    b"data: " + LONG + b"\n\n",
    b"data: " + LONG + b"\r\n\r\n",
    b"data: " + LONG + b"\r\rdata: x\r\r",
    b"data:" + LONG + b"\n\n",  # no space: the general rules
    b": " + LONG + b"\ndata: x\n\n",
    b"id: " + LONG + b"\ndata: x\n\n",
    b"event: " + LONG + b"\r\ndata: x\r\n\r\n",
    b"data: a\ndata: " + LONG + b"\n\n",  # a second data line
    b"id: 7\ndata: " + LONG + b"\n\ndata: b\n\n",
    b"data: " + LONG + b"\ndata: " + LONG[::-1] + b"\n\n",  # two long data lines
    b"data: " + "\u00e9\U0001f600".encode() * 100 + b"\n\n",  # multi-byte characters
    b"data: " + LONG + b"\n\ndata: " + LONG + b"\r\n\r\ndata: c\r\rdata: " + LONG,  # cut short
    b"retry: " + b"0" * 600 + b"5\ndata: x\n\n",
]


@pytest.mark.parametrize("stream", LONG_STREAMS, ids=range(len(LONG_STREAMS)))
def test_long_lines_across_chunks(stream: bytes) -> None:
    events, last_event_id, retry = reference_decode(stream)
    result = decode_all_ways(stream, random_count=40)
    assert as_tuples(result.events) == events
    assert (result.last_event_id, result.retry) == (last_event_id, retry)
    # By 1 to 40 bytes at a time, and a long line ending in a larger chunk.
    for size in (1, 7, 40, 700):
        assert run_decoder([stream[i : i + size] for i in range(0, len(stream), size)]) == result


def test_long_line_ended_by_a_large_chunk() -> None:
    # A chunk over 8 KiB is joined to the long line instead (both ways agree).
    stream = b"data: " + LONG + b"\n\n" + b"data: z\n\n" * 1000
    events = as_tuples(run_decoder([stream]).events)
    assert events == reference_decode(stream)[0]
    assert as_tuples(run_decoder([stream[:550], stream[550:]]).events) == events
    assert as_tuples(run_decoder([stream[:550], stream[550:8000], stream[8000:]]).events) == events


def test_more_event_types_than_the_decoder_remembers() -> None:
    # The decoder remembers the type of a few short "event: " lines; the rest
    # are decoded each time, with the same result.
    kinds = [f"type{n}" for n in range(40)] + ["t" * 100]
    stream = b"".join(f"event: {kind}\ndata: {kind}\n\n".encode() for kind in kinds * 2)
    result = decode_all_ways(stream, random_count=3)
    assert result.events == [msg(kind, kind) for kind in kinds * 2]
    assert as_tuples(result.events) == reference_decode(stream)[0]
    from sse_core._decoder import _event_field

    remembered: Dict[bytes, str] = {}
    for kind in kinds * 2:
        assert _event_field(f"event: {kind}".encode(), remembered) == kind
    assert len(remembered) == 32  # bounded, whatever the stream sends


def test_removeprefix_tells_lines_apart_by_identity() -> None:
    # The decoder's hot loop relies on this, on every interpreter it runs on.
    from sse_core._decoder import _keeps_identity, _removeprefix, _removeprefix_38

    assert _keeps_identity(_removeprefix_38)
    assert not _keeps_identity(lambda line, prefix: bytes(bytearray(line)))
    if sys.version_info >= (3, 9):
        assert _removeprefix is bytes.removeprefix  # CPython and PyPy keep identity
    for function in (_removeprefix, _removeprefix_38):
        line = bytes(bytearray(b"data: x"))
        assert function(line, b"data: ") == b"x"
        assert function(line, b"id: ") is line
        assert function(line, b"data: x!") is line
