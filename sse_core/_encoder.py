# SPDX-License-Identifier: MIT
"""The encoder: events and comments in, UTF-8 ``text/event-stream`` bytes out.

Injection safety rests on two layers: :class:`Event` refuses an ``event`` or
``id`` that holds a line break (and an ``id`` with NUL) when it is built, and
the encoder splits ``data`` and comments on every line ending the decoder
recognises (CRLF, LF and a lone CR), so no value can end a line early or start
another event.  The output always decodes back to the same event: data with its
line endings turned into LF, the one thing the format cannot carry.
"""

from __future__ import annotations

from typing import Iterable, List

from ._errors import LocalProtocolError
from ._events import Event

__all__ = ("encode", "encode_batch", "encode_comment")


def _data_lines(data: str) -> str:
    """``data`` as field lines: every line ending starts a new ``data:`` line."""
    return "data: " + "\ndata: ".join(data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _event_text(event: Event) -> str:
    """The wire text of one event; ``event`` is an :class:`Event`."""
    data, kind, id, retry = event
    # Event() refused these already; checking again costs little and keeps
    # an event built around the constructor from injecting a line.
    if (kind != "message" and ("\n" in kind or "\r" in kind)) or (
        id is not None and ("\n" in id or "\r" in id or "\0" in id)
    ):
        raise LocalProtocolError(f"refusing to encode {event!r}: a field holds a line break")
    if "\n" in data or "\r" in data:
        text = _data_lines(data) + "\n\n"
    else:
        text = "data: " + data + "\n\n"
    if retry is not None:
        text = f"retry: {retry}\n" + text
    if id is not None:
        text = "id: " + id + "\n" + text
    if kind != "message":
        text = "event: " + kind + "\n" + text
    return text


def _surrogate_error(error: UnicodeEncodeError) -> LocalProtocolError:
    # Only lone surrogates get here; a str from a decoder never has them.
    return LocalProtocolError(f"cannot encode a lone surrogate as UTF-8: {error}")


def encode(event: Event) -> bytes:
    """Serialise one event, ending with the blank line that dispatches it.

    Fields are written in the order ``event``, ``id``, ``retry``, ``data``;
    ``event`` is left out when it is ``"message"`` (the default type), ``id``
    and ``retry`` when they are ``None``.  Data is always written, so an event
    with empty data still reaches the client.

    Example::

        >>> encode(Event(data="x", event="update", id="7", retry=3000))
        b'event: update\\nid: 7\\nretry: 3000\\ndata: x\\n\\n'

    Raises:
        TypeError: ``event`` is not an :class:`Event`.
        LocalProtocolError: a field holds a lone surrogate (not UTF-8), or a
            line break (possible only for an event built around its
            constructor).
    """
    if type(event) is not Event:
        raise TypeError(f"expected an Event, got {type(event).__name__}")
    try:
        return _event_text(event).encode()
    except UnicodeEncodeError as error:
        raise _surrogate_error(error) from None


def encode_batch(events: Iterable[Event]) -> bytes:
    """Serialise many events into one bytes object (one write, one syscall).

    Equivalent to ``b"".join(map(encode, events))``, but faster: events are
    joined as text and encoded once.

    Raises:
        TypeError, LocalProtocolError: as :func:`encode`.
    """
    parts: List[str] = []
    append = parts.append
    for event in events:
        if type(event) is Event:
            data, kind, id, retry = event
            # The common event: data only, one line.  Same output as _event_text.
            if (
                kind == "message"
                and id is None
                and retry is None
                and not ("\n" in data or "\r" in data)
            ):
                append("data: ")
                append(data)
                append("\n\n")
                continue
        else:
            raise TypeError(f"expected an Event, got {type(event).__name__}")
        append(_event_text(event))
    try:
        return "".join(parts).encode()
    except UnicodeEncodeError as error:
        raise _surrogate_error(error) from None


def encode_comment(text: str = "") -> bytes:
    """Serialise a comment, which clients ignore: use it as a heartbeat.

    Each line of ``text`` becomes its own comment line, so a comment cannot
    smuggle in a field.  No blank line follows: a comment dispatches nothing.

    Example::

        >>> encode_comment("keep-alive")
        b': keep-alive\\n'
        >>> encode_comment()
        b':\\n'

    Raises:
        TypeError: ``text`` is not a ``str``.
        LocalProtocolError: ``text`` holds a lone surrogate.
    """
    if type(text) is not str:
        raise TypeError(f"comment text must be str, not {type(text).__name__}")
    if not text:
        return b":\n"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    try:
        return "".join([": " + line + "\n" for line in lines]).encode()
    except UnicodeEncodeError as error:
        raise _surrogate_error(error) from None
