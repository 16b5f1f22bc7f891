# SPDX-License-Identifier: MIT
"""A deliberately plain model of the WHATWG event stream algorithm.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

The cross-check compares every decoder, sse_core included, with this model.
It favours obviousness over speed: the whole stream is decoded at once, cut
into lines on CRLF, LF and CR only, and each line goes through the spec's
steps in order.  Events come out as ``(type, data, last event ID)`` triples,
the shape every adapter in :mod:`benchmarks.peers` returns.
"""

from __future__ import annotations

import re
from typing import List, Tuple

__all__ = ("EventTriple", "reference_events")

EventTriple = Tuple[str, str, str]

_LINE_END = re.compile(r"\r\n|\r|\n")


def reference_events(stream: bytes) -> List[EventTriple]:
    """The events a browser's ``EventSource`` would dispatch for ``stream``."""
    # "Streams must be decoded using the UTF-8 decode algorithm": invalid
    # sequences become U+FFFD and one leading BOM is dropped.
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    pieces = _LINE_END.split(text)
    # The last piece is not followed by a line ending: an incomplete line,
    # which the spec never processes.
    lines = pieces[:-1]
    events: List[EventTriple] = []
    data: List[str] = []
    event_type = ""
    id_buffer = ""
    for line in lines:
        if line == "":
            # Dispatch: the last event ID string is set even if no event fires.
            last_event_id = id_buffer
            if data:
                events.append((event_type or "message", "\n".join(data), last_event_id))
            data = []
            event_type = ""
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "data":
            data.append(value)
        elif field == "event":
            event_type = value
        elif field == "id" and "\0" not in value:
            id_buffer = value
        # "retry" changes only the reconnection time; other fields are ignored.
    return events
