# SPDX-License-Identifier: MIT
"""Fuzz target: encode, then decode, gives the events back.

Input layout: the input is split on ``0xFF`` (a byte that never occurs in
UTF-8) into fields, taken four at a time as one event's data, event type, id
and retry; text fields are decoded as UTF-8 with replacement, so they hold any
code point but a lone surrogate.  An empty id field means ``id=None``, else
the id is the field less its first byte; an empty retry field means
``retry=None``, else its first eight bytes as a big-endian integer.  The
first field, before the events, is a comment.  For every input:

* ``Event(...)`` either builds the event or raises ``LocalProtocolError``, and
  only for a line break in the type or id or a NUL in the id (the values are
  then cleaned of those and built again);
* ``decode(encode(e))`` is ``[e]`` as documented: data with CRLF and CR
  turned into LF, ``id=None`` read back as ``""`` (no id: the last event ID,
  still empty), ``event=""`` as ``"message"``, and the same retry;
* ``encode_batch(events)`` equals the concatenated ``encode`` outputs, and
  decodes, at any chunking, to the events with the last event ID carried over
  from earlier events as a browser does;
* a comment from ``encode_comment`` between events changes nothing.

Run: ``bash fuzz/run.sh 60`` (see fuzz/README.md).
"""

from __future__ import annotations

from typing import List, Optional

import _harness  # first: it puts the project root on sys.path

from sse_core import (
    Decoder,
    Event,
    LocalProtocolError,
    encode,
    encode_batch,
    encode_comment,
)


def text(field: bytes) -> str:
    return field.decode("utf-8", "replace")


def build(data: str, kind: str, id: Optional[str], retry: Optional[int]) -> Event:
    """The event, checking that the constructor refuses exactly the unsafe values."""
    unsafe = "\r" in kind or "\n" in kind
    if id is not None:
        unsafe = unsafe or "\r" in id or "\n" in id or "\0" in id
    try:
        event = Event(data, kind, id, retry)
    except LocalProtocolError:
        assert unsafe
        clean = kind.replace("\r", "").replace("\n", "")
        if id is not None:
            id = id.replace("\r", "").replace("\n", "").replace("\0", "")
        return Event(data, clean, id, retry)
    assert not unsafe
    return event


def events_from(fields: List[bytes]) -> List[Event]:
    events = []
    for i in range(0, len(fields) - 3, 4):
        data, kind, id_field, retry_field = fields[i : i + 4]
        id = text(id_field[1:]) if id_field else None
        retry = int.from_bytes(retry_field[:8], "big") if retry_field else None
        events.append(build(text(data), text(kind), id, retry))
    return events


def normalised(data: str) -> str:
    return data.replace("\r\n", "\n").replace("\r", "\n")


def decode(wire: bytes, cuts: int = 1) -> List[Event]:
    decoder = Decoder(max_event_size=None)
    step = max(1, len(wire) // cuts) if cuts > 1 else len(wire) or 1
    events: List[Event] = []
    for start in range(0, len(wire), step):
        events += decoder.feed(wire[start : start + step])
    events += decoder.close()
    assert not decoder.truncated
    return events


def check(data: bytes) -> None:
    fields = data.split(b"\xff")
    comment = text(fields[0])
    events = events_from(fields[1:])

    last_id = ""
    expected = []
    for event in events:
        (got,) = decode(encode(event))
        want_id = "" if event.id is None else event.id
        assert got == Event(normalised(event.data), event.event, want_id, event.retry), got
        if event.id is not None:
            last_id = event.id
        expected.append(Event(normalised(event.data), event.event, last_id, event.retry))

    wire = encode_batch(events)
    assert wire == b"".join(encode(event) for event in events)
    cuts = len(data) % 17 + 1
    assert decode(wire, cuts) == expected
    assert decode(wire, len(wire) or 1) == expected

    with_comments = encode_comment(comment) + b"".join(
        encode(event) + encode_comment(comment) for event in events
    )
    assert decode(with_comments, cuts) == expected


if __name__ == "__main__":
    _harness.main(check)
