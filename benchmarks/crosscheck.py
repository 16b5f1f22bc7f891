# SPDX-License-Identifier: MIT
"""Correctness cross-check: small targeted vectors, and diagnosis of differences.

Each vector exercises one rule of the WHATWG algorithm.  A decoder is run on
it whole, byte by byte and at every two-way split, and its events are compared
with :func:`benchmarks.reference.reference_events`.  When a decoder's events
differ from the reference on a benchmark workload, :func:`explain` looks at
the first difference and names the rule that is most likely broken, together
with the vectors the decoder fails, which pin the rule down.
"""

from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional, Sequence

from benchmarks.reference import EventTriple, reference_events

__all__ = ("VECTORS", "Vector", "check_vector", "explain", "run_safely")


class Vector(NamedTuple):
    name: str
    rule: str
    stream: bytes


VECTORS = (
    Vector(
        "lf", "LF line endings, fields, multi-line data", b"event: a\nid: 1\ndata: x\ndata: y\n\n"
    ),
    Vector("crlf", "CRLF line endings", b"data: x\r\ndata: y\r\n\r\ndata: z\r\n\r\n"),
    Vector("cr", "CR-only line endings", b"data: x\rdata: y\r\rdata: z\r\r"),
    Vector(
        "crlf_split",
        "a CRLF split across chunks is one line ending",
        b"data: a\r\ndata: b\r\n\r\nid: 3\r\ndata: c\r\n\r\n",
    ),
    Vector("bom", "one leading BOM (U+FEFF) is ignored", b"\xef\xbb\xbfevent: t\ndata: x\n\n"),
    Vector(
        "no_space",
        "one space after the colon is removed, and only one",
        b"data:x\n\ndata:  y\n\n",
    ),
    Vector(
        "id_nul",
        "an id containing NUL is ignored",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
    ),
    Vector(
        "id_persists",
        "the last event ID persists across events (MessageEvent.lastEventId)",
        b"id: 7\ndata: a\n\ndata: b\n\n",
    ),
    Vector(
        "id_reset",
        "an empty id field resets the last event ID",
        b"id: 7\ndata: a\n\nid\ndata: b\n\n",
    ),
    Vector(
        "retry",
        "retry changes no event; a block without data dispatches nothing",
        b"retry: 1000\ndata: a\n\nretry: x1\ndata: b\n\nretry: 5\n\ndata: c\n\n",
    ),
    Vector(
        "no_data_no_event",
        "a block without data (event, comment) dispatches nothing",
        b"event: t\n\n: comment\n\ndata: a\n\n",
    ),
    Vector(
        "id_without_data",
        "a block with only an id sets the last event ID (and dispatches nothing)",
        b"id: 4\n\ndata: a\n\n",
    ),
    Vector(
        "empty_data",
        "a data line with an empty value dispatches an event with data ''",
        b"data\n\ndata:\n\ndata: a\ndata:\n\n",
    ),
    Vector(
        "event_type_reset",
        "the event type resets to message after each dispatch",
        b"event: t\ndata: a\n\ndata: b\n\n",
    ),
    Vector(
        "fields",
        "unknown fields and lines without a colon are ignored; later colons are data",
        b"foo: bar\nevent\ndata: a:b: c\nxyz\n\n",
    ),
    Vector(
        "trailing_incomplete",
        "an incomplete event at end of stream is discarded",
        b"data: a\n\ndata: b\n",
    ),
    Vector(
        "trailing_line",
        "an unterminated last line is discarded",
        b"data: a\n\ndata: b",
    ),
    Vector(
        "unicode_lines",
        "only CR and LF end lines (not U+2028, U+0085, VT, FF)",
        "data: a\u2028b\u0085c\x0bd\x0ce\n\n".encode("utf-8"),
    ),
    Vector(
        "utf8",
        "UTF-8 decoding, multi-byte characters split across chunks",
        "data: caf\u00e9 \u4f60\u597d \U0001f600\n\n".encode("utf-8"),
    ),
    Vector(
        "invalid_utf8",
        "invalid UTF-8 decodes to U+FFFD, it does not stop the stream",
        b"data: a\xff\xfeb\n\ndata: c\n\n",
    ),
)


def _chunkings(stream: bytes) -> List[Sequence[bytes]]:
    ways: List[Sequence[bytes]] = [[stream], [stream[i : i + 1] for i in range(len(stream))]]
    ways += [[stream[:i], stream[i:]] for i in range(1, len(stream))]
    return ways


def run_safely(
    decode: Callable[[Sequence[bytes]], List[EventTriple]], chunks: Sequence[bytes]
) -> object:
    """The decoder's events, or the exception it raised (as a string)."""
    try:
        return decode(chunks)
    except Exception as error:
        return f"raised {type(error).__name__}: {error}"


def check_vector(
    decode: Callable[[Sequence[bytes]], List[EventTriple]], vector: Vector
) -> Optional[str]:
    """None if the decoder agrees with the reference on every chunking of the
    vector, else a description of the first disagreement."""
    expected = reference_events(vector.stream)
    for chunks in _chunkings(vector.stream):
        got = run_safely(decode, chunks)
        if got != expected:
            if len(chunks) == 1:
                how = "whole"
            elif len(chunks) == len(vector.stream) and all(len(c) == 1 for c in chunks):
                how = "1-byte chunks"
            else:
                how = f"split at byte {len(chunks[0])}"
            return f"{how}: expected {expected!r}, got {_short(got)}"
    return None


def _short(value: object, width: int = 160) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 3] + "..."


def explain(expected: List[EventTriple], got: object) -> str:
    """A one-line guess at the rule a decoder breaks, from its first difference."""
    if isinstance(got, str):
        return got  # it raised
    assert isinstance(got, list)
    count = f"{len(got)} events instead of {len(expected)}"
    for index, (want, have) in enumerate(zip(expected, got)):
        if want == have:
            continue
        where = f"event #{index}"
        want_type, want_data, want_id = want
        have_type, have_data, have_id = have
        if have_data != want_data:
            if "\r" in have_data and "\r" not in want_data:
                return f"{where}: CR left in data (lines split on LF only); {count}"
            if have_data == want_data.rstrip("\n"):
                return f"{where}: trailing empty data lines dropped; {count}"
            if have_data.endswith("\n") and not want_data.endswith("\n"):
                return f"{where}: data ends with an extra LF; {count}"
            if not have_data and len(got) > len(expected):
                return f"{where}: dispatches an event with empty data (no data line); {count}"
            if len(have_data) < len(want_data) and want_data.startswith(have_data):
                return f"{where}: data cut short (event split early); {count}"
            return (
                f"{where}: data differs: expected {_short(want_data, 60)},"
                f" got {_short(have_data, 60)}; {count}"
            )
        if have_type != want_type:
            return f"{where}: event type {have_type!r}, expected {want_type!r}; {count}"
        if have_id != want_id:
            return f"{where}: last event ID {have_id!r}, expected {want_id!r}; {count}"
    if len(got) > len(expected):
        return f"extra events after the last expected one: {_short(got[len(expected)])}; {count}"
    return f"events missing at the end; {count}"
