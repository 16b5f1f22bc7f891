# SPDX-License-Identifier: MIT
"""A deliberately simple reference model of the WHATWG event stream algorithm.

Written straight from the spec text, not from ``sse_core``, and used as an
oracle: it decodes a whole stream at once, character by character, with no
fast paths, no limits and no incremental state.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html
  #parsing-an-event-stream, #event-stream-interpretation, #dispatchMessage

Besides the spec's own outputs (dispatched events and the last event ID
string), it reports the reconnection time and, for each event, the value of a
valid ``retry`` field seen since the previous blank line (``None`` if none), which
is what ``sse_core`` puts in ``Event.retry``.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

__all__ = ("RefEvent", "reference_decode", "reference_interpret")

#: (data, type, last event ID, retry seen in this block)
RefEvent = Tuple[str, str, str, Optional[int]]

ASCII_DIGITS = "0123456789"


def _base_ten(digits: str) -> int:
    # int() refuses very long strings on CPython 3.11+; convert in pieces.
    value = 0
    for start in range(0, len(digits), 1000):
        piece = digits[start : start + 1000]
        value = value * 10 ** len(piece) + int(piece)
    return value


def split_lines(text: str) -> Tuple[List[str], str]:
    """Cut ``text`` into complete lines and the incomplete rest.

    "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single
    U+000A LINE FEED (LF) character not preceded by a U+000D CARRIAGE RETURN (CR)
    character, and a single U+000D CARRIAGE RETURN (CR) character not followed by
    a U+000A LINE FEED (LF) character being the ways in which a line can end."
    """
    lines: List[str] = []
    current: List[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\r":
            lines.append("".join(current))
            current = []
            if i + 1 < len(text) and text[i + 1] == "\n":
                i += 1  # CRLF is one line ending
        elif char == "\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    return lines, "".join(current)


def reference_interpret(
    text: str, last_event_id: str = ""
) -> Tuple[List[RefEvent], str, Optional[int]]:
    """Interpret already-decoded text (after the BOM step).

    Returns (events, last event ID string, reconnection time or None).
    """
    # "When a stream is parsed, a data buffer, an event type buffer, and a last
    # event ID buffer must be associated with it. They must be initialized to
    # the empty string."  (The last event ID buffer starts from the seed, as
    # the last event ID string of a reconnecting EventSource would.)
    data_buffer = ""
    type_buffer = ""
    id_buffer = last_event_id
    last_event_id_string = last_event_id
    reconnection_time: Optional[int] = None
    block_retry: Optional[int] = None
    events: List[RefEvent] = []

    # "Once the end of the file is reached, any pending data must be discarded."
    # The incomplete last line is never processed.
    lines, _pending = split_lines(text)
    for line in lines:
        if line == "":
            # Dispatch the event.
            # 1. "Set the last event ID string of the event source to the value
            #    of the last event ID buffer."
            last_event_id_string = id_buffer
            retry_here, block_retry = block_retry, None
            # 2. "If the data buffer is an empty string, set the data buffer and
            #    the event type buffer to the empty string and return."
            if data_buffer == "":
                type_buffer = ""
                continue
            # 3. "If the data buffer's last character is a U+000A LINE FEED (LF)
            #    character, then remove the last character from the data buffer."
            if data_buffer[-1] == "\n":
                data_buffer = data_buffer[:-1]
            # 5./6. Type "message" unless the event type buffer is not empty.
            event_type = type_buffer if type_buffer != "" else "message"
            events.append((data_buffer, event_type, last_event_id_string, retry_here))
            # 7. "Set the data buffer and the event type buffer to the empty string."
            data_buffer = ""
            type_buffer = ""
            continue
        if line[0] == ":":
            # "If the line starts with a U+003A COLON character (:) Ignore the line."
            continue
        if ":" in line:
            colon = line.index(":")
            field = line[:colon]
            value = line[colon + 1 :]
            if value.startswith(" "):
                value = value[1:]
        else:
            field = line
            value = ""
        # "Field names must be compared literally, with no case folding performed."
        if field == "event":
            type_buffer = value
        elif field == "data":
            data_buffer += value + "\n"
        elif field == "id":
            if "\u0000" not in value:
                id_buffer = value
        elif field == "retry" and value != "" and all(c in ASCII_DIGITS for c in value):
            # Any other retry value: "Otherwise, ignore the field."
            reconnection_time = _base_ten(value)
            block_retry = reconnection_time
        # Otherwise: "The field is ignored."
    return events, last_event_id_string, reconnection_time


def reference_decode(
    stream: bytes, last_event_id: str = ""
) -> Tuple[List[RefEvent], str, Optional[int]]:
    """Decode and interpret a whole byte stream.

    "Streams must be decoded using the UTF-8 decode algorithm."  That algorithm
    strips one leading byte order mark (EF BB BF) and turns invalid sequences
    into U+FFFD; Python's ``"replace"`` handler substitutes the same maximal
    subparts as the WHATWG Encoding Standard's UTF-8 decoder.
    """
    if stream[:3] == b"\xef\xbb\xbf":
        stream = stream[3:]
    return reference_interpret(stream.decode("utf-8", "replace"), last_event_id)
